//! The Raspberry Pi backend: claims GPIO, 1-Wire and I2C through rppal and hands them to
//! [`WiredHardware`]. Kept thin on purpose — every decision lives in `wiring.rs`,
//! `ds18b20.rs` and `sht3x.rs`, which are tested without a Pi.
//!
//! It must never be opened before the pin map validated, and never leave an output at a
//! level other than OFF when it claims it.

use crate::config::{Active, HardwareConfig, InputPinConfig, OutputPinConfig, Pull, SensorConfig};
use crate::ds18b20::Ds18b20;
use crate::sht3x::{I2cBus, Sht3x};
use crate::wiring::{
    Contact, Contacts, InputLine, Motor, OutputLine, Relay, Relays, WiredHardware,
};
use crate::{ClimateSensor, HardwareError};
use rppal::gpio::{Gpio, InputPin, OutputPin, Trigger};
use rppal::i2c::I2c;
use std::sync::Arc;
use tokio::sync::Notify;

impl OutputLine for OutputPin {
    fn write(&mut self, high: bool) {
        if high {
            self.set_high()
        } else {
            self.set_low()
        }
    }
}

impl InputLine for InputPin {
    fn is_high(&self) -> bool {
        InputPin::is_high(self)
    }
}

impl I2cBus for I2c {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        I2c::write(self, bytes).map(drop).map_err(|e| e.to_string())
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<(), String> {
        match I2c::read(self, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(n) => Err(format!("short read: {n} of {} bytes", buf.len())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Claim every configured pin and the sensor. The config must have validated.
pub fn open(cfg: &HardwareConfig) -> Result<WiredHardware<OutputPin, InputPin>, HardwareError> {
    let gpio = Gpio::new().map_err(|e| HardwareError::NoGpio {
        detail: e.to_string(),
    })?;
    let notify = Arc::new(Notify::new());
    let out = |key: &str, p: &Option<OutputPinConfig>| -> Result<_, HardwareError> {
        p.as_ref()
            .map(|p| output(&gpio, key, p.pin, p.active))
            .transpose()
    };
    let relays = Relays {
        heat: out("hardware.outputs.heat.pin", &cfg.outputs.heat)?,
        cool: out("hardware.outputs.cool.pin", &cfg.outputs.cool)?,
        fan: out("hardware.outputs.fan.pin", &cfg.outputs.fan)?,
    };
    let m = &cfg.motor;
    let motor = match (&m.lock, &m.unlock, &m.solenoid) {
        (Some(_), Some(_), _) => Motor::TwoDirection {
            lock: out("hardware.motor.lock.pin", &m.lock)?.expect("checked Some"),
            unlock: out("hardware.motor.unlock.pin", &m.unlock)?.expect("checked Some"),
        },
        (_, _, Some(s)) => Motor::Solenoid {
            coil: output(&gpio, "hardware.motor.solenoid.pin", s.pin, s.active)?,
            energize_to: s.energize_to,
        },
        _ => Motor::None,
    };
    let inp = |key: &str, p: &Option<InputPinConfig>| -> Result<_, HardwareError> {
        p.as_ref()
            .map(|p| input(&gpio, key, p, &notify))
            .transpose()
    };
    let contacts = Contacts {
        bolt_locked: inp("hardware.inputs.bolt_locked.pin", &cfg.inputs.bolt_locked)?,
        bolt_unlocked: inp(
            "hardware.inputs.bolt_unlocked.pin",
            &cfg.inputs.bolt_unlocked,
        )?,
        door: inp("hardware.inputs.door.pin", &cfg.inputs.door)?,
    };
    let sensor: Box<dyn ClimateSensor> = match &cfg.sensor {
        Some(SensorConfig::Ds18b20(d)) => Box::new(Ds18b20::new(&d.w1_devices, d.device.clone())),
        Some(SensorConfig::Sht3x(s)) => {
            let i2c_err = |e: rppal::i2c::Error| HardwareError::I2c {
                bus: s.bus,
                address: s.address,
                detail: e.to_string(),
            };
            let mut i2c = I2c::with_bus(s.bus).map_err(i2c_err)?;
            i2c.set_slave_address(s.address).map_err(i2c_err)?;
            Box::new(Sht3x::new(i2c))
        }
        None => {
            return Err(HardwareError::InvalidConfig(vec![
                hearth_model::ConfigIssue::new(
                    "hardware.sensor",
                    "the raspberry_pi backend needs a temperature sensor",
                ),
            ]));
        }
    };
    Ok(WiredHardware::new(
        relays,
        motor,
        contacts,
        sensor,
        Some(notify),
    ))
}

fn pin_error(key: &str, pin: u8) -> impl Fn(rppal::gpio::Error) -> HardwareError + '_ {
    move |e| HardwareError::Pin {
        key: key.to_string(),
        pin,
        detail: e.to_string(),
    }
}

fn output(
    gpio: &Gpio,
    key: &str,
    pin: u8,
    active: Active,
) -> Result<Relay<OutputPin>, HardwareError> {
    let pin_ = gpio.get(pin).map_err(pin_error(key, pin))?;
    // Claim the pin already at its OFF level, so the relay never clicks on at start-up.
    let mut line = if active.level_for(false) {
        pin_.into_output_high()
    } else {
        pin_.into_output_low()
    };
    // rppal's reset on drop would turn the pin back into a floating input; hearth writes
    // OFF itself and leaves the pin driven at that level after exit.
    line.set_reset_on_drop(false);
    Ok(Relay::new(line, active))
}

fn input(
    gpio: &Gpio,
    key: &str,
    cfg: &InputPinConfig,
    notify: &Arc<Notify>,
) -> Result<Contact<InputPin>, HardwareError> {
    let pin = gpio.get(cfg.pin).map_err(pin_error(key, cfg.pin))?;
    let mut line = match cfg.pull {
        Pull::Up => pin.into_input_pullup(),
        Pull::Down => pin.into_input_pulldown(),
        Pull::Off => pin.into_input(),
    };
    let notify = notify.clone();
    // Debouncing is the poller's job (it knows the configured time); the interrupt only
    // tells it to look now instead of at the next poll.
    line.set_async_interrupt(Trigger::Both, None, move |_| notify.notify_one())
        .map_err(pin_error(key, cfg.pin))?;
    Ok(Contact::new(line, cfg.active))
}

/// Claim every configured output at its OFF level and leave it driven there (`hearthd
/// outputs-off`). Inputs, pulls and the sensor are not touched.
pub fn outputs_off(levels: &[crate::outputs_off::OffLevel]) -> Result<(), HardwareError> {
    let gpio = Gpio::new().map_err(|e| HardwareError::NoGpio {
        detail: e.to_string(),
    })?;
    crate::outputs_off::drive_off(levels, |l| {
        let pin = gpio.get(l.pin).map_err(pin_error(l.key, l.pin))?;
        let mut line = if l.high {
            pin.into_output_high()
        } else {
            pin.into_output_low()
        };
        // Stay driven at OFF after this process exits (rppal would float the pin otherwise).
        line.set_reset_on_drop(false);
        Ok(line)
    })
    .map(drop)
}
