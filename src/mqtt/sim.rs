//! The simulator-only control topic (`<base>/sim/set`): what its JSON body may say and how it
//! maps to the simulated house.
//!
//! A body is exactly one of `{"action": "open_door" | "close_door" | "key_lock" |
//! "key_unlock" | "clear_faults"}` or `{"fault": "sensor_dropout" | "implausible_reading" |
//! "lock_jam" | "door_held_open"}`. Anything else is refused with a stable code and changes
//! nothing. The topic is only subscribed on the simulated backend with `mqtt.sim_control`, so
//! this file can never reach real hardware.

use hearth_api::{ApiError, code};
use hearth_hardware::{SimAction, SimFault};
use serde_json::{Map, Value};

const ACTIONS: [(&str, SimAction); 5] = [
    ("open_door", SimAction::OpenDoor),
    ("close_door", SimAction::CloseDoor),
    ("key_lock", SimAction::KeyLock),
    ("key_unlock", SimAction::KeyUnlock),
    ("clear_faults", SimAction::ClearFaults),
];

const FAULTS: [(&str, SimFault); 4] = [
    ("sensor_dropout", SimFault::SensorDropout),
    ("implausible_reading", SimFault::ImplausibleReading),
    ("lock_jam", SimFault::LockJam),
    ("door_held_open", SimFault::DoorHeldOpen),
];

/// The simulator action a sim control body asks for.
pub fn parse_body(body: &Map<String, Value>) -> Result<SimAction, ApiError> {
    if let Some(key) = body.keys().find(|k| *k != "action" && *k != "fault") {
        return Err(ApiError::new(
            code::UNKNOWN_FIELD,
            format!(
                "unknown field `{key}` in a simulator command; known fields: id, reply_to, action, fault"
            ),
        ));
    }
    match (body.get("action"), body.get("fault")) {
        (Some(_), Some(_)) => Err(ApiError::new(
            code::INVALID_VALUE,
            "give either `action` or `fault`, not both",
        )),
        (Some(action), None) => {
            let name = text("action", action)?;
            lookup(&ACTIONS, name).ok_or_else(|| unknown("action", name, &ACTIONS))
        }
        (None, Some(fault)) => {
            let name = text("fault", fault)?;
            lookup(&FAULTS, name)
                .map(SimAction::from)
                .ok_or_else(|| unknown("fault", name, &FAULTS))
        }
        (None, None) => Err(ApiError::new(
            code::MISSING_FIELD,
            "a simulator command needs `action` or `fault`",
        )),
    }
}

fn text<'a>(key: &str, v: &'a Value) -> Result<&'a str, ApiError> {
    v.as_str().ok_or_else(|| {
        ApiError::new(
            code::WRONG_TYPE,
            format!("`{key}` must be a string, e.g. \"open_door\""),
        )
    })
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn unknown<T>(key: &str, name: &str, table: &[(&str, T)]) -> ApiError {
    let names: Vec<_> = table.iter().map(|(n, _)| *n).collect();
    ApiError::new(
        code::INVALID_VALUE,
        format!("`{key}` is `{name}`; use one of {}", names.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn actions_and_faults_map_to_the_simulator() {
        assert_eq!(
            parse_body(&body(json!({"action":"open_door"}))),
            Ok(SimAction::OpenDoor)
        );
        assert_eq!(
            parse_body(&body(json!({"action":"key_unlock"}))),
            Ok(SimAction::KeyUnlock)
        );
        assert_eq!(
            parse_body(&body(json!({"fault":"lock_jam"}))),
            Ok(SimAction::LockJam)
        );
        for (name, fault) in FAULTS {
            assert_eq!(
                parse_body(&body(json!({ "fault": name }))),
                Ok(SimAction::from(fault))
            );
        }
    }

    #[test]
    fn refusals_have_stable_codes() {
        let cases = [
            (json!({"action":"explode"}), code::INVALID_VALUE),
            (json!({"action":"lock_jam"}), code::INVALID_VALUE),
            (json!({"fault":"open_door"}), code::INVALID_VALUE),
            (json!({"action":1}), code::WRONG_TYPE),
            (json!({"fault":null}), code::WRONG_TYPE),
            (
                json!({"action":"open_door","fault":"lock_jam"}),
                code::INVALID_VALUE,
            ),
            (json!({"door":"open"}), code::UNKNOWN_FIELD),
            (json!({"action":"open_door","x":1}), code::UNKNOWN_FIELD),
        ];
        for (v, expected) in cases {
            assert_eq!(
                parse_body(&body(v.clone())).unwrap_err().code,
                expected,
                "{v}"
            );
        }
        assert_eq!(
            parse_body(&Map::new()).unwrap_err().code,
            code::MISSING_FIELD
        );
    }
}
