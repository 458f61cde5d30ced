//! Which thermostat readings to believe, and when the sensor has gone quiet for too long.
//!
//! Pure bookkeeping over readings and the instants they arrived at. It never switches an
//! output (the thermostat does, from the faults reported here) and never reads a clock.

use crate::config::ThermostatConfig;
use hearth_model::{ClimateReading, Fault};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct SensorWatch {
    plausible: (f64, f64),
    max_jump: f64,
    jump_confirm: u32,
    timeout: Duration,
    /// Last accepted reading.
    accepted: Option<ClimateReading>,
    /// The timeout runs from here: start-up, or the last accepted reading.
    quiet_since: Instant,
    timed_out: bool,
    /// Readings that jumped away from the accepted level but agree with each other.
    jump: Option<JumpedLevel>,
    /// Why the last reading was rejected, while that rejection stands.
    implausible: Option<String>,
    /// The sensor's last read error, to explain a timeout.
    last_error: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct JumpedLevel {
    last: f64,
    seen: u32,
}

impl SensorWatch {
    pub(crate) fn new(cfg: &ThermostatConfig, now: Instant) -> Self {
        Self {
            plausible: (cfg.plausible_min, cfg.plausible_max),
            max_jump: cfg.max_jump,
            jump_confirm: cfg.jump_confirm,
            timeout: cfg.sensor_timeout,
            accepted: None,
            quiet_since: now,
            timed_out: false,
            jump: None,
            implausible: None,
            last_error: None,
        }
    }

    pub(crate) fn check_timeout(&mut self, now: Instant) {
        if now >= self.quiet_since + self.timeout {
            self.timed_out = true;
        }
    }

    pub(crate) fn on_reading(&mut self, reading: Result<ClimateReading, String>, now: Instant) {
        self.check_timeout(now);
        let reading = match reading {
            Ok(r) => r,
            Err(e) => {
                // A failed read is not evidence for or against a jumped level.
                self.last_error = Some(e);
                return;
            }
        };
        let t = reading.temperature;
        let (min, max) = self.plausible;
        if !(t.is_finite() && t >= min && t <= max) {
            self.jump = None;
            self.implausible = Some(format!(
                "reading {t} °C is outside the plausible range {min}..{max} °C \
                 (thermostat.plausible_min..plausible_max); check the sensor and its wiring"
            ));
            return;
        }
        // After a timeout the old level says nothing about the new one.
        let baseline = match self.accepted {
            Some(a) if !self.timed_out => a.temperature,
            _ => return self.accept(reading, now),
        };
        if (t - baseline).abs() <= self.max_jump {
            return self.accept(reading, now);
        }
        let seen = match self.jump {
            Some(j) if (t - j.last).abs() <= self.max_jump => j.seen + 1,
            _ => 1,
        };
        if seen >= self.jump_confirm {
            return self.accept(reading, now);
        }
        self.jump = Some(JumpedLevel { last: t, seen });
        self.implausible = Some(format!(
            "reading jumped from {baseline:.1} to {t:.1} °C, more than thermostat.max_jump \
             ({} °C); {} more agreeing readings will confirm it",
            self.max_jump,
            self.jump_confirm - seen
        ));
    }

    fn accept(&mut self, mut reading: ClimateReading, now: Instant) {
        // Humidity never drives an output: a bad value is dropped, not a fault.
        reading.humidity = reading
            .humidity
            .filter(|h| h.is_finite() && (0.0..=100.0).contains(h));
        self.accepted = Some(reading);
        self.quiet_since = now;
        self.timed_out = false;
        self.jump = None;
        self.implausible = None;
        self.last_error = None;
    }

    /// Last accepted temperature, even if it has since gone stale (see `faults`).
    pub(crate) fn temperature(&self) -> Option<f64> {
        self.accepted.map(|r| r.temperature)
    }

    pub(crate) fn humidity(&self) -> Option<f64> {
        self.accepted.and_then(|r| r.humidity)
    }

    /// Active sensor faults, sorted.
    pub(crate) fn faults(&self) -> Vec<Fault> {
        let mut faults = Vec::new();
        if self.timed_out {
            faults.push(Fault::SensorTimeout);
        }
        if self.implausible.is_some() {
            faults.push(Fault::SensorImplausible);
        }
        faults.sort();
        faults
    }

    pub(crate) fn detail(&self, fault: Fault) -> String {
        match fault {
            Fault::SensorImplausible => self.implausible.clone().unwrap_or_default(),
            _ => {
                let mut s = format!(
                    "no valid reading for {} (thermostat.sensor_timeout); heating and cooling are off",
                    hearth_model::duration::format(self.timeout)
                );
                if let Some(e) = &self.last_error {
                    s.push_str("; last sensor error: ");
                    s.push_str(e);
                }
                s
            }
        }
    }

    /// When the sensor times out if no valid reading arrives; `None` once it has.
    pub(crate) fn timeout_deadline(&self) -> Option<Instant> {
        (!self.timed_out).then(|| self.quiet_since + self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t: f64) -> Result<ClimateReading, String> {
        Ok(ClimateReading {
            temperature: t,
            humidity: Some(40.0),
        })
    }

    fn watch() -> (SensorWatch, Instant) {
        let t0 = Instant::now();
        (SensorWatch::new(&ThermostatConfig::default(), t0), t0)
    }

    #[test]
    fn out_of_range_is_implausible_and_keeps_the_old_value() {
        let (mut w, t0) = watch();
        w.on_reading(reading(21.0), t0);
        w.on_reading(reading(85.5), t0 + Duration::from_secs(10));
        assert_eq!(w.faults(), [Fault::SensorImplausible]);
        assert_eq!(w.temperature(), Some(21.0));
        assert!(w.detail(Fault::SensorImplausible).contains("85.5"));
        w.on_reading(reading(f64::NAN), t0 + Duration::from_secs(20));
        assert_eq!(w.faults(), [Fault::SensorImplausible]);
        w.on_reading(reading(21.2), t0 + Duration::from_secs(30));
        assert!(w.faults().is_empty());
    }

    #[test]
    fn a_single_spike_is_rejected_and_a_real_step_is_confirmed() {
        let (mut w, t0) = watch();
        let at = |s| t0 + Duration::from_secs(s);
        w.on_reading(reading(21.0), at(0));
        w.on_reading(reading(40.0), at(10));
        assert_eq!(w.faults(), [Fault::SensorImplausible]);
        assert_eq!(w.temperature(), Some(21.0));
        w.on_reading(reading(21.1), at(20));
        assert!(w.faults().is_empty());
        // Three agreeing readings at the new level (jump_confirm = 3) make it real.
        w.on_reading(reading(30.0), at(30));
        w.on_reading(reading(30.5), at(40));
        assert_eq!(w.temperature(), Some(21.1));
        w.on_reading(reading(31.0), at(50));
        assert_eq!(w.temperature(), Some(31.0));
        assert!(w.faults().is_empty());
    }

    #[test]
    fn errors_do_not_count_as_readings() {
        let (mut w, t0) = watch();
        w.on_reading(reading(21.0), t0);
        w.on_reading(Err("crc mismatch".into()), t0 + Duration::from_secs(59));
        assert!(w.faults().is_empty());
        assert_eq!(w.timeout_deadline(), Some(t0 + Duration::from_secs(60)));
        w.check_timeout(t0 + Duration::from_secs(60));
        assert_eq!(w.faults(), [Fault::SensorTimeout]);
        assert!(w.detail(Fault::SensorTimeout).contains("crc mismatch"));
        assert_eq!(w.timeout_deadline(), None);
    }

    #[test]
    fn after_a_timeout_any_plausible_level_is_accepted() {
        let (mut w, t0) = watch();
        w.on_reading(reading(21.0), t0);
        w.on_reading(reading(12.0), t0 + Duration::from_secs(600));
        assert!(w.faults().is_empty());
        assert_eq!(w.temperature(), Some(12.0));
    }

    #[test]
    fn bad_humidity_is_dropped_not_a_fault() {
        let (mut w, t0) = watch();
        w.on_reading(
            Ok(ClimateReading {
                temperature: 20.0,
                humidity: Some(140.0),
            }),
            t0,
        );
        assert_eq!((w.temperature(), w.humidity()), (Some(20.0), None));
        assert!(w.faults().is_empty());
    }
}
