//! Retention: deleting expired raw samples and events in small batches, and giving the
//! freed pages back to the filesystem a few at a time.
//!
//! Each batch is its own short transaction so a reader (the CLI, an MQTT query) or the
//! next commit never waits long. Raw samples are never deleted past the rollup watermark:
//! an hour is rolled up before its raw data can go. This module must never delete rollups.

use crate::codec;
use crate::error::{Doing, HistoryError};
use crate::store::{Store, hour_key, rolled_up_until};
use hearth_model::UnixMillis;
use rusqlite::params;

/// Rows deleted per transaction: a few pages, a few milliseconds.
pub const PRUNE_BATCH: usize = 1000;

/// What a pruning pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    pub samples_deleted: u64,
    pub events_deleted: u64,
    /// False when `max_batches` ran out before everything expired was gone.
    pub done: bool,
}

impl Store {
    /// Delete raw samples older than `raw_cutoff` and events older than `event_cutoff`, in
    /// transactions of at most `batch` rows, at most `max_batches` of them.
    pub fn prune(
        &mut self,
        raw_cutoff: UnixMillis,
        event_cutoff: UnixMillis,
        batch: usize,
        max_batches: usize,
    ) -> Result<PruneOutcome, HistoryError> {
        let watermark = rolled_up_until(&self.conn).doing("reading the rollup watermark")?;
        let sample_cut = codec::key_floor(raw_cutoff).min(hour_key(watermark));
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut out = PruneOutcome::default();
        let mut batches = 0;
        let mut samples_left = true;
        let mut events_left = true;
        while batches < max_batches && (samples_left || events_left) {
            if samples_left {
                let n = self
                    .conn
                    .prepare_cached(
                        "DELETE FROM sample WHERE k IN
                         (SELECT k FROM sample WHERE k < ?1 ORDER BY k LIMIT ?2)",
                    )
                    .and_then(|mut s| s.execute(params![sample_cut, batch]))
                    .doing("deleting expired samples")?;
                out.samples_deleted += n as u64;
                samples_left = n as i64 == batch;
                batches += 1;
            } else {
                let n = self
                    .conn
                    .prepare_cached(
                        "DELETE FROM event WHERE id IN
                         (SELECT id FROM event WHERE at < ?1 ORDER BY at LIMIT ?2)",
                    )
                    .and_then(|mut s| s.execute(params![event_cutoff.0, batch]))
                    .doing("deleting expired events")?;
                out.events_deleted += n as u64;
                events_left = n as i64 == batch;
                batches += 1;
            }
        }
        out.done = !samples_left && !events_left;
        Ok(out)
    }

    /// When more than a tenth of the file is free pages, return up to `max_pages` of them
    /// to the filesystem, `step` pages per transaction. Returns the pages given back.
    ///
    /// A small free list is kept on purpose: new samples reuse it, which costs fewer writes
    /// than shrinking the file and growing it again.
    pub fn reclaim(&mut self, step: u32, max_pages: u32) -> Result<u64, HistoryError> {
        let free = self.free_pages()?;
        let total: u64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .doing("reading the page count")?;
        if free <= (total / 10).max(8) {
            return Ok(0);
        }
        let mut freed = 0u64;
        while freed < u64::from(max_pages) {
            let before = self.free_pages()?;
            if before == 0 {
                break;
            }
            // The pragma frees one page per step of the statement: run it to completion.
            let mut stmt = self
                .conn
                .prepare(&format!("PRAGMA incremental_vacuum({})", step.max(1)))
                .doing("preparing incremental_vacuum")?;
            let mut rows = stmt.query([]).doing("running incremental_vacuum")?;
            while rows.next().doing("running incremental_vacuum")?.is_some() {}
            let after = self.free_pages()?;
            if after >= before {
                break;
            }
            freed += before - after;
        }
        Ok(freed)
    }

    /// Pages on the free list.
    pub fn free_pages(&self) -> Result<u64, HistoryError> {
        self.conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .doing("reading the free list")
    }
}
