//! hearth's configuration: one TOML file parsed once into validated types.
//!
//! Each section's type lives with the code it configures (hardware, control, history, the
//! local MQTT interface, the policy); this module composes them, runs every section's
//! validation, and turns problems into errors that name the file, line and key. After
//! `load` returns, no code re-checks raw strings.

mod daemon;
pub(crate) mod files;
mod lines;
mod locate;

pub use daemon::{DaemonConfig, LogLevel};
pub(crate) use lines::Lines;
pub(crate) use locate::SourceMap;

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
    /// The file and text this config was read from, to point later errors (files named by
    /// the config) at the key's line. `None` for a config not parsed from text.
    #[serde(skip)]
    pub source: Option<std::sync::Arc<ConfigSource>>,
    /// The read-only web page (on by default, on 127.0.0.1 only).
    #[serde(default)]
    pub web: crate::web::WebConfig,
}

/// The file a config was read from, and its text.
#[derive(Debug)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub text: String,
}

/// The top-level sections in the order the example file has them, for saying where a
/// missing one belongs.
pub(crate) const SECTION_ORDER: &[&str] = &[
    "daemon",
    "hardware",
    "simulator",
    "thermostat",
    "lock",
    "history",
    "mqtt",
    "cloud",
    "ledger",
    "web",
];

impl Config {
    /// `file:line` of `key` (or of the section that would hold it) in the file this config
    /// was read from.
    pub fn locate(&self, key: &str) -> Option<(PathBuf, usize)> {
        let source = self.source.as_ref()?;
        Some((source.path.clone(), line_of_key(&source.text, key)))
    }

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
        issues.extend(self.web.validate());
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

/// A validation problem with the line of its key, or of the section that holds (or would
/// hold) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedIssue {
    pub line: usize,
    pub issue: ConfigIssue,
}

fn format_invalid(path: &Path, problems: &[LocatedIssue]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}: {}", path.display(), p.line, p.issue))
        .collect();
    lines.join("\n")
}

/// Read, parse and validate a config file, and check the files it names.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let read = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    // Never block at start: a FIFO named as the config is refused instead of waited on.
    let mut file = hearth_api::open_nonblocking(path).map_err(read)?;
    if !file.metadata().map_err(read)?.is_file() {
        return Err(read(std::io::Error::other(
            "not a regular file (a FIFO, socket, device or directory); name a plain file",
        )));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(read)?;
    let config = parse_bytes(path, &bytes)?;
    let issues = files::check(&config);
    if issues.is_empty() {
        return Ok(config);
    }
    let text = &config.source.as_ref().expect("set by parse").text;
    Err(invalid(path, text, issues))
}

/// [`parse`] for raw file contents: text that is not UTF-8 is an error at the first bad
/// byte's line, naming the key on that line.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(path, text),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let lossy = String::from_utf8_lossy(bytes);
            Err(ConfigError::Parse {
                path: path.to_owned(),
                line,
                key: key_for_line(&lossy, &Lines::new(&lossy), line),
                message: format!(
                    "the file is not UTF-8 (bad byte at line {line}, column {column}); save it \
                     as UTF-8"
                ),
            })
        }
    }
}

/// Parse and validate config text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let map = SourceMap::new(text);
    let mut config: Config = toml::from_str(text).map_err(|e| parse_error(path, text, &map, &e))?;
    config.source = Some(std::sync::Arc::new(ConfigSource {
        path: path.to_owned(),
        text: text.to_owned(),
    }));
    let issues = config.issues();
    if issues.is_empty() {
        return Ok(config);
    }
    Err(invalid(path, text, issues))
}

fn invalid(path: &Path, text: &str, issues: Vec<ConfigIssue>) -> ConfigError {
    let problems = issues
        .into_iter()
        .map(|issue| LocatedIssue {
            line: line_of_key(text, &issue.key),
            issue,
        })
        .collect();
    ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    }
}

/// The line of `key`, of the nearest section written that holds it, or where its missing
/// top-level section belongs.
fn line_of_key(text: &str, key: &str) -> usize {
    SourceMap::new(text).line_of_key(key).unwrap_or_else(|| {
        let top = key.split(['.', '[']).next().unwrap_or(key);
        Lines::new(text).insertion_line(top, SECTION_ORDER)
    })
}

/// The key a line is about; a line about nothing (blank, a stray word) is described by
/// the nearest key or section above it, and before any by what it is: a comment, or its
/// own first word when that could be read as a name.
fn key_for_line(text: &str, lines: &Lines, line: usize) -> String {
    (1..=line)
        .rev()
        .map(|l| lines.key_near(l))
        .find(|k| k != "(top level)")
        .or_else(|| {
            let own = text.lines().nth(line.saturating_sub(1))?.trim_start();
            if own.starts_with('#') {
                return Some("(comment)".into());
            }
            let word: String = own
                .split(|c: char| c.is_whitespace() || c == '=')
                .find(|w| !w.is_empty())?
                .trim_matches('.')
                .chars()
                .take(40)
                .collect();
            let readable = word.chars().any(char::is_alphanumeric)
                && !word
                    .chars()
                    .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER);
            readable.then_some(word)
        })
        .unwrap_or_else(|| "(top level)".into())
}

/// A TOML or serde error with its line and key. Syntax errors and duplicates are located by
/// reading the lines (the document did not parse); a missing section is placed where it
/// belongs.
fn parse_error(path: &Path, text: &str, map: &SourceMap<'_>, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let mut line = map.line_of(offset);
    let lines = Lines::new(text);
    let mut message = e.message().trim().to_owned();
    let mut key = map.key_at(offset);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = field.to_owned();
        match key.take() {
            Some(table) => key = Some(format!("{table}.{field}")),
            None => {
                line = lines.insertion_line(&field, SECTION_ORDER);
                message = format!(
                    "{message}: add a [{field}] section (it belongs before line {line}; see \
                     config.example.toml)"
                );
                key = Some(field);
            }
        }
    }
    if message.contains("duplicate key") || message.contains("duplicate table") {
        let key_here = key_for_line(text, &lines, line);
        if let Some(first) = lines.earlier_definition(line) {
            message = format!(
                "{message}: `{key_here}` is set on line {first} and again on line {line}; keep one"
            );
        }
        key = Some(key_here);
    }
    let key = key.unwrap_or_else(|| key_for_line(text, &lines, line));
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        key,
        message,
    }
}
