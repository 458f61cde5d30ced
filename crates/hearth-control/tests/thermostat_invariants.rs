//! Property tests: random configs, readings, commands and time steps through the thermostat,
//! with the safety invariants checked after every single step.
//!
//! The harness plays the daemon (and sometimes a late one). It never looks inside the
//! controller: everything is judged from outputs, state, events and refusals.

use hearth_control::refusal::codes;
use hearth_control::{ControlEvent, Thermostat, ThermostatConfig};
use hearth_model::{ClimateReading, FanMode, Fault, HvacOutputs, Mode, ThermostatChange};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
enum Op {
    /// Time passes, then a reading `delta` away from the previous true temperature.
    Read {
        dt_ms: u64,
        delta: f64,
    },
    /// Time passes, then a wild reading (spike, out of range, not a number).
    Spike {
        dt_ms: u64,
        temp: f64,
    },
    ReadError {
        dt_ms: u64,
    },
    Apply {
        dt_ms: u64,
        change: ThermostatChange,
    },
    Tick {
        dt_ms: u64,
    },
    /// What the daemon does: sleep until the controller's deadline, then tick.
    TickAtDeadline,
}

fn dt() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..=40_000,
        3 => 0u64..=120_000,
        1 => 0u64..=900_000,
    ]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop::sample::select(Mode::ALL.to_vec())
}

fn fan() -> impl Strategy<Value = FanMode> {
    prop_oneof![Just(FanMode::Auto), Just(FanMode::On)]
}

fn setpoint() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0f64..40.0,
        1 => -100.0f64..100.0,
        1 => Just(f64::NAN),
    ]
}

fn change() -> impl Strategy<Value = ThermostatChange> {
    (
        prop::option::of(mode()),
        prop::option::of(fan()),
        prop::option::of(setpoint()),
        prop::option::of(setpoint()),
        prop_oneof![4 => Just(None), 1 => setpoint().prop_map(Some)],
    )
        .prop_map(
            |(mode, fan, setpoint_heat, setpoint_cool, setpoint)| ThermostatChange {
                mode,
                fan,
                setpoint_heat,
                setpoint_cool,
                setpoint,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (dt(), -1.5f64..1.5).prop_map(|(dt_ms, delta)| Op::Read { dt_ms, delta }),
        1 => (dt(), prop_oneof![-60.0f64..110.0, Just(f64::NAN), Just(f64::INFINITY)])
            .prop_map(|(dt_ms, temp)| Op::Spike { dt_ms, temp }),
        1 => dt().prop_map(|dt_ms| Op::ReadError { dt_ms }),
        3 => (dt(), change()).prop_map(|(dt_ms, change)| Op::Apply { dt_ms, change }),
        2 => dt().prop_map(|dt_ms| Op::Tick { dt_ms }),
        3 => Just(Op::TickAtDeadline),
    ]
}

fn secs(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_secs)
}

fn config() -> impl Strategy<Value = ThermostatConfig> {
    (
        (mode(), fan(), 5.0f64..=30.0, 15.0f64..=35.0, 0.1f64..=2.0),
        (secs(0..=600), secs(0..=300), secs(0..=120), secs(5..=120)),
        (any::<bool>(), any::<bool>(), 2u32..=4, 1.0f64..=8.0),
    )
        .prop_map(|(a, b, c)| {
            let mut cfg = ThermostatConfig {
                mode: a.0,
                fan: a.1,
                setpoint_heat: a.2,
                setpoint_cool: a.3,
                hysteresis: a.4,
                cool_min_off: b.0,
                cool_min_run: b.1,
                heat_min_off: b.2,
                sensor_timeout: b.3,
                freeze_protection: c.0,
                fan_with_heat: c.1,
                jump_confirm: c.2,
                max_jump: c.3,
                ..ThermostatConfig::default()
            };
            if !cfg.validate().is_empty() {
                // Only `auto` with setpoints too close can fail here; start in heat instead.
                cfg.mode = Mode::Heat;
            }
            assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
            cfg
        })
}

/// What the harness remembers between steps to judge the next one.
struct Watch {
    cfg: ThermostatConfig,
    t0: Instant,
    now: Instant,
    true_temp: f64,
    last: HvacOutputs,
    heat_off_since: Instant,
    cool_off_since: Instant,
    cool_on_since: Instant,
    /// Last time a finite reading inside the plausible range was given.
    last_plausible: Instant,
    faults_from_events: Vec<Fault>,
    freeze_engaged: bool,
    heat_starts: u32,
    cool_starts: u32,
}

impl Watch {
    fn check(&mut self, th: &mut Thermostat) {
        let now = self.now;
        let out = th.outputs();
        let st = th.state();
        let faulted = !st.faults.is_empty();

        assert!(!(out.heat && out.cool), "heat and cool together: {out:?}");
        if faulted {
            assert_eq!(
                out,
                HvacOutputs::OFF,
                "outputs on while faulted {:?}",
                st.faults
            );
        }
        assert_eq!(st.action, out.action());

        // Events tell the same story as the state.
        for e in th.take_events() {
            match e {
                ControlEvent::FaultRaised { fault, detail } => {
                    assert!(!self.faults_from_events.contains(&fault));
                    assert!(!detail.is_empty());
                    self.faults_from_events.push(fault);
                }
                ControlEvent::FaultCleared { fault } => {
                    assert!(self.faults_from_events.contains(&fault));
                    self.faults_from_events.retain(|f| *f != fault);
                }
                ControlEvent::FreezeProtection { engaged, .. } => {
                    assert_ne!(engaged, self.freeze_engaged);
                    assert!(self.cfg.freeze_protection);
                    self.freeze_engaged = engaged;
                }
                other => panic!("lock event from the thermostat: {other:?}"),
            }
        }
        self.faults_from_events.sort();
        assert_eq!(self.faults_from_events, st.faults);

        // Equipment timers.
        if out.cool && !self.last.cool {
            let off_for = now - self.cool_off_since;
            assert!(
                off_for >= self.cfg.cool_min_off,
                "cooling restarted after {off_for:?} off"
            );
            self.cool_on_since = now;
            self.cool_starts += 1;
        }
        if !out.cool && self.last.cool {
            let ran = now - self.cool_on_since;
            assert!(
                ran >= self.cfg.cool_min_run || faulted,
                "cooling stopped after {ran:?} with no fault"
            );
            self.cool_off_since = now;
        }
        if out.heat && !self.last.heat {
            let off_for = now - self.heat_off_since;
            assert!(
                off_for >= self.cfg.heat_min_off,
                "heat restarted after {off_for:?} off"
            );
            self.heat_starts += 1;
        }
        if !out.heat && self.last.heat {
            self.heat_off_since = now;
        }

        // Outputs only for a reason.
        if out.heat {
            assert!(
                matches!(st.mode, Mode::Heat | Mode::Auto) || self.freeze_engaged,
                "heating in {:?} without freeze protection",
                st.mode
            );
        }
        if out.cool && !matches!(st.mode, Mode::Cool | Mode::Auto) {
            assert!(
                now - self.cool_on_since < self.cfg.cool_min_run,
                "cooling in {:?} past its min run",
                st.mode
            );
        }
        if out.fan && !out.cool && !(out.heat && self.cfg.fan_with_heat) {
            assert!(st.mode == Mode::FanOnly || st.fan == FanMode::On);
        }

        // Sensor timeout: with no plausible reading for the timeout, a fault must stand.
        if now - self.last_plausible >= self.cfg.sensor_timeout {
            assert!(st.faults.contains(&Fault::SensorTimeout), "{st:?}");
        }

        // Settings never leave their bounds.
        let c = &self.cfg;
        assert!((c.heat_setpoint_min..=c.heat_setpoint_max).contains(&st.setpoint_heat));
        assert!((c.cool_setpoint_min..=c.cool_setpoint_max).contains(&st.setpoint_cool));
        if st.mode == Mode::Auto {
            assert!(st.setpoint_heat <= st.setpoint_cool - c.auto_min_gap);
        }

        // The daemon's sleep never busy-loops.
        if let Some(d) = th.next_deadline() {
            assert!(d > now, "deadline {:?} not after now", d - self.t0);
        }
        self.last = out;
    }
}

fn reading(temp: f64) -> Result<ClimateReading, String> {
    Ok(ClimateReading {
        temperature: temp,
        humidity: Some(45.0),
    })
}

/// Runs `ops`, checking after each; returns how often heat and cool started.
fn run(cfg: ThermostatConfig, start_temp: f64, ops: Vec<Op>) -> (u32, u32) {
    let t0 = Instant::now();
    let mut th = Thermostat::new(cfg.clone(), t0);
    let mut w = Watch {
        cfg,
        t0,
        now: t0,
        true_temp: start_temp,
        last: HvacOutputs::OFF,
        heat_off_since: t0,
        cool_off_since: t0,
        cool_on_since: t0,
        last_plausible: t0,
        faults_from_events: Vec::new(),
        freeze_engaged: false,
        heat_starts: 0,
        cool_starts: 0,
    };
    assert_eq!(
        th.outputs(),
        HvacOutputs::OFF,
        "nothing runs before a reading"
    );
    let plausible = |t: f64| t.is_finite() && (-40.0..=85.0).contains(&t);
    for op in ops {
        match op {
            Op::Read { dt_ms, delta } => {
                w.now += Duration::from_millis(dt_ms);
                w.true_temp = (w.true_temp + delta).clamp(-40.0, 85.0);
                w.last_plausible = w.now;
                th.on_reading(reading(w.true_temp), w.now);
            }
            Op::Spike { dt_ms, temp } => {
                w.now += Duration::from_millis(dt_ms);
                if plausible(temp) {
                    w.last_plausible = w.now;
                }
                th.on_reading(reading(temp), w.now);
            }
            Op::ReadError { dt_ms } => {
                w.now += Duration::from_millis(dt_ms);
                th.on_reading(Err("i2c: no ack".into()), w.now);
            }
            Op::Apply { dt_ms, change } => {
                w.now += Duration::from_millis(dt_ms);
                let before = (th.state(), th.outputs(), th.next_deadline());
                let c = &w.cfg;
                // What the change names, with `setpoint` resolved against the resulting mode.
                let mode = change.mode.unwrap_or(before.0.mode);
                let (mut heat, mut cool) = (change.setpoint_heat, change.setpoint_cool);
                let slot = if mode == Mode::Cool {
                    &mut cool
                } else {
                    &mut heat
                };
                let conflicting = change.setpoint.is_some() && slot.is_some();
                if !conflicting && change.setpoint.is_some() {
                    *slot = change.setpoint;
                }
                let out_of_range = |v: Option<f64>, min: f64, max: f64| {
                    v.is_some_and(|v| !(v.is_finite() && v >= min && v <= max))
                };
                let must_refuse = conflicting
                    || out_of_range(heat, c.heat_setpoint_min, c.heat_setpoint_max)
                    || out_of_range(cool, c.cool_setpoint_min, c.cool_setpoint_max);
                match th.apply(&change, w.now) {
                    Ok(()) => {
                        assert!(!must_refuse, "accepted {change:?}");
                        let st = th.state();
                        assert_eq!(st.mode, mode);
                        // The named setpoints are taken as given; only the other one is pushed.
                        if let Some(v) = heat {
                            assert_eq!(st.setpoint_heat, v);
                        }
                        if let Some(v) = cool {
                            assert_eq!(st.setpoint_cool, v);
                        }
                        if mode != Mode::Auto {
                            if heat.is_none() {
                                assert_eq!(st.setpoint_heat, before.0.setpoint_heat);
                            }
                            if cool.is_none() {
                                assert_eq!(st.setpoint_cool, before.0.setpoint_cool);
                            }
                        }
                    }
                    Err(r) => {
                        assert!(codes::ALL.contains(&r.code), "{r:?}");
                        if conflicting {
                            assert_eq!(r.code, codes::CONFLICTING_SETPOINTS);
                        } else if must_refuse {
                            assert_eq!(r.code, codes::SETPOINT_OUT_OF_RANGE);
                        } else {
                            // Only a gap that no push within the bounds can make is refused.
                            assert_eq!(r.code, codes::SETPOINTS_TOO_CLOSE, "{change:?}");
                            assert_eq!(mode, Mode::Auto);
                            let h = heat.unwrap_or(before.0.setpoint_heat);
                            let k = cool.unwrap_or(before.0.setpoint_cool);
                            let can_push_cool = h + c.auto_min_gap <= c.cool_setpoint_max - 1e-9;
                            let can_push_heat = k - c.auto_min_gap >= c.heat_setpoint_min;
                            let satisfiable = match (heat.is_some(), cool.is_some()) {
                                (true, true) => false,
                                (true, false) => can_push_cool,
                                (false, true) => can_push_heat,
                                (false, false) => can_push_cool || can_push_heat,
                            };
                            assert!(
                                !satisfiable,
                                "refused a satisfiable {change:?} from {:?}",
                                before.0
                            );
                        }
                        assert!(!r.message.is_empty());
                        assert_eq!(
                            (th.state(), th.outputs(), th.next_deadline()),
                            before,
                            "a refusal changed something"
                        );
                        // The refused step did not advance the controller: let it catch up.
                        th.tick(w.now);
                    }
                }
            }
            Op::Tick { dt_ms } => {
                w.now += Duration::from_millis(dt_ms);
                th.tick(w.now);
            }
            Op::TickAtDeadline => {
                if let Some(d) = th.next_deadline() {
                    w.now = d;
                }
                th.tick(w.now);
            }
        }
        w.check(&mut th);
    }
    (w.heat_starts, w.cool_starts)
}

const SEED: u64 = 0x4845_4152_5448; // "HEARTH"

proptest! {
    // A fixed seed keeps the run reproducible; PROPTEST_RNG_SEED does not override it, so
    // change the number here to explore other sequences.
    #![proptest_config(ProptestConfig {
        cases: 768,
        rng_seed: RngSeed::Fixed(SEED),
        ..ProptestConfig::default()
    })]

    #[test]
    fn thermostat_invariants_hold_after_every_step(
        cfg in config(),
        start_temp in prop_oneof![0.0f64..12.0, 12.0f64..30.0, 30.0f64..40.0],
        ops in prop::collection::vec(op(), 1..250),
    ) {
        run(cfg, start_temp, ops);
    }
}

/// A long, sensible day: the band and the timers keep cycling within their limits.
#[test]
fn a_steady_day_cycles_within_the_limits() {
    let cfg = ThermostatConfig {
        mode: Mode::Auto,
        ..ThermostatConfig::default()
    };
    // Temperature swings slowly between 15 and 29 °C, read every 10 s for a day.
    let ops = (0..8640)
        .map(|i| {
            let phase = (i as f64) * std::f64::consts::TAU / 8640.0;
            Op::Read {
                dt_ms: 10_000,
                delta: 7.0 * phase.cos() * std::f64::consts::TAU / 8640.0,
            }
        })
        .collect();
    let (heat_starts, cool_starts) = run(cfg, 22.0, ops);
    // One warm and one cold spell: each is a handful of band cycles, not a chatter.
    assert!((1..=40).contains(&heat_starts), "{heat_starts} heat starts");
    assert!((1..=40).contains(&cool_starts), "{cool_starts} cool starts");
}
