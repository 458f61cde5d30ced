//! Thermostat and lock controllers: pure state machines with hearth's safety rules.
//!
//! Inputs and the current time go in, outputs and state come out. Nothing in this crate
//! may do I/O, spawn tasks or read a clock.

use hearth_model::ConfigIssue;
use serde::Deserialize;

/// `[thermostat]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermostatConfig {}

impl ThermostatConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

/// `[lock]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockConfig {}

impl LockConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        Vec::new()
    }
}
