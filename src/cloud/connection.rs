//! One MQTT connection to one cloud: TLS with a client certificate (plaintext only to
//! loopback), reconnect with a capped, jittered backoff, and the link state the forwarder
//! watches.
//!
//! The only way to publish is [`CloudLink::publish`], which takes an
//! [`hearth_policy::Outbound`] — the policy's sealed output — and nothing else; this module
//! never sees house state. It also never queues while the cloud is down: `publish` refuses
//! when the link is not up, and before every connection attempt whatever rumqttc still
//! holds (its request channel and in-flight state) is thrown away, because rumqttc would
//! otherwise send it after reconnecting and stale state would leave the house late.

use super::config::CloudConfig;
use hearth_policy::Outbound;
use rumqttc::{
    AsyncClient, ClientError, Event, EventLoop, MqttOptions, Packet, QoS, TlsConfiguration,
    Transport,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// rumqttc's request channel; requests are only made while connected, so this is the most
/// that can be in flight at once, not a backlog.
const REQUEST_CAP: usize = 32;
/// Directives waiting for the forwarder; a cloud flooding hearth gets the excess dropped.
const INBOUND_CAP: usize = 16;

/// Whether the cloud is reachable now; `session` counts connections so the forwarder can
/// tell a fresh one (send capability and current state) from the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkState {
    pub up: bool,
    pub session: u64,
}

/// Why an `Outbound` was not handed to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSent {
    #[error("cloud offline")]
    Offline,
    #[error("connection busy (request queue full)")]
    Busy,
    /// The message was made by another cloud's policy: a wiring bug, refused rather than
    /// sent to the wrong cloud.
    #[error("message made for another cloud; refused")]
    WrongCloud,
}

/// A message the cloud published on `<prefix>/directive`, unread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub payload: Vec<u8>,
    /// Delivered because it was retained on the broker, not because the cloud just sent
    /// it: such a directive is replayed on every (re)connection, so it is never acted on.
    pub retained: bool,
}

/// The forwarder's side of a connection.
pub struct CloudLink {
    client: AsyncClient,
    /// The configured name of the cloud this link reaches; `publish` checks it.
    cloud: String,
    prefix: String,
    pub state: watch::Receiver<LinkState>,
    /// What the cloud published on `<prefix>/directive`.
    pub inbound: mpsc::Receiver<Directive>,
    /// Directives dropped because the forwarder was behind, not yet written to the ledger.
    pub dropped: Arc<AtomicU64>,
}

impl CloudLink {
    /// Publish one policy-approved message on `<topic_prefix>/<suffix>`, or refuse at once
    /// if the cloud is down: nothing waits for a reconnect.
    /// A message made by another cloud's policy is refused.
    pub fn publish(&self, message: Outbound) -> Result<(), NotSent> {
        if message.cloud() != self.cloud {
            return Err(NotSent::WrongCloud);
        }
        if !self.state.borrow().up {
            return Err(NotSent::Offline);
        }
        let topic = format!("{}/{}", self.prefix, message.topic_suffix());
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, message.into_bytes())
            .map_err(|e| match e {
                ClientError::TryRequest(_) | ClientError::Request(_) => NotSent::Busy,
            })
    }
}

/// The topic a cloud sends directives and state requests on.
impl CloudLink {
    /// Like [`CloudLink::publish`], but waits for room in the connection's request queue
    /// instead of refusing when it is full. Still refuses at once while the cloud is offline,
    /// so nothing is ever queued for a cloud that is down. The benchmark uses this to measure
    /// the forwarding path's throughput; the forwarder itself never waits.
    pub async fn publish_when_ready(&self, message: Outbound) -> Result<(), NotSent> {
        if message.cloud() != self.cloud {
            return Err(NotSent::WrongCloud);
        }
        if !self.state.borrow().up {
            return Err(NotSent::Offline);
        }
        let topic = format!("{}/{}", self.prefix, message.topic_suffix());
        self.client
            .publish(topic, QoS::AtLeastOnce, false, message.into_bytes())
            .await
            .map_err(|_| NotSent::Offline)
    }
}

/// A link to no broker, for tests of the forwarder: the caller drives `up` and reads what
/// was handed to rumqttc from the returned event loop.
#[cfg(test)]
pub(crate) fn test_link(
    cloud: &str,
) -> (
    CloudLink,
    EventLoop,
    watch::Sender<LinkState>,
    mpsc::Sender<Directive>,
) {
    let (client, eventloop) = AsyncClient::new(MqttOptions::new("t", "127.0.0.1", 1), 8);
    let (state_tx, state) = watch::channel(LinkState::default());
    let (in_tx, inbound) = mpsc::channel(4);
    let link = CloudLink {
        client,
        cloud: cloud.to_owned(),
        prefix: "p".into(),
        state,
        inbound,
        dropped: Arc::default(),
    };
    (link, eventloop, state_tx, in_tx)
}

pub fn directive_topic(prefix: &str) -> String {
    format!("{prefix}/directive")
}

/// Start the connection task; it runs until `shutdown` flips.
pub fn spawn(
    cfg: &CloudConfig,
    shutdown: watch::Receiver<bool>,
) -> (CloudLink, tokio::task::JoinHandle<()>) {
    // rumqttc is built without a default crypto provider; install ring once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut options = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    options.set_keep_alive(cfg.keep_alive);
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CAP);
    // Small reports should not wait for Nagle's algorithm and the broker's delayed ACK.
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    let (state_tx, state_rx) = watch::channel(LinkState::default());
    let (in_tx, in_rx) = mpsc::channel(INBOUND_CAP);
    let dropped = Arc::new(AtomicU64::new(0));
    let task = Driver {
        cfg: cfg.clone(),
        client: client.clone(),
        eventloop,
        state: state_tx,
        inbound: in_tx,
        dropped: dropped.clone(),
        shutdown,
    };
    let handle = tokio::spawn(task.run());
    (
        CloudLink {
            client,
            cloud: cfg.name.clone(),
            prefix: cfg.topic_prefix.clone(),
            state: state_rx,
            inbound: in_rx,
            dropped,
        },
        handle,
    )
}

struct Driver {
    cfg: CloudConfig,
    client: AsyncClient,
    eventloop: EventLoop,
    state: watch::Sender<LinkState>,
    inbound: mpsc::Sender<Directive>,
    dropped: Arc<AtomicU64>,
    shutdown: watch::Receiver<bool>,
}

impl Driver {
    async fn run(mut self) {
        let name = self.cfg.name.clone();
        let mut backoff = BACKOFF_MIN;
        let mut transport_ready = false;
        let directive = directive_topic(&self.cfg.topic_prefix);
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            if !transport_ready {
                match transport(&self.cfg) {
                    Ok(t) => {
                        self.eventloop.mqtt_options.set_transport(t);
                        transport_ready = true;
                    }
                    Err(e) => {
                        tracing::error!(cloud = %name, "{e}");
                        if self.pause(BACKOFF_MAX).await {
                            break;
                        }
                        continue;
                    }
                }
            }
            if !self.state.borrow().up {
                // Nothing made while the cloud was down may leave after it comes back.
                self.eventloop.clean();
                self.eventloop.pending.clear();
            }
            let event = tokio::select! {
                e = self.eventloop.poll() => e,
                _ = crate::shutdown::wait(&mut self.shutdown) => break,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF_MIN;
                    if let Err(e) = self
                        .client
                        .try_subscribe(directive.clone(), QoS::AtLeastOnce)
                    {
                        tracing::warn!(cloud = %name, error = %e, "cannot subscribe to {directive}");
                    }
                    self.state.send_modify(|s| {
                        s.up = true;
                        s.session += 1;
                    });
                    tracing::info!(cloud = %name, host = %self.cfg.host, "cloud connected");
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == directive => {
                    let d = Directive {
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    };
                    if self.inbound.try_send(d).is_err() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(cloud = %name, "directive dropped: the forwarder is behind");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if self.state.borrow().up {
                        tracing::warn!(cloud = %name, error = %e, "cloud connection lost");
                    } else {
                        tracing::debug!(cloud = %name, error = %e, "cloud connection failed");
                    }
                    self.state.send_modify(|s| s.up = false);
                    self.eventloop.clean();
                    self.eventloop.pending.clear();
                    // rumqttc would retry at once: wait, doubling up to a cap, with jitter so
                    // many hubs do not reconnect in step.
                    let jitter =
                        Duration::from_millis(fastrand::u64(0..=backoff.as_millis() as u64 / 4));
                    if self.pause(backoff + jitter).await {
                        break;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        self.state.send_modify(|s| s.up = false);
    }

    /// Sleep unless shutdown comes first; true when shutting down.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = crate::shutdown::wait(&mut self.shutdown) => true,
        }
    }
}

/// The transport for a cloud: TLS from its PEM files, or plain TCP to loopback only (the
/// config refuses plaintext elsewhere; checked again here so no path skips it).
fn transport(cfg: &CloudConfig) -> Result<Transport, String> {
    let Some(tls) = &cfg.tls else {
        if super::config::is_loopback(&cfg.host) {
            return Ok(Transport::Tcp);
        }
        return Err(format!(
            "cloud {}: plaintext refused to {}; configure tls",
            cfg.name, cfg.host
        ));
    };
    let read = |what: &str, p: &std::path::Path| {
        std::fs::read(p).map_err(|e| {
            format!(
                "cloud {}: cannot read tls.{what} {}: {e}; fix the path or its permissions",
                cfg.name,
                p.display()
            )
        })
    };
    Ok(Transport::Tls(TlsConfiguration::Simple {
        ca: read("ca_file", &tls.ca_file)?,
        alpn: None,
        client_auth: Some((
            read("client_cert", &tls.client_cert)?,
            read("client_key", &tls.client_key)?,
        )),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::UnixMillis;
    use hearth_policy::{Format, Now, Policy, PolicyConfig};
    use rumqttc::Request;

    #[test]
    fn publish_refuses_while_down_and_prefixes_the_topic_while_up() {
        let (client, mut eventloop) = AsyncClient::new(MqttOptions::new("t", "127.0.0.1", 1), 4);
        let (state_tx, state) = watch::channel(LinkState::default());
        let (_in_tx, inbound) = mpsc::channel(1);
        let link = CloudLink {
            client,
            cloud: "c".into(),
            prefix: "house/one".into(),
            state,
            inbound,
            dropped: Arc::default(),
        };
        let mut policy = Policy::new("c", Format::Json, &PolicyConfig::default()).unwrap();
        let mut other = Policy::new("d", Format::Json, &PolicyConfig::default()).unwrap();
        let now = Now {
            wall: UnixMillis(0),
            mono: std::time::Instant::now(),
            utc_offset_minutes: 0,
        };
        assert_eq!(
            link.publish(policy.capability(now).0.unwrap()),
            Err(NotSent::Offline)
        );
        eventloop.clean();
        assert!(eventloop.pending.is_empty(), "a refused message was queued");

        state_tx.send_replace(LinkState {
            up: true,
            session: 1,
        });
        assert_eq!(
            link.publish(other.capability(now).0.unwrap()),
            Err(NotSent::WrongCloud),
            "a message made for cloud d was handed to cloud c's link"
        );
        link.publish(policy.capability(now).0.unwrap()).unwrap();
        eventloop.clean();
        assert_eq!(eventloop.pending.len(), 1);
        match &eventloop.pending[0] {
            Request::Publish(p) => assert_eq!(p.topic, "house/one/discovery"),
            other => panic!("unexpected request {other:?}"),
        }
    }

    #[test]
    fn plaintext_is_refused_to_a_remote_host_even_past_validation() {
        let cfg: CloudConfig = toml::from_str(
            "name = \"c\"\nformat = \"json\"\nhost = \"example.com\"\nclient_id = \"x\"\ntopic_prefix = \"p\"\n",
        )
        .unwrap();
        let Err(e) = transport(&cfg) else {
            panic!("plaintext to example.com was allowed");
        };
        assert!(e.contains("plaintext refused"), "{e}");
        let local = CloudConfig {
            host: "127.0.0.1".into(),
            ..cfg
        };
        assert!(matches!(transport(&local), Ok(Transport::Tcp)));
    }
}
