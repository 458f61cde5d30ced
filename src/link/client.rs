//! The two MQTT protocol versions behind one face: a [`Client`] to publish and subscribe
//! through and an [`EventLoop`] that yields protocol-neutral [`LinkEvent`]s, so neither the
//! local MQTT task nor a cloud connection sees which version its `protocol` key chose.
//!
//! MQTT 5 closes three holes by protocol: the CONNECT carries a Maximum Packet Size, so the
//! broker never delivers a packet hearth would refuse to read (it drops it instead of
//! cutting hearth off); subscriptions ask for Retain As Published, so a retained command or
//! directive is recognised live as well as when replayed; and a broker DISCONNECT with
//! reason "session taken over" says another client connected with hearth's id. MQTT 3.1.1
//! has none of these: its reader takes packets up to the limit each link sets (see
//! `options.rs`).

use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet as Packet5, RetainForwardRule};
use rumqttc::v5::{
    ConnectionError as ConnectionError5, Event as Event5, EventLoop as EventLoop5, StateError,
};
use rumqttc::{Event, Outgoing, Packet, QoS};

/// Payloads above this are not kept in memory past the read: only their size is passed on,
/// so the intake queue is bounded in bytes (64 messages of at most this size).
pub const KEEP_PAYLOAD_BYTES: usize = 16 * 1024;

/// A message from the broker, whatever the protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    /// Empty when the payload was larger than [`KEEP_PAYLOAD_BYTES`] (see `size`).
    pub payload: Vec<u8>,
    /// The payload's size as received.
    pub size: usize,
    /// On MQTT 5 (Retain As Published) also set for a retained message delivered live.
    pub retain: bool,
}

impl Message {
    pub fn new(topic: String, payload: &[u8], retain: bool) -> Message {
        let size = payload.len();
        let payload = if size > KEEP_PAYLOAD_BYTES {
            Vec::new()
        } else {
            payload.to_vec()
        };
        Message {
            topic,
            payload,
            size,
            retain,
        }
    }

    /// The payload was too large to keep; only its size is known.
    pub fn oversized(&self) -> bool {
        self.size > KEEP_PAYLOAD_BYTES
    }
}

/// One topic filter hearth subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub filter: String,
    /// One of hearth's own retained topics, watched for overwrites by other clients: on
    /// MQTT 5 with No Local, so hearth's own publishes do not come back.
    pub own: bool,
}

impl Subscription {
    /// A filter for messages from other clients (commands, requests, directives).
    pub fn to(filter: impl Into<String>) -> Self {
        Self {
            filter: filter.into(),
            own: false,
        }
    }
}

/// What the connection loop learns from one poll.
#[derive(Debug)]
pub enum LinkEvent {
    /// CONNACK: a new session. `max_packet` is the broker's limit for what hearth sends.
    Connected {
        max_packet: Option<u32>,
    },
    Message(Message),
    /// hearth's own DISCONNECT was written.
    DisconnectSent,
    Other,
    /// The connection failed or ended. `takeover`: the broker said another client took
    /// over hearth's session (same client id). `closed_by_peer`: the broker closed the
    /// connection without a reason (Mosquitto 2.0 does so on a takeover, even on MQTT 5).
    Lost {
        message: String,
        takeover: bool,
        closed_by_peer: bool,
    },
}

/// Publishes and subscribes, on either protocol. Cheap to clone.
#[derive(Clone)]
pub enum Client {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

impl Client {
    /// Whether hearth's own publishes come back to it (MQTT 3.1.1 has no No Local), and a
    /// retain flag means "stored, replayed on subscribe" (no Retain As Published).
    pub fn is_v311(&self) -> bool {
        matches!(self, Client::V311(_))
    }

    /// Hand a QoS 1 publish to rumqttc without waiting: refused when its queue is full.
    pub fn try_publish(&self, topic: String, payload: Vec<u8>, retain: bool) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_publish(topic, QoS5::AtLeastOnce, retain, payload)
                .map_err(|e| e.to_string()),
        }
    }

    /// Hand a QoS 1 publish to rumqttc (waits while its request queue is full).
    pub async fn publish(&self, topic: &str, payload: Vec<u8>, retain: bool) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .publish(topic, QoS::AtLeastOnce, retain, payload)
                .await
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .publish(topic, QoS5::AtLeastOnce, retain, payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Subscribe at QoS 1. On MQTT 5 every filter keeps the retain flag as published, and
    /// `own` filters use No Local.
    pub async fn subscribe(&self, subs: &[Subscription]) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .subscribe_many(filters_v311(subs))
                .await
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .subscribe_many(filters_v5(subs))
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// As [`Client::subscribe`], without waiting: refused when rumqttc's queue is full.
    pub fn try_subscribe(&self, subs: &[Subscription]) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .try_subscribe_many(filters_v311(subs))
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_subscribe_many(filters_v5(subs))
                .map_err(|e| e.to_string()),
        }
    }

    pub async fn disconnect(&self) -> Result<(), String> {
        match self {
            Client::V311(c) => c.disconnect().await.map_err(|e| e.to_string()),
            Client::V5(c) => c.disconnect().await.map_err(|e| e.to_string()),
        }
    }
}

fn filters_v311(subs: &[Subscription]) -> Vec<rumqttc::SubscribeFilter> {
    subs.iter()
        .map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), QoS::AtLeastOnce))
        .collect()
}

fn filters_v5(subs: &[Subscription]) -> Vec<Filter> {
    subs.iter()
        .map(|s| {
            let mut f = Filter::new(s.filter.clone(), QoS5::AtLeastOnce);
            f.preserve_retain = true;
            if s.own {
                // Only other clients' writes, and only live ones: stored values are
                // replaced by hearth's own publish on every connect.
                f.nolocal = true;
                f.retain_forward_rule = RetainForwardRule::Never;
            }
            f
        })
        .collect()
}

/// rumqttc's event loop for either protocol. On MQTT 3.1.1 it also keeps the largest packet
/// it may send (MQTT 5 learns the broker's limit from the CONNACK).
pub enum EventLoop {
    V311 {
        el: Box<rumqttc::EventLoop>,
        max_outgoing: u32,
    },
    V5(Box<EventLoop5>),
}

impl EventLoop {
    /// Throw away everything rumqttc still holds for the broker: requests in its channel,
    /// unacknowledged in-flight packets and its pending queue. rumqttc would otherwise send
    /// them after the next CONNACK, and stale state or replies would leave late. Called
    /// before every connection attempt, never on a live connection (rumqttc's `clean` also
    /// drops the network); the session's owner publishes current values anew.
    /// Returns how many requests were dropped.
    pub fn discard_pending(&mut self) -> usize {
        match self {
            EventLoop::V311 { el, .. } => {
                el.clean();
                std::mem::take(&mut el.pending).len()
            }
            EventLoop::V5(el) => {
                el.clean();
                std::mem::take(&mut el.pending).len()
            }
        }
    }

    /// Poll once: connect if needed, then read or write one packet.
    pub async fn next(&mut self) -> LinkEvent {
        match self {
            EventLoop::V311 { el, max_outgoing } => match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => LinkEvent::Connected {
                    max_packet: Some(*max_outgoing),
                },
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    LinkEvent::Message(Message::new(p.topic, &p.payload, p.retain))
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => LinkEvent::DisconnectSent,
                Ok(_) => LinkEvent::Other,
                Err(e) => LinkEvent::Lost {
                    closed_by_peer: matches!(
                        &e,
                        rumqttc::ConnectionError::MqttState(rumqttc::StateError::ConnectionAborted)
                    ),
                    message: e.to_string(),
                    takeover: false,
                },
            },
            EventLoop::V5(el) => match el.poll().await {
                Ok(Event5::Incoming(Packet5::ConnAck(ack))) => LinkEvent::Connected {
                    max_packet: ack.properties.and_then(|p| p.max_packet_size),
                },
                Ok(Event5::Incoming(Packet5::Publish(p))) => LinkEvent::Message(Message::new(
                    String::from_utf8_lossy(&p.topic).into_owned(),
                    &p.payload,
                    p.retain,
                )),
                Ok(Event5::Outgoing(Outgoing::Disconnect)) => LinkEvent::DisconnectSent,
                Ok(_) => LinkEvent::Other,
                Err(e) => LinkEvent::Lost {
                    takeover: is_takeover(&e),
                    closed_by_peer: matches!(
                        &e,
                        ConnectionError5::MqttState(StateError::ConnectionAborted)
                    ),
                    message: e.to_string(),
                },
            },
        }
    }

    /// `host:port` of the broker, for logs.
    pub fn broker(&self) -> String {
        let (host, port) = match self {
            EventLoop::V311 { el, .. } => el.mqtt_options.broker_address(),
            EventLoop::V5(el) => el.options.broker_address(),
        };
        format!("{host}:{port}")
    }
}

fn is_takeover(e: &ConnectionError5) -> bool {
    matches!(
        e,
        ConnectionError5::MqttState(StateError::ServerDisconnect {
            reason_code: rumqttc::v5::mqttbytes::v5::DisconnectReasonCode::SessionTakenOver,
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_payloads_keep_only_their_size() {
        let small = Message::new("t".into(), b"{}", false);
        assert_eq!((small.payload.as_slice(), small.size), (&b"{}"[..], 2));
        assert!(!small.oversized());
        let big = Message::new("t".into(), &vec![b'x'; KEEP_PAYLOAD_BYTES + 1], true);
        assert!(big.oversized() && big.payload.is_empty() && big.retain);
        assert_eq!(big.size, KEEP_PAYLOAD_BYTES + 1);
    }

    #[test]
    fn a_session_takeover_is_recognised() {
        let takeover = ConnectionError5::MqttState(StateError::ServerDisconnect {
            reason_code: rumqttc::v5::mqttbytes::v5::DisconnectReasonCode::SessionTakenOver,
            reason_string: None,
        });
        assert!(is_takeover(&takeover));
        assert!(!is_takeover(&ConnectionError5::MqttState(
            StateError::ConnectionAborted
        )));
    }
}
