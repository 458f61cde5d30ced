//! The database layout and its versioned migrations, applied at start-up.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in its own
//! transaction together with the version bump, so a power cut mid-migration leaves the
//! previous version intact. Migrations are append-only: never edit a released one.
//! This module must never hold data logic beyond building and upgrading tables.

use crate::codec::{FIELD_BITS, HOUR_MS};
use rusqlite::{Connection, TransactionBehavior};

/// The schema this build writes and reads.
pub(crate) const CURRENT_VERSION: u32 = 2;

/// Page size of new files. A typical commit changes one page (the tail of `sample`), so
/// the page size is the bytes written per commit: 1 KiB pages wrote 1.5 MB per simulated
/// day where 4 KiB pages wrote 4.7 MB (`hearthd bench`), for 15.7 instead of 15.2 bytes per
/// stored sample. Fixed when the file is created.
pub(crate) const PAGE_SIZE: u32 = 1024;

/// `meta` key holding the first hour (hours since the epoch) not yet in `rollup`.
pub(crate) const META_ROLLED_UP_UNTIL: &str = "rolled_up_until_hour";

/// Version 1: raw samples and the event log.
const V1: &str = "
CREATE TABLE sample (
    -- (unix_ms << 7) | field_id: one varint key (7 bytes) instead of two columns, and
    -- inserts in time order are appends.
    k INTEGER PRIMARY KEY,
    -- numeric fields: round(value * 100); text fields: code from codec.rs
    v INTEGER NOT NULL
) STRICT;
CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,          -- unix ms
    kind INTEGER NOT NULL,        -- EventKind::code
    source TEXT,                  -- Source's display form, e.g. local:alice
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX event_at ON event(at);
";

/// Version 2: hourly rollups, kept after raw samples expire, and the watermark below which
/// they are complete.
const V2: &str = "
CREATE TABLE rollup (
    field INTEGER NOT NULL,
    hour INTEGER NOT NULL,        -- hours since the epoch (UTC)
    n INTEGER NOT NULL,
    lo INTEGER NOT NULL,          -- min, max and sum in the encoded unit of `sample.v`
    hi INTEGER NOT NULL,
    total INTEGER NOT NULL,       -- a sum, not an average, so late samples merge exactly
    PRIMARY KEY (field, hour)
) STRICT, WITHOUT ROWID;
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// Backfill the rollups of every whole hour before the newest sample's hour; that hour
/// may still receive samples, so it stays raw until the writer rolls it up.
fn v2(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(V2)?;
    let newest: Option<i64> = conn.query_row("SELECT max(k) FROM sample", [], |r| r.get(0))?;
    let watermark_hour = newest.map_or(0, |k| (k >> FIELD_BITS).div_euclid(HOUR_MS));
    conn.execute(
        &format!(
            "INSERT INTO rollup(field, hour, n, lo, hi, total)
             SELECT k & 127, (k >> {FIELD_BITS}) / {HOUR_MS}, count(*), min(v), max(v), sum(v)
             FROM sample WHERE k < ?1 GROUP BY 1, 2"
        ),
        [(watermark_hour * HOUR_MS) << FIELD_BITS],
    )?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)",
        rusqlite::params![META_ROLLED_UP_UNTIL, watermark_hour],
    )?;
    Ok(())
}

type Step = fn(&Connection) -> rusqlite::Result<()>;

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: [Step; CURRENT_VERSION as usize] = [|c| c.execute_batch(V1), v2];

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Settings that can only be chosen before the first table exists.
pub(crate) fn prepare_new_file(conn: &Connection) -> rusqlite::Result<()> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if pages == 0 {
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        // Incremental: retention frees pages, and we give them back a few at a time rather
        // than with a VACUUM that locks the file for seconds.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    Ok(())
}

/// Bring the schema from its current version up to `target`. Returns the version found.
/// Errors carry the version that failed; the caller adds the path.
pub(crate) fn migrate_to(
    conn: &mut Connection,
    target: u32,
) -> Result<u32, (u32, rusqlite::Error)> {
    let found = user_version(conn).map_err(|e| (0, e))?;
    for version in found + 1..=target {
        let step = MIGRATIONS[version as usize - 1];
        let apply = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            step(&tx)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        apply(conn).map_err(|e| (version, e))?;
        tracing::info!(version, "history database migrated");
    }
    Ok(found)
}
