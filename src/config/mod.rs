//! hearth's configuration: one TOML file parsed once into validated types.
//!
//! Each section's type lives with the code it configures (hardware, control, history, the
//! local MQTT interface, the policy); this module composes them, runs every section's
//! validation, and turns problems into errors that name the file, line and key. After
//! `load` returns, no code re-checks raw strings.

mod daemon;
mod locate;

pub use daemon::{DaemonConfig, LogLevel};
pub use locate::SourceMap;

use hearth_model::ConfigIssue;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole `hearth.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub daemon: DaemonConfig,
    pub hardware: hearth_hardware::HardwareConfig,
    #[serde(default)]
    pub simulator: hearth_hardware::SimulatorConfig,
    #[serde(default)]
    pub thermostat: hearth_control::ThermostatConfig,
    #[serde(default)]
    pub lock: hearth_control::LockConfig,
    #[serde(default)]
    pub history: hearth_history::HistoryConfig,
    /// The local broker. Without an `[mqtt]` section hearth runs standalone: it controls
    /// and records, but nothing can command it.
    #[serde(default)]
    pub mqtt: Option<hearth_api::MqttConfig>,
    /// Cloud destinations, each with its privacy policy. None: nothing leaves the house.
    #[serde(default)]
    pub cloud: Vec<crate::cloud::CloudConfig>,
    /// Where every sharing decision is recorded.
    #[serde(default)]
    pub ledger: crate::cloud::LedgerConfig,
}

impl Config {
    /// Every validation problem across all sections.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        issues.extend(self.daemon.validate());
        issues.extend(self.hardware.validate());
        issues.extend(self.simulator.validate());
        issues.extend(self.thermostat.validate());
        issues.extend(self.lock.validate());
        issues.extend(self.history.validate());
        issues.extend(self.ledger.validate());
        if let Some(mqtt) = &self.mqtt {
            issues.extend(mqtt.validate());
        }
        issues.extend(crate::cloud::config::validate_all(&self.cloud));
        issues
    }
}

/// Why a config could not be used. Every variant names the file; parse and validation
/// errors name the line and key too.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the config file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {key}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{}", format_invalid(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<LocatedIssue>,
    },
}

/// A validation problem with the line it was found on (0 when the key is not in the file
/// at all and no enclosing section is either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedIssue {
    pub line: usize,
    pub issue: ConfigIssue,
}

fn format_invalid(path: &Path, problems: &[LocatedIssue]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| match p.line {
            0 => format!("{}: {}", path.display(), p.issue),
            line => format!("{}:{}: {}", path.display(), line, p.issue),
        })
        .collect();
    lines.join("\n")
}

/// Read, parse and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parse and validate config text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let map = SourceMap::new(text);
    let config: Config = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let key = map
            .key_at(offset)
            .unwrap_or_else(|| "(top level)".to_owned());
        ConfigError::Parse {
            path: path.to_owned(),
            line: map.line_of(offset),
            key,
            message: e.message().trim().to_owned(),
        }
    })?;
    let issues = config.issues();
    if issues.is_empty() {
        return Ok(config);
    }
    let problems = issues
        .into_iter()
        .map(|issue| LocatedIssue {
            line: map.line_of_key(&issue.key).unwrap_or(0),
            issue,
        })
        .collect();
    Err(ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    })
}
