//! The sharing ledger: every policy decision (sent with its exact payload, withheld,
//! transformed, command accepted or refused) and every policy reload, in SQLite.
//!
//! Writes go through a bounded channel to one dedicated thread (`writer.rs`) that commits
//! in batches every `[ledger] commit_interval` and coalesces runs of identical `withheld`
//! decisions (`coalesce.rs`), so a slow SD card never blocks a cloud forwarder. Queuing is
//! fallible: when the channel is full a row is refused ([`LedgerFull`]), counted and
//! logged, and the forwarder then does not publish the message that row was about — the
//! ledger is the audit, so nothing leaves without its `sent` row. Queries for
//! `hearthd audit` open the file read-only. Nothing here decides what is shared.

mod coalesce;
mod retention;
mod store;
mod writer;

pub use coalesce::Stored;
pub use store::{AuditRow, LedgerError, Store};

/// Rows as the `audit` MQTT request and `hearthd audit --json` give them, newest first:
/// `{"rows": [{time, cloud, field, kind, detail, payload, count, last}]}` (times in Unix
/// milliseconds, the payload as text, exactly as sent).
pub(crate) fn rows_json(rows: &[AuditRow]) -> serde_json::Value {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "time": r.row.time.0,
                "cloud": r.row.cloud,
                "field": r.row.field,
                "kind": r.row.kind,
                "detail": r.row.detail,
                "payload": r.row.payload.as_ref().map(|p| String::from_utf8_lossy(p).into_owned()),
                "count": r.count,
                "last": r.last.map(|t| t.0),
            })
        })
        .collect();
    serde_json::json!({ "rows": rows })
}

/// How the daemon's page, audit requests and CLI socket (borrowing the writer thread's
/// connection) and the CLI with no daemon running (its own read-only connection) read the
/// ledger: `hearth_history::lend`.
pub(crate) type Reader = hearth_history::lend::Reader<Store>;

pub(crate) use store::DayTotal;
pub(crate) use writer::LedgerTask;

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
pub(crate) struct Ledger {
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

/// Why a row could not be queued; the row is lost and counted, and whatever it was about
/// must not happen (a message whose `sent` row is not queued is not published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LedgerFull {
    #[error("the ledger queue is full (the disk is too slow)")]
    Full,
    #[error("the ledger writer has stopped")]
    Stopped,
}

impl Ledger {
    /// Queue decisions in order; never blocks. Stops at the first row that cannot be
    /// queued (the rest are counted as dropped too) and says why.
    pub fn record(&self, decisions: impl IntoIterator<Item = Decision>) -> Result<(), LedgerFull> {
        let mut result = Ok(());
        for d in decisions {
            if result.is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            result = self.push(d.into());
        }
        result
    }

    /// Queue one row; never blocks. A row that cannot be queued is counted and logged.
    pub fn push(&self, row: Row) -> Result<(), LedgerFull> {
        let why = match self.tx.try_send(row) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(_)) => LedgerFull::Full,
            Err(TrySendError::Disconnected(_)) => LedgerFull::Stopped,
        };
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(dropped = n, "ledger row not queued: {why}");
        }
        Err(why)
    }

    /// Rows that could not be queued so far.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A handle whose queue holds `capacity` rows and is read by nobody but the caller.
    #[cfg(test)]
    pub(crate) fn for_test(capacity: usize) -> (Ledger, std::sync::mpsc::Receiver<Row>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        (
            Ledger {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }
}

#[cfg(test)]
mod day_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod queue_tests {
    use super::*;

    fn row(cloud: &str, kind: &str, t: i64) -> Row {
        Row {
            time: UnixMillis(t),
            cloud: cloud.into(),
            field: None,
            kind: kind.into(),
            detail: format!("{kind} at {t}"),
            payload: (kind == "sent").then(|| b"{\"x\":1}".to_vec()),
        }
    }

    #[test]
    fn a_full_queue_refuses_rows_and_counts_them() {
        let (l, rx) = Ledger::for_test(1);
        l.push(row("a", "sent", 1)).unwrap();
        assert_eq!(l.push(row("a", "sent", 2)), Err(LedgerFull::Full));
        assert_eq!(l.dropped(), 1);
        let d = hearth_policy::Decision {
            time: UnixMillis(3),
            cloud: "a".into(),
            field: None,
            kind: hearth_policy::DecisionKind::Withheld,
            detail: "x".into(),
            payload: None,
        };
        assert_eq!(l.record([d.clone(), d]), Err(LedgerFull::Full));
        assert_eq!(l.dropped(), 3, "every row of a failed record is counted");
        drop(rx);
        assert_eq!(l.push(row("a", "sent", 4)), Err(LedgerFull::Stopped));
    }
}
