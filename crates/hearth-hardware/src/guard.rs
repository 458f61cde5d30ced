//! The outputs-off guard: hardware wrapped so that dropping it — at normal exit, when the
//! poller ends, or while a panic unwinds — drives every relay and the lock motor OFF.
//!
//! It forwards every call unchanged and must never add behaviour besides the final OFF.
//! (It cannot help when the process is killed with SIGKILL or `process::exit` skips drops.)

use crate::instance::InstanceLock;
use crate::{Hardware, HardwareError, SensorError, SharedSensor};
use hearth_model::{ClimateReading, HvacOutputs, LockInputs, MotorDrive};
use std::sync::Arc;
use tokio::sync::Notify;

/// Drives all outputs OFF when dropped.
pub struct OutputsOffGuard<H: Hardware> {
    inner: H,
    /// Released only after the outputs were driven OFF and the hardware let go (fields drop
    /// after `Drop::drop`, in order), so a next instance never finds them on.
    _lock: Option<InstanceLock>,
}

impl<H: Hardware> OutputsOffGuard<H> {
    #[cfg(test)]
    pub fn new(inner: H) -> Self {
        Self { inner, _lock: None }
    }

    /// Guard hardware opened under the single-instance lock, and hold the lock with it.
    pub fn with_lock(inner: H, lock: Option<InstanceLock>) -> Self {
        Self { inner, _lock: lock }
    }
}

impl<H: Hardware> Drop for OutputsOffGuard<H> {
    fn drop(&mut self) {
        match self.inner.all_off() {
            Ok(()) => tracing::debug!("hardware released with all outputs off"),
            Err(e) => tracing::error!("could not drive every output off on release: {e}"),
        }
    }
}

impl<H: Hardware> Hardware for OutputsOffGuard<H> {
    fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
        self.inner.read_climate()
    }
    fn read_inputs(&mut self) -> Result<LockInputs, HardwareError> {
        self.inner.read_inputs()
    }
    fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError> {
        self.inner.set_hvac(out)
    }
    fn set_motor(&mut self, drive: MotorDrive) -> Result<(), HardwareError> {
        self.inner.set_motor(drive)
    }
    fn edge_notify(&self) -> Option<Arc<Notify>> {
        self.inner.edge_notify()
    }
    fn slow_sensor(&self) -> Option<SharedSensor> {
        self.inner.slow_sensor()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What a fake saw, in order.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(crate) enum Call {
        Hvac(HvacOutputs),
        Motor(MotorDrive),
    }

    /// A fake that records every output call; inputs and climate are settable.
    #[derive(Clone, Default)]
    pub(crate) struct Recording {
        pub calls: Arc<Mutex<Vec<Call>>>,
        pub inputs: Arc<Mutex<Option<LockInputs>>>,
        pub climate: Arc<Mutex<Option<ClimateReading>>>,
        pub notify: Option<Arc<Notify>>,
        pub slow: Option<SharedSensor>,
        pub fail_hvac: bool,
        /// Every motor write other than OFF fails with a write error.
        pub fail_motor: bool,
    }

    impl Recording {
        pub fn calls(&self) -> Vec<Call> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Hardware for Recording {
        fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
            (*self.climate.lock().unwrap()).ok_or(SensorError::NoResponse {
                sensor: "fake",
                detail: "nothing set".into(),
            })
        }
        fn read_inputs(&mut self) -> Result<LockInputs, HardwareError> {
            Ok(self.inputs.lock().unwrap().unwrap_or(LockInputs {
                bolt_locked: true,
                bolt_unlocked: false,
                door_open: false,
            }))
        }
        fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError> {
            self.calls.lock().unwrap().push(Call::Hvac(out));
            if self.fail_hvac {
                return Err(HardwareError::Interlock);
            }
            Ok(())
        }
        fn set_motor(&mut self, drive: MotorDrive) -> Result<(), HardwareError> {
            self.calls.lock().unwrap().push(Call::Motor(drive));
            if self.fail_motor && drive != MotorDrive::Off {
                return Err(HardwareError::Pin {
                    key: "hardware.motor.lock".into(),
                    pin: 23,
                    detail: "write failed".into(),
                });
            }
            Ok(())
        }
        fn edge_notify(&self) -> Option<Arc<Notify>> {
            self.notify.clone()
        }
        fn slow_sensor(&self) -> Option<SharedSensor> {
            self.slow.clone()
        }
    }

    const HEAT: HvacOutputs = HvacOutputs {
        heat: true,
        cool: false,
        fan: true,
    };

    #[test]
    fn drop_drives_everything_off() {
        let fake = Recording::default();
        let mut hw = OutputsOffGuard::new(fake.clone());
        hw.set_hvac(HEAT).unwrap();
        hw.set_motor(MotorDrive::Locking).unwrap();
        drop(hw);
        assert_eq!(
            fake.calls(),
            [
                Call::Hvac(HEAT),
                Call::Motor(MotorDrive::Locking),
                Call::Hvac(HvacOutputs::OFF),
                Call::Motor(MotorDrive::Off)
            ]
        );
    }

    #[test]
    fn a_panic_unwinding_past_the_guard_drives_everything_off() {
        let fake = Recording::default();
        let inner = fake.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let mut hw = OutputsOffGuard::new(inner);
            hw.set_hvac(HEAT).unwrap();
            panic!("controller bug");
        }));
        assert!(result.is_err());
        assert_eq!(
            fake.calls()[1..],
            [Call::Hvac(HvacOutputs::OFF), Call::Motor(MotorDrive::Off)]
        );
    }

    #[test]
    fn the_motor_is_stopped_even_when_the_relays_fail() {
        let fake = Recording {
            fail_hvac: true,
            ..Recording::default()
        };
        drop(OutputsOffGuard::new(fake.clone()));
        assert_eq!(
            fake.calls(),
            [Call::Hvac(HvacOutputs::OFF), Call::Motor(MotorDrive::Off)]
        );
    }
}
