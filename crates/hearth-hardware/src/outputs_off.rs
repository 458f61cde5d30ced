//! `hearthd outputs-off`: every configured output driven to its OFF level by a process of its
//! own. The systemd unit runs it after every exit of the daemon (`ExecStopPost=`), so a
//! SIGKILL, a watchdog abort, an OOM kill or a double panic — none of which runs a destructor —
//! still ends with the heat relay and the lock motor off.
//!
//! It takes the single-instance lock first: while a daemon runs, that daemon owns the pins and
//! this refuses. It claims outputs only (never an input, pull resistor or the sensor), each at
//! its OFF level, and leaves them driven there.

use crate::config::{Backend, HardwareConfig};
use crate::instance::InstanceLock;
use crate::wiring::OutputLine;
use crate::{HardwareError, SimulatorConfig};
use hearth_model::{HvacOutputs, MotorDrive};
use std::path::PathBuf;

/// One output and the electrical level that means OFF for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffLevel {
    pub key: &'static str,
    pub pin: u8,
    /// `true`: OFF is electrically high (an active-low relay board).
    pub high: bool,
}

/// What `outputs-off` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffReport {
    /// These GPIO outputs were claimed and driven to OFF.
    Pins(Vec<OffLevel>),
    /// The simulator's state file now says every output is off.
    SimulatorStateFile(PathBuf),
    /// The simulator without a state file keeps no outputs outside a running hearthd.
    Nothing,
}

/// The OFF level of every configured output: relays, motor directions and the solenoid coil
/// (de-energised). Outputs the config does not name are not touched.
pub fn off_levels(cfg: &HardwareConfig) -> Vec<OffLevel> {
    cfg.output_entries()
        .into_iter()
        .map(|(key, (pin, active))| OffLevel {
            key,
            pin,
            high: active.level_for(false),
        })
        .collect()
}

/// Claim each output through `claim` (which opens it already at the given level) and write
/// the OFF level once more. Every output is tried even when one fails; the first error wins.
pub fn drive_off<O: OutputLine>(
    levels: &[OffLevel],
    mut claim: impl FnMut(&OffLevel) -> Result<O, HardwareError>,
) -> Result<Vec<O>, HardwareError> {
    let mut lines = Vec::new();
    let mut first_error = None;
    for level in levels {
        match claim(level) {
            Ok(mut line) => {
                line.write(level.high);
                lines.push(line);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(lines), Err)
}

/// Validate the config, take the single-instance lock, and drive every output OFF.
pub fn outputs_off(hw: &HardwareConfig, sim: &SimulatorConfig) -> Result<OffReport, HardwareError> {
    let mut issues = hw.validate();
    if hw.backend == Backend::Simulator {
        issues.extend(sim.validate());
    }
    if !issues.is_empty() {
        return Err(HardwareError::InvalidConfig(issues));
    }
    let _lock = crate::instance::lock_path(hw)
        .map(|path| InstanceLock::acquire(&path))
        .transpose()?;
    match hw.backend {
        Backend::Simulator => match &sim.state_file {
            Some(path) => {
                crate::sim::state_file::write(path, HvacOutputs::OFF, MotorDrive::Off).map_err(
                    |e| HardwareError::StateFile {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    },
                )?;
                Ok(OffReport::SimulatorStateFile(path.clone()))
            }
            None => Ok(OffReport::Nothing),
        },
        Backend::RaspberryPi => {
            let levels = off_levels(hw);
            crate::rpi::outputs_off(&levels)?;
            Ok(OffReport::Pins(levels))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A fake GPIO line recording every level written to its pin.
    struct Line {
        pin: u8,
        log: Arc<Mutex<Vec<(u8, bool)>>>,
    }

    impl OutputLine for Line {
        fn write(&mut self, high: bool) {
            self.log.lock().unwrap().push((self.pin, high));
        }
    }

    fn pi(text: &str) -> HardwareConfig {
        toml::from_str(text).unwrap()
    }

    const MAP: &str = "backend = \"raspberry_pi\"\n[sensor]\nkind = \"ds18b20\"\n\
        [outputs]\nheat = { pin = 17, active = \"low\" }\ncool = { pin = 27, active = \"high\" }\n\
        [motor]\nlock = { pin = 23, active = \"high\" }\nunlock = { pin = 24, active = \"low\" }\n\
        [inputs]\ndoor = { pin = 22, active = \"high\" }";

    #[test]
    fn every_output_goes_to_its_off_level_and_no_input_is_claimed() {
        let cfg = pi(MAP);
        let levels = off_levels(&cfg);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut claimed = Vec::new();
        let lines = drive_off(&levels, |l| {
            claimed.push((l.pin, l.high));
            Ok(Line {
                pin: l.pin,
                log: log.clone(),
            })
        })
        .unwrap();
        assert_eq!(lines.len(), 4);
        // Active-low outputs rest high, active-high ones low; pin 22 (an input) is untouched.
        let want = [(17, true), (27, false), (23, false), (24, true)];
        assert_eq!(claimed, want);
        assert_eq!(*log.lock().unwrap(), want);
    }

    #[test]
    fn a_solenoid_is_released() {
        let cfg = pi("backend = \"raspberry_pi\"\n[sensor]\nkind = \"ds18b20\"\n\
            [motor]\nsolenoid = { pin = 5, active = \"low\", energize_to = \"lock\" }");
        assert_eq!(
            off_levels(&cfg),
            [OffLevel {
                key: "hardware.motor.solenoid",
                pin: 5,
                high: true
            }]
        );
    }

    #[test]
    fn one_failing_pin_does_not_stop_the_others() {
        let levels = off_levels(&pi(MAP));
        let log = Arc::new(Mutex::new(Vec::new()));
        let e = drive_off(&levels, |l| {
            if l.pin == 17 {
                return Err(HardwareError::Pin {
                    key: l.key.into(),
                    pin: 17,
                    detail: "busy".into(),
                });
            }
            Ok(Line {
                pin: l.pin,
                log: log.clone(),
            })
        })
        .map(|_| ())
        .unwrap_err();
        assert!(e.to_string().contains("17"), "{e}");
        assert_eq!(
            log.lock().unwrap().len(),
            3,
            "the three other outputs were still driven"
        );
    }

    #[test]
    fn the_simulator_state_file_is_switched_off_and_a_running_daemon_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("outputs");
        let lock = dir.path().join("hearthd.lock");
        let heat = HvacOutputs {
            heat: true,
            cool: false,
            fan: true,
        };
        crate::sim::state_file::write(&state, heat, MotorDrive::Locking).unwrap();
        let hw = HardwareConfig {
            lock_file: Some(lock.clone()),
            ..HardwareConfig::default()
        };
        let sim = SimulatorConfig {
            state_file: Some(state.clone()),
            ..SimulatorConfig::default()
        };
        let held = InstanceLock::acquire(&lock).unwrap();
        let refused = outputs_off(&hw, &sim).unwrap_err();
        assert!(
            matches!(refused, HardwareError::AlreadyRunning { .. }),
            "{refused:?}"
        );
        assert_eq!(
            crate::sim::state_file::read(&state).unwrap(),
            (heat, MotorDrive::Locking)
        );
        drop(held);
        assert_eq!(
            outputs_off(&hw, &sim).unwrap(),
            OffReport::SimulatorStateFile(state.clone())
        );
        assert_eq!(
            crate::sim::state_file::read(&state).unwrap(),
            (HvacOutputs::OFF, MotorDrive::Off)
        );
    }
}
