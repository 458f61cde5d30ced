//! Retention: small batches, never past the rollup watermark, rollups kept, events
//! expired on their own clock, and free pages given back.

use super::*;
use crate::event::{Event, EventKind};
use std::time::Duration;

/// `n` temperature samples a second apart from `from`.
fn temps(from: UnixMillis, n: i64) -> Vec<(Field, Value, UnixMillis)> {
    (0..n)
        .map(|i| {
            (
                Field::ThermostatTemperature,
                temp(15.0 + (i % 100) as f64 / 10.0),
                UnixMillis(from.0 + i * 1000),
            )
        })
        .collect()
}

#[test]
fn expired_samples_go_in_batches_and_rollups_stay() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    put(&mut store, &temps(DAY0, 2500)); // hour 0
    let recent = UnixMillis(DAY0.0 + 10 * HOUR);
    put(&mut store, &temps(recent, 10));
    store
        .advance_rollups(UnixMillis(DAY0.0 + 11 * HOUR))
        .unwrap();
    let hourly = |s: &Store| {
        s.rollup(
            Field::ThermostatTemperature,
            DAY0,
            UnixMillis(DAY0.0 + 11 * HOUR),
            Duration::from_secs(3600),
        )
        .unwrap()
    };
    let before = hourly(&store);

    let cutoff = UnixMillis(DAY0.0 + 5 * HOUR);
    let first = store.prune(cutoff, UnixMillis(0), 1000, 2).unwrap();
    assert_eq!((first.samples_deleted, first.done), (2000, false));
    let second = store.prune(cutoff, UnixMillis(0), 1000, 2).unwrap();
    assert_eq!((second.samples_deleted, second.done), (500, true));
    assert_eq!(count_samples(&store), 10);
    assert_eq!(
        store
            .range(
                Field::ThermostatTemperature,
                recent,
                UnixMillis(i64::MAX >> 8)
            )
            .unwrap()
            .len(),
        10
    );
    // Raw data is gone, its hourly rollup is not.
    assert_eq!(hourly(&store), before);
    assert_eq!(before[0].count, 2500);
}

#[test]
fn raw_samples_are_never_deleted_before_they_are_rolled_up() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    put(&mut store, &temps(DAY0, 100));
    put(&mut store, &temps(UnixMillis(DAY0.0 + 2 * HOUR), 100));
    store.advance_rollups(UnixMillis(DAY0.0 + HOUR)).unwrap();
    // The cutoff is past everything, but hour 2 is not rolled up yet.
    let out = store
        .prune(UnixMillis(DAY0.0 + 10 * HOUR), UnixMillis(0), 1000, 10)
        .unwrap();
    assert_eq!((out.samples_deleted, out.done), (100, true));
    assert_eq!(count_samples(&store), 100);
}

#[test]
fn events_expire_on_their_own_cutoff() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let events: Vec<Event> = (0..30)
        .map(|i| Event {
            at: UnixMillis(DAY0.0 + i * HOUR),
            kind: EventKind::System,
            source: None,
            detail: format!("event {i}"),
        })
        .collect();
    store.insert_encoded(&[], &events).unwrap();
    let out = store
        .prune(UnixMillis(0), UnixMillis(DAY0.0 + 20 * HOUR), 7, 100)
        .unwrap();
    assert_eq!((out.events_deleted, out.done), (20, true));
    let left = store
        .events(DAY0, UnixMillis(DAY0.0 + 100 * HOUR), 100)
        .unwrap();
    assert_eq!(left.first().unwrap().detail, "event 20");
    assert_eq!(left.len(), 10);
}

#[test]
fn freed_pages_are_given_back_in_steps() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    put(&mut store, &temps(DAY0, 60_000));
    store
        .advance_rollups(UnixMillis(DAY0.0 + 30 * HOUR))
        .unwrap();
    let pages = |s: &Store| -> i64 {
        s.conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap()
    };
    let full = pages(&store);
    assert_eq!(store.reclaim(64, 1024).unwrap(), 0, "nothing free yet");
    store
        .prune(UnixMillis(DAY0.0 + 15 * HOUR), UnixMillis(0), 1000, 100)
        .unwrap();
    let free = store.free_pages().unwrap();
    assert!(free as i64 > full / 2, "{free} of {full} pages free");
    let given = store.reclaim(64, 64).unwrap();
    assert!((64..=64 + 1).contains(&given), "one bounded step: {given}");
    let given = given + store.reclaim(64, 100_000).unwrap();
    assert_eq!(store.free_pages().unwrap(), 0);
    // Pointer-map pages go with the truncated tail too, so the file shrinks at least as much.
    assert!(pages(&store) <= full - given as i64);
    assert_eq!(count_samples(&store), 60_000 - 15 * 3600);
}
