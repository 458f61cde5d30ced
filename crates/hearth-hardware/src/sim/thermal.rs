//! The simulated house's heat balance: indoor temperature relaxes toward a daily outdoor
//! temperature curve, and heating or cooling moves it at fixed rates.
//!
//! Pure arithmetic on hours and degrees; it must never read a clock or a random source
//! (the simulator passes time in and adds sensor noise itself).

use hearth_model::HvacOutputs;
use serde::Deserialize;

/// The outdoor temperature over a simulated day: a sine around `mean`, lowest at
/// `coldest_hour` (and highest twelve hours later).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutdoorProfile {
    /// Daily mean, °C.
    pub mean: f64,
    /// Half the day's swing, °C.
    pub amplitude: f64,
    /// Hour of the day (0–24) with the lowest temperature.
    pub coldest_hour: f64,
}

impl Default for OutdoorProfile {
    /// A mild winter day: 1 °C before dawn, 9 °C in the afternoon.
    fn default() -> Self {
        Self {
            mean: 5.0,
            amplitude: 4.0,
            coldest_hour: 5.0,
        }
    }
}

impl OutdoorProfile {
    /// Outdoor temperature at `hour` of the day (any real number; it wraps every 24 h).
    pub fn at_hour(&self, hour: f64) -> f64 {
        let phase = (hour - self.coldest_hour) / 24.0 * std::f64::consts::TAU;
        self.mean - self.amplitude * phase.cos()
    }
}

/// The house's heat balance. Rates are °C per hour; `loss_per_hour` is the fraction of the
/// indoor–outdoor difference lost each hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Thermal {
    pub indoor: f64,
    pub heat_rate: f64,
    pub cool_rate: f64,
    pub loss_per_hour: f64,
}

impl Thermal {
    /// Advance by `hours` with the outdoor temperature and outputs held constant, using the
    /// exact solution of dT/dt = loss·(T_out − T) + drive so long steps stay accurate.
    pub fn step(&mut self, hours: f64, outdoor: f64, out: HvacOutputs) {
        if hours <= 0.0 {
            return;
        }
        let drive = if out.heat { self.heat_rate } else { 0.0 }
            - if out.cool { self.cool_rate } else { 0.0 };
        if self.loss_per_hour > 0.0 {
            let settle = outdoor + drive / self.loss_per_hour;
            self.indoor = settle + (self.indoor - settle) * (-self.loss_per_hour * hours).exp();
        } else {
            self.indoor += drive * hours;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAT: HvacOutputs = HvacOutputs {
        heat: true,
        cool: false,
        fan: true,
    };

    #[test]
    fn outdoor_curve_is_coldest_and_warmest_where_configured() {
        let p = OutdoorProfile::default();
        assert!((p.at_hour(5.0) - 1.0).abs() < 1e-9);
        assert!((p.at_hour(17.0) - 9.0).abs() < 1e-9);
        assert!((p.at_hour(29.0) - 1.0).abs() < 1e-9, "wraps each day");
    }

    #[test]
    fn without_loss_heating_adds_its_rate() {
        let mut t = Thermal {
            indoor: 18.0,
            heat_rate: 3.0,
            cool_rate: 2.0,
            loss_per_hour: 0.0,
        };
        t.step(0.5, -20.0, HEAT);
        assert!((t.indoor - 19.5).abs() < 1e-9);
        t.step(
            1.0,
            -20.0,
            HvacOutputs {
                cool: true,
                ..HvacOutputs::OFF
            },
        );
        assert!((t.indoor - 17.5).abs() < 1e-9);
    }

    #[test]
    fn with_loss_the_house_drifts_toward_outdoor() {
        let mut t = Thermal {
            indoor: 20.0,
            heat_rate: 3.0,
            cool_rate: 3.0,
            loss_per_hour: 0.1,
        };
        t.step(1.0, 0.0, HvacOutputs::OFF);
        assert!((t.indoor - 20.0 * (-0.1f64).exp()).abs() < 1e-9);
        t.step(1000.0, 0.0, HvacOutputs::OFF);
        assert!(t.indoor.abs() < 1e-6);
    }

    #[test]
    fn one_long_step_equals_many_short_ones() {
        let mut long = Thermal {
            indoor: 15.0,
            heat_rate: 3.0,
            cool_rate: 3.0,
            loss_per_hour: 0.2,
        };
        let mut short = long.clone();
        long.step(2.0, 4.0, HEAT);
        for _ in 0..7200 {
            short.step(2.0 / 7200.0, 4.0, HEAT);
        }
        assert!((long.indoor - short.indoor).abs() < 1e-9);
    }
}
