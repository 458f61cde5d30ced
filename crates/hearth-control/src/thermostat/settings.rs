//! The user's thermostat settings and the checks a change must pass before it is applied.
//!
//! A change is checked as a whole against the configured bounds: it is accepted entirely or
//! refused with a reason, never clamped. This module never touches outputs or timers.

use crate::config::ThermostatConfig;
use crate::refusal::{Refusal, codes};
use hearth_model::{FanMode, Mode, ThermostatChange};

/// What the user chose: mode, fan and the two setpoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub mode: Mode,
    pub fan: FanMode,
    pub setpoint_heat: f64,
    pub setpoint_cool: f64,
}

impl Settings {
    pub(crate) fn from_config(cfg: &ThermostatConfig) -> Self {
        Self {
            mode: cfg.mode,
            fan: cfg.fan,
            setpoint_heat: cfg.setpoint_heat,
            setpoint_cool: cfg.setpoint_cool,
        }
    }

    /// The settings after `change`, or why the change is refused.
    pub(crate) fn changed(
        &self,
        change: &ThermostatChange,
        cfg: &ThermostatConfig,
    ) -> Result<Settings, Refusal> {
        if let Some(v) = change.setpoint_heat {
            check_bound(
                "setpoint_heat",
                v,
                (cfg.heat_setpoint_min, cfg.heat_setpoint_max),
                "heat",
            )?;
        }
        if let Some(v) = change.setpoint_cool {
            check_bound(
                "setpoint_cool",
                v,
                (cfg.cool_setpoint_min, cfg.cool_setpoint_max),
                "cool",
            )?;
        }
        let next = Settings {
            mode: change.mode.unwrap_or(self.mode),
            fan: change.fan.unwrap_or(self.fan),
            setpoint_heat: change.setpoint_heat.unwrap_or(self.setpoint_heat),
            setpoint_cool: change.setpoint_cool.unwrap_or(self.setpoint_cool),
        };
        if next.mode == Mode::Auto && next.setpoint_heat > next.setpoint_cool - cfg.auto_min_gap {
            return Err(Refusal::new(
                codes::SETPOINTS_TOO_CLOSE,
                format!(
                    "in auto mode setpoint_heat ({} °C) must be at most setpoint_cool ({} °C) minus {} °C \
                     (thermostat.auto_min_gap); lower setpoint_heat or raise setpoint_cool",
                    next.setpoint_heat, next.setpoint_cool, cfg.auto_min_gap
                ),
            ));
        }
        Ok(next)
    }
}

fn check_bound(key: &str, value: f64, (min, max): (f64, f64), kind: &str) -> Result<(), Refusal> {
    if value.is_finite() && value >= min && value <= max {
        return Ok(());
    }
    Err(Refusal::new(
        codes::SETPOINT_OUT_OF_RANGE,
        format!(
            "{key} {value} °C is outside the allowed range {min}..{max} °C \
             (thermostat.{kind}_setpoint_min..{kind}_setpoint_max)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(mode: Option<Mode>, heat: Option<f64>, cool: Option<f64>) -> ThermostatChange {
        ThermostatChange {
            mode,
            fan: None,
            setpoint_heat: heat,
            setpoint_cool: cool,
        }
    }

    #[test]
    fn in_range_change_applies_only_given_parts() {
        let cfg = ThermostatConfig::default();
        let s = Settings::from_config(&cfg);
        let next = s
            .changed(&change(Some(Mode::Heat), Some(21.5), None), &cfg)
            .unwrap();
        assert_eq!(next.mode, Mode::Heat);
        assert_eq!(next.setpoint_heat, 21.5);
        assert_eq!(next.setpoint_cool, s.setpoint_cool);
        assert_eq!(next.fan, s.fan);
        // Bounds are inclusive.
        assert!(
            s.changed(&change(None, Some(5.0), Some(35.0)), &cfg)
                .is_ok()
        );
        assert!(
            s.changed(&change(None, Some(30.0), Some(15.0)), &cfg)
                .is_ok()
        );
    }

    #[test]
    fn out_of_range_is_refused_with_value_range_and_key() {
        let cfg = ThermostatConfig::default();
        let s = Settings::from_config(&cfg);
        let r = s
            .changed(&change(None, Some(31.0), None), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoint_out_of_range");
        for part in [
            "setpoint_heat",
            "31",
            "5..30",
            "thermostat.heat_setpoint_min",
        ] {
            assert!(r.message.contains(part), "{part} missing in {}", r.message);
        }
        let r = s
            .changed(&change(None, None, Some(14.9)), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoint_out_of_range");
        assert!(r.message.contains("setpoint_cool") && r.message.contains("15..35"));
        let r = s
            .changed(&change(None, Some(f64::NAN), None), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoint_out_of_range");
    }

    #[test]
    fn auto_needs_the_gap_between_resulting_setpoints() {
        let cfg = ThermostatConfig::default();
        let s = Settings::from_config(&cfg); // heat 20, cool 24
        assert!(
            s.changed(&change(Some(Mode::Auto), Some(23.0), None), &cfg)
                .is_ok()
        );
        let r = s
            .changed(&change(Some(Mode::Auto), Some(23.5), None), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoints_too_close");
        assert!(r.message.contains("thermostat.auto_min_gap"));
        // Outside auto the setpoints may be close; switching to auto later is then refused.
        let close = s.changed(&change(None, Some(23.5), None), &cfg).unwrap();
        let r = close
            .changed(&change(Some(Mode::Auto), None, None), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoints_too_close");
    }
}
