//! One readable test per thermostat rule. Time is made up: no clock, no sleeps.

use super::*;

const OFF: HvacOutputs = HvacOutputs::OFF;
const HEAT: HvacOutputs = HvacOutputs {
    heat: true,
    cool: false,
    fan: false,
};
const COOL: HvacOutputs = HvacOutputs {
    heat: false,
    cool: true,
    fan: true,
};

struct Rig {
    th: Thermostat,
    t0: Instant,
}

impl Rig {
    fn new(cfg: ThermostatConfig) -> Rig {
        let t0 = Instant::now();
        Rig {
            th: Thermostat::new(cfg, t0),
            t0,
        }
    }

    fn mode(mode: Mode) -> Rig {
        Rig::new(ThermostatConfig {
            mode,
            ..ThermostatConfig::default()
        })
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    /// Feed `temp` at `secs`, return the outputs after it.
    fn read(&mut self, secs: u64, temp: f64) -> HvacOutputs {
        let now = self.at(secs);
        self.th.on_reading(
            Ok(ClimateReading {
                temperature: temp,
                humidity: None,
            }),
            now,
        );
        self.th.outputs()
    }

    /// Feed `temp` every 30 s from `from` to `to` inclusive; return the outputs at each.
    fn hold(&mut self, from: u64, to: u64, temp: f64) -> Vec<(u64, HvacOutputs)> {
        (from..=to)
            .step_by(30)
            .map(|s| (s, self.read(s, temp)))
            .collect()
    }

    fn tick(&mut self, secs: u64) -> HvacOutputs {
        let now = self.at(secs);
        self.th.tick(now);
        self.th.outputs()
    }

    fn set(&mut self, secs: u64, change: ThermostatChange) -> Result<(), Refusal> {
        let now = self.at(secs);
        self.th.apply(&change, now)
    }
}

fn first_on(trace: &[(u64, HvacOutputs)], pick: fn(HvacOutputs) -> bool) -> Option<u64> {
    trace.iter().find(|(_, o)| pick(*o)).map(|(s, _)| *s)
}

#[test]
fn starts_from_config_with_everything_off_and_no_reading() {
    let mut r = Rig::new(ThermostatConfig {
        mode: Mode::Heat,
        setpoint_heat: 21.0,
        ..ThermostatConfig::default()
    });
    let s = r.th.state();
    assert_eq!(
        (s.mode, s.setpoint_heat, s.temperature),
        (Mode::Heat, 21.0, None)
    );
    assert_eq!(s.action, HvacAction::Idle);
    assert!(s.faults.is_empty());
    assert_eq!(r.th.outputs(), OFF);
    // Without a reading nothing heats, however long we wait short of the timeout.
    assert_eq!(r.tick(59), OFF);
    assert_eq!(r.th.next_deadline(), Some(r.at(60)));
    assert!(r.th.take_events().is_empty());
}

#[test]
fn heating_follows_the_hysteresis_band() {
    let mut r = Rig::mode(Mode::Heat); // setpoint 20, hysteresis 0.5
    r.hold(0, 60, 19.6);
    assert_eq!(r.th.outputs(), OFF, "19.6 is inside the band: no call");
    assert_eq!(r.read(90, 19.5), HEAT, "starts at setpoint - hysteresis");
    assert_eq!(r.read(120, 20.4), HEAT, "keeps going inside the band");
    assert_eq!(r.read(150, 20.5), OFF, "stops at setpoint + hysteresis");
    assert_eq!(r.read(180, 19.6), OFF, "does not restart inside the band");
    assert_eq!(r.read(210, 19.5), HEAT);
    assert_eq!(r.th.state().action, HvacAction::Heating);
}

#[test]
fn heating_waits_out_its_min_off_time_including_after_start() {
    let mut r = Rig::mode(Mode::Heat);
    assert_eq!(r.read(10, 18.0), OFF, "start-up counts as switched off");
    assert_eq!(r.th.next_deadline(), Some(r.at(60)));
    assert_eq!(r.tick(60), HEAT);
    assert_eq!(r.read(90, 20.5), OFF);
    assert_eq!(r.read(120, 18.0), OFF, "off only 30 s");
    assert_eq!(r.th.next_deadline(), Some(r.at(150)));
    assert_eq!(r.tick(150), HEAT);
}

#[test]
fn cooling_respects_min_off_and_min_run() {
    let mut r = Rig::mode(Mode::Cool); // setpoint 24
    let trace = r.hold(0, 330, 24.5);
    assert_eq!(
        first_on(&trace, |o| o.cool),
        Some(300),
        "5 min off from start-up"
    );
    assert_eq!(r.th.outputs(), COOL);
    let trace = r.hold(360, 510, 23.0);
    assert_eq!(
        first_on(&trace, |o| !o.cool),
        Some(480),
        "runs 3 min even though satisfied at 360"
    );
    let trace = r.hold(540, 810, 25.0);
    assert_eq!(first_on(&trace, |o| o.cool), Some(780), "5 min off again");
}

#[test]
fn min_run_is_served_by_a_tick_at_the_deadline() {
    let mut r = Rig::mode(Mode::Cool);
    r.hold(0, 300, 25.0);
    assert!(r.th.outputs().cool);
    assert_eq!(r.read(310, 23.0), COOL);
    assert_eq!(
        r.th.next_deadline(),
        Some(r.at(370)),
        "sensor timeout first"
    );
    r.read(360, 23.0);
    assert_eq!(r.th.next_deadline(), Some(r.at(420)));
    r.read(410, 23.0);
    assert_eq!(r.th.next_deadline(), Some(r.at(470)));
    r.read(460, 23.0);
    assert_eq!(r.th.next_deadline(), Some(r.at(480)), "min run ends");
    assert_eq!(r.tick(480), OFF);
}

#[test]
fn switching_mode_off_does_not_cut_the_compressor_short() {
    let mut r = Rig::mode(Mode::Cool);
    r.hold(0, 300, 25.0);
    r.set(
        330,
        ThermostatChange {
            mode: Some(Mode::Off),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.th.outputs(), COOL);
    let trace = r.hold(360, 480, 25.0);
    assert_eq!(first_on(&trace, |o| !o.cool), Some(480));
}

#[test]
fn auto_changes_over_without_overlap() {
    let mut r = Rig::mode(Mode::Auto); // heat 20, cool 24
    let trace = r.hold(0, 330, 25.0);
    assert_eq!(first_on(&trace, |o| o.cool), Some(300));
    // A sudden cold spell: cooling must finish its run before heat may start.
    r.hold(360, 390, 21.0);
    r.hold(420, 450, 19.0);
    assert_eq!(r.th.outputs(), COOL);
    assert_eq!(r.read(480, 19.0), HEAT);
}

#[test]
fn a_sensor_fault_stops_everything_at_once_even_mid_run() {
    let mut r = Rig::new(ThermostatConfig {
        mode: Mode::Cool,
        fan: FanMode::On,
        ..ThermostatConfig::default()
    });
    r.hold(0, 300, 25.0);
    assert!(r.th.outputs().cool);
    r.th.take_events();
    assert_eq!(r.read(310, 95.0), OFF, "fan too, min run or not");
    let s = r.th.state();
    assert_eq!(s.faults, [Fault::SensorImplausible]);
    assert_eq!(s.temperature, Some(25.0), "the last valid value stays");
    let ev = r.th.take_events();
    assert!(
        matches!(&ev[..], [ControlEvent::FaultRaised { fault: Fault::SensorImplausible, detail }] if detail.contains("95")),
        "{ev:?}"
    );
    r.read(320, 25.0);
    assert!(r.th.state().faults.is_empty());
    assert_eq!(
        r.th.take_events(),
        [ControlEvent::FaultCleared {
            fault: Fault::SensorImplausible
        }]
    );
    assert!(!r.th.outputs().cool, "min off applies after a fault stop");
}

#[test]
fn an_implausible_jump_is_a_fault() {
    let mut r = Rig::mode(Mode::Heat);
    r.hold(0, 60, 18.0);
    assert_eq!(r.th.outputs(), HEAT);
    assert_eq!(r.read(70, 30.0), OFF, "jump of 12 > max_jump 5");
    assert_eq!(r.th.state().faults, [Fault::SensorImplausible]);
    assert_eq!(r.read(80, 18.2), OFF, "back to normal, but heat min off");
    assert!(r.th.state().faults.is_empty());
}

#[test]
fn sensor_timeout_stops_heat_and_is_published() {
    let mut r = Rig::mode(Mode::Heat);
    r.hold(0, 60, 18.0);
    assert_eq!(r.th.outputs(), HEAT);
    r.th.take_events();
    r.th.on_reading(Err("no such device".into()), r.at(100));
    assert_eq!(r.th.outputs(), HEAT, "one failed read is not yet a fault");
    assert_eq!(r.th.next_deadline(), Some(r.at(120)));
    assert_eq!(r.tick(120), OFF);
    assert_eq!(r.th.state().faults, [Fault::SensorTimeout]);
    assert_eq!(r.th.state().action, HvacAction::Idle);
    let ev = r.th.take_events();
    assert!(
        matches!(&ev[..], [ControlEvent::FaultRaised { fault: Fault::SensorTimeout, detail }]
            if detail.contains("thermostat.sensor_timeout") && detail.contains("no such device")),
        "{ev:?}"
    );
    r.read(200, 18.0);
    assert!(r.th.state().faults.is_empty());
    assert_eq!(r.tick(180 + 60), HEAT);
}

#[test]
fn no_reading_at_all_times_out() {
    let mut r = Rig::mode(Mode::Heat);
    r.tick(60);
    assert_eq!(r.th.state().faults, [Fault::SensorTimeout]);
    assert_eq!(r.th.next_deadline(), None);
}

#[test]
fn freeze_protection_heats_in_mode_off() {
    let mut r = Rig::mode(Mode::Off);
    r.hold(0, 60, 4.9);
    assert_eq!(r.th.outputs(), HEAT);
    assert_eq!(
        r.th.take_events(),
        [ControlEvent::FreezeProtection {
            engaged: true,
            temperature: Some(4.9)
        }]
    );
    assert_eq!(r.read(90, 5.4), HEAT);
    assert_eq!(r.read(120, 5.5), OFF, "stops at freeze_below + hysteresis");
    assert_eq!(
        r.th.take_events(),
        [ControlEvent::FreezeProtection {
            engaged: false,
            temperature: Some(5.5)
        }]
    );
}

#[test]
fn freeze_protection_also_guards_cool_and_fan_only_modes() {
    for mode in [Mode::Cool, Mode::FanOnly] {
        let mut r = Rig::mode(mode);
        r.hold(0, 60, 3.0);
        assert!(r.th.outputs().heat, "{mode:?}");
    }
}

#[test]
fn freeze_protection_can_be_disabled() {
    let mut r = Rig::new(ThermostatConfig {
        freeze_protection: false,
        ..ThermostatConfig::default()
    });
    r.hold(0, 120, 2.0);
    assert_eq!(r.th.outputs(), OFF);
}

#[test]
fn freeze_protection_cannot_run_on_a_faulted_sensor() {
    let mut r = Rig::mode(Mode::Off);
    r.hold(0, 60, 3.0);
    assert!(r.th.outputs().heat);
    r.tick(120);
    assert_eq!(r.th.outputs(), OFF);
    let ev = r.th.take_events();
    assert!(ev.contains(&ControlEvent::FreezeProtection {
        engaged: false,
        temperature: None
    }));
}

#[test]
fn fan_follows_mode_and_fan_setting() {
    let mut r = Rig::mode(Mode::FanOnly);
    assert!(r.read(0, 30.0).fan);
    assert_eq!(r.th.state().action, HvacAction::Fan);
    r.set(
        10,
        ThermostatChange {
            mode: Some(Mode::Heat),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.th.outputs(), OFF);
    r.set(
        20,
        ThermostatChange {
            fan: Some(FanMode::On),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.th.outputs().fan);

    let mut r = Rig::new(ThermostatConfig {
        mode: Mode::Heat,
        fan_with_heat: true,
        ..ThermostatConfig::default()
    });
    r.hold(0, 60, 18.0);
    assert_eq!(
        r.th.outputs(),
        HvacOutputs {
            heat: true,
            cool: false,
            fan: true
        }
    );
}

#[test]
fn refused_change_leaves_everything_as_it_was() {
    let mut r = Rig::mode(Mode::Heat);
    r.hold(0, 60, 18.0);
    let before = (r.th.state(), r.th.outputs(), r.th.next_deadline());
    let err = r
        .set(
            70,
            ThermostatChange {
                mode: Some(Mode::Off),
                setpoint_heat: Some(4.0),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code, "setpoint_out_of_range");
    assert_eq!(
        (r.th.state(), r.th.outputs(), r.th.next_deadline()),
        before,
        "the valid mode part was not applied either"
    );
    let err = r
        .set(
            70,
            ThermostatChange {
                mode: Some(Mode::Auto),
                setpoint_heat: Some(24.0),
                setpoint_cool: Some(24.5),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code, "setpoints_too_close");
    assert_eq!(r.th.state(), before.0);
}

#[test]
fn accepted_setpoint_change_acts_at_once() {
    let mut r = Rig::mode(Mode::Heat);
    r.hold(0, 60, 20.0);
    assert_eq!(r.th.outputs(), OFF);
    r.set(
        70,
        ThermostatChange {
            setpoint_heat: Some(22.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.th.outputs(), HEAT);
    assert_eq!(r.th.state().setpoint_heat, 22.0);
}

#[test]
fn time_going_backwards_is_treated_as_no_time() {
    let mut r = Rig::mode(Mode::Heat);
    r.hold(0, 60, 18.0);
    r.read(90, 20.5);
    // A late-arriving reading stamped earlier must not let heat restart before min off.
    assert_eq!(r.read(30, 18.0), OFF);
    assert_eq!(r.th.next_deadline(), Some(r.at(150)));
    assert_eq!(r.read(149, 18.0), OFF);
    assert_eq!(r.tick(150), HEAT);
}
