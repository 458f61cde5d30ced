//! The connect options every MQTT link shares, for either protocol: a clean session (no
//! stored messages after a reconnect), a small request queue, a connect timeout,
//! TCP_NODELAY, and the packet limits each owner picks. The owner (local or cloud) fills in
//! what truly differs: who it is, where, its credentials, transport and last will.

use super::client::{Client, EventLoop};
use hearth_api::MqttProtocol;
use std::time::Duration;

/// Requests (publishes, subscribes) rumqttc may hold before a publish waits or is refused.
/// Small on purpose: nothing is queued while a link is down (see
/// [`EventLoop::discard_pending`]), so this is what may be in flight at once, not a backlog.
pub const REQUEST_CAPACITY: usize = 32;
/// Seconds to wait for the TCP (and TLS) connection and the CONNACK.
pub const CONNECT_TIMEOUT_SECS: u64 = 10;

/// The largest packets a link reads and (on MQTT 3.1.1) sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// On MQTT 5, announced in CONNECT: the broker drops larger packets for hearth instead
    /// of delivering them (which would be a connection error).
    pub incoming_v5: u32,
    /// On MQTT 3.1.1 nothing can be announced: a larger packet is a connection error.
    pub incoming_v311: usize,
    /// On MQTT 3.1.1, the largest packet hearth sends (MQTT 5 learns the broker's limit).
    pub outgoing_v311: usize,
}

/// A retained or plain QoS 1 message the broker publishes when the link dies uncleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// Everything needed to build one link.
#[derive(Clone)]
pub struct LinkOptions {
    pub protocol: MqttProtocol,
    pub client_id: String,
    pub host: String,
    pub port: u16,
    pub keep_alive: Duration,
    /// User name and password.
    pub credentials: Option<(String, String)>,
    /// Plain TCP, or TLS from [`super::tls::transport`].
    pub transport: rumqttc::Transport,
    pub will: Option<Will>,
    pub limits: Limits,
}

/// rumqttc's MQTT 3.1.1 options. `keep_alive` must be at least 1 s and `client_id` not
/// empty (rumqttc panics otherwise): the owners' config validation guarantees both.
pub fn options_v311(o: &LinkOptions) -> rumqttc::MqttOptions {
    let mut opts = rumqttc::MqttOptions::new(o.client_id.clone(), o.host.clone(), o.port);
    opts.set_keep_alive(o.keep_alive)
        .set_clean_session(true)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        .set_inflight(INFLIGHT)
        .set_max_packet_size(o.limits.incoming_v311, o.limits.outgoing_v311)
        .set_transport(o.transport.clone());
    if let Some(will) = &o.will {
        opts.set_last_will(rumqttc::LastWill::new(
            will.topic.clone(),
            will.payload.clone(),
            rumqttc::QoS::AtLeastOnce,
            will.retain,
        ));
    }
    if let Some((user, password)) = &o.credentials {
        opts.set_credentials(user.clone(), password.clone());
    }
    opts
}

/// Publishes awaiting their acknowledgement at most, on either protocol.
pub const INFLIGHT: u16 = 100;

/// rumqttc's MQTT 5 options: as [`options_v311`], with a session that ends with the
/// connection and the Maximum Packet Size announced.
pub fn options_v5(o: &LinkOptions) -> rumqttc::v5::MqttOptions {
    use rumqttc::v5::mqttbytes::{QoS, v5::LastWill};
    let mut opts = rumqttc::v5::MqttOptions::new(o.client_id.clone(), o.host.clone(), o.port);
    opts.set_keep_alive(o.keep_alive)
        .set_clean_start(true)
        .set_session_expiry_interval(None)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        .set_max_packet_size(Some(o.limits.incoming_v5))
        // rumqttc's MQTT 5 state allocates (and fills) one slot per possible in-flight
        // publish up front: 65 535 by default, 14 MiB of RSS. 100 is its 3.1.1 default.
        .set_outgoing_inflight_upper_limit(INFLIGHT)
        .set_connection_timeout(CONNECT_TIMEOUT_SECS)
        .set_network_options(network())
        .set_transport(o.transport.clone());
    if let Some(will) = &o.will {
        opts.set_last_will(LastWill::new(
            will.topic.clone(),
            will.payload.clone(),
            QoS::AtLeastOnce,
            will.retain,
            None,
        ));
    }
    if let Some((user, password)) = &o.credentials {
        opts.set_credentials(user.clone(), password.clone());
    }
    opts
}

/// TCP settings: small state reports and replies must leave at once; without TCP_NODELAY,
/// Nagle's algorithm holds them for the broker's delayed ACK (about 40 ms).
fn network() -> rumqttc::NetworkOptions {
    let mut net = rumqttc::NetworkOptions::new();
    net.set_connection_timeout(CONNECT_TIMEOUT_SECS);
    net.set_tcp_nodelay(true);
    net
}

/// A client and its event loop for the chosen protocol. Nothing connects until the event
/// loop is polled (by [`super::run`]).
pub fn connect(o: &LinkOptions) -> (Client, EventLoop) {
    match o.protocol {
        MqttProtocol::V311 => {
            let (client, mut eventloop) =
                rumqttc::AsyncClient::new(options_v311(o), REQUEST_CAPACITY);
            eventloop.set_network_options(network());
            (
                Client::V311(client),
                EventLoop::V311 {
                    el: Box::new(eventloop),
                    max_outgoing: u32::try_from(o.limits.outgoing_v311).unwrap_or(u32::MAX),
                },
            )
        }
        MqttProtocol::V5 => {
            let (client, eventloop) =
                rumqttc::v5::AsyncClient::new(options_v5(o), REQUEST_CAPACITY);
            (Client::V5(client), EventLoop::V5(Box::new(eventloop)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(protocol: MqttProtocol) -> LinkOptions {
        LinkOptions {
            protocol,
            client_id: "hearth-test".into(),
            host: "127.0.0.1".into(),
            port: 1,
            keep_alive: Duration::from_secs(5),
            credentials: Some(("u".into(), "p".into())),
            transport: rumqttc::Transport::Tcp,
            will: Some(Will {
                topic: "t/availability".into(),
                payload: b"offline".to_vec(),
                retain: true,
            }),
            limits: Limits {
                incoming_v5: 1000,
                incoming_v311: 2000,
                outgoing_v311: 3000,
            },
        }
    }

    #[test]
    fn the_protocol_key_picks_the_client() {
        let (c, el) = connect(&plain(MqttProtocol::V311));
        assert!(c.is_v311());
        assert!(matches!(
            el,
            EventLoop::V311 {
                max_outgoing: 3000,
                ..
            }
        ));
        let (c, el) = connect(&plain(MqttProtocol::V5));
        assert!(!c.is_v311());
        assert!(matches!(el, EventLoop::V5(_)));
    }

    #[test]
    fn both_protocols_get_the_shared_settings() {
        let o = plain(MqttProtocol::V5);
        let v3 = options_v311(&o);
        assert!(v3.clean_session());
        assert_eq!(v3.max_packet_size(), 2000);
        assert_eq!(v3.request_channel_capacity(), REQUEST_CAPACITY);
        assert_eq!(v3.inflight(), INFLIGHT);
        assert_eq!(v3.keep_alive(), Duration::from_secs(5));
        assert_eq!(v3.credentials().unwrap().username, "u");
        let will = v3.last_will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.message[..], will.retain),
            ("t/availability", &b"offline"[..], true)
        );
        let v5 = options_v5(&o);
        assert!(v5.clean_start());
        // Not rumqttc's default of 65 535: its MQTT 5 state fills a slot for each up front.
        assert_eq!(v5.get_outgoing_inflight_upper_limit(), Some(INFLIGHT));
        assert_eq!(v5.session_expiry_interval(), None);
        assert_eq!(v5.max_packet_size(), Some(1000));
        assert_eq!(v5.request_channel_capacity(), REQUEST_CAPACITY);
        assert_eq!(v5.connection_timeout(), CONNECT_TIMEOUT_SECS);
        assert_eq!(&v5.last_will().unwrap().message[..], b"offline");
        // The network options (TCP_NODELAY with them; rumqttc has no getter for it) are
        // those of `network()` on both event loops.
        let (_, el) = connect(&o);
        let EventLoop::V5(el) = el else {
            unreachable!()
        };
        let timeout = el.options.network_options().connection_timeout();
        assert_eq!(timeout, CONNECT_TIMEOUT_SECS);
        let (_, el) = connect(&plain(MqttProtocol::V311));
        let EventLoop::V311 { el, .. } = el else {
            unreachable!()
        };
        let timeout = el.network_options().connection_timeout();
        assert_eq!(timeout, CONNECT_TIMEOUT_SECS);
    }
}
