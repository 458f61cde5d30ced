//! Property tests: a simulated bolt, door and key holder against the lock controller, with
//! random commands and time steps and the safety invariants checked after every call.
//!
//! The harness plays the daemon (ticking at deadlines) and sometimes a late one. It never
//! looks inside the controller: it judges motor, status, events and refusals.

use hearth_control::refusal::codes;
use hearth_control::{ControlEvent, LockConfig, LockController};
use hearth_model::{Fault, LockAction, LockInputs, LockState, MotorDrive, Source};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
enum Op {
    /// Time passes with the daemon ticking at every deadline; then fresh inputs.
    Advance {
        dt_ms: u64,
    },
    /// Time passes with no tick at all (a stalled daemon); then fresh inputs.
    LateInputs {
        dt_ms: u64,
    },
    Command {
        action: LockAction,
        source: Source,
    },
    Door {
        open: bool,
    },
    /// Someone turns the key: 0 = unlocked, 100 = locked, between = half-way.
    Key {
        position: f64,
    },
    /// One reading with both limit switches closed.
    Glitch,
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        Just(Source::Local("alice".into())),
        Just(Source::Cloud("alexa".into())),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let action = prop_oneof![Just(LockAction::Lock), Just(LockAction::Unlock)];
    prop_oneof![
        8 => (0u64..5_000).prop_map(|dt_ms| Op::Advance { dt_ms }),
        1 => (0u64..120_000).prop_map(|dt_ms| Op::Advance { dt_ms }),
        1 => (0u64..6_000).prop_map(|dt_ms| Op::LateInputs { dt_ms }),
        5 => (action, source()).prop_map(|(action, source)| Op::Command { action, source }),
        3 => any::<bool>().prop_map(|open| Op::Door { open }),
        1 => prop_oneof![Just(0.0), Just(100.0), 1.0f64..99.0]
            .prop_map(|position| Op::Key { position }),
        1 => Just(Op::Glitch),
    ]
}

fn config() -> impl Strategy<Value = LockConfig> {
    (
        500u64..=5_000,
        prop::option::of(1u64..=60).prop_map(|s| s.map(Duration::from_secs)),
    )
        .prop_map(|(travel_ms, auto_relock_after)| LockConfig {
            travel_timeout: Duration::from_millis(travel_ms),
            auto_relock_after,
        })
}

/// The physical bolt and door, and what the harness knows about the controller's past.
struct World {
    cfg: LockConfig,
    lock: LockController,
    now: Instant,
    /// 0 = fully unlocked, 100 = fully locked.
    bolt: f64,
    /// Bolt travel per millisecond of motor drive; 0 is a seized bolt.
    speed: f64,
    door_open: bool,
    inputs_given: bool,
    last_inputs: Option<LockInputs>,
    motor: MotorDrive,
    drive_since: Instant,
    state: LockState,
}

impl World {
    fn inputs(&self) -> LockInputs {
        LockInputs {
            bolt_locked: self.bolt >= 100.0,
            bolt_unlocked: self.bolt <= 0.0,
            door_open: self.door_open,
        }
    }

    /// Let the motor move the bolt until `until`.
    fn physics(&mut self, until: Instant) {
        let ms = (until - self.now).as_secs_f64() * 1000.0;
        let step = ms * self.speed;
        match self.lock.motor() {
            MotorDrive::Locking => self.bolt = (self.bolt + step).min(100.0),
            MotorDrive::Unlocking => self.bolt = (self.bolt - step).max(0.0),
            MotorDrive::Off => {}
        }
        self.now = until;
    }

    fn give_inputs(&mut self, inputs: LockInputs) {
        self.lock.on_inputs(inputs, self.now);
        self.inputs_given = true;
        self.last_inputs = Some(inputs);
        self.check(Caller::Inputs);
    }

    fn check(&mut self, caller: Caller) {
        let now = self.now;
        let motor = self.lock.motor();
        let status = self.lock.status();

        if motor != MotorDrive::Off {
            assert!(
                self.inputs_given,
                "motor driven before the sensors were read"
            );
            if motor != self.motor {
                self.drive_since = now;
            }
            let driven = now - self.drive_since;
            assert!(
                driven < self.cfg.travel_timeout,
                "motor {motor:?} driven for {driven:?}, timeout {:?}",
                self.cfg.travel_timeout
            );
        }
        if motor == MotorDrive::Locking {
            assert!(
                !self.last_inputs.is_some_and(|i| i.door_open),
                "locking with the door open"
            );
        }
        assert_eq!(
            status.state == LockState::Moving,
            motor != MotorDrive::Off,
            "{status:?} {motor:?}"
        );
        if status.state == LockState::Jammed {
            assert!(status.faults.contains(&Fault::LockJammed));
        }
        let conflict = self
            .last_inputs
            .is_some_and(|i| i.bolt_locked && i.bolt_unlocked);
        assert_eq!(status.faults.contains(&Fault::LockSensorConflict), conflict);
        if !self.inputs_given {
            assert_eq!(status.state, LockState::Unknown);
        }
        if let Some(d) = self.lock.next_deadline() {
            assert!(d > now, "deadline not after now");
        }

        for e in self.lock.take_events() {
            if let ControlEvent::LockChanged { from, to, source } = e {
                assert_eq!(from, self.state, "events skip a state");
                assert_ne!(from, to);
                if source == Source::Manual {
                    assert!(
                        caller == Caller::Inputs && self.motor == MotorDrive::Off,
                        "manual change while the motor ran or from a {caller:?}"
                    );
                }
                if source == Source::AutoRelock {
                    assert!(self.cfg.auto_relock_after.is_some());
                }
                self.state = to;
            }
        }
        assert_eq!(self.state, status.state, "events and status disagree");
        self.motor = motor;
    }

    /// Advance to `until`, ticking at each deadline on the way like the daemon does.
    fn advance(&mut self, until: Instant) {
        while let Some(d) = self.lock.next_deadline().filter(|&d| d <= until) {
            self.physics(d);
            self.lock.tick(d);
            self.check(Caller::Tick);
        }
        self.physics(until);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Inputs,
    Tick,
    Command,
}

fn run(cfg: LockConfig, bolt: f64, speed: f64, door_open: bool, ops: Vec<Op>) {
    let t0 = Instant::now();
    let mut w = World {
        lock: LockController::new(cfg.clone()),
        cfg,
        now: t0,
        bolt,
        speed,
        door_open,
        inputs_given: false,
        last_inputs: None,
        motor: MotorDrive::Off,
        drive_since: t0,
        state: LockState::Unknown,
    };
    w.check(Caller::Tick);
    for op in ops {
        match op {
            Op::Advance { dt_ms } => {
                w.advance(w.now + Duration::from_millis(dt_ms));
                w.give_inputs(w.inputs());
            }
            Op::LateInputs { dt_ms } => {
                // The motor keeps running in the real world while the daemon stalls; only
                // the controller's own outputs after its next call are judged.
                let until = w.now + Duration::from_millis(dt_ms);
                w.physics(until);
                w.give_inputs(w.inputs());
            }
            Op::Command { action, source } => {
                let before = (w.lock.motor(), w.lock.status(), w.lock.next_deadline());
                let result = w.lock.command(action, source.clone(), w.now);
                match result {
                    Ok(()) => {
                        if action == LockAction::Lock {
                            assert!(
                                !w.last_inputs.is_some_and(|i| i.door_open)
                                    || before.0 == MotorDrive::Locking
                            );
                        }
                        w.check(Caller::Command);
                    }
                    Err(r) => {
                        assert!(codes::ALL.contains(&r.code), "{r:?}");
                        assert!(!r.message.is_empty());
                        let after = (w.lock.motor(), w.lock.status(), w.lock.next_deadline());
                        assert_eq!(before, after, "a refusal changed something");
                        assert!(w.lock.take_events().is_empty(), "refusals are not evented");
                        let expected = match w.last_inputs {
                            None => codes::STATE_UNKNOWN,
                            Some(i) if i.bolt_locked && i.bolt_unlocked => codes::SENSOR_FAULT,
                            Some(_) if before.0 != MotorDrive::Off => codes::LOCK_BUSY,
                            Some(i) if i.door_open && action == LockAction::Lock => {
                                codes::DOOR_OPEN
                            }
                            Some(_) => panic!("refused for no reason: {r:?}"),
                        };
                        assert_eq!(r.code, expected, "{r:?}");
                    }
                }
            }
            Op::Door { open } => {
                w.door_open = open;
                w.give_inputs(w.inputs());
            }
            Op::Key { position } => {
                w.bolt = position;
                w.give_inputs(w.inputs());
            }
            Op::Glitch => w.give_inputs(LockInputs {
                bolt_locked: true,
                bolt_unlocked: true,
                door_open: w.door_open,
            }),
        }
    }
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
    fn lock_invariants_hold_after_every_step(
        cfg in config(),
        bolt in prop_oneof![Just(0.0), Just(100.0), 1.0f64..99.0],
        // From seized to a bolt that travels in ~0.2 s.
        speed in prop_oneof![Just(0.0), 0.01f64..0.5],
        door_open in any::<bool>(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run(cfg, bolt, speed, door_open, ops);
    }
}
