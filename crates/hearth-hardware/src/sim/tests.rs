//! Simulator behaviour: physics at the configured rates, the lock and its jam, the door,
//! faults, the script, edge announcements, and determinism for a seed.

use super::script::ScriptStep;
use super::*;
use tokio::time::{advance, timeout};

/// Wait for an edge announcement, failing (not hanging) if none comes within `within`.
async fn announced(edge: &Notify, within: Duration) {
    timeout(within, edge.notified())
        .await
        .expect("no edge was announced");
}

const HOUR: Duration = Duration::from_secs(3600);
const HEAT: HvacOutputs = HvacOutputs {
    heat: true,
    cool: false,
    fan: true,
};

fn quiet(cfg: SimulatorConfig) -> SimulatorConfig {
    SimulatorConfig {
        noise_stddev: 0.0,
        ..cfg
    }
}

#[tokio::test(start_paused = true)]
async fn heating_raises_the_temperature_at_the_configured_rate() {
    let cfg = quiet(SimulatorConfig {
        heat_rate_per_hour: 2.5,
        loss_per_hour: 0.0,
        initial_indoor_temperature: 15.0,
        ..SimulatorConfig::default()
    });
    let (mut hw, sim) = Simulator::new(&cfg);
    hw.set_hvac(HEAT).unwrap();
    advance(2 * HOUR).await;
    assert!(
        (sim.indoor_temperature() - 20.0).abs() < 1e-6,
        "{}",
        sim.indoor_temperature()
    );
    assert!((hw.read_climate().unwrap().temperature - 20.0).abs() < 0.01);
    hw.set_hvac(HvacOutputs::OFF).unwrap();
    advance(HOUR).await;
    assert!(
        (sim.indoor_temperature() - 20.0).abs() < 1e-6,
        "no loss, no change"
    );
}

#[tokio::test(start_paused = true)]
async fn with_losses_heating_gains_its_rate_minus_the_loss() {
    let cfg = quiet(SimulatorConfig {
        initial_indoor_temperature: 20.0,
        outdoor: OutdoorProfile {
            mean: 0.0,
            amplitude: 0.0,
            coldest_hour: 0.0,
        },
        ..SimulatorConfig::default()
    });
    let (mut hw, sim) = Simulator::new(&cfg);
    hw.set_hvac(HEAT).unwrap();
    advance(Duration::from_secs(600)).await;
    // 3 °C/h heating against 0.1/h × 20 °C of loss: about +1 °C/h, so +1/6 °C in 10 min.
    let gained = sim.indoor_temperature() - 20.0;
    assert!((gained - 1.0 / 6.0).abs() < 0.01, "{gained}");
}

#[tokio::test(start_paused = true)]
async fn cooling_lowers_the_temperature_at_the_configured_rate() {
    let cfg = quiet(SimulatorConfig {
        cool_rate_per_hour: 4.0,
        loss_per_hour: 0.0,
        initial_indoor_temperature: 28.0,
        ..SimulatorConfig::default()
    });
    let (mut hw, sim) = Simulator::new(&cfg);
    hw.set_hvac(HvacOutputs {
        cool: true,
        ..HvacOutputs::OFF
    })
    .unwrap();
    advance(HOUR / 2).await;
    assert!((sim.indoor_temperature() - 26.0).abs() < 1e-6);
}

#[tokio::test(start_paused = true)]
async fn heat_and_cool_together_are_refused() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    hw.set_hvac(HEAT).unwrap();
    let both = HvacOutputs {
        heat: true,
        cool: true,
        fan: true,
    };
    assert_eq!(hw.set_hvac(both), Err(HardwareError::Interlock));
    let (hvac, _) = sim.outputs();
    assert!(!hvac.heat && !hvac.cool);
}

#[tokio::test(start_paused = true)]
async fn the_motor_moves_the_bolt_in_the_travel_time() {
    let (mut hw, _sim) = Simulator::new(&SimulatorConfig::default());
    assert!(hw.read_inputs().unwrap().bolt_locked);
    hw.set_motor(MotorDrive::Unlocking).unwrap();
    advance(Duration::from_millis(10)).await;
    let mid = hw.read_inputs().unwrap();
    assert!(!mid.bolt_locked && !mid.bolt_unlocked, "{mid:?}");
    advance(Duration::from_millis(1490)).await;
    assert!(hw.read_inputs().unwrap().bolt_unlocked);
}

#[tokio::test(start_paused = true)]
async fn a_jam_keeps_the_switch_open_while_the_motor_runs() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    sim.inject(SimFault::LockJam);
    hw.set_motor(MotorDrive::Unlocking).unwrap();
    advance(Duration::from_secs(30)).await;
    let i = hw.read_inputs().unwrap();
    assert!(!i.bolt_unlocked && !i.bolt_locked, "{i:?}");
    assert_eq!(
        sim.outputs().1,
        MotorDrive::Unlocking,
        "the motor still runs"
    );
    sim.clear_faults();
    advance(Duration::from_secs(1)).await;
    assert!(
        hw.read_inputs().unwrap().bolt_unlocked,
        "free once unjammed"
    );
}

#[tokio::test(start_paused = true)]
async fn door_opens_and_closes_and_announces_each_edge() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    let edge = hw.edge_notify().unwrap();
    sim.open_door();
    // The permit is stored, so this returns without time passing.
    let before = Instant::now();
    announced(&edge, Duration::from_millis(1)).await;
    assert_eq!(Instant::now(), before);
    assert!(hw.read_inputs().unwrap().door_open);
    sim.close_door();
    announced(&edge, Duration::from_millis(1)).await;
    assert!(!hw.read_inputs().unwrap().door_open);
}

#[tokio::test(start_paused = true)]
async fn a_door_held_open_cannot_be_closed_until_cleared() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    sim.inject(SimFault::DoorHeldOpen);
    sim.close_door();
    assert!(hw.read_inputs().unwrap().door_open);
    sim.clear_faults();
    assert!(
        hw.read_inputs().unwrap().door_open,
        "still open until closed"
    );
    sim.close_door();
    assert!(!hw.read_inputs().unwrap().door_open);
}

#[tokio::test(start_paused = true)]
async fn sensor_faults_give_dropouts_and_implausible_values() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    assert!(hw.read_climate().is_ok());
    sim.inject(SimFault::SensorDropout);
    assert!(matches!(
        hw.read_climate(),
        Err(SensorError::NoResponse { .. })
    ));
    sim.clear_faults();
    sim.inject(SimFault::ImplausibleReading);
    assert_eq!(hw.read_climate().unwrap().temperature, -127.0);
    assert_eq!(sim.faults(), [SimFault::ImplausibleReading]);
}

#[tokio::test(start_paused = true)]
async fn a_key_turn_changes_the_switches_with_no_motor() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig::default());
    sim.turn_key(LockAction::Unlock);
    assert!(hw.read_inputs().unwrap().bolt_unlocked);
    assert_eq!(sim.outputs().1, MotorDrive::Off);
}

#[tokio::test(start_paused = true)]
async fn scripted_events_fire_on_time_without_anyone_polling() {
    let cfg = SimulatorConfig {
        script: vec![
            ScriptStep {
                after: 2 * HOUR,
                action: SimAction::OpenDoor,
            },
            ScriptStep {
                after: 3 * HOUR,
                action: SimAction::SensorDropout,
            },
        ],
        ..SimulatorConfig::default()
    };
    let (mut hw, sim) = Simulator::new(&cfg);
    let edge = hw.edge_notify().unwrap();
    announced(&edge, 3 * HOUR).await;
    assert_eq!(
        sim.elapsed(),
        2 * HOUR,
        "the waker brought the door open at 2h exactly"
    );
    assert!(hw.read_inputs().unwrap().door_open);
    assert!(hw.read_climate().is_ok());
    advance(HOUR).await;
    assert!(hw.read_climate().is_err());
}

#[tokio::test(start_paused = true)]
async fn bolt_arrival_is_announced_at_the_travel_time() {
    let (mut hw, sim) = Simulator::new(&SimulatorConfig {
        initial_lock: InitialBolt::Unlocked,
        ..SimulatorConfig::default()
    });
    let edge = hw.edge_notify().unwrap();
    hw.set_motor(MotorDrive::Locking).unwrap();
    loop {
        announced(&edge, Duration::from_secs(10)).await;
        if hw.read_inputs().unwrap().bolt_locked {
            break;
        }
    }
    assert_eq!(sim.elapsed(), Duration::from_millis(1500));
}

/// A day of readings every ten minutes with the heating cycling; the same for a seed.
async fn trace(seed: u64) -> Vec<(f64, Option<f64>)> {
    let (mut hw, _sim) = Simulator::new(&SimulatorConfig {
        seed,
        ..SimulatorConfig::default()
    });
    let mut out = Vec::new();
    for i in 0..144 {
        let t = hw.read_climate().unwrap();
        out.push((t.temperature, t.humidity));
        hw.set_hvac(if i % 12 < 6 { HEAT } else { HvacOutputs::OFF })
            .unwrap();
        advance(Duration::from_secs(600)).await;
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_trace() {
    let a = trace(42).await;
    let b = trace(42).await;
    assert_eq!(a, b);
    let c = trace(43).await;
    assert_ne!(a, c, "the noise comes from the seed");
}
