//! The sharing ledger: every policy decision (sent with its exact payload, withheld,
//! transformed, command accepted or refused) and every policy reload, in SQLite.
//!
//! Writes go through a bounded channel to one dedicated thread (`writer.rs`) that commits
//! in batches every `[ledger] commit_interval` and coalesces runs of identical `withheld`
//! decisions (`coalesce.rs`), so a slow SD card never blocks a cloud forwarder: when the
//! channel is full the rows are dropped and counted (the count is logged and returned at
//! the end). Queries for `hearthd audit` open the file read-only. Nothing here decides
//! what is shared.

mod coalesce;
mod retention;
mod store;
mod writer;

pub use coalesce::{RUN_SPAN, Stored};
pub use retention::Upkeep;
pub use store::{AuditRow, DayTotal, LedgerError, SCHEMA_VERSION, Store};
pub use writer::{LedgerTask, MAX_PENDING};

use hearth_model::UnixMillis;
use hearth_policy::Decision;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

/// Rows waiting for the writer thread at most; beyond this rows are dropped and counted.
const QUEUE: usize = 4096;

/// One ledger row as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub time: UnixMillis,
    pub cloud: String,
    pub field: Option<String>,
    pub kind: String,
    pub detail: String,
    pub payload: Option<Vec<u8>>,
}

impl From<Decision> for Row {
    fn from(d: Decision) -> Self {
        Row {
            time: d.time,
            cloud: d.cloud,
            field: d.field.map(|f| f.name().to_owned()),
            kind: d.kind.as_str().to_owned(),
            detail: d.detail,
            payload: d.payload,
        }
    }
}

/// The writing handle, cheap to clone: one per forwarder and one for the supervisor.
#[derive(Debug, Clone)]
pub struct Ledger {
    tx: SyncSender<Row>,
    dropped: Arc<AtomicU64>,
}

/// What the writer thread did, returned by [`LedgerTask::finish`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LedgerStats {
    pub written: u64,
    pub dropped: u64,
    pub failed: u64,
}

impl Ledger {
    /// Queue decisions; never blocks.
    pub fn record(&self, decisions: impl IntoIterator<Item = Decision>) {
        for d in decisions {
            self.push(d.into());
        }
    }

    /// Queue one row; never blocks.
    pub fn push(&self, row: Row) {
        match self.tx.try_send(row) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        dropped = n,
                        "ledger queue full: rows dropped (the disk is too slow)"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod day_tests;
#[cfg(test)]
mod tests;
