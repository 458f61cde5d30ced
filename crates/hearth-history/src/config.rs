//! The `[history]` config section: where the database lives, how often it is written,
//! what is kept and for how long. Parsed once and validated here; nothing else re-checks it.
//!
//! This module must never open the database.

use hearth_model::{ConfigIssue, Field};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[history]` section. Every key is optional; see `example.toml` beside this crate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// The SQLite database file. Default `/var/lib/hearth/history.db`.
    pub path: PathBuf,
    /// How often buffered readings are committed (default 30 s). A power cut loses at
    /// most this much history.
    #[serde(with = "hearth_model::duration")]
    pub commit_interval: Duration,
    /// How long raw samples are kept (default 30 days); hourly rollups are kept for good.
    #[serde(with = "hearth_model::duration")]
    pub retention: Duration,
    /// How long the event log is kept (default 365 days).
    #[serde(with = "hearth_model::duration")]
    pub event_retention: Duration,
    /// A temperature or setpoint is recorded only when it moved by more than this many °C
    /// from the last recorded value (default 0.1).
    pub deadband: f64,
    /// The same for humidity, in %RH (default 1.0: humidity sensors are noisier than a
    /// tenth of a percent, and nobody reads humidity to that precision).
    pub humidity_deadband: f64,
    /// Per-field deadbands overriding the two above, e.g. `"thermostat.setpoint_heat" = 0`.
    pub deadbands: BTreeMap<Field, f64>,
    /// Temperature and humidity are recorded as the mean of their readings over this long
    /// (default 1 min; "0s" records single readings). Sensor noise is larger than the
    /// deadband: single readings would cross it in turn all day (a commit every 30 s on
    /// the SD card) while the room has not changed; the mean crosses it when the room does.
    #[serde(with = "hearth_model::duration")]
    pub average_over: Duration,
    /// A reading is recorded at least this often even when unchanged (default 15 min), so
    /// a steady value still shows up and "no data" means hearth was not running.
    #[serde(with = "hearth_model::duration")]
    pub heartbeat: Duration,
    /// How many samples (and, separately, events) are held in memory while the database
    /// cannot be written (default 20000); beyond it the oldest are dropped and counted.
    pub buffer_limit: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("/var/lib/hearth/history.db"),
            commit_interval: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 86_400),
            event_retention: Duration::from_secs(365 * 86_400),
            deadband: 0.1,
            humidity_deadband: 1.0,
            deadbands: BTreeMap::new(),
            average_over: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15 * 60),
            buffer_limit: 20_000,
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);

impl HistoryConfig {
    /// The deadband that applies to `field`.
    pub fn deadband_for(&self, field: Field) -> f64 {
        match self.deadbands.get(&field) {
            Some(&d) => d,
            None if field == Field::ThermostatHumidity => self.humidity_deadband,
            None => self.deadband,
        }
    }

    /// Every problem with the section, keyed by dotted config key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |key: &str, msg: String| issues.push(ConfigIssue::new(key, msg));
        if self.path.as_os_str().is_empty() {
            issue(
                "history.path",
                "is empty; give the database file, e.g. \"/var/lib/hearth/history.db\"".into(),
            );
        }
        if self.commit_interval < Duration::from_secs(1) || self.commit_interval > HOUR {
            issue(
                "history.commit_interval",
                format!(
                    "is {}; use between 1s and 1h (a power cut loses up to this much history, \
                     and shorter intervals wear an SD card faster)",
                    hearth_model::duration::format(self.commit_interval)
                ),
            );
        }
        for (key, value) in [
            ("history.retention", self.retention),
            ("history.event_retention", self.event_retention),
        ] {
            if value < HOUR {
                issue(
                    key,
                    format!(
                        "is {}; keep at least 1h so hourly rollups are made before raw data goes",
                        hearth_model::duration::format(value)
                    ),
                );
            }
        }
        for (key, value) in [
            ("history.deadband", self.deadband),
            ("history.humidity_deadband", self.humidity_deadband),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                issue(key, format!("is {value}; use a number >= 0, e.g. 0.1"));
            }
        }
        for (field, value) in &self.deadbands {
            let key = format!("history.deadbands.\"{field}\"");
            if !field.is_numeric() {
                issue(
                    &key,
                    "is a text field, recorded on every change; a deadband applies only to \
                     numeric fields"
                        .into(),
                );
            } else if !(value.is_finite() && *value >= 0.0) {
                issue(&key, format!("is {value}; use a number >= 0"));
            }
        }
        if self.average_over > Duration::from_secs(15 * 60) {
            issue(
                "history.average_over",
                format!(
                    "is {}; use at most 15m (e.g. \"1m\", or \"0s\" for single readings): a \
                     longer mean would record a change long after it happened",
                    hearth_model::duration::format(self.average_over)
                ),
            );
        }
        if self.heartbeat > Duration::from_secs(24 * 3600) {
            issue(
                "history.heartbeat",
                "is over 24h; use e.g. \"15m\" (a steady value is recorded at least this often)"
                    .into(),
            );
        }
        if self.heartbeat < Duration::from_secs(1) {
            issue(
                "history.heartbeat",
                "is under 1s; use e.g. \"15m\" (it bounds how long a steady value goes unrecorded)"
                    .into(),
            );
        }
        if !(100..=1_000_000).contains(&self.buffer_limit) {
            issue(
                "history.buffer_limit",
                format!(
                    "is {}; use between 100 and 1000000 (each buffered sample costs ~16 bytes of memory)",
                    self.buffer_limit
                ),
            );
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<HistoryConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let c = HistoryConfig::default();
        assert_eq!(c.path, PathBuf::from("/var/lib/hearth/history.db"));
        assert_eq!(c.commit_interval, Duration::from_secs(30));
        assert_eq!(c.retention, Duration::from_secs(30 * 86_400));
        assert_eq!(c.heartbeat, Duration::from_secs(900));
        assert_eq!(c.deadband, 0.1);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(parse("").unwrap().commit_interval, c.commit_interval);
    }

    #[test]
    fn example_file_parses_and_validates() {
        #[derive(Deserialize)]
        struct File {
            history: HistoryConfig,
        }
        let text = include_str!("../example.toml");
        let file: File = toml::from_str(text).expect("example.toml parses");
        assert!(
            file.history.validate().is_empty(),
            "{:?}",
            file.history.validate()
        );
        let h = &file.history;
        assert_eq!(h.deadband_for(Field::ThermostatHumidity), 1.0);
        assert_eq!(h.deadband_for(Field::ThermostatTemperature), 0.1);
        assert_eq!(h.deadband_for(Field::ThermostatSetpointHeat), 0.0);
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_refused() {
        let e = parse("comit_interval = \"30s\"").unwrap_err().to_string();
        assert!(e.contains("comit_interval"), "{e}");
        let e = parse("retention = \"30 fortnights\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("30 fortnights"), "{e}");
        let e = parse("[deadbands]\n\"thermostat.colour\" = 1.0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("thermostat.colour"), "{e}");
    }

    #[test]
    fn validation_names_the_keys() {
        let c = parse(
            "commit_interval = \"0s\"\nretention = \"10m\"\ndeadband = -1.0\nbuffer_limit = 5\n\
             [deadbands]\n\"lock.state\" = 1.0\n\"thermostat.humidity\" = -2.0",
        )
        .unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "history.commit_interval",
                "history.retention",
                "history.deadband",
                "history.deadbands.\"thermostat.humidity\"",
                "history.deadbands.\"lock.state\"",
                "history.buffer_limit",
            ]
        );
    }
}
