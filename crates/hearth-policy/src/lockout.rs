//! A lockout after repeated wrong secrets (the voice PIN), with a back-off that grows: each
//! lockout lasts twice as long as the one before, up to a cap, until a right secret is given.
//!
//! Pure and serialisable so the daemon can persist it (a reload or a restart must not give a
//! guesser fresh tries). Time is wall time in and out, as it must survive restarts; this
//! module never reads a clock and never sees the secret.
//!
//! hearth-api's unlock-code `Lockout` is a different rule on purpose (every wrong code after
//! the free ones locks again at once, where this one gives `max_failures` fresh tries after
//! each lockout) with its own saved format, per client; it shares only [`Backoff`].

use hearth_model::UnixMillis;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How many wrong tries, how long the first lockout, the longest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub max_failures: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The lockout that follows `level` earlier ones (0 for the first).
    pub fn duration(&self, level: u32) -> Duration {
        let factor = 1u32.checked_shl(level.min(20)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// The state of one lockout; `Default` is "no wrong tries yet".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockout {
    /// Wrong tries since the last right one or the end of the last lockout.
    pub failures: u32,
    /// Lockouts so far without a right secret in between; the next lasts `first * 2^level`.
    pub level: u32,
    /// Locked until this wall time (ms since the epoch), if locked.
    pub locked_until: Option<i64>,
}

/// What the lockout says about one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the secret.
    Open,
    /// Do not even check it, until this time.
    Locked { until: UnixMillis },
}

impl Lockout {
    /// Whether a secret may be checked now. An expired lockout opens again (wrong tries
    /// start from zero, but the level stays, so the next lockout is longer).
    pub fn check(&mut self, now: UnixMillis) -> Verdict {
        match self.locked_until {
            Some(until) if now.0 < until => Verdict::Locked {
                until: UnixMillis(until),
            },
            Some(_) => {
                self.locked_until = None;
                self.failures = 0;
                Verdict::Open
            }
            None => Verdict::Open,
        }
    }

    /// A wrong secret was given; returns the lock time when this one started a lockout.
    pub fn failed(&mut self, now: UnixMillis, b: &Backoff) -> Option<UnixMillis> {
        self.failures += 1;
        if self.failures < b.max_failures {
            return None;
        }
        let d = b.duration(self.level);
        let until = now
            .0
            .saturating_add(d.as_millis().min(i64::MAX as u128) as i64);
        self.locked_until = Some(until);
        self.level = self.level.saturating_add(1);
        Some(UnixMillis(until))
    }

    /// A right secret was given: everything is forgiven.
    pub fn succeeded(&mut self) {
        *self = Lockout::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        max_failures: 3,
        first: Duration::from_secs(60),
        max: Duration::from_secs(300),
    };

    #[test]
    fn locks_after_max_failures_and_each_lockout_is_longer() {
        let mut l = Lockout::default();
        let t = UnixMillis(1_000_000);
        assert_eq!(l.failed(t, &B), None);
        assert_eq!(l.failed(t, &B), None);
        assert_eq!(l.failed(t, &B), Some(UnixMillis(1_060_000)));
        assert_eq!(
            l.check(UnixMillis(1_059_999)),
            Verdict::Locked {
                until: UnixMillis(1_060_000)
            }
        );
        assert_eq!(l.check(UnixMillis(1_060_000)), Verdict::Open);
        let t2 = UnixMillis(2_000_000);
        l.failed(t2, &B);
        l.failed(t2, &B);
        assert_eq!(l.failed(t2, &B), Some(UnixMillis(2_120_000)), "doubled");
        for _ in 0..5 {
            l.locked_until = None;
            l.failures = 0;
            l.failed(t2, &B);
            l.failed(t2, &B);
            l.failed(t2, &B);
        }
        assert_eq!(l.locked_until, Some(2_300_000), "capped at max");
        l.succeeded();
        assert_eq!(l, Lockout::default());
    }

    #[test]
    fn survives_a_round_trip_through_json() {
        let mut l = Lockout::default();
        for _ in 0..3 {
            l.failed(UnixMillis(5), &B);
        }
        let text = serde_json::to_string(&l).unwrap();
        let back: Lockout = serde_json::from_str(&text).unwrap();
        assert_eq!(back, l);
    }
}
