//! The events' own path: never dropped on the way to the writer, however many readings are
//! thinned meanwhile, with a backlog bound the house uses to refuse commands as `busy`.

use super::*;
use crate::config::HistoryConfig;
use crate::event::{Event, EventKind};
use crate::spawn_writer;
use hearth_model::Source;

fn event(i: i64) -> Event {
    Event {
        at: UnixMillis(UnixMillis::now().0 + i),
        kind: EventKind::System,
        source: Some(Source::System),
        detail: format!("event {i}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_flood_thins_readings_but_keeps_every_event() {
    let db = temp_db();
    let cfg = HistoryConfig {
        path: db.path.clone(),
        buffer_limit: 1000,
        ..HistoryConfig::default()
    };
    let (h, join) = spawn_writer(cfg).unwrap();
    // Without yielding, the writer cannot run: the reading channel overflows, events queue.
    let base = UnixMillis::now();
    let mut sent_events = 0;
    for i in 0..20_000i64 {
        h.record_sample(
            Field::ThermostatTemperature,
            Value::Number((i % 300) as f64),
            UnixMillis(base.0 + i),
        );
        if i % 4 == 0 {
            h.record_event(event(i));
            sent_events += 1;
        }
    }
    assert!(h.readings_dropped() > 0, "the flood should thin readings");
    assert_eq!(h.events_backlog(), sent_events);
    assert!(
        !h.has_event_room(),
        "5000 waiting events exceed the limit of 500"
    );
    let thinned = h.readings_dropped();
    h.shutdown();
    let stats = join.await.unwrap();
    assert_eq!(stats.events_received, sent_events as u64);
    assert_eq!(stats.events_written, sent_events as u64, "{stats:?}");
    assert_eq!(stats.events_dropped + stats.events_lost_at_shutdown, 0);
    assert_eq!(stats.handoff_dropped, thinned);
    let store = Store::open_read_only(&db.path).unwrap();
    let stored = store
        .events(UnixMillis(0), UnixMillis(i64::MAX >> 8), 100_000)
        .unwrap();
    assert_eq!(stored.len(), sent_events);
}

#[tokio::test(start_paused = true)]
async fn room_returns_once_the_writer_catches_up() {
    let db = temp_db();
    let cfg = HistoryConfig {
        path: db.path.clone(),
        buffer_limit: 200,
        ..HistoryConfig::default()
    };
    let (h, join) = spawn_writer(cfg).unwrap();
    for i in 0..100 {
        assert!(h.has_event_room() || i >= 100);
        h.record_event(event(i));
    }
    assert!(
        !h.has_event_room(),
        "100 waiting events reach the limit of 100"
    );
    let mut status = h.status();
    status
        .wait_for(|s| s.stats.events_written == 100)
        .await
        .unwrap();
    assert_eq!(h.events_backlog(), 0);
    assert!(h.has_event_room());
    drop(h);
    assert_eq!(join.await.unwrap().events_dropped, 0);
}
