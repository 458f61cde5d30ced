//! The `google` format: Home Graph report-state, and the SYNC / QUERY / EXECUTE responses of
//! a Google smart-home fulfillment relayed over MQTT.
//!
//! Two devices: a THERMOSTAT with TemperatureSetting and a LOCK with LockUnlock. Google asks
//! the device to check a PIN for unlocking (`challengeNeeded` / `pinNeeded`), so PIN errors
//! are spelled here and checked by the engine. This module spells allowed values; it must
//! never add a house value the engine did not pass in.

use crate::command::Wanted;
use crate::config::DeviceNames;
use crate::format::{
    Declaration, Declared, Device, Env, ReplyCtx, Request, Shared, Wire, check_voice_transform,
    find, mode_setpoint, number, strict_json, to_bytes,
};
use crate::refusal::{CloudError, Refused};
use crate::transform::Transform;
use hearth_model::{Field, Mode, Value};
use serde_json::{Map, Value as J, json};

pub(crate) struct Google;

const EXECUTE: &str = "execute";

fn mode_word(mode: &str) -> Option<&'static str> {
    Some(match mode {
        "off" => "off",
        "heat" => "heat",
        "cool" => "cool",
        "auto" => "heatcool",
        "fan_only" => "fan-only",
        _ => return None,
    })
}

fn action_word(action: &str) -> Option<&'static str> {
    Some(match action {
        "idle" => "none",
        "heating" => "heat",
        "cooling" => "cool",
        "fan" => "fan-only",
        _ => return None,
    })
}

/// The Google states for the allowed values of one device.
fn states(device: Device, shared: &[Shared]) -> Map<String, J> {
    let mut s = Map::new();
    let num = |f| number(shared, f);
    match device {
        Device::Thermostat => {
            if let Some(t) = num(Field::ThermostatTemperature) {
                s.insert("thermostatTemperatureAmbient".into(), json!(t));
            }
            if let Some(h) = num(Field::ThermostatHumidity) {
                s.insert("thermostatHumidityAmbient".into(), json!(h));
            }
            if let Some(h) = num(Field::ThermostatSetpointHeat) {
                s.insert("thermostatTemperatureSetpointLow".into(), json!(h));
            }
            if let Some(c) = num(Field::ThermostatSetpointCool) {
                s.insert("thermostatTemperatureSetpointHigh".into(), json!(c));
            }
            if let Some(Value::Text(m)) = find(shared, Field::ThermostatMode)
                && let Some(word) = mode_word(m)
            {
                if let Some(t) = mode_setpoint(shared) {
                    s.insert("thermostatTemperatureSetpoint".into(), json!(t));
                }
                s.insert("thermostatMode".into(), json!(word));
            }
            if let Some(Value::Text(a)) = find(shared, Field::ThermostatAction)
                && let Some(word) = action_word(a)
            {
                s.insert("activeThermostatMode".into(), json!(word));
            }
        }
        Device::Lock => match find(shared, Field::LockState) {
            Some(Value::Text(t)) if t == "locked" || t == "unlocked" => {
                s.insert("isLocked".into(), json!(t == "locked"));
                s.insert("isJammed".into(), json!(false));
            }
            Some(Value::Text(t)) if t == "jammed" => {
                s.insert("isJammed".into(), json!(true));
            }
            Some(Value::Bool(b)) => {
                s.insert("isLocked".into(), json!(b));
            }
            _ => {}
        },
    }
    s
}

fn request_id(env: &Env, reply: Option<&ReplyCtx>) -> String {
    reply
        .and_then(|r| r.id.clone())
        .unwrap_or_else(|| env.message_id.clone())
}

impl Wire for Google {
    fn carries(&self, field: Field) -> bool {
        !matches!(field, Field::ThermostatFan | Field::LockDoor)
    }

    fn check_transform(&self, field: Field, t: &Transform) -> Result<(), String> {
        check_voice_transform(field, t, "google", "state", "isLocked")
    }

    fn expressible(&self, field: Field, value: &Value) -> Result<(), String> {
        match (field, value) {
            (Field::LockState, Value::Text(s))
                if !["locked", "unlocked", "jammed"].contains(&s.as_str()) =>
            {
                Err(format!("google has no lock state for `{s}`"))
            }
            _ => Ok(()),
        }
    }

    fn parse(&self, raw: &[u8], devices: &DeviceNames) -> Request {
        parse_intent(raw, devices)
    }

    fn report(&self, env: &Env, shared: &[Shared], _periodic: bool) -> Vec<Vec<u8>> {
        let mut by_id = Map::new();
        for d in Device::ALL {
            let s = states(d, shared);
            if !s.is_empty() {
                by_id.insert(env.devices.id(d).to_owned(), J::Object(s));
            }
        }
        if by_id.is_empty() {
            return Vec::new();
        }
        vec![to_bytes(&json!({
            "requestId": env.message_id,
            "agentUserId": env.devices.agent_user_id,
            "payload": { "devices": { "states": by_id } },
        }))]
    }

    fn answer(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        let mut by_id = Map::new();
        for d in &reply.devices {
            let mut s = states(*d, shared);
            s.insert("online".into(), json!(true));
            s.insert("status".into(), json!("SUCCESS"));
            by_id.insert(env.devices.id(*d).to_owned(), J::Object(s));
        }
        to_bytes(&json!({
            "requestId": request_id(env, Some(reply)),
            "payload": { "devices": by_id },
        }))
    }

    fn command_done(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        let device = reply.devices.first().copied().unwrap_or(Device::Thermostat);
        let mut s = states(device, shared);
        s.insert("online".into(), json!(true));
        to_bytes(&json!({
            "requestId": request_id(env, Some(reply)),
            "payload": { "commands": [{
                "ids": [env.devices.id(device)],
                "status": "SUCCESS",
                "states": s,
            }]},
        }))
    }

    fn error(&self, env: &Env, reply: &ReplyCtx, err: CloudError) -> Vec<u8> {
        let (code, challenge) = match err {
            CloudError::Malformed | CloudError::Replayed => ("protocolError", None),
            CloudError::NoSuchDevice => ("deviceNotFound", None),
            CloudError::NotAllowed => ("functionNotSupported", None),
            CloudError::PinNeeded => ("challengeNeeded", Some("pinNeeded")),
            CloudError::PinWrong => ("challengeNeeded", Some("challengeFailedPinNeeded")),
            CloudError::PinLockedOut => ("tooManyFailedAttempts", None),
            CloudError::OutOfRange => ("valueOutOfRange", None),
            CloudError::WrongMode => ("notSupported", None),
            CloudError::DoorOpen => ("actionNotAvailable", None),
            CloudError::Busy => ("deviceBusy", None),
            CloudError::HardwareFault => ("hardwareFailure", None),
            CloudError::Refused => ("transientError", None),
        };
        let rid = request_id(env, Some(reply));
        if reply.interface.as_deref() == Some(EXECUTE) && !reply.devices.is_empty() {
            let ids: Vec<&str> = reply.devices.iter().map(|d| env.devices.id(*d)).collect();
            let mut c = json!({ "ids": ids, "status": "ERROR", "errorCode": code });
            if let Some(kind) = challenge {
                c["challengeNeeded"] = json!({ "type": kind });
            }
            to_bytes(&json!({ "requestId": rid, "payload": { "commands": [c] } }))
        } else {
            to_bytes(&json!({
                "requestId": rid,
                "payload": { "errorCode": code, "debugString": err.message() },
            }))
        }
    }

    fn capability(&self, env: &Env, reply: Option<&ReplyCtx>, decl: &Declaration) -> Vec<u8> {
        let reports = |d: Device| {
            decl.fields
                .iter()
                .any(|(f, how)| Device::of(*f) == d && *how == Declared::Proactive)
        };
        let commands = |d: Device| decl.commands.iter().any(|c| Device::of_command(*c) == d);
        let fields = |d: Device| decl.fields.keys().any(|f| Device::of(*f) == d);
        let mut devices = Vec::new();
        for d in Device::ALL.into_iter().filter(|d| decl.declares_device(*d)) {
            let (kind, trait_name, attributes) = match d {
                Device::Thermostat => {
                    let mut a = json!({
                        "availableThermostatModes": ["off", "heat", "cool", "heatcool", "fan-only"],
                        "thermostatTemperatureUnit": "C",
                    });
                    if !commands(d) {
                        a["queryOnlyTemperatureSetting"] = json!(true);
                    }
                    if !fields(d) {
                        a["commandOnlyTemperatureSetting"] = json!(true);
                    }
                    (
                        "action.devices.types.THERMOSTAT",
                        "action.devices.traits.TemperatureSetting",
                        a,
                    )
                }
                Device::Lock => (
                    "action.devices.types.LOCK",
                    "action.devices.traits.LockUnlock",
                    json!({}),
                ),
            };
            devices.push(json!({
                "id": env.devices.id(d),
                "type": kind,
                "traits": [trait_name],
                "name": { "name": env.devices.name(d) },
                "willReportState": reports(d),
                "attributes": attributes,
                "deviceInfo": { "manufacturer": "hearth" },
            }));
        }
        to_bytes(&json!({
            "requestId": request_id(env, reply),
            "payload": { "agentUserId": env.devices.agent_user_id, "devices": devices },
        }))
    }
}

fn parse_intent(raw: &[u8], devices: &DeviceNames) -> Request {
    let invalid = Request::malformed;
    let v: J = match strict_json(raw) {
        Ok(v) => v,
        Err(e) => return invalid(ReplyCtx::default(), e),
    };
    let mut reply = ReplyCtx {
        id: v["requestId"].as_str().map(str::to_owned),
        ..Default::default()
    };
    let input = &v["inputs"][0];
    let intent = input["intent"].as_str().unwrap_or("");
    let lookup = |id: &J| {
        let id = id.as_str().unwrap_or("");
        devices
            .device(id)
            .ok_or_else(|| Refused::new(CloudError::NoSuchDevice, format!("no device `{id}`")))
    };
    match intent {
        "action.devices.SYNC" => {
            reply.interface = Some("sync".into());
            Request::Discovery { reply }
        }
        "action.devices.QUERY" => {
            reply.interface = Some("query".into());
            let mut wanted = Vec::new();
            for d in input["payload"]["devices"].as_array().into_iter().flatten() {
                match lookup(&d["id"]) {
                    Ok(dev) if !wanted.contains(&dev) => wanted.push(dev),
                    Ok(_) => {}
                    Err(error) => return Request::Invalid { reply, error },
                }
            }
            if wanted.is_empty() {
                return invalid(reply, "QUERY names no devices".into());
            }
            reply.devices = wanted.clone();
            Request::State {
                reply,
                devices: wanted,
            }
        }
        "action.devices.EXECUTE" => {
            reply.interface = Some(EXECUTE.into());
            let commands = input["payload"]["commands"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let [command] = commands.as_slice() else {
                return invalid(reply, "hearth takes one command per EXECUTE".into());
            };
            let (Some([target]), Some([exec])) = (
                command["devices"].as_array().map(Vec::as_slice),
                command["execution"].as_array().map(Vec::as_slice),
            ) else {
                return invalid(
                    reply,
                    "hearth takes one device and one execution per command".into(),
                );
            };
            let device = match lookup(&target["id"]) {
                Ok(d) => d,
                Err(error) => return Request::Invalid { reply, error },
            };
            reply.devices = vec![device];
            let pin = exec["challenge"]["pin"].as_str().map(str::to_owned);
            match execution(exec, device) {
                Ok(wanted) => Request::Command {
                    msg_id: reply.id.clone(),
                    reply,
                    wanted,
                    pin,
                },
                Err(m) => invalid(reply, m),
            }
        }
        "" => invalid(
            reply,
            "expected {\"requestId\": ..., \"inputs\": [{\"intent\": ...}]}".into(),
        ),
        other => invalid(reply, format!("unsupported intent `{other}`")),
    }
}

fn execution(exec: &J, device: Device) -> Result<Wanted, String> {
    let command = exec["command"].as_str().unwrap_or("");
    let p = &exec["params"];
    let num = |k: &str| p[k].as_f64();
    let wanted = match command
        .strip_prefix("action.devices.commands.")
        .unwrap_or(command)
    {
        "ThermostatTemperatureSetpoint" => Wanted::Target(
            num("thermostatTemperatureSetpoint")
                .ok_or("thermostatTemperatureSetpoint must be a number")?,
        ),
        "ThermostatTemperatureSetRange" => Wanted::Range {
            heat: num("thermostatTemperatureSetpointLow"),
            cool: num("thermostatTemperatureSetpointHigh"),
        },
        "TemperatureRelative" => Wanted::Delta(
            num("thermostatTemperatureRelativeDegree")
                .ok_or("thermostatTemperatureRelativeDegree must be a number")?,
        ),
        "ThermostatSetMode" => Wanted::Mode(match p["thermostatMode"].as_str() {
            Some("off") => Mode::Off,
            Some("heat") => Mode::Heat,
            Some("cool") => Mode::Cool,
            Some("heatcool") => Mode::Auto,
            Some("fan-only") => Mode::FanOnly,
            other => return Err(format!("unsupported thermostatMode {other:?}")),
        }),
        "LockUnlock" => match p["lock"].as_bool() {
            Some(true) => Wanted::Lock,
            Some(false) => Wanted::Unlock,
            None => return Err("LockUnlock needs params.lock = true or false".into()),
        },
        other => return Err(format!("unsupported command `{other}`")),
    };
    let right_device = match wanted {
        Wanted::Lock | Wanted::Unlock => Device::Lock,
        _ => Device::Thermostat,
    };
    if right_device != device {
        return Err(format!("`{command}` does not apply to this device"));
    }
    Ok(wanted)
}
