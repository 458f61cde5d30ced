//! Commands from a cloud: their names in the allow-list, what a directive asks for, and how a
//! failed command is reported back.
//!
//! This module only names and translates; whether a command is allowed is decided in
//! `engine`, and whether it is safe is decided by `hearth-control`. It must never execute
//! anything.

use hearth_model::{CommandKind, HouseState, LockAction, Mode, ThermostatChange};

/// A command a cloud may be allowed to issue, as written in `commands.allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandName {
    SetSetpoint,
    SetMode,
    Lock,
    Unlock,
}

impl CommandName {
    pub const ALL: [CommandName; 4] = [
        CommandName::SetSetpoint,
        CommandName::SetMode,
        CommandName::Lock,
        CommandName::Unlock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::SetSetpoint => "set_setpoint",
            CommandName::SetMode => "set_mode",
            CommandName::Lock => "lock",
            CommandName::Unlock => "unlock",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What an inbound directive asks for, before the allow-list and before it becomes a
/// `CommandKind` (a single target setpoint needs the current mode to know which one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Wanted {
    /// One target temperature (°C): the heat setpoint in heat mode, the cool one in cool mode.
    Target(f64),
    /// Raise or lower the active setpoint by this many °C.
    Delta(f64),
    /// Either or both setpoints (°C).
    Range {
        heat: Option<f64>,
        cool: Option<f64>,
    },
    Mode(Mode),
    Lock,
    Unlock,
}

impl Wanted {
    pub(crate) fn name(&self) -> CommandName {
        match self {
            Wanted::Target(_) | Wanted::Delta(_) | Wanted::Range { .. } => CommandName::SetSetpoint,
            Wanted::Mode(_) => CommandName::SetMode,
            Wanted::Lock => CommandName::Lock,
            Wanted::Unlock => CommandName::Unlock,
        }
    }

    /// The command for the controllers, or why the request makes no sense right now.
    pub(crate) fn to_kind(&self, state: &HouseState) -> Result<CommandKind, String> {
        let t = &state.thermostat;
        let single = |v: f64| -> Result<ThermostatChange, String> {
            match t.mode {
                Mode::Heat => Ok(ThermostatChange {
                    setpoint_heat: Some(v),
                    ..Default::default()
                }),
                Mode::Cool => Ok(ThermostatChange {
                    setpoint_cool: Some(v),
                    ..Default::default()
                }),
                Mode::Auto => {
                    Err("the thermostat is in auto mode with two setpoints; give a range".into())
                }
                Mode::Off | Mode::FanOnly => Err(format!(
                    "the thermostat is in mode {}; choose heat or cool first",
                    t.mode.as_str()
                )),
            }
        };
        Ok(match self {
            Wanted::Target(v) => CommandKind::Thermostat(single(*v)?),
            Wanted::Delta(d) => {
                let current = match t.mode {
                    Mode::Cool => t.setpoint_cool,
                    _ => t.setpoint_heat,
                };
                CommandKind::Thermostat(single(current + d)?)
            }
            Wanted::Range {
                heat: None,
                cool: None,
            } => {
                return Err("give a heat setpoint, a cool setpoint, or both".into());
            }
            Wanted::Range { heat, cool } => CommandKind::Thermostat(ThermostatChange {
                setpoint_heat: *heat,
                setpoint_cool: *cool,
                ..Default::default()
            }),
            Wanted::Mode(m) => CommandKind::Thermostat(ThermostatChange {
                mode: Some(*m),
                ..Default::default()
            }),
            Wanted::Lock => CommandKind::Lock(LockAction::Lock),
            Wanted::Unlock => CommandKind::Lock(LockAction::Unlock),
        })
    }
}

/// Why a command the policy let through failed in the house; the lead maps control errors
/// onto these and each format turns them into its own error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError {
    pub code: CommandErrorCode,
    /// Said to the person, e.g. "the door is open".
    pub message: String,
    /// For `OutOfRange`: the accepted range in °C, when known.
    pub valid_range: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandErrorCode {
    /// A value outside the configured bounds (setpoint too high, too close to the other).
    OutOfRange,
    /// Refused in the current situation (locking with the door open).
    NotPossibleNow,
    /// The hardware failed (jammed bolt, sensor fault).
    HardwareFault,
    /// Another command is still in progress.
    Busy,
    /// Anything else.
    Internal,
}

impl CommandErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandErrorCode::OutOfRange => "out_of_range",
            CommandErrorCode::NotPossibleNow => "not_possible_now",
            CommandErrorCode::HardwareFault => "hardware_fault",
            CommandErrorCode::Busy => "busy",
            CommandErrorCode::Internal => "internal",
        }
    }
}

impl CommandError {
    pub fn new(code: CommandErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            valid_range: None,
        }
    }
}
