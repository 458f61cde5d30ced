//! End to end on the simulator through the public API: `open`, `run_poller`, a plain
//! on/off thermostat in the test, and the paused clock — a winter day and a summer day
//! held at their setpoints, a door change reported with no poll delay, and the lock's
//! travel reported when the bolt arrives.

use hearth_hardware::{
    DesiredOutputs, HardwareConfig, HardwareEvent, PollerConfig, SimHandle, SimulatorConfig, open,
    run_poller,
};
use hearth_model::{HvacOutputs, LockInputs, MotorDrive};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const DAY: Duration = Duration::from_secs(24 * 3600);

struct House {
    sim: SimHandle,
    events: mpsc::Receiver<HardwareEvent>,
    outputs: watch::Sender<DesiredOutputs>,
    poller: JoinHandle<Result<(), hearth_hardware::HardwareError>>,
}

fn house(sim_cfg: &str, poll: PollerConfig) -> House {
    let sim_cfg: SimulatorConfig = toml::from_str(sim_cfg).unwrap();
    let (hw, sim) = open(&HardwareConfig::default(), &sim_cfg).unwrap();
    let (ev_tx, events) = mpsc::channel(64);
    let (outputs, out_rx) = watch::channel(DesiredOutputs::default());
    let poller = tokio::spawn(run_poller(hw, poll, ev_tx, out_rx));
    House {
        sim: sim.unwrap(),
        events,
        outputs,
        poller,
    }
}

fn day_rates() -> PollerConfig {
    PollerConfig {
        poll_interval: Duration::from_secs(60),
        input_poll_interval: Duration::from_secs(10),
        ..PollerConfig::default()
    }
}

/// Run a bang-bang thermostat for a day; return the true indoor range after a warm-up hour.
async fn hold(mut h: House, setpoint: f64, heating: bool) -> (f64, f64) {
    let start = Instant::now();
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    let mut on = false;
    while let Some(ev) = h.events.recv().await {
        let HardwareEvent::Climate { at, reading } = ev else {
            continue;
        };
        let t = reading.expect("no faults injected").temperature;
        on = if heating {
            t < setpoint - 0.5 || (on && t < setpoint + 0.5)
        } else {
            t > setpoint + 0.5 || (on && t > setpoint - 0.5)
        };
        let hvac = HvacOutputs {
            heat: heating && on,
            cool: !heating && on,
            fan: on,
        };
        h.outputs.send_replace(DesiredOutputs {
            hvac,
            motor: MotorDrive::Off,
        });
        if at.duration_since(start) > Duration::from_secs(3600) {
            let truth = h.sim.indoor_temperature();
            lo = lo.min(truth);
            hi = hi.max(truth);
        }
        if at.duration_since(start) >= DAY {
            break;
        }
    }
    drop(h.outputs);
    h.poller.await.unwrap().unwrap();
    assert_eq!(
        h.sim.outputs(),
        (HvacOutputs::OFF, MotorDrive::Off),
        "off at the end"
    );
    (lo, hi)
}

#[tokio::test(start_paused = true)]
async fn a_winter_day_is_held_at_20_by_the_default_house() {
    let wall = std::time::Instant::now();
    let (lo, hi) = hold(house("", day_rates()), 20.0, true).await;
    assert!(lo > 19.0 && hi < 21.0, "indoor ranged {lo:.2}..{hi:.2} °C");
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "took {:?}",
        wall.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_summer_day_is_held_at_24_with_cooling() {
    let summer = r#"
        initial_indoor_temperature = 27.0
        outdoor = { mean = 30.0, amplitude = 5.0, coldest_hour = 5.0 }
    "#;
    let (lo, hi) = hold(house(summer, day_rates()), 24.0, false).await;
    assert!(lo > 23.0 && hi < 25.0, "indoor ranged {lo:.2}..{hi:.2} °C");
}

#[tokio::test(start_paused = true)]
async fn without_heating_the_winter_house_cools_toward_outdoors() {
    let mut h = house("initial_indoor_temperature = 20.0", day_rates());
    let start = Instant::now();
    while let Some(ev) = h.events.recv().await {
        if let HardwareEvent::Climate { at, .. } = ev
            && at.duration_since(start) >= DAY / 2
        {
            break;
        }
    }
    let t = h.sim.indoor_temperature();
    assert!(t < 12.0 && t > h.sim.outdoor_temperature(), "{t}");
}

async fn next_inputs(events: &mut mpsc::Receiver<HardwareEvent>) -> (Instant, LockInputs) {
    loop {
        if let HardwareEvent::Inputs { at, inputs } = events.recv().await.unwrap() {
            return (at, inputs);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_door_change_is_reported_with_no_poll_delay() {
    let mut h = house("", PollerConfig::default());
    let (_, first) = next_inputs(&mut h.events).await;
    assert!(!first.door_open && first.bolt_locked);
    tokio::time::advance(Duration::from_millis(37)).await;
    let opened = Instant::now();
    h.sim.open_door();
    let (at, inputs) = next_inputs(&mut h.events).await;
    assert!(inputs.door_open);
    assert_eq!(
        at, opened,
        "reported in the same instant, not at the next poll"
    );
}

#[tokio::test(start_paused = true)]
async fn unlocking_is_reported_when_the_bolt_arrives_and_a_jam_never_arrives() {
    let mut h = house("lock_travel_time = \"1500ms\"", PollerConfig::default());
    next_inputs(&mut h.events).await;
    let start = Instant::now();
    h.outputs.send_replace(DesiredOutputs {
        hvac: HvacOutputs::OFF,
        motor: MotorDrive::Unlocking,
    });
    let arrived = loop {
        let (at, inputs) = next_inputs(&mut h.events).await;
        if inputs.bolt_unlocked {
            break at;
        }
    };
    assert_eq!(arrived.duration_since(start), Duration::from_millis(1500));

    h.sim.inject(hearth_hardware::SimFault::LockJam);
    h.outputs.send_replace(DesiredOutputs {
        hvac: HvacOutputs::OFF,
        motor: MotorDrive::Locking,
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let (_, inputs) = next_inputs_or_timeout(&mut h.events, deadline).await;
        assert!(
            !inputs.bolt_locked,
            "a jammed bolt must never reach the locked switch"
        );
    }
}

async fn next_inputs_or_timeout(
    events: &mut mpsc::Receiver<HardwareEvent>,
    deadline: Instant,
) -> (Instant, LockInputs) {
    let none = LockInputs {
        bolt_locked: false,
        bolt_unlocked: false,
        door_open: false,
    };
    tokio::time::timeout_at(deadline, next_inputs(events))
        .await
        .unwrap_or((deadline, none))
}

/// The example config shipped for the daemon parses and validates, both as written
/// (simulator) and with its Raspberry Pi pin map uncommented.
#[test]
fn the_example_config_is_valid_both_ways() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        hardware: HardwareConfig,
        simulator: SimulatorConfig,
    }
    let text = include_str!("../example.toml");
    let doc: Doc = toml::from_str(text).unwrap();
    assert!(doc.hardware.validate().is_empty());
    assert!(doc.simulator.validate().is_empty());

    let mut in_pi_block = false;
    let uncommented: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("raspberry_pi pin map") {
                in_pi_block = l.contains("begin");
                return String::new();
            }
            let l = if l.starts_with("backend =") {
                "backend = \"raspberry_pi\""
            } else {
                l
            };
            match (in_pi_block, l.strip_prefix("# ")) {
                (true, Some(rest)) if !rest.starts_with('#') => rest.to_string(),
                (true, _) => String::new(),
                _ => l.to_string(),
            }
        })
        .collect();
    let doc: Doc = toml::from_str(&uncommented.join("\n")).unwrap();
    assert_eq!(doc.hardware.backend, hearth_hardware::Backend::RaspberryPi);
    assert!(
        doc.hardware.validate().is_empty(),
        "{:?}",
        doc.hardware.validate()
    );
    assert_eq!(doc.hardware.pin_uses().len(), 1 + 3 + 2 + 3);
}
