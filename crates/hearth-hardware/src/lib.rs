//! The hardware layer: one trait the rest of hearth uses, with a Raspberry Pi backend
//! (rppal) and a deterministic house simulator behind it, plus the poll loop that turns
//! either into typed events.
//!
//! Everything outside this crate sees only [`Hardware`], [`run_poller`] and the events it
//! sends; no other crate may name rppal. Outputs start OFF, and [`open`] hands out hardware
//! wrapped in an outputs-off guard so they are driven OFF again on drop — normal exit and
//! panic unwind alike.

mod config;
mod debounce;
mod ds18b20;
mod error;
mod guard;
mod instance;
mod outputs_off;
mod pins;
mod poller;
mod rpi;
mod sht3x;
mod sim;
mod wiring;

pub use config::{Active, Backend, HardwareConfig, SensorConfig};
pub use error::{HardwareError, SensorError};
pub use outputs_off::{OffReport, outputs_off};
pub use poller::{DesiredOutputs, HardwareEvent, InputDebounce, PollerConfig, run_poller};
pub use sim::{SimAction, SimFault, SimHandle, Simulator, SimulatorConfig};
/// The simulator's scripted week and its ground truth, and its persisted outputs file: for
/// hearthd's tests.
pub use sim::{routine as sim_routine, state_file::read as read_sim_outputs};

use guard::OutputsOffGuard;
use hearth_model::{ClimateReading, HvacOutputs, LockInputs, MotorDrive};
use instance::InstanceLock;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A temperature (and maybe humidity) sensor. `read` may block for the sensor's conversion.
pub trait ClimateSensor: Send {
    fn read(&mut self) -> Result<ClimateReading, SensorError>;
}

impl<S: ClimateSensor + ?Sized> ClimateSensor for Box<S> {
    fn read(&mut self) -> Result<ClimateReading, SensorError> {
        (**self).read()
    }
}

/// A sensor shared between its backend and the poller, which reads it on a blocking thread.
pub type SharedSensor = Arc<Mutex<dyn ClimateSensor>>;

/// The house's hardware. Methods block, but only briefly — except a sensor offered through
/// [`Hardware::slow_sensor`], which the poller reads off the async thread.
pub trait Hardware: Send + 'static {
    /// One temperature reading, checked; invalid readings are errors, never values.
    fn read_climate(&mut self) -> Result<ClimateReading, SensorError>;
    /// The limit switches and door contact as they are right now (not debounced).
    fn read_inputs(&mut self) -> Result<LockInputs, HardwareError>;
    /// Drive the three HVAC relays. Heat and cool together is refused and drives both off.
    fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError>;
    /// Drive the lock motor.
    fn set_motor(&mut self, drive: MotorDrive) -> Result<(), HardwareError>;
    /// Fired whenever an input may have changed, so the poller reads at once.
    fn edge_notify(&self) -> Option<Arc<Notify>>;
    /// A sensor whose reads take long enough (a DS18B20 conversion is ~750 ms) that the
    /// poller should run them on a blocking thread; `None` means `read_climate` is quick.
    fn slow_sensor(&self) -> Option<SharedSensor> {
        None
    }
    /// Drive every output OFF, trying all of them even when one fails.
    fn all_off(&mut self) -> Result<(), HardwareError> {
        let hvac = self.set_hvac(HvacOutputs::OFF);
        let motor = self.set_motor(MotorDrive::Off);
        hvac.and(motor)
    }
}

impl Hardware for Box<dyn Hardware> {
    fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
        (**self).read_climate()
    }
    fn read_inputs(&mut self) -> Result<LockInputs, HardwareError> {
        (**self).read_inputs()
    }
    fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError> {
        (**self).set_hvac(out)
    }
    fn set_motor(&mut self, drive: MotorDrive) -> Result<(), HardwareError> {
        (**self).set_motor(drive)
    }
    fn edge_notify(&self) -> Option<Arc<Notify>> {
        (**self).edge_notify()
    }
    fn slow_sensor(&self) -> Option<SharedSensor> {
        (**self).slow_sensor()
    }
}

/// The last line of the heat/cool interlock, shared by both backends.
pub(crate) fn check_interlock(out: HvacOutputs) -> Result<(), HardwareError> {
    if out.heat && out.cool {
        Err(HardwareError::Interlock)
    } else {
        Ok(())
    }
}

/// Validate the config, take the single-instance lock (`hardware.lock_file`), then open the
/// configured backend with every output OFF.
///
/// The returned hardware drives its outputs OFF again when dropped. The [`SimHandle`] is
/// `Some` only for the simulator. Call this inside a tokio runtime so the simulator can
/// wake the poller at scripted events and when the bolt reaches a switch.
pub fn open(
    hw: &HardwareConfig,
    sim: &SimulatorConfig,
) -> Result<(Box<dyn Hardware>, Option<SimHandle>), HardwareError> {
    let mut issues = hw.validate();
    if hw.backend == Backend::Simulator {
        issues.extend(sim.validate());
    }
    if !issues.is_empty() {
        return Err(HardwareError::InvalidConfig(issues));
    }
    // Before any pin (or the simulator's state file) is touched: one hearthd at a time.
    let lock = instance::lock_path(hw)
        .map(|path| InstanceLock::acquire(&path))
        .transpose()?;
    match hw.backend {
        Backend::Simulator => {
            let (sim, handle) = Simulator::new(sim);
            Ok((
                Box::new(OutputsOffGuard::with_lock(sim, lock)),
                Some(handle),
            ))
        }
        Backend::RaspberryPi => {
            let pi = rpi::open(hw)?;
            Ok((Box::new(OutputsOffGuard::with_lock(pi, lock)), None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_refuses_an_invalid_map_before_touching_anything() {
        let hw: HardwareConfig = toml::from_str(
            "backend = \"raspberry_pi\"\n[outputs]\nheat = { pin = 30, active = \"low\" }",
        )
        .unwrap();
        let Err(HardwareError::InvalidConfig(issues)) = open(&hw, &SimulatorConfig::default())
        else {
            panic!("an invalid pin map must be refused");
        };
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["hardware.sensor", "hardware.outputs.heat.pin"]);
    }

    #[test]
    fn raspberry_pi_backend_fails_clearly_without_gpio() {
        // This machine has no Pi GPIO; on a Pi this test is skipped by its own success.
        let dir = tempfile::tempdir().unwrap();
        let mut hw: HardwareConfig = toml::from_str(
            "backend = \"raspberry_pi\"\n[sensor]\nkind = \"ds18b20\"\n[outputs]\nheat = { pin = 17, active = \"low\" }",
        )
        .unwrap();
        hw.lock_file = Some(dir.path().join("hearthd.lock"));
        if std::path::Path::new("/dev/gpiomem").exists() {
            return;
        }
        let Err(e) = open(&hw, &SimulatorConfig::default()) else {
            panic!("opened GPIO on a machine without /dev/gpiomem");
        };
        assert!(matches!(e, HardwareError::NoGpio { .. }), "{e:?}");
        assert!(e.to_string().contains("simulator"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn simulator_opens_with_outputs_off() {
        let (mut hw, handle) =
            open(&HardwareConfig::default(), &SimulatorConfig::default()).unwrap();
        let handle = handle.expect("the simulator has a handle");
        assert_eq!(handle.outputs(), (HvacOutputs::OFF, MotorDrive::Off));
        hw.set_hvac(HvacOutputs {
            heat: true,
            ..HvacOutputs::OFF
        })
        .unwrap();
        assert!(handle.outputs().0.heat);
        drop(hw);
        assert_eq!(handle.outputs(), (HvacOutputs::OFF, MotorDrive::Off));
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_instance_is_refused_before_touching_anything() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("outputs");
        let hw = HardwareConfig {
            lock_file: Some(dir.path().join("hearthd.lock")),
            ..HardwareConfig::default()
        };
        let sim = SimulatorConfig {
            state_file: Some(state.clone()),
            ..SimulatorConfig::default()
        };
        let (mut first, _) = open(&hw, &sim).unwrap();
        let heat = HvacOutputs {
            heat: true,
            ..HvacOutputs::OFF
        };
        first.set_hvac(heat).unwrap();
        let Err(e) = open(&hw, &sim) else {
            panic!("a second instance opened the hardware");
        };
        assert!(matches!(e, HardwareError::AlreadyRunning { .. }), "{e:?}");
        // The first instance's outputs are as it left them: nothing was reset or rewritten.
        assert_eq!(
            sim::state_file::read(&state).unwrap(),
            (heat, MotorDrive::Off)
        );
        drop(first);
        assert_eq!(
            sim::state_file::read(&state).unwrap(),
            (HvacOutputs::OFF, MotorDrive::Off)
        );
        open(&hw, &sim).expect("the lock is free once the first instance is gone");
    }
}
