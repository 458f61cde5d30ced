//! One readable test per lock rule. Time is made up: no clock, no sleeps.

use super::*;
use std::time::Duration;

const LOCKED: LockInputs = LockInputs {
    bolt_locked: true,
    bolt_unlocked: false,
    door_open: false,
};
const UNLOCKED: LockInputs = LockInputs {
    bolt_locked: false,
    bolt_unlocked: true,
    door_open: false,
};
const BETWEEN: LockInputs = LockInputs {
    bolt_locked: false,
    bolt_unlocked: false,
    door_open: false,
};
const CONFLICT: LockInputs = LockInputs {
    bolt_locked: true,
    bolt_unlocked: true,
    door_open: false,
};

fn open(i: LockInputs) -> LockInputs {
    LockInputs {
        door_open: true,
        ..i
    }
}

fn alice() -> Source {
    Source::Local("alice".into())
}

struct Rig {
    lock: LockController,
    t0: Instant,
}

impl Rig {
    fn new(cfg: LockConfig) -> Rig {
        Rig {
            lock: LockController::new(cfg),
            t0: Instant::now(),
        }
    }

    fn started(inputs: LockInputs) -> Rig {
        let mut r = Rig::new(LockConfig::default());
        r.input(0, inputs);
        r.lock.take_events();
        r
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn input(&mut self, ms: u64, inputs: LockInputs) -> LockState {
        let now = self.at(ms);
        self.lock.on_inputs(inputs, now);
        self.lock.status().state
    }

    fn cmd(&mut self, ms: u64, action: LockAction) -> Result<(), Refusal> {
        let now = self.at(ms);
        self.lock.command(action, alice(), now)
    }

    fn tick(&mut self, ms: u64) -> LockState {
        let now = self.at(ms);
        self.lock.tick(now);
        self.lock.status().state
    }
}

fn changed(from: LockState, to: LockState, source: Source) -> ControlEvent {
    ControlEvent::LockChanged { from, to, source }
}

#[test]
fn unknown_until_the_sensors_are_read_and_commands_refused() {
    let mut r = Rig::new(LockConfig::default());
    assert_eq!(r.lock.status().state, LockState::Unknown);
    assert_eq!(r.lock.status().door, None);
    let err = r.cmd(0, LockAction::Lock).unwrap_err();
    assert_eq!(err.code, "state_unknown");
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert!(r.lock.take_events().is_empty(), "refusals are not evented");
}

#[test]
fn start_up_takes_the_state_from_the_sensors_and_drives_nothing() {
    for (inputs, state) in [
        (LOCKED, LockState::Locked),
        (UNLOCKED, LockState::Unlocked),
        (BETWEEN, LockState::Unknown),
    ] {
        let mut r = Rig::new(LockConfig::default());
        assert_eq!(r.input(0, inputs), state);
        assert_eq!(r.lock.motor(), MotorDrive::Off);
        assert_eq!(r.lock.next_deadline(), None);
        let expected: Vec<_> = (state != LockState::Unknown)
            .then(|| changed(LockState::Unknown, state, Source::System))
            .into_iter()
            .collect();
        assert_eq!(r.lock.take_events(), expected);
        assert_eq!(r.lock.status().door, Some(DoorState::Closed));
    }
}

#[test]
fn lock_drives_until_the_limit_switch() {
    let mut r = Rig::started(UNLOCKED);
    r.cmd(100, LockAction::Lock).unwrap();
    assert_eq!(r.lock.motor(), MotorDrive::Locking);
    assert_eq!(r.lock.status().state, LockState::Moving);
    assert_eq!(r.lock.next_deadline(), Some(r.at(3100)));
    assert_eq!(r.input(600, BETWEEN), LockState::Moving);
    assert_eq!(r.input(1200, LOCKED), LockState::Locked);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert_eq!(r.lock.next_deadline(), None);
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Unlocked, LockState::Moving, alice()),
            changed(LockState::Moving, LockState::Locked, alice()),
        ]
    );
}

#[test]
fn no_limit_switch_within_travel_timeout_is_a_jam() {
    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Unlock).unwrap();
    r.input(500, BETWEEN);
    assert_eq!(r.tick(2999), LockState::Moving);
    assert_eq!(r.tick(3000), LockState::Jammed);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert_eq!(r.lock.status().faults, [Fault::LockJammed]);
    let ev = r.lock.take_events();
    assert_eq!(
        ev[1],
        changed(LockState::Moving, LockState::Jammed, alice())
    );
    assert!(
        matches!(&ev[2], ControlEvent::FaultRaised { fault: Fault::LockJammed, detail }
            if detail.contains("lock.travel_timeout") && detail.contains("local:alice")),
        "{ev:?}"
    );
    // Still between the switches: still jammed, and nothing pending.
    assert_eq!(r.input(4000, BETWEEN), LockState::Jammed);
    assert_eq!(r.lock.next_deadline(), None);
}

#[test]
fn a_late_input_after_the_deadline_is_still_a_jam() {
    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Unlock).unwrap();
    // The daemon missed the deadline tick; the motor must not be credited with the extra time.
    assert_eq!(r.input(3500, BETWEEN), LockState::Jammed);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
}

#[test]
fn a_late_input_showing_the_target_is_an_arrival() {
    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Unlock).unwrap();
    // No tick at 3 s, but the bolt did get there: credit the command, not a jam then a "manual".
    assert_eq!(r.input(3500, UNLOCKED), LockState::Unlocked);
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Locked, LockState::Moving, alice()),
            changed(LockState::Moving, LockState::Unlocked, alice()),
        ]
    );
}

#[test]
fn a_door_opening_cancels_a_relock_that_fell_due_unseen() {
    let mut r = Rig::new(LockConfig {
        auto_relock_after: Some(Duration::from_secs(5)),
        ..LockConfig::default()
    });
    r.input(0, UNLOCKED);
    assert_eq!(r.input(9000, open(UNLOCKED)), LockState::Unlocked);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
}

#[test]
fn a_jam_clears_when_a_command_succeeds_or_the_bolt_moves_by_hand() {
    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Unlock).unwrap();
    r.tick(3000);
    r.lock.take_events();
    r.cmd(4000, LockAction::Lock).unwrap();
    assert_eq!(r.lock.status().state, LockState::Locked, "already there");
    assert!(r.lock.status().faults.is_empty());
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Jammed, LockState::Locked, alice()),
            ControlEvent::FaultCleared {
                fault: Fault::LockJammed
            },
        ]
    );

    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Unlock).unwrap();
    r.input(500, BETWEEN);
    r.tick(3000);
    r.lock.take_events();
    assert_eq!(r.input(9000, UNLOCKED), LockState::Unlocked);
    assert_eq!(
        r.lock.take_events()[0],
        changed(LockState::Jammed, LockState::Unlocked, Source::Manual)
    );
}

#[test]
fn locking_is_refused_while_the_door_is_open() {
    let mut r = Rig::started(open(UNLOCKED));
    assert_eq!(r.lock.status().door, Some(DoorState::Open));
    let err = r.cmd(0, LockAction::Lock).unwrap_err();
    assert_eq!(err.code, "door_open");
    assert!(err.message.contains("lock.door"));
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    // Unlocking an open door is harmless and allowed.
    let mut r = Rig::started(open(LOCKED));
    r.cmd(0, LockAction::Unlock).unwrap();
    assert_eq!(r.lock.motor(), MotorDrive::Unlocking);
}

#[test]
fn the_door_opening_mid_lock_retracts_the_bolt() {
    let mut r = Rig::started(UNLOCKED);
    r.cmd(0, LockAction::Lock).unwrap();
    r.input(300, BETWEEN);
    r.input(600, open(BETWEEN));
    assert_eq!(r.lock.motor(), MotorDrive::Unlocking);
    assert_eq!(r.lock.next_deadline(), Some(r.at(3600)), "a fresh timeout");
    assert_eq!(r.input(900, open(UNLOCKED)), LockState::Unlocked);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Unlocked, LockState::Moving, alice()),
            ControlEvent::LockAborted {
                action: LockAction::Lock,
                source: alice(),
                reason: AbortReason::DoorOpened
            },
            changed(LockState::Moving, LockState::Unlocked, Source::System),
        ]
    );
}

#[test]
fn a_change_with_no_command_is_manual() {
    let mut r = Rig::started(LOCKED);
    assert_eq!(r.input(1000, BETWEEN), LockState::Unknown);
    assert_eq!(r.input(1400, UNLOCKED), LockState::Unlocked);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Locked, LockState::Unknown, Source::Manual),
            changed(LockState::Unknown, LockState::Unlocked, Source::Manual),
        ]
    );
}

#[test]
fn a_second_command_while_moving() {
    let mut r = Rig::started(UNLOCKED);
    r.cmd(0, LockAction::Lock).unwrap();
    let err = r.cmd(100, LockAction::Unlock).unwrap_err();
    assert_eq!(err.code, "lock_busy");
    assert!(err.message.contains("locked"), "{}", err.message);
    // The same action again is simply already happening; its timer does not restart.
    r.cmd(200, LockAction::Lock).unwrap();
    assert_eq!(r.lock.next_deadline(), Some(r.at(3000)));
}

#[test]
fn asking_for_the_current_state_does_nothing() {
    let mut r = Rig::started(LOCKED);
    r.cmd(0, LockAction::Lock).unwrap();
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert!(r.lock.take_events().is_empty());
}

#[test]
fn conflicting_switches_are_a_fault_and_stop_the_motor() {
    let mut r = Rig::started(UNLOCKED);
    r.cmd(0, LockAction::Lock).unwrap();
    assert_eq!(r.input(500, CONFLICT), LockState::Unknown);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
    assert_eq!(r.lock.status().faults, [Fault::LockSensorConflict]);
    assert_eq!(
        r.cmd(600, LockAction::Unlock).unwrap_err().code,
        "sensor_fault"
    );
    assert_eq!(r.input(700, LOCKED), LockState::Locked);
    assert!(r.lock.status().faults.is_empty());
}

#[test]
fn auto_relock_after_the_door_stays_closed() {
    let mut r = Rig::new(LockConfig {
        auto_relock_after: Some(Duration::from_secs(30)),
        ..LockConfig::default()
    });
    r.input(0, LOCKED);
    r.cmd(1000, LockAction::Unlock).unwrap();
    r.input(2000, UNLOCKED);
    assert_eq!(
        r.lock.next_deadline(),
        Some(r.at(32_000)),
        "30 s after unlocking"
    );
    // Someone walks through: the wait restarts when the door closes again.
    r.input(10_000, open(UNLOCKED));
    assert_eq!(r.lock.next_deadline(), None);
    r.input(15_000, UNLOCKED);
    assert_eq!(r.lock.next_deadline(), Some(r.at(45_000)));
    assert_eq!(r.tick(44_999), LockState::Unlocked);
    r.lock.take_events();
    assert_eq!(r.tick(45_000), LockState::Moving);
    assert_eq!(r.lock.motor(), MotorDrive::Locking);
    assert_eq!(r.input(46_000, LOCKED), LockState::Locked);
    assert_eq!(
        r.lock.take_events(),
        [
            changed(LockState::Unlocked, LockState::Moving, Source::AutoRelock),
            changed(LockState::Moving, LockState::Locked, Source::AutoRelock),
        ]
    );
}

#[test]
fn auto_relock_is_off_by_default() {
    let mut r = Rig::started(UNLOCKED);
    assert_eq!(r.lock.next_deadline(), None);
    assert_eq!(r.tick(3_600_000), LockState::Unlocked);
}

#[test]
fn a_jammed_auto_relock_does_not_retry() {
    let mut r = Rig::new(LockConfig {
        auto_relock_after: Some(Duration::from_secs(5)),
        ..LockConfig::default()
    });
    r.input(0, UNLOCKED);
    assert_eq!(r.tick(5000), LockState::Moving);
    assert_eq!(r.tick(8000), LockState::Jammed);
    assert_eq!(r.lock.next_deadline(), None);
    assert_eq!(r.tick(60_000), LockState::Jammed);
    assert_eq!(r.lock.motor(), MotorDrive::Off);
}
