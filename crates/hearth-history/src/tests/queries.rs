//! Latest value, raw ranges, events and duplicates, through the real write path.

use super::*;
use crate::event::{Event, EventKind};
use hearth_model::{LockState, Source};

fn lock(word: &str) -> Value {
    Value::Text(word.into())
}

#[test]
fn range_is_half_open_ordered_and_keeps_text_values() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let t = |s: i64| UnixMillis(DAY0.0 + s * 1000);
    put(
        &mut store,
        &[
            (Field::LockState, lock("locked"), t(0)),
            (Field::ThermostatTemperature, temp(20.5), t(1)),
            (Field::LockState, lock("moving"), t(10)),
            (Field::LockState, lock("unlocked"), t(12)),
            (Field::LockState, lock("jammed"), t(20)),
        ],
    );
    let rows = store.range(Field::LockState, t(0), t(20)).unwrap();
    let got: Vec<(i64, Value)> = rows.iter().map(|s| (s.at.0, s.value.clone())).collect();
    assert_eq!(
        got,
        [
            (t(0).0, lock("locked")),
            (t(10).0, lock("moving")),
            (t(12).0, lock("unlocked")),
        ]
    );
    assert!(rows.iter().all(|s| s.field == Field::LockState));
    let temps = store
        .range(Field::ThermostatTemperature, t(0), t(60))
        .unwrap();
    assert_eq!(temps.len(), 1);
    assert_eq!(temps[0].value, temp(20.5));
}

#[test]
fn latest_finds_recent_rolled_up_and_missing_fields() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let door = Field::LockDoor;
    put(
        &mut store,
        &[
            (door, lock("open"), UnixMillis(DAY0.0 + 5)),
            (door, lock("closed"), UnixMillis(DAY0.0 + HOUR + 5)),
            (
                Field::ThermostatTemperature,
                temp(19.0),
                UnixMillis(DAY0.0 + 3 * HOUR),
            ),
            (
                Field::ThermostatTemperature,
                temp(19.5),
                UnixMillis(DAY0.0 + 5 * HOUR),
            ),
        ],
    );
    let latest = |s: &Store, f| s.latest(f).unwrap().map(|x| (x.at.0, x.value));
    assert_eq!(
        latest(&store, door),
        Some((DAY0.0 + HOUR + 5, lock("closed")))
    );
    // Roll up everything before hour 4: the door's newest sample is now only findable
    // through its newest rolled-up hour.
    store
        .advance_rollups(UnixMillis(DAY0.0 + 4 * HOUR + 1))
        .unwrap();
    assert_eq!(
        latest(&store, door),
        Some((DAY0.0 + HOUR + 5, lock("closed")))
    );
    assert_eq!(
        latest(&store, Field::ThermostatTemperature),
        Some((DAY0.0 + 5 * HOUR, temp(19.5)))
    );
    assert_eq!(latest(&store, Field::ThermostatHumidity), None);
}

#[test]
fn duplicate_field_and_millisecond_keeps_the_first_and_counts() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let at = UnixMillis(DAY0.0 + 42);
    let a = codec::encode(Field::LockState, &lock("locked"), at).unwrap();
    let b = codec::encode(Field::LockState, &lock("unlocked"), at).unwrap();
    let c = codec::encode(Field::LockDoor, &lock("open"), at).unwrap();
    let out = store.insert_encoded(&[a, b, c], &[]).unwrap();
    assert_eq!((out.samples_written, out.samples_duplicate), (2, 1));
    assert_eq!(
        store.latest(Field::LockState).unwrap().unwrap().value,
        lock("locked")
    );
}

#[test]
fn events_come_back_oldest_first_limited_to_the_most_recent() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let events: Vec<Event> = (0..5)
        .map(|i| {
            Event::lock_change(
                UnixMillis(DAY0.0 + i * 1000),
                LockState::Locked,
                LockState::Unlocked,
                if i % 2 == 0 {
                    Source::Manual
                } else {
                    Source::Cloud("alexa".into())
                },
            )
        })
        .collect();
    let out = store.insert_encoded(&[], &events).unwrap();
    assert_eq!(out.events_written, 5);
    let got = store.events(DAY0, UnixMillis(DAY0.0 + 4000), 2).unwrap();
    assert_eq!(got, events[2..4].to_vec());
    assert_eq!(got[1].source, Some(Source::Cloud("alexa".into())));
    assert_eq!(got[0].kind, EventKind::LockChange);
    assert!(
        store
            .events(DAY0, UnixMillis(DAY0.0 + 4000), 0)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_reader_sees_commits_of_the_writer_it_borrows_and_nobody_else_can_open_it() {
    let db = temp_db();
    let slot = crate::lend::slot(Some(Store::open(&db.path).unwrap()));
    let reader = crate::Reader::of_writer(db.path.clone(), slot.clone());
    assert_eq!(
        reader
            .read()
            .unwrap()
            .latest(Field::ThermostatTemperature)
            .unwrap(),
        None
    );
    put(
        crate::lend::lock(&slot).as_mut().unwrap(),
        &[(Field::ThermostatTemperature, temp(22.25), DAY0)],
    );
    let got = reader
        .read()
        .unwrap()
        .latest(Field::ThermostatTemperature)
        .unwrap()
        .unwrap();
    assert_eq!((got.at, got.value), (DAY0, temp(22.25)));
    // The writer holds the file: another connection (the CLI) is shut out until it closes.
    let err = Store::open_read_only(&db.path)
        .err()
        .expect("held by the writer");
    assert!(err.to_string().contains("locked"), "{err}");
    *crate::lend::lock(&slot) = None;
    let beside = reader.read().unwrap();
    assert_eq!(count_samples(&beside), 1);
}

#[test]
fn the_writer_removes_a_shm_file_left_beside_its_database() {
    let db = temp_db();
    drop(Store::open(&db.path).unwrap());
    // Left by an older hearthd killed while it ran, or a reader that ran with no daemon.
    let mut shm = db.path.clone().into_os_string();
    shm.push("-shm");
    std::fs::write(&shm, vec![0xa5u8; 32 * 1024]).unwrap();
    let mut writer = Store::open(&db.path).unwrap();
    assert!(
        !std::path::Path::new(&shm).exists(),
        "removed once the file is held"
    );
    put(
        &mut writer,
        &[(Field::ThermostatTemperature, temp(21.5), DAY0)],
    );
    assert_eq!(count_samples(&writer), 1);
    assert!(!std::path::Path::new(&shm).exists(), "and not made again");
}
