//! Command directives in all three formats and the checks on error replies, for the no-leak
//! property test: every refusal a cloud can get must be a fixed code with a fixed sentence,
//! and a code that names a field's state only when that field is shared.
#![allow(dead_code)]

use hearth_model::{Field, HouseState};
use hearth_policy::pin::PinHash;
use hearth_policy::{CloudError, CommandError, CommandErrorCode, Format, PinConfig};
use proptest::prelude::*;
use serde_json::{Value as J, json};

/// The voice PIN of the generated policies.
pub const PIN: &str = "1234";
/// Words that must never reach a cloud: a household member, another cloud, house values
/// spelled the way refusal messages spell them.
pub const SENTINELS: [&str; 5] = [
    "alice",
    "neighbour-cloud",
    "lock.door =",
    "setpoint_heat",
    "mode off",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmd {
    Lock,
    Unlock(bool),
    Target(f64),
    Delta(f64),
    Range(f64, f64),
    Mode(&'static str),
    DuplicateKey,
    UnknownDevice,
}

fn alexa(ns: &str, name: &str, endpoint: &str, id: &str, payload: J) -> Vec<u8> {
    serde_json::to_vec(&json!({"directive": {
        "header": {"namespace": ns, "name": name, "payloadVersion": "3", "messageId": id, "correlationToken": "ct"},
        "endpoint": {"endpointId": endpoint}, "payload": payload}}))
    .unwrap()
}

fn google(id: &str, device: &str, command: &str, params: J, pin: bool) -> Vec<u8> {
    let mut exec =
        json!({"command": format!("action.devices.commands.{command}"), "params": params});
    if pin {
        exec["challenge"] = json!({"pin": PIN});
    }
    serde_json::to_vec(
        &json!({"requestId": id, "inputs": [{"intent": "action.devices.EXECUTE",
        "payload": {"commands": [{"devices": [{"id": device}], "execution": [exec]}]}}]}),
    )
    .unwrap()
}

fn c(v: f64) -> J {
    json!({"value": v, "scale": "CELSIUS"})
}

/// The directive for `cmd` with message id `id`.
pub fn directive(format: Format, cmd: Cmd, id: &str) -> Vec<u8> {
    let (th, lk) = ("hearth-thermostat", "hearth-lock");
    match format {
        Format::Json => {
            let body = match cmd {
                Cmd::Lock => json!({"id": id, "op": "lock"}),
                Cmd::Unlock(pin) if pin => json!({"id": id, "op": "unlock", "pin": PIN}),
                Cmd::Unlock(_) => json!({"id": id, "op": "unlock"}),
                Cmd::Target(t) => json!({"id": id, "op": "set_setpoint", "setpoint": t}),
                Cmd::Delta(d) => json!({"id": id, "op": "set_setpoint", "setpoint": d}),
                Cmd::Range(h, c) => {
                    json!({"id": id, "op": "set_setpoint", "setpoint_heat": h, "setpoint_cool": c})
                }
                Cmd::Mode(m) => json!({"id": id, "op": "set_mode", "mode": m}),
                Cmd::DuplicateKey => {
                    return format!(r#"{{"id":"{id}","op":"lock","op":"unlock"}}"#).into_bytes();
                }
                Cmd::UnknownDevice => json!({"id": id, "op": "open_garage"}),
            };
            serde_json::to_vec(&body).unwrap()
        }
        Format::Alexa => {
            let tc = "Alexa.ThermostatController";
            match cmd {
                Cmd::Lock => alexa("Alexa.LockController", "Lock", lk, id, json!({})),
                Cmd::Unlock(_) => alexa("Alexa.LockController", "Unlock", lk, id, json!({})),
                Cmd::Target(t) => alexa(
                    tc,
                    "SetTargetTemperature",
                    th,
                    id,
                    json!({"targetSetpoint": c(t)}),
                ),
                Cmd::Delta(d) => alexa(
                    tc,
                    "AdjustTargetTemperature",
                    th,
                    id,
                    json!({"targetSetpointDelta": c(d)}),
                ),
                Cmd::Range(h, k) => alexa(
                    tc,
                    "SetTargetTemperature",
                    th,
                    id,
                    json!({"lowerSetpoint": c(h), "upperSetpoint": c(k)}),
                ),
                Cmd::Mode(m) => alexa(
                    tc,
                    "SetThermostatMode",
                    th,
                    id,
                    json!({"thermostatMode": {"value": m.to_uppercase()}}),
                ),
                Cmd::DuplicateKey => format!(
                    r#"{{"directive":{{"header":{{"namespace":"Alexa.LockController","name":"Lock","name":"Unlock","payloadVersion":"3","messageId":"{id}","correlationToken":"ct"}},"endpoint":{{"endpointId":"{lk}"}},"payload":{{}}}}}}"#
                )
                .into_bytes(),
                Cmd::UnknownDevice => alexa("Alexa.LockController", "Lock", "garage", id, json!({})),
            }
        }
        Format::Google => match cmd {
            Cmd::Lock => google(id, lk, "LockUnlock", json!({"lock": true}), false),
            Cmd::Unlock(pin) => google(id, lk, "LockUnlock", json!({"lock": false}), pin),
            Cmd::Target(t) => google(
                id,
                th,
                "ThermostatTemperatureSetpoint",
                json!({"thermostatTemperatureSetpoint": t}),
                false,
            ),
            Cmd::Delta(d) => google(
                id,
                th,
                "TemperatureRelative",
                json!({"thermostatTemperatureRelativeDegree": d}),
                false,
            ),
            Cmd::Range(h, k) => google(
                id,
                th,
                "ThermostatTemperatureSetRange",
                json!({"thermostatTemperatureSetpointLow": h, "thermostatTemperatureSetpointHigh": k}),
                false,
            ),
            Cmd::Mode(m) => google(
                id,
                th,
                "ThermostatSetMode",
                json!({"thermostatMode": if m == "auto" { "heatcool" } else { m }}),
                false,
            ),
            Cmd::DuplicateKey => format!(
                r#"{{"requestId":"{id}","inputs":[{{"intent":"action.devices.EXECUTE","payload":{{"commands":[{{"devices":[{{"id":"{lk}"}}],"execution":[{{"command":"action.devices.commands.LockUnlock","params":{{"lock":true,"lock":false}}}}]}}]}}}}]}}"#
            )
            .into_bytes(),
            Cmd::UnknownDevice => google(id, "garage", "LockUnlock", json!({"lock": true}), false),
        },
    }
}

/// The format's spelling of an error reply, as (code word, sentence), or `None` if `bytes`
/// is not an error reply. Panics on any key an error reply must not have.
pub fn error_of(format: Format, bytes: &[u8]) -> Option<(String, String)> {
    let v: J = serde_json::from_slice(bytes).unwrap();
    let keys = |o: &J, allowed: &[&str]| {
        for k in o.as_object().unwrap().keys() {
            assert!(allowed.contains(&k.as_str()), "unexpected key {k} in {o}");
        }
    };
    let s = |x: &J| x.as_str().unwrap().to_owned();
    match format {
        Format::Json => {
            if v["ok"] != false {
                return None;
            }
            keys(&v, &["id", "ok", "error"]);
            keys(&v["error"], &["code", "message"]);
            Some((s(&v["error"]["code"]), s(&v["error"]["message"])))
        }
        Format::Alexa => {
            if v["event"]["header"]["name"] != "ErrorResponse" {
                return None;
            }
            keys(&v, &["event"]);
            keys(&v["event"], &["header", "endpoint", "payload"]);
            let p = &v["event"]["payload"];
            keys(p, &["type", "message", "currentDeviceMode"]);
            Some((s(&p["type"]), s(&p["message"])))
        }
        Format::Google => {
            let p = &v["payload"];
            if let Some(c) = p["commands"][0].as_object() {
                if c.get("status") != Some(&json!("ERROR")) {
                    return None;
                }
                keys(
                    &p["commands"][0],
                    &["ids", "status", "errorCode", "challengeNeeded"],
                );
                // EXECUTE errors carry no sentence; the code is the whole message.
                let code = s(&p["commands"][0]["errorCode"]);
                return Some((code, CloudError::Refused.message().to_owned()));
            }
            p.get("errorCode")?;
            keys(p, &["errorCode", "debugString"]);
            Some((s(&p["errorCode"]), s(&p["debugString"])))
        }
    }
}

/// The neutral refusal's code word in `format`.
pub fn neutral(format: Format) -> &'static str {
    match format {
        Format::Json => "refused",
        Format::Alexa => "INTERNAL_ERROR",
        Format::Google => "transientError",
    }
}

/// The fields a format's error code tells the state of, by an independent reading of the
/// three formats' spellings.
pub fn fields_named_by(format: Format, code: &str) -> &'static [Field] {
    match (format, code) {
        (Format::Json, "door_open")
        | (Format::Alexa, "NOT_IN_OPERATION")
        | (Format::Google, "actionNotAvailable") => &[Field::LockDoor],
        (Format::Json, "busy" | "hardware_fault")
        | (Format::Alexa, "ENDPOINT_BUSY" | "HARDWARE_MALFUNCTION")
        | (Format::Google, "deviceBusy" | "hardwareFailure") => &[Field::LockState],
        (Format::Json, "wrong_mode")
        | (Format::Alexa, "NOT_SUPPORTED_IN_CURRENT_MODE")
        | (Format::Google, "notSupported") => &[Field::ThermostatMode],
        _ => &[],
    }
}

/// The voice PIN settings of a generated policy that allows unlock.
pub fn pin_config(format: Format) -> PinConfig {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if format == Format::Alexa {
        return PinConfig {
            checked_by: Some("alexa".into()),
            ..Default::default()
        };
    }
    let line = HASH.get_or_init(|| {
        PinHash::derive(PIN, "salt-salt", hearth_policy::pin::MIN_ITERATIONS).to_toml()
    });
    let hex = line.split('"').nth(1).unwrap().to_owned();
    PinConfig {
        pbkdf2_sha256: Some(hex),
        salt: Some("salt-salt".into()),
        iterations: Some(hearth_policy::pin::MIN_ITERATIONS),
        checked_by: None,
    }
}

/// Any command, in every shape.
pub fn gen_cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        Just(Cmd::Lock),
        any::<bool>().prop_map(Cmd::Unlock),
        (100i32..350).prop_map(|t| Cmd::Target(f64::from(t) / 10.0)),
        (-50i32..50).prop_map(|d| Cmd::Delta(f64::from(d) / 10.0)),
        (150i32..220, 230i32..300)
            .prop_map(|(h, c)| Cmd::Range(f64::from(h) / 10.0, f64::from(c) / 10.0)),
        proptest::sample::select(vec!["heat", "cool", "auto", "off"]).prop_map(Cmd::Mode),
        Just(Cmd::DuplicateKey),
        Just(Cmd::UnknownDevice),
    ]
}

/// A control refusal as the controllers word it: full of house values and names.
pub fn house_refusal(code: CommandErrorCode, s: &HouseState) -> CommandError {
    CommandError::new(
        code,
        format!(
            "{}: lock.door = {:?}, setpoint_heat {} in mode off, moving for local:alice (neighbour-cloud)",
            code.as_str(),
            s.lock.door,
            s.thermostat.setpoint_heat
        ),
    )
}

/// The fields a house refusal of `cmd` would tell about (the independent model).
pub fn reveals(code: CommandErrorCode, cmd: Cmd) -> Vec<Field> {
    let setpoints = vec![
        Field::ThermostatSetpointHeat,
        Field::ThermostatSetpointCool,
        Field::ThermostatMode,
    ];
    match (code, cmd) {
        (CommandErrorCode::SetpointOutOfRange, Cmd::Delta(_)) => setpoints,
        (CommandErrorCode::SetpointOutOfRange, Cmd::Target(_)) => vec![Field::ThermostatMode],
        (CommandErrorCode::SetpointsTooClose, Cmd::Range(..)) => vec![],
        (CommandErrorCode::SetpointsTooClose, _) => setpoints,
        (CommandErrorCode::DoorOpen, _) => vec![Field::LockDoor],
        (CommandErrorCode::LockBusy | CommandErrorCode::SensorFault, _) => vec![Field::LockState],
        _ => vec![],
    }
}
