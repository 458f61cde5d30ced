//! Checking the `[hardware]` section (rates, debounce, motor shape, sensor settings, the pin
//! map) and what the daemon derives from it: the pins in use and the poller's settings.
//! Reads numbers and names only; never touches hardware.

use super::{Active, Backend, HardwareConfig, InputPinConfig, SensorConfig};
use crate::pins::{self, PinRole, PinUse};
use crate::poller::{InputDebounce, PollerConfig};
use hearth_model::ConfigIssue;
use std::time::Duration;

const MAX_DEBOUNCE: Duration = Duration::from_secs(1);

impl HardwareConfig {
    /// Every problem with the section, each at its full dotted key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if !(Duration::from_secs(1)..=Duration::from_secs(600)).contains(&self.poll_interval) {
            issues.push(ConfigIssue::new(
                "hardware.poll_interval",
                "must be between 1s (a DS18B20 needs 750ms for one conversion) and 10m",
            ));
        }
        if self.input_poll_interval.is_zero() || self.input_poll_interval > Duration::from_secs(10)
        {
            issues.push(ConfigIssue::new(
                "hardware.input_poll_interval",
                "must be between 1ms and 10s; the door and limit switches are read this often",
            ));
        }
        for (key, input) in self.input_entries() {
            if input.debounce > MAX_DEBOUNCE {
                issues.push(ConfigIssue::new(
                    format!("{key}.debounce"),
                    "must be at most 1s; switch bounce lasts milliseconds, longer hides real changes",
                ));
            }
        }
        let m = &self.motor;
        match (&m.lock, &m.unlock, &m.solenoid) {
            (Some(_), None, _) => issues.push(ConfigIssue::new(
                "hardware.motor.unlock",
                "a two-direction motor needs both hardware.motor.lock and hardware.motor.unlock",
            )),
            (None, Some(_), _) => issues.push(ConfigIssue::new(
                "hardware.motor.lock",
                "a two-direction motor needs both hardware.motor.lock and hardware.motor.unlock",
            )),
            (Some(_), Some(_), Some(_)) => issues.push(ConfigIssue::new(
                "hardware.motor.solenoid",
                "configure either lock/unlock direction outputs or one solenoid, not both",
            )),
            _ => {}
        }
        match &self.sensor {
            None if self.backend == Backend::RaspberryPi => issues.push(ConfigIssue::new(
                "hardware.sensor",
                "the raspberry_pi backend needs a temperature sensor: add [hardware.sensor] with \
                 kind = \"ds18b20\" or kind = \"sht3x\"",
            )),
            Some(SensorConfig::Sht3x(s)) if !matches!(s.address, 0x44 | 0x45) => {
                issues.push(ConfigIssue::new(
                    "hardware.sensor.address",
                    format!(
                        "{:#04x} is not an SHT3x address; it answers at 0x44 (ADDR low) or 0x45 (ADDR high)",
                        s.address
                    ),
                ))
            }
            Some(SensorConfig::Ds18b20(d)) => {
                if let Some(dev) = &d.device
                    && (!dev.starts_with("28-") || dev.contains('/'))
                {
                    issues.push(ConfigIssue::new(
                        "hardware.sensor.device",
                        format!(
                            "`{dev}` is not a DS18B20 device name; they look like \"28-0000075a1234\" \
                             (see ls {})",
                            d.w1_devices.display()
                        ),
                    ));
                }
            }
            _ => {}
        }
        issues.extend(pins::validate_pin_map(&self.pin_uses()));
        issues
    }

    /// Every pin the config claims, in file order, with its key.
    pub fn pin_uses(&self) -> Vec<PinUse> {
        let mut uses = Vec::new();
        match &self.sensor {
            Some(SensorConfig::Ds18b20(d)) => {
                uses.push(PinUse::new("hardware.sensor.pin", d.pin, PinRole::Bus))
            }
            Some(SensorConfig::Sht3x(s)) if s.bus == 1 => {
                uses.push(PinUse::new("hardware.sensor.bus", 2, PinRole::Bus));
                uses.push(PinUse::new("hardware.sensor.bus", 3, PinRole::Bus));
            }
            _ => {}
        }
        for (key, out) in self.output_entries() {
            uses.push(PinUse::new(format!("{key}.pin"), out.0, PinRole::Output));
        }
        for (key, input) in self.input_entries() {
            uses.push(PinUse::new(format!("{key}.pin"), input.pin, PinRole::Input));
        }
        uses
    }

    pub(crate) fn output_entries(&self) -> Vec<(&'static str, (u8, Active))> {
        let o = &self.outputs;
        let m = &self.motor;
        [
            (
                "hardware.outputs.heat",
                o.heat.as_ref().map(|p| (p.pin, p.active)),
            ),
            (
                "hardware.outputs.cool",
                o.cool.as_ref().map(|p| (p.pin, p.active)),
            ),
            (
                "hardware.outputs.fan",
                o.fan.as_ref().map(|p| (p.pin, p.active)),
            ),
            (
                "hardware.motor.lock",
                m.lock.as_ref().map(|p| (p.pin, p.active)),
            ),
            (
                "hardware.motor.unlock",
                m.unlock.as_ref().map(|p| (p.pin, p.active)),
            ),
            (
                "hardware.motor.solenoid",
                m.solenoid.as_ref().map(|p| (p.pin, p.active)),
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    fn input_entries(&self) -> Vec<(&'static str, &InputPinConfig)> {
        let i = &self.inputs;
        [
            ("hardware.inputs.bolt_locked", i.bolt_locked.as_ref()),
            ("hardware.inputs.bolt_unlocked", i.bolt_unlocked.as_ref()),
            ("hardware.inputs.door", i.door.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// The poll loop's timing for this hardware. The simulator's contacts do not bounce,
    /// so it gets no debounce delay.
    pub fn poller_config(&self) -> PollerConfig {
        let debounce = match self.backend {
            Backend::Simulator => InputDebounce::default(),
            Backend::RaspberryPi => {
                let of =
                    |i: &Option<InputPinConfig>| i.as_ref().map_or(Duration::ZERO, |i| i.debounce);
                InputDebounce {
                    bolt_locked: of(&self.inputs.bolt_locked),
                    bolt_unlocked: of(&self.inputs.bolt_unlocked),
                    door: of(&self.inputs.door),
                }
            }
        };
        PollerConfig {
            poll_interval: self.poll_interval,
            input_poll_interval: self.input_poll_interval,
            read_timeout: crate::poller::SENSOR_READ_TIMEOUT,
            debounce,
        }
    }
}
