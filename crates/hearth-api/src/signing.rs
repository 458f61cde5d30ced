//! Signed unlock: the canonical message, HMAC-SHA256 signing for the `hearthd sign` CLI, and
//! the [`CommandGuard`] that verifies signatures, timestamps and nonces.
//!
//! # The signed message
//!
//! An unlock command carries `client`, `ts` (integer Unix seconds), `nonce` and `sig`. The
//! signature is the lowercase hex HMAC-SHA256, keyed with the client's key from the secrets
//! file, over the UTF-8 bytes of these five lines joined by `\n` (no trailing newline):
//!
//! ```text
//! hearth-unlock-v1
//! <client>
//! <ts>          decimal, no sign or leading zeros unless 0, e.g. 1795610096
//! <nonce>       16–64 characters of A–Z a–z 0–9 _ -
//! <id>          the string id as is, a numeric id as its JSON text, empty when absent
//! ```
//!
//! The first line names the purpose and version: a signature is only ever an unlock
//! permission and can never be reused for anything else. `id` is last so it may contain any
//! character without ambiguity; `client` and `nonce` cannot contain `\n`.
//!
//! # Acceptance
//!
//! Checked in this order, each with its own error code: the client has a key
//! (`unknown_client`); the signature matches, compared in constant time (`bad_signature`);
//! `ts` is within 30 s of hearth's clock either way, and also within `mqtt.command_max_age`
//! (whichever is tighter; `future_timestamp` ahead, `expired` behind), and not before the
//! daemon started (`expired`); the nonce was never accepted before (`replayed_nonce`, or
//! `busy` when the nonce cache is full of live nonces). Only a fully accepted command
//! records its nonce.
//!
//! Nothing here reads the clock or touches the lock.

use crate::error::{ApiError, code};
use crate::nonce::{DEFAULT_NONCE_CAPACITY, NonceCache, NonceRefusal};
use crate::secrets::Secrets;
use crate::unlock_code::CodeGuard;
use hearth_model::UnixMillis;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// First line of the signed message.
pub const SIGNATURE_DOMAIN: &str = "hearth-unlock-v1";
/// How far a signed `ts` may be from hearth's clock, either way.
pub const SIGNATURE_WINDOW: Duration = Duration::from_secs(30);
pub const NONCE_MIN_CHARS: usize = 16;
pub const NONCE_MAX_CHARS: usize = 64;

/// The exact bytes that are signed (see the module docs).
pub fn canonical_message(client: &str, ts: i64, nonce: &str, id: &str) -> String {
    format!("{SIGNATURE_DOMAIN}\n{client}\n{ts}\n{nonce}\n{id}")
}

/// The lowercase hex HMAC-SHA256 of the canonical message.
pub fn signature_hex(key: &[u8], client: &str, ts: i64, nonce: &str, id: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(canonical_message(client, ts, nonce, id).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A complete signed unlock command, ready to publish on `<base>/lock/set`. An empty `id`
/// is left out of the JSON (it signs the same as an absent one).
pub fn sign_unlock(client: &str, key: &[u8], ts: i64, nonce: &str, id: &str) -> serde_json::Value {
    let mut cmd = serde_json::Map::new();
    if !id.is_empty() {
        cmd.insert("id".into(), id.into());
    }
    cmd.insert("action".into(), "unlock".into());
    cmd.insert("client".into(), client.into());
    cmd.insert("ts".into(), ts.into());
    cmd.insert("nonce".into(), nonce.into());
    cmd.insert(
        "sig".into(),
        signature_hex(key, client, ts, nonce, id).into(),
    );
    serde_json::Value::Object(cmd)
}

/// Whether `nonce` has the required form (16–64 of `A–Z a–z 0–9 _ -`).
pub fn is_valid_nonce(nonce: &str) -> bool {
    (NONCE_MIN_CHARS..=NONCE_MAX_CHARS).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The signature fields of one unlock command, as read from the payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedUnlock<'a> {
    pub client: &'a str,
    pub ts: i64,
    pub nonce: &'a str,
    pub sig: &'a str,
    /// [`crate::MessageId::canonical`] of the command's id, or empty.
    pub id: &'a str,
}

/// The daemon's long-lived checker for command freshness and signed unlocks. One per
/// daemon: it holds the unlock keys and the nonce memory.
#[derive(Debug)]
pub struct CommandGuard {
    secrets: Secrets,
    codes: CodeGuard,
    nonces: NonceCache,
    started_at: UnixMillis,
    max_age: Duration,
}

impl CommandGuard {
    /// `started_at` is the daemon's start (wall clock): signed commands with an earlier
    /// `ts` are refused, because the nonce memory from before the start is gone.
    /// `max_age` is `mqtt.command_max_age`.
    pub fn new(secrets: Secrets, started_at: UnixMillis, max_age: Duration) -> Self {
        Self {
            codes: CodeGuard::new(secrets.codes().clone()),
            secrets,
            nonces: NonceCache::new(DEFAULT_NONCE_CAPACITY, SIGNATURE_WINDOW),
            started_at,
            max_age,
        }
    }

    /// The same with a nonce cache of a chosen capacity (tests).
    pub fn with_nonce_capacity(mut self, capacity: usize) -> Self {
        self.nonces = NonceCache::new(capacity, SIGNATURE_WINDOW);
        self
    }

    /// Whether any client key is configured; without one, signed unlock is disabled.
    pub fn unlock_enabled(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// The unlock-code checker (`[codes]` of the secrets file) and its lockouts.
    pub fn codes(&mut self) -> &mut CodeGuard {
        &mut self.codes
    }

    /// Freshness of an optional `ts` (Unix seconds) on any command: refused when older than
    /// `max_age` or more than `max_age` ahead of `now`.
    pub fn check_fresh(&self, ts: i64, now: UnixMillis) -> Result<(), ApiError> {
        let max_age = millis(self.max_age);
        let ts_ms = ts.saturating_mul(1000);
        if ts_ms < now.0.saturating_sub(max_age) {
            return Err(expired(format!(
                "command ts {ts} is {}s old; commands older than {} are refused",
                secs_between(ts_ms, now.0),
                hearth_model::duration::format(self.max_age)
            )));
        }
        if ts_ms > now.0.saturating_add(max_age) {
            return Err(ApiError::new(
                code::FUTURE_TIMESTAMP,
                format!(
                    "command ts {ts} is {}s ahead of hearth's clock; check the client's clock",
                    secs_between(now.0, ts_ms)
                ),
            ));
        }
        Ok(())
    }

    /// Verify a signed unlock and record its nonce.
    pub(crate) fn verify_unlock(
        &mut self,
        cmd: &SignedUnlock<'_>,
        now: UnixMillis,
    ) -> Result<(), ApiError> {
        let key = self.secrets.key(cmd.client).ok_or_else(|| {
            ApiError::new(
                code::UNKNOWN_CLIENT,
                format!(
                    "client `{}` has no key in hearth's secrets file; add one or sign as a known client",
                    cmd.client
                ),
            )
        })?;
        let bad_sig = || {
            ApiError::new(
                code::BAD_SIGNATURE,
                format!(
                    "signature does not match; sign `{SIGNATURE_DOMAIN}\\n<client>\\n<ts>\\n<nonce>\\n<id>` \
                     with HMAC-SHA256 and send it as 64 lowercase hex digits"
                ),
            )
        };
        let sig = match hex::decode(cmd.sig) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            _ => return Err(bad_sig()),
        };
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(canonical_message(cmd.client, cmd.ts, cmd.nonce, cmd.id).as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&sig).map_err(|_| bad_sig())?;

        let window = millis(SIGNATURE_WINDOW);
        let ts_ms = cmd.ts.saturating_mul(1000);
        if ts_ms > now.0.saturating_add(window) {
            return Err(ApiError::new(
                code::FUTURE_TIMESTAMP,
                format!(
                    "signed ts {} is {}s ahead of hearth's clock (at most 30s allowed); check the client's clock",
                    cmd.ts,
                    secs_between(now.0, ts_ms)
                ),
            ));
        }
        if ts_ms < now.0.saturating_sub(window) {
            return Err(expired(format!(
                "signed ts {} is {}s old; an unlock must be signed within 30s of sending",
                cmd.ts,
                secs_between(ts_ms, now.0)
            )));
        }
        if ts_ms < self.started_at.0 {
            return Err(expired(format!(
                "signed ts {} is before hearth started ({}); sign the command again",
                cmd.ts, self.started_at
            )));
        }
        self.check_fresh(cmd.ts, now)?;
        match self.nonces.check_and_insert(cmd.nonce, ts_ms, now) {
            Ok(()) => Ok(()),
            Err(NonceRefusal::Replayed) => Err(ApiError::new(
                code::REPLAYED_NONCE,
                format!(
                    "nonce `{}` was already used; every command needs a new random nonce",
                    cmd.nonce
                ),
            )),
            Err(NonceRefusal::Busy) => Err(ApiError::new(
                code::BUSY,
                "too many recent unlock commands to remember their nonces; try again in 30s",
            )),
            Err(NonceRefusal::Forgotten) => Err(expired(format!(
                "signed ts {} is too old to check for replay; sign the command again",
                cmd.ts
            ))),
        }
    }
}

fn expired(message: String) -> ApiError {
    ApiError::new(code::EXPIRED, message)
}

/// Whole seconds from `earlier` to `later` (milliseconds); saturating, because `ts` comes
/// from the network and may be any i64 (`i64::MIN - now` must not overflow).
fn secs_between(earlier: i64, later: i64) -> i64 {
    later.saturating_sub(earlier) / 1000
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_exactly_as_documented() {
        assert_eq!(
            canonical_message("alice", 1795610096, "abcdefghijklmnop", "42"),
            "hearth-unlock-v1\nalice\n1795610096\nabcdefghijklmnop\n42"
        );
        assert_eq!(
            canonical_message("alice", 0, "abcdefghijklmnop", ""),
            "hearth-unlock-v1\nalice\n0\nabcdefghijklmnop\n"
        );
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sign_unlock_builds_the_full_command() {
        let key = [9u8; 32];
        let v = sign_unlock("alice", &key, 1000, "nonce-0123456789", "req-1");
        assert_eq!(v["action"], "unlock");
        assert_eq!(v["client"], "alice");
        assert_eq!(v["ts"], 1000);
        assert_eq!(v["nonce"], "nonce-0123456789");
        assert_eq!(v["id"], "req-1");
        let sig = v["sig"].as_str().unwrap();
        assert_eq!(sig.len(), 64);
        assert_eq!(
            sig,
            signature_hex(&key, "alice", 1000, "nonce-0123456789", "req-1")
        );
        assert!(
            sign_unlock("alice", &key, 1000, "nonce-0123456789", "")
                .get("id")
                .is_none()
        );
    }

    #[test]
    fn readme_example_signature_is_correct() {
        let readme = include_str!("../README.md");
        let sig = signature_hex(
            &[0xA1; 32],
            "alice",
            1795610096,
            "3f9c2a7b1e5d4c60",
            "door-1",
        );
        assert!(
            readme.contains(&format!("\"sig\":\"{sig}\"")),
            "README example is stale: {sig}"
        );
        assert!(readme.contains(&"a1".repeat(32)));
    }

    #[test]
    fn nonce_form() {
        assert!(is_valid_nonce("abcdefghijklmnop"));
        assert!(is_valid_nonce(&"A_-9".repeat(16)));
        assert!(!is_valid_nonce("short"));
        assert!(!is_valid_nonce(&"a".repeat(65)));
        assert!(!is_valid_nonce("abcdefghijklmno!"));
        assert!(!is_valid_nonce("abcdefghijklmnop\n"));
    }

    #[test]
    fn freshness_of_unsigned_ts() {
        let g = CommandGuard::new(Secrets::empty(), UnixMillis(0), Duration::from_secs(10));
        let now = UnixMillis(1_000_000);
        assert!(g.check_fresh(1000, now).is_ok());
        assert!(g.check_fresh(990, now).is_ok());
        assert_eq!(g.check_fresh(989, now).unwrap_err().code, code::EXPIRED);
        assert_eq!(
            g.check_fresh(1011, now).unwrap_err().code,
            code::FUTURE_TIMESTAMP
        );
    }

    #[test]
    fn extreme_timestamps_are_refused_not_overflowed() {
        // `now - ts` with ts = i64::MIN overflowed (a panic in debug builds, a wrap in release).
        let g = CommandGuard::new(Secrets::empty(), UnixMillis(0), Duration::from_secs(10));
        for now in [
            UnixMillis(0),
            UnixMillis(1_795_610_096_000),
            UnixMillis(i64::MAX),
            UnixMillis(i64::MIN),
        ] {
            for ts in [i64::MIN, i64::MIN + 1, -1, i64::MAX, i64::MAX - 1] {
                if let Err(e) = g.check_fresh(ts, now) {
                    assert!(
                        [code::EXPIRED, code::FUTURE_TIMESTAMP].contains(&e.code),
                        "{e:?}"
                    );
                }
            }
        }
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let mut g = CommandGuard::new(
            Secrets::from_keys([("phone", key.clone())]).unwrap(),
            UnixMillis(0),
            Duration::from_secs(10),
        );
        for ts in [i64::MIN, i64::MAX] {
            let nonce = "abcdefghijklmnop";
            let sig = signature_hex(&key, "phone", ts, nonce, "");
            let cmd = SignedUnlock {
                client: "phone",
                ts,
                nonce,
                sig: &sig,
                id: "",
            };
            let e = g
                .verify_unlock(&cmd, UnixMillis(1_795_610_096_000))
                .unwrap_err();
            assert!(
                [code::EXPIRED, code::FUTURE_TIMESTAMP].contains(&e.code),
                "{e:?}"
            );
        }
    }
}
