//! The ledger's SQLite file: schema and its migration, batched inserts, and the audit
//! queries.
//!
//! Written for an SD card: 1 KiB pages (a commit of a few rows touches two or three pages,
//! not three 4 KiB ones), WAL with `synchronous=FULL` (a commit is durable when it returns;
//! the settings of the history file, `hearth_history::set_durable_wal`, held exclusively
//! like it: `hearth_history::lend`), one index (on `time`), and `auto_vacuum=INCREMENTAL` so retention gives pages
//! back a few at a time (see `retention.rs`). While the daemon runs, everything else reads
//! through its writer's connection (`super::Reader`). Only the writer thread inserts; nothing here is called from an async
//! task directly.
//!
//! A row with `count > 1` is a coalesced run: `count` identical decisions (same cloud,
//! field, kind and detail, no payload), the first at `time` and the last at `last`.

use super::Row;
use super::writer::Stored;
use hearth_model::UnixMillis;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "ledger {path}: {source}; check that the directory exists and is writable by hearthd ([ledger] path)"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "ledger {path} has schema version {found}, newer than this hearthd knows ({known}); \
         run the hearthd that wrote it, or move the file aside"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("ledger: cannot start the writer thread: {0}")]
    Thread(String),
}

/// One row as read back for `hearthd audit`: the row as written, and the run it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub row: Row,
    /// Decisions this row stands for (more than 1 for a coalesced run).
    pub count: u64,
    /// The last decision of a run; `None` when `count` is 1.
    pub last: Option<UnixMillis>,
}

/// Decisions per UTC day, cloud, field (`-` for whole messages) and kind (a coalesced run
/// counts as its `count`, on the day it began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotal {
    pub day: String,
    pub cloud: String,
    pub field: String,
    pub kind: String,
    pub count: u64,
}

pub struct Store {
    pub(super) conn: Connection,
}

impl hearth_history::lend::ReadOnly for Store {
    type Error = LedgerError;
    fn open_read_only(path: &Path) -> Result<Self, LedgerError> {
        Store::open_read_only(path)
    }
}

/// The schema this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = 2;
const PAGE_SIZE: i64 = 1024;

/// Version 1: the first ledger (user_version 0 on disk, it never set one).
const V1: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    cloud TEXT NOT NULL,
    field TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB
);
CREATE INDEX IF NOT EXISTS ledger_time ON ledger (time);
";

/// Version 2: coalesced runs; the (cloud, time) index goes (one index less to write per
/// commit; a year of ledger is small enough to filter by cloud while scanning by time).
const V2: &str = "
ALTER TABLE ledger ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ledger ADD COLUMN last INTEGER;
DROP INDEX IF EXISTS ledger_cloud_time;
PRAGMA user_version = 2;
";

/// The file's schema version (`PRAGMA user_version`), refused when newer than this build's.
fn known_version(conn: &Connection, path: &Path) -> Result<u32, LedgerError> {
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| LedgerError::Open {
            path: path.to_owned(),
            source,
        })?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

impl Store {
    /// Open for writing, creating the file and schema, migrating an older file.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let err = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(2))
            .map_err(err)?;
        // Before anything reads the file: held exclusively, WAL index in memory (no -shm
        // file rewritten at every commit); readers borrow this connection (`Reader`).
        hearth_history::lend::hold_exclusively(&conn).map_err(err)?;
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(err)?;
        if pages == 0 {
            // Only possible before the first table exists.
            conn.pragma_update(None, "page_size", PAGE_SIZE)
                .map_err(err)?;
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(err)?;
        }
        let version = known_version(&conn, path)?;
        let vacuum: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(err)?;
        if vacuum != 2 {
            // A ledger from before retention: switching needs one VACUUM, which only works
            // outside WAL mode. Done once; the ledger is small.
            conn.pragma_update(None, "journal_mode", "DELETE")
                .map_err(err)?;
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(err)?;
            conn.execute_batch("VACUUM").map_err(err)?;
        }
        hearth_history::set_durable_wal(&conn).map_err(err)?;
        hearth_history::lend::remove_stale_shm(path);
        if version < SCHEMA_VERSION {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            if version < 1 {
                tx.execute_batch(V1).map_err(err)?;
            }
            let has_count: bool = tx
                .query_row(
                    "SELECT count(*) FROM pragma_table_info('ledger') WHERE name = 'count'",
                    [],
                    |r| r.get::<_, i64>(0).map(|n| n > 0),
                )
                .map_err(err)?;
            if has_count {
                tx.execute_batch("PRAGMA user_version = 2").map_err(err)?;
            } else {
                tx.execute_batch(V2).map_err(err)?;
            }
            tx.commit().map_err(err)?;
        }
        Ok(Self { conn })
    }

    /// Open an existing ledger for queries (the CLI when no daemon holds the file; a
    /// [`super::Reader`] while the writer is closed).
    pub fn open_read_only(path: &Path) -> Result<Self, LedgerError> {
        let err = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(2))?;
                Ok(c)
            })
            .map_err(err)?;
        known_version(&conn, path)?;
        // An older file not migrated yet (the daemon migrates it when it opens it) is read
        // without the run columns: see `has_runs`.
        Ok(Self { conn })
    }

    /// Write rows in one transaction: insert new ones, update the count and last time of
    /// runs already stored. Returns each row's id. No rows: no transaction at all.
    pub fn insert(&mut self, rows: &[Stored]) -> Result<Vec<i64>, LedgerError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(rows.len());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO ledger (time, cloud, field, kind, detail, payload, count, last)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut upd =
                tx.prepare_cached("UPDATE ledger SET count = ?2, last = ?3 WHERE id = ?1")?;
            for s in rows {
                let last = (s.count > 1).then_some(s.last.0);
                let count = i64::try_from(s.count).unwrap_or(i64::MAX);
                if let Some(id) = s.id {
                    upd.execute(params![id, count, last])?;
                    ids.push(id);
                    continue;
                }
                let r = &s.row;
                ins.execute(params![
                    r.time.0, r.cloud, r.field, r.kind, r.detail, r.payload, count, last
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    fn has_runs(&self) -> Result<bool, LedgerError> {
        let version: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(version >= 2)
    }

    /// Rows since `since`, newest first, optionally for one cloud.
    pub fn rows(
        &self,
        cloud: Option<&str>,
        since: UnixMillis,
        limit: usize,
    ) -> Result<Vec<AuditRow>, LedgerError> {
        let runs = if self.has_runs()? {
            "count, last"
        } else {
            "1, NULL"
        };
        let mut st = self.conn.prepare(&format!(
            "SELECT time, cloud, field, kind, detail, payload, {runs} FROM ledger
             WHERE time >= ?1 AND (?2 IS NULL OR cloud = ?2)
             ORDER BY time DESC, id DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![since.0, cloud, limit], |r| {
            Ok(AuditRow {
                row: Row {
                    time: UnixMillis(r.get(0)?),
                    cloud: r.get(1)?,
                    field: r.get(2)?,
                    kind: r.get(3)?,
                    detail: r.get(4)?,
                    payload: r.get(5)?,
                },
                count: r.get::<_, i64>(6)?.max(1) as u64,
                last: r.get::<_, Option<i64>>(7)?.map(UnixMillis),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per UTC day, cloud, field and kind: how many decisions (runs count in full).
    pub fn daily_totals(
        &self,
        cloud: Option<&str>,
        since: UnixMillis,
    ) -> Result<Vec<DayTotal>, LedgerError> {
        let count = if self.has_runs()? { "count" } else { "1" };
        let mut st = self.conn.prepare(&format!(
            "SELECT date(time / 1000, 'unixepoch') AS day, cloud, COALESCE(field, '-'), kind,
                    SUM({count})
             FROM ledger WHERE time >= ?1 AND (?2 IS NULL OR cloud = ?2)
             GROUP BY day, cloud, COALESCE(field, '-'), kind
             ORDER BY day, cloud, COALESCE(field, '-'), kind"
        ))?;
        let rows = st.query_map(params![since.0, cloud], |r| {
            Ok(DayTotal {
                day: r.get(0)?,
                cloud: r.get(1)?,
                field: r.get(2)?,
                kind: r.get(3)?,
                count: r.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
