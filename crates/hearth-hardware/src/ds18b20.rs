//! The DS18B20 1-Wire temperature sensor, read through the kernel's `w1_slave` sysfs file.
//!
//! Parsing is pure and tested against recorded files. A reading is accepted only when the
//! kernel says the CRC matched ("YES"), the scratchpad's own CRC checks out here too, the
//! device is not returning an empty bus (all 00 / all FF), and the value is not the 85 °C
//! power-on value. This module must never write to sysfs.

use crate::ClimateSensor;
use crate::error::SensorError;
use hearth_model::ClimateReading;
use std::path::{Path, PathBuf};

/// Where the kernel lists 1-Wire devices.
pub const W1_DEVICES: &str = "/sys/bus/w1/devices";

const SENSOR: &str = "DS18B20";
/// The family code prefix of DS18B20 device directories.
const FAMILY_PREFIX: &str = "28-";
/// Millidegrees the sensor holds in its scratchpad after power-on, before a conversion.
const POWER_ON_MILLIDEGREES: i64 = 85_000;
const RANGE_MILLIDEGREES: std::ops::RangeInclusive<i64> = -55_000..=125_000;

/// Dallas/Maxim CRC-8 (polynomial x⁸+x⁵+x⁴+1, reflected, initial 0) as the DS18B20 uses it.
pub fn maxim_crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8C
            } else {
                crc >> 1
            };
        }
        crc
    })
}

/// Parse the contents of a `w1_slave` file into degrees Celsius.
///
/// ```text
/// 72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
/// 72 01 4b 46 7f ff 0e 10 57 t=23125
/// ```
pub fn parse_w1_slave(text: &str) -> Result<f64, SensorError> {
    let mut lines = text.lines();
    let (Some(crc_line), Some(temp_line)) = (lines.next(), lines.next()) else {
        return Err(malformed(format!("expected two lines, got {:?}", text)));
    };
    let (bytes_part, status) = crc_line
        .split_once(':')
        .ok_or_else(|| malformed(format!("no `: crc=` in {crc_line:?}")))?;
    let bytes = parse_scratchpad(bytes_part)?;
    if let Some(&first) = bytes.first()
        && (first == 0x00 || first == 0xFF)
        && bytes.iter().all(|&b| b == first)
    {
        return Err(SensorError::Unplugged { pattern: first });
    }
    let verdict = status.split_whitespace().last().unwrap_or("");
    if verdict != "YES" {
        return Err(SensorError::CrcMismatch {
            sensor: SENSOR,
            detail: format!("the kernel reported {:?}", status.trim()),
        });
    }
    let computed = maxim_crc8(&bytes[..8]);
    if computed != bytes[8] {
        return Err(SensorError::CrcMismatch {
            sensor: SENSOR,
            detail: format!(
                "scratchpad CRC is {:#04x}, computed {computed:#04x}",
                bytes[8]
            ),
        });
    }
    let millis: i64 = temp_line
        .rsplit_once("t=")
        .and_then(|(_, t)| t.trim().parse().ok())
        .ok_or_else(|| malformed(format!("no `t=<millidegrees>` in {temp_line:?}")))?;
    if millis == POWER_ON_MILLIDEGREES {
        return Err(SensorError::PowerOnValue);
    }
    if !RANGE_MILLIDEGREES.contains(&millis) {
        return Err(SensorError::OutOfRange {
            sensor: SENSOR,
            value: millis as f64 / 1000.0,
        });
    }
    Ok(millis as f64 / 1000.0)
}

fn parse_scratchpad(s: &str) -> Result<[u8; 9], SensorError> {
    let parsed: Result<Vec<u8>, _> = s
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16))
        .collect();
    let bytes = parsed.map_err(|_| malformed(format!("scratchpad {s:?} is not hex bytes")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| malformed(format!("scratchpad has {} bytes, expected 9", b.len())))
}

fn malformed(detail: String) -> SensorError {
    SensorError::Malformed {
        sensor: SENSOR,
        detail,
    }
}

/// A DS18B20 under the w1 sysfs tree.
#[derive(Debug, Clone)]
pub struct Ds18b20 {
    devices: PathBuf,
    device: Option<String>,
}

impl Ds18b20 {
    /// `device` is a directory name like `28-0000075a1234`; `None` picks the only one present
    /// at each read, so a replaced sensor is found without a config change.
    pub fn new(devices: impl Into<PathBuf>, device: Option<String>) -> Self {
        Self {
            devices: devices.into(),
            device,
        }
    }

    fn device_dir(&self) -> Result<PathBuf, SensorError> {
        if let Some(d) = &self.device {
            return Ok(self.devices.join(d));
        }
        let missing = || SensorError::Missing {
            path: format!("{}/{FAMILY_PREFIX}*", self.devices.display()),
        };
        let entries = std::fs::read_dir(&self.devices).map_err(|_| missing())?;
        let mut found: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(FAMILY_PREFIX))
            .collect();
        found.sort();
        match found.len() {
            0 => Err(missing()),
            1 => Ok(self.devices.join(&found[0])),
            _ => Err(SensorError::Ambiguous {
                dir: self.devices.display().to_string(),
                found: found.join(", "),
            }),
        }
    }

    /// Read and check one temperature. Blocks for the sensor's conversion (~750 ms).
    pub fn read_celsius(&self) -> Result<f64, SensorError> {
        let file = self.device_dir()?.join("w1_slave");
        read_file(&file).and_then(|text| parse_w1_slave(&text))
    }
}

fn read_file(path: &Path) -> Result<String, SensorError> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SensorError::Missing {
            path: path.display().to_string(),
        },
        _ => SensorError::NoResponse {
            sensor: SENSOR,
            detail: format!("reading {}: {e}", path.display()),
        },
    })
}

impl ClimateSensor for Ds18b20 {
    fn read(&mut self) -> Result<ClimateReading, SensorError> {
        Ok(ClimateReading {
            temperature: self.read_celsius()?,
            humidity: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded `w1_slave` files (Raspberry Pi OS, kernel w1_therm).
    const GOOD: &str =
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";
    const NEGATIVE: &str =
        "5e ff 4b 46 7f ff 02 10 b6 : crc=b6 YES\n5e ff 4b 46 7f ff 02 10 b6 t=-10125\n";
    const CRC_FAIL: &str =
        "72 01 4b 46 7f ff 0e 10 57 : crc=5b NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";
    const POWER_ON: &str =
        "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n";
    const ALL_ZERO: &str =
        "00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n";
    const ALL_FF: &str =
        "ff ff ff ff ff ff ff ff ff : crc=c9 NO\nff ff ff ff ff ff ff ff ff t=-62\n";

    #[test]
    fn crc_matches_the_datasheet_example() {
        assert_eq!(
            maxim_crc8(&[0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10]),
            0x57
        );
    }

    #[test]
    fn good_files_parse() {
        assert_eq!(parse_w1_slave(GOOD), Ok(23.125));
        assert_eq!(parse_w1_slave(NEGATIVE), Ok(-10.125));
    }

    #[test]
    fn kernel_crc_failure_is_rejected() {
        let e = parse_w1_slave(CRC_FAIL).unwrap_err();
        assert!(matches!(e, SensorError::CrcMismatch { .. }), "{e:?}");
        assert!(e.to_string().contains("NO"), "{e}");
    }

    #[test]
    fn a_yes_with_a_bad_scratchpad_crc_is_still_rejected() {
        let forged = GOOD.replace("10 57 :", "10 58 :");
        let e = parse_w1_slave(&forged).unwrap_err();
        assert!(matches!(e, SensorError::CrcMismatch { .. }), "{e:?}");
    }

    #[test]
    fn power_on_85_is_rejected() {
        assert_eq!(parse_w1_slave(POWER_ON), Err(SensorError::PowerOnValue));
    }

    #[test]
    fn unplugged_sensor_patterns_are_rejected() {
        // All zeros passes the CRC (0 over zeros is 0), so it must be caught by shape.
        assert_eq!(
            parse_w1_slave(ALL_ZERO),
            Err(SensorError::Unplugged { pattern: 0 })
        );
        assert_eq!(
            parse_w1_slave(ALL_FF),
            Err(SensorError::Unplugged { pattern: 0xff })
        );
    }

    #[test]
    fn truncated_and_garbled_files_are_malformed() {
        for text in [
            "",
            "72 01 4b : crc=57 YES\n",
            "zz : crc=57 YES\nt=1\n",
            &GOOD.replace("t=", "x="),
        ] {
            let e = parse_w1_slave(text).unwrap_err();
            assert!(
                matches!(e, SensorError::Malformed { .. }),
                "{text:?}: {e:?}"
            );
        }
    }

    fn tree_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (dev, content) in files {
            std::fs::create_dir_all(dir.path().join(dev)).unwrap();
            std::fs::write(dir.path().join(dev).join("w1_slave"), content).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("w1_bus_master1")).unwrap();
        dir
    }

    #[test]
    fn reads_the_only_sensor_present() {
        let dir = tree_with(&[("28-0000075a1234", GOOD)]);
        let mut s = Ds18b20::new(dir.path(), None);
        assert_eq!(
            s.read(),
            Ok(ClimateReading {
                temperature: 23.125,
                humidity: None
            })
        );
    }

    #[test]
    fn missing_sensor_says_where_it_looked() {
        let dir = tree_with(&[]);
        let e = Ds18b20::new(dir.path(), None).read_celsius().unwrap_err();
        assert!(matches!(e, SensorError::Missing { .. }), "{e:?}");
        let e = Ds18b20::new(dir.path(), Some("28-00000000beef".into()))
            .read_celsius()
            .unwrap_err();
        assert!(e.to_string().contains("28-00000000beef"), "{e}");
    }

    #[test]
    fn two_sensors_need_a_device_name() {
        let dir = tree_with(&[("28-aaaa", GOOD), ("28-bbbb", NEGATIVE)]);
        let e = Ds18b20::new(dir.path(), None).read_celsius().unwrap_err();
        assert!(e.to_string().contains("28-aaaa, 28-bbbb"), "{e}");
        let s = Ds18b20::new(dir.path(), Some("28-bbbb".into()));
        assert_eq!(s.read_celsius(), Ok(-10.125));
    }
}
