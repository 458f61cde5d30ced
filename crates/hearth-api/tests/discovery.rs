//! Home Assistant discovery payloads checked against the configuration keys of Home
//! Assistant's MQTT integration (read from homeassistant/components/mqtt: the device
//! discovery schema, each platform's schema — climate, lock, sensor, binary_sensor, event —
//! and the shared entity/device/origin/availability schemas). HA silently drops keys it does
//! not know, so a typo would otherwise only show up as a missing feature in the UI.

use ha_keys::*;
use hearth_api::{
    AVAILABILITY_OFFLINE, AVAILABILITY_ONLINE, DiscoveryOptions, HA_CLIENT, Topics,
    device_config_topic, device_discovery, legacy_config_topics, migrate_payload,
};
use serde_json::Value;
use std::collections::HashSet;

mod ha_keys;

fn opts(humidity: bool, unlock_code: bool) -> DiscoveryOptions {
    DiscoveryOptions {
        min_temp: 5.0,
        max_temp: 35.0,
        humidity,
        sw_version: "0.1.0".into(),
        unlock_code,
    }
}

fn assert_keys_known(what: &str, obj: &Value, allowed: &[&[&str]]) {
    let allowed: HashSet<&str> = allowed.iter().flat_map(|l| l.iter().copied()).collect();
    for key in obj.as_object().unwrap().keys() {
        assert!(
            allowed.contains(key.as_str()),
            "{what}: `{key}` is not a HA key"
        );
    }
}

fn components(msg: &Value) -> &serde_json::Map<String, Value> {
    msg["cmps"].as_object().unwrap()
}

fn cmp<'a>(msg: &'a Value, key: &str) -> &'a Value {
    components(msg)
        .get(key)
        .unwrap_or_else(|| panic!("no component {key}"))
}

#[test]
fn the_device_message_uses_only_keys_home_assistant_knows() {
    let topics = Topics::new("hearth", "homeassistant");
    let msg = device_discovery(&topics, &opts(true, true));
    assert_keys_known("device message", &msg, &[DEVICE_MESSAGE]);
    assert_keys_known("dev", &msg["dev"], &[DEVICE]);
    assert_keys_known("o", &msg["o"], &[ORIGIN]);
    assert!(msg["o"]["name"].is_string(), "origin.name is required");
    for a in msg["availability"].as_array().unwrap() {
        assert_keys_known("availability", a, &[AVAILABILITY_ITEM]);
    }
    assert_eq!(components(&msg).len(), 7);
    for (key, c) in components(&msg) {
        let specific = match c["platform"].as_str().unwrap() {
            "climate" => CLIMATE,
            "lock" => LOCK,
            "sensor" => SENSOR,
            "binary_sensor" => BINARY_SENSOR,
            "event" => EVENT,
            other => panic!("unexpected platform {other}"),
        };
        assert_keys_known(key, c, &[COMMON, COMPONENT, specific]);
        if let Some(list) = c.get("availability") {
            for a in list.as_array().unwrap() {
                assert_keys_known(key, a, &[AVAILABILITY_ITEM]);
            }
        }
        // Component keys are used by HA as object ids: its allowed characters only.
        assert!(
            key.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'),
            "{key}"
        );
    }
}

#[test]
fn every_entity_has_identity_device_and_availability() {
    let topics = Topics::new("home/hearth", "ha");
    assert_eq!(device_config_topic(&topics), "ha/device/home_hearth/config");
    let msg = device_discovery(&topics, &opts(true, false));
    assert!(!msg["dev"]["identifiers"].as_array().unwrap().is_empty());
    assert_eq!(
        msg["availability"],
        serde_json::json!([{"topic": "home/hearth/availability",
            "payload_available": AVAILABILITY_ONLINE, "payload_not_available": AVAILABILITY_OFFLINE}])
    );
    let mut unique_ids = HashSet::new();
    for (key, c) in components(&msg) {
        assert!(unique_ids.insert(c["unique_id"].as_str().unwrap().to_owned()));
        assert_eq!(c["unique_id"], format!("home_hearth_{key}"));
        // `default_entity_id` (HA 2025.10+; `object_id` stops working in 2026.4).
        assert_eq!(
            c["default_entity_id"],
            format!("{}.home_hearth_{key}", c["platform"].as_str().unwrap())
        );
        assert!(c.get("object_id").is_none());
        assert!(c["name"].is_string());
    }
}

#[test]
fn legacy_topics_are_the_old_per_entity_ones_with_the_same_object_ids() {
    let topics = Topics::new("hearth", "homeassistant");
    let legacy = legacy_config_topics(&topics);
    assert_eq!(
        legacy,
        [
            "homeassistant/climate/hearth/thermostat/config",
            "homeassistant/lock/hearth/lock/config",
            "homeassistant/sensor/hearth/temperature/config",
            "homeassistant/sensor/hearth/humidity/config",
            "homeassistant/binary_sensor/hearth/door/config",
        ]
    );
    // HA migrates an entity when the device message has a component of the same platform
    // under the old topic's object id.
    let msg = device_discovery(&topics, &opts(true, false));
    for t in &legacy {
        let parts: Vec<&str> = t.split('/').collect();
        assert_eq!(cmp(&msg, parts[3])["platform"], parts[1], "{t}");
    }
    assert_eq!(
        migrate_payload(),
        serde_json::json!({"migrate_discovery": true})
    );
}

fn command(template: &str, value: &str) -> Value {
    serde_json::from_str(&template.replace("{{ value }}", value)).unwrap()
}

#[test]
fn climate_reads_state_and_sends_hearth_commands() {
    let topics = Topics::new("hearth", "homeassistant");
    let msg = device_discovery(&topics, &opts(true, false));
    let c = cmp(&msg, "thermostat");
    assert_eq!(c["platform"], "climate");
    assert_eq!(
        c["modes"],
        serde_json::json!(["off", "heat", "cool", "heat_cool", "fan_only"])
    );
    assert_eq!(c["fan_modes"], serde_json::json!(["auto", "on"]));
    for key in [
        "mode_command_topic",
        "fan_mode_command_topic",
        "temperature_command_topic",
        "temperature_low_command_topic",
        "temperature_high_command_topic",
    ] {
        assert_eq!(c[key], "hearth/thermostat/set", "{key}");
    }
    for key in [
        "mode_state_topic",
        "current_temperature_topic",
        "current_humidity_topic",
        "action_topic",
        "temperature_state_topic",
        "json_attributes_topic",
    ] {
        assert_eq!(c[key], "hearth/thermostat/state", "{key}");
    }
    assert_eq!(c["min_temp"], 5.0);
    assert_eq!(c["max_temp"], 35.0);
    // The single target temperature never depends on HA's (possibly stale) mode.
    let t = c["temperature_command_template"].as_str().unwrap();
    assert!(!t.contains("this.") && !t.contains("state"), "{t}");
    assert_eq!(
        command(t, "23"),
        serde_json::json!({"setpoint": 23, "client": HA_CLIENT})
    );
    assert_eq!(
        command(
            c["temperature_low_command_template"].as_str().unwrap(),
            "18"
        ),
        serde_json::json!({"setpoint_heat": 18, "client": HA_CLIENT})
    );
    assert_eq!(
        command(
            c["temperature_high_command_template"].as_str().unwrap(),
            "26"
        ),
        serde_json::json!({"setpoint_cool": 26, "client": HA_CLIENT})
    );
    // Faults: no temperature, and the action reads `off`.
    assert!(
        c["current_temperature_template"]
            .as_str()
            .unwrap()
            .contains("value_json.faults")
    );
    assert!(
        c["action_template"]
            .as_str()
            .unwrap()
            .contains("value_json.faults")
    );
}

#[test]
fn lock_with_and_without_an_unlock_code() {
    let topics = Topics::new("hearth", "homeassistant");
    let msg = device_discovery(&topics, &opts(true, false));
    let lock = cmp(&msg, "lock");
    assert_eq!(lock["command_topic"], "hearth/lock/set");
    assert_eq!(lock["state_topic"], "hearth/lock/state");
    assert!(lock.get("code_format").is_none(), "opt-in only");
    assert_eq!(lock["retain"], false, "a code must never be retained");
    let tpl = lock["command_template"].as_str().unwrap();
    // Without a code the `{% if code %}` part is left out.
    let no_code = tpl
        .replace("{{ value }}", "lock")
        .replace(r#"{% if code %},"code":{{ code | tojson }}{% endif %}"#, "");
    assert_eq!(
        serde_json::from_str::<Value>(&no_code).unwrap(),
        serde_json::json!({"action": "lock", "client": HA_CLIENT})
    );
    let with_code = tpl
        .replace("{{ value }}", "unlock")
        .replace("{% if code %}", "")
        .replace("{% endif %}", "")
        .replace("{{ code | tojson }}", "\"4711\"");
    assert_eq!(
        serde_json::from_str::<Value>(&with_code).unwrap(),
        serde_json::json!({"action": "unlock", "client": HA_CLIENT, "code": "4711"})
    );
    for (k, v) in [
        ("state_locking", "locking"),
        ("state_unlocking", "unlocking"),
        ("state_jammed", "jammed"),
    ] {
        assert_eq!(lock[k], v);
    }
    assert!(
        lock["value_template"]
            .as_str()
            .unwrap()
            .contains("value_json.motion")
    );
    let coded = device_discovery(&topics, &opts(true, true));
    assert_eq!(cmp(&coded, "lock")["code_format"], r"^\d{4,12}$");
}

#[test]
fn sensors_door_problem_and_refusal() {
    let topics = Topics::new("hearth", "homeassistant");
    let msg = device_discovery(&topics, &opts(true, false));
    let t = cmp(&msg, "temperature");
    assert_eq!(t["device_class"], "temperature");
    assert_eq!(t["unit_of_measurement"], "°C");
    assert_eq!(t["state_class"], "measurement");
    // Unavailable while hearth is offline or the sensor is faulted.
    assert_eq!(t["availability_mode"], "all");
    let avty = t["availability"].as_array().unwrap();
    assert_eq!(avty.len(), 2);
    assert_eq!(avty[1]["topic"], "hearth/thermostat/state");
    let h = cmp(&msg, "humidity");
    assert_eq!(h["device_class"], "humidity");
    assert_eq!(h["unit_of_measurement"], "%");

    let d = cmp(&msg, "door");
    assert_eq!(d["device_class"], "door");
    assert_eq!(
        (d["payload_on"].clone(), d["payload_off"].clone()),
        ("open".into(), "closed".into())
    );
    assert_eq!(d["state_topic"], "hearth/lock/state");

    let p = cmp(&msg, "problem");
    assert_eq!(p["platform"], "binary_sensor");
    assert_eq!(p["device_class"], "problem");
    assert_eq!(p["state_topic"], "hearth/faults/state");
    assert_eq!(p["json_attributes_topic"], "hearth/faults/state");

    let r = cmp(&msg, "last_refusal");
    assert_eq!(r["platform"], "event");
    assert_eq!(r["state_topic"], "hearth/event/refusal");
    assert_eq!(r["event_types"], serde_json::json!(["refused"]));
}

#[test]
fn no_humidity_sensor_without_humidity() {
    let topics = Topics::new("hearth", "homeassistant");
    let msg = device_discovery(&topics, &opts(false, false));
    assert_eq!(components(&msg).len(), 6);
    assert!(components(&msg).get("humidity").is_none());
    assert!(
        cmp(&msg, "thermostat")
            .get("current_humidity_topic")
            .is_none()
    );
}
