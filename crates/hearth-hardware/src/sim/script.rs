//! What can happen to the simulated house — door actions, a key turned by hand, injected
//! faults — and the config script that makes them happen at set times.
//!
//! Only names and ordering live here; the simulator applies them. Nothing here may read a
//! clock.

use hearth_model::LockAction;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// A fault the simulator can be told to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimFault {
    /// The temperature sensor stops answering.
    SensorDropout,
    /// The sensor answers with an impossible temperature (`implausible_temperature`).
    ImplausibleReading,
    /// The bolt sticks halfway: the motor runs but the target switch never closes.
    LockJam,
    /// The door is open and cannot be closed until the fault is cleared.
    DoorHeldOpen,
    /// The sensor driver panics on its next read: a bug in the poller's path, for drills
    /// that check a dead task stops hearth with outputs off.
    SensorPanic,
}

impl SimFault {
    pub const ALL: [SimFault; 5] = [
        SimFault::SensorDropout,
        SimFault::ImplausibleReading,
        SimFault::LockJam,
        SimFault::DoorHeldOpen,
        SimFault::SensorPanic,
    ];
}

/// One thing that happens to the house, from the script or at runtime (`SimHandle::apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimAction {
    OpenDoor,
    CloseDoor,
    /// Someone locks the bolt with the key (no command).
    KeyLock,
    /// Someone unlocks the bolt with the key (no command).
    KeyUnlock,
    SensorDropout,
    ImplausibleReading,
    LockJam,
    DoorHeldOpen,
    SensorPanic,
    ClearFaults,
}

impl SimAction {
    /// The fault this action injects, if it is one.
    pub fn fault(self) -> Option<SimFault> {
        match self {
            SimAction::SensorDropout => Some(SimFault::SensorDropout),
            SimAction::ImplausibleReading => Some(SimFault::ImplausibleReading),
            SimAction::LockJam => Some(SimFault::LockJam),
            SimAction::DoorHeldOpen => Some(SimFault::DoorHeldOpen),
            SimAction::SensorPanic => Some(SimFault::SensorPanic),
            _ => None,
        }
    }

    /// The key turn this action is, if it is one.
    pub fn key_turn(self) -> Option<LockAction> {
        match self {
            SimAction::KeyLock => Some(LockAction::Lock),
            SimAction::KeyUnlock => Some(LockAction::Unlock),
            _ => None,
        }
    }
}

impl From<SimFault> for SimAction {
    fn from(f: SimFault) -> Self {
        match f {
            SimFault::SensorDropout => SimAction::SensorDropout,
            SimFault::ImplausibleReading => SimAction::ImplausibleReading,
            SimFault::LockJam => SimAction::LockJam,
            SimFault::DoorHeldOpen => SimAction::DoorHeldOpen,
            SimFault::SensorPanic => SimAction::SensorPanic,
        }
    }
}

/// `[[simulator.script]]`: do `action` once, `after` the simulator started.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    #[serde(with = "hearth_model::duration")]
    pub after: Duration,
    pub action: SimAction,
}

/// The script's steps not yet done, earliest first (steps at the same time keep file order).
#[derive(Debug, Clone, Default)]
pub struct Script {
    pending: VecDeque<ScriptStep>,
}

impl Script {
    pub fn new(steps: &[ScriptStep]) -> Self {
        let mut steps = steps.to_vec();
        steps.sort_by_key(|s| s.after);
        Self {
            pending: steps.into(),
        }
    }

    /// When the next step is due, as an offset from the start.
    pub fn next_due(&self) -> Option<Duration> {
        self.pending.front().map(|s| s.after)
    }

    /// Take the next step if it is due at or before `elapsed`.
    pub fn pop_due(&mut self, elapsed: Duration) -> Option<ScriptStep> {
        if self.next_due()? <= elapsed {
            self.pending.pop_front()
        } else {
            None
        }
    }
}

/// A scripted routine of `days` days from a local midnight that falls on `first_weekday`
/// (0 = Monday): on weekdays unlock 07:30, out 08:05 (door open, closed, key lock 08:07),
/// back 17:40 (key unlock, door open, closed), key lock for the night 22:30; on Saturdays
/// the same morning and night, out 10:00–12:00; Sundays at home. Returns the steps and the
/// scripted empty periods (from the door closing behind the last one out to the unlock on
/// return), both as offsets from the start.
pub fn routine(first_weekday: u8, days: u32) -> (Vec<ScriptStep>, Vec<(Duration, Duration)>) {
    let hm =
        |day: u32, h: u64, m: u64| Duration::from_secs(u64::from(day) * 86_400 + h * 3600 + m * 60);
    let mut steps = Vec::new();
    let mut empty = Vec::new();
    let mut step = |after, action| steps.push(ScriptStep { after, action });
    for day in 0..days {
        let weekday = (u32::from(first_weekday) + day) % 7;
        let trip = match weekday {
            0..=4 => Some(((8, 5), (17, 40))),
            5 => Some(((10, 0), (12, 0))),
            _ => None,
        };
        step(hm(day, 7, 30), SimAction::KeyUnlock);
        if let Some(((oh, om), (bh, bm))) = trip {
            step(hm(day, oh, om), SimAction::OpenDoor);
            step(hm(day, oh, om + 1), SimAction::CloseDoor);
            step(hm(day, oh, om + 2), SimAction::KeyLock);
            step(hm(day, bh, bm), SimAction::KeyUnlock);
            step(hm(day, bh, bm + 1), SimAction::OpenDoor);
            step(hm(day, bh, bm + 2), SimAction::CloseDoor);
            empty.push((hm(day, oh, om + 1), hm(day, bh, bm)));
        }
        step(hm(day, 22, 30), SimAction::KeyLock);
    }
    (steps, empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_from_toml_and_run_in_time_order() {
        #[derive(Deserialize)]
        struct Doc {
            script: Vec<ScriptStep>,
        }
        let doc: Doc = toml::from_str(
            r#"
            [[script]]
            after = "2h"
            action = "close_door"
            [[script]]
            after = "30m"
            action = "open_door"
            [[script]]
            after = "2h"
            action = "lock_jam"
            "#,
        )
        .unwrap();
        let mut s = Script::new(&doc.script);
        assert_eq!(s.pop_due(Duration::from_secs(60)), None);
        let at = |secs| Duration::from_secs(secs);
        assert_eq!(s.pop_due(at(7200)).unwrap().action, SimAction::OpenDoor);
        assert_eq!(s.pop_due(at(7200)).unwrap().action, SimAction::CloseDoor);
        assert_eq!(s.pop_due(at(7200)).unwrap().action, SimAction::LockJam);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn the_routine_has_weekday_and_saturday_trips() {
        // Starting on a Friday: Fri trip, Sat short trip, Sun at home.
        let (steps, empty) = routine(4, 3);
        assert_eq!(empty.len(), 2);
        assert_eq!(empty[0].0, Duration::from_secs(8 * 3600 + 6 * 60));
        assert_eq!(empty[1].1, Duration::from_secs(86_400 + 12 * 3600));
        assert_eq!(steps.len(), 2 * 8 + 2);
        assert_eq!(steps.last().unwrap().action, SimAction::KeyLock);
    }

    #[test]
    fn unknown_actions_are_rejected() {
        let e = toml::from_str::<ScriptStep>("after = \"1s\"\naction = \"explode\"").unwrap_err();
        assert!(e.to_string().contains("open_door"), "{e}");
    }

    #[test]
    fn every_fault_is_an_action() {
        for f in SimFault::ALL {
            assert_eq!(SimAction::from(f).fault(), Some(f));
        }
    }
}
