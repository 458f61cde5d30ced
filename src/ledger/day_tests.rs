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
        },
    }
}

/// One simulated day: a reading every `poll`, sensor noise of `noise` (°C and %RH), the
/// heating cycling every 20 minutes and the door opened 20 times.
fn simulate_day(poll: Duration, noise: f64, interval: Duration) -> Day {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut store = Store::open(&path).unwrap();
    let alexa_cfg: PolicyConfig = toml::from_str(
        "[fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = 0.5\n",
    )
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
            (secs / 1200) % 2 == 0,
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
    let mut st = store.conn.prepare("SELECT cloud, kind, field, count(*), sum(count), sum(length(detail)), sum(length(payload)), max(detail) FROM ledger GROUP BY 1,2,3").unwrap();
    let r = st.query_map([], |r| Ok(format!("{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}", r.get::<_,String>(0)?, r.get::<_,String>(1)?, r.get::<_,Option<String>>(2)?, r.get::<_,i64>(3)?, r.get::<_,i64>(4)?, r.get::<_,Option<i64>>(5)?, r.get::<_,Option<i64>>(6)?, r.get::<_,String>(7)?))).unwrap();
    for x in r { eprintln!("{}", x.unwrap()); }
    drop(st);
    store
        .conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    day.file_bytes = std::fs::metadata(&path).unwrap().len();
    day
}

#[test]
fn a_day_of_two_clouds_stays_within_its_bound() {
    // The default poll (10 s) and commit interval (30 s), with noisy sensors: every reading
    // changes the temperature and humidity, so google withholds both at every reading.
    let day = simulate_day(Duration::from_secs(10), 0.05, Duration::from_secs(30));
    eprintln!(
        "ledger day: {} decisions -> {} rows, {} commits, {} bytes",
        day.decisions, day.rows, day.commits, day.file_bytes
    );
    assert!(day.decisions > 20_000, "the day was busy: {}", day.decisions);
    // Bound: the file (1 KiB pages, one index) grows by at most 256 KiB a day, a year
    // under 100 MB before retention; a third of the decisions' rows or fewer are stored.
    assert!(day.file_bytes <= 256 * 1024, "{} bytes", day.file_bytes);
    assert!(day.rows * 3 <= day.decisions, "{} rows", day.rows);
    // Commits: at most one per commit interval, and only when something waited.
    assert!(day.commits <= 2880, "{} commits", day.commits);
}
