//! The ledger's size per day, bounded: a simulated day of a noisy house through the real
//! policies of the two clouds (alexa sharing the temperature on change rounded to
//! 0.5, google sharing nothing), the writer's coalescing and batching, and the real store.

use super::coalesce::Pending;
use super::{Row, Store};
use hearth_model::*;
use hearth_policy::{Format, Now, Policy, PolicyConfig};
use std::time::{Duration, Instant};

/// What a day cost.
struct Day {
    decisions: u64,
    rows: u64,
    commits: u64,
    file_bytes: u64,
    /// The exact bytes of every message sent: stored as they are, never coalesced.
    payload_bytes: u64,
    withheld_rows: u64,
    /// Decisions other than `withheld`: one row each.
    other_decisions: u64,
}

fn house(temperature: f64, humidity: f64, heating: bool, door_open: bool) -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.5,
            setpoint_cool: 26.0,
            temperature: Some(temperature),
            humidity: Some(humidity),
            action: if heating {
                HvacAction::Heating
            } else {
                HvacAction::Idle
            },
            faults: Vec::new(),
        },
        lock: LockStatus {
            state: LockState::Locked,
            door: Some(if door_open {
                DoorState::Open
            } else {
                DoorState::Closed
            }),
            faults: Vec::new(),
            motion: None,
        },
    }
}

/// One simulated day: a reading every `poll`, sensor noise of `noise` (°C and %RH), the
/// heating cycling every 20 minutes and the door opened 20 times.
fn simulate_day(poll: Duration, noise: f64, interval: Duration) -> Day {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut store = Store::open(&path).unwrap();
    let alexa_cfg: PolicyConfig =
        toml::from_str("[fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = 0.5\n")
            .unwrap();
    let mut clouds = [
        Policy::new("alexa", Format::Alexa, &alexa_cfg).unwrap(),
        Policy::new("google", Format::Google, &PolicyConfig::default()).unwrap(),
    ];
    let mut rng = fastrand::Rng::with_seed(16);
    let mut gauss = || (0..12).map(|_| rng.f64()).sum::<f64>() - 6.0;
    let (mut pending, t0, wall0) = (Pending::default(), Instant::now(), 1_780_000_000_000i64);
    let mut day = Day {
        decisions: 0,
        rows: 0,
        commits: 0,
        file_bytes: 0,
        payload_bytes: 0,
        withheld_rows: 0,
        other_decisions: 0,
    };
    let steps = 86_400 / poll.as_secs();
    for step in 0..steps {
        let secs = step * poll.as_secs();
        let phase = secs as f64 / 86_400.0 * std::f64::consts::TAU;
        let temperature = 20.5 + phase.sin() + noise * gauss();
        let humidity = 45.0 + 3.0 * phase.cos() + noise * gauss();
        let state = house(
            (temperature * 100.0).round() / 100.0,
            (humidity * 10.0).round() / 10.0,
            (secs / 1200).is_multiple_of(2),
            secs % 4320 < 60,
        );
        let mono = t0 + Duration::from_secs(secs);
        let now = Now {
            wall: UnixMillis(wall0 + secs as i64 * 1000),
            mono,
            utc_offset_minutes: 0,
        };
        for policy in &mut clouds {
            let (_messages, decisions) = policy.on_state(&state, now);
            for d in decisions {
                day.decisions += 1;
                if d.kind != hearth_policy::DecisionKind::Withheld {
                    day.other_decisions += 1;
                }
                pending.offer(Row::from(d), mono);
            }
        }
        let batch = pending.take_due(mono, interval);
        if !batch.is_empty() {
            let ids = store.insert(&batch).unwrap();
            pending.saved(&batch, &ids);
            day.commits += 1;
        }
    }
    let batch = pending.take_everything(t0 + Duration::from_secs(86_400));
    store.insert(&batch).unwrap();
    day.commits += 1;
    day.rows = store
        .conn
        .query_row("SELECT count(*) FROM ledger", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let total: i64 = store
        .conn
        .query_row("SELECT sum(count) FROM ledger", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as u64, day.decisions, "every decision is counted");
    day.payload_bytes = store
        .conn
        .query_row(
            "SELECT coalesce(sum(length(payload)), 0) FROM ledger",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64;
    day.withheld_rows = store
        .conn
        .query_row(
            "SELECT count(*) FROM ledger WHERE kind = 'withheld'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64;
    store
        .conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    day.file_bytes = std::fs::metadata(&path).unwrap().len();
    day
}

#[test]
fn a_day_of_two_clouds_stays_within_its_bound() {
    // The default poll (10 s) and commit interval (30 s); sensor noise as the simulator's
    // default; the temperature swings 2 °C a day, so alexa's rounded value changes (and
    // flaps at each rounding boundary) hundreds of times: a busy day for the ledger.
    let day = simulate_day(Duration::from_secs(10), 0.05, Duration::from_secs(30));
    eprintln!(
        "ledger day: {} decisions -> {} rows ({} withheld), {} commits, {} bytes ({} of payloads)",
        day.decisions, day.rows, day.withheld_rows, day.commits, day.file_bytes, day.payload_bytes
    );
    assert!(day.decisions > 20_000, "a busy day: {}", day.decisions);
    // Every decision other than `withheld` is a row of its own, never merged.
    assert_eq!(day.rows - day.withheld_rows, day.other_decisions);
    // Withheld runs: 2 clouds x 9 fields x 24 hours at most from their span, plus one per
    // interruption by another decision of the same field (at most one per other decision).
    assert!(
        day.withheld_rows <= 2 * 9 * 24 + day.other_decisions,
        "{} withheld rows",
        day.withheld_rows
    );
    // The bound on size: the payloads as sent, plus at most 320 bytes per row (detail,
    // index entry, page slack at 1 KiB pages).
    assert!(
        day.file_bytes <= day.payload_bytes + 320 * day.rows,
        "{} bytes for {} rows",
        day.file_bytes,
        day.rows
    );
    // And here, in absolute terms: under 1 MiB for this day (the old ledger stored one row
    // per decision: 26 000 rows).
    assert!(day.file_bytes < 1 << 20, "{} bytes", day.file_bytes);
    // Commits: at most one per commit interval, and only when something waited.
    assert!(day.commits <= 2880, "{} commits", day.commits);
}
