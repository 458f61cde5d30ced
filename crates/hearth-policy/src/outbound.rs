//! The only things that leave hearth for a cloud, and the ledger records of every decision.
//!
//! `Outbound` is sealed: its fields are private, it has no public constructor, no `Default`,
//! no `Deserialize` and no `Clone`. The only code that creates one is in this crate, and
//! only after the policy engine has chosen and transformed every value in it. A cloud
//! connection task that accepts `Outbound` (and nothing else) therefore cannot publish raw
//! house state, by construction. This module must never grow a public way to build one.

use hearth_model::{Field, UnixMillis};

/// Topic suffix of proactive reports (ChangeReport, Home Graph report-state, json state).
pub const TOPIC_STATE: &str = "state";
/// Topic suffix of replies to a cloud's requests and commands.
pub const TOPIC_RESPONSE: &str = "response";
/// Topic suffix of the capability description (Discover.Response, SYNC, json describe).
pub const TOPIC_DISCOVERY: &str = "discovery";

/// A message the policy allows to be published to one cloud: topic suffix (appended to
/// that cloud's topic prefix) and the exact payload bytes.
///
/// Not `Clone` on purpose: a message is published once, when it is made; keeping a copy to
/// send later would send stale state.
#[derive(Debug, PartialEq, Eq)]
pub struct Outbound {
    cloud: String,
    topic_suffix: &'static str,
    bytes: Vec<u8>,
}

impl Outbound {
    /// Only the policy makes these (see the module doc).
    pub(crate) fn seal(cloud: &str, topic_suffix: &'static str, bytes: Vec<u8>) -> Self {
        Self {
            cloud: cloud.to_owned(),
            topic_suffix,
            bytes,
        }
    }

    /// The configured name of the cloud this message is for.
    pub fn cloud(&self) -> &str {
        &self.cloud
    }

    /// `state`, `response` or `discovery`; the connection task prefixes its topic.
    pub fn topic_suffix(&self) -> &'static str {
        self.topic_suffix
    }

    /// The payload exactly as recorded in the ledger.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Take the payload for publishing.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// What the policy decided. The lead writes each one to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// A message left (or is about to leave): `payload` holds its exact bytes.
    Sent,
    /// A field's value is in a message as measured.
    Included,
    /// A field's value is in a message after a transform (`detail` says from what to what).
    Transformed,
    /// A field's value was not sent; `detail` names the rule.
    Withheld,
    /// A command passed the policy and is handed to the house (written before it runs, so
    /// nothing moves without a record).
    CommandAllowed,
    /// A command the policy let through and the house carried out.
    CommandAccepted,
    /// A command refused by the policy or by the house; `detail` holds the real reason and
    /// what the cloud was told.
    CommandRefused,
    /// A request that was not a command (a state request, an unreadable directive) refused
    /// or left unanswered; `detail` holds the real reason.
    RequestRefused,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Sent => "sent",
            DecisionKind::Included => "included",
            DecisionKind::Transformed => "transformed",
            DecisionKind::Withheld => "withheld",
            DecisionKind::CommandAllowed => "command_allowed",
            DecisionKind::CommandAccepted => "command_accepted",
            DecisionKind::CommandRefused => "command_refused",
            DecisionKind::RequestRefused => "request_refused",
        }
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub time: UnixMillis,
    pub cloud: String,
    /// The field concerned; `None` for whole messages and commands.
    pub field: Option<Field>,
    pub kind: DecisionKind,
    /// The rule or reason in plain words, e.g. `share = on_change: min_interval 5m not over`.
    pub detail: String,
    /// For `Sent`: the exact bytes published.
    pub payload: Option<Vec<u8>>,
}
