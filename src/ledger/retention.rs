//! Ledger retention: deleting rows older than `[ledger] retention` in small transactions,
//! and giving freed pages back to the filesystem a few at a time (`incremental_vacuum`).
//!
//! Nothing is written when nothing has expired: the checks are reads.

use super::store::{LedgerError, Store};
use hearth_model::UnixMillis;
use rusqlite::params;

/// Rows deleted per transaction.
pub const PRUNE_BATCH: i64 = 500;
/// Transactions per upkeep pass; the rest waits for the next pass.
const PRUNE_BATCHES: usize = 20;
/// Pages given back per pass at most.
const RECLAIM_PAGES: i64 = 512;

/// What one upkeep pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upkeep {
    pub deleted: u64,
    pub pages_freed: u64,
    /// False when expired rows or free pages are left for the next pass.
    pub done: bool,
}

impl Store {
    /// Delete rows that began before `cutoff` (a coalesced run goes with its first
    /// decision), then shrink the file when over a tenth of it is free pages.
    pub fn upkeep(&mut self, cutoff: UnixMillis) -> Result<Upkeep, LedgerError> {
        let mut out = Upkeep::default();
        let mut left = true;
        for _ in 0..PRUNE_BATCHES {
            let n = self.conn.execute(
                "DELETE FROM ledger WHERE id IN
                 (SELECT id FROM ledger WHERE time < ?1 ORDER BY time LIMIT ?2)",
                params![cutoff.0, PRUNE_BATCH],
            )?;
            out.deleted += n as u64;
            if (n as i64) < PRUNE_BATCH {
                left = false;
                break;
            }
        }
        out.pages_freed = self.reclaim()?;
        out.done = !left && out.pages_freed < RECLAIM_PAGES as u64;
        Ok(out)
    }

    fn pragma(&self, name: &str) -> Result<i64, LedgerError> {
        Ok(self
            .conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?)
    }

    /// Return free pages to the filesystem when they are over a tenth of the file; a small
    /// free list is kept for new rows to reuse.
    fn reclaim(&mut self) -> Result<u64, LedgerError> {
        let free = self.pragma("freelist_count")?;
        let total = self.pragma("page_count")?;
        if free <= (total / 10).max(16) {
            return Ok(0);
        }
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA incremental_vacuum({RECLAIM_PAGES})"))?;
        // The pragma frees one page per step: run it to completion.
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
        drop(rows);
        drop(stmt);
        Ok((free - self.pragma("freelist_count")?).max(0) as u64)
    }

    /// Pages in the file and on its free list (tests and the bench).
    pub fn pages(&self) -> Result<(u64, u64), LedgerError> {
        Ok((
            self.pragma("page_count")? as u64,
            self.pragma("freelist_count")? as u64,
        ))
    }
}
