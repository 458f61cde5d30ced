//! Requests about the privacy policy and the ledger that arrive over local MQTT
//! (`policy_explain`, `policy_reload`, `audit`), on their way to the cloud supervisor.
//!
//! The local MQTT task only forwards these and relays the answer; the supervisor that owns
//! the policies answers them. Defined here so neither side depends on the other.

use hearth_model::UnixMillis;
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyOp {
    /// Plain-language description of what each field does, for one cloud or all.
    Explain { cloud: Option<String> },
    /// Re-read the config file's policies; an invalid one is refused and the old one stays.
    Reload,
    /// Ledger rows, newest first.
    Audit {
        cloud: Option<String>,
        since: Option<UnixMillis>,
        limit: usize,
    },
}

/// An error answer: a stable `code` and a message for people.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub struct PolicyRequest {
    pub op: PolicyOp,
    pub reply: oneshot::Sender<Result<serde_json::Value, PolicyError>>,
}
