//! End-to-end control over simulated days: the daemon's real tasks (hardware poller, house
//! task, history writer) on the simulator, with tokio's paused clock so a 24 h day runs in
//! about a second. Checks the setpoint is held, cycling is bounded by the minimum times, and
//! injected faults show up as fault states with the outputs off.

use hearth_hardware::SimFault;
use hearth_model::{Command, CommandKind, Fault, LockAction, LockState, Source};
use hearthd::config;
use hearthd::daemon::{self, Running};
use hearthd::house::CommandRequest;
use hearthd::shutdown::Shutdown;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const HOUR: Duration = Duration::from_secs(3600);

fn config_for(body: &str, dir: &Path) -> config::Config {
    let text = format!(
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"10s\"\ninput_poll_interval = \"1s\"\n\n\
         [history]\npath = \"{}\"\n\n{body}",
        dir.join("history.db").display()
    );
    config::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("test config: {e}"))
}

async fn start(cfg: config::Config) -> Running {
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    // Wall time that follows the paused clock, so a simulated day is a day in history too.
    let clock = hearthd::clock::Clock::anchored(hearth_model::UnixMillis::now());
    daemon::start_with_clock(cfg, "test.toml".into(), Shutdown::new(), reload_rx, clock)
        .await
        .expect("daemon starts on the simulator")
}

/// Sample the true indoor temperature every minute for `hours`, ignoring the first `warmup`.
async fn observe(running: &Running, hours: u64, warmup: Duration) -> (f64, f64) {
    let sim = running.sim.clone().expect("simulator handle");
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut elapsed = Duration::ZERO;
    while elapsed < HOUR * hours as u32 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        elapsed += Duration::from_secs(60);
        let (hvac, _) = sim.outputs();
        assert!(
            !(hvac.heat && hvac.cool),
            "heat and cool on together at {elapsed:?}"
        );
        if elapsed >= warmup {
            let t = sim.indoor_temperature();
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    (lo, hi)
}

#[tokio::test(start_paused = true)]
async fn a_winter_day_holds_the_heat_setpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(
        "[thermostat]\nmode = \"heat\"\nsetpoint_heat = 20.0\n\n\
         [simulator]\nseed = 7\ninitial_indoor_temperature = 17.0\nheat_rate_per_hour = 4.0\nloss_per_hour = 0.1\n\
         [simulator.outdoor]\nmean = 2.0\namplitude = 5.0\ncoldest_hour = 5.0\n",
        dir.path(),
    );
    let running = start(cfg).await;
    let (lo, hi) = observe(&running, 24, 2 * HOUR).await;
    let report = running.stop().await.expect("clean stop");
    let per_hour = report.house.heat_starts as f64 / 24.0;
    println!("winter day: indoor {lo:.2}..{hi:.2} °C, {per_hour:.2} heating cycles per hour");
    // Setpoint 20 with hysteresis 0.5, plus 0.3 °C for sensor noise and the 10 s poll.
    assert!(
        lo >= 19.2 && hi <= 20.8,
        "indoor left the band: {lo:.2}..{hi:.2}"
    );
    // Heating may restart at most once per heat_min_off (1 min) + the time to drift down.
    assert!(per_hour >= 0.5, "heating hardly ran: {per_hour}");
    assert!(
        per_hour <= 60.0,
        "cycling faster than heat_min_off allows: {per_hour}"
    );
    assert_eq!(report.house.cool_starts, 0, "a heat-mode day never cools");
}

#[tokio::test(start_paused = true)]
async fn a_summer_day_holds_the_cool_setpoint_within_compressor_limits() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(
        "[thermostat]\nmode = \"cool\"\nsetpoint_cool = 24.0\n\n\
         [simulator]\nseed = 11\ninitial_indoor_temperature = 27.0\ncool_rate_per_hour = 4.0\nloss_per_hour = 0.1\n\
         [simulator.outdoor]\nmean = 30.0\namplitude = 5.0\ncoldest_hour = 5.0\n",
        dir.path(),
    );
    let running = start(cfg).await;
    let (lo, hi) = observe(&running, 24, 3 * HOUR).await;
    let report = running.stop().await.expect("clean stop");
    let per_hour = report.house.cool_starts as f64 / 24.0;
    println!("summer day: indoor {lo:.2}..{hi:.2} °C, {per_hour:.2} cooling cycles per hour");
    // The compressor's 3 min run and 5 min rest let the room overshoot the 0.5 °C band a bit.
    assert!(
        lo >= 23.0 && hi <= 25.0,
        "indoor left the band: {lo:.2}..{hi:.2}"
    );
    assert!(per_hour >= 0.5, "cooling hardly ran: {per_hour}");
    // One cycle needs at least cool_min_run + cool_min_off = 8 min: at most 7.5 per hour.
    assert!(
        per_hour <= 7.5,
        "cycling faster than the minimum times allow: {per_hour}"
    );
    assert_eq!(report.house.heat_starts, 0, "a cool-mode day never heats");
}

#[tokio::test(start_paused = true)]
async fn sensor_dropout_turns_hvac_off_with_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(
        "[thermostat]\nmode = \"heat\"\nsetpoint_heat = 22.0\n\n[simulator]\ninitial_indoor_temperature = 18.0\n",
        dir.path(),
    );
    let running = start(cfg).await;
    let sim = running.sim.clone().unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(sim.outputs().0.heat, "heating runs before the fault");
    sim.inject(SimFault::SensorDropout);
    // sensor_timeout is 60 s; readings come every 10 s.
    tokio::time::sleep(Duration::from_secs(75)).await;
    let state = running.state.borrow().clone();
    assert!(
        state.thermostat.faults.contains(&Fault::SensorTimeout),
        "{state:?}"
    );
    assert!(
        !sim.outputs().0.heat && !sim.outputs().0.fan,
        "outputs must be off while faulted"
    );
    sim.clear_faults();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        running.state.borrow().thermostat.faults.is_empty(),
        "fault clears when readings return"
    );
    running.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_jammed_bolt_is_reported_and_the_motor_stops() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for("[simulator]\ninitial_lock = \"locked\"\n", dir.path());
    let running = start(cfg).await;
    let sim = running.sim.clone().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(running.state.borrow().lock.state, LockState::Locked);
    sim.inject(SimFault::LockJam);
    let (reply, verdict) = oneshot::channel();
    let command = Command {
        source: Source::Local("test".into()),
        kind: CommandKind::Lock(LockAction::Unlock),
    };
    running
        .commands
        .send(CommandRequest { command, reply })
        .await
        .unwrap();
    verdict.await.unwrap().expect("unlock accepted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_ne!(
        sim.outputs().1,
        hearth_model::MotorDrive::Off,
        "motor runs while travelling"
    );
    // travel_timeout is 3 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let state = running.state.borrow().clone();
    assert_eq!(state.lock.state, LockState::Jammed, "{state:?}");
    assert!(state.lock.faults.contains(&Fault::LockJammed));
    assert_eq!(
        sim.outputs().1,
        hearth_model::MotorDrive::Off,
        "motor off once jammed"
    );
    running.stop().await.unwrap();
}
