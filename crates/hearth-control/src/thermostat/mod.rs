//! The thermostat controller: settings, readings and time in; relay outputs, state and
//! events out.
//!
//! It owns every thermostat safety rule: heat and cool never together, compressor and
//! furnace timers, hysteresis, sensor faults (all outputs off), freeze protection. It never
//! does I/O or reads a clock: the caller passes `now` and drives the outputs it returns.

mod sensor;
mod settings;
#[cfg(test)]
mod tests;

use crate::config::ThermostatConfig;
use crate::event::{ControlEvent, report_fault_changes};
use crate::refusal::Refusal;
use hearth_model::{
    ClimateReading, FanMode, Fault, HvacAction, HvacOutputs, Mode, ThermostatChange,
    ThermostatState,
};
use sensor::SensorWatch;
use settings::Settings;
use std::time::{Duration, Instant};

/// One relay (heat or cool) and when it last switched.
#[derive(Debug, Clone, Copy)]
struct Stage {
    on: bool,
    since: Instant,
}

impl Stage {
    fn held_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }

    fn switch(&mut self, on: bool, now: Instant) {
        if self.on != on {
            self.on = on;
            self.since = now;
        }
    }
}

/// What the temperature asks for, each with its own hysteresis latch. The relays follow
/// these only as far as the timers and the other relay allow.
#[derive(Debug, Clone, Copy, Default)]
struct Calls {
    heat: bool,
    cool: bool,
    freeze: bool,
}

/// The thermostat state machine. See the crate docs for the rules it keeps.
#[derive(Debug, Clone)]
pub struct Thermostat {
    cfg: ThermostatConfig,
    settings: Settings,
    sensor: SensorWatch,
    /// Latest instant seen; earlier ones passed later are treated as this one.
    now: Instant,
    heat: Stage,
    cool: Stage,
    fan: bool,
    calls: Calls,
    faults: Vec<Fault>,
    events: Vec<ControlEvent>,
}

impl Thermostat {
    /// A thermostat starting at `now` with the config's start values, all outputs off and no
    /// reading yet. `cfg` should have passed [`ThermostatConfig::validate`].
    ///
    /// Start-up counts as the moment both heat and cool switched off, so a power blip cannot
    /// restart the compressor before `cool_min_off`.
    pub fn new(cfg: ThermostatConfig, now: Instant) -> Thermostat {
        let off = Stage {
            on: false,
            since: now,
        };
        Thermostat {
            settings: Settings::from_config(&cfg),
            sensor: SensorWatch::new(&cfg, now),
            cfg,
            now,
            heat: off,
            cool: off,
            fan: false,
            calls: Calls::default(),
            faults: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A reading from the sensor, or the sensor's error message.
    pub fn on_reading(&mut self, reading: Result<ClimateReading, String>, now: Instant) {
        let now = self.advance_clock(now);
        self.sensor.on_reading(reading, now);
        self.settle(now);
    }

    /// Apply a settings change. The whole change is checked first; on refusal nothing changes.
    pub fn apply(&mut self, change: &ThermostatChange, now: Instant) -> Result<(), Refusal> {
        self.settings = self.settings.changed(change, &self.cfg)?;
        let now = self.advance_clock(now);
        self.settle(now);
        Ok(())
    }

    /// Re-evaluate timers and timeouts; call at [`Thermostat::next_deadline`] at the latest.
    pub fn tick(&mut self, now: Instant) {
        let now = self.advance_clock(now);
        self.settle(now);
    }

    /// The relays as they must be driven now.
    pub fn outputs(&self) -> HvacOutputs {
        HvacOutputs {
            heat: self.heat.on,
            cool: self.cool.on,
            fan: self.fan,
        }
    }

    /// A snapshot for publishing and history.
    pub fn state(&self) -> ThermostatState {
        ThermostatState {
            mode: self.settings.mode,
            fan: self.settings.fan,
            setpoint_heat: self.settings.setpoint_heat,
            setpoint_cool: self.settings.setpoint_cool,
            temperature: self.sensor.temperature(),
            humidity: self.sensor.humidity(),
            action: self.action(),
            faults: self.faults.clone(),
        }
    }

    /// What the equipment is doing (`idle`, `heating`, `cooling`, `fan`).
    pub fn action(&self) -> HvacAction {
        self.outputs().action()
    }

    /// The next instant at which time alone changes something (a timer expires or the
    /// sensor times out). `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        let heat_wanted = self.calls.heat || self.calls.freeze;
        [
            self.sensor.timeout_deadline(),
            (self.cool.on && !self.calls.cool).then(|| self.cool.since + self.cfg.cool_min_run),
            (!self.cool.on && self.calls.cool).then(|| self.cool.since + self.cfg.cool_min_off),
            (!self.heat.on && heat_wanted).then(|| self.heat.since + self.cfg.heat_min_off),
        ]
        .into_iter()
        .flatten()
        .filter(|&t| t > self.now)
        .min()
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<ControlEvent> {
        std::mem::take(&mut self.events)
    }

    fn advance_clock(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// Bring faults, calls and relays up to date at `now`.
    fn settle(&mut self, now: Instant) {
        self.sensor.check_timeout(now);
        let faults = self.sensor.faults();
        let faulted = !faults.is_empty();
        // A faulted sensor's last value is not trusted for anything, freeze protection included.
        let temperature = if faulted {
            None
        } else {
            self.sensor.temperature()
        };
        self.update_calls(temperature);
        self.drive(faulted, now);
        let sensor = &self.sensor;
        report_fault_changes(
            &mut self.faults,
            faults,
            |f| sensor.detail(f),
            &mut self.events,
        );
    }

    fn update_calls(&mut self, temperature: Option<f64>) {
        let was_freeze = self.calls.freeze;
        self.calls = match temperature {
            None => Calls::default(),
            Some(t) => {
                let h = self.cfg.hysteresis;
                let s = &self.settings;
                let heat_mode = matches!(s.mode, Mode::Heat | Mode::Auto);
                let cool_mode = matches!(s.mode, Mode::Cool | Mode::Auto);
                Calls {
                    heat: heat_mode
                        && latch(
                            self.calls.heat,
                            t <= s.setpoint_heat - h,
                            t >= s.setpoint_heat + h,
                        ),
                    cool: cool_mode
                        && latch(
                            self.calls.cool,
                            t >= s.setpoint_cool + h,
                            t <= s.setpoint_cool - h,
                        ),
                    freeze: self.cfg.freeze_protection
                        && latch(
                            self.calls.freeze,
                            t < self.cfg.freeze_below,
                            t >= self.cfg.freeze_below + h,
                        ),
                }
            }
        };
        if self.calls.freeze != was_freeze {
            self.events.push(ControlEvent::FreezeProtection {
                engaged: self.calls.freeze,
                temperature,
            });
        }
    }

    fn drive(&mut self, faulted: bool, now: Instant) {
        if faulted {
            // A fault overrides every timer: nothing runs on a sensor we cannot trust.
            self.heat.switch(false, now);
            self.cool.switch(false, now);
            self.fan = false;
            return;
        }
        let heat_wanted = self.calls.heat || self.calls.freeze;
        let cool_wanted = self.calls.cool;
        // Switch off before switching on, so a changeover never overlaps.
        if self.cool.on && !cool_wanted && self.cool.held_for(now) >= self.cfg.cool_min_run {
            self.cool.switch(false, now);
        }
        if self.heat.on && !heat_wanted {
            self.heat.switch(false, now);
        }
        if !self.cool.on
            && cool_wanted
            && !self.heat.on
            && self.cool.held_for(now) >= self.cfg.cool_min_off
        {
            self.cool.switch(true, now);
        }
        if !self.heat.on
            && heat_wanted
            && !self.cool.on
            && self.heat.held_for(now) >= self.cfg.heat_min_off
        {
            self.heat.switch(true, now);
        }
        self.fan = self.cool.on
            || (self.heat.on && self.cfg.fan_with_heat)
            || self.settings.mode == Mode::FanOnly
            || self.settings.fan == FanMode::On;
    }
}

/// A hysteresis latch: once started it runs until `stop`, once stopped it waits for `start`.
fn latch(active: bool, start: bool, stop: bool) -> bool {
    if active { !stop } else { start }
}
