//! One commit cycle, run on a blocking thread: open the database if needed, insert the
//! batch, then the upkeep that is due (hourly rollups, bounded retention, reclaiming space).
//!
//! Shared by the writer task and the bench so the bench measures what the daemon does.
//! Upkeep failures are logged and retried next hour; only the insert decides whether the
//! history is healthy. This module must never wait on the async runtime.

use crate::codec;
use crate::config::HistoryConfig;
use crate::error::HistoryError;
use crate::lend::{self, Slot};
use crate::recorder::Batch;
use crate::retention::PRUNE_BATCH;
use crate::store::{InsertOutcome, Store};
use hearth_model::UnixMillis;
use std::path::PathBuf;
use std::time::Duration;

/// Batches of `PRUNE_BATCH` rows per cycle: bounds how long one cycle keeps the writer busy.
const PRUNE_BATCHES_PER_CYCLE: usize = 20;
/// How long hourly upkeep waits for a cycle with a batch before it runs on its own.
const UPKEEP_WAIT: Duration = Duration::from_secs(10 * 60);
/// Pages returned to the filesystem per incremental_vacuum step, and per cycle.
const RECLAIM_STEP: u32 = 64;
const RECLAIM_PER_CYCLE: u32 = 1024;

/// The database side of the writer: the connection (absent until opened, or after an
/// error that calls for reopening) and the upkeep schedule.
pub(crate) struct Db {
    path: PathBuf,
    /// The connection, shared with the [`crate::Reader`]s that borrow it between cycles.
    pub slot: Slot<Store>,
    /// Whether this `Db` opened the connection in `slot`: known without locking the slot
    /// (a reader may hold it), and false for a fresh `Db` after a panic, whose first cycle
    /// then replaces whatever connection the panic left there.
    opened: bool,
    retention: Duration,
    event_retention: Duration,
    /// The hour upkeep last completed in; upkeep runs once per hour, and again next cycle
    /// while retention has a backlog.
    upkept_hour: Option<i64>,
    /// Test hook: `PRAGMA max_page_count` to apply before each insert (0 = leave alone).
    #[cfg(test)]
    pub max_page_count: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl Db {
    pub fn new(cfg: &HistoryConfig) -> Db {
        Db::with_slot(cfg, lend::slot(None))
    }

    /// A `Db` whose connection lives in `slot` (kept across a restart of the writer, so the
    /// readers it handed out stay valid).
    pub fn with_slot(cfg: &HistoryConfig, slot: Slot<Store>) -> Db {
        Db {
            path: cfg.path.clone(),
            slot,
            opened: false,
            retention: cfg.retention,
            event_retention: cfg.event_retention,
            upkept_hour: None,
            #[cfg(test)]
            max_page_count: None,
        }
    }

    /// Whether a cycle with nothing to insert still has work: opening, or hourly upkeep
    /// once it has waited [`UPKEEP_WAIT`] into the hour for a cycle that commits anyway
    /// (upkeep right after a commit re-dirties the pages that commit just wrote, instead of
    /// waking the card for its own).
    pub fn has_work(&self, now: UnixMillis) -> bool {
        let hour = codec::hour_of(now);
        !self.opened
            || (self.upkept_hour != Some(hour)
                && now.0.saturating_sub(codec::hour_start(hour).0)
                    >= UPKEEP_WAIT.as_millis() as i64)
    }

    /// Insert `batch` and do the upkeep that is due. An insert error leaves the batch
    /// unwritten (the transaction rolled back) for the caller to keep.
    pub fn cycle(&mut self, batch: &Batch, now: UnixMillis) -> Result<InsertOutcome, HistoryError> {
        // Held for the whole cycle: readers wait for it, and none reads the file beside the
        // writer while it opens.
        let slot = self.slot.clone();
        let mut guard = lend::lock(&slot);
        let store = match guard.take() {
            Some(s) if self.opened => s,
            left => {
                // Closed first: a connection left by a panicked cycle still holds the file.
                drop(left);
                self.opened = false;
                Store::open(&self.path)?
            }
        };
        self.opened = true;
        let store = guard.insert(store);
        #[cfg(test)]
        if let Some(limit) = &self.max_page_count {
            let pages = limit.load(std::sync::atomic::Ordering::SeqCst);
            if pages > 0 {
                store.set_max_page_count(pages)?;
            }
        }
        let out = if batch.is_empty() {
            InsertOutcome::default()
        } else {
            // In a new hour, the rollup rides in the batch's transaction: one commit.
            let written = if self.upkept_hour == Some(codec::hour_of(now)) {
                store.insert_encoded(&batch.samples, &batch.events)
            } else {
                store.insert_and_roll_up(&batch.samples, &batch.events, now)
            };
            match written {
                Ok(out) => out,
                Err(e) => {
                    // A full disk frees up by itself; anything else may be a stale handle
                    // (file replaced, filesystem remounted), so reopen next time.
                    if !e.is_disk_full() {
                        *guard = None;
                        self.opened = false;
                    }
                    return Err(e);
                }
            }
        };
        self.upkeep(store, now);
        Ok(out)
    }

    fn upkeep(&mut self, store: &mut Store, now: UnixMillis) {
        let hour = codec::hour_of(now);
        if self.upkept_hour == Some(hour) {
            return;
        }
        if let Err(e) = store.advance_rollups(now) {
            tracing::warn!(error = %e, "hourly rollup failed; retrying next cycle");
            return;
        }
        let pruned = store.prune(
            now.saturating_sub(self.retention),
            now.saturating_sub(self.event_retention),
            PRUNE_BATCH,
            PRUNE_BATCHES_PER_CYCLE,
        );
        match pruned {
            Ok(p) => {
                if p.samples_deleted + p.events_deleted > 0 {
                    tracing::debug!(
                        samples = p.samples_deleted,
                        events = p.events_deleted,
                        "expired history deleted"
                    );
                }
                if p.done {
                    self.upkept_hour = Some(hour);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting expired history failed; retrying next cycle");
                return;
            }
        }
        if let Err(e) = store.reclaim(RECLAIM_STEP, RECLAIM_PER_CYCLE) {
            tracing::warn!(error = %e, "reclaiming free pages failed; retrying next hour");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Batch;

    #[test]
    fn hourly_upkeep_waits_ten_minutes_for_a_cycle_that_commits_anyway() {
        let db = crate::tests::temp_db();
        let mut d = Db::new(&HistoryConfig {
            path: db.path.clone(),
            ..HistoryConfig::default()
        });
        let hour = |h: i64, min: i64| UnixMillis((1_800_000 + h) * 3_600_000 + min * 60_000);
        assert!(d.has_work(hour(0, 30)), "not yet open");
        d.cycle(&Batch::default(), hour(0, 30)).unwrap();
        assert!(!d.has_work(hour(0, 59)), "this hour's upkeep is done");
        assert!(!d.has_work(hour(1, 9)), "a new hour: waits for a batch");
        assert!(d.has_work(hour(1, 10)), "ten minutes in: runs on its own");
        // Any cycle (the writer runs one when it has a batch to commit) does it at once.
        d.cycle(&Batch::default(), hour(1, 2)).unwrap();
        assert!(!d.has_work(hour(1, 10)));
    }

    #[test]
    fn a_fresh_db_after_a_panic_replaces_the_connection_left_in_the_slot() {
        let db = crate::tests::temp_db();
        let cfg = HistoryConfig {
            path: db.path.clone(),
            ..HistoryConfig::default()
        };
        let hour = |min: i64| UnixMillis(1_800_000 * 3_600_000 + min * 60_000);
        let mut first = Db::new(&cfg);
        first.cycle(&batch_at(hour(1), 20.0), hour(1)).unwrap();
        // The writer task replaces a Db whose cycle panicked; the connection stays behind.
        let mut fresh = Db::with_slot(&cfg, first.slot.clone());
        drop(first);
        assert!(
            fresh.has_work(hour(2)),
            "its own connection is not open yet"
        );
        let started = std::time::Instant::now();
        fresh.cycle(&batch_at(hour(2), 21.0), hour(2)).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "the old connection was closed first, not waited on"
        );
        assert_eq!(
            crate::tests::count_samples(lend::lock(&fresh.slot).as_ref().unwrap()),
            2
        );
    }

    impl Db {
        fn commits(&self) -> u64 {
            lend::lock(&self.slot).as_ref().unwrap().commits
        }
    }

    fn batch_at(at: UnixMillis, celsius: f64) -> Batch {
        let field = hearth_model::Field::ThermostatTemperature;
        let value = hearth_model::Value::Number(celsius);
        Batch {
            samples: vec![codec::encode(field, &value, at).unwrap()],
            events: Vec::new(),
        }
    }

    #[test]
    fn a_batch_in_a_new_hour_commits_its_rollup_in_the_same_transaction() {
        let db = crate::tests::temp_db();
        let mut d = Db::new(&HistoryConfig {
            path: db.path.clone(),
            ..HistoryConfig::default()
        });
        let hour = |h: i64, min: i64| UnixMillis((1_800_000 + h) * 3_600_000 + min * 60_000);
        d.cycle(&batch_at(hour(0, 20), 20.0), hour(0, 20)).unwrap();
        d.cycle(&batch_at(hour(0, 40), 21.0), hour(0, 40)).unwrap();
        let before = d.commits();
        d.cycle(&batch_at(hour(1, 1), 22.0), hour(1, 1)).unwrap();
        let guard = lend::lock(&d.slot);
        let store = guard.as_ref().unwrap();
        assert_eq!(store.commits - before, 1, "batch and rollup: one commit");
        let (n, lo, hi): (i64, i64, i64) = store
            .conn
            .query_row("SELECT n, lo, hi FROM rollup", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(
            (n, lo, hi),
            (2, 2000, 2100),
            "hour 0 rolled up, hour 1 still raw"
        );
        drop(guard);
        // The same hour again: the batch alone.
        d.cycle(&batch_at(hour(1, 2), 22.5), hour(1, 2)).unwrap();
        assert_eq!(d.commits() - before, 2);
        // An hour with no batch: upkeep rolls up on its own, in its own commit.
        d.cycle(&Batch::default(), hour(2, 11)).unwrap();
        let guard = lend::lock(&d.slot);
        let store = guard.as_ref().unwrap();
        assert_eq!(store.commits - before, 3);
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM rollup", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }
}
