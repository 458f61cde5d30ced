//! The `[thermostat]` and `[lock]` config sections: start values, limits and timings, and
//! the checks that run on them after parsing.
//!
//! Parsing and checking only. This module never reads files, touches hardware or decides
//! what an output does; the controllers do that with the validated values.

use hearth_model::{ConfigIssue, FanMode, Mode};
use serde::Deserialize;
use std::time::Duration;

/// `[thermostat]` section. Every key is optional; the defaults are the product's defaults.
///
/// `mode`, `fan`, `setpoint_heat` and `setpoint_cool` are the values the thermostat starts
/// with: a command received before a restart is never replayed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThermostatConfig {
    /// Mode at start-up.
    pub mode: Mode,
    /// Fan setting at start-up.
    pub fan: FanMode,
    /// Heating setpoint at start-up, °C.
    pub setpoint_heat: f64,
    /// Cooling setpoint at start-up, °C.
    pub setpoint_cool: f64,
    /// °C either side of a setpoint: heating starts at `setpoint_heat - hysteresis` and stops
    /// at `setpoint_heat + hysteresis`; cooling the mirror image.
    pub hysteresis: f64,
    /// Lowest heating setpoint a command may set, °C.
    pub heat_setpoint_min: f64,
    /// Highest heating setpoint a command may set, °C.
    pub heat_setpoint_max: f64,
    /// Lowest cooling setpoint a command may set, °C.
    pub cool_setpoint_min: f64,
    /// Highest cooling setpoint a command may set, °C.
    pub cool_setpoint_max: f64,
    /// In `auto`, `setpoint_heat` must be at most `setpoint_cool - auto_min_gap`, °C.
    pub auto_min_gap: f64,
    /// Cooling stays off at least this long before it may start again (compressor rest).
    #[serde(with = "hearth_model::duration")]
    pub cool_min_off: Duration,
    /// Cooling runs at least this long once started, unless a fault stops it.
    #[serde(with = "hearth_model::duration")]
    pub cool_min_run: Duration,
    /// Heating stays off at least this long before it may start again.
    #[serde(with = "hearth_model::duration")]
    pub heat_min_off: Duration,
    /// No valid reading for this long -> HVAC off and a `sensor_timeout` fault.
    #[serde(with = "hearth_model::duration")]
    pub sensor_timeout: Duration,
    /// Readings below this are implausible, °C.
    pub plausible_min: f64,
    /// Readings above this are implausible, °C.
    pub plausible_max: f64,
    /// A reading further than this from the last accepted one is implausible, °C...
    pub max_jump: f64,
    /// ...unless this many consecutive readings (the jumped one included) agree with each
    /// other within `max_jump`: then the new level is real and accepted.
    pub jump_confirm: u32,
    /// Run heat below `freeze_below` whatever the mode, to keep pipes from freezing.
    pub freeze_protection: bool,
    /// Freeze protection starts below this and stops at `freeze_below + hysteresis`, °C.
    pub freeze_below: f64,
    /// Also run the fan (G) while heating; leave false for furnaces that run their own blower.
    pub fan_with_heat: bool,
}

impl Default for ThermostatConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Off,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 24.0,
            hysteresis: 0.5,
            heat_setpoint_min: 5.0,
            heat_setpoint_max: 30.0,
            cool_setpoint_min: 15.0,
            cool_setpoint_max: 35.0,
            auto_min_gap: 1.0,
            cool_min_off: Duration::from_secs(5 * 60),
            cool_min_run: Duration::from_secs(3 * 60),
            heat_min_off: Duration::from_secs(60),
            sensor_timeout: Duration::from_secs(60),
            plausible_min: -40.0,
            plausible_max: 85.0,
            max_jump: 5.0,
            jump_confirm: 3,
            freeze_protection: true,
            freeze_below: 5.0,
            fan_with_heat: false,
        }
    }
}

/// Longest compressor/heat timer accepted; longer is almost certainly a unit typo ("5h").
const MAX_TIMER: Duration = Duration::from_secs(60 * 60);

impl ThermostatConfig {
    /// Every problem in the section, each naming its full dotted key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |key: &str, message: String| {
            issues.push(ConfigIssue::new(format!("thermostat.{key}"), message))
        };

        let plausible_ok = self.plausible_min.is_finite()
            && self.plausible_max.is_finite()
            && self.plausible_min < self.plausible_max;
        if !plausible_ok {
            issue(
                "plausible_min",
                format!(
                    "plausible_min ({}) must be a number below plausible_max ({}); the defaults are -40 and 85",
                    self.plausible_min, self.plausible_max
                ),
            );
        }
        let in_plausible = |v: f64| v >= self.plausible_min && v <= self.plausible_max;

        if !(self.hysteresis.is_finite() && self.hysteresis > 0.0 && self.hysteresis <= 5.0) {
            issue(
                "hysteresis",
                format!(
                    "{} °C is not a usable hysteresis; use a value above 0 and at most 5 (default 0.5)",
                    self.hysteresis
                ),
            );
        }
        for (kind, min, max) in [
            ("heat", self.heat_setpoint_min, self.heat_setpoint_max),
            ("cool", self.cool_setpoint_min, self.cool_setpoint_max),
        ] {
            let ok = min.is_finite() && max.is_finite() && min < max;
            if !ok {
                issue(
                    &format!("{kind}_setpoint_min"),
                    format!(
                        "{kind}_setpoint_min ({min}) must be a number below {kind}_setpoint_max ({max})"
                    ),
                );
            } else if plausible_ok && !(in_plausible(min) && in_plausible(max)) {
                issue(
                    &format!("{kind}_setpoint_min"),
                    format!(
                        "{kind} setpoint bounds {min}..{max} °C reach outside the plausible range {}..{} °C",
                        self.plausible_min, self.plausible_max
                    ),
                );
            }
        }
        for (key, value, min, max) in [
            (
                "setpoint_heat",
                self.setpoint_heat,
                self.heat_setpoint_min,
                self.heat_setpoint_max,
            ),
            (
                "setpoint_cool",
                self.setpoint_cool,
                self.cool_setpoint_min,
                self.cool_setpoint_max,
            ),
        ] {
            let bounds_ok = min.is_finite() && max.is_finite() && min < max;
            if bounds_ok && !(value.is_finite() && value >= min && value <= max) {
                let kind = &key["setpoint_".len()..];
                issue(
                    key,
                    format!(
                        "start value {value} °C is outside {min}..{max} °C (thermostat.{kind}_setpoint_min..{kind}_setpoint_max)"
                    ),
                );
            }
        }
        if !(self.auto_min_gap.is_finite() && self.auto_min_gap >= 0.0) {
            issue(
                "auto_min_gap",
                format!(
                    "{} °C is not a usable gap; use 0 or more (default 1)",
                    self.auto_min_gap
                ),
            );
        } else if self.mode == Mode::Auto
            && self.setpoint_heat > self.setpoint_cool - self.auto_min_gap
        {
            issue(
                "setpoint_heat",
                format!(
                    "mode is auto, so setpoint_heat ({}) must be at most setpoint_cool ({}) minus auto_min_gap ({})",
                    self.setpoint_heat, self.setpoint_cool, self.auto_min_gap
                ),
            );
        }
        for (key, d) in [
            ("cool_min_off", self.cool_min_off),
            ("cool_min_run", self.cool_min_run),
            ("heat_min_off", self.heat_min_off),
        ] {
            if d > MAX_TIMER {
                issue(
                    key,
                    format!(
                        "{} is longer than the 1h this timer allows; write e.g. \"5m\"",
                        hearth_model::duration::format(d)
                    ),
                );
            }
        }
        if self.sensor_timeout > MAX_TIMER {
            issue(
                "sensor_timeout",
                format!(
                    "{} is longer than the 1h this timer allows: a dead sensor would leave the \
                     heating running blind that long; use e.g. \"60s\" (the default)",
                    hearth_model::duration::format(self.sensor_timeout)
                ),
            );
        }
        if self.sensor_timeout < Duration::from_secs(1) {
            issue(
                "sensor_timeout",
                format!(
                    "{} is too short to ever see a reading; use at least \"1s\" (default \"60s\")",
                    hearth_model::duration::format(self.sensor_timeout)
                ),
            );
        }
        if !(self.max_jump.is_finite() && self.max_jump > 0.0) {
            issue(
                "max_jump",
                format!(
                    "{} °C is not a usable jump limit; use a value above 0 (default 5)",
                    self.max_jump
                ),
            );
        }
        if self.jump_confirm < 2 {
            issue(
                "jump_confirm",
                format!(
                    "{} would accept every jump at once; use 2 or more (default 3)",
                    self.jump_confirm
                ),
            );
        }
        if !(self.freeze_below.is_finite() && (!plausible_ok || in_plausible(self.freeze_below))) {
            issue(
                "freeze_below",
                format!(
                    "{} °C must be a temperature inside the plausible range {}..{} °C (default 5)",
                    self.freeze_below, self.plausible_min, self.plausible_max
                ),
            );
        }
        issues
    }
}

/// `[lock]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockConfig {
    /// The motor is stopped and the lock reported `jammed` if the bolt has not reached the
    /// matching limit switch within this time.
    #[serde(with = "hearth_model::duration")]
    pub travel_timeout: Duration,
    /// Relock once the bolt has been unlocked and the door closed for this long. Absent = never.
    #[serde(default, with = "hearth_model::duration::option")]
    pub auto_relock_after: Option<Duration>,
}

impl Default for LockConfig {
    fn default() -> Self {
        Self {
            travel_timeout: Duration::from_secs(3),
            auto_relock_after: None,
        }
    }
}

impl LockConfig {
    /// Every problem in the section, each naming its full dotted key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let t = self.travel_timeout;
        if t < Duration::from_millis(100) || t > Duration::from_secs(30) {
            issues.push(ConfigIssue::new(
                "lock.travel_timeout",
                format!(
                    "{} is outside 100ms..30s; a bolt takes about a second, so use e.g. \"3s\" (the default)",
                    hearth_model::duration::format(t)
                ),
            ));
        }
        if let Some(after) = self.auto_relock_after
            && after > Duration::from_secs(24 * 3600)
        {
            issues.push(ConfigIssue::new(
                "lock.auto_relock_after",
                format!(
                    "{} is longer than 24h; use e.g. \"60s\", or remove the key to disable auto-relock",
                    hearth_model::duration::format(after)
                ),
            ));
        }
        if let Some(after) = self.auto_relock_after
            && after < Duration::from_secs(1)
        {
            issues.push(ConfigIssue::new(
                "lock.auto_relock_after",
                format!(
                    "{} would relock before anyone gets through the door; use at least \"1s\", or remove the key to disable auto-relock",
                    hearth_model::duration::format(after)
                ),
            ));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(issues: &[ConfigIssue]) -> Vec<&str> {
        issues.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn defaults_are_valid_and_match_the_spec() {
        let t = ThermostatConfig::default();
        assert!(t.validate().is_empty(), "{:?}", t.validate());
        assert_eq!(t.hysteresis, 0.5);
        assert_eq!(t.cool_min_off, Duration::from_secs(300));
        assert_eq!(t.cool_min_run, Duration::from_secs(180));
        assert_eq!(t.heat_min_off, Duration::from_secs(60));
        assert_eq!(t.sensor_timeout, Duration::from_secs(60));
        assert_eq!((t.heat_setpoint_min, t.heat_setpoint_max), (5.0, 30.0));
        assert_eq!((t.cool_setpoint_min, t.cool_setpoint_max), (15.0, 35.0));
        assert_eq!((t.plausible_min, t.plausible_max), (-40.0, 85.0));
        assert!(t.freeze_protection && t.freeze_below == 5.0);
        let l = LockConfig::default();
        assert!(l.validate().is_empty());
        assert_eq!(l.travel_timeout, Duration::from_secs(3));
        assert_eq!(l.auto_relock_after, None);
    }

    #[test]
    fn parses_durations_and_rejects_unknown_keys() {
        let t: ThermostatConfig =
            toml::from_str("mode = \"auto\"\ncool_min_off = \"10m\"\nhysteresis = 0.3").unwrap();
        assert_eq!(t.mode, Mode::Auto);
        assert_eq!(t.cool_min_off, Duration::from_secs(600));
        assert_eq!(t.hysteresis, 0.3);
        let l: LockConfig = toml::from_str("auto_relock_after = \"45s\"").unwrap();
        assert_eq!(l.auto_relock_after, Some(Duration::from_secs(45)));
        let err = toml::from_str::<ThermostatConfig>("hysterisis = 1.0").unwrap_err();
        assert!(err.to_string().contains("hysterisis"), "{err}");
        let err = toml::from_str::<LockConfig>("travel_timeout = \"3 parsecs\"").unwrap_err();
        assert!(err.to_string().contains("3 parsecs"), "{err}");
    }

    #[test]
    fn bad_thermostat_values_name_their_keys() {
        let t = ThermostatConfig {
            hysteresis: 0.0,
            setpoint_heat: 31.0,
            cool_setpoint_min: 40.0,
            cool_setpoint_max: 35.0,
            cool_min_off: Duration::from_secs(5 * 3600),
            sensor_timeout: Duration::ZERO,
            max_jump: f64::NAN,
            jump_confirm: 1,
            freeze_below: -60.0,
            ..ThermostatConfig::default()
        };
        let issues = t.validate();
        assert_eq!(
            keys(&issues),
            [
                "thermostat.hysteresis",
                "thermostat.cool_setpoint_min",
                "thermostat.setpoint_heat",
                "thermostat.cool_min_off",
                "thermostat.sensor_timeout",
                "thermostat.max_jump",
                "thermostat.jump_confirm",
                "thermostat.freeze_below",
            ]
        );
        assert!(issues[2].message.contains("31") && issues[2].message.contains("5..30"));
    }

    #[test]
    fn auto_start_mode_needs_the_gap() {
        let t = ThermostatConfig {
            mode: Mode::Auto,
            setpoint_heat: 23.5,
            setpoint_cool: 24.0,
            ..ThermostatConfig::default()
        };
        assert_eq!(keys(&t.validate()), ["thermostat.setpoint_heat"]);
        let heat_only = ThermostatConfig {
            mode: Mode::Heat,
            ..t
        };
        assert!(heat_only.validate().is_empty());
    }

    #[test]
    fn bad_lock_values_name_their_keys() {
        let l = LockConfig {
            travel_timeout: Duration::from_secs(60),
            auto_relock_after: Some(Duration::from_millis(500)),
        };
        assert_eq!(
            keys(&l.validate()),
            ["lock.travel_timeout", "lock.auto_relock_after"]
        );
    }
}
