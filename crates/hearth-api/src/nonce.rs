//! The memory of accepted unlock nonces, so a captured signed command cannot be replayed.
//!
//! Bounded: it forgets a nonce only once its signed timestamp has left the acceptance
//! window (a replay of it would then be refused as expired anyway), and when it is full of
//! nonces still inside the window it refuses new ones (`busy`) rather than forget one that
//! could still be replayed. It never reads the clock; `now` is passed in.
//!
//! The cache lives in memory only. After a restart it is empty, so a command captured in
//! the last window could be replayed; the daemon closes that gap by refusing signed
//! commands whose `ts` is before its own start (see [`crate::CommandGuard::new`]).

use hearth_model::UnixMillis;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::Duration;

/// Default number of nonces remembered at once. At a ±30 s window this allows over 150
/// accepted unlocks per second before `busy`, far beyond any real door.
pub const DEFAULT_NONCE_CAPACITY: usize = 10_000;

/// Why a nonce was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRefusal {
    /// Accepted once before.
    Replayed,
    /// Full of nonces still inside the window.
    Busy,
    /// Its timestamp is older than nonces already forgotten, so a replay could not be told
    /// apart: treat as expired.
    Forgotten,
}

/// Accepted nonces with the signed timestamp (ms) they came with.
#[derive(Debug, Clone)]
pub struct NonceCache {
    seen: HashSet<String>,
    by_ts: BinaryHeap<Reverse<(i64, String)>>,
    capacity: usize,
    window_ms: i64,
    /// Everything with a timestamp before this may have been forgotten. Only ever rises, so
    /// a wall clock stepping backwards cannot re-open forgotten nonces.
    forgotten_before_ms: i64,
}

impl NonceCache {
    /// A cache for a ±`window` acceptance window holding at most `capacity` nonces.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            seen: HashSet::new(),
            by_ts: BinaryHeap::new(),
            capacity,
            window_ms: window.as_millis().min(i64::MAX as u128) as i64,
            forgotten_before_ms: i64::MIN,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }

    /// Accept `nonce` (signed with `ts_ms`) once. The caller has already checked that
    /// `ts_ms` is within the window of `now`; nothing is recorded on refusal.
    pub fn check_and_insert(
        &mut self,
        nonce: &str,
        ts_ms: i64,
        now: UnixMillis,
    ) -> Result<(), NonceRefusal> {
        self.forget_expired(now);
        if ts_ms < self.forgotten_before_ms {
            return Err(NonceRefusal::Forgotten);
        }
        if self.seen.contains(nonce) {
            return Err(NonceRefusal::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(NonceRefusal::Busy);
        }
        self.seen.insert(nonce.to_owned());
        self.by_ts.push(Reverse((ts_ms, nonce.to_owned())));
        Ok(())
    }

    fn forget_expired(&mut self, now: UnixMillis) {
        let threshold = now.0.saturating_sub(self.window_ms);
        self.forgotten_before_ms = self.forgotten_before_ms.max(threshold);
        while let Some(Reverse((ts, _))) = self.by_ts.peek() {
            if *ts >= self.forgotten_before_ms {
                break;
            }
            if let Some(Reverse((_, nonce))) = self.by_ts.pop() {
                self.seen.remove(&nonce);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(30);

    fn at(secs: i64) -> UnixMillis {
        UnixMillis(secs * 1000)
    }

    #[test]
    fn a_nonce_is_accepted_once() {
        let mut c = NonceCache::new(10, W);
        assert_eq!(c.check_and_insert("n1", 1_000_000, at(1000)), Ok(()));
        assert_eq!(
            c.check_and_insert("n1", 1_000_000, at(1001)),
            Err(NonceRefusal::Replayed)
        );
        assert_eq!(c.check_and_insert("n2", 1_000_000, at(1001)), Ok(()));
    }

    #[test]
    fn full_of_live_nonces_refuses_instead_of_evicting() {
        let mut c = NonceCache::new(3, W);
        for n in ["a", "b", "c"] {
            c.check_and_insert(n, 1_000_000, at(1000)).unwrap();
        }
        assert_eq!(
            c.check_and_insert("d", 1_000_000, at(1010)),
            Err(NonceRefusal::Busy)
        );
        // "a" must still be remembered: refusing "d" did not evict it.
        assert_eq!(
            c.check_and_insert("a", 1_000_000, at(1010)),
            Err(NonceRefusal::Replayed)
        );
        // Once their timestamps leave the window they are forgotten and space frees up.
        assert_eq!(c.check_and_insert("d", 1_031_000, at(1031)), Ok(()));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn forgotten_timestamps_stay_refused_when_the_clock_steps_back() {
        let mut c = NonceCache::new(10, W);
        c.check_and_insert("a", 1_000_000, at(1000)).unwrap();
        // Time moves on; "a" is forgotten.
        c.check_and_insert("b", 1_100_000, at(1100)).unwrap();
        assert_eq!(c.len(), 1);
        // The wall clock steps back to when "a" was fresh: a replay of "a" must not pass.
        assert_eq!(
            c.check_and_insert("a", 1_000_000, at(1005)),
            Err(NonceRefusal::Forgotten)
        );
    }

    #[test]
    fn future_timestamps_are_kept_until_they_pass() {
        let mut c = NonceCache::new(10, W);
        c.check_and_insert("f", 1_030_000, at(1000)).unwrap();
        // 50 s later "f"'s ts is only 20 s old: still inside the window, still remembered.
        assert_eq!(
            c.check_and_insert("f", 1_030_000, at(1050)),
            Err(NonceRefusal::Replayed)
        );
    }
}
