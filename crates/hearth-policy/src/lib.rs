//! The privacy policy: per cloud and per field, what may leave the house and in what form.
//!
//! Pure logic: state and requests in, decisions and payloads out. No I/O here.

use hearth_model::ConfigIssue;
use serde::Deserialize;

/// The `policy` table of one `[[cloud]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {}

impl PolicyConfig {
    /// `prefix` is the dotted key of this table, e.g. `cloud[0].policy`.
    pub fn validate(&self, _prefix: &str) -> Vec<ConfigIssue> {
        Vec::new()
    }
}
