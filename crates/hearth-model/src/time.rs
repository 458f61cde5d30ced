//! Wall-clock timestamps as integer milliseconds since the Unix epoch.
//!
//! Control logic runs on monotonic `Instant`s; history, the ledger and the policy's
//! time-of-day windows need wall time. Keeping it an integer makes rows small and
//! comparisons exact.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }

    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-25T12:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let t = UNIX_EPOCH + Duration::from_millis(self.0.max(0) as u64);
        humantime::format_rfc3339_millis(t).to_string()
    }

    /// Parse RFC 3339 (`2026-11-25T12:00:00Z`, fractional seconds allowed).
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        humantime::parse_rfc3339_weak(s)
            .map(Self::from)
            .map_err(|e| {
                format!("`{s}` is not an RFC 3339 time ({e}); try e.g. 2026-11-25T08:00:00Z")
            })
    }
}

impl From<SystemTime> for UnixMillis {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(d.as_millis().min(i64::MAX as u128) as i64),
            Err(e) => Self(-(e.duration().as_millis().min(i64::MAX as u128) as i64)),
        }
    }
}

impl std::fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = UnixMillis::parse_rfc3339("2026-11-25T12:34:56.789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T12:34:56.789Z");
        assert_eq!(t.as_secs(), 1_795_610_096);
    }

    #[test]
    fn rejects_garbage() {
        let err = UnixMillis::parse_rfc3339("yesterday").unwrap_err();
        assert!(err.contains("yesterday"), "{err}");
    }
}
