//! The local MQTT interface as data: topic names, command and request parsing with stable
//! error codes, replies, signed unlock verification and Home Assistant discovery payloads.
//!
//! Pure: no broker connection, no clock reads (time is passed in), no hardware. The one
//! exception is [`load_secrets`]/[`read_password_file`], which read a private file. The
//! wire format is documented in this crate's README.md.
//!
//! The daemon's loop, in short:
//! 1. [`Topics::classify`] the incoming topic (refuse retained commands and requests with
//!    [`refuse_retained`]);
//! 2. [`parse_command`] / [`parse_request`] / [`unknown_request`] / [`parse_sim_control`];
//! 3. on `Err(rejected)`: publish [`Rejected::reply_json`] to its reply topic, do nothing else;
//! 4. on `Ok`: hand the command to the controller and reply with [`reply_ok`] or, for a
//!    controller refusal, [`reply_error`].

mod command;
mod config;
mod discovery;
mod envelope;
mod error;
mod nonce;
mod refuse;
mod reply;
mod request;
mod secrets;
mod signing;
mod state_json;
mod topic_roots;
mod topics;
mod unlock_code;

pub use command::{DEFAULT_CLIENT, ParsedCommand, SimControl, parse_command, parse_sim_control};
pub use config::{DiscoveryConfig, MqttConfig, MqttProtocol, TlsConfig};
pub use discovery::{
    DiscoveryOptions, HA_CLIENT, device_config_topic, device_discovery, legacy_config_topics,
    migrate_payload,
};
pub use envelope::{MAX_PAYLOAD_BYTES, MessageId};
pub use error::{ApiError, Rejected, code};
pub use refuse::{refuse_oversized, refuse_retained};
pub use reply::{reply_api_error, reply_error, reply_ok, response_ok};
pub use request::{
    DEFAULT_LIMIT, DEFAULT_RANGE_LIMIT, DEFAULT_ROLLUP_EVERY, HistoryQuery, ParsedRequest, Request,
    parse_request, parse_time, unknown_request,
};
pub use secrets::mode::{Reader as SecretsReader, too_open as secrets_too_open};
pub use secrets::{Secrets, SecretsError, load_secrets, open_nonblocking, read_password_file};
pub use signing::{CommandGuard, is_valid_nonce, sign_unlock};
pub use state_json::{faults_json, lock_state_json, refusal_event_json, thermostat_state_json};
pub use topics::{
    AVAILABILITY_OFFLINE, AVAILABILITY_ONLINE, CommandTarget, Incoming, RequestOp, Topics,
};
pub use unlock_code::{CodeGuard, Lockout};
