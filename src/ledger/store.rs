//! The ledger's SQLite file: schema, batched inserts and the audit queries.
//!
//! WAL mode so `hearthd audit` can read while the daemon writes. Only the writer thread
//! inserts; nothing here is called from an async task directly.

use super::Row;
use hearth_model::UnixMillis;
use rusqlite::{Connection, OpenFlags, params};
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
    #[error("ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("ledger: cannot start the writer thread: {0}")]
    Thread(String),
}

/// One row as read back for `hearthd audit`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub time: UnixMillis,
    pub cloud: String,
    pub field: Option<String>,
    pub kind: String,
    pub detail: String,
    pub payload: Option<Vec<u8>>,
}

/// Rows per UTC day, cloud, field (`-` for whole messages) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotal {
    pub day: String,
    pub cloud: String,
    pub field: String,
    pub kind: String,
    pub count: u64,
}

pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    cloud TEXT NOT NULL,
    field TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB
);
CREATE INDEX IF NOT EXISTS ledger_cloud_time ON ledger (cloud, time);
CREATE INDEX IF NOT EXISTS ledger_time ON ledger (time);
";

impl Store {
    /// Open for writing, creating the file and schema.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(2))?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        open()
            .map(|conn| Self { conn })
            .map_err(|source| LedgerError::Open {
                path: path.to_owned(),
                source,
            })
    }

    /// Open an existing ledger for queries.
    pub fn open_read_only(path: &Path) -> Result<Self, LedgerError> {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(2))?;
                Ok(c)
            })
            .map(|conn| Self { conn })
            .map_err(|source| LedgerError::Open {
                path: path.to_owned(),
                source,
            })
    }

    pub fn insert(&mut self, rows: &[Row]) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO ledger (time, cloud, field, kind, detail, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rows {
                st.execute(params![
                    r.time.0, r.cloud, r.field, r.kind, r.detail, r.payload
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows since `since`, newest first, optionally for one cloud.
    pub fn rows(
        &self,
        cloud: Option<&str>,
        since: UnixMillis,
        limit: usize,
    ) -> Result<Vec<AuditRow>, LedgerError> {
        let mut st = self.conn.prepare(
            "SELECT time, cloud, field, kind, detail, payload FROM ledger
             WHERE time >= ?1 AND (?2 IS NULL OR cloud = ?2)
             ORDER BY time DESC, id DESC LIMIT ?3",
        )?;
        let rows = st.query_map(params![since.0, cloud, limit as i64], |r| {
            Ok(AuditRow {
                time: UnixMillis(r.get(0)?),
                cloud: r.get(1)?,
                field: r.get(2)?,
                kind: r.get(3)?,
                detail: r.get(4)?,
                payload: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per UTC day, cloud, field and kind: how many rows.
    pub fn daily_totals(
        &self,
        cloud: Option<&str>,
        since: UnixMillis,
    ) -> Result<Vec<DayTotal>, LedgerError> {
        let mut st = self.conn.prepare(
            "SELECT date(time / 1000, 'unixepoch') AS day, cloud, COALESCE(field, '-'), kind, COUNT(*)
             FROM ledger WHERE time >= ?1 AND (?2 IS NULL OR cloud = ?2)
             GROUP BY day, cloud, COALESCE(field, '-'), kind
             ORDER BY day, cloud, COALESCE(field, '-'), kind",
        )?;
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
