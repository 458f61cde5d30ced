//! The state of the house as hearth reports it: thermostat and lock, with their faults.
//!
//! These are snapshots; the rules that change them live in `hearth-control`.

use serde::{Deserialize, Serialize};

/// Thermostat operating mode chosen by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Off,
    Heat,
    Cool,
    Auto,
    FanOnly,
}

impl Mode {
    pub const ALL: [Mode; 5] = [Mode::Off, Mode::Heat, Mode::Cool, Mode::Auto, Mode::FanOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Heat => "heat",
            Mode::Cool => "cool",
            Mode::Auto => "auto",
            Mode::FanOnly => "fan_only",
        }
    }
}

/// Fan setting: run only with heating/cooling (`auto`) or always (`on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanMode {
    Auto,
    On,
}

impl FanMode {
    pub const ALL: [FanMode; 2] = [FanMode::Auto, FanMode::On];

    pub fn as_str(self) -> &'static str {
        match self {
            FanMode::Auto => "auto",
            FanMode::On => "on",
        }
    }
}

/// What the HVAC equipment is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HvacAction {
    Idle,
    Heating,
    Cooling,
    Fan,
}

impl HvacAction {
    pub const ALL: [HvacAction; 4] = [
        HvacAction::Idle,
        HvacAction::Heating,
        HvacAction::Cooling,
        HvacAction::Fan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HvacAction::Idle => "idle",
            HvacAction::Heating => "heating",
            HvacAction::Cooling => "cooling",
            HvacAction::Fan => "fan",
        }
    }
}

/// The three relay outputs of a conventional thermostat (W, Y, G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct HvacOutputs {
    pub heat: bool,
    pub cool: bool,
    pub fan: bool,
}

impl HvacOutputs {
    pub const OFF: HvacOutputs = HvacOutputs {
        heat: false,
        cool: false,
        fan: false,
    };

    pub fn action(self) -> HvacAction {
        if self.heat {
            HvacAction::Heating
        } else if self.cool {
            HvacAction::Cooling
        } else if self.fan {
            HvacAction::Fan
        } else {
            HvacAction::Idle
        }
    }
}

/// The deadbolt as hearth believes it to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    Locked,
    Unlocked,
    Moving,
    Jammed,
    Unknown,
}

impl LockState {
    pub const ALL: [LockState; 5] = [
        LockState::Locked,
        LockState::Unlocked,
        LockState::Moving,
        LockState::Jammed,
        LockState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LockState::Locked => "locked",
            LockState::Unlocked => "unlocked",
            LockState::Moving => "moving",
            LockState::Jammed => "jammed",
            LockState::Unknown => "unknown",
        }
    }
}

/// The door contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorState {
    Open,
    Closed,
}

impl DoorState {
    pub const ALL: [DoorState; 2] = [DoorState::Open, DoorState::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            DoorState::Open => "open",
            DoorState::Closed => "closed",
        }
    }
}

/// How the lock motor is being driven. `Off` is the only safe resting state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MotorDrive {
    #[default]
    Off,
    Locking,
    Unlocking,
}

/// A condition that keeps hearth from doing its job normally. Published and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// No valid temperature reading for `sensor_timeout`.
    SensorTimeout,
    /// A reading outside the plausible range or jumping too far.
    SensorImplausible,
    /// The bolt did not reach its limit switch within `travel_timeout`.
    LockJammed,
    /// Both limit switches report closed at once.
    LockSensorConflict,
    /// The history database cannot be written (disk full, read-only, ...).
    HistoryUnavailable,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::SensorTimeout => "sensor_timeout",
            Fault::SensorImplausible => "sensor_implausible",
            Fault::LockJammed => "lock_jammed",
            Fault::LockSensorConflict => "lock_sensor_conflict",
            Fault::HistoryUnavailable => "history_unavailable",
        }
    }
}

/// A snapshot of the thermostat. Temperatures are degrees Celsius.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermostatState {
    pub mode: Mode,
    pub fan: FanMode,
    pub setpoint_heat: f64,
    pub setpoint_cool: f64,
    /// Last valid indoor temperature, if any.
    pub temperature: Option<f64>,
    /// Last valid relative humidity in percent, if the sensor has it.
    pub humidity: Option<f64>,
    pub action: HvacAction,
    pub faults: Vec<Fault>,
}

/// A snapshot of the lock and door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockStatus {
    pub state: LockState,
    /// `None` until the door contact has been read.
    pub door: Option<DoorState>,
    pub faults: Vec<Fault>,
    /// Which way the bolt is being driven while `state` is `moving`; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<crate::command::LockAction>,
}

/// Everything hearth knows about the house at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseState {
    pub thermostat: ThermostatState,
    pub lock: LockStatus,
}

/// One valid reading from the thermostat's sensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClimateReading {
    /// Degrees Celsius.
    pub temperature: f64,
    /// Relative humidity in percent, where the sensor measures it.
    pub humidity: Option<f64>,
}

/// The lock's inputs after debouncing: the two limit switches and the door contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockInputs {
    pub bolt_locked: bool,
    pub bolt_unlocked: bool,
    pub door_open: bool,
}
