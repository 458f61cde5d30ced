//! Ledger tests: coalescing (counts and spans exact), batching without empty commits, the
//! writer end to end, migration of an old file, retention, and the size of a day.

use super::coalesce::{Pending, RUN_SPAN, RUN_SPAN_MAX, Stored};
use super::*;
use crate::cloud::LedgerConfig;
use std::path::Path;
use std::time::{Duration, Instant};

const DAY_MS: i64 = 86_400_000;
const TEMP: &str = "thermostat.temperature";

fn row(cloud: &str, field: Option<&str>, kind: &str, t: i64, detail: &str) -> Row {
    Row {
        time: UnixMillis(t),
        cloud: cloud.into(),
        field: field.map(Into::into),
        kind: kind.into(),
        detail: detail.into(),
        payload: (kind == "sent").then(|| format!("{{\"t\":{t}}}").into_bytes()),
    }
}

fn withheld(cloud: &str, field: &str, t: i64, detail: &str) -> Row {
    row(cloud, Some(field), "withheld", t, detail)
}

fn cfg(path: &Path) -> LedgerConfig {
    LedgerConfig {
        path: path.to_owned(),
        commit_interval: Duration::from_secs(30),
        // Test rows are dated near 1970: keep them.
        retention: Duration::from_secs(200 * 365 * 86_400),
        policy_reload_over_mqtt: false,
    }
}

#[test]
fn runs_of_identical_withheld_decisions_coalesce_with_exact_counts_and_spans() {
    let t0 = Instant::now();
    let every = Duration::from_secs(30);
    let mut p = Pending::default();
    for i in 0..5 {
        p.offer(withheld("g", TEMP, 1000 + i, "share = never"), t0);
    }
    // Another field and another cloud run on their own.
    p.offer(withheld("g", "lock.state", 1002, "share = never"), t0);
    p.offer(withheld("a", TEMP, 1003, "share = never"), t0);
    // A different detail for the same field ends the run and opens another.
    p.offer(withheld("g", TEMP, 2000, "no value known"), t0);
    p.offer(withheld("g", TEMP, 2001, "no value known"), t0);
    // Any other decision for the field ends that one too.
    p.offer(row("g", Some(TEMP), "included", 3000, "21.5"), t0);
    p.offer(withheld("g", TEMP, 4000, "share = never"), t0);
    p.offer(row("g", None, "sent", 3000, "message"), t0);
    assert!(
        p.take_due(t0 + every - Duration::from_millis(1), every)
            .is_empty()
    );
    let rows = p.take_due(t0 + every, every);
    let got: Vec<(i64, &str, &str, u64, i64, bool)> = rows
        .iter()
        .map(|s| {
            (
                s.row.time.0,
                s.row.cloud.as_str(),
                s.row.kind.as_str(),
                s.count,
                s.last.0,
                s.open_run.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1000, "g", "withheld", 5, 1004, false),
            (1002, "g", "withheld", 1, 1002, true),
            (1003, "a", "withheld", 1, 1003, true),
            (2000, "g", "withheld", 2, 2001, false),
            (3000, "g", "included", 1, 3000, false),
            (3000, "g", "sent", 1, 3000, false),
            (4000, "g", "withheld", 1, 4000, true),
        ]
    );
    assert_eq!(rows[5].row.payload.as_deref(), Some(&b"{\"t\":3000}"[..]));
    // The open runs' first rows were stored; their runs keep counting...
    let ids: Vec<i64> = (1..=rows.len() as i64).collect();
    p.saved(&rows, &ids);
    assert_eq!(
        p.next_due(every),
        Some(t0 + RUN_SPAN_MAX),
        "nothing else waits"
    );
    for i in 1..=3 {
        p.offer(
            withheld("g", "lock.state", 1002 + i * 10, "share = never"),
            t0,
        );
    }
    // ...an hour on, with no commit due, they stay open...
    assert!(p.take_due(t0 + RUN_SPAN, every).is_empty());
    assert_eq!(p.open_runs(), 3);
    // ...and two hours after it began a run is closed: its stored row is updated.
    let rows = p.take_due(t0 + RUN_SPAN_MAX, every);
    assert!(rows.is_empty(), "the closed runs wait one interval");
    let rows = p.take_due(t0 + RUN_SPAN_MAX + every, every);
    let updates: Vec<(Option<i64>, u64, i64)> =
        rows.iter().map(|s| (s.id, s.count, s.last.0)).collect();
    // Runs that did not grow since they were stored need no write; lock.state did.
    assert_eq!(updates, [(Some(2), 4, 1032)]);
    assert_eq!(p.open_runs(), 0);
    assert_eq!(p.next_due(every), None, "idle: no wake-up at all");
}

#[test]
fn a_run_an_hour_old_is_closed_with_a_commit_made_anyway() {
    let t0 = Instant::now();
    let every = Duration::from_secs(30);
    let mut p = Pending::default();
    p.offer(withheld("g", "lock.state", 1000, "share = never"), t0);
    p.offer(withheld("g", "lock.state", 1001, "share = never"), t0);
    let rows = p.take_due(t0 + every, every);
    p.saved(&rows, &[1]);
    // An hour and a bit later a message is sent: its commit takes the run's count along.
    let later = t0 + RUN_SPAN + Duration::from_secs(60);
    p.offer(row("g", None, "sent", 5000, "m"), later);
    assert!(
        p.take_due(later, every).is_empty(),
        "the sent row waits its interval"
    );
    let rows = p.take_due(later + every, every);
    let got: Vec<(Option<i64>, &str, u64)> = rows
        .iter()
        .map(|s| (s.id, s.row.kind.as_str(), s.count))
        .collect();
    assert_eq!(got, [(Some(1), "withheld", 2), (None, "sent", 1)]);
    assert_eq!(p.open_runs(), 0);
}

#[test]
fn a_burst_is_committed_before_the_interval() {
    let t0 = Instant::now();
    let every = Duration::from_secs(30);
    let mut p = Pending::default();
    for i in 0..super::coalesce::EARLY_COMMIT as i64 - 1 {
        p.offer(row("a", None, "sent", i, "m"), t0);
    }
    assert!(p.take_due(t0, every).is_empty(), "not yet: one row short");
    p.offer(row("a", None, "sent", 9999, "m"), t0);
    assert_eq!(p.take_due(t0, every).len(), super::coalesce::EARLY_COMMIT);
}

#[test]
fn shutdown_takes_open_runs_and_a_failed_commit_is_retried() {
    let t0 = Instant::now();
    let every = Duration::from_secs(30);
    let mut p = Pending::default();
    p.offer(row("a", None, "sent", 5, "m"), t0);
    p.offer(withheld("a", TEMP, 6, "share = never"), t0);
    let rows = p.take_due(t0 + every, every);
    assert_eq!(rows.len(), 2);
    // The commit failed: the sent row is kept, the open run's first row goes next time.
    p.restore(rows, t0 + every);
    assert_eq!(p.ready(), 1);
    p.offer(withheld("a", TEMP, 7, "share = never"), t0 + every);
    assert!(p.take_due(t0 + every + every / 2, every).is_empty());
    let all = p.take_everything(t0 + every);
    let got: Vec<(i64, u64, Option<i64>)> =
        all.iter().map(|s| (s.row.time.0, s.count, s.id)).collect();
    assert_eq!(got, [(5, 1, None), (6, 2, None)]);
    assert_eq!(p.next_due(every), None);
}

#[tokio::test]
async fn the_writer_stores_runs_and_sent_payloads_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let task = LedgerTask::spawn(&cfg(&path), None).unwrap();
    let l = task.ledger();
    let odd_bytes = vec![0xff, 0x00, b'{', 0x80];
    l.push(Row {
        payload: Some(odd_bytes.clone()),
        ..row("a", None, "sent", 10, "message")
    })
    .unwrap();
    for i in 0..1000 {
        l.push(withheld("b", "lock.state", 20 + i, "share = never"))
            .unwrap();
    }
    l.push(row(
        "a",
        Some(TEMP),
        "transformed",
        DAY_MS + 5,
        "21.3 -> 21.5",
    ))
    .unwrap();
    drop(l);
    let stats = task.finish().await;
    assert_eq!(
        stats,
        LedgerStats {
            written: 1002,
            dropped: 0,
            failed: 0
        }
    );
    let store = Store::open_read_only(&path).unwrap();
    let rows = store.rows(None, UnixMillis(0), 100).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let run = rows.iter().find(|r| r.row.kind == "withheld").unwrap();
    assert_eq!(
        (run.row.time, run.count, run.last),
        (UnixMillis(20), 1000, Some(UnixMillis(1019)))
    );
    let sent = rows.iter().find(|r| r.row.kind == "sent").unwrap();
    assert_eq!(sent.row.payload.as_deref(), Some(&odd_bytes[..]));
    assert_eq!((sent.count, sent.last), (1, None));
    let totals = store.daily_totals(None, UnixMillis(0)).unwrap();
    let withheld_day0 = totals
        .iter()
        .find(|t| t.day == "1970-01-01" && t.field == "lock.state")
        .unwrap();
    assert_eq!(withheld_day0.count, 1000, "runs count in full");
    assert!(totals.iter().any(|t| t.day == "1970-01-02" && t.count == 1));
    assert_eq!(store.rows(Some("b"), UnixMillis(0), 100).unwrap().len(), 1);
}

#[test]
fn an_old_ledger_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE ledger (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
               cloud TEXT NOT NULL, field TEXT, kind TEXT NOT NULL, detail TEXT NOT NULL,
               payload BLOB);
             CREATE INDEX ledger_cloud_time ON ledger (cloud, time);
             CREATE INDEX ledger_time ON ledger (time);
             INSERT INTO ledger (time, cloud, kind, detail, payload)
               VALUES (7, 'a', 'sent', 'old', x'7b7d');",
        )
        .unwrap();
    }
    // Readable before the daemon migrates it...
    let old = Store::open_read_only(&path).unwrap();
    assert_eq!(old.rows(None, UnixMillis(0), 10).unwrap()[0].count, 1);
    drop(old);
    // ...and migrated when opened for writing.
    let mut store = Store::open(&path).unwrap();
    let pragma = |name: &str| -> i64 {
        store
            .conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma("user_version"), i64::from(store::SCHEMA_VERSION));
    assert_eq!(pragma("auto_vacuum"), 2, "incremental");
    let ids = store
        .insert(&[Stored {
            count: 3,
            last: UnixMillis(9),
            ..Stored::single(withheld("a", TEMP, 8, "share = never"))
        }])
        .unwrap();
    assert_eq!(ids.len(), 1);
    let rows = store.rows(None, UnixMillis(0), 10).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].count, rows[0].last), (3, Some(UnixMillis(9))));
    assert_eq!(rows[1].row.payload.as_deref(), Some(&b"{}"[..]));
    drop(store);
    // A second open finds it current and changes nothing.
    let again = Store::open(&path).unwrap();
    assert_eq!(again.rows(None, UnixMillis(0), 10).unwrap().len(), 2);
}

#[test]
fn retention_deletes_expired_rows_and_gives_pages_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut store = Store::open(&path).unwrap();
    let detail = "x".repeat(400);
    let rows: Vec<Stored> = (0..3000)
        .map(|i| Stored::single(withheld("a", TEMP, i * 1000, &detail)))
        .collect();
    store.insert(&rows).unwrap();
    let (pages_before, _) = store.pages().unwrap();
    // Everything before t = 2500 s expires; 500 rows stay.
    let mut total = 0;
    loop {
        let u = store.upkeep(UnixMillis(2_500_000)).unwrap();
        total += u.deleted;
        if u.done {
            break;
        }
    }
    assert_eq!(total, 2500);
    let left = store.rows(None, UnixMillis(0), 10_000).unwrap();
    assert_eq!(left.len(), 500);
    assert!(left.iter().all(|r| r.row.time >= UnixMillis(2_500_000)));
    let (pages_after, free) = store.pages().unwrap();
    assert!(
        pages_after < pages_before / 2,
        "file not shrunk: {pages_before} -> {pages_after} pages"
    );
    assert!(free <= pages_after / 10 + 16, "{free} free pages kept");
    // Nothing expired: nothing deleted, nothing freed.
    let u = store.upkeep(UnixMillis(2_500_000)).unwrap();
    assert_eq!((u.deleted, u.pages_freed, u.done), (0, 0, true));
}

#[test]
fn no_rows_no_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut store = Store::open(&path).unwrap();
    let wal = dir.path().join("ledger.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let before = size();
    assert!(store.insert(&[]).unwrap().is_empty());
    assert_eq!(size(), before, "an empty commit wrote to the WAL");
}

#[test]
fn ledger_settings_have_defaults_and_bad_ones_are_named() {
    let parse = |text: &str| crate::config::parse(Path::new("hearth.toml"), text);
    let cfg = parse("[hardware]\nbackend = \"simulator\"\n").unwrap();
    assert_eq!(cfg.ledger.commit_interval, Duration::from_secs(30));
    assert_eq!(cfg.ledger.retention, Duration::from_secs(365 * 86_400));
    let e = parse(
        "[hardware]\nbackend = \"simulator\"\n[ledger]\ncommit_interval = \"0s\"\nretention = \"2h\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("ledger.commit_interval"), "{e}");
    assert!(e.contains("ledger.retention"), "{e}");
    let e = parse("[hardware]\nbackend = \"simulator\"\n[ledger]\nretension = \"1d\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("retension"), "{e}");
}
