//! Why a controller refused a command: a stable code for machines and a message for people.
//!
//! The codes are part of hearth's public interface (MQTT replies and cloud error responses
//! carry them), so they are spelled once, here, and never renamed. This module never decides
//! whether to refuse; the controllers do.

use serde::Serialize;

/// The stable refusal codes. Add new ones; never rename or reuse one.
/// Not `hearth_api::code`: those refuse a message before it reaches the house (parse,
/// signature, unlock code), these are the controllers' verdict on a well-formed command; no
/// code is in both (the daemon's tests check the sets are disjoint on the one wire field).
pub mod codes {
    /// A setpoint is outside its configured bounds, or not a number.
    pub const SETPOINT_OUT_OF_RANGE: &str = "setpoint_out_of_range";
    /// In `auto`, the heating setpoint is not far enough below the cooling setpoint.
    pub const SETPOINTS_TOO_CLOSE: &str = "setpoints_too_close";
    /// A thermostat change names the same setpoint twice (`setpoint` and `setpoint_heat` in
    /// heat, or `setpoint` and `setpoint_cool` in cool).
    pub const CONFLICTING_SETPOINTS: &str = "conflicting_setpoints";
    /// Lock refused because the door contact says the door is open.
    pub const DOOR_OPEN: &str = "door_open";
    /// The bolt is already moving the other way.
    pub const LOCK_BUSY: &str = "lock_busy";
    /// The lock inputs have not been read yet, so nothing can be decided.
    pub const STATE_UNKNOWN: &str = "state_unknown";
    /// The lock's limit switches contradict each other (both closed).
    pub const SENSOR_FAULT: &str = "sensor_fault";

    /// Every code, for documentation and tests.
    pub const ALL: [&str; 7] = [
        SETPOINT_OUT_OF_RANGE,
        SETPOINTS_TOO_CLOSE,
        CONFLICTING_SETPOINTS,
        DOOR_OPEN,
        LOCK_BUSY,
        STATE_UNKNOWN,
        SENSOR_FAULT,
    ];
}

/// A refused command. Nothing changed because of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// One of [`codes`]; stable, snake_case.
    pub code: &'static str,
    /// For people: the value, the allowed range and the key involved.
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            codes::ALL.contains(&code),
            "undocumented refusal code {code}"
        );
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        for (i, c) in codes::ALL.iter().enumerate() {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{c}"
            );
            assert!(!codes::ALL[i + 1..].contains(c), "{c} twice");
        }
    }

    #[test]
    fn serialises_as_code_and_message() {
        let r = Refusal::new(codes::DOOR_OPEN, "close the door");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"code": "door_open", "message": "close the door"})
        );
        assert_eq!(r.to_string(), "close the door (door_open)");
    }
}
