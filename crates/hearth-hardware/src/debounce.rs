//! Debouncing of the three lock inputs: a new level is reported once it has been seen
//! unchanged for the input's debounce time.
//!
//! Pure: raw samples and their times in, changes out. It must never read hardware or sleep;
//! the poller asks it when to look again.

use crate::poller::InputDebounce;
use hearth_model::LockInputs;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Channel {
    reported: bool,
    candidate: bool,
    since: Instant,
    debounce: Duration,
}

impl Channel {
    fn new(level: bool, now: Instant, debounce: Duration) -> Self {
        Self {
            reported: level,
            candidate: level,
            since: now,
            debounce,
        }
    }

    fn update(&mut self, raw: bool, now: Instant) {
        if raw != self.candidate {
            self.candidate = raw;
            self.since = now;
        }
        if self.candidate != self.reported && now.duration_since(self.since) >= self.debounce {
            self.reported = self.candidate;
        }
    }

    fn deadline(&self) -> Option<Instant> {
        (self.candidate != self.reported).then(|| self.since + self.debounce)
    }
}

/// The debounced view of the lock inputs.
#[derive(Debug, Clone)]
pub struct Debouncer {
    bolt_locked: Channel,
    bolt_unlocked: Channel,
    door_open: Channel,
}

impl Debouncer {
    /// Start from a first raw reading, taken as settled.
    pub fn new(first: LockInputs, now: Instant, debounce: InputDebounce) -> Self {
        Self {
            bolt_locked: Channel::new(first.bolt_locked, now, debounce.bolt_locked),
            bolt_unlocked: Channel::new(first.bolt_unlocked, now, debounce.bolt_unlocked),
            door_open: Channel::new(first.door_open, now, debounce.door),
        }
    }

    /// The inputs as last reported.
    pub fn current(&self) -> LockInputs {
        LockInputs {
            bolt_locked: self.bolt_locked.reported,
            bolt_unlocked: self.bolt_unlocked.reported,
            door_open: self.door_open.reported,
        }
    }

    /// Feed a raw sample; returns the new debounced inputs when they changed.
    pub fn update(&mut self, raw: LockInputs, now: Instant) -> Option<LockInputs> {
        let before = self.current();
        self.bolt_locked.update(raw.bolt_locked, now);
        self.bolt_unlocked.update(raw.bolt_unlocked, now);
        self.door_open.update(raw.door_open, now);
        let after = self.current();
        (after != before).then_some(after)
    }

    /// When a pending change will have been stable long enough to report.
    pub fn next_deadline(&self) -> Option<Instant> {
        [&self.bolt_locked, &self.bolt_unlocked, &self.door_open]
            .into_iter()
            .filter_map(Channel::deadline)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: LockInputs = LockInputs {
        bolt_locked: true,
        bolt_unlocked: false,
        door_open: false,
    };
    const OPEN: LockInputs = LockInputs {
        door_open: true,
        ..CLOSED
    };
    const MS: Duration = Duration::from_millis(1);

    fn door_debounce(d: Duration) -> InputDebounce {
        InputDebounce {
            door: d,
            ..InputDebounce::default()
        }
    }

    #[test]
    fn zero_debounce_reports_at_once() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(CLOSED, t0, InputDebounce::default());
        assert_eq!(d.update(OPEN, t0), Some(OPEN));
        assert_eq!(d.update(OPEN, t0 + MS), None);
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_change_is_reported_once_stable_for_the_debounce() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(CLOSED, t0, door_debounce(50 * MS));
        assert_eq!(d.update(OPEN, t0 + 10 * MS), None);
        assert_eq!(d.next_deadline(), Some(t0 + 60 * MS));
        assert_eq!(d.update(OPEN, t0 + 59 * MS), None);
        assert_eq!(d.update(OPEN, t0 + 60 * MS), Some(OPEN));
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_bounce_restarts_the_wait_and_a_glitch_is_never_reported() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(CLOSED, t0, door_debounce(50 * MS));
        assert_eq!(d.update(OPEN, t0), None);
        assert_eq!(d.update(CLOSED, t0 + 20 * MS), None);
        assert_eq!(d.next_deadline(), None, "back at the reported level");
        assert_eq!(d.update(OPEN, t0 + 30 * MS), None);
        assert_eq!(d.update(OPEN, t0 + 79 * MS), None);
        assert_eq!(d.update(OPEN, t0 + 80 * MS), Some(OPEN));
    }
}
