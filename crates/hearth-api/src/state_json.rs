//! The retained state payloads on `<base>/thermostat/state` and `<base>/lock/state`.
//!
//! Their shape is a public contract (Home Assistant's discovery templates read it, and so
//! do users' scripts): keys are only ever added, never renamed or removed. Encoding only;
//! it never decides what is published or when.
//!
//! Thermostat:
//! `{"mode":"heat","fan":"auto","setpoint_heat":21.0,"setpoint_cool":25.0,
//!   "temperature":20.4,"humidity":48.0,"action":"heating","faults":[]}` —
//! `temperature`/`humidity` are `null` when unknown; temperatures in °C, humidity in %.
//!
//! Lock: `{"state":"locked","door":"closed","faults":[]}` — `state` is one of `locked`,
//! `unlocked`, `moving`, `jammed`, `unknown`; `door` is `open`, `closed` or `null` (not
//! read yet).

use hearth_model::{LockStatus, ThermostatState};
use serde::Serialize;

#[derive(Serialize)]
struct ThermostatJson<'a> {
    mode: &'a str,
    fan: &'a str,
    setpoint_heat: f64,
    setpoint_cool: f64,
    temperature: Option<f64>,
    humidity: Option<f64>,
    action: &'a str,
    faults: Vec<&'a str>,
}

#[derive(Serialize)]
struct LockJson<'a> {
    state: &'a str,
    door: Option<&'a str>,
    faults: Vec<&'a str>,
}

pub fn thermostat_state_json(s: &ThermostatState) -> Vec<u8> {
    let json = ThermostatJson {
        mode: s.mode.as_str(),
        fan: s.fan.as_str(),
        setpoint_heat: s.setpoint_heat,
        setpoint_cool: s.setpoint_cool,
        // A non-finite reading would serialize as null anyway; say so explicitly.
        temperature: s.temperature.filter(|t| t.is_finite()),
        humidity: s.humidity.filter(|h| h.is_finite()),
        action: s.action.as_str(),
        faults: s.faults.iter().map(|f| f.as_str()).collect(),
    };
    serde_json::to_vec(&json).expect("state always serializes")
}

pub fn lock_state_json(s: &LockStatus) -> Vec<u8> {
    let json = LockJson {
        state: s.state.as_str(),
        door: s.door.map(|d| d.as_str()),
        faults: s.faults.iter().map(|f| f.as_str()).collect(),
    };
    serde_json::to_vec(&json).expect("state always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{DoorState, FanMode, Fault, HvacAction, LockState, Mode};

    #[test]
    fn thermostat_shape_is_stable() {
        let s = ThermostatState {
            mode: Mode::FanOnly,
            fan: FanMode::On,
            setpoint_heat: 21.0,
            setpoint_cool: 25.5,
            temperature: Some(20.25),
            humidity: None,
            action: HvacAction::Fan,
            faults: vec![Fault::SensorTimeout],
        };
        assert_eq!(
            String::from_utf8(thermostat_state_json(&s)).unwrap(),
            r#"{"mode":"fan_only","fan":"on","setpoint_heat":21.0,"setpoint_cool":25.5,"temperature":20.25,"humidity":null,"action":"fan","faults":["sensor_timeout"]}"#
        );
    }

    #[test]
    fn lock_shape_is_stable() {
        let s = LockStatus {
            state: LockState::Jammed,
            door: Some(DoorState::Closed),
            faults: vec![Fault::LockJammed],
        };
        assert_eq!(
            String::from_utf8(lock_state_json(&s)).unwrap(),
            r#"{"state":"jammed","door":"closed","faults":["lock_jammed"]}"#
        );
        let s = LockStatus {
            state: LockState::Unknown,
            door: None,
            faults: vec![],
        };
        assert_eq!(
            String::from_utf8(lock_state_json(&s)).unwrap(),
            r#"{"state":"unknown","door":null,"faults":[]}"#
        );
    }
}
