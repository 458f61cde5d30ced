//! Tests that run the store and writer against real SQLite files in temporary
//! directories: migrations, batching, retention, rollups, and a full disk.
//!
//! Shared helpers live here; each file covers one behaviour. Nothing here sleeps for
//! real: the writer tests run on tokio's paused clock.

mod event_path;
mod migrations;
mod paging;
mod queries;
mod retention;
mod rollups;
mod writer;

use crate::codec;
use crate::store::Store;
use hearth_model::{Field, UnixMillis, Value};
use std::path::PathBuf;

/// 2026-11-25T00:00:00Z, an hour boundary.
pub(crate) const DAY0: UnixMillis = UnixMillis(1_795_564_800_000);
pub(crate) const HOUR: i64 = 3_600_000;

pub(crate) struct TempDb {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub(crate) fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.db");
    TempDb { _dir: dir, path }
}

pub(crate) fn temp(c: f64) -> Value {
    Value::Number(c)
}

/// Insert (field, value, at) rows through the real write path.
pub(crate) fn put(store: &mut Store, rows: &[(Field, Value, UnixMillis)]) {
    let encoded: Vec<_> = rows
        .iter()
        .map(|(f, v, at)| codec::encode(*f, v, *at).expect("encodable"))
        .collect();
    store.insert_encoded(&encoded, &[]).expect("insert");
}

/// Raw sample count straight from the table.
pub(crate) fn count_samples(store: &Store) -> i64 {
    store
        .conn
        .query_row("SELECT count(*) FROM sample", [], |r| r.get(0))
        .unwrap()
}
