//! Home Assistant MQTT discovery payloads: the thermostat as a `climate` entity, the lock,
//! temperature and humidity `sensor`s and the door `binary_sensor`, all on one device.
//!
//! Each entity reads hearth's retained state JSON through value templates and sends
//! ordinary hearth commands (with `"client":"home_assistant"`), so Home Assistant gets no
//! side door. Unlock from Home Assistant is refused (`signature_required`, or
//! `unlock_disabled` without keys): HA cannot compute the HMAC signature, and an unlock
//! that anyone on the broker could forge is exactly what signing prevents. Locking works.
//!
//! Builds payloads only; publishing (retained) is the daemon's job.

use crate::topics::{AVAILABILITY_OFFLINE, AVAILABILITY_ONLINE, Topics};
use serde_json::{Value, json};

/// The client name Home Assistant's commands carry.
pub const HA_CLIENT: &str = "home_assistant";

/// What the discovery payloads need to know beyond topic names.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryOptions {
    /// Lowest and highest setpoint Home Assistant offers (°C); use the controller's limits
    /// (lowest heat minimum, highest cool maximum).
    pub min_temp: f64,
    pub max_temp: f64,
    /// Whether the sensor measures humidity (adds the humidity sensor and climate humidity).
    pub humidity: bool,
    /// hearthd's version, shown on the device page.
    pub sw_version: String,
}

/// The entities hearth announces: (component, object id).
const ENTITIES: [(&str, &str); 5] = [
    ("climate", "thermostat"),
    ("lock", "lock"),
    ("sensor", "temperature"),
    ("sensor", "humidity"),
    ("binary_sensor", "door"),
];

/// Home Assistant's node id for this hearth: the base topic with every character outside
/// `[A-Za-z0-9_-]` replaced by `_` (so `home/hearth` becomes `home_hearth`).
pub fn node_id(topics: &Topics) -> String {
    topics
        .base()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn config_topic(topics: &Topics, component: &str, object_id: &str) -> String {
    format!(
        "{}/{component}/{}/{object_id}/config",
        topics.discovery_prefix(),
        node_id(topics)
    )
}

/// Every discovery config topic hearth may use. Publishing an empty retained payload to
/// one removes that entity from Home Assistant (e.g. when discovery is turned off).
pub fn discovery_config_topics(topics: &Topics) -> Vec<String> {
    ENTITIES
        .iter()
        .map(|(component, object)| config_topic(topics, component, object))
        .collect()
}

/// The discovery messages to publish (retained): `(config topic, payload)`.
pub fn discovery_messages(topics: &Topics, opts: &DiscoveryOptions) -> Vec<(String, Value)> {
    let mut out = vec![
        (
            config_topic(topics, "climate", "thermostat"),
            climate(topics, opts),
        ),
        (config_topic(topics, "lock", "lock"), lock(topics, opts)),
        (
            config_topic(topics, "sensor", "temperature"),
            sensor(topics, opts, "temperature", "Temperature", "°C"),
        ),
    ];
    if opts.humidity {
        out.push((
            config_topic(topics, "sensor", "humidity"),
            sensor(topics, opts, "humidity", "Humidity", "%"),
        ));
    }
    out.push((
        config_topic(topics, "binary_sensor", "door"),
        door(topics, opts),
    ));
    out
}

/// The keys every entity shares: identity, device, origin, availability.
fn common(topics: &Topics, opts: &DiscoveryOptions, object_id: &str, name: &str) -> Value {
    let node = node_id(topics);
    json!({
        "name": name,
        "unique_id": format!("{node}_{object_id}"),
        "device": {
            "identifiers": [node],
            "name": "hearth",
            "manufacturer": "hearth",
            "model": "hearthd",
            "sw_version": opts.sw_version,
        },
        "origin": { "name": "hearthd", "sw_version": opts.sw_version },
        "availability_topic": topics.availability(),
        "payload_available": AVAILABILITY_ONLINE,
        "payload_not_available": AVAILABILITY_OFFLINE,
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// A command template producing a hearth thermostat command with one key set.
fn ha_command(key_expr: &str, value_expr: &str) -> String {
    format!("{{\"{key_expr}\":{value_expr},\"client\":\"{HA_CLIENT}\"}}")
}

fn climate(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let set = topics.command(crate::topics::CommandTarget::Thermostat);
    let state = topics.thermostat_state();
    // hearth's `auto` keeps the temperature between the two setpoints, which is what Home
    // Assistant calls `heat_cool` (its `auto` means a schedule the device runs itself).
    let mut extra = json!({
        "modes": ["off", "heat", "cool", "heat_cool", "fan_only"],
        "mode_command_topic": set,
        "mode_command_template":
            ha_command("mode", "\"{{ 'auto' if value == 'heat_cool' else value }}\""),
        "mode_state_topic": state,
        "mode_state_template":
            "{{ 'heat_cool' if value_json.mode == 'auto' else value_json.mode }}",
        "fan_modes": ["auto", "on"],
        "fan_mode_command_topic": set,
        "fan_mode_command_template": ha_command("fan", "\"{{ value }}\""),
        "fan_mode_state_topic": state,
        "fan_mode_state_template": "{{ value_json.fan }}",
        // The single target temperature is the cool setpoint in cool mode, else the heat one.
        "temperature_command_topic": set,
        "temperature_command_template": ha_command(
            "{{ 'setpoint_cool' if this.state == 'cool' else 'setpoint_heat' }}",
            "{{ value }}",
        ),
        "temperature_state_topic": state,
        "temperature_state_template":
            "{{ value_json.setpoint_cool if value_json.mode == 'cool' else value_json.setpoint_heat }}",
        "temperature_low_command_topic": set,
        "temperature_low_command_template": ha_command("setpoint_heat", "{{ value }}"),
        "temperature_low_state_topic": state,
        "temperature_low_state_template": "{{ value_json.setpoint_heat }}",
        "temperature_high_command_topic": set,
        "temperature_high_command_template": ha_command("setpoint_cool", "{{ value }}"),
        "temperature_high_state_topic": state,
        "temperature_high_state_template": "{{ value_json.setpoint_cool }}",
        "current_temperature_topic": state,
        "current_temperature_template": "{{ value_json.temperature }}",
        "action_topic": state,
        // Home Assistant shows `off` for a thermostat that is off, `idle` for one waiting.
        "action_template":
            "{{ 'off' if value_json.mode == 'off' and value_json.action == 'idle' else value_json.action }}",
        "min_temp": opts.min_temp,
        "max_temp": opts.max_temp,
        "temp_step": 0.5,
        "precision": 0.1,
        "temperature_unit": "C",
        "optimistic": false,
    });
    if opts.humidity {
        extra = merge(
            extra,
            json!({
                "current_humidity_topic": state,
                "current_humidity_template": "{{ value_json.humidity }}",
            }),
        );
    }
    merge(common(topics, opts, "thermostat", "Thermostat"), extra)
}

fn lock(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let extra = json!({
        "command_topic": topics.command(crate::topics::CommandTarget::Lock),
        "payload_lock": ha_command("action", "\"lock\""),
        // Refused by hearth without a signature; see the module docs.
        "payload_unlock": ha_command("action", "\"unlock\""),
        "state_topic": topics.lock_state(),
        // `unknown` resets Home Assistant's state (its reset payload is `None`); `moving`
        // matches no state, so Home Assistant keeps the last one until the bolt arrives.
        "value_template": "{{ 'None' if value_json.state == 'unknown' else value_json.state }}",
        "state_locked": "locked",
        "state_unlocked": "unlocked",
        "state_jammed": "jammed",
        "optimistic": false,
    });
    merge(common(topics, opts, "lock", "Lock"), extra)
}

fn sensor(topics: &Topics, opts: &DiscoveryOptions, key: &str, name: &str, unit: &str) -> Value {
    let extra = json!({
        "state_topic": topics.thermostat_state(),
        "value_template": format!("{{{{ value_json.{key} }}}}"),
        "device_class": key,
        "unit_of_measurement": unit,
        "state_class": "measurement",
        "suggested_display_precision": 1,
    });
    merge(common(topics, opts, key, name), extra)
}

fn door(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let extra = json!({
        "state_topic": topics.lock_state(),
        "value_template": "{{ value_json.door }}",
        "payload_on": "open",
        "payload_off": "closed",
        "device_class": "door",
    });
    merge(common(topics, opts, "door", "Door"), extra)
}
