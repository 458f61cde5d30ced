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
    ///
    /// In `auto` the gap rule (`setpoint_heat <= setpoint_cool - auto_min_gap`) is kept by
    /// pushing the setpoint the change did not name, as wall thermostats do: raising the heat
    /// setpoint pushes the cool one up, lowering the cool setpoint pushes the heat one down, and
    /// switching to `auto` with setpoints too close pushes the cool setpoint up (or, when that
    /// would leave its bounds, the heat one down). Only what cannot be satisfied within the
    /// bounds is refused, and a change naming both setpoints is taken as meant: never pushed.
    pub(crate) fn changed(
        &self,
        change: &ThermostatChange,
        cfg: &ThermostatConfig,
    ) -> Result<Settings, Refusal> {
        let mode = change.mode.unwrap_or(self.mode);
        let (mut heat, mut cool) = (change.setpoint_heat, change.setpoint_cool);
        if let Some(v) = change.setpoint {
            let (slot, key) = if mode == Mode::Cool {
                (&mut cool, "setpoint_cool")
            } else {
                (&mut heat, "setpoint_heat")
            };
            if slot.is_some() {
                return Err(Refusal::new(
                    codes::CONFLICTING_SETPOINTS,
                    format!(
                        "`setpoint` means {key} in mode {}, and {key} is given too; send one of them",
                        mode.as_str()
                    ),
                ));
            }
            *slot = Some(v);
        }
        let heat_bounds = (cfg.heat_setpoint_min, cfg.heat_setpoint_max);
        let cool_bounds = (cfg.cool_setpoint_min, cfg.cool_setpoint_max);
        if let Some(v) = heat {
            check_bound("setpoint_heat", v, heat_bounds, "heat")?;
        }
        if let Some(v) = cool {
            check_bound("setpoint_cool", v, cool_bounds, "cool")?;
        }
        let mut next = Settings {
            mode,
            fan: change.fan.unwrap_or(self.fan),
            setpoint_heat: heat.unwrap_or(self.setpoint_heat),
            setpoint_cool: cool.unwrap_or(self.setpoint_cool),
        };
        if mode != Mode::Auto || next.gap_ok(cfg) {
            return Ok(next);
        }
        let gap = cfg.auto_min_gap;
        let push_cool_up = |n: &mut Settings| {
            let mut up = round_milli(n.setpoint_heat + gap);
            if up - gap < n.setpoint_heat {
                // Rounding went down: take the exact sum, then step past float error.
                up = n.setpoint_heat + gap;
                while up - gap < n.setpoint_heat {
                    up = up.next_up();
                }
            }
            let ok = up <= cfg.cool_setpoint_max;
            if ok {
                n.setpoint_cool = up;
            }
            ok
        };
        let push_heat_down = |n: &mut Settings| {
            let down = n.setpoint_cool - gap;
            let ok = down >= cfg.heat_setpoint_min;
            if ok {
                n.setpoint_heat = down;
            }
            ok
        };
        let pushed = match (heat.is_some(), cool.is_some()) {
            (true, false) => push_cool_up(&mut next),
            (false, true) => push_heat_down(&mut next),
            (false, false) => push_cool_up(&mut next) || push_heat_down(&mut next),
            (true, true) => false,
        };
        if pushed && next.gap_ok(cfg) {
            return Ok(next);
        }
        Err(Refusal::new(
            codes::SETPOINTS_TOO_CLOSE,
            format!(
                "in auto mode setpoint_heat ({} °C) must be at most setpoint_cool ({} °C) minus {} °C \
                 (thermostat.auto_min_gap), and moving the other setpoint to make room would leave \
                 its bounds (heat {}..{} °C, cool {}..{} °C); choose setpoints further apart",
                next.setpoint_heat,
                next.setpoint_cool,
                gap,
                cfg.heat_setpoint_min,
                cfg.heat_setpoint_max,
                cfg.cool_setpoint_min,
                cfg.cool_setpoint_max
            ),
        ))
    }

    fn gap_ok(&self, cfg: &ThermostatConfig) -> bool {
        self.setpoint_heat <= self.setpoint_cool - cfg.auto_min_gap
    }
}

/// Round to a thousandth of a degree, so a pushed setpoint reads `28` and not `28.000000004`.
fn round_milli(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
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
            setpoint: None,
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
    fn auto_pushes_the_other_setpoint_to_keep_the_gap() {
        let cfg = ThermostatConfig::default(); // gap 1, heat 5..30, cool 15..35
        let s = Settings::from_config(&cfg); // heat 20, cool 24
        let auto = s
            .changed(&change(Some(Mode::Auto), None, None), &cfg)
            .unwrap();
        // Raising heat pushes cool up; the named setpoint is kept as given.
        let n = auto.changed(&change(None, Some(27.0), None), &cfg).unwrap();
        assert_eq!((n.setpoint_heat, n.setpoint_cool), (27.0, 28.0));
        // Home Assistant's range move 18/26 -> 27/30, low first then high.
        let r = auto
            .changed(&change(None, Some(18.0), Some(26.0)), &cfg)
            .unwrap();
        let r = r.changed(&change(None, Some(27.0), None), &cfg).unwrap();
        let r = r.changed(&change(None, None, Some(30.0)), &cfg).unwrap();
        assert_eq!((r.setpoint_heat, r.setpoint_cool), (27.0, 30.0));
        // And back down to 18/20, low first or high first.
        let d = r.changed(&change(None, Some(18.0), None), &cfg).unwrap();
        let d = d.changed(&change(None, None, Some(20.0)), &cfg).unwrap();
        assert_eq!((d.setpoint_heat, d.setpoint_cool), (18.0, 20.0));
        let d = r.changed(&change(None, None, Some(20.0)), &cfg).unwrap();
        assert_eq!((d.setpoint_heat, d.setpoint_cool), (19.0, 20.0));
        let d = d.changed(&change(None, Some(18.0), None), &cfg).unwrap();
        assert_eq!((d.setpoint_heat, d.setpoint_cool), (18.0, 20.0));
        // Lowering cool pushes heat down.
        let n = auto.changed(&change(None, None, Some(15.0)), &cfg).unwrap();
        assert_eq!((n.setpoint_heat, n.setpoint_cool), (14.0, 15.0));
    }

    #[test]
    fn auto_refuses_only_what_cannot_be_satisfied() {
        let cfg = ThermostatConfig {
            heat_setpoint_max: 30.0,
            cool_setpoint_max: 30.5,
            ..ThermostatConfig::default()
        };
        let auto = Settings::from_config(&cfg)
            .changed(&change(Some(Mode::Auto), None, None), &cfg)
            .unwrap();
        // Pushing cool to 31 would leave its bounds.
        let r = auto
            .changed(&change(None, Some(30.0), None), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoints_too_close");
        assert!(
            r.message.contains("thermostat.auto_min_gap"),
            "{}",
            r.message
        );
        // Both named and too close: taken as meant, so refused rather than pushed.
        let r = auto
            .changed(&change(None, Some(23.5), Some(24.0)), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoints_too_close");
        // Outside auto the setpoints may be close; switching to auto then pushes cool up...
        let close = Settings::from_config(&cfg)
            .changed(&change(None, Some(23.5), None), &cfg)
            .unwrap();
        let a = close
            .changed(&change(Some(Mode::Auto), None, None), &cfg)
            .unwrap();
        assert_eq!((a.setpoint_heat, a.setpoint_cool), (23.5, 24.5));
        // ...or, when cool is at its ceiling, heat down.
        let top = Settings::from_config(&cfg)
            .changed(&change(None, Some(30.0), Some(30.5)), &cfg)
            .unwrap();
        let a = top
            .changed(&change(Some(Mode::Auto), None, None), &cfg)
            .unwrap();
        assert_eq!((a.setpoint_heat, a.setpoint_cool), (29.5, 30.5));
        let r = Settings::from_config(&cfg)
            .changed(&change(Some(Mode::Auto), Some(30.0), Some(30.5)), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoints_too_close");
    }

    #[test]
    fn setpoint_names_the_setpoint_of_the_resulting_mode() {
        let cfg = ThermostatConfig::default();
        let s = Settings::from_config(&cfg); // off, heat 20, cool 24
        let target = |mode, v| ThermostatChange {
            mode,
            setpoint: Some(v),
            ..Default::default()
        };
        // Mode and temperature in one change, or the mode first and then the temperature.
        let n = s.changed(&target(Some(Mode::Cool), 23.0), &cfg).unwrap();
        assert_eq!(
            (n.mode, n.setpoint_heat, n.setpoint_cool),
            (Mode::Cool, 20.0, 23.0)
        );
        let n = n.changed(&target(None, 22.0), &cfg).unwrap();
        assert_eq!(n.setpoint_cool, 22.0);
        let h = n.changed(&target(Some(Mode::Heat), 21.0), &cfg).unwrap();
        assert_eq!((h.setpoint_heat, h.setpoint_cool), (21.0, 22.0));
        // Still bounded by the setpoint it lands on.
        let r = s
            .changed(&target(Some(Mode::Cool), 14.0), &cfg)
            .unwrap_err();
        assert_eq!(r.code, "setpoint_out_of_range");
        assert!(r.message.contains("setpoint_cool"), "{}", r.message);
        // Naming the same setpoint twice is refused.
        let both = ThermostatChange {
            setpoint_heat: Some(21.0),
            ..target(Some(Mode::Heat), 22.0)
        };
        assert_eq!(
            s.changed(&both, &cfg).unwrap_err().code,
            "conflicting_setpoints"
        );
        // ...but `setpoint` in cool and `setpoint_heat` are two different setpoints.
        let ok = ThermostatChange {
            setpoint_heat: Some(19.0),
            ..target(Some(Mode::Cool), 25.0)
        };
        let n = s.changed(&ok, &cfg).unwrap();
        assert_eq!((n.setpoint_heat, n.setpoint_cool), (19.0, 25.0));
    }
}
