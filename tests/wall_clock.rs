//! True wall time and time zones. The daemon's clock is driven by a simulated system clock on
//! tokio's paused clock: an NTP step of +3 h after start moves every later history timestamp
//! and the policy's local time with it, keeps history in order; and across both Europe/Berlin
//! DST transitions a 07:00-22:00 window opens and closes at 07:00 and 22:00 local time.

use hearth_model::{Field, HouseState, LockState, UnixMillis};
use hearth_policy::{Format, Now, Policy, PolicyConfig};
use hearthd::clock::{Clock, SimulatedWall};
use hearthd::config;
use hearthd::daemon;
use hearthd::shutdown::Shutdown;
use jiff::tz::TimeZone;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR_MS: i64 = 3_600_000;

fn window_policy() -> Policy {
    let cfg: PolicyConfig = toml::from_str(
        "[fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nwindow = \"07:00-22:00\"\n",
    )
    .unwrap();
    Policy::new("test-cloud", Format::Json, &cfg).unwrap()
}

/// Whether the window lets the temperature out at `now`, and the local time the policy saw.
fn window_open(p: &mut Policy, state: &mut HouseState, now: Now) -> (bool, String) {
    // A new value each time, so on_change always has something to send.
    let t = state.thermostat.temperature.unwrap_or(20.0) + 0.5;
    state.thermostat.temperature = Some(t);
    let (out, decisions) = p.on_state(state, now);
    let closed = decisions.iter().find(|d| {
        d.field == Some(Field::ThermostatTemperature) && d.detail.starts_with("outside window")
    });
    match closed {
        Some(d) => (false, d.detail.clone()),
        None => (!out.is_empty(), String::new()),
    }
}

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").expect("tzdata has Europe/Berlin (package tzdata)")
}

#[tokio::test(start_paused = true)]
async fn a_clock_step_of_three_hours_after_start_moves_timestamps_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let text = format!(
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"10s\"\ninput_poll_interval = \"1s\"\n\
         [history]\npath = \"{}\"\ncommit_interval = \"1s\"\ndeadband = 0.0\n",
        db.display()
    );
    let cfg = config::parse(Path::new("test.toml"), &text).unwrap();
    // Boot on a stale clock: 04:00 UTC (05:00 in Berlin), three hours behind the truth.
    let t0 = UnixMillis::parse_rfc3339("2026-11-25T04:00:00Z").unwrap();
    let wall = Arc::new(SimulatedWall::new(t0));
    let clock = Clock::with_source(wall.clone(), berlin());
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let running =
        daemon::start_with_clock(cfg, "test.toml".into(), Shutdown::new(), reload_rx, clock)
            .await
            .unwrap();
    let mut policy = window_policy();
    let mut state = running.state.borrow().clone();
    state.lock.state = LockState::Locked;

    tokio::time::sleep(10 * MINUTE).await;
    let before = running.clock.policy_now();
    assert_eq!(before.wall.0, t0.0 + 10 * 60_000);
    let (open, why) = window_open(&mut policy, &mut state, before);
    assert!(!open && why.contains("local time 05:10"), "{why}");

    // NTP syncs: the system clock steps forward by three hours.
    wall.step(3 * HOUR_MS);
    tokio::time::sleep(10 * MINUTE).await;
    let after = running.clock.policy_now();
    assert_eq!(
        after.wall.0,
        t0.0 + 3 * HOUR_MS + 20 * 60_000,
        "wall time follows the step"
    );
    assert_eq!(after.utc_offset_minutes, 60);
    assert!(
        window_open(&mut policy, &mut state, after).0,
        "08:20 local is inside the window"
    );
    running.stop().await.unwrap();

    // History: ordered, samples before the step at the old time, after it at the new one.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT k FROM sample ORDER BY rowid").unwrap();
    let times: Vec<i64> = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|k| k.unwrap() >> 7)
        .collect();
    assert!(times.len() > 20, "{} samples", times.len());
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "history in time order"
    );
    let step_at = t0.0 + 10 * 60_000;
    let old: Vec<_> = times.iter().filter(|t| **t <= step_at).collect();
    let new: Vec<_> = times.iter().filter(|t| **t > step_at).collect();
    assert!(!old.is_empty() && !new.is_empty());
    assert!(old.iter().all(|t| **t >= t0.0), "nothing before the start");
    assert!(
        new.iter().all(|t| **t >= step_at + 3 * HOUR_MS),
        "every sample after the step carries the corrected time"
    );
    assert!(new.iter().all(|t| **t <= t0.0 + 3 * HOUR_MS + 21 * 60_000));
}

#[tokio::test(start_paused = true)]
async fn a_berlin_window_opens_and_closes_at_local_times_across_both_dst_changes() {
    let start = UnixMillis::parse_rfc3339("2026-03-28T05:59:00Z").unwrap();
    let wall = Arc::new(SimulatedWall::new(start));
    let clock = Clock::with_source(wall, berlin());
    let mut policy = window_policy();
    let mut state = hearthd::house::stopped(house_state());
    // Moments in order (UTC), what the window must say, and the local time it must report.
    let checks = [
        // Winter time (UTC+1): 07:00 local is 06:00 UTC.
        ("2026-03-28T05:59:00Z", false, "06:59"),
        ("2026-03-28T06:00:00Z", true, ""),
        ("2026-03-28T20:59:00Z", true, ""),
        ("2026-03-28T21:00:00Z", false, "22:00"),
        // 2026-03-29 02:00 CET -> 03:00 CEST: 07:00 local is now 05:00 UTC.
        ("2026-03-29T04:59:00Z", false, "06:59"),
        ("2026-03-29T05:00:00Z", true, ""),
        ("2026-03-29T19:59:00Z", true, ""),
        ("2026-03-29T20:00:00Z", false, "22:00"),
        // 2026-10-25 03:00 CEST -> 02:00 CET: back to 06:00 UTC.
        ("2026-10-24T04:59:00Z", false, "06:59"),
        ("2026-10-24T05:00:00Z", true, ""),
        ("2026-10-25T05:59:00Z", false, "06:59"),
        ("2026-10-25T06:00:00Z", true, ""),
        ("2026-10-25T20:59:00Z", true, ""),
        ("2026-10-25T21:00:00Z", false, "22:00"),
    ];
    for (at, want_open, local) in checks {
        let at = UnixMillis::parse_rfc3339(at).unwrap();
        let now_wall = clock.wall_now();
        tokio::time::advance(Duration::from_millis((at.0 - now_wall.0) as u64)).await;
        let now = clock.policy_now();
        assert_eq!(now.wall, at);
        let (open, why) = window_open(&mut policy, &mut state, now);
        assert_eq!(open, want_open, "{at}: {why}");
        if !want_open {
            assert!(why.contains(&format!("local time {local}")), "{at}: {why}");
        }
    }
}

fn house_state() -> HouseState {
    serde_json::from_value(serde_json::json!({
        "thermostat": {
            "mode": "heat", "fan": "auto", "setpoint_heat": 20.0, "setpoint_cool": 26.0,
            "temperature": 20.0, "humidity": null, "action": "idle", "faults": []
        },
        "lock": { "state": "locked", "door": "closed", "faults": [] }
    }))
    .expect("a house state")
}

#[tokio::test(start_paused = true)]
async fn a_reload_applies_a_new_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.toml");
    let body = format!(
        "[hardware]\nbackend = \"simulator\"\n[history]\npath = \"{}\"\n",
        dir.path().join("history.db").display()
    );
    std::fs::write(&path, format!("[daemon]\ntime_zone = \"UTC\"\n{body}")).unwrap();
    let cfg = config::load(&path).unwrap();
    let t0 = UnixMillis::parse_rfc3339("2026-07-01T12:00:00Z").unwrap();
    let clock = Clock::with_source(SimulatedWall::new(t0), cfg.daemon.zone());
    let (reload_tx, reload_rx) = mpsc::channel(1);
    let running = daemon::start_with_clock(cfg, path.clone(), Shutdown::new(), reload_rx, clock)
        .await
        .unwrap();
    assert_eq!(running.clock.utc_offset_minutes(), 0);
    std::fs::write(
        &path,
        format!("[daemon]\ntime_zone = \"Europe/Berlin\"\n{body}"),
    )
    .unwrap();
    reload_tx.send(()).await.unwrap();
    let mut waited = Duration::ZERO;
    while running.clock.utc_offset_minutes() != 120 {
        assert!(
            waited < Duration::from_secs(10),
            "the new zone never applied"
        );
        // The reload reads the file on a blocking thread; real time must pass for it.
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(5));
        waited += Duration::from_millis(5);
    }
    assert_eq!(running.clock.time_zone().iana_name(), Some("Europe/Berlin"));
    running.stop().await.unwrap();
}
