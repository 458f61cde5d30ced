//! The ledger's writer thread: drains the handles' bounded queue into [`Pending`], commits
//! what is due every `[ledger] commit_interval` in one transaction, and runs retention at
//! most hourly. It sleeps (blocked on the queue) while there is nothing to do: no timer
//! runs when nothing waits, and nothing is written when nothing changed.
//!
//! Durability: a decision counts as queued once the handle's `try_send` succeeded. The
//! thread flushes everything, open runs included, when every handle is gone or
//! [`LedgerTask::finish`] is called. A power cut loses what is not committed yet: rows of
//! the last `commit_interval` at most, and the counts of `withheld` runs still open (at
//! most [`RUN_SPAN_MAX`] of them). A commit, once returned, is on the card (`synchronous=FULL`).
//!
//! While the file cannot be written, rows wait in memory up to [`MAX_PENDING`]; then the
//! thread stops taking from the queue, the queue fills and handles see it full — so a
//! caller that refuses to publish without a queued row stops publishing.

use super::coalesce::Pending;
#[cfg(doc)]
use super::coalesce::RUN_SPAN_MAX;
use super::store::{LedgerError, Store};
use super::{Ledger, LedgerStats, QUEUE, Reader, Row};
use crate::cloud::LedgerConfig;
use hearth_history::lend::{self, Slot};
use hearth_model::UnixMillis;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

pub use super::coalesce::Stored;

/// Rows held for commit at most while the file cannot be written.
pub const MAX_PENDING: usize = 4096;
/// How often retention runs at most.
const UPKEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long the thread sleeps at a time while its buffer is full (it checks for shutdown
/// between naps).
const FULL_NAP: Duration = Duration::from_secs(1);

/// The writer thread; finish it after every [`Ledger`] clone is dropped to flush.
#[derive(Debug)]
pub struct LedgerTask {
    ledger: Ledger,
    reader: Reader,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

impl LedgerTask {
    /// Open (creating or migrating) the ledger database and start its writer thread, which
    /// holds `guard` (the daemon's tripwire, when supervised) until it ends.
    pub fn spawn(
        cfg: &LedgerConfig,
        guard: Option<crate::tripwire::Guard>,
    ) -> Result<Self, LedgerError> {
        let slot: Slot<Store> = lend::slot(Some(Store::open(&cfg.path)?));
        let reader = Reader::of_writer(cfg.path.clone(), slot.clone());
        let (tx, rx) = sync_channel::<Row>(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            slot,
            pending: Pending::default(),
            interval: cfg.commit_interval,
            retention: cfg.retention,
            last_upkeep: None,
            written: 0,
            failed: 0,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || {
                let _guard = guard;
                let slot = writer.slot.clone();
                let outcome = writer.run(&rx);
                // Close the file (SQLite checkpoints it): readers still holding the slot
                // fall back to their own connections; other processes may open it.
                *lend::lock(&slot) = None;
                outcome
            })
            .map_err(|e| LedgerError::Thread(e.to_string()))?;
        Ok(Self {
            ledger: Ledger {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            reader,
            stop,
            thread,
        })
    }

    /// How the rest of the daemon reads the ledger: through the writer's connection, the
    /// only one that may have the file open while the writer runs.
    pub fn reader(&self) -> Reader {
        self.reader.clone()
    }

    pub fn ledger(&self) -> Ledger {
        self.ledger.clone()
    }

    /// Close this handle and wait for the thread to write what is queued. Rows from clones
    /// still alive keep the thread running, so drop those first.
    pub async fn finish(self) -> LedgerStats {
        let dropped = self.ledger.dropped.clone();
        drop(self.ledger);
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        let (written, failed) = tokio::task::spawn_blocking(move || thread.join())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or((0, 0));
        LedgerStats {
            written,
            failed,
            dropped: dropped.load(Ordering::Relaxed),
        }
    }
}

struct Writer {
    /// The connection, lent to readers between commits; open for the thread's lifetime.
    slot: Slot<Store>,
    pending: Pending,
    interval: Duration,
    retention: Duration,
    last_upkeep: Option<Instant>,
    /// Decisions stored (a run counts as its count) and decisions lost to write errors.
    written: u64,
    failed: u64,
    stop: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Row>) -> (u64, u64) {
        self.upkeep(Instant::now());
        loop {
            let now = Instant::now();
            let due = self.pending.next_due(self.interval);
            if self.pending.ready() >= MAX_PENDING {
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
                let nap = due.map_or(FULL_NAP, |d| d.saturating_duration_since(now));
                std::thread::sleep(nap.min(FULL_NAP));
            } else {
                let got = match due {
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(d) => rx.recv_timeout(d.saturating_duration_since(now)),
                };
                match got {
                    Ok(row) => {
                        self.pending.offer(row, Instant::now());
                        self.drain(rx);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            let now = Instant::now();
            let batch = self.pending.take_due(now, self.interval);
            if !batch.is_empty() && self.commit(batch, now) {
                self.upkeep(now);
            }
        }
        // Shutdown: whatever is still queued, then everything held, in one last commit.
        self.drain(rx);
        let now = Instant::now();
        let batch = self.pending.take_everything(now);
        let n: u64 = batch.iter().map(|s| s.count).sum();
        if !batch.is_empty() && !self.commit(batch, now) {
            self.failed += n;
            tracing::error!(
                decisions = n,
                "ledger: the last commit at shutdown failed; these decisions are not recorded"
            );
        }
        (self.written, self.failed)
    }

    /// Take what is already queued, as long as the buffer has room.
    fn drain(&mut self, rx: &Receiver<Row>) {
        while self.pending.ready() < MAX_PENDING {
            match rx.try_recv() {
                Ok(row) => self.pending.offer(row, Instant::now()),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
    }

    /// Write one batch; on failure keep it for the next interval. True when written.
    fn commit(&mut self, batch: Vec<Stored>, now: Instant) -> bool {
        let written = lend::lock(&self.slot)
            .as_mut()
            .expect("open while the writer runs")
            .insert(&batch);
        match written {
            Ok(ids) => {
                self.pending.saved(&batch, &ids);
                // Decisions newly on the card: an update adds the run's growth only.
                self.written += batch
                    .iter()
                    .map(|s| if s.id.is_some() { s.count - 1 } else { s.count })
                    .sum::<u64>();
                true
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    rows = batch.len(),
                    retry_in = %hearth_model::duration::format(self.interval),
                    "ledger write failed; keeping the rows and retrying"
                );
                self.pending.restore(batch, now);
                false
            }
        }
    }

    /// Retention, at most hourly (and again soon while a backlog is left).
    fn upkeep(&mut self, now: Instant) {
        if self
            .last_upkeep
            .is_some_and(|t| now.duration_since(t) < UPKEEP_EVERY)
        {
            return;
        }
        let cutoff = UnixMillis::now().saturating_sub(self.retention);
        let done = lend::lock(&self.slot)
            .as_mut()
            .expect("open while the writer runs")
            .upkeep(cutoff);
        match done {
            Ok(u) => {
                if u.deleted > 0 {
                    tracing::debug!(
                        rows = u.deleted,
                        pages_freed = u.pages_freed,
                        "expired ledger rows deleted"
                    );
                }
                if u.done {
                    self.last_upkeep = Some(now);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "ledger retention failed; retrying in an hour");
                self.last_upkeep = Some(now);
            }
        }
    }
}
