//! Helpers shared by the policy's integration tests: house states, clocks and policies
//! from TOML. Test support only; nothing here may be used to build an `Outbound`.
#![allow(dead_code)]

use hearth_model::{
    DoorState, FanMode, HouseState, HvacAction, LockState, LockStatus, Mode, ThermostatState,
    UnixMillis,
};
use hearth_policy::{Format, Now, Policy, PolicyConfig};
use std::time::{Duration, Instant};

pub fn house(temp: f64, lock: LockState) -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 26.0,
            temperature: Some(temp),
            humidity: Some(41.0),
            action: HvacAction::Heating,
            faults: Vec::new(),
        },
        lock: LockStatus {
            state: lock,
            door: Some(DoorState::Closed),
            faults: Vec::new(),
            motion: None,
        },
    }
}

/// A test clock: wall time from an RFC 3339 string, monotonic time from a fixed base.
pub struct Clock {
    base_wall: UnixMillis,
    base_mono: Instant,
    pub offset_minutes: i32,
}

impl Clock {
    pub fn at(rfc3339: &str) -> Self {
        Self {
            base_wall: UnixMillis::parse_rfc3339(rfc3339).unwrap(),
            base_mono: Instant::now(),
            offset_minutes: 0,
        }
    }

    /// The moment `secs` seconds after the start.
    pub fn after(&self, secs: u64) -> Now {
        self.after_d(Duration::from_secs(secs))
    }

    pub fn after_d(&self, d: Duration) -> Now {
        Now {
            wall: self.base_wall.saturating_add(d),
            mono: self.base_mono + d,
            utc_offset_minutes: self.offset_minutes,
        }
    }

    pub fn mono(&self, secs: u64) -> Instant {
        self.base_mono + Duration::from_secs(secs)
    }
}

pub fn config(toml_text: &str) -> PolicyConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("test policy does not parse: {e}"))
}

pub fn policy(format: Format, toml_text: &str) -> Policy {
    Policy::new("test-cloud", format, &config(toml_text))
        .unwrap_or_else(|issues| panic!("test policy is invalid: {issues:?}"))
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("payloads are JSON")
}
