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
    /// The house's time zone, an IANA name such as `"Europe/Berlin"`: the policy's
    /// time-of-day windows and consent dates are read in its local time, daylight saving
    /// included. Absent: the system's local zone (`/etc/localtime`, `TZ`). Applied on reload.
    pub time_zone: Option<String>,
}

/// The zone an IANA name stands for, from the system's tzdata.
pub fn parse_time_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name).map_err(|e| {
        format!(
            "`{name}` is not a time zone this system knows ({e}); write an IANA name such as \
             \"Europe/Berlin\" or \"America/New_York\" (see /usr/share/zoneinfo, package tzdata)"
        )
    })
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            log_level: LogLevel::Info,
            shutdown_timeout: Duration::from_secs(5),
            time_zone: None,
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
        if let Some(name) = &self.time_zone
            && let Err(message) = parse_time_zone(name)
        {
            issues.push(ConfigIssue::new("daemon.time_zone", message));
        }
        issues
    }

    /// The configured zone, or the system's local one.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.time_zone
            .as_deref()
            .and_then(|name| parse_time_zone(name).ok())
            .unwrap_or_else(jiff::tz::TimeZone::system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        let cfg: DaemonConfig = toml::from_str("time_zone = \"Europe/Berlin\"").unwrap();
        assert!(cfg.validate().is_empty());
        assert_eq!(cfg.zone().iana_name(), Some("Europe/Berlin"));
        for bad in ["CET+1", "Europe/Atlantis", "+01:00"] {
            let cfg = DaemonConfig {
                time_zone: Some(bad.into()),
                ..DaemonConfig::default()
            };
            let issues = cfg.validate();
            assert_eq!(issues.len(), 1, "{bad}");
            assert_eq!(issues[0].key, "daemon.time_zone");
            assert!(issues[0].message.contains(bad), "{}", issues[0].message);
        }
        assert!(toml::from_str::<DaemonConfig>("utc_offset = \"+01:00\"").is_err());
    }
}
