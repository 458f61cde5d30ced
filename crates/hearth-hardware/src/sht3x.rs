//! The Sensirion SHT3x temperature and humidity sensor over I2C: single-shot measurement,
//! CRC-8 checked.
//!
//! The measurement sequence is written against the small [`I2cBus`] trait so it is tested
//! with recorded frames; the rppal implementation of that trait lives in `rpi.rs`. This
//! module must never open a bus itself.

use crate::ClimateSensor;
use crate::error::SensorError;
use hearth_model::ClimateReading;
use std::time::Duration;

/// The SHT3x address with its ADDR pin low.
pub const DEFAULT_ADDRESS: u16 = 0x44;
/// Single shot, high repeatability, clock stretching off: the Pi's I2C controller mishandles
/// clock stretching, so hearth waits and then reads.
pub const MEASURE_HIGH_REPEATABILITY: [u8; 2] = [0x24, 0x00];
/// The datasheet's maximum for a high-repeatability measurement (15.5 ms), rounded up.
pub const MEASUREMENT_TIME: Duration = Duration::from_millis(16);

const SENSOR: &str = "SHT3x";

/// Sensirion CRC-8: polynomial 0x31, initial 0xFF, no reflection.
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0xFFu8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x31
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// Decode a measurement frame: temperature MSB, LSB, CRC, humidity MSB, LSB, CRC.
pub fn parse_frame(frame: &[u8; 6]) -> Result<ClimateReading, SensorError> {
    let word = |i: usize, name: &str| -> Result<u16, SensorError> {
        let (data, crc) = (&frame[i..i + 2], frame[i + 2]);
        let computed = crc8(data);
        if computed != crc {
            return Err(SensorError::CrcMismatch {
                sensor: SENSOR,
                detail: format!("{name} word CRC is {crc:#04x}, computed {computed:#04x}"),
            });
        }
        Ok(u16::from_be_bytes([data[0], data[1]]))
    };
    let t_raw = word(0, "temperature")?;
    let rh_raw = word(3, "humidity")?;
    let temperature = -45.0 + 175.0 * f64::from(t_raw) / 65535.0;
    let humidity = 100.0 * f64::from(rh_raw) / 65535.0;
    Ok(ClimateReading {
        temperature,
        humidity: Some(humidity),
    })
}

/// The two I2C transfers the measurement needs, addressed to the sensor already.
pub trait I2cBus: Send {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;
    fn read(&mut self, buf: &mut [u8]) -> Result<(), String>;
}

/// An SHT3x on a bus.
pub struct Sht3x<B> {
    bus: B,
    wait: Duration,
}

impl<B: I2cBus> Sht3x<B> {
    pub fn new(bus: B) -> Self {
        Self {
            bus,
            wait: MEASUREMENT_TIME,
        }
    }

    /// Start one measurement, wait for it, read and check it. Blocks for ~16 ms.
    pub fn measure(&mut self) -> Result<ClimateReading, SensorError> {
        let no_answer = |what: &str, e: String| SensorError::NoResponse {
            sensor: SENSOR,
            detail: format!("{what}: {e}"),
        };
        self.bus
            .write(&MEASURE_HIGH_REPEATABILITY)
            .map_err(|e| no_answer("sending the measure command", e))?;
        if !self.wait.is_zero() {
            std::thread::sleep(self.wait);
        }
        let mut frame = [0u8; 6];
        self.bus
            .read(&mut frame)
            .map_err(|e| no_answer("reading the measurement", e))?;
        parse_frame(&frame)
    }
}

impl<B: I2cBus> ClimateSensor for Sht3x<B> {
    fn read(&mut self) -> Result<ClimateReading, SensorError> {
        self.measure()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// 25.0 °C (raw 0x6666) and 50.0 % RH (raw 0x8000), as read from a sensor.
    const GOOD: [u8; 6] = [0x66, 0x66, 0x93, 0x80, 0x00, 0xA2];

    #[test]
    fn crc_matches_the_datasheet_example() {
        assert_eq!(crc8(&[0xBE, 0xEF]), 0x92);
    }

    #[test]
    fn good_frame_decodes_temperature_and_humidity() {
        let r = parse_frame(&GOOD).unwrap();
        assert!((r.temperature - 25.0).abs() < 1e-9, "{r:?}");
        assert!((r.humidity.unwrap() - 50.0).abs() < 0.01, "{r:?}");
    }

    #[test]
    fn crc_failure_in_either_word_is_rejected() {
        let mut t_bad = GOOD;
        t_bad[1] ^= 0x01;
        let e = parse_frame(&t_bad).unwrap_err();
        assert!(e.to_string().contains("temperature word"), "{e}");
        let mut rh_bad = GOOD;
        rh_bad[5] = 0x00;
        let e = parse_frame(&rh_bad).unwrap_err();
        assert!(e.to_string().contains("humidity word"), "{e}");
        // A bus with nothing on it reads all ones.
        assert!(parse_frame(&[0xFF; 6]).is_err());
    }

    struct Recorded {
        writes: Vec<Vec<u8>>,
        reads: VecDeque<Result<[u8; 6], String>>,
    }

    impl I2cBus for Recorded {
        fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.writes.push(bytes.to_vec());
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8]) -> Result<(), String> {
            let frame = self.reads.pop_front().expect("unexpected read")?;
            buf.copy_from_slice(&frame);
            Ok(())
        }
    }

    #[test]
    fn measure_sends_single_shot_then_reads_six_bytes() {
        let bus = Recorded {
            writes: vec![],
            reads: VecDeque::from([Ok(GOOD), Err("Remote I/O error (os error 121)".into())]),
        };
        let mut s = Sht3x {
            bus,
            wait: Duration::ZERO,
        };
        assert!(s.measure().is_ok());
        assert_eq!(s.bus.writes, [vec![0x24, 0x00]]);
        let e = s.measure().unwrap_err();
        assert!(matches!(e, SensorError::NoResponse { .. }), "{e:?}");
        assert!(e.to_string().contains("os error 121"), "{e}");
    }
}
