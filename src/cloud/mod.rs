//! The clouds: per `[[cloud]]` one MQTT connection and one forwarder that owns that cloud's
//! privacy policy, plus the supervisor that reloads policies and answers questions about
//! them. See ARCHITECTURE.md ("What leaves the house").
//!
//! The boundary: connections accept only `hearth_policy::Outbound`, which only the policy
//! can make; nothing in this module may turn house state into bytes for a cloud itself.

pub(crate) mod config;
pub(crate) mod connection;
#[cfg(any(test, feature = "bench"))]
pub(crate) mod fixture;
pub(crate) mod forwarder;
mod policies;
pub(crate) mod supervisor;

pub use config::{CloudConfig, LedgerConfig};
pub(crate) use supervisor::{CloudInputs, CloudTasks};
