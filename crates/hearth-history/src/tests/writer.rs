//! The writer task on tokio's paused clock: commits on the interval and not before, early
//! when the buffer fills, flushes at shutdown, and rides out a full disk and a missing
//! directory without losing anything it did not count.

use super::*;
use crate::config::HistoryConfig;
use crate::cycle::Db;
use crate::event::{Event, EventKind};
use crate::writer::{HistoryHandle, WriterStatus, spawn_with_db};
use crate::{Reader, WriterStats, spawn_writer};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep};

/// Single readings, not means: these tests follow each temperature they send.
fn config(path: &std::path::Path) -> HistoryConfig {
    HistoryConfig {
        path: path.to_owned(),
        average_over: Duration::ZERO,
        ..HistoryConfig::default()
    }
}

/// Wall time for samples: upkeep uses the real clock, so samples must be recent.
fn now() -> UnixMillis {
    UnixMillis::now()
}

/// `n` temperatures a whole degree apart (all past the deadband), a millisecond apart.
fn send_temps(h: &HistoryHandle, base: UnixMillis, first: i64, n: i64) {
    for i in first..first + n {
        h.record_sample(
            Field::ThermostatTemperature,
            temp(i as f64),
            UnixMillis(base.0 + i),
        );
    }
}

async fn until(status: &mut watch::Receiver<WriterStatus>, what: impl Fn(&WriterStatus) -> bool) {
    status.wait_for(|s| what(s)).await.expect("writer alive");
}

/// What `reader` sees; `Reader::file` once the writer is gone.
fn stored_temps(reader: &Reader) -> Vec<f64> {
    let store = reader.read().unwrap();
    store
        .range(
            Field::ThermostatTemperature,
            UnixMillis(0),
            UnixMillis(i64::MAX >> 8),
        )
        .unwrap()
        .into_iter()
        .map(|s| match s.value {
            Value::Number(x) => x,
            other => panic!("not a number: {other:?}"),
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn commits_every_interval_and_not_before() {
    let db = temp_db();
    let (h, join) = spawn_writer(config(&db.path)).unwrap();
    let mut status = h.status();
    let start = Instant::now();
    let base = now();
    send_temps(&h, base, 0, 10);
    sleep(Duration::from_secs(29)).await;
    assert_eq!(status.borrow().stats.commits, 0);
    assert!(!db.path.exists(), "nothing written before the interval");

    until(&mut status, |s| s.stats.commits == 1).await;
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(stored_temps(&h.reader()).len(), 10);

    send_temps(&h, base, 10, 5);
    until(&mut status, |s| s.stats.commits == 2).await;
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert_eq!(stored_temps(&h.reader()).len(), 15);
    drop(h);
    let stats = join.await.unwrap();
    assert_eq!(stats.samples_written, 15);
    assert_eq!(stats.unaccounted(), 0);
}

#[tokio::test(start_paused = true)]
async fn steady_values_cost_a_heartbeat() {
    let db = temp_db();
    let (h, join) = spawn_writer(config(&db.path)).unwrap();
    let base = now();
    // An hour of 10-second polls of a steady 21 °C with sensor jitter under the deadband.
    for i in 0..360i64 {
        let jitter = if i % 2 == 0 { 0.0 } else { 0.0625 };
        h.record_sample(
            Field::ThermostatTemperature,
            temp(21.0 + jitter),
            UnixMillis(base.0 + i * 10_000),
        );
        h.record_sample(
            Field::ThermostatMode,
            Value::Text("heat".into()),
            UnixMillis(base.0 + i * 10_000),
        );
    }
    drop(h);
    let stats = join.await.unwrap();
    // The first of each, then one per 15-minute heartbeat; the final commit also carries
    // each field's newest reading (at 59:50), its next heartbeat being due 10 s later.
    assert_eq!(stats.samples_written, 2 * 5);
    assert_eq!(stats.samples_skipped, 720 - 10);
    assert_eq!(stored_temps(&Reader::file(db.path.clone())).len(), 5);
}

#[tokio::test(start_paused = true)]
async fn flushes_on_shutdown_even_while_other_handles_live() {
    let db = temp_db();
    let (h, join) = spawn_writer(config(&db.path)).unwrap();
    let other = h.clone();
    send_temps(&h, now(), 0, 7);
    h.record_event(Event {
        at: now(),
        kind: EventKind::System,
        source: None,
        detail: "shutting down".into(),
    });
    other.shutdown();
    let stats = join.await.unwrap();
    assert_eq!((stats.samples_written, stats.events_written), (7, 1));
    assert_eq!(stats.commits, 1);
    assert_eq!(stored_temps(&Reader::file(db.path.clone())).len(), 7);
    // The writer is gone: recording is still safe, and does nothing.
    other.record_sample(Field::ThermostatTemperature, temp(1.0), now());
}

#[tokio::test(start_paused = true)]
async fn commits_early_when_the_buffer_is_half_full() {
    let db = temp_db();
    let cfg = HistoryConfig {
        buffer_limit: 200,
        ..config(&db.path)
    };
    let (h, join) = spawn_writer(cfg).unwrap();
    let mut status = h.status();
    let start = Instant::now();
    send_temps(&h, now(), 0, 100);
    until(&mut status, |s| s.stats.commits == 1).await;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status.borrow().stats.samples_written, 100);
    drop(h);
    assert_eq!(join.await.unwrap().samples_dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_buffers_drops_oldest_counts_and_recovers() {
    let db = temp_db();
    let cfg = HistoryConfig {
        buffer_limit: 500,
        ..config(&db.path)
    };
    let limit = Arc::new(AtomicU64::new(0));
    let mut inner = Db::new(&cfg);
    inner.max_page_count = Some(limit.clone());
    let (h, join) = spawn_with_db(cfg, inner);
    let mut status = h.status();
    let base = now();

    send_temps(&h, base, 0, 100);
    until(&mut status, |s| s.stats.samples_written == 100).await;

    // The disk fills: the file may not grow by a single page.
    limit.store(1, Ordering::SeqCst);
    for chunk in 0..10 {
        send_temps(&h, base, 1000 + chunk * 200, 200);
        sleep(Duration::from_secs(1)).await;
    }
    until(&mut status, |s| !s.healthy).await;
    sleep(Duration::from_secs(60)).await; // two more failed retries
    {
        let s = status.borrow();
        assert!(!s.healthy);
        assert!(
            s.last_error.as_deref().unwrap().contains("full"),
            "{:?}",
            s.last_error
        );
        assert_eq!(s.fault(), Some(hearth_model::Fault::HistoryUnavailable));
        assert_eq!(s.pending_samples, 500, "bounded buffer");
        assert_eq!(s.stats.samples_dropped, 1500, "oldest dropped, counted");
        assert!(s.stats.failed_commits >= 3);
    }
    assert_eq!(stored_temps(&h.reader()).len(), 100, "nothing half-written");

    // Space returns.
    limit.store(u64::from(u32::MAX - 1), Ordering::SeqCst);
    until(&mut status, |s| {
        s.healthy && s.pending_samples == 0 && s.pending_events == 0
    })
    .await;
    drop(h);
    let stats: WriterStats = join.await.unwrap();
    assert_eq!(stats.unaccounted(), 0, "{stats:?}");
    assert_eq!(stats.samples_received, 2100);
    assert_eq!(stats.samples_written + stats.samples_dropped, 2100);
    // What is stored is exactly the first 100 and the newest 500 of the outage.
    let want: Vec<f64> = (0..100).chain(2500..3000).map(|i| i as f64).collect();
    assert_eq!(stored_temps(&Reader::file(db.path.clone())), want);
    let store = Store::open_read_only(&db.path).unwrap();
    let events = store
        .events(UnixMillis(0), UnixMillis(i64::MAX), 10)
        .unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::FaultRaised, EventKind::FaultCleared]);
    assert!(
        events[0].detail.starts_with("history_unavailable: "),
        "{}",
        events[0].detail
    );
    assert!(
        events[1].detail.contains("1500 samples"),
        "{}",
        events[1].detail
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_directory_is_retried_until_it_appears() {
    let db = temp_db();
    let path = db.path.parent().unwrap().join("not-yet").join("history.db");
    let (h, join) = spawn_writer(config(&path)).unwrap();
    let mut status = h.status();
    send_temps(&h, now(), 0, 5);
    until(&mut status, |s| !s.healthy).await;
    assert!(
        status
            .borrow()
            .last_error
            .as_deref()
            .unwrap()
            .contains("not-yet")
    );
    std::fs::create_dir(path.parent().unwrap()).unwrap();
    until(&mut status, |s| s.healthy).await;
    drop(h);
    let stats = join.await.unwrap();
    assert_eq!((stats.samples_written, stats.events_written), (5, 2));
    assert_eq!(stats.unaccounted(), 0);
    assert_eq!(stored_temps(&Reader::file(path.clone())).len(), 5);
}

#[test]
fn an_invalid_config_is_refused_before_anything_starts() {
    let cfg = HistoryConfig {
        commit_interval: Duration::ZERO,
        ..HistoryConfig::default()
    };
    let err = spawn_writer(cfg).err().expect("invalid");
    assert!(err.to_string().contains("history.commit_interval"), "{err}");
}
