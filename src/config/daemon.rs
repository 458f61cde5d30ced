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
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            log_level: LogLevel::Info,
            shutdown_timeout: Duration::from_secs(5),
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
