//! `Store`: one SQLite connection to the history file — opening, migrating, and the one
//! write path (a batch of samples and events in one transaction).
//!
//! Durability, chosen for an SD card that may lose power at any moment:
//! - `journal_mode=WAL`: a commit appends to the WAL and never rewrites the main file in
//!   place, so a torn write cannot corrupt committed data.
//! - `synchronous=FULL`: the WAL is fsynced at every commit. With `NORMAL`, a power cut
//!   could roll back every commit since the last checkpoint (up to ~1000 pages, hours of
//!   data); with `FULL` it loses at most what was not yet committed, i.e. one
//!   `commit_interval`. The cost is one fsync per commit, which batching keeps rare.
//!
//! - `locking_mode=EXCLUSIVE` for the writer (`lend.rs`): no `-shm` file rewritten at
//!   every commit; readers borrow the writer's connection through a [`crate::Reader`].
//!
//! Blocking: every method does disk I/O. Call from a blocking thread, never from the
//! control loop.

use crate::codec::{self, Encoded};
use crate::error::{Doing, HistoryError};
use crate::event::{self, Event};
use crate::schema::{self, CURRENT_VERSION, META_ROLLED_UP_UNTIL};
use hearth_model::{Field, UnixMillis, Value};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another connection's lock before failing. A daemon
/// holds its file for as long as it runs (`lend.rs`), so this only rides out the moments a
/// writer opens or closes.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// The write settings of each hearth database (this history and hearthd's ledger), as the
/// module text explains: `journal_mode=WAL`, `synchronous=FULL`, and a WAL checkpoint every
/// ~100 pages.
pub fn set_durable_wal(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoint every ~100 pages, not SQLite's 1000, so the WAL is restarted and its
    // first pages reused: measured with small commits spaced so that the kernel writes
    // each one back (as the daemon's are), 17 KiB written a commit instead of 20.
    conn.pragma_update(None, "wal_autocheckpoint", 100)?;
    set_cache(conn)
}

/// Page cache per connection, in KiB (SQLite's default is 2 000): the daemon holds a
/// writer and a reader for history plus the ledger's, and a year-long query or the first
/// retention sweep fills a cache to its limit; 512 KiB each keeps them inside the daemon's
/// memory budget (BENCHMARKS.md: the flood's peak RSS).
pub const CACHE_KIB: i64 = 512;

fn set_cache(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
}

/// One stored reading: a field's value at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub at: UnixMillis,
    pub field: Field,
    pub value: Value,
}

/// What one batch insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub samples_written: u64,
    /// Samples whose field and millisecond were already stored; the first one is kept.
    pub samples_duplicate: u64,
    pub events_written: u64,
}

impl crate::lend::ReadOnly for Store {
    type Error = HistoryError;
    fn open_read_only(path: &Path) -> Result<Store, HistoryError> {
        Store::open_read_only(path)
    }
}

/// A connection to the history database.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// Transactions this handle committed (tests count the card's commits with it).
    #[cfg(test)]
    pub(crate) commits: u64,
}

impl Store {
    /// Open (creating if needed) the database for writing and migrate it to the current
    /// schema.
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // First, before anything reads the file: the WAL index in memory (lend.rs).
        crate::lend::hold_exclusively(&conn).map_err(open_err)?;
        schema::prepare_new_file(&conn).map_err(open_err)?;
        set_durable_wal(&conn).map_err(open_err)?;
        crate::lend::remove_stale_shm(path);
        let found = schema::user_version(&conn).map_err(open_err)?;
        if found > CURRENT_VERSION {
            return Err(HistoryError::SchemaTooNew {
                path: path.to_owned(),
                found,
                known: CURRENT_VERSION,
            });
        }
        schema::migrate_to(&mut conn, CURRENT_VERSION).map_err(|(version, source)| {
            HistoryError::Migrate {
                path: path.to_owned(),
                version,
                source,
            }
        })?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            #[cfg(test)]
            commits: 0,
        })
    }

    /// Open an existing, current database for queries only (the CLI when no daemon holds
    /// the file; a [`crate::Reader`] while the writer is closed). Never migrates and never
    /// creates the file.
    pub fn open_read_only(path: &Path) -> Result<Store, HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        set_cache(&conn).map_err(open_err)?;
        let found = schema::user_version(&conn).map_err(open_err)?;
        if found != CURRENT_VERSION {
            return Err(if found > CURRENT_VERSION {
                HistoryError::SchemaTooNew {
                    path: path.to_owned(),
                    found,
                    known: CURRENT_VERSION,
                }
            } else {
                HistoryError::NeedsMigration {
                    path: path.to_owned(),
                    found,
                    known: CURRENT_VERSION,
                }
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
            #[cfg(test)]
            commits: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, HistoryError> {
        schema::user_version(&self.conn).doing("reading the schema version")
    }

    /// Store samples and events in one transaction. Samples that cannot be encoded (wrong
    /// kind for the field, NaN, time before 1970) are skipped and counted as not written.
    pub fn insert(
        &mut self,
        samples: &[Sample],
        events: &[Event],
    ) -> Result<InsertOutcome, HistoryError> {
        let encoded: Vec<Encoded> = samples
            .iter()
            .filter_map(|s| codec::encode(s.field, &s.value, s.at).ok())
            .collect();
        self.insert_encoded(&encoded, events)
    }

    /// The write path shared by the writer and the bench: one immediate transaction.
    ///
    /// Samples for hours already rolled up (late arrivals after an outage) are merged into
    /// their rollup row in the same transaction, so rollups always equal the raw data.
    pub(crate) fn insert_encoded(
        &mut self,
        samples: &[Encoded],
        events: &[Event],
    ) -> Result<InsertOutcome, HistoryError> {
        self.write_batch(samples, events, None)
    }

    /// [`Store::insert_encoded`], then, in the same transaction, what
    /// [`Store::advance_rollups`]`(now)` would do: the writer's cycle in a new hour commits
    /// once instead of twice (each commit costs the card ~15 KiB whatever it holds).
    pub(crate) fn insert_and_roll_up(
        &mut self,
        samples: &[Encoded],
        events: &[Event],
        now: UnixMillis,
    ) -> Result<InsertOutcome, HistoryError> {
        self.write_batch(samples, events, Some(now))
    }

    fn write_batch(
        &mut self,
        samples: &[Encoded],
        events: &[Event],
        roll_up_before: Option<UnixMillis>,
    ) -> Result<InsertOutcome, HistoryError> {
        let mut out = InsertOutcome::default();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .doing("starting a write transaction")?;
        let watermark = rolled_up_until(&tx).doing("reading the rollup watermark")?;
        let mut late: BTreeMap<(u16, i64), Agg> = BTreeMap::new();
        {
            let mut ins = tx
                .prepare_cached("INSERT OR IGNORE INTO sample(k, v) VALUES (?1, ?2)")
                .doing("preparing the sample insert")?;
            for s in samples {
                if ins.execute(params![s.k, s.v]).doing("inserting samples")? == 1 {
                    out.samples_written += 1;
                    if s.hour() < watermark {
                        late.entry((s.field_id(), s.hour())).or_default().add(s.v);
                    }
                } else {
                    out.samples_duplicate += 1;
                }
            }
        }
        if !late.is_empty() {
            let mut up = tx
                .prepare_cached(UPSERT_ROLLUP)
                .doing("preparing the rollup merge")?;
            for ((field, hour), a) in late {
                up.execute(params![field, hour, a.n, a.lo, a.hi, a.total])
                    .doing("merging late samples into rollups")?;
            }
        }
        if !events.is_empty() {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO event(at, kind, source, detail) VALUES (?1, ?2, ?3, ?4)",
                )
                .doing("preparing the event insert")?;
            for e in events {
                let source = e.source.as_ref().map(event::source_to_text);
                ins.execute(params![e.at.0, e.kind.code(), source, e.detail])
                    .doing("inserting events")?;
                out.events_written += 1;
            }
        }
        if let Some(now) = roll_up_before {
            roll_up(&tx, now)?;
        }
        tx.commit().doing("committing samples and events")?;
        #[cfg(test)]
        {
            self.commits += 1;
        }
        Ok(out)
    }

    /// Roll every whole hour before `now`'s hour into `rollup` and move the watermark.
    /// Returns how many (field, hour) rows were written.
    pub fn advance_rollups(&mut self, now: UnixMillis) -> Result<usize, HistoryError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .doing("starting the rollup transaction")?;
        let rows = roll_up(&tx, now)?;
        if rows.is_none() {
            // Nothing to roll up: the transaction changed nothing and is dropped unwritten.
            return Ok(0);
        }
        tx.commit().doing("committing hourly rollups")?;
        #[cfg(test)]
        {
            self.commits += 1;
        }
        Ok(rows.unwrap_or(0))
    }

    /// Limit the file to `pages` pages from now on (tests simulate a full disk with it).
    #[cfg(test)]
    pub(crate) fn set_max_page_count(&self, pages: u64) -> Result<(), HistoryError> {
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .doing("setting max_page_count")
    }
}

/// Inside `tx`: roll every whole hour before `now`'s hour into `rollup` and move the
/// watermark. `None` when the watermark is already there (nothing written).
fn roll_up(tx: &rusqlite::Transaction<'_>, now: UnixMillis) -> Result<Option<usize>, HistoryError> {
    let target = codec::hour_of(now);
    let from = rolled_up_until(tx).doing("reading the rollup watermark")?;
    if target <= from {
        return Ok(None);
    }
    let rows = tx
        .execute(ROLL_UP_RANGE, params![hour_key(from), hour_key(target)])
        .doing("rolling up hourly samples")?;
    tx.execute(
        "UPDATE meta SET value = ?2 WHERE key = ?1",
        params![META_ROLLED_UP_UNTIL, target],
    )
    .doing("moving the rollup watermark")?;
    Ok(Some(rows))
}

/// Merge a new (field, hour) aggregate into an existing rollup row.
macro_rules! merge_on_conflict {
    () => {
        " ON CONFLICT(field, hour) DO UPDATE SET n = n + excluded.n, lo = min(lo, excluded.lo),
          hi = max(hi, excluded.hi), total = total + excluded.total"
    };
}

const UPSERT_ROLLUP: &str = concat!(
    "INSERT INTO rollup(field, hour, n, lo, hi, total) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    merge_on_conflict!()
);

const ROLL_UP_RANGE: &str = concat!(
    "INSERT INTO rollup(field, hour, n, lo, hi, total)
     SELECT k & 127, (k >> 7) / 3600000, count(*), min(v), max(v), sum(v)
     FROM sample WHERE k >= ?1 AND k < ?2 GROUP BY 1, 2",
    merge_on_conflict!()
);

/// The first key of an hour.
pub(crate) fn hour_key(hour: i64) -> i64 {
    codec::key_floor(codec::hour_start(hour))
}

/// The first hour whose rollups are not final; raw samples from there on are the truth.
pub(crate) fn rolled_up_until(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [META_ROLLED_UP_UNTIL],
        |r| r.get(0),
    )
}

/// Running min/max/sum/count in the encoded unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Agg {
    pub n: i64,
    pub lo: i64,
    pub hi: i64,
    pub total: i64,
}

impl Default for Agg {
    fn default() -> Self {
        Agg {
            n: 0,
            lo: i64::MAX,
            hi: i64::MIN,
            total: 0,
        }
    }
}

impl Agg {
    pub fn add(&mut self, v: i64) {
        self.n += 1;
        self.lo = self.lo.min(v);
        self.hi = self.hi.max(v);
        self.total += v;
    }

    pub fn merge(&mut self, o: Agg) {
        self.n += o.n;
        self.lo = self.lo.min(o.lo);
        self.hi = self.hi.max(o.hi);
        self.total += o.total;
    }
}
