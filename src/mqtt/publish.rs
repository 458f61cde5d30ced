//! Everything hearth publishes on the local broker: the retained availability, thermostat,
//! lock and faults state and Home Assistant discovery (all published again on every new
//! connection), and the replies to commands and requests (and refusal events, queued like
//! replies).
//!
//! Nothing is queued while the broker is away: a publish is only handed to rumqttc while the
//! link is up, and after a reconnect the CURRENT state is published, never a backlog of old
//! ones. This file never interprets incoming messages.

use super::connection::LinkState;
use hearth_api::{AVAILABILITY_ONLINE, DiscoveryOptions, Topics};
use hearth_model::HouseState;
use rumqttc::{AsyncClient, QoS};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// How long one publish may wait for room in rumqttc's request queue before it is dropped.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);
/// Replies waiting to be published; when full, new replies are dropped (logged and counted
/// in `status`). A reply is about 100 bytes, so a full queue holds about 400 KiB.
pub const REPLY_QUEUE: usize = 4096;

/// Hands publishes to rumqttc only while the broker is connected.
#[derive(Clone)]
pub struct Publisher {
    client: AsyncClient,
    link: watch::Receiver<LinkState>,
}

impl Publisher {
    pub fn new(client: AsyncClient, link: watch::Receiver<LinkState>) -> Self {
        Self { client, link }
    }

    pub fn connected(&self) -> bool {
        self.link.borrow().connected
    }

    /// Publish at QoS 1. Returns false when it was not handed over (disconnected, or the
    /// queue stayed full): the caller publishes the current value again after the next
    /// connect, so nothing stale is kept for later.
    pub async fn publish(&self, topic: &str, payload: Vec<u8>, retain: bool) -> bool {
        if !self.connected() {
            return false;
        }
        let send = self
            .client
            .publish(topic, QoS::AtLeastOnce, retain, payload);
        match tokio::time::timeout(PUBLISH_WAIT, send).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(topic, "publish not queued: {e}");
                false
            }
            Err(_) => {
                tracing::warn!(topic, "publish dropped: the MQTT queue stayed full");
                false
            }
        }
    }

    pub async fn subscribe(&self, filters: &[String]) -> bool {
        let many = filters
            .iter()
            .map(|f| rumqttc::SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
        match tokio::time::timeout(PUBLISH_WAIT, self.client.subscribe_many(many)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!("cannot subscribe: {e}");
                false
            }
            Err(_) => {
                tracing::warn!("cannot subscribe: the MQTT queue stayed full");
                false
            }
        }
    }

    pub async fn disconnect(&self) {
        let _ = tokio::time::timeout(PUBLISH_WAIT, self.client.disconnect()).await;
    }
}

/// A reply on its way: topic and payload.
pub type Reply = (String, Vec<u8>);

/// Publish replies in the order they were queued.
pub async fn run_replies(publisher: Publisher, mut queue: mpsc::Receiver<Reply>) {
    while let Some((topic, payload)) = queue.recv().await {
        if !publisher.publish(&topic, payload, false).await {
            REPLIES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(topic, "reply dropped: the broker is not connected");
        }
    }
}

/// Refusal events waiting to be published (see `refusals.rs`); when full, new ones are
/// dropped.
pub const EVENT_QUEUE: usize = 256;

/// Publish refusal events (not retained) in order; unlike replies, a drop is not counted.
pub async fn run_events(publisher: Publisher, mut queue: mpsc::Receiver<Reply>) {
    while let Some((topic, payload)) = queue.recv().await {
        publisher.publish(&topic, payload, false).await;
    }
}

/// Queue a reply without waiting. A full queue drops it: the client times out and asks
/// again, which is better than stalling the command intake.
pub fn queue_reply(queue: &mpsc::Sender<Reply>, topic: impl Into<String>, payload: Vec<u8>) {
    let topic = topic.into();
    if let Err(e) = queue.try_send((topic, payload)) {
        REPLIES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(topic = %e.into_inner().0, "reply dropped: too many replies waiting");
    }
}

/// Replies dropped because the reply queue was full: the documented loss under a flood,
/// reported in `status` so a client can account for every command it sent.
static REPLIES_DROPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn replies_dropped() -> u64 {
    REPLIES_DROPPED.load(std::sync::atomic::Ordering::Relaxed)
}

/// What the retained publisher needs.
pub struct Retained {
    pub publisher: Publisher,
    pub topics: Topics,
    /// Topic filters to subscribe to on every new connection (clean sessions forget them).
    pub subscriptions: Vec<String>,
    /// `None` when discovery is switched off: the configs are then cleared on connect.
    pub discovery: Option<DiscoveryOptions>,
    pub state: watch::Receiver<HouseState>,
    /// Fired when Home Assistant comes online and wants the discovery configs again.
    pub rediscover: Arc<Notify>,
    /// Present once the per-entity configs of older versions have been handed over.
    pub migrated_marker: std::path::PathBuf,
}

/// Keep the broker's retained topics current: on every new session subscribe and publish
/// availability, discovery and state; afterwards publish each state topic when its JSON
/// changes. Ends on `stop`.
pub async fn run_retained(mut r: Retained, mut stop: watch::Receiver<bool>) {
    let mut link = r.publisher.link.clone();
    let mut session = 0;
    let mut last_thermostat: Option<Vec<u8>> = None;
    let mut last_lock: Option<Vec<u8>> = None;
    let mut last_faults: Option<Vec<u8>> = None;
    // The per-entity configs of older versions are handed over once (see below).
    let mut legacy_cleared = r.migrated_marker.exists();
    loop {
        let (connected, now_session) = {
            let l = link.borrow_and_update();
            (l.connected, l.session)
        };
        if connected && now_session != session {
            session = now_session;
            last_thermostat = None;
            last_lock = None;
            last_faults = None;
            r.publisher.subscribe(&r.subscriptions).await;
            r.publisher
                .publish(
                    r.topics.availability(),
                    AVAILABILITY_ONLINE.as_bytes().to_vec(),
                    true,
                )
                .await;
            if !legacy_cleared {
                legacy_cleared = migrate_legacy_discovery(&r).await;
                if legacy_cleared && let Err(e) = std::fs::write(&r.migrated_marker, b"") {
                    tracing::debug!("cannot write {}: {e}", r.migrated_marker.display());
                }
            } else {
                publish_discovery(&r).await;
            }
        }
        if connected {
            let state = r.state.borrow_and_update().clone();
            let thermostat = hearth_api::thermostat_state_json(&state.thermostat);
            if last_thermostat.as_ref() != Some(&thermostat)
                && r.publisher
                    .publish(r.topics.thermostat_state(), thermostat.clone(), true)
                    .await
            {
                last_thermostat = Some(thermostat);
            }
            let lock = hearth_api::lock_state_json(&state.lock);
            if last_lock.as_ref() != Some(&lock)
                && r.publisher
                    .publish(r.topics.lock_state(), lock.clone(), true)
                    .await
            {
                last_lock = Some(lock);
            }
            let faults = hearth_api::faults_json(&state);
            if last_faults.as_ref() != Some(&faults)
                && r.publisher
                    .publish(r.topics.faults_state(), faults.clone(), true)
                    .await
            {
                last_faults = Some(faults);
            }
        }
        tokio::select! {
            biased;
            _ = crate::shutdown::wait(&mut stop) => return,
            changed = link.changed() => if changed.is_err() { return },
            changed = r.state.changed(), if connected => if changed.is_err() { return },
            _ = r.rediscover.notified(), if connected => publish_discovery(&r).await,
        }
    }
}

/// Publish the device discovery config (retained), or clear it when discovery is off.
async fn publish_discovery(r: &Retained) {
    let payload = match &r.discovery {
        Some(opts) => serde_json::to_vec(&hearth_api::device_discovery(&r.topics, opts))
            .expect("JSON values serialize"),
        None => Vec::new(),
    };
    r.publisher
        .publish(&hearth_api::device_config_topic(&r.topics), payload, true)
        .await;
}

/// Home Assistant's migration from per-entity to device discovery, which keeps entity ids
/// and history: `migrate_discovery` on each old topic, then the device config, then the old
/// topics cleared. Once (a marker file beside the history database remembers it; a repeat
/// would only make Home Assistant log "conflicting discovery" warnings). Returns whether
/// every message was handed over.
async fn migrate_legacy_discovery(r: &Retained) -> bool {
    let legacy = hearth_api::legacy_config_topics(&r.topics);
    let mut all = true;
    if r.discovery.is_some() {
        let migrate = serde_json::to_vec(&hearth_api::migrate_payload()).expect("JSON");
        for topic in &legacy {
            all &= r.publisher.publish(topic, migrate.clone(), true).await;
        }
    }
    publish_discovery(r).await;
    for topic in &legacy {
        all &= r.publisher.publish(topic, Vec::new(), true).await;
    }
    all
}
