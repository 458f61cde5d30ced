//! Unlock with a code: the opt-in path for clients that cannot sign (Home Assistant's lock
//! entity with `code_format`). Each configured client has a PBKDF2-SHA256 hash of its code
//! (the voice PIN's format, `hearth_policy::pin`); wrong codes lock that client out for a
//! time that doubles with every further wrong code.
//!
//! Pure: the wall-clock time is passed in, and the lockout table is handed to the daemon to
//! persist ([`CodeGuard::lockouts`], [`CodeGuard::restore`]) so a restart does not reset it.
//! A code is never stored, logged, echoed in an error or kept after the check.

use crate::error::{ApiError, code};
use hearth_model::UnixMillis;
use hearth_policy::lockout::Backoff;
use hearth_policy::pin::PinHash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Wrong codes in a row that are free; the next one starts the lockout.
pub const FREE_ATTEMPTS: u32 = 2;
/// The first lockout; each further wrong code doubles it.
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
/// The longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// Home Assistant's `code_format`: what its keypad accepts (hearth checks the hash only).
pub const CODE_FORMAT: &str = r"^\d{4,12}$";

/// One client's record of wrong codes. Persisted by the daemon.
///
/// Not the voice PIN's `hearth_policy::lockout::Lockout`, a different rule on purpose: here
/// every wrong code after the free ones locks again at once (there each lockout is followed
/// by fresh tries), kept per client in `unlock-lockouts.json` as `{failures, until_ms}`; only
/// the doubling, [`Backoff`], is shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// Wrong codes since the last right one.
    pub failures: u32,
    /// Unix milliseconds until which no code from this client is checked; 0 when none.
    pub until_ms: i64,
}

/// The code hashes by client, and the lockouts.
#[derive(Debug, Default)]
pub struct CodeGuard {
    hashes: BTreeMap<String, PinHash>,
    lockouts: BTreeMap<String, Lockout>,
    changed: bool,
}

impl CodeGuard {
    pub fn new(hashes: BTreeMap<String, PinHash>) -> Self {
        Self {
            hashes,
            ..Self::default()
        }
    }

    /// Whether `client` may unlock with a code.
    pub fn has_code(&self, client: &str) -> bool {
        self.hashes.contains_key(client)
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Check `given` for `client` at `now`. On a wrong code the lockout grows; while locked
    /// out the code is not even checked.
    pub fn check(&mut self, client: &str, given: &str, now: UnixMillis) -> Result<(), ApiError> {
        let Some(hash) = self.hashes.get(client) else {
            return Err(ApiError::new(
                code::UNKNOWN_CLIENT,
                format!(
                    "client `{client}` has no unlock code in hearth's secrets file ([codes]); \
                     add one or unlock with a signed command"
                ),
            ));
        };
        let entry = self.lockouts.entry(client.to_owned()).or_default();
        // A clock stepped back must not stretch a lockout beyond its longest.
        let max_until = now.0.saturating_add(MAX_LOCKOUT.as_millis() as i64);
        if entry.until_ms > max_until {
            entry.until_ms = max_until;
            self.changed = true;
        }
        if now.0 < entry.until_ms {
            return Err(locked_out(client, entry.until_ms - now.0));
        }
        if hash.verify(given) {
            if *entry != Lockout::default() {
                *entry = Lockout::default();
                self.changed = true;
            }
            return Ok(());
        }
        entry.failures = entry.failures.saturating_add(1);
        self.changed = true;
        if entry.failures > FREE_ATTEMPTS {
            let wait = lockout_for(entry.failures);
            entry.until_ms = now.0.saturating_add(wait.as_millis() as i64);
            return Err(locked_out(client, wait.as_millis() as i64));
        }
        Err(ApiError::new(
            code::WRONG_CODE,
            format!(
                "the unlock code for `{client}` is wrong; {} more wrong code(s) start a lockout",
                FREE_ATTEMPTS + 1 - entry.failures
            ),
        ))
    }

    /// The lockout table to persist, and whether it changed since the last call.
    pub fn take_changed(&mut self) -> Option<BTreeMap<String, Lockout>> {
        std::mem::take(&mut self.changed).then(|| self.lockouts.clone())
    }

    /// The lockout table as it stands.
    pub fn lockouts(&self) -> &BTreeMap<String, Lockout> {
        &self.lockouts
    }

    /// Restore a persisted lockout table (entries of clients without a code are dropped).
    pub fn restore(&mut self, saved: BTreeMap<String, Lockout>) {
        self.lockouts = saved
            .into_iter()
            .filter(|(client, _)| self.hashes.contains_key(client))
            .collect();
    }
}

/// The first wrong code past the free ones locks for [`FIRST_LOCKOUT`], each further one
/// twice as long as the one before, up to [`MAX_LOCKOUT`].
const BACKOFF: Backoff = Backoff {
    max_failures: FREE_ATTEMPTS + 1,
    first: FIRST_LOCKOUT,
    max: MAX_LOCKOUT,
};

/// How long the `failures`-th wrong code in a row locks a client out.
pub fn lockout_for(failures: u32) -> Duration {
    BACKOFF.duration(failures.saturating_sub(BACKOFF.max_failures))
}

fn locked_out(client: &str, remaining_ms: i64) -> ApiError {
    ApiError::new(
        code::LOCKED_OUT,
        format!(
            "too many wrong unlock codes from `{client}`; try again in {} s",
            (remaining_ms + 999) / 1000
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> CodeGuard {
        let mut hashes = BTreeMap::new();
        hashes.insert(
            "home_assistant".to_owned(),
            PinHash::derive("4711", "salt", 1000),
        );
        CodeGuard::new(hashes)
    }

    fn err(r: Result<(), ApiError>) -> &'static str {
        r.unwrap_err().code
    }

    #[test]
    fn right_code_unlocks_wrong_codes_lock_out_for_longer_and_longer() {
        let mut g = guard();
        let ha = "home_assistant";
        let t = |s: i64| UnixMillis(1_000_000 + s * 1000);
        assert!(g.check(ha, "4711", t(0)).is_ok());
        assert!(g.take_changed().is_none(), "nothing to persist");
        assert_eq!(err(g.check(ha, "0000", t(1))), "wrong_code");
        assert_eq!(err(g.check(ha, "0001", t(2))), "wrong_code");
        // Third wrong code: 30 s lockout, during which even the right code is not checked.
        assert_eq!(err(g.check(ha, "0002", t(3))), "locked_out");
        assert_eq!(err(g.check(ha, "4711", t(32))), "locked_out");
        assert!(g.take_changed().is_some());
        // After it: a wrong code doubles the lockout (60 s)...
        assert_eq!(err(g.check(ha, "0003", t(33))), "locked_out");
        assert_eq!(g.lockouts()[ha].until_ms, t(93).0);
        let e = g.check(ha, "4711", t(92)).unwrap_err();
        assert!(e.message.contains("1 s"), "{}", e.message);
        // ...and the right code afterwards clears everything.
        assert!(g.check(ha, "4711", t(93)).is_ok());
        assert_eq!(g.lockouts()[ha], Lockout::default());
        assert_eq!(err(g.check("someone", "4711", t(94))), "unknown_client");
    }

    #[test]
    fn lockouts_grow_to_a_day_and_survive_a_restore() {
        assert_eq!(lockout_for(3), Duration::from_secs(30));
        assert_eq!(lockout_for(4), Duration::from_secs(60));
        assert_eq!(lockout_for(10), Duration::from_secs(30 * 128));
        assert_eq!(lockout_for(60), MAX_LOCKOUT);
        let mut g = guard();
        for i in 0..3 {
            let _ = g.check("home_assistant", "1", UnixMillis(i));
        }
        let saved = g.take_changed().unwrap();
        let mut restarted = guard();
        let mut with_stranger = saved.clone();
        with_stranger.insert("gone".into(), Lockout::default());
        restarted.restore(with_stranger);
        assert_eq!(restarted.lockouts(), &saved);
        assert_eq!(
            err(restarted.check("home_assistant", "4711", UnixMillis(10))),
            "locked_out"
        );
        // A clock that stepped far back cannot make the lockout longer than a day.
        let far = UnixMillis(-(MAX_LOCKOUT.as_millis() as i64) * 3);
        let _ = restarted.check("home_assistant", "4711", far);
        assert!(
            restarted.lockouts()["home_assistant"].until_ms
                <= far.0 + MAX_LOCKOUT.as_millis() as i64
        );
    }

    #[test]
    fn errors_never_echo_the_code() {
        let mut g = guard();
        for i in 0..6 {
            let e = g
                .check("home_assistant", "98765", UnixMillis(i * 100_000_000))
                .unwrap_err();
            assert!(!e.message.contains("98765"), "{}", e.message);
        }
    }
}
