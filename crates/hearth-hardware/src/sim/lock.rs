//! The simulated deadbolt: a motor that moves the bolt end to end in a fixed travel time,
//! closing the "locked" or "unlocked" limit switch when it arrives; a jam stops it halfway.
//!
//! Position is kept in integer nanoseconds of travel so arrival times are exact. Pure: it
//! must never read a clock — the simulator passes elapsed time in.

use hearth_model::{LockAction, MotorDrive};
use std::time::Duration;

/// The bolt between its two ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimLock {
    /// 0 = fully unlocked, `travel` = fully locked, in nanoseconds of motor travel.
    position: u64,
    travel: u64,
    jammed: bool,
}

impl SimLock {
    pub fn new(locked: bool, travel: Duration) -> Self {
        let travel = (travel.as_nanos() as u64).max(1);
        Self {
            position: if locked { travel } else { 0 },
            travel,
            jammed: false,
        }
    }

    pub fn bolt_locked(&self) -> bool {
        self.position == self.travel
    }

    pub fn bolt_unlocked(&self) -> bool {
        self.position == 0
    }

    pub fn set_jammed(&mut self, jammed: bool) {
        self.jammed = jammed;
    }

    fn jam_point(&self) -> u64 {
        self.travel / 2
    }

    /// Where the bolt stops if the motor keeps running in `drive`.
    fn stop_point(&self, drive: MotorDrive) -> u64 {
        let end = match drive {
            MotorDrive::Off => return self.position,
            MotorDrive::Locking => self.travel,
            MotorDrive::Unlocking => 0,
        };
        let jam = self.jam_point();
        if !self.jammed {
            end
        } else if self.position == jam {
            jam
        } else if (self.position < jam) == (end > jam) {
            // The jam lies between the bolt and the end it is driven to.
            jam
        } else {
            end
        }
    }

    /// Run the motor for `dt`.
    pub fn advance(&mut self, drive: MotorDrive, dt: Duration) {
        let step = dt.as_nanos().min(u64::MAX as u128) as u64;
        let stop = self.stop_point(drive);
        self.position = if stop > self.position {
            self.position.saturating_add(step).min(stop)
        } else {
            self.position.saturating_sub(step).max(stop)
        };
    }

    /// How long until the bolt stops moving under `drive`, if it is moving.
    pub fn time_to_stop(&self, drive: MotorDrive) -> Option<Duration> {
        let distance = self.stop_point(drive).abs_diff(self.position);
        (distance > 0).then(|| Duration::from_nanos(distance))
    }

    /// Someone turned the key: the bolt goes to that end at once.
    pub fn turn_key(&mut self, action: LockAction) {
        self.position = match action {
            LockAction::Lock => self.travel,
            LockAction::Unlock => 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAVEL: Duration = Duration::from_millis(1500);
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_bolt_arrives_after_exactly_the_travel_time() {
        let mut l = SimLock::new(false, TRAVEL);
        assert!(l.bolt_unlocked() && !l.bolt_locked());
        assert_eq!(l.time_to_stop(MotorDrive::Locking), Some(TRAVEL));
        l.advance(MotorDrive::Locking, MS);
        assert!(
            !l.bolt_unlocked() && !l.bolt_locked(),
            "between the switches"
        );
        l.advance(MotorDrive::Locking, TRAVEL - 2 * MS);
        assert!(!l.bolt_locked());
        l.advance(MotorDrive::Locking, MS);
        assert!(l.bolt_locked());
        assert_eq!(l.time_to_stop(MotorDrive::Locking), None);
        l.advance(MotorDrive::Locking, TRAVEL);
        assert!(l.bolt_locked(), "stays at the end");
    }

    #[test]
    fn motor_off_holds_the_bolt() {
        let mut l = SimLock::new(true, TRAVEL);
        l.advance(MotorDrive::Off, TRAVEL);
        assert!(l.bolt_locked());
    }

    #[test]
    fn a_jam_keeps_the_target_switch_open() {
        let mut l = SimLock::new(true, TRAVEL);
        l.set_jammed(true);
        l.advance(MotorDrive::Unlocking, 10 * TRAVEL);
        assert!(!l.bolt_locked(), "left the locked end");
        assert!(!l.bolt_unlocked(), "never reaches the unlocked end");
        assert_eq!(l.time_to_stop(MotorDrive::Unlocking), None);
        l.advance(MotorDrive::Locking, 10 * TRAVEL);
        assert!(!l.bolt_locked(), "stuck either way while jammed");
        l.set_jammed(false);
        l.advance(MotorDrive::Locking, TRAVEL);
        assert!(l.bolt_locked());
    }

    #[test]
    fn a_key_moves_the_bolt_at_once() {
        let mut l = SimLock::new(true, TRAVEL);
        l.turn_key(LockAction::Unlock);
        assert!(l.bolt_unlocked());
    }
}
