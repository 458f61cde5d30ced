//! What the writer holds between commits: rows waiting for the next commit, and open runs
//! of identical `withheld` decisions being coalesced. Pure logic on explicit instants; the
//! thread in `writer.rs` feeds it and commits what it hands out.
//!
//! A run is one (cloud, field)'s consecutive `withheld` decisions with the same detail and
//! no payload. It becomes one row with the count and the first and last decision times.
//! Its first decision is stored at the next commit like any row (so `hearthd audit` shows
//! it promptly, with count 1); the row's count and last time are updated when the run ends:
//! when a different decision for that cloud and field arrives (so the order of a field's
//! decisions is kept), when it is [`RUN_SPAN`] old and a commit is made anyway, when it is
//! [`RUN_SPAN_MAX`] old, or at shutdown. Nothing else is
//! merged: every `sent` row, with its exact payload, is stored as it came.

use super::Row;
use hearth_model::UnixMillis;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A run this old is closed with the next commit made anyway (a message sent, another row):
/// a field withheld all day costs a row an hour or two.
pub const RUN_SPAN: Duration = Duration::from_secs(3600);
/// A run this old is closed on its own, commit or not: the ledger shows it within two hours,
/// and a quiet house wakes the card for it at most every two hours.
pub const RUN_SPAN_MAX: Duration = Duration::from_secs(2 * 3600);

/// Rows waiting that make a commit due at once, interval or not: under a burst big batches
/// are cheap per row (many rows to a page), and the queue behind keeps draining.
pub const EARLY_COMMIT: usize = 1024;

/// A row as stored: `count` decisions, the last one at `last` (equal to `row.time` for one).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub row: Row,
    pub count: u64,
    pub last: UnixMillis,
    /// The row id once stored: the commit updates that row's count and last time instead
    /// of inserting.
    pub id: Option<i64>,
    /// The (cloud, field) of a still open run this is the first row of: its id is handed
    /// back with [`Pending::saved`].
    pub open_run: Option<(String, String)>,
}

impl Stored {
    pub fn single(row: Row) -> Self {
        let last = row.time;
        Stored {
            row,
            count: 1,
            last,
            id: None,
            open_run: None,
        }
    }
}

struct Run {
    stored: Stored,
    opened: Instant,
}

/// Rows and runs waiting for the writer's next commit.
#[derive(Default)]
pub struct Pending {
    ready: Vec<Stored>,
    /// When the oldest row in `ready` arrived: the commit is due an interval later.
    since: Option<Instant>,
    runs: BTreeMap<(String, String), Run>,
}

fn coalescable(row: &Row) -> bool {
    row.kind == "withheld" && row.field.is_some() && row.payload.is_none()
}

impl Pending {
    /// Rows waiting to be committed (open runs not included: they are bounded by the
    /// number of clouds times fields).
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    #[cfg(test)]
    pub fn open_runs(&self) -> usize {
        self.runs.len()
    }

    /// Take one decision that arrived at `now`.
    pub fn offer(&mut self, row: Row, now: Instant) {
        let Some(field) = row.field.clone() else {
            self.push(Stored::single(row), now);
            return;
        };
        let key = (row.cloud.clone(), field);
        if coalescable(&row)
            && let Some(run) = self.runs.get_mut(&key)
            && run.stored.row.detail == row.detail
        {
            run.stored.count += 1;
            run.stored.last = run.stored.last.max(row.time);
            return;
        }
        if let Some(run) = self.runs.remove(&key) {
            self.push(run.stored, now);
        }
        if coalescable(&row) {
            let stored = Stored::single(row);
            // Its first row goes with the next commit.
            self.since.get_or_insert(now);
            self.runs.insert(
                key,
                Run {
                    stored,
                    opened: now,
                },
            );
        } else {
            self.push(Stored::single(row), now);
        }
    }

    /// A closed run or a plain row: to be written. A closed run already stored whose count
    /// did not grow since needs no write at all.
    fn push(&mut self, stored: Stored, now: Instant) {
        if stored.id.is_some() && stored.count == 1 {
            return;
        }
        self.since.get_or_insert(now);
        self.ready.push(stored);
    }

    /// When the writer must wake next: a commit due, or a run reaching its span. `None`
    /// when nothing waits, so an idle writer sleeps until the next decision.
    pub fn next_due(&self, interval: Duration) -> Option<Instant> {
        let commit = self.since.map(|s| s + interval);
        let run = self.runs.values().map(|r| r.opened + RUN_SPAN_MAX).min();
        commit.into_iter().chain(run).min()
    }

    /// Close runs that reached [`RUN_SPAN_MAX`] by `now` (or [`RUN_SPAN`], when a commit is
    /// due anyway), then hand out every waiting row if the oldest has waited `interval` (or
    /// [`EARLY_COMMIT`] rows wait). Empty when no commit is due: never an empty commit.
    pub fn take_due(&mut self, now: Instant, interval: Duration) -> Vec<Stored> {
        let committing = self.committing(now, interval);
        let span = if committing { RUN_SPAN } else { RUN_SPAN_MAX };
        let aged: Vec<_> = self
            .runs
            .iter()
            .filter(|(_, r)| r.opened + span <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in aged {
            if let Some(run) = self.runs.remove(&key) {
                self.push(run.stored, now);
            }
        }
        if self.committing(now, interval) {
            self.take_all_ready()
        } else {
            Vec::new()
        }
    }

    /// Whether rows wait and the oldest has waited `interval`, or a burst waits.
    fn committing(&self, now: Instant, interval: Duration) -> bool {
        self.since
            .is_some_and(|s| s + interval <= now || self.ready.len() >= EARLY_COMMIT)
    }

    /// Everything, open runs included (shutdown).
    pub fn take_everything(&mut self, now: Instant) -> Vec<Stored> {
        for (_, run) in std::mem::take(&mut self.runs) {
            self.push(run.stored, now);
        }
        self.take_all_ready()
    }

    fn take_all_ready(&mut self) -> Vec<Stored> {
        self.since = None;
        let mut rows = std::mem::take(&mut self.ready);
        // The first row of each open run not stored yet.
        for (key, run) in &self.runs {
            if run.stored.id.is_none() {
                let mut first = run.stored.clone();
                first.count = 1;
                first.last = first.row.time;
                first.open_run = Some(key.clone());
                rows.push(first);
            }
        }
        // Stored oldest first, so ids follow time as closely as they can.
        rows.sort_by_key(|s| s.row.time);
        rows
    }

    /// After a commit: the ids the first rows of open runs got (`ids[i]` for `rows[i]`).
    pub fn saved(&mut self, rows: &[Stored], ids: &[i64]) {
        for (stored, id) in rows.iter().zip(ids) {
            if let Some(key) = &stored.open_run
                && let Some(run) = self.runs.get_mut(key)
            {
                run.stored.id = Some(*id);
            }
        }
    }

    /// Put back rows whose commit failed, to be tried again an interval after `now`. Open
    /// runs' first rows are not put back: they go with the next commit anyway.
    pub fn restore(&mut self, rows: Vec<Stored>, now: Instant) {
        let mut rows: Vec<Stored> = rows.into_iter().filter(|s| s.open_run.is_none()).collect();
        rows.append(&mut self.ready);
        self.ready = rows;
        self.since = Some(now);
    }
}
