//! How logical outputs and inputs map onto GPIO levels: relay polarity, the two motor
//! shapes (two direction outputs or one solenoid), contact polarity, and the heat/cool
//! interlock — written against two tiny line traits so it is tested without a Pi.
//!
//! `rpi.rs` supplies the rppal lines. This module must never name rppal.

use crate::config::Active;
use crate::{ClimateSensor, Hardware, HardwareError, SensorError, SharedSensor, check_interlock};
use hearth_model::{ClimateReading, HvacOutputs, LockAction, LockInputs, MotorDrive};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A digital output line; `true` is electrically high.
pub trait OutputLine: Send + 'static {
    fn write(&mut self, high: bool);
}

/// A digital input line; `true` is electrically high.
pub trait InputLine: Send + 'static {
    fn is_high(&self) -> bool;
}

/// A line with its polarity: a relay when it is an output, a contact when it is an input.
pub struct Polarised<L> {
    line: L,
    active: Active,
}

/// An output with its polarity.
pub type Relay<O> = Polarised<O>;
/// An input with its polarity.
pub type Contact<I> = Polarised<I>;

impl<L> Polarised<L> {
    pub fn new(line: L, active: Active) -> Self {
        Self { line, active }
    }
}

impl<O: OutputLine> Polarised<O> {
    pub fn set(&mut self, on: bool) {
        self.line.write(self.active.level_for(on));
    }
}

impl<I: InputLine> Polarised<I> {
    pub fn is_active(&self) -> bool {
        self.line.is_high() == self.active.level_for(true)
    }
}

/// The lock motor's outputs.
pub enum Motor<O> {
    None,
    TwoDirection {
        lock: Relay<O>,
        unlock: Relay<O>,
    },
    Solenoid {
        coil: Relay<O>,
        energize_to: LockAction,
    },
}

/// The thermostat relays; an unwired one may only be switched off.
pub struct Relays<O> {
    pub heat: Option<Relay<O>>,
    pub cool: Option<Relay<O>>,
    pub fan: Option<Relay<O>>,
}

/// The lock's contacts; an unwired one reads as inactive.
pub struct Contacts<I> {
    pub bolt_locked: Option<Contact<I>>,
    pub bolt_unlocked: Option<Contact<I>>,
    pub door: Option<Contact<I>>,
}

/// Hardware made of GPIO lines and a climate sensor.
pub struct WiredHardware<O: OutputLine, I: InputLine> {
    relays: Relays<O>,
    motor: Motor<O>,
    contacts: Contacts<I>,
    sensor: SharedSensor,
    notify: Option<Arc<Notify>>,
}

impl<O: OutputLine, I: InputLine> WiredHardware<O, I> {
    /// Assemble and drive every output OFF before returning.
    pub fn new(
        relays: Relays<O>,
        motor: Motor<O>,
        contacts: Contacts<I>,
        sensor: impl ClimateSensor + 'static,
        notify: Option<Arc<Notify>>,
    ) -> Self {
        let mut hw = Self {
            relays,
            motor,
            contacts,
            sensor: Arc::new(Mutex::new(sensor)),
            notify,
        };
        // Cannot fail: OFF needs no unwired output.
        let _ = hw.all_off();
        hw
    }
}

fn drive(
    relay: &mut Option<Relay<impl OutputLine>>,
    on: bool,
    what: &'static str,
    key: &'static str,
) -> Result<(), HardwareError> {
    match relay {
        Some(r) => {
            r.set(on);
            Ok(())
        }
        None if on => Err(HardwareError::NotWired { what, key }),
        None => Ok(()),
    }
}

impl<O: OutputLine, I: InputLine> Hardware for WiredHardware<O, I> {
    fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
        self.sensor.lock().unwrap_or_else(|p| p.into_inner()).read()
    }

    fn read_inputs(&mut self) -> Result<LockInputs, HardwareError> {
        let active = |c: &Option<Contact<I>>| c.as_ref().is_some_and(Contact::is_active);
        Ok(LockInputs {
            bolt_locked: active(&self.contacts.bolt_locked),
            bolt_unlocked: active(&self.contacts.bolt_unlocked),
            door_open: active(&self.contacts.door),
        })
    }

    fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError> {
        let r = &mut self.relays;
        if let Err(e) = check_interlock(out) {
            drive(&mut r.heat, false, "heat", "hardware.outputs.heat")?;
            drive(&mut r.cool, false, "cool", "hardware.outputs.cool")?;
            return Err(e);
        }
        // Switch off before on, so a heat→cool change never has both energised.
        let mut result = Ok(());
        let mut order = [
            (&mut r.heat, out.heat, "heat", "hardware.outputs.heat"),
            (&mut r.cool, out.cool, "cool", "hardware.outputs.cool"),
            (&mut r.fan, out.fan, "fan", "hardware.outputs.fan"),
        ];
        order.sort_by_key(|(_, on, _, _)| *on);
        for (relay, on, what, key) in order {
            result = result.and(drive(relay, on, what, key));
        }
        result
    }

    fn set_motor(&mut self, drive_to: MotorDrive) -> Result<(), HardwareError> {
        match &mut self.motor {
            Motor::None if drive_to == MotorDrive::Off => Ok(()),
            Motor::None => Err(HardwareError::NotWired {
                what: "the lock motor",
                key: "hardware.motor",
            }),
            Motor::TwoDirection { lock, unlock } => {
                // Break before make: never both directions at once (an H-bridge would short).
                match drive_to {
                    MotorDrive::Off => {
                        lock.set(false);
                        unlock.set(false);
                    }
                    MotorDrive::Locking => {
                        unlock.set(false);
                        lock.set(true);
                    }
                    MotorDrive::Unlocking => {
                        lock.set(false);
                        unlock.set(true);
                    }
                }
                Ok(())
            }
            Motor::Solenoid { coil, energize_to } => {
                let energise = matches!(
                    (drive_to, *energize_to),
                    (MotorDrive::Locking, LockAction::Lock)
                        | (MotorDrive::Unlocking, LockAction::Unlock)
                );
                coil.set(energise);
                Ok(())
            }
        }
    }

    fn edge_notify(&self) -> Option<Arc<Notify>> {
        self.notify.clone()
    }

    fn slow_sensor(&self) -> Option<SharedSensor> {
        Some(self.sensor.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line that records every level written to it, under a name.
    #[derive(Clone)]
    struct Line(&'static str, Arc<Mutex<Vec<(&'static str, bool)>>>);

    impl OutputLine for Line {
        fn write(&mut self, high: bool) {
            self.1.lock().unwrap().push((self.0, high));
        }
    }

    #[derive(Clone)]
    struct Input(Arc<Mutex<bool>>);

    impl InputLine for Input {
        fn is_high(&self) -> bool {
            *self.0.lock().unwrap()
        }
    }

    struct NoSensor;
    impl ClimateSensor for NoSensor {
        fn read(&mut self) -> Result<ClimateReading, SensorError> {
            Ok(ClimateReading {
                temperature: 21.5,
                humidity: None,
            })
        }
    }

    type Log = Arc<Mutex<Vec<(&'static str, bool)>>>;

    fn relay(log: &Log, name: &'static str, active: Active) -> Relay<Line> {
        Relay::new(Line(name, log.clone()), active)
    }

    fn last_level(log: &Log, name: &str) -> Option<bool> {
        log.lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| *l)
    }

    fn build(log: &Log, motor: Motor<Line>) -> WiredHardware<Line, Input> {
        let relays = Relays {
            heat: Some(relay(log, "heat", Active::Low)),
            cool: Some(relay(log, "cool", Active::High)),
            fan: None,
        };
        let contacts = Contacts {
            bolt_locked: None,
            bolt_unlocked: None,
            door: None,
        };
        WiredHardware::new(relays, motor, contacts, NoSensor, None)
    }

    #[test]
    fn outputs_start_off_at_their_polarity() {
        let log = Log::default();
        let _hw = build(&log, Motor::None);
        assert_eq!(
            last_level(&log, "heat"),
            Some(true),
            "active-low off is high"
        );
        assert_eq!(
            last_level(&log, "cool"),
            Some(false),
            "active-high off is low"
        );
    }

    /// Hardware as `build` makes it (no motor), heating.
    fn heating(log: &Log) -> WiredHardware<Line, Input> {
        let mut hw = build(log, Motor::None);
        let heat = HvacOutputs {
            heat: true,
            ..HvacOutputs::OFF
        };
        hw.set_hvac(heat).unwrap();
        hw
    }

    #[test]
    fn active_low_relay_is_driven_low_to_switch_on() {
        let log = Log::default();
        let _hw = heating(&log);
        assert_eq!(last_level(&log, "heat"), Some(false));
    }

    #[test]
    fn heat_to_cool_switches_heat_off_first() {
        let log = Log::default();
        let mut hw = heating(&log);
        log.lock().unwrap().clear();
        hw.set_hvac(HvacOutputs {
            cool: true,
            ..HvacOutputs::OFF
        })
        .unwrap();
        assert_eq!(*log.lock().unwrap(), [("heat", true), ("cool", true)]);
    }

    #[test]
    fn interlock_refuses_heat_and_cool_together() {
        let log = Log::default();
        let mut hw = heating(&log);
        let both = HvacOutputs {
            heat: true,
            cool: true,
            fan: false,
        };
        assert_eq!(hw.set_hvac(both), Err(HardwareError::Interlock));
        assert_eq!(
            last_level(&log, "heat"),
            Some(true),
            "heat (active low) is off"
        );
        assert_eq!(last_level(&log, "cool"), Some(false));
    }

    #[test]
    fn unwired_output_is_an_error_only_when_asked_on() {
        let log = Log::default();
        let mut hw = build(&log, Motor::None);
        let fan = HvacOutputs {
            fan: true,
            ..HvacOutputs::OFF
        };
        let e = hw.set_hvac(fan).unwrap_err();
        assert!(e.to_string().contains("hardware.outputs.fan"), "{e}");
        assert!(hw.set_motor(MotorDrive::Off).is_ok());
        assert!(hw.set_motor(MotorDrive::Locking).is_err());
    }

    #[test]
    fn two_direction_motor_breaks_before_make() {
        let log = Log::default();
        let motor = Motor::TwoDirection {
            lock: relay(&log, "lock", Active::High),
            unlock: relay(&log, "unlock", Active::High),
        };
        let mut hw = build(&log, motor);
        hw.set_motor(MotorDrive::Unlocking).unwrap();
        log.lock().unwrap().clear();
        hw.set_motor(MotorDrive::Locking).unwrap();
        assert_eq!(*log.lock().unwrap(), [("unlock", false), ("lock", true)]);
    }

    #[test]
    fn solenoid_is_energised_only_in_its_direction() {
        let log = Log::default();
        let motor = Motor::Solenoid {
            coil: relay(&log, "coil", Active::Low),
            energize_to: LockAction::Unlock,
        };
        let mut hw = build(&log, motor);
        for (drive, energised) in [
            (MotorDrive::Unlocking, true),
            (MotorDrive::Off, false),
            (MotorDrive::Locking, false),
        ] {
            hw.set_motor(drive).unwrap();
            assert_eq!(last_level(&log, "coil"), Some(!energised), "{drive:?}");
        }
    }

    #[test]
    fn contacts_follow_their_polarity_and_unwired_reads_inactive() {
        let door_level = Arc::new(Mutex::new(false));
        let locked_level = Arc::new(Mutex::new(false));
        let contacts = Contacts {
            bolt_locked: Some(Contact::new(Input(locked_level.clone()), Active::Low)),
            bolt_unlocked: None,
            door: Some(Contact::new(Input(door_level.clone()), Active::High)),
        };
        let mut hw: WiredHardware<Line, Input> = WiredHardware::new(
            Relays {
                heat: None,
                cool: None,
                fan: None,
            },
            Motor::None,
            contacts,
            NoSensor,
            None,
        );
        let i = hw.read_inputs().unwrap();
        assert!(i.bolt_locked && !i.bolt_unlocked && !i.door_open, "{i:?}");
        *door_level.lock().unwrap() = true;
        *locked_level.lock().unwrap() = true;
        let i = hw.read_inputs().unwrap();
        assert!(!i.bolt_locked && i.door_open, "{i:?}");
        assert_eq!(hw.read_climate().unwrap().temperature, 21.5);
        assert!(hw.slow_sensor().is_some());
    }
}
