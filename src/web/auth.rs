//! The page's password: a PBKDF2-SHA256 hash in a private file, sessions in memory, and a
//! limit on wrong guesses per client address and in total.
//!
//! The file holds one line, `pbkdf2_sha256$<iterations>$<salt>$<hex hash>`, written by
//! `hearthd web-password`. Session tokens are 32 bytes from the TLS library's system random
//! source; the cookie carrying one is `HttpOnly`, `SameSite=Strict` (and `Secure` on TLS).
//! Nothing here touches the network; the handlers in `server.rs` call it.

use hearth_policy::pin::PinHash;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Iterations for a new password hash (the same order as the voice PIN's).
pub(crate) const ITERATIONS: u32 = 100_000;
/// Wrong passwords from one address before it must wait.
pub const MAX_FAILURES: u32 = 5;
/// Wrong passwords from all addresses together before everyone must wait.
pub(crate) const MAX_FAILURES_TOTAL: u32 = 20;
/// How long a locked-out address (or everyone) waits; failures older than this are forgotten.
pub(crate) const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Cookie name.
pub(crate) const COOKIE: &str = "hearth_session";

/// The stored password.
#[derive(Debug, Clone)]
pub struct PasswordHash(PinHash);

impl PasswordHash {
    /// Hash a new password with a fresh salt; returns the file's line.
    pub fn line_for(password: &str) -> String {
        Self::line_with_iterations(password, ITERATIONS)
    }

    /// [`line_for`](Self::line_for) with another iteration count (tests under emulation
    /// use the minimum; `parse` refuses fewer).
    pub fn line_with_iterations(password: &str, iterations: u32) -> String {
        let salt = PinHash::random_salt();
        let hash =
            hearth_policy::pin::pbkdf2_sha256(password.as_bytes(), salt.as_bytes(), iterations);
        format!("pbkdf2_sha256${iterations}${salt}${}", hex::encode(hash))
    }

    /// Parse the file's line.
    pub fn parse(line: &str) -> Result<Self, String> {
        let parts: Vec<&str> = line.trim().split('$').collect();
        let [scheme, iterations, salt, hex] = parts[..] else {
            return Err("expected one line `pbkdf2_sha256$<iterations>$<salt>$<hex>`; write it with `hearthd web-password`".into());
        };
        if scheme != "pbkdf2_sha256" {
            return Err(format!("unknown scheme `{scheme}`; expected pbkdf2_sha256"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| format!("`{iterations}` is not an iteration count"))?;
        if iterations < hearth_policy::pin::MIN_ITERATIONS {
            return Err(format!(
                "{iterations} iterations are too few (at least {})",
                hearth_policy::pin::MIN_ITERATIONS
            ));
        }
        PinHash::from_config(hex, salt, iterations).map(Self)
    }

    /// Read and parse a password file (private: chmod 600).
    pub fn load(path: &Path) -> Result<Self, String> {
        let line = hearth_api::read_password_file(path).map_err(|e| e.to_string())?;
        Self::parse(&line).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Constant-time comparison of the derived hash.
    pub fn verify(&self, password: &str) -> bool {
        self.0.verify(password)
    }
}

/// Wrong-password bookkeeping. Pure: `now` is passed in.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    per_addr: HashMap<IpAddr, (u32, Instant)>,
    total: (u32, Option<Instant>),
}

impl Limiter {
    /// `Err(wait)` while `addr` (or everyone) is locked out.
    pub fn check(&mut self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        self.per_addr
            .retain(|_, (_, last)| now.saturating_duration_since(*last) < LOCKOUT);
        if let (n, Some(last)) = self.total {
            if now.saturating_duration_since(last) >= LOCKOUT {
                self.total = (0, None);
            } else if n >= MAX_FAILURES_TOTAL {
                return Err(LOCKOUT - now.saturating_duration_since(last));
            }
        }
        match self.per_addr.get(&addr) {
            Some(&(n, last)) if n >= MAX_FAILURES => {
                Err(LOCKOUT - now.saturating_duration_since(last))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&mut self, addr: IpAddr, now: Instant) {
        let e = self.per_addr.entry(addr).or_insert((0, now));
        *e = (e.0 + 1, now);
        self.total = (self.total.0 + 1, Some(now));
    }

    pub fn succeeded(&mut self, addr: IpAddr) {
        self.per_addr.remove(&addr);
    }
}

/// Logged-in sessions: token -> expiry.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    live: HashMap<String, Instant>,
}

/// At most this many sessions; the oldest is dropped beyond it.
const MAX_SESSIONS: usize = 64;

impl Sessions {
    /// A new session token valid for `lifetime`.
    pub fn create(&mut self, now: Instant, lifetime: Duration) -> Result<String, String> {
        self.live.retain(|_, exp| *exp > now);
        if self.live.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .live
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(k, _)| k.clone())
        {
            self.live.remove(&oldest);
        }
        let mut bytes = [0u8; 32];
        rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut bytes)
            .map_err(|_| "the system random source failed".to_owned())?;
        let token = hex::encode(bytes);
        self.live.insert(token.clone(), now + lifetime);
        Ok(token)
    }

    pub fn valid(&self, token: &str, now: Instant) -> bool {
        self.live.get(token).is_some_and(|exp| *exp > now)
    }

    pub fn remove(&mut self, token: &str) {
        self.live.remove(token);
    }
}

/// The session token in a `Cookie` header value, if any.
pub(crate) fn token_from_cookies(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value for a new session.
pub(crate) fn set_cookie(token: &str, lifetime: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        lifetime.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_line_round_trips_and_bad_lines_say_why() {
        let line = PasswordHash::line_for("correct horse");
        let h = PasswordHash::parse(&line).unwrap();
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horsE"));
        assert!(
            PasswordHash::parse("hunter2")
                .unwrap_err()
                .contains("hearthd web-password")
        );
        let weak = line.replace("$100000$", "$10$");
        assert!(PasswordHash::parse(&weak).unwrap_err().contains("too few"));
    }

    #[test]
    fn wrong_passwords_lock_out_an_address_then_everyone() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        let a: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..MAX_FAILURES {
            assert!(l.check(a, t0).is_ok());
            l.failed(a, t0);
        }
        let wait = l.check(a, t0).unwrap_err();
        assert_eq!(wait, LOCKOUT);
        let b: IpAddr = [127, 0, 0, 2].into();
        assert!(l.check(b, t0).is_ok(), "another address is not locked out");
        assert!(l.check(a, t0 + LOCKOUT).is_ok(), "the lockout ends");
        // Many addresses guessing together lock everyone out.
        let mut l = Limiter::default();
        for i in 0..MAX_FAILURES_TOTAL {
            l.failed(IpAddr::from([10, 0, 0, i as u8]), t0);
        }
        assert!(l.check(b, t0 + Duration::from_secs(1)).is_err());
        l.succeeded(a);
    }

    #[test]
    fn sessions_expire_and_cookies_are_strict() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let tok = s.create(t0, Duration::from_secs(60)).unwrap();
        assert_eq!(tok.len(), 64);
        assert!(s.valid(&tok, t0));
        assert!(!s.valid(&tok, t0 + Duration::from_secs(61)));
        assert!(!s.valid("nope", t0));
        let c = set_cookie(&tok, Duration::from_secs(60), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert_eq!(
            token_from_cookies(&format!("a=b; {COOKIE}={tok}")),
            Some(tok.as_str())
        );
        s.remove(&tok);
        assert!(!s.valid(&tok, t0));
    }
}
