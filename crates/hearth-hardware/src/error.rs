//! The two error types of the hardware layer: a sensor that gave no valid reading, and
//! hardware that could not be opened or driven.
//!
//! Messages name what was wrong, where (file, pin, config key) and what to do. Nothing here
//! touches hardware; it must never hold an `io::Error` by value, so readings stay `Clone`.

use hearth_model::ConfigIssue;

/// Why the temperature sensor gave no valid reading this time. The reading is discarded;
/// the controller decides what a run of these means (`sensor_timeout`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SensorError {
    #[error(
        "temperature sensor not found at {path}: check its wiring and that the 1-Wire overlay \
         (dtoverlay=w1-gpio) is enabled, or name the device in hardware.sensor.device"
    )]
    Missing { path: String },

    #[error(
        "several DS18B20 sensors found under {dir} ({found}); choose one with hardware.sensor.device"
    )]
    Ambiguous { dir: String, found: String },

    #[error(
        "{sensor} reading failed its CRC check ({detail}); the reading was discarded — \
         a loose wire, a missing pull-up or a long cable usually causes this"
    )]
    CrcMismatch {
        sensor: &'static str,
        detail: String,
    },

    #[error(
        "DS18B20 reported 85.000 °C, its power-on value: the sensor reset or lost power during \
         the conversion; the reading was discarded (check the 3.3 V supply and the pull-up)"
    )]
    PowerOnValue,

    #[error(
        "DS18B20 returned an empty scratchpad (all bytes {pattern:#04x}): the sensor is unplugged \
         or its data line is shorted"
    )]
    Unplugged { pattern: u8 },

    #[error("{sensor} reported {value} °C, outside its measuring range; the reading was discarded")]
    OutOfRange { sensor: &'static str, value: f64 },

    #[error("{sensor} gave a malformed reading: {detail}")]
    Malformed {
        sensor: &'static str,
        detail: String,
    },

    #[error("{sensor} did not answer: {detail}")]
    NoResponse {
        sensor: &'static str,
        detail: String,
    },
}

/// Hardware that could not be opened or driven.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HardwareError {
    #[error("the hardware configuration is invalid:\n{}", list(.0))]
    InvalidConfig(Vec<ConfigIssue>),

    #[error(
        "cannot open the Raspberry Pi GPIO ({detail}); run hearthd on a Raspberry Pi as a user \
         in the `gpio` group, or set hardware.backend = \"simulator\" to run without one"
    )]
    NoGpio { detail: String },

    #[error("cannot claim BCM pin {pin} for {key}: {detail}")]
    Pin {
        key: String,
        pin: u8,
        detail: String,
    },

    #[error(
        "cannot open I2C bus {bus} for the SHT3x at address {address:#04x} ({detail}); enable I2C \
         (dtparam=i2c_arm=on) and check hardware.sensor.bus and hardware.sensor.address"
    )]
    I2c {
        bus: u8,
        address: u16,
        detail: String,
    },

    #[error(
        "asked to switch on {what}, but {key} is not configured; wire it and add it to the \
         config, or keep the controller from using it"
    )]
    NotWired {
        what: &'static str,
        key: &'static str,
    },

    #[error(
        "refused to switch heat and cool on together (interlock); both were driven off — this is \
         a bug in the controller"
    )]
    Interlock,
    #[error(
        "another hearthd holds {path} ({holder}) and owns the hardware; this one stops without \
         touching any pin — stop the other one first (`systemctl stop hearthd`)"
    )]
    AlreadyRunning { path: String, holder: String },

    #[error("cannot lock {path} to make sure only one hearthd runs: {detail}")]
    LockFile { path: String, detail: String },

    #[error(
        "could not set {what} after {attempts} attempts: {detail}; hearth stops so systemd \
         restarts it and its stop command drives every output off"
    )]
    OutputWrite {
        what: &'static str,
        attempts: u32,
        detail: String,
    },

    #[error("cannot write the simulator's state file {path}: {detail}")]
    StateFile { path: String, detail: String },
}

fn list(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}
