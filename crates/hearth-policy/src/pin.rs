//! The voice PIN that guards unlocking from a cloud: stored only as a PBKDF2-HMAC-SHA256 hash.
//!
//! The config holds `pbkdf2_sha256 = "<hex>"`, a `salt` and an `iterations` count, the same
//! numbers Python's `hashlib.pbkdf2_hmac("sha256", pin, salt, iterations).hex()` produces.
//! This module never stores, logs or returns a PIN in clear, and compares in constant time.

use crate::lockout::{Backoff, Lockout, Verdict};
use hearth_model::UnixMillis;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Fewer iterations make a stolen config file cheap to brute-force (a 4-digit PIN has only
/// 10 000 candidates); this floor keeps a guess around a millisecond or more on a Pi.
pub const MIN_ITERATIONS: u32 = 10_000;
/// A ceiling, so a typo cannot make every PIN check take minutes of CPU on a Pi.
pub(crate) const MAX_ITERATIONS: u32 = 2_000_000;
/// Wrong PINs in a row before hearth stops checking for a while.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// How long unlocking stays refused after too many wrong PINs (the first time).
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// The longest lockout, however many came before.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(24 * 3600);

/// PBKDF2 with HMAC-SHA256 (RFC 8018), 32-byte output.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let prf = Hmac::<Sha256>::new_from_slice(password).expect("HMAC accepts keys of any length");
    let mut first = prf.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = first.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut m = prf.clone();
        m.update(&u);
        u = m.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

/// A PIN as hearth keeps it: the derived hash, its salt and the iteration count.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash {
    hash: [u8; 32],
    salt: String,
    iterations: u32,
}

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is not the PIN, but there is no reason to spread it into logs either.
        f.debug_struct("PinHash")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PinHash {
    /// Derive the stored form of `pin` (used by the CLI that writes the config line).
    pub fn derive(pin: &str, salt: &str, iterations: u32) -> Self {
        Self {
            hash: pbkdf2_sha256(pin.as_bytes(), salt.as_bytes(), iterations),
            salt: salt.to_owned(),
            iterations,
        }
    }

    /// A fresh random salt of 16 hex characters.
    pub fn random_salt() -> String {
        format!("{:016x}", fastrand::u64(..))
    }

    /// Rebuild from config values; `hex_hash` must be 64 hex digits.
    pub fn from_config(hex_hash: &str, salt: &str, iterations: u32) -> Result<Self, String> {
        let bytes =
            hex::decode(hex_hash.trim()).map_err(|e| format!("`{hex_hash}` is not hex ({e})"))?;
        let hash: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "a PBKDF2-SHA256 hash is 32 bytes (64 hex digits), this one has {} bytes",
                b.len()
            )
        })?;
        Ok(Self {
            hash,
            salt: salt.to_owned(),
            iterations,
        })
    }

    /// Whether `pin` matches, compared in constant time.
    pub fn verify(&self, pin: &str) -> bool {
        let candidate = pbkdf2_sha256(pin.as_bytes(), self.salt.as_bytes(), self.iterations);
        candidate
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// The config line for this PIN, e.g. for `hearthd policy hash-pin`.
    pub fn to_toml(&self) -> String {
        format!(
            "unlock_pin = {{ pbkdf2_sha256 = \"{}\", salt = \"{}\", iterations = {} }}",
            hex::encode(self.hash),
            self.salt,
            self.iterations
        )
    }
}

/// Outcome of checking a PIN through the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PinCheck {
    Accepted,
    Missing,
    Wrong,
    LockedOut,
}

/// The voice PIN's lockout: after `MAX_FAILED_ATTEMPTS` wrong PINs unlocking is refused
/// for `LOCKOUT`, twice as long after each further lockout, up to `MAX_LOCKOUT`.
pub(crate) const BACKOFF: Backoff = Backoff {
    max_failures: MAX_FAILED_ATTEMPTS,
    first: LOCKOUT,
    max: MAX_LOCKOUT,
};

/// Counts wrong PINs and refuses to check any more while locked out. Its state is a
/// [`Lockout`], which the daemon persists across reloads and restarts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PinGuard {
    pub(crate) lockout: Lockout,
}

impl PinGuard {
    pub(crate) fn check(
        &mut self,
        pin: &PinHash,
        given: Option<&str>,
        now: UnixMillis,
    ) -> PinCheck {
        if let Verdict::Locked { .. } = self.lockout.check(now) {
            return PinCheck::LockedOut;
        }
        let Some(given) = given else {
            return PinCheck::Missing;
        };
        if pin.verify(given) {
            self.lockout.succeeded();
            PinCheck::Accepted
        } else if self.lockout.failed(now, &BACKOFF).is_some() {
            PinCheck::LockedOut
        } else {
            PinCheck::Wrong
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_7914_pbkdf2_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1), first 32 bytes.
        assert_eq!(
            hex::encode(pbkdf2_sha256(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn matches_python_hashlib_with_many_iterations() {
        // python3 -c "import hashlib;print(hashlib.pbkdf2_hmac('sha256',b'1234',b'hearth-salt',10000).hex())"
        let h = PinHash::derive("1234", "hearth-salt", 10_000);
        let again = PinHash::from_config(
            "0386c9a1d3ac2d1d24933d6085fb26f3db83a4b3fce21e0942b526cf20a5616b",
            "hearth-salt",
            10_000,
        )
        .unwrap();
        assert_eq!(h, again);
        assert!(h.verify("1234"));
        assert!(!h.verify("1235"));
        assert!(!h.verify(""));
    }

    #[test]
    fn from_config_explains_bad_hex() {
        let e = PinHash::from_config("zz", "s", 10_000).unwrap_err();
        assert!(e.contains("not hex"), "{e}");
        let e = PinHash::from_config("abcd", "s", 10_000).unwrap_err();
        assert!(e.contains("64 hex digits"), "{e}");
    }

    #[test]
    fn guard_locks_out_after_repeated_failures_then_recovers() {
        let pin = PinHash::derive("2468", "salty-salt", 1);
        let mut g = PinGuard::default();
        let t0 = UnixMillis(1_000_000);
        assert_eq!(g.check(&pin, None, t0), PinCheck::Missing);
        for _ in 1..MAX_FAILED_ATTEMPTS {
            assert_eq!(g.check(&pin, Some("0000"), t0), PinCheck::Wrong);
        }
        assert_eq!(g.check(&pin, Some("0000"), t0), PinCheck::LockedOut);
        // Even the right PIN is not checked during the lockout.
        assert_eq!(g.check(&pin, Some("2468"), t0), PinCheck::LockedOut);
        let later = UnixMillis(t0.0 + LOCKOUT.as_millis() as i64);
        assert_eq!(g.check(&pin, Some("2468"), later), PinCheck::Accepted);
    }

    #[test]
    fn to_toml_round_trips() {
        let h = PinHash::derive("9999", "abc123abc123", 10_000);
        let line = h.to_toml();
        assert!(
            line.starts_with("unlock_pin = { pbkdf2_sha256 = \""),
            "{line}"
        );
        assert!(!line.contains("9999"));
    }
}
