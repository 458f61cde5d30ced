//! Commands from a cloud: their names in the allow-list, what a directive asks for, and how a
//! failed command is reported back.
//!
//! This module only names and translates; whether a command is allowed is decided in
//! `engine`, and whether it is safe is decided by `hearth-control`. It must never execute
//! anything.

use crate::refusal::{CloudError, Refused};
use hearth_model::{CommandKind, Field, HouseState, LockAction, Mode, ThermostatChange};

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

    /// The command for the controllers, or why the request makes no sense right now (a
    /// refusal that names the mode only when the policy shares it).
    pub(crate) fn to_kind(&self, state: &HouseState) -> Result<CommandKind, Refused> {
        let t = &state.thermostat;
        let single = |v: f64| -> Result<ThermostatChange, Refused> {
            match t.mode {
                Mode::Heat => Ok(ThermostatChange {
                    setpoint_heat: Some(v),
                    ..Default::default()
                }),
                Mode::Cool => Ok(ThermostatChange {
                    setpoint_cool: Some(v),
                    ..Default::default()
                }),
                Mode::Auto | Mode::Off | Mode::FanOnly => Err(Refused::new(
                    CloudError::WrongMode,
                    format!(
                        "a single target setpoint needs heat or cool mode; the thermostat is in mode {}",
                        t.mode.as_str()
                    ),
                )
                .revealing(&[Field::ThermostatMode])),
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
                return Err(Refused::new(
                    CloudError::Malformed,
                    "give a heat setpoint, a cool setpoint, or both",
                ));
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

    /// The fields a failure of this command in the house would reveal, given its public code.
    pub(crate) fn failure(&self, e: &CommandError) -> Refused {
        let setpoints = [
            Field::ThermostatSetpointHeat,
            Field::ThermostatSetpointCool,
            Field::ThermostatMode,
        ];
        let reason = format!("refused in the house ({}): {}", e.code.as_str(), e.message);
        let (public, reveals): (CloudError, &[Field]) = match e.code {
            CommandErrorCode::SetpointOutOfRange => match self {
                // A delta is relative to the hidden setpoint; a single target goes to the
                // setpoint the (maybe hidden) mode picks.
                Wanted::Delta(_) => (CloudError::OutOfRange, &setpoints),
                Wanted::Target(_) => (CloudError::OutOfRange, &[Field::ThermostatMode]),
                _ => (CloudError::OutOfRange, &[]),
            },
            CommandErrorCode::SetpointsTooClose => match self {
                // Both given: the cloud knows both already.
                Wanted::Range {
                    heat: Some(_),
                    cool: Some(_),
                } => (CloudError::OutOfRange, &[]),
                _ => (CloudError::OutOfRange, &setpoints),
            },
            CommandErrorCode::DoorOpen => (CloudError::DoorOpen, &[Field::LockDoor]),
            CommandErrorCode::LockBusy => (CloudError::Busy, &[Field::LockState]),
            CommandErrorCode::SensorFault => (CloudError::HardwareFault, &[Field::LockState]),
            CommandErrorCode::StateUnknown
            | CommandErrorCode::ConflictingSetpoints
            | CommandErrorCode::Internal => (CloudError::Refused, &[]),
        };
        Refused::new(public, reason).revealing(reveals)
    }
}

/// Why a command the policy let through failed in the house. The lead maps control
/// refusals onto these with [`CommandErrorCode::from_refusal_code`]; the engine decides what
/// the cloud may be told (see `refusal`). `message` goes to the ledger only.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError {
    pub code: CommandErrorCode,
    /// The real reason, for the ledger; never sent to a cloud.
    pub message: String,
}

/// The control refusal codes (`hearth_control::refusal::codes`) plus hearth's own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandErrorCode {
    /// `setpoint_out_of_range`.
    SetpointOutOfRange,
    /// `setpoints_too_close`.
    SetpointsTooClose,
    /// `door_open`.
    DoorOpen,
    /// `lock_busy`.
    LockBusy,
    /// `state_unknown`.
    StateUnknown,
    /// `sensor_fault`.
    SensorFault,
    /// `conflicting_setpoints`: a local command named one setpoint twice; no cloud command
    /// is built that way, so a cloud only ever gets the neutral refusal for it.
    ConflictingSetpoints,
    /// Anything else: shutting down, no answer in time, an unknown code.
    Internal,
}

impl CommandErrorCode {
    pub const ALL: [CommandErrorCode; 8] = [
        CommandErrorCode::SetpointOutOfRange,
        CommandErrorCode::SetpointsTooClose,
        CommandErrorCode::DoorOpen,
        CommandErrorCode::LockBusy,
        CommandErrorCode::StateUnknown,
        CommandErrorCode::SensorFault,
        CommandErrorCode::ConflictingSetpoints,
        CommandErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandErrorCode::SetpointOutOfRange => "setpoint_out_of_range",
            CommandErrorCode::SetpointsTooClose => "setpoints_too_close",
            CommandErrorCode::DoorOpen => "door_open",
            CommandErrorCode::LockBusy => "lock_busy",
            CommandErrorCode::StateUnknown => "state_unknown",
            CommandErrorCode::SensorFault => "sensor_fault",
            CommandErrorCode::ConflictingSetpoints => "conflicting_setpoints",
            CommandErrorCode::Internal => "internal",
        }
    }

    /// A control refusal's stable code; unknown codes are `Internal`.
    pub fn from_refusal_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| *c != CommandErrorCode::Internal && c.as_str() == code)
            .unwrap_or(CommandErrorCode::Internal)
    }
}

impl CommandError {
    pub fn new(code: CommandErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
