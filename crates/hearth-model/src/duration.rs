//! Durations in config files, written the way people write them: `"30s"`, `"5m"`, `"1h 30m"`.
//!
//! Use with `#[serde(with = "hearth_model::duration")]` on a `std::time::Duration` field,
//! or `hearth_model::duration::option` on an `Option<Duration>`.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Parse a human duration, with a message that says what a valid one looks like.
pub fn parse(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("`{s}` is not a duration ({e}); write a number and a unit, e.g. \"500ms\", \"30s\", \"5m\", \"2h\"")
    })?;
    if d > MAX {
        return Err(format!(
            "`{s}` is longer than any hearth setting allows (at most {}); timers this long \
             would overflow the clock",
            format(MAX)
        ));
    }
    Ok(d)
}

/// The longest duration any config key accepts (each key has its own, tighter bound too):
/// ten years, so `Instant + duration` can never overflow anywhere a config value is used.
pub const MAX: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Format a duration the way the config accepts it (`"5m"`, `"1h 30m"`).
pub fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// The same for `Option<Duration>`; pair with `#[serde(default)]`.
pub mod option {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse(&s).map(Some).map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("1h 30m").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn absurd_durations_are_refused() {
        assert!(parse("3650d").is_ok());
        for bad in ["11y", "99999999999999h", "18446744073709551615s"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert!(
            parse("-5s").is_err(),
            "negative durations are not durations"
        );
    }

    #[test]
    fn bad_duration_explains_itself() {
        let e = parse("30 parsecs").unwrap_err();
        assert!(e.contains("30 parsecs") && e.contains("\"30s\""), "{e}");
    }
}
