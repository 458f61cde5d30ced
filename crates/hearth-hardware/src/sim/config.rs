//! The `[simulator]` config section: the house, its outdoor weather, the lock and door,
//! the random seed, and the script of events.
//!
//! Parsed and validated only; the simulator in `mod.rs` runs it. Must never touch time.

use super::script::ScriptStep;
use super::thermal::OutdoorProfile;
use hearth_model::{ConfigIssue, DoorState};
use serde::Deserialize;
use std::time::Duration;

/// Where the bolt is when the simulator starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialBolt {
    #[default]
    Locked,
    Unlocked,
}

/// `[simulator]` section. Defaults describe a mild winter house that heating can hold at
/// 20 °C (heat 3 °C/h beats a loss of at most 0.1 × 19 °C/h at the coldest hour).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Seed for sensor noise: the same seed gives the same readings.
    pub seed: u64,
    /// Indoor temperature at start, °C.
    pub initial_indoor_temperature: f64,
    /// Hour of the simulated day at start (0–24).
    pub start_hour: f64,
    pub outdoor: OutdoorProfile,
    /// How fast heating warms the house, °C per hour (before losses).
    pub heat_rate_per_hour: f64,
    /// How fast cooling cools the house, °C per hour (before gains).
    pub cool_rate_per_hour: f64,
    /// Fraction of the indoor–outdoor difference lost per hour.
    pub loss_per_hour: f64,
    /// Standard deviation of the sensor noise, °C (and % for humidity).
    pub noise_stddev: f64,
    /// Indoor relative humidity, %.
    pub humidity: f64,
    /// The temperature reported while `implausible_reading` is injected, °C.
    pub implausible_temperature: f64,
    /// How long the motor takes to move the bolt end to end.
    #[serde(with = "hearth_model::duration")]
    pub lock_travel_time: Duration,
    pub initial_lock: InitialBolt,
    pub initial_door: DoorState,
    pub script: Vec<ScriptStep>,
    /// Mirror the outputs to this file on every change (see `sim::state_file`), so that
    /// `hearthd outputs-off` has outputs to switch off after the daemon is gone.
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            initial_indoor_temperature: 18.0,
            start_hour: 0.0,
            outdoor: OutdoorProfile::default(),
            heat_rate_per_hour: 3.0,
            cool_rate_per_hour: 3.0,
            loss_per_hour: 0.1,
            noise_stddev: 0.05,
            humidity: 45.0,
            implausible_temperature: -127.0,
            lock_travel_time: Duration::from_millis(1500),
            initial_lock: InitialBolt::Locked,
            initial_door: DoorState::Closed,
            script: Vec::new(),
            state_file: None,
        }
    }
}

impl SimulatorConfig {
    /// Every problem with the section, each at its full dotted key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |key: &str, value: f64, range: std::ops::RangeInclusive<f64>, why: &str| {
            if !range.contains(&value) {
                issues.push(ConfigIssue::new(
                    format!("simulator.{key}"),
                    format!(
                        "{value} is out of range: must be between {} and {} ({why})",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        };
        check(
            "initial_indoor_temperature",
            self.initial_indoor_temperature,
            -40.0..=60.0,
            "°C",
        );
        check(
            "start_hour",
            self.start_hour,
            0.0..=24.0,
            "an hour of the day",
        );
        check("outdoor.mean", self.outdoor.mean, -50.0..=50.0, "°C");
        check(
            "outdoor.amplitude",
            self.outdoor.amplitude,
            0.0..=30.0,
            "°C, half the daily swing",
        );
        check(
            "outdoor.coldest_hour",
            self.outdoor.coldest_hour,
            0.0..=24.0,
            "an hour of the day",
        );
        check(
            "heat_rate_per_hour",
            self.heat_rate_per_hour,
            0.0..=50.0,
            "°C per hour",
        );
        check(
            "cool_rate_per_hour",
            self.cool_rate_per_hour,
            0.0..=50.0,
            "°C per hour",
        );
        check(
            "loss_per_hour",
            self.loss_per_hour,
            0.0..=10.0,
            "a fraction per hour",
        );
        check("noise_stddev", self.noise_stddev, 0.0..=5.0, "°C");
        check("humidity", self.humidity, 0.0..=100.0, "percent");
        if !self.implausible_temperature.is_finite() {
            issues.push(ConfigIssue::new(
                "simulator.implausible_temperature",
                "must be a finite number of °C",
            ));
        }
        let travel = self.lock_travel_time;
        if travel < Duration::from_millis(10) || travel > Duration::from_secs(60) {
            issues.push(ConfigIssue::new(
                "simulator.lock_travel_time",
                "must be between 10ms and 60s",
            ));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_heating_beats_the_worst_loss() {
        let c = SimulatorConfig::default();
        assert!(c.validate().is_empty());
        let coldest = c.outdoor.mean - c.outdoor.amplitude;
        assert!(c.heat_rate_per_hour > c.loss_per_hour * (30.0 - coldest));
    }

    #[test]
    fn a_summer_house_parses() {
        let c: SimulatorConfig = toml::from_str(
            r#"
            seed = 7
            initial_indoor_temperature = 27.0
            outdoor = { mean = 30.0, amplitude = 5.0, coldest_hour = 4.0 }
            lock_travel_time = "2s"
            initial_lock = "unlocked"
            initial_door = "open"
            [[script]]
            after = "2h"
            action = "open_door"
            "#,
        )
        .unwrap();
        assert!(c.validate().is_empty());
        assert_eq!(c.outdoor.mean, 30.0);
        assert_eq!(c.initial_door, DoorState::Open);
        assert_eq!(c.script.len(), 1);
    }

    #[test]
    fn bad_values_are_named_by_full_key() {
        let c: SimulatorConfig = toml::from_str(
            "noise_stddev = -1.0\nlock_travel_time = \"0s\"\n[outdoor]\ncoldest_hour = 25.0",
        )
        .unwrap();
        let keys: Vec<_> = c.validate().into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "simulator.outdoor.coldest_hour",
                "simulator.noise_stddev",
                "simulator.lock_travel_time"
            ]
        );
        assert!(toml::from_str::<SimulatorConfig>("sead = 1").is_err());
    }
}
