//! The sharing ledger: every policy decision (sent with its exact payload, withheld,
//! transformed, command accepted or refused) and every policy reload, in SQLite.
//!
//! Writes go through a bounded channel to one dedicated thread that commits in batches, so
//! a slow SD card never blocks a cloud forwarder. Queuing is fallible: when the channel is
//! full a row is refused ([`LedgerFull`]), counted and logged, and the forwarder then does
//! not publish the message that row was about — the ledger is the audit, so nothing leaves
//! without its `sent` row. Queries for
//! `hearthd audit` open the file read-only. Nothing here decides what is shared.

mod store;

pub use store::{AuditRow, DayTotal, LedgerError, Store};

use hearth_model::UnixMillis;
use hearth_policy::Decision;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

/// Rows waiting for the writer thread at most; beyond this rows are dropped and counted.
const QUEUE: usize = 4096;
/// Rows written per transaction at most.
const BATCH: usize = 512;

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

/// The writer thread; finish it after every [`Ledger`] clone is dropped to flush.
#[derive(Debug)]
pub struct LedgerTask {
    ledger: Ledger,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

/// Why a row could not be queued; the row is lost and counted, and whatever it was about
/// must not happen (a message whose `sent` row is not queued is not published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerFull {
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
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A handle whose queue holds `capacity` rows and is read by nobody but the caller.
    #[cfg(test)]
    pub(crate) fn for_test(capacity: usize) -> (Ledger, std::sync::mpsc::Receiver<Row>) {
        let (tx, rx) = sync_channel(capacity);
        (
            Ledger {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }
}

impl LedgerTask {
    /// Open (creating) the ledger database and start its writer thread.
    pub fn spawn(path: &Path) -> Result<Self, store::LedgerError> {
        let mut store = Store::open(path)?;
        let (tx, rx) = sync_channel::<Row>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || {
                let (mut written, mut failed) = (0u64, 0u64);
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(r) => batch.push(r),
                            Err(_) => break,
                        }
                    }
                    match store.insert(&batch) {
                        Ok(()) => written += batch.len() as u64,
                        Err(e) => {
                            failed += batch.len() as u64;
                            tracing::error!(error = %e, rows = batch.len(), "ledger write failed");
                        }
                    }
                }
                (written, failed)
            })
            .map_err(|e| store::LedgerError::Thread(e.to_string()))?;
        Ok(Self {
            ledger: Ledger {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            thread,
        })
    }

    pub fn ledger(&self) -> Ledger {
        self.ledger.clone()
    }

    /// Close this handle and wait for the thread to write what is queued. Rows from clones
    /// still alive keep the thread running, so drop those first.
    pub async fn finish(self) -> LedgerStats {
        let dropped = self.ledger.dropped.clone();
        drop(self.ledger);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cloud: &str, field: Option<&str>, kind: &str, t: i64) -> Row {
        Row {
            time: UnixMillis(t),
            cloud: cloud.into(),
            field: field.map(Into::into),
            kind: kind.into(),
            detail: format!("{kind} at {t}"),
            payload: (kind == "sent").then(|| b"{\"x\":1}".to_vec()),
        }
    }

    #[tokio::test]
    async fn rows_are_written_and_queried_with_daily_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let task = LedgerTask::spawn(&path).unwrap();
        let l = task.ledger();
        let day = 86_400_000;
        l.push(row("a", None, "sent", 10)).unwrap();
        l.push(row("a", Some("thermostat.temperature"), "transformed", 10))
            .unwrap();
        l.push(row("a", Some("thermostat.temperature"), "transformed", 20))
            .unwrap();
        l.push(row(
            "a",
            Some("thermostat.temperature"),
            "transformed",
            day + 5,
        ))
        .unwrap();
        l.push(row("b", Some("lock.state"), "withheld", 30))
            .unwrap();
        drop(l);
        let stats = task.finish().await;
        assert_eq!(
            stats,
            LedgerStats {
                written: 5,
                dropped: 0,
                failed: 0
            }
        );

        let store = Store::open_read_only(&path).unwrap();
        let rows = store.rows(Some("a"), UnixMillis(0), 100).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].time, UnixMillis(day + 5), "newest first");
        assert_eq!(rows[3].payload.as_deref(), Some(&b"{\"x\":1}"[..]));
        assert_eq!(store.rows(None, UnixMillis(15), 100).unwrap().len(), 3);

        let totals = store.daily_totals(Some("a"), UnixMillis(0)).unwrap();
        let temp_day0 = totals
            .iter()
            .find(|t| t.day == "1970-01-01" && t.field == "thermostat.temperature")
            .unwrap();
        assert_eq!(
            (temp_day0.kind.as_str(), temp_day0.count),
            ("transformed", 2)
        );
        assert!(totals.iter().any(|t| t.day == "1970-01-02" && t.count == 1));
        assert!(totals.iter().all(|t| t.cloud == "a"));
    }

    #[test]
    fn a_full_queue_refuses_rows_and_counts_them() {
        let (l, rx) = Ledger::for_test(1);
        l.push(row("a", None, "sent", 1)).unwrap();
        assert_eq!(l.push(row("a", None, "sent", 2)), Err(LedgerFull::Full));
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
        assert_eq!(l.push(row("a", None, "sent", 4)), Err(LedgerFull::Stopped));
    }
}
