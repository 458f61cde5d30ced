//! Schema versions: a new file, a version-1 file upgraded with its rollups backfilled, a
//! failed migration leaving the old version, and files this build must refuse.

use super::*;
use crate::error::HistoryError;
use crate::schema;
use crate::{SCHEMA_VERSION, Store};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::time::Duration;

fn pragma<T: rusqlite::types::FromSql>(store: &Store, name: &str) -> T {
    store
        .conn
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_file_gets_the_current_schema_wal_and_incremental_vacuum() {
    let db = temp_db();
    let store = Store::open(&db.path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(pragma::<String>(&store, "journal_mode"), "wal");
    assert_eq!(pragma::<i64>(&store, "synchronous"), 2, "FULL");
    assert_eq!(pragma::<i64>(&store, "auto_vacuum"), 2, "INCREMENTAL");
    assert_eq!(
        pragma::<i64>(&store, "page_size"),
        i64::from(schema::PAGE_SIZE)
    );
    drop(store);
    // Reopening finds nothing to do and keeps the file as it is.
    let store = Store::open(&db.path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

/// A version-1 file as an older hearthd left it: samples over five hours, and events.
fn make_v1(path: &std::path::Path) -> Vec<(i64, i64)> {
    let mut conn = Connection::open(path).unwrap();
    schema::prepare_new_file(&conn).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    schema::migrate_to(&mut conn, 1).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), 1);
    let mut rows = Vec::new();
    for i in 0..600i64 {
        let field = [Field::ThermostatTemperature, Field::ThermostatHumidity][(i % 2) as usize];
        let at = UnixMillis(DAY0.0 + i * 30_000 + 7);
        let value = Value::Number(18.0 + ((i * 37) % 50) as f64 / 10.0);
        let e = codec::encode(field, &value, at).unwrap();
        rows.push((e.k, e.v));
    }
    let tx = conn.transaction().unwrap();
    for (k, v) in &rows {
        tx.execute("INSERT INTO sample(k, v) VALUES (?1, ?2)", [k, v])
            .unwrap();
    }
    tx.execute(
        "INSERT INTO event(at, kind, source, detail) VALUES (?1, 3, 'manual', 'locked -> unlocked')",
        [DAY0.0],
    )
    .unwrap();
    tx.commit().unwrap();
    rows
}

/// (field id, hour) -> (n, min, max, sum), computed the slow and obvious way.
fn brute_force(rows: &[(i64, i64)], below_hour: i64) -> BTreeMap<(i64, i64), (i64, i64, i64, i64)> {
    let mut out = BTreeMap::new();
    for &(k, v) in rows {
        let hour = (k >> 7) / HOUR;
        if hour >= below_hour {
            continue;
        }
        let e = out
            .entry((k & 127, hour))
            .or_insert((0, i64::MAX, i64::MIN, 0));
        e.0 += 1;
        e.1 = e.1.min(v);
        e.2 = e.2.max(v);
        e.3 += v;
    }
    out
}

#[test]
fn a_version_1_file_is_migrated_and_its_rollups_backfilled() {
    let db = temp_db();
    let rows = make_v1(&db.path);
    let newest_hour = (rows.iter().map(|r| r.0).max().unwrap() >> 7) / HOUR;

    let store = Store::open(&db.path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let table: BTreeMap<(i64, i64), (i64, i64, i64, i64)> = store
        .conn
        .prepare("SELECT field, hour, n, lo, hi, total FROM rollup")
        .unwrap()
        .query_map([], |r| {
            Ok((
                (r.get(0)?, r.get(1)?),
                (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Whole hours before the newest are backfilled; the newest stays raw.
    assert_eq!(table, brute_force(&rows, newest_hour));
    assert_eq!(table.len(), 2 * 4, "two fields, four whole hours");
    assert_eq!(
        crate::store::rolled_up_until(&store.conn).unwrap(),
        newest_hour
    );
    // Queries over the migrated file see every sample, rolled up or not.
    let all = store
        .rollup(
            Field::ThermostatTemperature,
            DAY0,
            UnixMillis(DAY0.0 + 6 * HOUR),
            Duration::from_secs(6 * 3600),
        )
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].count, 300);
    let events = store.events(DAY0, UnixMillis(DAY0.0 + 1), 10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source, Some(hearth_model::Source::Manual));
}

#[test]
fn a_failed_migration_leaves_the_previous_version() {
    let db = temp_db();
    make_v1(&db.path);
    // Something in the way of version 2: its table already exists.
    Connection::open(&db.path)
        .unwrap()
        .execute_batch("CREATE TABLE rollup (x INTEGER)")
        .unwrap();
    let err = Store::open(&db.path).err().expect("migration must fail");
    assert!(
        matches!(err, HistoryError::Migrate { version: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("version 2"), "{err}");
    let conn = Connection::open(&db.path).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), 1);
    let samples: i64 = conn
        .query_row("SELECT count(*) FROM sample", [], |r| r.get(0))
        .unwrap();
    assert_eq!(samples, 600);
}

#[test]
fn files_from_a_newer_hearthd_and_unmigrated_files_are_refused_clearly() {
    let db = temp_db();
    drop(Store::open(&db.path).unwrap());
    Connection::open(&db.path)
        .unwrap()
        .pragma_update(None, "user_version", 9)
        .unwrap();
    let err = Store::open(&db.path).err().expect("too new");
    assert!(
        matches!(
            err,
            HistoryError::SchemaTooNew {
                found: 9,
                known: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade hearthd"), "{err}");

    let old = temp_db();
    make_v1(&old.path);
    let err = Store::open_read_only(&old.path)
        .err()
        .expect("needs migration");
    assert!(
        matches!(err, HistoryError::NeedsMigration { found: 1, .. }),
        "{err}"
    );
    let missing = Store::open_read_only(&old.path.with_file_name("nope.db")).err();
    assert!(matches!(missing, Some(HistoryError::Open { .. })));
}
