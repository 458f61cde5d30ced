//! hearth's shared vocabulary: the names every other part of hearth agrees on.
//!
//! This crate holds data types only — fields, values, thermostat and lock states, commands
//! and where they came from, and the duration format used in the config. It must never
//! contain I/O, a runtime, or policy: it is the contract between the hardware, control,
//! history, MQTT and policy layers.

mod command;
mod config;
pub mod duration;
mod field;
mod state;
mod time;

pub use command::{Command, CommandKind, LockAction, Source, ThermostatChange};
pub use config::ConfigIssue;
pub use field::{Field, Value};
pub use state::{
    ClimateReading, DoorState, FanMode, Fault, HouseState, HvacAction, HvacOutputs, LockInputs,
    LockState, LockStatus, Mode, MotorDrive, ThermostatState,
};
pub use time::UnixMillis;
