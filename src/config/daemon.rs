//! The `[daemon]` section: logging and shutdown settings of the process itself.

use hearth_model::ConfigIssue;
use serde::Deserialize;
use std::time::Duration;

/// Log verbosity when `RUST_LOG` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Default log level; `RUST_LOG` overrides it.
    pub log_level: LogLevel,
    /// How long shutdown may take before hearth gives up waiting for tasks and exits.
    #[serde(with = "hearth_model::duration")]
    pub shutdown_timeout: Duration,
    /// The house's offset from UTC, `"+01:00"` or `"-05:30"`: the policy's time-of-day windows
    /// and consent dates are read in this local time. A fixed offset: change it at DST.
    #[serde(deserialize_with = "utc_offset")]
    pub utc_offset: i32,
}

/// `"+01:00"`, `"-05:30"`, `"Z"` -> minutes east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let bad =
        || format!("`{text}` is not a UTC offset; write it like \"+01:00\", \"-05:30\" or \"Z\"");
    let t = text.trim();
    if t == "Z" || t == "UTC" {
        return Ok(0);
    }
    let (sign, rest) = match t.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 || h.to_string().len() > 2 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

fn utc_offset<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let s = String::deserialize(d)?;
    parse_utc_offset(&s).map_err(serde::de::Error::custom)
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            log_level: LogLevel::Info,
            shutdown_timeout: Duration::from_secs(5),
            utc_offset: 0,
        }
    }
}

impl DaemonConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.shutdown_timeout < Duration::from_millis(100)
            || self.shutdown_timeout > Duration::from_secs(60)
        {
            issues.push(ConfigIssue::new(
                "daemon.shutdown_timeout",
                format!(
                    "{} is outside 100ms..60s; systemd's TimeoutStopSec must leave room for it",
                    hearth_model::duration::format(self.shutdown_timeout)
                ),
            ));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::parse_utc_offset;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+01:00"), Ok(60));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-330));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        for bad in ["1:00", "+25:00", "+01", "+01:60", "CET"] {
            assert!(parse_utc_offset(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
