//! Home Assistant MQTT discovery, device-based: one retained message on
//! `<prefix>/device/<node_id>/config` with the device (`dev`), origin (`o`), shared
//! availability and the components (`cmps`): the thermostat as a `climate` entity, the lock,
//! temperature and humidity `sensor`s, the door and a `problem` `binary_sensor`, and a "last
//! refusal" `event`.
//!
//! Each entity reads hearth's retained state JSON through value templates and sends
//! ordinary hearth commands (with `"client":"home_assistant"`), so Home Assistant gets no
//! side door. The templates never decide from Home Assistant's idea of the current mode
//! (it is stale while a `set_temperature` with `hvac_mode` is being carried out): the single
//! target temperature is sent as hearth's `setpoint`, which hearth resolves against the mode
//! it has just applied. Unlock works only with a code hearth checks (`[codes]` in the
//! secrets file, opt-in; then the lock entity gets `code_format`), otherwise it is refused
//! and the refusal shows on the event entity.
//!
//! Switching from the older per-entity topics: [`legacy_config_topics`] get
//! `{"migrate_discovery":true}`, then the device config, then an empty retained payload
//! (Home Assistant's documented migration, which keeps entity ids and history).
//!
//! Builds payloads only; publishing (retained) is the daemon's job.

use crate::topics::{AVAILABILITY_OFFLINE, AVAILABILITY_ONLINE, Topics};
use crate::unlock_code::CODE_FORMAT;
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
    /// Whether Home Assistant's client has an unlock code (`[codes]`): the lock entity then
    /// asks for one (`code_format`).
    pub unlock_code: bool,
}

/// The entities of the older per-entity discovery: (component, object id). Their object
/// ids are the component keys of the device config, so Home Assistant's migration keeps them.
const LEGACY_ENTITIES: [(&str, &str); 5] = [
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

/// `<prefix>/device/<node_id>/config`: the one retained discovery message.
pub fn device_config_topic(topics: &Topics) -> String {
    format!(
        "{}/device/{}/config",
        topics.discovery_prefix(),
        node_id(topics)
    )
}

/// The per-entity config topics older hearth versions used; cleared after migrating.
pub fn legacy_config_topics(topics: &Topics) -> Vec<String> {
    LEGACY_ENTITIES
        .iter()
        .map(|(component, object_id)| {
            format!(
                "{}/{component}/{}/{object_id}/config",
                topics.discovery_prefix(),
                node_id(topics)
            )
        })
        .collect()
}

/// What is published on a legacy topic to hand its entity over to the device config.
pub fn migrate_payload() -> Value {
    json!({ "migrate_discovery": true })
}

/// The device discovery payload (published retained on [`device_config_topic`]).
pub fn device_discovery(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let node = node_id(topics);
    let mut cmps = serde_json::Map::new();
    let mut add = |key: &str, platform: &str, name: &str, config: Value| {
        let mut c = json!({
            "platform": platform,
            "name": name,
            "unique_id": format!("{node}_{key}"),
            "default_entity_id": format!("{platform}.{node}_{key}"),
        });
        merge(&mut c, config);
        cmps.insert(key.to_owned(), c);
    };
    add("thermostat", "climate", "Thermostat", climate(topics, opts));
    add("lock", "lock", "Lock", lock(topics, opts));
    add(
        "temperature",
        "sensor",
        "Temperature",
        sensor(topics, "temperature", "°C"),
    );
    if opts.humidity {
        add(
            "humidity",
            "sensor",
            "Humidity",
            sensor(topics, "humidity", "%"),
        );
    }
    add("door", "binary_sensor", "Door", door(topics));
    add("problem", "binary_sensor", "Problem", problem(topics));
    add("last_refusal", "event", "Last refusal", refusal(topics));
    json!({
        "dev": {
            "identifiers": [node],
            "name": "hearth",
            "manufacturer": "hearth",
            "model": "hearthd",
            "sw_version": opts.sw_version,
        },
        "o": { "name": "hearthd", "sw_version": opts.sw_version },
        "availability": [hearth_online(topics)],
        "cmps": cmps,
    })
}

fn hearth_online(topics: &Topics) -> Value {
    json!({
        "topic": topics.availability(),
        "payload_available": AVAILABILITY_ONLINE,
        "payload_not_available": AVAILABILITY_OFFLINE,
    })
}

fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        b.extend(e);
    }
}

/// A command template producing a hearth thermostat command with one key set.
fn ha_command(key: &str, value_expr: &str) -> String {
    format!("{{\"{key}\":{value_expr},\"client\":\"{HA_CLIENT}\"}}")
}

/// `None` (Home Assistant's "unknown") for a reading while the sensor is faulted.
fn reading(key: &str) -> String {
    format!("{{{{ 'None' if value_json.faults else value_json.{key} }}}}")
}

fn climate(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let set = topics.command(crate::topics::CommandTarget::Thermostat);
    let state = topics.thermostat_state();
    // hearth's `auto` keeps the temperature between the two setpoints, which is what Home
    // Assistant calls `heat_cool` (its `auto` means a schedule the device runs itself).
    let mut c = json!({
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
        // The single target temperature is hearth's `setpoint`: the cool setpoint in cool,
        // else the heat one, resolved by hearth after any mode sent just before it.
        "temperature_command_topic": set,
        "temperature_command_template": ha_command("setpoint", "{{ value }}"),
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
        "current_temperature_template": reading("temperature"),
        "action_topic": state,
        // `off` for a thermostat that is off, and for one a fault has switched off.
        "action_template":
            "{{ 'off' if value_json.faults or (value_json.mode == 'off' and value_json.action == 'idle') else value_json.action }}",
        "json_attributes_topic": state,
        "json_attributes_template": "{{ {'faults': value_json.faults} | tojson }}",
        "min_temp": opts.min_temp,
        "max_temp": opts.max_temp,
        "temp_step": 0.5,
        "precision": 0.1,
        "temperature_unit": "C",
        "optimistic": false,
    });
    if opts.humidity {
        merge(
            &mut c,
            json!({
                "current_humidity_topic": state,
                "current_humidity_template": reading("humidity"),
            }),
        );
    }
    c
}

fn lock(topics: &Topics, opts: &DiscoveryOptions) -> Value {
    let mut c = json!({
        "command_topic": topics.command(crate::topics::CommandTarget::Lock),
        "payload_lock": "lock",
        "payload_unlock": "unlock",
        // Home Assistant passes the code it asked for (lock and unlock alike); hearth checks
        // it for unlock only. Without a code the unlock is refused (signature_required).
        "command_template": format!(
            "{{\"action\":\"{{{{ value }}}}\",\"client\":\"{HA_CLIENT}\"{{% if code %}},\"code\":{{{{ code | tojson }}}}{{% endif %}}}}"
        ),
        "state_topic": topics.lock_state(),
        // `unknown` resets Home Assistant's state (its reset payload is `None`); `moving`
        // becomes `locking`/`unlocking` from the motion hearth reports.
        "value_template":
            "{{ 'None' if value_json.state == 'unknown' else (value_json.motion if value_json.state == 'moving' and value_json.motion else value_json.state) }}",
        "state_locked": "locked",
        "state_unlocked": "unlocked",
        "state_locking": "locking",
        "state_unlocking": "unlocking",
        "state_jammed": "jammed",
        "optimistic": false,
        // Commands (and so a code) are never retained on the broker.
        "retain": false,
    });
    if opts.unlock_code {
        merge(&mut c, json!({ "code_format": CODE_FORMAT }));
    }
    c
}

fn sensor(topics: &Topics, key: &str, unit: &str) -> Value {
    json!({
        "state_topic": topics.thermostat_state(),
        "value_template": format!("{{{{ value_json.{key} }}}}"),
        "device_class": key,
        "unit_of_measurement": unit,
        "state_class": "measurement",
        "suggested_display_precision": 1,
        // Unavailable while hearth is offline or the sensor is faulted.
        "availability_mode": "all",
        "availability": [
            hearth_online(topics),
            {
                "topic": topics.thermostat_state(),
                "value_template": format!(
                    "{{{{ '{AVAILABILITY_OFFLINE}' if value_json.faults else '{AVAILABILITY_ONLINE}' }}}}"
                ),
                "payload_available": AVAILABILITY_ONLINE,
                "payload_not_available": AVAILABILITY_OFFLINE,
            },
        ],
    })
}

fn door(topics: &Topics) -> Value {
    json!({
        "state_topic": topics.lock_state(),
        "value_template": "{{ value_json.door }}",
        "payload_on": "open",
        "payload_off": "closed",
        "device_class": "door",
    })
}

fn problem(topics: &Topics) -> Value {
    json!({
        "state_topic": topics.faults_state(),
        "value_template": "{{ 'ON' if value_json.problem else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "problem",
        "entity_category": "diagnostic",
        "json_attributes_topic": topics.faults_state(),
        "json_attributes_template":
            "{{ {'faults': value_json.faults, 'thermostat': value_json.thermostat, 'lock': value_json.lock} | tojson }}",
    })
}

fn refusal(topics: &Topics) -> Value {
    json!({
        "state_topic": topics.refusal_event(),
        "event_types": [crate::state_json::REFUSAL_EVENT_TYPE],
        "icon": "mdi:hand-back-left-off",
    })
}
