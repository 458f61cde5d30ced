//! The history store: readings, state changes and events in SQLite, kind to an SD card.

use hearth_model::ConfigIssue;
use serde::Deserialize;

/// `[history]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {}

impl HistoryConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        Vec::new()
    }
}
