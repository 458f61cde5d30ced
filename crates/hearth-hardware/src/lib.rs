//! The hardware layer: one trait the rest of hearth uses, with a Raspberry Pi backend and
//! a deterministic house simulator behind it.

use hearth_model::ConfigIssue;
use serde::Deserialize;

/// `[hardware]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {}

impl HardwareConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

/// `[simulator]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {}

impl SimulatorConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        Vec::new()
    }
}
