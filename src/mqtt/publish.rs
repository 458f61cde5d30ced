//! Everything hearth publishes on the local broker: the retained availability, thermostat,
//! lock and faults state and Home Assistant discovery (all published again on every new
//! connection), and the replies to commands and requests (and refusal events, queued like
//! replies).
//!
//! Nothing is queued while the broker is away: a publish is only handed to rumqttc while the
//! link is up, and after a reconnect the CURRENT state is published, never a backlog of old
//! ones. hearth's retained topics are also watched: when another client overwrites one, the
//! current value is published again at once. The reply queue is bounded in bytes.

use super::replies::Reply;
use crate::link::{Client, LinkState, Message, Subscription};
use hearth_api::{AVAILABILITY_ONLINE, DiscoveryOptions, Topics};
use hearth_model::HouseState;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// How long one publish may wait for room in rumqttc's request queue before it is dropped.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);
/// Room for a PUBLISH's fixed header, topic length, packet id and properties.
const PUBLISH_OVERHEAD: usize = 64;

/// The largest payload a broker with packet limit `max` (from its CONNACK; `None`: none
/// announced) takes on `topic`.
pub fn broker_room(topic: &str, max: Option<u32>) -> usize {
    max.map_or(usize::MAX, |m| {
        (m as usize).saturating_sub(topic.len() + PUBLISH_OVERHEAD)
    })
}

/// Hands publishes to rumqttc only while the broker is connected.
#[derive(Clone)]
pub struct Publisher {
    client: Client,
    link: watch::Receiver<LinkState>,
}

impl Publisher {
    pub fn new(client: Client, link: watch::Receiver<LinkState>) -> Self {
        Self { client, link }
    }

    /// Whether hearth's own publishes come back to it (MQTT 3.1.1 has no No Local).
    pub fn sees_own_publishes(&self) -> bool {
        self.client.is_v311()
    }

    /// The client this publisher hands messages to.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn connected(&self) -> bool {
        self.link.borrow().connected
    }

    /// Publish at QoS 1. Returns false when it was not handed over (disconnected, or the
    /// queue stayed full): the caller publishes the current value again after the next
    /// connect, so nothing stale is kept for later.
    pub async fn publish(&self, topic: &str, payload: Vec<u8>, retain: bool) -> bool {
        let max = {
            let link = self.link.borrow();
            if !link.connected {
                return false;
            }
            link.max_packet
        };
        // A packet larger than the broker takes would be a connection error in rumqttc.
        if payload.len() > broker_room(topic, max) {
            tracing::warn!(
                topic,
                bytes = payload.len(),
                broker_max = max.unwrap_or_default(),
                "publish dropped: larger than the broker accepts"
            );
            return false;
        }
        let send = self.client.publish(topic, payload, retain);
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

    pub async fn subscribe(&self, subs: &[Subscription]) -> bool {
        match tokio::time::timeout(PUBLISH_WAIT, self.client.subscribe(subs)).await {
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

/// What the retained publisher needs.
pub struct Retained {
    pub publisher: Publisher,
    pub topics: Topics,
    /// Topic filters to subscribe to on every new connection (clean sessions forget them).
    pub subscriptions: Vec<Subscription>,
    /// `None` when discovery is switched off: the configs are then cleared on connect.
    pub discovery: Option<DiscoveryOptions>,
    pub state: watch::Receiver<HouseState>,
    /// Fired when Home Assistant comes online and wants the discovery configs again.
    pub rediscover: Arc<Notify>,
    /// Messages other clients published on hearth's own retained topics.
    pub overwrites: mpsc::Receiver<Message>,
    /// Fired when overwrites came faster than they could be queued: publish everything.
    pub reassert_all: Arc<Notify>,
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
    // On stop, one more pass publishes the final state (outputs off) before returning, so
    // the retained state never outlives the process with `heating` or `moving` in it.
    let mut stopping = false;
    let mut echoes = Echoes::default();
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
            echoes = Echoes::default();
            r.publisher.subscribe(&r.subscriptions).await;
            publish_own(
                &r,
                &mut echoes,
                r.topics.availability(),
                AVAILABILITY_ONLINE.as_bytes().to_vec(),
            )
            .await;
            if !legacy_cleared {
                legacy_cleared = migrate_legacy_discovery(&r, &mut echoes).await;
                if legacy_cleared && let Err(e) = std::fs::write(&r.migrated_marker, b"") {
                    tracing::debug!("cannot write {}: {e}", r.migrated_marker.display());
                }
            } else {
                publish_discovery(&r, &mut echoes).await;
            }
        }
        if connected {
            let state = r.state.borrow_and_update().clone();
            let thermostat = hearth_api::thermostat_state_json(&state.thermostat);
            if last_thermostat.as_ref() != Some(&thermostat)
                && publish_own(
                    &r,
                    &mut echoes,
                    r.topics.thermostat_state(),
                    thermostat.clone(),
                )
                .await
            {
                last_thermostat = Some(thermostat);
            }
            let lock = hearth_api::lock_state_json(&state.lock);
            if last_lock.as_ref() != Some(&lock)
                && publish_own(&r, &mut echoes, r.topics.lock_state(), lock.clone()).await
            {
                last_lock = Some(lock);
            }
            let faults = hearth_api::faults_json(&state);
            if last_faults.as_ref() != Some(&faults)
                && publish_own(&r, &mut echoes, r.topics.faults_state(), faults.clone()).await
            {
                last_faults = Some(faults);
            }
        }
        if stopping {
            return;
        }
        tokio::select! {
            biased;
            _ = crate::shutdown::wait(&mut stop) => stopping = true,
            changed = link.changed() => if changed.is_err() { return },
            changed = r.state.changed(), if connected => if changed.is_err() { stopping = true },
            _ = r.rediscover.notified(), if connected => publish_discovery(&r, &mut echoes).await,
            Some(m) = r.overwrites.recv() => {
                if connected {
                    reassert(&r, &mut echoes, m).await;
                }
            }
            _ = r.reassert_all.notified(), if connected => {
                tracing::warn!("many writes to hearth's retained topics by other clients; publishing them all again");
                session = 0; // republish availability, discovery and state now
                last_thermostat = None;
                last_lock = None;
                last_faults = None;
            }
        }
    }
}

/// What hearth last published on its own retained topics and still expects to see come back
/// (MQTT 3.1.1 only: MQTT 5's No Local keeps hearth's publishes from returning).
#[derive(Default)]
struct Echoes {
    pending: HashMap<String, VecDeque<Vec<u8>>>,
}

/// Echoes remembered per topic at most; older ones are forgotten.
const ECHOES_PER_TOPIC: usize = 16;

impl Echoes {
    fn expect(&mut self, topic: &str, payload: &[u8]) {
        let q = self.pending.entry(topic.to_owned()).or_default();
        if q.len() == ECHOES_PER_TOPIC {
            q.pop_front();
        }
        q.push_back(payload.to_vec());
    }

    /// Whether `payload` is one of hearth's own publishes coming back (consumed if so).
    fn take(&mut self, topic: &str, payload: &[u8]) -> bool {
        let Some(q) = self.pending.get_mut(topic) else {
            return false;
        };
        match q.iter().position(|p| p == payload) {
            Some(i) => {
                q.drain(..=i);
                true
            }
            None => false,
        }
    }
}

/// Publish one of hearth's own retained topics, remembering the echo on MQTT 3.1.1.
async fn publish_own(r: &Retained, echoes: &mut Echoes, topic: &str, payload: Vec<u8>) -> bool {
    if r.publisher.sees_own_publishes() {
        echoes.expect(topic, &payload);
    }
    r.publisher.publish(topic, payload, true).await
}

/// What hearth's retained `topic` should hold now, or `None` when it is not hearth's.
fn desired(r: &Retained, topic: &str) -> Option<Vec<u8>> {
    if topic == r.topics.availability() {
        return Some(AVAILABILITY_ONLINE.as_bytes().to_vec());
    }
    let state = r.state.borrow().clone();
    if topic == r.topics.thermostat_state() {
        return Some(hearth_api::thermostat_state_json(&state.thermostat));
    }
    if topic == r.topics.lock_state() {
        return Some(hearth_api::lock_state_json(&state.lock));
    }
    if topic == r.topics.faults_state() {
        return Some(hearth_api::faults_json(&state));
    }
    (topic == hearth_api::device_config_topic(&r.topics)).then(|| discovery_payload(r))
}

/// A message on one of hearth's retained topics: if it is not what hearth published,
/// another client wrote it (spoofed state, a fake `offline`): publish the real value again.
async fn reassert(r: &Retained, echoes: &mut Echoes, m: Message) {
    let Some(want) = desired(r, &m.topic) else {
        return;
    };
    if m.payload == want && !m.oversized() {
        echoes.take(&m.topic, &m.payload);
        return;
    }
    if !m.oversized() && echoes.take(&m.topic, &m.payload) {
        return; // an earlier value of hearth's own, overtaken by a later publish
    }
    tracing::warn!(
        topic = %m.topic,
        payload = %String::from_utf8_lossy(&m.payload[..m.payload.len().min(200)]),
        bytes = m.size,
        "another client overwrote one of hearth's retained topics (MQTT does not say which \
         client; the broker's log does); publishing the real value again"
    );
    publish_own(r, echoes, &m.topic, want).await;
}

/// Publish the device discovery config (retained), or clear it when discovery is off.
async fn publish_discovery(r: &Retained, echoes: &mut Echoes) {
    let topic = hearth_api::device_config_topic(&r.topics);
    publish_own(r, echoes, &topic, discovery_payload(r)).await;
}

/// The retained device discovery config: empty (cleared) when discovery is off.
fn discovery_payload(r: &Retained) -> Vec<u8> {
    match &r.discovery {
        Some(opts) => serde_json::to_vec(&hearth_api::device_discovery(&r.topics, opts))
            .expect("JSON values serialize"),
        None => Vec::new(),
    }
}

/// Home Assistant's migration from per-entity to device discovery, which keeps entity ids
/// and history: `migrate_discovery` on each old topic, then the device config, then the old
/// topics cleared. Once (a marker file beside the history database remembers it; a repeat
/// would only make Home Assistant log "conflicting discovery" warnings). Returns whether
/// every message was handed over.
async fn migrate_legacy_discovery(r: &Retained, echoes: &mut Echoes) -> bool {
    let legacy = hearth_api::legacy_config_topics(&r.topics);
    let mut all = true;
    if r.discovery.is_some() {
        let migrate = serde_json::to_vec(&hearth_api::migrate_payload()).expect("JSON");
        for topic in &legacy {
            all &= r.publisher.publish(topic, migrate.clone(), true).await;
        }
    }
    publish_discovery(r, echoes).await;
    for topic in &legacy {
        all &= r.publisher.publish(topic, Vec::new(), true).await;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_recognised_once_and_in_order() {
        let mut e = Echoes::default();
        e.expect("t", b"a");
        e.expect("t", b"b");
        assert!(!e.take("t", b"spoof"), "never published by hearth");
        assert!(e.take("t", b"a"));
        assert!(!e.take("t", b"a"), "each echo is taken once");
        assert!(e.take("t", b"b"));
        assert!(!e.take("other", b"b"));
        for i in 0..ECHOES_PER_TOPIC + 4 {
            e.expect("t", format!("{i}").as_bytes());
        }
        assert!(!e.take("t", b"0"), "the oldest are forgotten");
        assert!(e.take("t", format!("{}", ECHOES_PER_TOPIC + 3).as_bytes()));
    }
}
