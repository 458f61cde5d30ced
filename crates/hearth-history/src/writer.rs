//! The history writer task and the `HistoryHandle` the rest of hearth records through.
//!
//! Handles never block. Readings go through a bounded channel: a full channel thins them
//! (each drop counted, see [`HistoryHandle::readings_dropped`]). Events (commands,
//! refusals, lock changes, faults) have their own path that never drops: an unbounded
//! channel whose backlog is bounded by admission instead — the house accepts a command
//! only while [`HistoryHandle::has_event_room`], and answers `busy` otherwise, so the
//! audit trail cannot lose "who unlocked the door" under a flood. The task filters readings (deadband,
//! heartbeat), buffers them, and commits every `commit_interval` on tokio's clock — the
//! SQLite work runs in `spawn_blocking`, which also keeps paused-clock tests deterministic.
//!
//! When the database cannot be written (disk full, read-only, missing directory) the
//! writer keeps buffering up to `buffer_limit` (oldest dropped and counted), reports
//! `healthy = false` in its status, logs the history outage as `history_unavailable`
//! fault events, and retries every interval. Control never waits on any of this.
//!
//! Shutdown: the task flushes and ends when `HistoryHandle::shutdown` is called on any
//! clone, or when every clone is dropped — whichever comes first. The final commit is
//! tried once; what it cannot store is counted as lost.

use crate::Reader;
use crate::config::HistoryConfig;
use crate::cycle::Db;
use crate::error::HistoryError;
use crate::event::Event;
use crate::lend::{self, Slot};
use crate::recorder::{Recorder, WriterStats};
use crate::store::Store;
use hearth_model::{Fault, Field, HouseState, UnixMillis, Value};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{self, Instant, MissedTickBehavior};

/// Readings in flight between the handles and the writer task. The task drains it
/// continuously; it only fills while a commit runs on a very slow card.
const CHANNEL_CAPACITY: usize = 1024;
/// Events waiting for the writer (in its channel or its pending buffer) above which new
/// commands are refused as `busy`. Events themselves are never dropped on the way; this
/// bounds how many a command flood can pile up. Capped at half of `history.buffer_limit`
/// so a healthy writer never drops a pending event either.
pub const EVENT_BACKLOG_LIMIT: usize = 4096;

/// The writer's health and counters, published after every commit attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriterStatus {
    /// False while the database cannot be written: report `Fault::HistoryUnavailable`.
    pub healthy: bool,
    /// The last write error, for logs and `status` replies.
    pub last_error: Option<String>,
    pub pending_samples: usize,
    pub pending_events: usize,
    pub stats: WriterStats,
}

impl WriterStatus {
    /// The fault to publish for this status, if any.
    pub fn fault(&self) -> Option<Fault> {
        (!self.healthy).then_some(Fault::HistoryUnavailable)
    }
}

enum Record {
    Sample(Field, Value, UnixMillis),
    Event(Event),
}

/// The counters shared by the handles and the writer task.
#[derive(Default)]
struct Shared {
    /// Records that never reached the writer (readings thinned, or the writer had stopped).
    handoff_dropped: AtomicU64,
    /// Of those, readings: the thinning `status` reports.
    readings_dropped: AtomicU64,
    /// Events sent and not yet taken from the channel by the writer.
    events_in_channel: AtomicUsize,
    /// Events the writer holds, not yet committed.
    events_pending: AtomicUsize,
}

/// Cheap to clone; give one to every task that records history.
#[derive(Clone)]
pub struct HistoryHandle {
    tx: mpsc::Sender<Record>,
    events: mpsc::UnboundedSender<Event>,
    /// Reads through the writer's connection (`lend.rs`).
    reader: Reader,
    shared: Arc<Shared>,
    event_limit: usize,
    shutdown: Arc<watch::Sender<bool>>,
    status: watch::Receiver<WriterStatus>,
}

impl HistoryHandle {
    /// How the rest of the daemon reads the history: through the writer's own connection,
    /// the only one that may have the file open while the writer runs.
    pub fn reader(&self) -> Reader {
        self.reader.clone()
    }

    /// Offer one reading. Never blocks; the writer decides whether it is worth storing.
    pub fn record_sample(&self, field: Field, value: Value, at: UnixMillis) {
        self.send(Record::Sample(field, value, at));
    }

    /// Offer every known field of a state snapshot (the writer keeps only what changed
    /// past the deadband, and heartbeats).
    pub fn record_state(&self, state: &HouseState, at: UnixMillis) {
        for field in Field::ALL {
            if let Some(value) = field.value_in(state) {
                self.record_sample(field, value, at);
            }
        }
    }

    /// Log an event (command, lock change, fault). Never blocks and never drops while the
    /// writer runs: gate commands on [`Self::has_event_room`] so the backlog stays bounded.
    ///
    /// The writer logs `history_unavailable` raised/cleared itself: do not record that
    /// fault here, or it appears twice.
    pub fn record_event(&self, event: Event) {
        self.shared
            .events_in_channel
            .fetch_add(1, Ordering::Relaxed);
        if self.events.send(event).is_err() {
            self.shared
                .events_in_channel
                .fetch_sub(1, Ordering::Relaxed);
            let before = self.shared.handoff_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                dropped = before + 1,
                "history writer has stopped; event not recorded"
            );
        }
    }

    /// Whether another command's events may be queued: the events not yet committed are
    /// below the backlog limit. Refuse the command (`busy`) when not.
    pub fn has_event_room(&self) -> bool {
        self.events_backlog() < self.event_limit
    }

    /// Events handed over and not yet committed (or dropped by a failing database).
    pub fn events_backlog(&self) -> usize {
        self.shared.events_in_channel.load(Ordering::Relaxed)
            + self.shared.events_pending.load(Ordering::Relaxed)
    }

    /// Readings dropped before reaching the writer because it was not keeping up.
    pub fn readings_dropped(&self) -> u64 {
        self.shared.readings_dropped.load(Ordering::Relaxed)
    }

    /// Health and counters; `changed().await` on it to follow the writer.
    pub fn status(&self) -> watch::Receiver<WriterStatus> {
        self.status.clone()
    }

    /// Ask the writer to flush and end. Records sent afterwards are dropped and counted.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    fn send(&self, record: Record) {
        if self.tx.try_send(record).is_err() {
            self.shared.readings_dropped.fetch_add(1, Ordering::Relaxed);
            let before = self.shared.handoff_dropped.fetch_add(1, Ordering::Relaxed);
            // Log the first drop and then ever more rarely, never a flood.
            if before.is_power_of_two() || before == 0 {
                tracing::warn!(
                    dropped = before + 1,
                    "history writer is not keeping up or has stopped; reading dropped"
                );
            }
        }
    }
}

/// Start the writer on the current tokio runtime. The database is opened (and migrated)
/// by the task, not here, so a missing or full disk never stops start-up: it shows as
/// `healthy = false` instead. Errors only for an invalid config.
pub fn spawn_writer(
    cfg: HistoryConfig,
) -> Result<(HistoryHandle, JoinHandle<WriterStats>), HistoryError> {
    let issues = cfg.validate();
    if !issues.is_empty() {
        let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
        return Err(HistoryError::InvalidConfig(list.join("; ")));
    }
    let db = Db::new(&cfg);
    Ok(spawn_with_db(cfg, db))
}

pub(crate) fn spawn_with_db(
    cfg: HistoryConfig,
    db: Db,
) -> (HistoryHandle, JoinHandle<WriterStats>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let recorder = Recorder::new(&cfg);
    let (status_tx, status_rx) = watch::channel(status_of(&recorder, &Health::default()));
    let shared = Arc::new(Shared::default());
    let event_limit = EVENT_BACKLOG_LIMIT.min(cfg.buffer_limit / 2).max(1);
    let slot = db.slot.clone();
    let reader = Reader::of_writer(cfg.path.clone(), slot.clone());
    let task = Writer {
        cfg,
        recorder,
        slot,
        db: Some(db),
        health: Health::default(),
        status: status_tx,
        shared: shared.clone(),
    };
    let join = tokio::spawn(task.run(rx, events_rx, shutdown_rx));
    let handle = HistoryHandle {
        tx,
        events: events_tx,
        reader,
        shared,
        event_limit,
        shutdown: Arc::new(shutdown_tx),
        status: status_rx,
    };
    (handle, join)
}

/// Resolves once `shutdown()` was called, or when no handle is left to call it.
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it here, inside the expression.
    let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
}

struct Health {
    healthy: bool,
    last_error: Option<String>,
    /// Counters when the outage began, to report what it cost.
    failures: u64,
    dropped_before: (u64, u64),
}

impl Default for Health {
    fn default() -> Self {
        Health {
            healthy: true,
            last_error: None,
            failures: 0,
            dropped_before: (0, 0),
        }
    }
}

fn status_of(recorder: &Recorder, health: &Health) -> WriterStatus {
    WriterStatus {
        healthy: health.healthy,
        last_error: health.last_error.clone(),
        pending_samples: recorder.pending_samples(),
        pending_events: recorder.pending_events(),
        stats: recorder.stats.clone(),
    }
}

struct Writer {
    cfg: HistoryConfig,
    recorder: Recorder,
    /// Where the connection lives (shared with the readers), kept across a restart of `db`.
    slot: Slot<Store>,
    /// Home between cycles; inside the blocking task during one.
    db: Option<Db>,
    health: Health,
    status: watch::Sender<WriterStatus>,
    shared: Arc<Shared>,
}

impl Writer {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Record>,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut shutdown: watch::Receiver<bool>,
    ) -> WriterStats {
        let period = self.cfg.commit_interval;
        let mut ticker = time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                // Events first: they are the audit trail, and their backlog gates commands.
                Some(event) = events.recv() => {
                    self.shared.events_in_channel.fetch_sub(1, Ordering::Relaxed);
                    self.accept(Record::Event(event));
                    if self.health.healthy && self.recorder.wants_early_commit() {
                        self.cycle().await;
                    }
                }
                record = rx.recv() => match record {
                    Some(r) => {
                        self.accept(r);
                        if self.health.healthy && self.recorder.wants_early_commit() {
                            self.cycle().await;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => self.cycle().await,
                () = stop_requested(&mut shutdown) => break,
            }
        }
        rx.close();
        events.close();
        while let Ok(event) = events.try_recv() {
            self.shared
                .events_in_channel
                .fetch_sub(1, Ordering::Relaxed);
            self.accept(Record::Event(event));
        }
        while let Ok(r) = rx.try_recv() {
            self.accept(r);
        }
        self.cycle().await;
        let left = self.recorder.pending_samples() + self.recorder.pending_events();
        if left > 0 {
            tracing::error!(
                samples = self.recorder.pending_samples(),
                events = self.recorder.pending_events(),
                error = self.health.last_error.as_deref().unwrap_or(""),
                "history writer stopped with unsaved records; they are lost"
            );
            self.recorder.abandon();
        }
        self.publish();
        // Close the file (SQLite checkpoints it): the readers still holding the slot fall
        // back to their own read-only connections, and other processes may open it.
        let slot = self.slot.clone();
        let _ = tokio::task::spawn_blocking(move || *lend::lock(&slot) = None).await;
        self.recorder.stats.clone()
    }

    fn accept(&mut self, record: Record) {
        match record {
            Record::Sample(field, value, at) => self.recorder.offer_sample(field, &value, at),
            Record::Event(event) => self.recorder.offer_event(event),
        }
        self.shared
            .events_pending
            .store(self.recorder.pending_events(), Ordering::Relaxed);
    }

    /// Commit what is pending (and do upkeep) on a blocking thread.
    async fn cycle(&mut self) {
        let now = UnixMillis::now();
        let Some(mut db) = self.db.take() else {
            return;
        };
        let batch = self.recorder.take_batch();
        if batch.is_empty() && self.health.healthy && !db.has_work(now) {
            self.db = Some(db);
            return;
        }
        let sizes = (batch.samples.len() as u64, batch.events.len() as u64);
        let had_records = !batch.is_empty();
        let joined = tokio::task::spawn_blocking(move || {
            let result = db.cycle(&batch, now);
            (db, batch, result)
        })
        .await;
        match joined {
            Ok((db, batch, result)) => {
                self.db = Some(db);
                match result {
                    Ok(out) => {
                        if had_records {
                            self.recorder.committed(out);
                        }
                        self.on_success(now);
                    }
                    Err(e) => {
                        self.recorder.restore(batch);
                        self.on_failure(now, &e);
                    }
                }
            }
            Err(join_error) => {
                // The blocking task panicked: its batch and connection are gone. Count the
                // batch as dropped and start over with a fresh connection.
                tracing::error!(error = %join_error, "history commit panicked");
                self.recorder.stats.samples_dropped += sizes.0;
                self.recorder.stats.events_dropped += sizes.1;
                self.recorder.stats.failed_commits += 1;
                // A fresh `Db` replaces the connection the panic left in the slot at its
                // first cycle (not here: a reader may hold the slot, and this is async).
                self.db = Some(Db::with_slot(&self.cfg, self.slot.clone()));
                self.on_failure(now, &join_error);
            }
        }
        self.publish();
    }

    fn on_success(&mut self, now: UnixMillis) {
        if self.health.healthy {
            return;
        }
        let stats = &self.recorder.stats;
        let dropped = (
            stats.samples_dropped - self.health.dropped_before.0,
            stats.events_dropped - self.health.dropped_before.1,
        );
        tracing::info!(
            failed_commits = self.health.failures,
            dropped_samples = dropped.0,
            dropped_events = dropped.1,
            "history database writable again"
        );
        let detail = format!(
            "writable again after {} failed commits; {} samples and {} events dropped meanwhile",
            self.health.failures, dropped.0, dropped.1
        );
        self.health = Health::default();
        self.recorder
            .offer_event(Event::fault(now, Fault::HistoryUnavailable, false, &detail));
    }

    fn on_failure(&mut self, now: UnixMillis, error: &dyn std::fmt::Display) {
        let message = error.to_string();
        if self.health.healthy {
            tracing::warn!(
                error = %message,
                retry_every = %hearth_model::duration::format(self.cfg.commit_interval),
                buffer_limit = self.cfg.buffer_limit,
                "history database cannot be written; buffering readings and retrying"
            );
            let stats = &self.recorder.stats;
            self.health.dropped_before = (stats.samples_dropped, stats.events_dropped);
            self.health.healthy = false;
            self.recorder
                .offer_event(Event::fault(now, Fault::HistoryUnavailable, true, &message));
        }
        self.health.failures += 1;
        self.health.last_error = Some(message);
    }

    fn publish(&mut self) {
        self.recorder.stats.handoff_dropped = self.shared.handoff_dropped.load(Ordering::Relaxed);
        self.shared
            .events_pending
            .store(self.recorder.pending_events(), Ordering::Relaxed);
        self.status
            .send_replace(status_of(&self.recorder, &self.health));
    }
}
