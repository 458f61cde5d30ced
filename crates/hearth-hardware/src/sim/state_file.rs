//! The simulator's outputs mirrored to a file (`[simulator] state_file`): what the relays
//! and the lock motor would be doing, readable by another process after hearthd is gone.
//!
//! It is the simulator's stand-in for GPIO levels that outlive the process: a test can
//! SIGKILL the daemon with the heat on, run `hearthd outputs-off`, and read the outputs off.
//! Written atomically (temp file + rename), so a reader never sees half a file.

use hearth_model::{HvacOutputs, MotorDrive};
use std::path::Path;

/// Write the outputs to `path`, replacing it atomically.
pub fn write(path: &Path, hvac: HvacOutputs, motor: MotorDrive) -> std::io::Result<()> {
    let text = format!(
        "heat={}\ncool={}\nfan={}\nmotor={}\n",
        hvac.heat,
        hvac.cool,
        hvac.fan,
        motor_name(motor)
    );
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Read what [`write`] wrote.
pub fn read(path: &Path) -> Result<(HvacOutputs, MotorDrive), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hvac = HvacOutputs::OFF;
    let mut motor = None;
    for line in text.lines() {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("{}: bad line `{line}`", path.display()))?;
        let flag = || value.parse::<bool>().map_err(|e| format!("{key}: {e}"));
        match key {
            "heat" => hvac.heat = flag()?,
            "cool" => hvac.cool = flag()?,
            "fan" => hvac.fan = flag()?,
            "motor" => {
                motor = Some(match value {
                    "off" => MotorDrive::Off,
                    "locking" => MotorDrive::Locking,
                    "unlocking" => MotorDrive::Unlocking,
                    other => return Err(format!("motor: unknown drive `{other}`")),
                })
            }
            other => return Err(format!("unknown key `{other}`")),
        }
    }
    Ok((hvac, motor.ok_or("no motor line")?))
}

fn motor_name(m: MotorDrive) -> &'static str {
    match m {
        MotorDrive::Off => "off",
        MotorDrive::Locking => "locking",
        MotorDrive::Unlocking => "unlocking",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs");
        let heat = HvacOutputs {
            heat: true,
            cool: false,
            fan: true,
        };
        write(&path, heat, MotorDrive::Unlocking).unwrap();
        assert_eq!(read(&path).unwrap(), (heat, MotorDrive::Unlocking));
        write(&path, HvacOutputs::OFF, MotorDrive::Off).unwrap();
        assert_eq!(read(&path).unwrap(), (HvacOutputs::OFF, MotorDrive::Off));
    }
}
