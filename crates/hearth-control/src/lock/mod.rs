//! The lock controller: limit switches, door contact, commands and time in; motor drive,
//! lock status and events out.
//!
//! It owns the lock's safety rules: the motor runs only until the matching limit switch or
//! `travel_timeout` (then `jammed`), never towards locking while the door is open, and
//! the state after start-up comes from the sensors alone. It never does I/O or reads a clock.

#[cfg(test)]
mod tests;

use crate::config::LockConfig;
use crate::event::{AbortReason, ControlEvent, report_fault_changes};
use crate::refusal::{Refusal, codes};
use hearth_model::{DoorState, Fault, LockAction, LockInputs, LockState, LockStatus};
use hearth_model::{MotorDrive, Source};
use std::time::Instant;

/// Where the limit switches say the bolt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Locked,
    Unlocked,
    Between,
    /// Both switches closed: at least one of them is lying.
    Conflict,
}

impl Position {
    fn of(inputs: LockInputs) -> Position {
        match (inputs.bolt_locked, inputs.bolt_unlocked) {
            (true, false) => Position::Locked,
            (false, true) => Position::Unlocked,
            (false, false) => Position::Between,
            (true, true) => Position::Conflict,
        }
    }

    fn target(action: LockAction) -> Position {
        match action {
            LockAction::Lock => Position::Locked,
            LockAction::Unlock => Position::Unlocked,
        }
    }

    fn resting_state(self) -> LockState {
        match self {
            Position::Locked => LockState::Locked,
            Position::Unlocked => LockState::Unlocked,
            Position::Between | Position::Conflict => LockState::Unknown,
        }
    }
}

/// A motor run in progress.
#[derive(Debug, Clone)]
struct Motion {
    action: LockAction,
    source: Source,
    started: Instant,
}

/// A run that timed out. It stands until the bolt is seen at the other end position from
/// where it was when the run timed out (moved by hand), or a new command is accepted.
#[derive(Debug, Clone)]
struct Jam {
    action: LockAction,
    source: Source,
    position: Position,
}

impl Jam {
    fn holds_at(&self, position: Position) -> bool {
        // Half-way readings say nothing new: the motor may have pushed the bolt a little
        // before it stopped.
        let at_an_end = matches!(position, Position::Locked | Position::Unlocked);
        !(at_an_end && position != self.position)
    }
}

/// The lock state machine. See the crate docs for the rules it keeps.
#[derive(Debug, Clone)]
pub struct LockController {
    cfg: LockConfig,
    /// Latest instant seen; earlier ones passed later are treated as this one.
    now: Option<Instant>,
    inputs: Option<LockInputs>,
    state: LockState,
    motion: Option<Motion>,
    jam: Option<Jam>,
    /// `None` while the door is open or not yet read.
    door_closed_since: Option<Instant>,
    unlocked_since: Option<Instant>,
    faults: Vec<Fault>,
    events: Vec<ControlEvent>,
}

impl LockController {
    /// A controller that knows nothing yet: `unknown`, motor off, commands refused until
    /// the first [`LockController::on_inputs`].
    pub fn new(cfg: LockConfig) -> LockController {
        LockController {
            cfg,
            now: None,
            inputs: None,
            state: LockState::Unknown,
            motion: None,
            jam: None,
            door_closed_since: None,
            unlocked_since: None,
            faults: Vec::new(),
            events: Vec::new(),
        }
    }

    /// New debounced inputs. The first call sets the state from the sensors; no command is
    /// replayed. A change with no command in flight is recorded as [`Source::Manual`].
    ///
    /// Inputs are applied before time: if the daemon calls late and the bolt has reached its
    /// target, that is an arrival, not a jam (the motor stops now either way), and a door
    /// seen open cancels a relock that fell due meanwhile.
    pub fn on_inputs(&mut self, inputs: LockInputs, now: Instant) {
        let now = self.advance_clock(now);
        let first = self.inputs.is_none();
        self.inputs = Some(inputs);
        if inputs.door_open {
            self.door_closed_since = None;
        } else if self.door_closed_since.is_none() {
            self.door_closed_since = Some(now);
        }
        let position = Position::of(inputs);
        if let Some(m) = self.motion.clone() {
            if position == Position::Conflict {
                self.abort(&m, AbortReason::SensorConflict);
                self.set_state(self.resting_state(), m.source, now);
            } else if m.action == LockAction::Lock && inputs.door_open {
                // Checked before arrival: a bolt thrown into an open doorway goes back in.
                self.abort(&m, AbortReason::DoorOpened);
                self.start(LockAction::Unlock, Source::System, now);
            } else if position == Position::target(m.action) {
                self.motion = None;
                self.set_state(position.resting_state(), m.source, now);
            }
        } else {
            if self.jam.as_ref().is_some_and(|j| !j.holds_at(position)) {
                self.jam = None;
            }
            let source = if first {
                Source::System
            } else {
                Source::Manual
            };
            self.set_state(self.resting_state(), source, now);
        }
        self.advance(now);
        self.finish();
    }

    /// Ask the bolt to move. Refused (with nothing changed by the command) when the state is
    /// unknown, the switches conflict, the bolt is moving the other way, or — for `lock` —
    /// the door is open. Asking for what is already happening or already true is `Ok`.
    pub fn command(
        &mut self,
        action: LockAction,
        source: Source,
        now: Instant,
    ) -> Result<(), Refusal> {
        let now = self.advance_clock(now);
        self.advance(now);
        let result = self.try_command(action, source, now);
        self.finish();
        result
    }

    /// Re-evaluate the travel timeout and auto-relock; call at [`LockController::next_deadline`]
    /// at the latest.
    pub fn tick(&mut self, now: Instant) {
        let now = self.advance_clock(now);
        self.advance(now);
        self.finish();
    }

    /// How the motor must be driven now.
    pub fn motor(&self) -> MotorDrive {
        match self.motion.as_ref().map(|m| m.action) {
            None => MotorDrive::Off,
            Some(LockAction::Lock) => MotorDrive::Locking,
            Some(LockAction::Unlock) => MotorDrive::Unlocking,
        }
    }

    /// A snapshot for publishing and history.
    pub fn status(&self) -> LockStatus {
        LockStatus {
            state: self.state,
            door: self.inputs.map(|i| {
                if i.door_open {
                    DoorState::Open
                } else {
                    DoorState::Closed
                }
            }),
            faults: self.faults.clone(),
            motion: self.motion.as_ref().map(|m| m.action),
        }
    }

    /// The next instant at which time alone changes something (travel timeout or
    /// auto-relock). `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        let travel_end = self
            .motion
            .as_ref()
            .map(|m| m.started + self.cfg.travel_timeout);
        [travel_end, self.relock_due()].into_iter().flatten().min()
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<ControlEvent> {
        std::mem::take(&mut self.events)
    }

    fn advance_clock(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |t| t.max(now));
        self.now = Some(now);
        now
    }

    fn try_command(
        &mut self,
        action: LockAction,
        source: Source,
        now: Instant,
    ) -> Result<(), Refusal> {
        let Some(inputs) = self.inputs else {
            return Err(Refusal::new(
                codes::STATE_UNKNOWN,
                format!(
                    "cannot {} yet: the lock's switches have not been read since start-up",
                    action.as_str()
                ),
            ));
        };
        if Position::of(inputs) == Position::Conflict {
            return Err(Refusal::new(
                codes::SENSOR_FAULT,
                format!(
                    "cannot {}: both bolt limit switches report closed; check their wiring \
                     (hardware.lock inputs)",
                    action.as_str()
                ),
            ));
        }
        if let Some(m) = &self.motion {
            if m.action == action {
                return Ok(());
            }
            return Err(Refusal::new(
                codes::LOCK_BUSY,
                format!(
                    "cannot {} while the bolt is still moving to {} (for {}); try again in a moment",
                    action.as_str(),
                    Position::target(m.action).resting_state().as_str(),
                    m.source
                ),
            ));
        }
        if action == LockAction::Lock && inputs.door_open {
            return Err(Refusal::new(
                codes::DOOR_OPEN,
                "cannot lock while the door is open (lock.door = open); close the door first",
            ));
        }
        self.start(action, source, now);
        Ok(())
    }

    /// Begin a run towards `action`, or finish at once if the bolt is already there.
    fn start(&mut self, action: LockAction, source: Source, now: Instant) {
        self.jam = None;
        let target = Position::target(action);
        if self.inputs.map(Position::of) == Some(target) {
            self.motion = None;
            self.set_state(target.resting_state(), source, now);
            return;
        }
        self.motion = Some(Motion {
            action,
            source: source.clone(),
            started: now,
        });
        self.set_state(LockState::Moving, source, now);
    }

    /// Stop a run early; the caller decides what the lock does next.
    fn abort(&mut self, m: &Motion, reason: AbortReason) {
        self.motion = None;
        self.events.push(ControlEvent::LockAborted {
            action: m.action,
            source: m.source.clone(),
            reason,
        });
    }

    /// Apply what time alone does: end an overlong run as a jam, start a due relock.
    fn advance(&mut self, now: Instant) {
        if let Some(m) = &self.motion
            && now >= m.started + self.cfg.travel_timeout
        {
            let m = self.motion.take().expect("checked just above");
            self.jam = Some(Jam {
                action: m.action,
                source: m.source.clone(),
                position: self.inputs.map_or(Position::Between, Position::of),
            });
            self.set_state(LockState::Jammed, m.source, now);
        }
        if let Some(due) = self.relock_due()
            && now >= due
        {
            self.start(LockAction::Lock, Source::AutoRelock, now);
        }
    }

    /// When auto-relock fires: the bolt unlocked and the door closed, both for the configured
    /// time. Opening the door restarts the wait.
    fn relock_due(&self) -> Option<Instant> {
        let after = self.cfg.auto_relock_after?;
        if self.motion.is_some() || self.state != LockState::Unlocked {
            return None;
        }
        let closed = self.door_closed_since?;
        let unlocked = self.unlocked_since?;
        Some(closed.max(unlocked) + after)
    }

    /// The state with the motor off.
    fn resting_state(&self) -> LockState {
        let Some(inputs) = self.inputs else {
            return LockState::Unknown;
        };
        let position = Position::of(inputs);
        match &self.jam {
            Some(j) if j.holds_at(position) => LockState::Jammed,
            _ => position.resting_state(),
        }
    }

    fn set_state(&mut self, to: LockState, source: Source, now: Instant) {
        if to == self.state {
            return;
        }
        if to == LockState::Unlocked {
            self.unlocked_since = Some(now);
        }
        self.events.push(ControlEvent::LockChanged {
            from: self.state,
            to,
            source,
        });
        self.state = to;
    }

    /// Report fault changes after a step.
    fn finish(&mut self) {
        let mut faults = Vec::new();
        if self.state == LockState::Jammed {
            faults.push(Fault::LockJammed);
        }
        if self.inputs.map(Position::of) == Some(Position::Conflict) {
            faults.push(Fault::LockSensorConflict);
        }
        faults.sort();
        let (jam, timeout) = (&self.jam, self.cfg.travel_timeout);
        report_fault_changes(
            &mut self.faults,
            faults,
            |fault| match (fault, jam) {
                (Fault::LockJammed, Some(j)) => format!(
                    "the bolt did not reach {} within {} (lock.travel_timeout); motor stopped. \
                     {} asked for {}; check the door alignment and try again",
                    Position::target(j.action).resting_state().as_str(),
                    hearth_model::duration::format(timeout),
                    j.source,
                    j.action.as_str()
                ),
                _ => "both bolt limit switches report closed at once; check their wiring".into(),
            },
            &mut self.events,
        );
    }
}
