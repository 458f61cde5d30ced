//! The `alexa` format: Alexa Smart Home v3 messages (ChangeReport, StateReport, Response,
//! ErrorResponse, Discover.Response) and the directives hearth accepts.
//!
//! Two endpoints: the thermostat (Alexa.ThermostatController, Alexa.TemperatureSensor) and
//! the lock (Alexa.LockController), both with Alexa.EndpointHealth. Setpoints are always the
//! dual `lowerSetpoint`/`upperSetpoint`; `targetSetpoint` is added only when the mode is in
//! the same message. This module spells allowed values; it must never add a house value the
//! engine did not pass in.

use crate::command::Wanted;
use crate::config::DeviceNames;
use crate::format::{
    Declaration, Declared, Device, Env, ReplyCtx, Request, Shared, Wire, check_voice_transform,
    find, mode_setpoint, number, strict_json, to_bytes,
};
use crate::refusal::{CloudError, Refused};
use crate::transform::Transform;
use hearth_model::{Field, Mode, Value};
use serde_json::{Value as J, json};

pub(crate) struct Alexa;

const THERMOSTAT_NS: &str = "Alexa.ThermostatController";
const SENSOR_NS: &str = "Alexa.TemperatureSensor";
const LOCK_NS: &str = "Alexa.LockController";
const HEALTH_NS: &str = "Alexa.EndpointHealth";

fn mode_word(mode: &str) -> Option<&'static str> {
    Some(match mode {
        "off" => "OFF",
        "heat" => "HEAT",
        "cool" => "COOL",
        "auto" => "AUTO",
        _ => return None,
    })
}

fn lock_word(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Text(s) if s == "locked" => "LOCKED",
        Value::Text(s) if s == "unlocked" => "UNLOCKED",
        Value::Text(s) if s == "jammed" => "JAMMED",
        Value::Bool(true) => "LOCKED",
        Value::Bool(false) => "UNLOCKED",
        _ => return None,
    })
}

fn celsius(v: f64) -> J {
    json!({ "value": v, "scale": "CELSIUS" })
}

fn property(env: &Env, ns: &str, name: &str, value: J) -> J {
    json!({
        "namespace": ns,
        "name": name,
        "value": value,
        "timeOfSample": env.now.to_rfc3339(),
        "uncertaintyInMilliseconds": 0,
    })
}

/// The Alexa properties for the allowed values of one device.
fn properties(env: &Env, device: Device, shared: &[Shared]) -> Vec<J> {
    let mut props = Vec::new();
    let num = |f| number(shared, f);
    match device {
        Device::Thermostat => {
            if let Some(t) = num(Field::ThermostatTemperature) {
                props.push(property(env, SENSOR_NS, "temperature", celsius(t)));
            }
            if let Some(h) = num(Field::ThermostatSetpointHeat) {
                props.push(property(env, THERMOSTAT_NS, "lowerSetpoint", celsius(h)));
            }
            if let Some(c) = num(Field::ThermostatSetpointCool) {
                props.push(property(env, THERMOSTAT_NS, "upperSetpoint", celsius(c)));
            }
            if let Some(Value::Text(mode)) = find(shared, Field::ThermostatMode)
                && let Some(word) = mode_word(mode)
            {
                if let Some(t) = mode_setpoint(shared) {
                    props.push(property(env, THERMOSTAT_NS, "targetSetpoint", celsius(t)));
                }
                props.push(property(env, THERMOSTAT_NS, "thermostatMode", json!(word)));
            }
        }
        Device::Lock => {
            if let Some(word) = find(shared, Field::LockState).and_then(lock_word) {
                props.push(property(env, LOCK_NS, "lockState", json!(word)));
            }
        }
    }
    props
}

fn connectivity(env: &Env) -> J {
    property(env, HEALTH_NS, "connectivity", json!({ "value": "OK" }))
}

fn header(env: &Env, ns: &str, name: &str, reply: Option<&ReplyCtx>) -> J {
    let mut h = json!({
        "namespace": ns,
        "name": name,
        "payloadVersion": "3",
        "messageId": env.message_id,
    });
    if let Some(token) = reply
        .and_then(|r| r.id.as_deref())
        .filter(|t| !t.is_empty())
    {
        h["correlationToken"] = json!(token);
    }
    h
}

fn endpoint(devices: &DeviceNames, d: Device) -> J {
    json!({ "endpointId": devices.id(d) })
}

impl Wire for Alexa {
    fn carries(&self, field: Field) -> bool {
        matches!(
            field,
            Field::ThermostatTemperature
                | Field::ThermostatSetpointHeat
                | Field::ThermostatSetpointCool
                | Field::ThermostatMode
                | Field::LockState
        )
    }

    fn check_transform(&self, field: Field, t: &Transform) -> Result<(), String> {
        check_voice_transform(field, t, "alexa", "property", "LOCKED/UNLOCKED")
    }

    fn expressible(&self, field: Field, value: &Value) -> Result<(), String> {
        match (field, value) {
            (Field::ThermostatMode, Value::Text(m)) if mode_word(m).is_none() => {
                Err(format!("alexa has no thermostat mode for `{m}`"))
            }
            (Field::LockState, v) if lock_word(v).is_none() => Err(format!(
                "alexa has no lock state for {}",
                crate::transform::show(v)
            )),
            _ => Ok(()),
        }
    }

    fn parse(&self, raw: &[u8], devices: &DeviceNames) -> Request {
        parse_directive(raw, devices)
    }

    fn report(&self, env: &Env, shared: &[Shared], periodic: bool) -> Vec<Vec<u8>> {
        let cause = if periodic {
            "PERIODIC_POLL"
        } else {
            "PHYSICAL_INTERACTION"
        };
        let mut out = Vec::new();
        for device in Device::ALL {
            let props = properties(env, device, shared);
            if props.is_empty() {
                continue;
            }
            let sub = Env {
                devices: env.devices,
                message_id: format!("{}-{}", env.message_id, out.len() + 1),
                now: env.now,
            };
            out.push(to_bytes(&json!({
                "event": {
                    "header": header(&sub, "Alexa", "ChangeReport", None),
                    "endpoint": endpoint(env.devices, device),
                    "payload": { "change": { "cause": { "type": cause }, "properties": props } },
                }
            })));
        }
        out
    }

    fn answer(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        self.with_context(env, reply, shared, "StateReport")
    }

    fn command_done(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        self.with_context(env, reply, shared, "Response")
    }

    fn error(&self, env: &Env, reply: &ReplyCtx, err: CloudError) -> Vec<u8> {
        let device = reply.devices.first().copied();
        let payload = error_payload(err, device);
        let mut event = json!({
            "header": header(env, "Alexa", "ErrorResponse", Some(reply)),
            "payload": payload,
        });
        if let Some(d) = device {
            event["endpoint"] = endpoint(env.devices, d);
        }
        to_bytes(&json!({ "event": event }))
    }

    fn capability(&self, env: &Env, reply: Option<&ReplyCtx>, decl: &Declaration) -> Vec<u8> {
        let endpoints: Vec<J> = Device::ALL
            .into_iter()
            .filter(|d| decl.declares_device(*d))
            .map(|d| discovery_endpoint(env.devices, d, decl))
            .collect();
        to_bytes(&json!({
            "event": {
                "header": header(env, "Alexa.Discovery", "Discover.Response", reply),
                "payload": { "endpoints": endpoints },
            }
        }))
    }
}

impl Alexa {
    fn with_context(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared], name: &str) -> Vec<u8> {
        let device = reply.devices.first().copied().unwrap_or(Device::Thermostat);
        let mut props = properties(env, device, shared);
        props.push(connectivity(env));
        to_bytes(&json!({
            "context": { "properties": props },
            "event": {
                "header": header(env, "Alexa", name, Some(reply)),
                "endpoint": endpoint(env.devices, device),
                "payload": {},
            }
        }))
    }
}

/// Alexa's own ErrorResponse types (namespace `Alexa`), with hearth's fixed sentences.
fn error_payload(err: CloudError, device: Option<Device>) -> J {
    let t = match err {
        CloudError::Malformed | CloudError::Replayed => "INVALID_DIRECTIVE",
        CloudError::NoSuchDevice => "NO_SUCH_ENDPOINT",
        CloudError::NotAllowed | CloudError::PinNeeded | CloudError::PinWrong => {
            "INSUFFICIENT_PERMISSIONS"
        }
        CloudError::PinLockedOut => "TOO_MANY_FAILED_ATTEMPTS",
        CloudError::OutOfRange if device == Some(Device::Thermostat) => {
            "TEMPERATURE_VALUE_OUT_OF_RANGE"
        }
        CloudError::OutOfRange => "VALUE_OUT_OF_RANGE",
        CloudError::WrongMode => {
            return json!({
                "type": "NOT_SUPPORTED_IN_CURRENT_MODE",
                "message": err.message(),
                "currentDeviceMode": "OTHER",
            });
        }
        CloudError::DoorOpen => "NOT_IN_OPERATION",
        CloudError::Busy => "ENDPOINT_BUSY",
        CloudError::HardwareFault => "HARDWARE_MALFUNCTION",
        CloudError::Refused => "INTERNAL_ERROR",
    };
    json!({ "type": t, "message": err.message() })
}

fn interface(name: &str, props: Option<(Vec<&str>, bool)>) -> J {
    let mut c = json!({ "type": "AlexaInterface", "interface": name, "version": "3" });
    if let Some((supported, proactive)) = props {
        let retrievable = !supported.is_empty();
        c["properties"] = json!({
            "supported": supported.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
            "proactivelyReported": proactive && retrievable,
            "retrievable": retrievable,
        });
    }
    c
}

fn discovery_endpoint(devices: &DeviceNames, d: Device, decl: &Declaration) -> J {
    let has = |f| decl.fields.contains_key(&f);
    let proactive = |fs: &[Field]| {
        fs.iter()
            .any(|f| decl.fields.get(f) == Some(&Declared::Proactive))
    };
    let mut caps = vec![interface("Alexa", None)];
    let mut categories = Vec::new();
    match d {
        Device::Thermostat => {
            categories.push("THERMOSTAT");
            if has(Field::ThermostatTemperature) {
                categories.push("TEMPERATURE_SENSOR");
                caps.push(interface(
                    SENSOR_NS,
                    Some((
                        vec!["temperature"],
                        proactive(&[Field::ThermostatTemperature]),
                    )),
                ));
            }
            let members = [
                Field::ThermostatMode,
                Field::ThermostatSetpointHeat,
                Field::ThermostatSetpointCool,
            ];
            let mut supported = Vec::new();
            if has(Field::ThermostatSetpointHeat) {
                supported.push("lowerSetpoint");
            }
            if has(Field::ThermostatSetpointCool) {
                supported.push("upperSetpoint");
            }
            if has(Field::ThermostatMode) {
                if has(Field::ThermostatSetpointHeat) || has(Field::ThermostatSetpointCool) {
                    supported.push("targetSetpoint");
                }
                supported.push("thermostatMode");
            }
            let commands = decl
                .commands
                .iter()
                .any(|c| Device::of_command(*c) == Device::Thermostat);
            if !supported.is_empty() || commands {
                let mut c = interface(THERMOSTAT_NS, Some((supported, proactive(&members))));
                c["configuration"] = json!({
                    "supportedModes": ["HEAT", "COOL", "AUTO", "OFF"],
                    "supportsScheduling": false,
                });
                caps.push(c);
            }
        }
        Device::Lock => {
            categories.push("SMARTLOCK");
            let supported = if has(Field::LockState) {
                vec!["lockState"]
            } else {
                Vec::new()
            };
            caps.push(interface(
                LOCK_NS,
                Some((supported, proactive(&[Field::LockState]))),
            ));
        }
    }
    caps.push(interface(HEALTH_NS, Some((vec!["connectivity"], false))));
    json!({
        "endpointId": devices.id(d),
        "manufacturerName": "hearth",
        "friendlyName": devices.name(d),
        "description": match d { Device::Thermostat => "hearth thermostat", Device::Lock => "hearth door lock" },
        "displayCategories": categories,
        "capabilities": caps,
    })
}

/// Degrees in the directive's scale to °C; deltas skip the offset.
fn to_celsius(v: &J, delta: bool) -> Result<f64, String> {
    let value = v["value"]
        .as_f64()
        .ok_or("a temperature without a numeric `value`")?;
    let c = match v["scale"].as_str().unwrap_or("CELSIUS") {
        "CELSIUS" => value,
        "FAHRENHEIT" if delta => value * 5.0 / 9.0,
        "FAHRENHEIT" => (value - 32.0) * 5.0 / 9.0,
        "KELVIN" if delta => value,
        "KELVIN" => value - 273.15,
        other => return Err(format!("unknown temperature scale `{other}`")),
    };
    // Hundredths are far below any thermostat's resolution; this drops conversion noise.
    Ok((c * 100.0).round() / 100.0)
}

fn parse_directive(raw: &[u8], devices: &DeviceNames) -> Request {
    let invalid = Request::malformed;
    let v: J = match strict_json(raw) {
        Ok(v) => v,
        Err(e) => return invalid(ReplyCtx::default(), e),
    };
    let d = &v["directive"];
    let h = &d["header"];
    let (ns, name) = (
        h["namespace"].as_str().unwrap_or(""),
        h["name"].as_str().unwrap_or(""),
    );
    let mut reply = ReplyCtx {
        id: h["correlationToken"].as_str().map(str::to_owned),
        devices: Vec::new(),
        interface: Some(ns.to_owned()),
    };
    if d.is_null() || ns.is_empty() || name.is_empty() {
        return invalid(
            reply,
            "expected {\"directive\": {\"header\": {namespace, name, ...}}}".into(),
        );
    }
    if (ns, name) == ("Alexa.Discovery", "Discover") {
        return Request::Discovery { reply };
    }
    let id = d["endpoint"]["endpointId"].as_str().unwrap_or("");
    let Some(device) = devices.device(id) else {
        return Request::Invalid {
            reply,
            error: Refused::new(CloudError::NoSuchDevice, format!("no endpoint `{id}`")),
        };
    };
    reply.devices = vec![device];
    let p = &d["payload"];
    let wanted = match (ns, name, device) {
        ("Alexa", "ReportState", _) => {
            return Request::State {
                devices: vec![device],
                reply,
            };
        }
        (THERMOSTAT_NS, "SetTargetTemperature", Device::Thermostat) => {
            let get = |k: &str| {
                (!p[k].is_null())
                    .then(|| to_celsius(&p[k], false))
                    .transpose()
            };
            match (
                get("targetSetpoint"),
                get("lowerSetpoint"),
                get("upperSetpoint"),
            ) {
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return invalid(reply, e),
                (Ok(Some(t)), Ok(None), Ok(None)) => Wanted::Target(t),
                (Ok(None), Ok(heat), Ok(cool)) if heat.is_some() || cool.is_some() => {
                    Wanted::Range { heat, cool }
                }
                _ => {
                    return invalid(
                        reply,
                        "give targetSetpoint, or lowerSetpoint and/or upperSetpoint".into(),
                    );
                }
            }
        }
        (THERMOSTAT_NS, "AdjustTargetTemperature", Device::Thermostat) => {
            match to_celsius(&p["targetSetpointDelta"], true) {
                Ok(delta) => Wanted::Delta(delta),
                Err(e) => return invalid(reply, e),
            }
        }
        (THERMOSTAT_NS, "SetThermostatMode", Device::Thermostat) => {
            match p["thermostatMode"]["value"].as_str() {
                Some("HEAT") => Wanted::Mode(Mode::Heat),
                Some("COOL") => Wanted::Mode(Mode::Cool),
                Some("AUTO") => Wanted::Mode(Mode::Auto),
                Some("OFF") => Wanted::Mode(Mode::Off),
                other => return invalid(reply, format!("unsupported thermostat mode {other:?}")),
            }
        }
        (LOCK_NS, "Lock", Device::Lock) => Wanted::Lock,
        (LOCK_NS, "Unlock", Device::Lock) => Wanted::Unlock,
        _ => {
            return invalid(
                reply,
                format!("{ns}.{name} is not supported for endpoint `{id}`"),
            );
        }
    };
    Request::Command {
        reply,
        wanted,
        pin: None,
        msg_id: h["messageId"].as_str().map(str::to_owned),
    }
}
