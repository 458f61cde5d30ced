//! What a policy remembers about one cloud's inbound traffic: the voice PIN lockout, the ids
//! of commands already handled (to refuse replays) and the state requests answered in the
//! last hour (the `max_requests_per_hour` budget).
//!
//! Carried from the old policy to the new one on a reload; the lockout and the replay memory
//! are also persisted by the daemon across restarts ([`GuardState`]). Pure: times come in.

use crate::lockout::Lockout;
use crate::pin::PinGuard;
use hearth_model::UnixMillis;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a command's id is remembered. None of the three formats carries a send time
/// in its directives, so the id is the only replay check there is.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Ids remembered at most; with this many fresh ones, further commands are refused until
/// the oldest expire (a cloud sending this many commands a day is not a household).
pub const MAX_REMEMBERED_IDS: usize = 2048;
/// The budget window of `max_requests_per_hour`.
const HOUR: Duration = Duration::from_secs(3600);

/// The persisted part: lockout and replay memory. Serialised as JSON by the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardState {
    pub pin: Lockout,
    /// Command ids already handled (a SHA-256 prefix in hex, so a cloud's long ids cost
    /// nothing) and their wall time (ms), oldest first.
    pub seen: VecDeque<(String, i64)>,
}

/// Whether a command's id may be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdCheck {
    Fresh,
    Replayed,
    MemoryFull,
}

#[derive(Debug, Default)]
pub(crate) struct Guard {
    pub(crate) pin: PinGuard,
    seen: VecDeque<(String, i64)>,
    answered: VecDeque<Instant>,
}

impl Guard {
    pub(crate) fn state(&self) -> GuardState {
        GuardState {
            pin: self.pin.lockout.clone(),
            seen: self.seen.clone(),
        }
    }

    pub(crate) fn restore(&mut self, s: GuardState) {
        self.pin.lockout = s.pin;
        self.seen = s.seen;
    }

    /// Take over everything the old policy's guard remembers (on a reload).
    pub(crate) fn carry_from(&mut self, old: &mut Guard) {
        std::mem::swap(self, old);
    }

    /// Remember `id` unless it was seen within the window.
    pub(crate) fn check_id(&mut self, id: &str, now: UnixMillis) -> IdCheck {
        let id = &digest(id);
        let window = REPLAY_WINDOW.as_millis() as i64;
        while self
            .seen
            .front()
            .is_some_and(|(_, t)| now.0.saturating_sub(*t) >= window)
        {
            self.seen.pop_front();
        }
        if self.seen.iter().any(|(s, _)| s == id) {
            return IdCheck::Replayed;
        }
        if self.seen.len() >= MAX_REMEMBERED_IDS {
            return IdCheck::MemoryFull;
        }
        self.seen.push_back((id.to_owned(), now.0));
        IdCheck::Fresh
    }

    /// Count one state request against `max` per hour; false when the budget is spent.
    pub(crate) fn spend_request(&mut self, max: u32, now: Instant) -> bool {
        while self
            .answered
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            self.answered.pop_front();
        }
        if self.answered.len() >= max as usize {
            return false;
        }
        self.answered.push_back(now);
        true
    }
}

/// What is remembered of an id: 128 bits of its SHA-256, in hex.
fn digest(id: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(id.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_refused_within_the_window_and_forgotten_after() {
        let mut g = Guard::default();
        let t = UnixMillis(10_000);
        assert_eq!(g.check_id("a", t), IdCheck::Fresh);
        assert_eq!(g.check_id("a", t), IdCheck::Replayed);
        let later = UnixMillis(t.0 + REPLAY_WINDOW.as_millis() as i64);
        assert_eq!(g.check_id("a", later), IdCheck::Fresh);
        let long = "x".repeat(100_000);
        assert_eq!(g.check_id(&long, later), IdCheck::Fresh);
        assert_eq!(g.check_id(&long, later), IdCheck::Replayed);
        assert!(
            g.state().seen.iter().all(|(d, _)| d.len() == 32),
            "ids are kept short"
        );
    }

    #[test]
    fn a_full_memory_refuses_rather_than_forgets() {
        let mut g = Guard::default();
        for i in 0..MAX_REMEMBERED_IDS {
            assert_eq!(g.check_id(&i.to_string(), UnixMillis(0)), IdCheck::Fresh);
        }
        assert_eq!(g.check_id("new", UnixMillis(1)), IdCheck::MemoryFull);
        assert_eq!(g.check_id("0", UnixMillis(1)), IdCheck::Replayed);
    }

    #[test]
    fn the_request_budget_is_per_sliding_hour() {
        let mut g = Guard::default();
        let t0 = Instant::now();
        assert!(g.spend_request(2, t0));
        assert!(g.spend_request(2, t0 + Duration::from_secs(10)));
        assert!(!g.spend_request(2, t0 + Duration::from_secs(20)));
        assert!(g.spend_request(2, t0 + HOUR));
        assert!(!g.spend_request(0, t0 + HOUR * 3));
    }

    #[test]
    fn state_round_trips_and_carries() {
        let mut g = Guard::default();
        g.check_id("x", UnixMillis(5));
        let s = g.state();
        let mut h = Guard::default();
        h.restore(serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap());
        assert_eq!(h.check_id("x", UnixMillis(6)), IdCheck::Replayed);
        let mut fresh = Guard::default();
        fresh.carry_from(&mut h);
        assert_eq!(fresh.check_id("x", UnixMillis(7)), IdCheck::Replayed);
    }
}
