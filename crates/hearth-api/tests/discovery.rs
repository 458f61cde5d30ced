//! Home Assistant discovery payloads checked against the configuration keys Home Assistant
//! documents for each MQTT platform (climate, lock, sensor, binary_sensor, and the shared
//! entity/device/origin schemas). HA silently drops keys it does not know, so a typo would
//! otherwise only show up as a missing feature in the UI.

use hearth_api::{
    AVAILABILITY_OFFLINE, AVAILABILITY_ONLINE, DiscoveryOptions, HA_CLIENT, Topics,
    discovery_config_topics, discovery_messages,
};
use serde_json::Value;
use std::collections::HashSet;

/// Keys every MQTT entity accepts (HA `MQTT_ENTITY_COMMON_SCHEMA`, availability schemas,
/// `MQTT_BASE_SCHEMA`), full and abbreviated.
const COMMON: &[&str] = &[
    "availability",
    "avty",
    "availability_mode",
    "avty_mode",
    "availability_template",
    "avty_tpl",
    "availability_topic",
    "avty_t",
    "payload_available",
    "pl_avail",
    "payload_not_available",
    "pl_not_avail",
    "device",
    "dev",
    "origin",
    "o",
    "enabled_by_default",
    "en",
    "entity_category",
    "ent_cat",
    "icon",
    "ic",
    "json_attributes_topic",
    "json_attr_t",
    "json_attributes_template",
    "json_attr_tpl",
    "object_id",
    "obj_id",
    "unique_id",
    "uniq_id",
    "name",
    "qos",
    "encoding",
    "e",
];

/// HA `climate` platform keys.
const CLIMATE: &[&str] = &[
    "action_template",
    "act_tpl",
    "action_topic",
    "act_t",
    "current_humidity_template",
    "current_humidity_topic",
    "current_temperature_template",
    "curr_temp_tpl",
    "current_temperature_topic",
    "curr_temp_t",
    "fan_mode_command_template",
    "fan_mode_cmd_tpl",
    "fan_mode_command_topic",
    "fan_mode_cmd_t",
    "fan_mode_state_template",
    "fan_mode_stat_tpl",
    "fan_mode_state_topic",
    "fan_mode_stat_t",
    "fan_modes",
    "initial",
    "max_humidity",
    "max_temp",
    "min_humidity",
    "min_temp",
    "mode_command_template",
    "mode_cmd_tpl",
    "mode_command_topic",
    "mode_cmd_t",
    "mode_state_template",
    "mode_stat_tpl",
    "mode_state_topic",
    "mode_stat_t",
    "modes",
    "optimistic",
    "opt",
    "payload_off",
    "pl_off",
    "payload_on",
    "pl_on",
    "power_command_topic",
    "pow_cmd_t",
    "precision",
    "preset_mode_command_template",
    "preset_mode_command_topic",
    "preset_mode_state_topic",
    "preset_mode_value_template",
    "preset_modes",
    "retain",
    "ret",
    "swing_mode_command_template",
    "swing_mode_command_topic",
    "swing_mode_state_template",
    "swing_mode_state_topic",
    "swing_modes",
    "target_humidity_command_template",
    "target_humidity_command_topic",
    "target_humidity_state_topic",
    "target_humidity_state_template",
    "temperature_command_template",
    "temp_cmd_tpl",
    "temperature_command_topic",
    "temp_cmd_t",
    "temperature_high_command_template",
    "temp_hi_cmd_tpl",
    "temperature_high_command_topic",
    "temp_hi_cmd_t",
    "temperature_high_state_template",
    "temp_hi_stat_tpl",
    "temperature_high_state_topic",
    "temp_hi_stat_t",
    "temperature_low_command_template",
    "temp_lo_cmd_tpl",
    "temperature_low_command_topic",
    "temp_lo_cmd_t",
    "temperature_low_state_template",
    "temp_lo_stat_tpl",
    "temperature_low_state_topic",
    "temp_lo_stat_t",
    "temperature_state_template",
    "temp_stat_tpl",
    "temperature_state_topic",
    "temp_stat_t",
    "temperature_unit",
    "temp_unit",
    "temp_step",
    "value_template",
    "val_tpl",
];

/// HA `lock` platform keys (`MQTT_RW_SCHEMA` plus the lock's own).
const LOCK: &[&str] = &[
    "command_topic",
    "cmd_t",
    "command_template",
    "cmd_tpl",
    "code_format",
    "optimistic",
    "opt",
    "payload_lock",
    "pl_lock",
    "payload_unlock",
    "pl_unlk",
    "payload_open",
    "pl_open",
    "payload_reset",
    "retain",
    "ret",
    "state_jammed",
    "state_locked",
    "stat_locked",
    "state_locking",
    "state_open",
    "state_opening",
    "state_topic",
    "stat_t",
    "state_unlocked",
    "stat_unlocked",
    "state_unlocking",
    "value_template",
    "val_tpl",
];

/// HA `sensor` platform keys.
const SENSOR: &[&str] = &[
    "device_class",
    "dev_cla",
    "expire_after",
    "exp_aft",
    "force_update",
    "frc_upd",
    "last_reset_value_template",
    "lrst_val_tpl",
    "options",
    "ops",
    "state_class",
    "stat_cla",
    "state_topic",
    "stat_t",
    "suggested_display_precision",
    "unit_of_measurement",
    "unit_of_meas",
    "value_template",
    "val_tpl",
];

/// HA `binary_sensor` platform keys.
const BINARY_SENSOR: &[&str] = &[
    "device_class",
    "dev_cla",
    "expire_after",
    "exp_aft",
    "force_update",
    "frc_upd",
    "off_delay",
    "off_dly",
    "payload_off",
    "pl_off",
    "payload_on",
    "pl_on",
    "state_topic",
    "stat_t",
    "value_template",
    "val_tpl",
];

/// HA device registry keys (`MQTT_ENTITY_DEVICE_INFO_SCHEMA`).
const DEVICE: &[&str] = &[
    "configuration_url",
    "cu",
    "connections",
    "cns",
    "hw_version",
    "hw",
    "identifiers",
    "ids",
    "manufacturer",
    "mf",
    "model",
    "mdl",
    "model_id",
    "mdl_id",
    "name",
    "serial_number",
    "sn",
    "suggested_area",
    "sa",
    "sw_version",
    "sw",
    "via_device",
];

/// HA origin keys (`MQTT_ORIGIN_INFO_SCHEMA`).
const ORIGIN: &[&str] = &["name", "sw_version", "sw", "support_url", "url"];

fn opts(humidity: bool) -> DiscoveryOptions {
    DiscoveryOptions {
        min_temp: 5.0,
        max_temp: 35.0,
        humidity,
        sw_version: "0.1.0".into(),
    }
}

fn component_of(topic: &str) -> &str {
    topic.split('/').nth(1).unwrap()
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

#[test]
fn every_payload_uses_only_keys_home_assistant_knows() {
    let topics = Topics::new("hearth", "homeassistant");
    let msgs = discovery_messages(&topics, &opts(true));
    assert_eq!(msgs.len(), 5);
    for (topic, payload) in &msgs {
        let specific = match component_of(topic) {
            "climate" => CLIMATE,
            "lock" => LOCK,
            "sensor" => SENSOR,
            "binary_sensor" => BINARY_SENSOR,
            other => panic!("unexpected component {other}"),
        };
        assert_keys_known(topic, payload, &[COMMON, specific]);
        assert_keys_known(&format!("{topic} device"), &payload["device"], &[DEVICE]);
        assert_keys_known(&format!("{topic} origin"), &payload["origin"], &[ORIGIN]);
    }
}

#[test]
fn every_entity_has_identity_device_and_availability() {
    let topics = Topics::new("home/hearth", "ha");
    let msgs = discovery_messages(&topics, &opts(true));
    let mut unique_ids = HashSet::new();
    for (topic, p) in &msgs {
        // <prefix>/<component>/<node_id>/<object_id>/config with HA's allowed characters.
        let parts: Vec<&str> = topic.split('/').collect();
        assert_eq!(parts.len(), 5, "{topic}");
        assert_eq!(parts[0], "ha");
        assert_eq!(parts[2], "home_hearth");
        assert_eq!(parts[4], "config");
        for id in [parts[2], parts[3]] {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{topic}"
            );
        }
        assert!(unique_ids.insert(p["unique_id"].as_str().unwrap().to_owned()));
        assert!(!p["device"]["identifiers"].as_array().unwrap().is_empty());
        assert!(p["origin"]["name"].is_string(), "origin.name is required");
        assert_eq!(p["availability_topic"], "home/hearth/availability");
        assert_eq!(p["payload_available"], AVAILABILITY_ONLINE);
        assert_eq!(p["payload_not_available"], AVAILABILITY_OFFLINE);
        assert!(p["name"].is_string());
    }
}

fn by_component<'a>(msgs: &'a [(String, Value)], object: &str) -> &'a Value {
    &msgs
        .iter()
        .find(|(t, _)| t.split('/').nth(3) == Some(object))
        .unwrap_or_else(|| panic!("no {object}"))
        .1
}

#[test]
fn climate_reads_state_and_sends_hearth_commands() {
    let topics = Topics::new("hearth", "homeassistant");
    let msgs = discovery_messages(&topics, &opts(true));
    let c = by_component(&msgs, "thermostat");
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
    ] {
        assert_eq!(c[key], "hearth/thermostat/state", "{key}");
    }
    assert_eq!(c["min_temp"], 5.0);
    assert_eq!(c["max_temp"], 35.0);
    assert_eq!(
        c["current_temperature_template"],
        "{{ value_json.temperature }}"
    );
    assert_eq!(
        c["temperature_low_command_template"],
        format!("{{\"setpoint_heat\":{{{{ value }}}},\"client\":\"{HA_CLIENT}\"}}")
    );
}

#[test]
fn lock_sensors_and_door() {
    let topics = Topics::new("hearth", "homeassistant");
    let msgs = discovery_messages(&topics, &opts(true));
    let lock = by_component(&msgs, "lock");
    assert_eq!(lock["command_topic"], "hearth/lock/set");
    assert_eq!(lock["state_topic"], "hearth/lock/state");
    let pl: Value = serde_json::from_str(lock["payload_lock"].as_str().unwrap()).unwrap();
    assert_eq!(pl, serde_json::json!({"action":"lock","client":HA_CLIENT}));
    let pu: Value = serde_json::from_str(lock["payload_unlock"].as_str().unwrap()).unwrap();
    assert_eq!(pu["action"], "unlock");

    let t = by_component(&msgs, "temperature");
    assert_eq!(t["device_class"], "temperature");
    assert_eq!(t["unit_of_measurement"], "°C");
    assert_eq!(t["state_class"], "measurement");
    let h = by_component(&msgs, "humidity");
    assert_eq!(h["device_class"], "humidity");
    assert_eq!(h["unit_of_measurement"], "%");

    let d = by_component(&msgs, "door");
    assert_eq!(d["device_class"], "door");
    assert_eq!(d["payload_on"], "open");
    assert_eq!(d["payload_off"], "closed");
    assert_eq!(d["state_topic"], "hearth/lock/state");
}

#[test]
fn no_humidity_sensor_without_humidity() {
    let topics = Topics::new("hearth", "homeassistant");
    let msgs = discovery_messages(&topics, &opts(false));
    assert_eq!(msgs.len(), 4);
    assert!(!msgs.iter().any(|(t, _)| t.contains("/humidity/")));
    let c = by_component(&msgs, "thermostat");
    assert!(c.get("current_humidity_topic").is_none());
    // The clearing list still covers it, so a sensor swap removes the stale entity.
    let all = discovery_config_topics(&topics);
    assert!(
        all.iter()
            .any(|t| t == "homeassistant/sensor/hearth/humidity/config")
    );
    for (t, _) in &msgs {
        assert!(all.contains(t), "{t}");
    }
}
