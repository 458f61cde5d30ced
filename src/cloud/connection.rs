//! One MQTT connection to one cloud, on the shared link (`crate::link`: options, TLS,
//! jittered backoff, the driver task and its `LinkState`). What is the cloud's own: TLS with
//! a client certificate (plaintext only to loopback), the `protocol` key, no last will, the
//! `<prefix>/directive` subscription, and directives handed to the forwarder.
//!
//! The only way to publish is [`CloudLink::publish`], which takes an
//! [`hearth_policy::Outbound`] — the policy's sealed output — and nothing else; this module
//! never sees house state. It also never queues while the cloud is down: `publish` refuses
//! when the link is not up, and the link throws away whatever rumqttc still holds before
//! every connection attempt, because rumqttc would otherwise send it after reconnecting and
//! stale state would leave the house late.

use super::config::CloudConfig;
use crate::link::{
    self, Backoff, Client, Limits, Link, LinkOptions, Message, Peer, Session, Subscription,
};
use hearth_policy::Outbound;
use rumqttc::Transport;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub use crate::link::LinkState;

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Directives waiting for the forwarder; a cloud flooding hearth gets the excess dropped.
const INBOUND_CAP: usize = 16;
/// The largest packet a cloud may send hearth: a directive is a small JSON object, and this
/// keeps every delivered payload whole (`link::KEEP_PAYLOAD_BYTES`). On MQTT 5 the broker
/// drops larger ones; on 3.1.1 a larger one is a connection error (and a reconnect).
const MAX_INCOMING: usize = link::KEEP_PAYLOAD_BYTES;
/// The largest packet hearth sends a cloud on MQTT 3.1.1 (policy messages are far smaller).
const MAX_OUTGOING: usize = 64 * 1024;
/// What to do about a client-id takeover at a cloud, for the logs.
const TAKEOVER_ADVICE: &str = "hearth reconnects, but two clients with one id knock each other \
     off: give each hub its own client_id, as the cloud registered it";

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
    client: Client,
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
        let (topic, payload) = self.addressed(message)?;
        self.client
            .try_publish(topic, payload, false)
            .map_err(|_| NotSent::Busy)
    }

    /// Like [`CloudLink::publish`], but waits for room in the connection's request queue
    /// instead of refusing when it is full. Still refuses at once while the cloud is offline,
    /// so nothing is ever queued for a cloud that is down. The benchmark uses this to measure
    /// the forwarding path's throughput; the forwarder itself never waits.
    #[cfg(feature = "bench")]
    pub async fn publish_when_ready(&self, message: Outbound) -> Result<(), NotSent> {
        let (topic, payload) = self.addressed(message)?;
        self.client
            .publish(&topic, payload, false)
            .await
            .map_err(|_| NotSent::Offline)
    }

    /// The topic and bytes of a message for this cloud, if it is this cloud's and the link
    /// is up.
    fn addressed(&self, message: Outbound) -> Result<(String, Vec<u8>), NotSent> {
        if message.cloud() != self.cloud {
            return Err(NotSent::WrongCloud);
        }
        if !self.state.borrow().connected {
            return Err(NotSent::Offline);
        }
        let topic = format!("{}/{}", self.prefix, message.topic_suffix());
        Ok((topic, message.into_bytes()))
    }
}

/// A link to no broker, for tests of the forwarder: the caller drives the state and reads what
/// was handed to rumqttc from the returned event loop.
#[cfg(test)]
pub(crate) fn test_link(
    cloud: &str,
) -> (
    CloudLink,
    rumqttc::EventLoop,
    watch::Sender<LinkState>,
    mpsc::Sender<Directive>,
) {
    let (client, eventloop) =
        rumqttc::AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 8);
    let (state_tx, state) = watch::channel(LinkState::default());
    let (in_tx, inbound) = mpsc::channel(4);
    let link = CloudLink {
        client: Client::V311(client),
        cloud: cloud.to_owned(),
        prefix: "p".into(),
        state,
        inbound,
        dropped: Arc::default(),
    };
    (link, eventloop, state_tx, in_tx)
}

/// The topic a cloud sends directives and state requests on.
pub fn directive_topic(prefix: &str) -> String {
    format!("{prefix}/directive")
}

/// Start the connection task; it runs until `shutdown` flips. Fails when the cloud's TLS
/// files cannot be used (or plaintext would leave the machine), naming the key.
pub fn spawn(
    cfg: &CloudConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(CloudLink, tokio::task::JoinHandle<()>), String> {
    let (client, eventloop) = link::connect(&link_options(cfg)?);
    let (state_tx, state_rx) = watch::channel(LinkState::default());
    let (in_tx, in_rx) = mpsc::channel(INBOUND_CAP);
    let dropped = Arc::new(AtomicU64::new(0));
    let session = Directives {
        cloud: cfg.name.clone(),
        topic: directive_topic(&cfg.topic_prefix),
        inbound: in_tx,
        dropped: dropped.clone(),
    };
    let driver = Link {
        client: client.clone(),
        eventloop,
        backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
        peer: Peer {
            name: format!("cloud {}", cfg.name),
            takeover_advice: TAKEOVER_ADVICE,
        },
        session,
    };
    let handle = tokio::spawn(link::run(driver, state_tx, shutdown));
    Ok((
        CloudLink {
            client,
            cloud: cfg.name.clone(),
            prefix: cfg.topic_prefix.clone(),
            state: state_rx,
            inbound: in_rx,
            dropped,
        },
        handle,
    ))
}

/// The link options for one cloud: its `protocol`, a clean session, no last will.
fn link_options(cfg: &CloudConfig) -> Result<LinkOptions, String> {
    Ok(LinkOptions {
        protocol: cfg.protocol,
        client_id: cfg.client_id.clone(),
        host: cfg.host.clone(),
        port: cfg.port,
        keep_alive: cfg.keep_alive,
        credentials: None,
        transport: transport(cfg)?,
        will: None,
        limits: Limits {
            incoming_v5: MAX_INCOMING as u32,
            incoming_v311: MAX_INCOMING,
            outgoing_v311: MAX_OUTGOING,
        },
    })
}

/// A cloud session: subscribe to `<prefix>/directive` on every connect; hand directives to
/// the forwarder without waiting (a flood is dropped and counted, never queued).
struct Directives {
    cloud: String,
    topic: String,
    inbound: mpsc::Sender<Directive>,
    dropped: Arc<AtomicU64>,
}

impl Session for Directives {
    fn connected(&mut self, client: &Client) {
        if let Err(e) = client.try_subscribe(&[Subscription::to(self.topic.clone())]) {
            tracing::warn!(cloud = %self.cloud, error = %e, "cannot subscribe to {}", self.topic);
        }
    }

    async fn message(&mut self, m: Message) {
        if m.topic != self.topic {
            return;
        }
        let directive = Directive {
            payload: m.payload,
            retained: m.retain,
        };
        if self.inbound.try_send(directive).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(cloud = %self.cloud, "directive dropped: the forwarder is behind");
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
    let config = tls_config(&cfg.name, tls)?;
    Ok(Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
    ))
}

/// The rustls config for cloud `name`'s TLS files, as the link uses it (`hearthd doctor`
/// checks with this too). The error names the key.
pub fn tls_config(
    name: &str,
    tls: &super::config::CloudTls,
) -> Result<rustls::ClientConfig, String> {
    link::tls::client_config(link::tls::TlsFiles {
        ca_file: &tls.ca_file,
        client_auth: Some((&tls.client_cert, &tls.client_key)),
    })
    .map_err(|e| {
        format!(
            "cloud {name}: tls.{}: {e}; fix the file or its permissions",
            e.key()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::UnixMillis;
    use hearth_policy::{Format, Now, Policy, PolicyConfig};
    use rumqttc::Request;

    #[test]
    fn publish_refuses_while_down_and_prefixes_the_topic_while_up() {
        let (mut link, mut eventloop, state_tx, _in_tx) = test_link("c");
        link.prefix = "house/one".into();
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
            connected: true,
            session: 1,
            ..LinkState::default()
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

    #[tokio::test]
    async fn the_protocol_key_picks_the_link_and_defaults_to_3_1_1() {
        let base = "name = \"c\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nclient_id = \"x\"\ntopic_prefix = \"p\"\n";
        let (stop_tx, stop) = watch::channel(false);
        for (extra, v311) in [
            ("", true),
            ("protocol = \"3.1.1\"\n", true),
            ("protocol = \"5\"\n", false),
        ] {
            let cfg: CloudConfig = toml::from_str(&format!("{base}{extra}")).unwrap();
            assert_eq!(
                cfg.protocol == hearth_api::MqttProtocol::V311,
                v311,
                "{extra:?}"
            );
            let (link, task) = spawn(&cfg, stop.clone()).unwrap();
            assert_eq!(link.client.is_v311(), v311, "{extra:?}");
            task.abort();
        }
        drop(stop_tx);
    }

    #[tokio::test]
    async fn unusable_tls_files_stop_the_start_and_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("ca.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let cfg: CloudConfig = toml::from_str(&format!(
            "name = \"c\"\nformat = \"json\"\nhost = \"cloud.example\"\nclient_id = \"x\"\n\
             topic_prefix = \"p\"\ntls = {{ ca_file = \"{0}\", client_cert = \"{0}\", client_key = \"{0}\" }}\n",
            garbage.display()
        ))
        .unwrap();
        let (_stop_tx, stop) = watch::channel(false);
        let Err(e) = spawn(&cfg, stop) else {
            panic!("a cloud with no usable CA certificate was started");
        };
        assert!(
            e.starts_with("cloud c: tls.ca_file: ") && e.contains("ca.pem"),
            "{e}"
        );
    }
}
