//! The privacy policy: per cloud and per field, what may leave the house, when, and in what
//! form — and the payload formats (Alexa, Google, plain JSON) that carry it.
//!
//! Pure logic: house state, inbound bytes and the caller's clock in; sealed [`Outbound`]
//! messages and ledger [`Decision`]s out. No I/O, no runtime, no clock reads here.
//!
//! The guarantee is a type: a cloud connection task should accept only [`Outbound`], which
//! only [`Policy`] methods can produce, after every value in it passed the policy. Start at
//! [`Policy`]; see `README.md` beside this crate for the decision records.

mod alexa;
mod clock;
mod command;
mod config;
mod engine;
mod explain;
mod format;
mod google;
mod guard;
mod json;
pub mod lockout;
mod outbound;
pub mod pin;
mod refusal;
mod transform;

pub use clock::Now;
pub use command::{CommandError, CommandErrorCode, CommandName};
pub use config::{
    BooleanConfig, BucketsConfig, CommandsConfig, DEFAULT_MAX_REQUESTS_PER_HOUR, DeviceNames,
    FieldRule, PinConfig, PolicyConfig, ShareKind,
};
pub use engine::{Inbound, Policy, ReplyToken};
pub use format::Format;
pub use guard::GuardState;
pub use outbound::{
    Decision, DecisionKind, Outbound, TOPIC_DISCOVERY, TOPIC_RESPONSE, TOPIC_STATE,
};
pub use refusal::CloudError;
