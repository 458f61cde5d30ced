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
//! Lock: `{"state":"locked","door":"closed","faults":[],"motion":null}` — `state` is one of
//! `locked`, `unlocked`, `moving`, `jammed`, `unknown`; `door` is `open`, `closed` or `null`
//! (not read yet); `motion` is `locking` or `unlocking` while `state` is `moving`, else `null`.
//!
//! Faults (`<base>/faults/state`): `{"problem":true,"faults":["sensor_timeout"],
//! "thermostat":["sensor_timeout"],"lock":[]}` — every fault of the house, then per device.
//!
//! Refusal event (`<base>/event/refusal`, not retained): `{"event_type":"refused",
//! "target":"lock","client":"home_assistant","code":"wrong_code","message":"…"}`.

use hearth_model::{Fault, HouseState, LockAction, LockStatus, ThermostatState};
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
    motion: Option<&'a str>,
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
        motion: s.motion.map(|m| match m {
            LockAction::Lock => "locking",
            LockAction::Unlock => "unlocking",
        }),
    };
    serde_json::to_vec(&json).expect("state always serializes")
}

/// The retained faults payload: all faults, then the thermostat's and the lock's.
pub fn faults_json(s: &HouseState) -> Vec<u8> {
    let names = |f: &[Fault]| f.iter().map(|f| f.as_str()).collect::<Vec<_>>();
    let thermostat = names(&s.thermostat.faults);
    let lock = names(&s.lock.faults);
    let all: Vec<&str> = thermostat.iter().chain(lock.iter()).copied().collect();
    let json = serde_json::json!({
        "problem": !all.is_empty(),
        "faults": all,
        "thermostat": thermostat,
        "lock": lock,
    });
    serde_json::to_vec(&json).expect("faults always serialize")
}

/// The `event_type` of every refusal event.
pub const REFUSAL_EVENT_TYPE: &str = "refused";

/// One refusal event: which device, which client (when it said), and the reply's code and
/// message. The message never carries a code or signature the client sent.
pub fn refusal_event_json(
    target: &str,
    client: Option<&str>,
    code: &str,
    message: &str,
) -> Vec<u8> {
    let json = serde_json::json!({
        "event_type": REFUSAL_EVENT_TYPE,
        "target": target,
        "client": client,
        "code": code,
        "message": message,
    });
    serde_json::to_vec(&json).expect("events always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{DoorState, FanMode, HvacAction, LockState, Mode};

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
            motion: None,
        };
        assert_eq!(
            String::from_utf8(lock_state_json(&s)).unwrap(),
            r#"{"state":"jammed","door":"closed","faults":["lock_jammed"],"motion":null}"#
        );
        let s = LockStatus {
            state: LockState::Unknown,
            door: None,
            faults: vec![],
            motion: None,
        };
        assert_eq!(
            String::from_utf8(lock_state_json(&s)).unwrap(),
            r#"{"state":"unknown","door":null,"faults":[],"motion":null}"#
        );
        let s = LockStatus {
            state: LockState::Moving,
            door: Some(DoorState::Closed),
            faults: vec![],
            motion: Some(LockAction::Unlock),
        };
        assert!(
            String::from_utf8(lock_state_json(&s))
                .unwrap()
                .ends_with(r#""motion":"unlocking"}"#)
        );
    }

    #[test]
    fn faults_gather_both_devices() {
        let thermostat = ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 24.0,
            temperature: None,
            humidity: None,
            action: HvacAction::Idle,
            faults: vec![Fault::SensorTimeout],
        };
        let lock = LockStatus {
            state: LockState::Jammed,
            door: None,
            faults: vec![Fault::LockJammed],
            motion: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&faults_json(&HouseState {
            thermostat: thermostat.clone(),
            lock: lock.clone(),
        }))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"problem":true,"faults":["sensor_timeout","lock_jammed"],
                "thermostat":["sensor_timeout"],"lock":["lock_jammed"]})
        );
        let quiet = HouseState {
            thermostat: ThermostatState {
                faults: vec![],
                ..thermostat
            },
            lock: LockStatus {
                faults: vec![],
                ..lock
            },
        };
        let v: serde_json::Value = serde_json::from_slice(&faults_json(&quiet)).unwrap();
        assert_eq!(v["problem"], false);
        let e: serde_json::Value =
            serde_json::from_slice(&refusal_event_json("lock", None, "door_open", "shut it"))
                .unwrap();
        assert_eq!(
            e,
            serde_json::json!({"event_type":"refused","target":"lock","client":null,
                "code":"door_open","message":"shut it"})
        );
    }
}
