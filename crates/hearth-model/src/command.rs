//! Commands to the thermostat and lock, and who sent them.
//!
//! Every command carries its `Source` so history and the ledger can say who did what.
//! Validation against limits happens in `hearth-control`; parsing from MQTT JSON happens
//! at the MQTT edge. This module only names things.

use crate::state::{FanMode, Mode};
use serde::{Deserialize, Serialize};

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Source {
    /// A client on the local MQTT broker; the name is the signed client's name when the
    /// command was signed, otherwise the `client` field it gave (or `local`).
    Local(String),
    /// A voice-assistant cloud, by its configured name.
    Cloud(String),
    /// The lock relocked itself after the door stayed closed.
    AutoRelock,
    /// Someone moved the bolt by hand or key; seen on the sensors with no command.
    Manual,
    /// hearth itself (freeze protection, start-up, shutdown).
    System,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local(n) => write!(f, "local:{n}"),
            Source::Cloud(n) => write!(f, "cloud:{n}"),
            Source::AutoRelock => f.write_str("auto-relock"),
            Source::Manual => f.write_str("manual"),
            Source::System => f.write_str("system"),
        }
    }
}

/// A change to the thermostat settings; absent parts stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThermostatChange {
    pub mode: Option<Mode>,
    pub fan: Option<FanMode>,
    pub setpoint_heat: Option<f64>,
    pub setpoint_cool: Option<f64>,
    /// The setpoint of the mode in force once `mode` is applied: `setpoint_cool` in cool,
    /// `setpoint_heat` in every other mode. For clients (Home Assistant's single target
    /// temperature) that send a mode and a temperature as two messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setpoint: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    Lock,
    Unlock,
}

impl LockAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LockAction::Lock => "lock",
            LockAction::Unlock => "unlock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    Thermostat(ThermostatChange),
    Lock(LockAction),
}

/// A validated-in-shape command with its origin, ready for the controllers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub source: Source,
    pub kind: CommandKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_displays_for_humans() {
        assert_eq!(Source::Local("alice".into()).to_string(), "local:alice");
        assert_eq!(Source::Cloud("alexa".into()).to_string(), "cloud:alexa");
        assert_eq!(Source::AutoRelock.to_string(), "auto-relock");
    }
}
