//! The local MQTT interface task: the daemon's control surface on the house's broker.
//!
//! [`prepare`] checks everything that can fail before any task starts (options, password
//! file, TLS files, unlock keys); [`Prepared::spawn`] starts four small tasks:
//! - the link (`crate::link::run`, shared with the clouds): polls rumqttc with the capped,
//!   jittered backoff, reports the link state, hands messages to the intake;
//! - `publish::run_retained`: availability, state and discovery, current values only;
//! - `replies::run_replies`: replies, in order;
//! - the intake (here): classifies each incoming message and hands it to `commands`,
//!   `requests` or `sim`.
//!
//! The wire format (topics, parsing, replies, signatures) is hearth-api's; this module only
//! moves messages. It never drives hardware: commands go to the house task, which alone
//! decides, and sim actions go to the simulator only.

mod answers;
mod commands;
mod options;
mod publish;
mod refusals;
mod replies;
mod requests;
mod sim;

pub use options::SetupError;

pub(crate) use crate::link::LinkState;
pub(crate) use options::tls_config;

use crate::clock::Clock;
use crate::config::Config;
use crate::house::CommandRequest;
use crate::link::{self, Client, EventLoop, Message, Subscription};
use crate::policy_requests::PolicyRequest;
use hearth_api::{CommandGuard, DiscoveryOptions, Incoming, MqttConfig, Topics};
use hearth_hardware::{Backend, SimHandle};
use hearth_history::HistoryHandle;
use hearth_model::{HouseState, UnixMillis};
use publish::Publisher;
use replies::{Replies, ReplySource, queue_reply};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Error codes of this interface beyond hearth-api's parse codes. Stable, like those.
pub(crate) mod codes {
    /// The daemon is stopping; the command was not carried out.
    pub const SHUTTING_DOWN: &str = "shutting_down";
    /// No answer in time from the controllers or the policy supervisor.
    pub const TIMEOUT: &str = "timeout";
    /// Audit and policy requests with no policy supervisor (no clouds configured).
    pub const POLICY_UNAVAILABLE: &str = "policy_unavailable";
    /// The history database cannot be read.
    pub const HISTORY_UNAVAILABLE: &str = "history_unavailable";
    /// The answer is larger than the reply queue may hold: ask for fewer rows.
    pub const ANSWER_TOO_LARGE: &str = "answer_too_large";
}

/// Incoming messages waiting for the intake. Each keeps at most
/// `link::KEEP_PAYLOAD_BYTES` of payload, so the queue holds at most about 1 MiB.
const INCOMING_QUEUE: usize = 64;
/// Overwrites of hearth's retained topics waiting for the retained publisher; when full,
/// everything is published again instead.
const OVERWRITE_QUEUE: usize = 16;

/// The running parts of the daemon the MQTT task talks to.
pub(crate) struct MqttIo {
    pub state: watch::Receiver<HouseState>,
    pub commands: mpsc::Sender<CommandRequest>,
    /// The simulator, when the backend is the simulator (sim control also needs
    /// `mqtt.sim_control`).
    pub sim: Option<SimHandle>,
    pub history: HistoryHandle,
    /// Where audit and policy requests go; `None` when no clouds are configured.
    pub policy: Option<mpsc::Sender<PolicyRequest>>,
    pub clock: Clock,
    /// Tripped when the interface's task ends (the daemon's supervisor).
    pub tripwire: crate::tripwire::Tripwire,
}

/// A checked setup, ready to start.
pub struct Prepared {
    cfg: MqttConfig,
    topics: Topics,
    client: Client,
    eventloop: EventLoop,
    secrets: hearth_api::Secrets,
    discovery: Option<DiscoveryOptions>,
    sim_allowed: bool,
    history_path: std::path::PathBuf,
}

/// Check the `[mqtt]` section's files and build the client. `Ok(None)` when there is no
/// `[mqtt]` section. Nothing connects yet.
pub fn prepare(cfg: &Config) -> Result<Option<Prepared>, SetupError> {
    prepare_unlocated(cfg).map_err(|e| e.located(cfg))
}

fn prepare_unlocated(cfg: &Config) -> Result<Option<Prepared>, SetupError> {
    let Some(mqtt) = &cfg.mqtt else {
        return Ok(None);
    };
    let topics = Topics::from_config(mqtt);
    let (client, eventloop) = link::connect(&options::link_options(mqtt, &topics)?);
    let secrets = match &mqtt.secrets_file {
        Some(path) => hearth_api::load_secrets(path).map_err(SetupError::Secrets)?,
        None => hearth_api::Secrets::empty(),
    };
    let simulated = cfg.hardware.backend == Backend::Simulator;
    if mqtt.sim_control && !simulated {
        tracing::info!("mqtt.sim_control is ignored: the hardware is real, not the simulator");
    }
    let discovery = mqtt.discovery.enabled.then(|| DiscoveryOptions {
        min_temp: cfg.thermostat.heat_setpoint_min,
        max_temp: cfg.thermostat.cool_setpoint_max,
        humidity: measures_humidity(&cfg.hardware),
        sw_version: env!("CARGO_PKG_VERSION").to_owned(),
        unlock_code: secrets.codes().contains_key(hearth_api::HA_CLIENT),
    });
    if !secrets.codes().is_empty() && mqtt.tls.is_none() {
        tracing::warn!(
            "unlock codes are configured but mqtt.tls is not: the codes cross the local \
             network in clear text; use a TLS listener on the broker"
        );
    }
    Ok(Some(Prepared {
        cfg: mqtt.clone(),
        topics,
        client,
        eventloop,
        secrets,
        discovery,
        sim_allowed: mqtt.sim_control && simulated,
        history_path: cfg.history.path.clone(),
    }))
}

fn measures_humidity(hw: &hearth_hardware::HardwareConfig) -> bool {
    match hw.backend {
        Backend::Simulator => true,
        Backend::RaspberryPi => matches!(hw.sensor, Some(hearth_hardware::SensorConfig::Sht3x(_))),
    }
}

/// The running MQTT interface.
pub(crate) struct MqttTask {
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
    link: watch::Receiver<LinkState>,
}

impl Prepared {
    /// Start the tasks. Must be called inside the tokio runtime.
    pub(crate) fn spawn(self, io: MqttIo) -> MqttTask {
        let Prepared {
            cfg,
            topics,
            client,
            eventloop,
            secrets,
            discovery,
            sim_allowed,
            history_path,
        } = self;
        let (link_tx, link_rx) = watch::channel(LinkState::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let (tasks_stop_tx, tasks_stop) = watch::channel(false);
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        let (replies_tx, replies_rx) = replies::reply_queue(replies::REPLY_QUEUE);
        let (overwrites_tx, overwrites_rx) = mpsc::channel(OVERWRITE_QUEUE);
        let reassert_all = Arc::new(Notify::new());
        let publisher = Publisher::new(client, link_rx.clone());
        let rediscover = Arc::new(Notify::new());
        let sim = if sim_allowed { io.sim } else { None };
        let own_topics = own_retained_topics(&topics);
        let mut subscriptions: Vec<Subscription> = topics
            .subscriptions(sim.is_some(), discovery.is_some())
            .into_iter()
            .map(|filter| Subscription { filter, own: false })
            .collect();
        subscriptions.extend(own_topics.iter().map(|t| Subscription {
            filter: t.clone(),
            own: true,
        }));

        let availability = topics.availability().to_owned();

        let (conn_stop_tx, conn_stop) = watch::channel(false);
        let conn = tokio::spawn(link::run(
            options::link(&cfg, publisher.client(), eventloop, incoming_tx),
            link_tx,
            conn_stop,
        ));
        let retained = tokio::spawn(publish::run_retained(
            publish::Retained {
                publisher: publisher.clone(),
                topics: topics.clone(),
                subscriptions,
                discovery,
                state: io.state.clone(),
                rediscover: rediscover.clone(),
                overwrites: overwrites_rx,
                reassert_all: reassert_all.clone(),
                migrated_marker: crate::persist::state_dir(&history_path)
                    .join("ha-discovery-migrated"),
            },
            tasks_stop,
        ));
        let replies = tokio::spawn(replies::run_replies(publisher.clone(), replies_rx));
        let (events_tx, events_rx) = mpsc::channel(publish::EVENT_QUEUE);
        let events = tokio::spawn(publish::run_events(publisher.clone(), events_rx));

        let lockouts_path = crate::persist::lockouts_path(&history_path);
        let mut guard = CommandGuard::new(secrets, io.clock.started_at(), cfg.command_max_age);
        match crate::persist::load_lockouts(&lockouts_path) {
            Ok(table) => guard.codes().restore(table),
            Err(e) => tracing::warn!("unlock-code lockouts not restored: {e}"),
        }
        let refusals =
            refusals::Refusals::new(topics.refusal_event(), events_tx, Some(io.history.clone()));
        let intake = Intake {
            guard,
            refusals,
            lockouts_path,
            requests: requests::Requests {
                topics: topics.clone(),
                state: io.state,
                history_status: io.history.status(),
                history_handle: io.history.clone(),
                link: link_rx.clone(),
                broker: (cfg.host.clone(), cfg.port),
                history: requests::HistoryReader::new(io.history.reader()),
                policy: io.policy,
                clock: io.clock,
                in_flight: requests::Requests::new_in_flight(),
            },
            topics,
            house: io.commands,
            replies: replies_tx,
            sim,
            rediscover,
            own_topics,
            overwrites: overwrites_tx,
            reassert_all,
            replays_retained: publisher.sees_own_publishes(),
        };
        let name = crate::daemon::ESSENTIAL_TASKS[3];
        let join = tokio::spawn(io.tripwire.arm(name, async move {
            intake.run(incoming_rx, stop_rx).await;
            // Stop order: the retained publisher first (so it cannot publish `online` or
            // state after `offline`), then `offline`, then DISCONNECT (sent by the link).
            let _ = tasks_stop_tx.send(true);
            let _ = retained.await;
            replies.abort();
            events.abort();
            if publisher.connected() {
                publisher
                    .publish(
                        // The last will's topic and payload: a clean stop reads like a dead one.
                        &availability,
                        hearth_api::AVAILABILITY_OFFLINE.as_bytes().to_vec(),
                        true,
                    )
                    .await;
            }
            let _ = conn_stop_tx.send(true);
            let _ = conn.await;
            tracing::info!("local MQTT stopped");
        }));
        MqttTask {
            stop: stop_tx,
            join,
            link: link_rx,
        }
    }
}

impl MqttTask {
    /// Whether the broker is connected now, and connection counters.
    pub fn link(&self) -> LinkState {
        self.link.borrow().clone()
    }

    /// Abort the interface's task, as if it had died (supervision drills).
    #[doc(hidden)]
    pub fn abort_for_drill(&self) {
        self.join.abort();
    }

    /// The link state as it changes (for the web page).
    pub fn link_watch(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }

    /// Stop taking messages, publish `offline` (retained) and disconnect cleanly. The caller
    /// bounds the time (`daemon.shutdown_timeout`).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.join.await {
            tracing::error!("the local MQTT task failed: {e}");
        }
    }
}

/// hearth's own retained topics, watched for other clients' writes.
fn own_retained_topics(topics: &Topics) -> Vec<String> {
    vec![
        topics.availability().to_owned(),
        topics.thermostat_state().to_owned(),
        topics.lock_state().to_owned(),
        topics.faults_state().to_owned(),
        hearth_api::device_config_topic(topics),
    ]
}

/// The intake: one incoming message at a time, in arrival order.
struct Intake {
    topics: Topics,
    guard: CommandGuard,
    refusals: refusals::Refusals,
    /// Where the unlock-code lockouts are kept across restarts.
    lockouts_path: std::path::PathBuf,
    house: mpsc::Sender<CommandRequest>,
    replies: Replies,
    requests: requests::Requests,
    sim: Option<SimHandle>,
    rediscover: Arc<Notify>,
    own_topics: Vec<String>,
    overwrites: mpsc::Sender<Message>,
    reassert_all: Arc<Notify>,
    /// MQTT 3.1.1: a message with the retain flag is a stored one replayed on subscribe
    /// (live deliveries never carry it there).
    replays_retained: bool,
}

impl Intake {
    async fn run(mut self, mut incoming: mpsc::Receiver<Message>, mut stop: oneshot::Receiver<()>) {
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return,
                message = incoming.recv() => match message {
                    Some(p) => self.dispatch(&p),
                    None => return,
                },
            }
        }
    }

    fn dispatch(&mut self, p: &Message) {
        // The time of arrival, on the wall clock signed commands are made with.
        let now = UnixMillis::now();
        if self.own_topics.contains(&p.topic) {
            self.watch_own(p);
            return;
        }
        let incoming = self.topics.classify(&p.topic);
        let default_reply = match &incoming {
            Incoming::Command(target) => Some((
                ReplySource::from(*target),
                self.topics.command_response(*target).to_owned(),
            )),
            Incoming::Request(op) => {
                Some((ReplySource::Request, self.topics.response(op.as_str())))
            }
            Incoming::UnknownRequest(op) => Some((ReplySource::Request, self.topics.response(op))),
            Incoming::SimControl if self.sim.is_some() => Some((
                ReplySource::Sim,
                self.topics.sim_control_response().to_owned(),
            )),
            _ => None,
        };
        if let Some((source, default)) = &default_reply {
            // Too large to have been kept: refused by size alone.
            if p.oversized() {
                tracing::info!(topic = %p.topic, bytes = p.size, "refused an oversized message");
                let rejected = hearth_api::refuse_oversized(p.size);
                queue_reply(
                    &self.replies,
                    *source,
                    default.clone(),
                    rejected.reply_json(),
                );
                return;
            }
            // A retained command would run again at every reconnect and for every new
            // subscriber: refused with a reply, live (MQTT 5 Retain As Published) or stored.
            if p.retain {
                tracing::info!(topic = %p.topic, "refused a retained command or request");
                let rejected = hearth_api::refuse_retained(&p.payload, &self.topics);
                queue_reply(
                    &self.replies,
                    *source,
                    rejected.reply_topic(default).to_owned(),
                    rejected.reply_json(),
                );
                return;
            }
        }
        match incoming {
            Incoming::Command(target) => {
                commands::handle(
                    target,
                    &p.payload,
                    &self.topics,
                    &mut self.guard,
                    &self.house,
                    &self.replies,
                    &self.refusals,
                    now,
                );
                if let Some(table) = self.guard.codes().take_changed()
                    && let Err(e) = crate::persist::save_lockouts(&self.lockouts_path, &table)
                {
                    tracing::warn!(
                        "cannot save the unlock-code lockouts to {}: {e}",
                        self.lockouts_path.display()
                    );
                }
            }
            Incoming::Request(op) => self.requests.handle(op, &p.payload, &self.replies, now),
            Incoming::UnknownRequest(op) => {
                let rejected = hearth_api::unknown_request(&op, &p.payload, &self.topics);
                let default = self.topics.response(&op);
                queue_reply(
                    &self.replies,
                    ReplySource::Request,
                    rejected.reply_topic(&default),
                    rejected.reply_json(),
                );
            }
            Incoming::SimControl => self.sim_control(&p.payload),
            Incoming::HomeAssistantStatus => {
                // A retained `online` is an old birth message, not Home Assistant starting.
                if p.payload.as_slice() == b"online" && !p.retain {
                    tracing::info!("Home Assistant came online; publishing discovery again");
                    self.rediscover.notify_one();
                }
            }
            Incoming::Other => {}
        }
    }

    /// A message on one of hearth's retained topics: the retained publisher checks it.
    fn watch_own(&self, p: &Message) {
        if p.retain && self.replays_retained {
            return; // a stored value replayed on subscribe; hearth publishes over it anyway
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.overwrites.try_send(p.clone()) {
            self.reassert_all.notify_one();
        }
    }

    fn sim_control(&self, payload: &[u8]) {
        // Only subscribed with the simulator and mqtt.sim_control; never reaches real hardware.
        let Some(sim) = &self.sim else {
            return;
        };
        let default = self.topics.sim_control_response();
        let control = match hearth_api::parse_sim_control(payload, &self.topics) {
            Ok(control) => control,
            Err(rejected) => {
                queue_reply(
                    &self.replies,
                    ReplySource::Sim,
                    rejected.reply_topic(default),
                    rejected.reply_json(),
                );
                return;
            }
        };
        let topic = control.reply_topic(&self.topics).to_owned();
        let reply = match sim::parse_body(&control.body) {
            Ok(action) => {
                tracing::info!(?action, "simulator control");
                sim.apply(action);
                hearth_api::reply_ok(control.id.as_ref())
            }
            Err(e) => hearth_api::reply_api_error(control.id.as_ref(), &e),
        };
        queue_reply(&self.replies, ReplySource::Sim, topic, reply);
    }
}
