//! The `[hardware]` config section: which backend, poll rates, the sensor and the pin map.
//!
//! Parsed once by the daemon and validated here before anything is opened. This module
//! must never touch hardware; `validate` only reads numbers and names.

mod check;

use hearth_model::LockAction;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which hardware hearth drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The built-in house simulator (`[simulator]`); no GPIO needed.
    #[default]
    Simulator,
    /// GPIO, 1-Wire and I2C on a Raspberry Pi, through rppal.
    RaspberryPi,
}

/// `[hardware]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardwareConfig {
    pub backend: Backend,
    /// How often the temperature sensor is read (default 10 s).
    #[serde(with = "hearth_model::duration")]
    pub poll_interval: Duration,
    /// How often the lock inputs are read when no edge interrupt arrives (default 100 ms).
    #[serde(with = "hearth_model::duration")]
    pub input_poll_interval: Duration,
    /// The temperature sensor; required by the `raspberry_pi` backend.
    pub sensor: Option<SensorConfig>,
    pub outputs: OutputsConfig,
    pub motor: MotorConfig,
    pub inputs: InputsConfig,
    /// The single-instance lock (see [`crate::instance::lock_path`] for the default).
    pub lock_file: Option<PathBuf>,
}

impl Default for HardwareConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Simulator,
            poll_interval: Duration::from_secs(10),
            input_poll_interval: Duration::from_millis(100),
            sensor: None,
            outputs: OutputsConfig::default(),
            motor: MotorConfig::default(),
            inputs: InputsConfig::default(),
            lock_file: None,
        }
    }
}

/// The level at which a pin means "on" (an output) or "true" (an input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Active {
    High,
    Low,
}

impl Active {
    /// The electrical level (true = high) that represents `on`.
    pub fn level_for(self, on: bool) -> bool {
        match self {
            Active::High => on,
            Active::Low => !on,
        }
    }
}

/// A relay or motor-driver output. `active` is required: a wrong guess would switch the
/// relay on at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPinConfig {
    pub pin: u8,
    pub active: Active,
}

/// Built-in pull resistor of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pull {
    #[default]
    Up,
    Down,
    Off,
}

/// A switch input. `active` is the level read when the condition holds (bolt at the
/// locked end, bolt at the unlocked end, door open).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputPinConfig {
    pub pin: u8,
    pub active: Active,
    #[serde(default)]
    pub pull: Pull,
    /// How long the input must stay at a new level before the change is reported.
    #[serde(default = "default_debounce", with = "hearth_model::duration")]
    pub debounce: Duration,
}

fn default_debounce() -> Duration {
    Duration::from_millis(50)
}

/// `[hardware.outputs]`: the thermostat relays (W, Y, G).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsConfig {
    pub heat: Option<OutputPinConfig>,
    pub cool: Option<OutputPinConfig>,
    pub fan: Option<OutputPinConfig>,
}

/// `[hardware.motor]`: either two direction outputs (`lock` and `unlock`) or one
/// `solenoid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotorConfig {
    pub lock: Option<OutputPinConfig>,
    pub unlock: Option<OutputPinConfig>,
    pub solenoid: Option<SolenoidConfig>,
}

/// A single-coil lock: energised while the drive goes `energize_to` (default `unlock`),
/// released otherwise — including when the motor drive is off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolenoidConfig {
    pub pin: u8,
    pub active: Active,
    #[serde(default = "default_energize_to")]
    pub energize_to: LockAction,
}

fn default_energize_to() -> LockAction {
    LockAction::Unlock
}

/// `[hardware.inputs]`: the two limit switches and the door contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsConfig {
    pub bolt_locked: Option<InputPinConfig>,
    pub bolt_unlocked: Option<InputPinConfig>,
    pub door: Option<InputPinConfig>,
}

/// `[hardware.sensor]`, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SensorConfig {
    Ds18b20(Ds18b20Config),
    Sht3x(Sht3xConfig),
}

/// A DS18B20 read through the kernel's w1 sysfs files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ds18b20Config {
    /// The device directory name, e.g. `28-0000075a1234`; when absent the only `28-*`
    /// device present is used.
    pub device: Option<String>,
    /// Where the kernel lists 1-Wire devices.
    pub w1_devices: PathBuf,
    /// The BCM pin the w1-gpio overlay uses (`dtoverlay=w1-gpio,gpiopin=N`, default 4);
    /// only checked against the pin map, hearth does not drive it.
    pub pin: u8,
}

impl Default for Ds18b20Config {
    fn default() -> Self {
        Self {
            device: None,
            w1_devices: PathBuf::from(crate::ds18b20::W1_DEVICES),
            pin: 4,
        }
    }
}

/// An SHT3x on an I2C bus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sht3xConfig {
    /// I2C bus number (`/dev/i2c-N`); bus 1 is on BCM 2 (SDA) and 3 (SCL).
    pub bus: u8,
    /// 0x44 (ADDR pin low, the default) or 0x45.
    pub address: u16,
}

impl Default for Sht3xConfig {
    fn default() -> Self {
        Self {
            bus: 1,
            address: crate::sht3x::DEFAULT_ADDRESS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poller::InputDebounce;

    fn parse(s: &str) -> Result<HardwareConfig, toml::de::Error> {
        toml::from_str(s)
    }

    fn keys(cfg: &HardwareConfig) -> Vec<String> {
        cfg.validate().into_iter().map(|i| i.key).collect()
    }

    const PI: &str = r#"
        backend = "raspberry_pi"
        [sensor]
        kind = "ds18b20"
        [outputs]
        heat = { pin = 17, active = "low" }
        cool = { pin = 27, active = "low" }
        fan = { pin = 22, active = "low" }
        [motor]
        lock = { pin = 23, active = "high" }
        unlock = { pin = 24, active = "high" }
        [inputs]
        bolt_locked = { pin = 5, active = "low" }
        bolt_unlocked = { pin = 6, active = "low" }
        door = { pin = 13, active = "high", pull = "up", debounce = "30ms" }
    "#;

    #[test]
    fn defaults_are_the_simulator_at_default_rates() {
        let cfg = parse("").unwrap();
        assert_eq!(cfg.backend, Backend::Simulator);
        assert_eq!(cfg.poll_interval, Duration::from_secs(10));
        assert_eq!(cfg.input_poll_interval, Duration::from_millis(100));
        assert!(cfg.validate().is_empty());
        assert_eq!(cfg.poller_config().debounce, InputDebounce::default());
    }

    #[test]
    fn a_full_pi_map_parses_and_validates() {
        let cfg = parse(PI).unwrap();
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        let door = cfg.inputs.door.as_ref().unwrap();
        assert_eq!(door.debounce, Duration::from_millis(30));
        assert_eq!(
            cfg.inputs.bolt_locked.as_ref().unwrap().debounce,
            default_debounce()
        );
        assert_eq!(cfg.poller_config().debounce.door, Duration::from_millis(30));
        assert_eq!(
            cfg.sensor,
            Some(SensorConfig::Ds18b20(Ds18b20Config::default()))
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(parse("polling = \"1s\"").is_err());
        assert!(parse("[outputs]\nheat = { pin = 17, active = \"low\", colour = 1 }").is_err());
        assert!(parse("[sensor]\nkind = \"sht3x\"\nbuss = 1").is_err());
        assert!(parse("[sensor]\nkind = \"bme280\"").is_err());
    }

    #[test]
    fn output_polarity_must_be_stated() {
        let e = parse("[outputs]\nheat = { pin = 17 }").unwrap_err();
        assert!(e.to_string().contains("active"), "{e}");
    }

    #[test]
    fn pin_problems_are_reported_at_full_keys() {
        let mut cfg = parse(PI).unwrap();
        cfg.outputs.fan.as_mut().unwrap().pin = 17;
        cfg.inputs.door.as_mut().unwrap().pin = 23;
        cfg.outputs.cool.as_mut().unwrap().pin = 40;
        assert_eq!(
            keys(&cfg),
            [
                "hardware.outputs.cool.pin",
                "hardware.outputs.fan.pin",
                "hardware.inputs.door.pin"
            ]
        );
    }

    #[test]
    fn the_1wire_pin_and_i2c_lines_are_reserved() {
        let mut cfg = parse(PI).unwrap();
        cfg.outputs.heat.as_mut().unwrap().pin = 4;
        assert_eq!(keys(&cfg), ["hardware.outputs.heat.pin"]);
        cfg.outputs.heat.as_mut().unwrap().pin = 3;
        cfg.sensor = Some(SensorConfig::Sht3x(Sht3xConfig::default()));
        assert_eq!(keys(&cfg), ["hardware.outputs.heat.pin"]);
    }

    #[test]
    fn motor_shape_and_sensor_settings_are_checked() {
        let mut cfg = parse(PI).unwrap();
        cfg.motor.unlock = None;
        cfg.sensor = None;
        cfg.input_poll_interval = Duration::ZERO;
        cfg.inputs.door.as_mut().unwrap().debounce = Duration::from_secs(5);
        assert_eq!(
            keys(&cfg),
            [
                "hardware.input_poll_interval",
                "hardware.inputs.door.debounce",
                "hardware.motor.unlock",
                "hardware.sensor"
            ]
        );
        let cfg = parse("[sensor]\nkind = \"sht3x\"\naddress = 0x40").unwrap();
        assert_eq!(keys(&cfg), ["hardware.sensor.address"]);
        let cfg = parse("[sensor]\nkind = \"ds18b20\"\ndevice = \"../etc\"").unwrap();
        assert_eq!(keys(&cfg), ["hardware.sensor.device"]);
    }

    #[test]
    fn solenoid_parses_with_its_direction() {
        let cfg = parse("[motor]\nsolenoid = { pin = 18, active = \"high\" }").unwrap();
        assert_eq!(cfg.motor.solenoid.unwrap().energize_to, LockAction::Unlock);
    }
}
