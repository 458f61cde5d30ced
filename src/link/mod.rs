//! One MQTT link, used by the local broker connection (`crate::mqtt`) and by every cloud
//! connection (`crate::cloud::connection`): connect options for MQTT 5 or 3.1.1
//! ([`LinkOptions`], [`connect`]), TLS with rustls ([`tls`]), the reconnect [`Backoff`]
//! with jitter, the protocol-neutral [`Client`] and [`EventLoop`], the [`LinkState`] and
//! the driver task ([`run`]) that discards rumqttc's pending requests before every
//! connection attempt. Owners supply only what differs: last will, subscriptions, what
//! happens on connect and where inbound messages go (a [`Session`]).

mod backoff;
mod client;
mod driver;
mod options;
pub mod tls;

pub use backoff::Backoff;
pub use client::{Client, EventLoop, KEEP_PAYLOAD_BYTES, Message, Subscription};
pub use driver::{Link, Peer, Session, run};
pub use options::{Limits, LinkOptions, Will, connect};
#[cfg(test)]
pub use options::{REQUEST_CAPACITY, options_v5, options_v311};

use hearth_model::UnixMillis;

/// What a link's users know about its connection (the local MQTT task, each cloud's
/// forwarder, the web page, the `status` reply).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkState {
    pub connected: bool,
    /// Increases with every CONNACK, so watchers can tell a new session from an old one.
    pub session: u64,
    /// When the current connection was made (wall clock).
    pub connected_since: Option<UnixMillis>,
    /// Connections lost since start.
    pub disconnects: u64,
    /// Why the last connection attempt or connection failed.
    pub last_error: Option<String>,
    /// Times another client connected with hearth's client id: said by the broker (MQTT 5
    /// reason code), or inferred when the broker closed a live connection without a reason
    /// and took hearth back at once (a broker that went down refuses the first retry).
    pub takeovers: u64,
    /// The largest packet the broker takes from hearth (its CONNACK; `None`: no limit).
    pub max_packet: Option<u32>,
}
