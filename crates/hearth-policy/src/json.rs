//! The `json` format: a plain JSON object of the shared fields, for any MQTT endpoint.
//!
//! Proactive reports are exactly `{"<field>": <value>, ...}`. Requests are
//! `{"id": "...", "op": "state" | "describe" | "set_setpoint" | "set_mode" | "lock" | "unlock", ...}`
//! and replies mirror hearth's local MQTT replies (`{"id", "ok", "state" | "error"}`). This
//! module spells allowed values; it must never add a house value the engine did not pass in.

use crate::command::Wanted;
use crate::config::DeviceNames;
use crate::format::{
    Declaration, Declared, Device, Env, ReplyCtx, Request, Shared, Wire, strict_json, to_bytes,
};
use crate::refusal::CloudError;
use crate::transform::Transform;
use hearth_model::{Field, Mode, Value};
use serde::Deserialize;
use serde_json::{Map, Value as J, json};

pub(crate) struct Json;

fn object(shared: &[Shared]) -> Map<String, J> {
    shared
        .iter()
        .map(|s| {
            let v = match &s.value {
                Value::Number(n) => json!(n),
                Value::Text(t) => json!(t),
                Value::Bool(b) => json!(b),
            };
            (s.field.name().to_owned(), v)
        })
        .collect()
}

fn with_id(reply: Option<&ReplyCtx>, mut body: Map<String, J>) -> Vec<u8> {
    if let Some(id) = reply.and_then(|r| r.id.clone()) {
        body.insert("id".into(), json!(id));
    }
    to_bytes(&J::Object(body))
}

impl Wire for Json {
    fn carries(&self, _field: Field) -> bool {
        true
    }

    fn check_transform(&self, _field: Field, _t: &Transform) -> Result<(), String> {
        Ok(())
    }

    fn expressible(&self, _field: Field, _value: &Value) -> Result<(), String> {
        Ok(())
    }

    fn parse(&self, raw: &[u8], _devices: &DeviceNames) -> Request {
        parse_request(raw)
    }

    fn report(&self, _env: &Env, shared: &[Shared], _periodic: bool) -> Vec<Vec<u8>> {
        if shared.is_empty() {
            return Vec::new();
        }
        vec![to_bytes(&J::Object(object(shared)))]
    }

    fn answer(&self, _env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("ok".into(), json!(true));
        m.insert("state".into(), J::Object(object(shared)));
        with_id(Some(reply), m)
    }

    fn command_done(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8> {
        self.answer(env, reply, shared)
    }

    fn error(&self, _env: &Env, reply: &ReplyCtx, err: CloudError) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("ok".into(), json!(false));
        m.insert(
            "error".into(),
            json!({ "code": err.code(), "message": err.message() }),
        );
        with_id(Some(reply), m)
    }

    fn capability(&self, _env: &Env, reply: Option<&ReplyCtx>, decl: &Declaration) -> Vec<u8> {
        let fields: Map<String, J> = decl
            .fields
            .iter()
            .map(|(f, how)| {
                let reported = match how {
                    Declared::Proactive => "proactively",
                    Declared::Retrievable => "on_request",
                };
                let form = decl.forms.get(f).cloned().unwrap_or_default();
                (
                    f.name().to_owned(),
                    json!({ "reported": reported, "form": form }),
                )
            })
            .collect();
        let commands: Vec<&str> = decl.commands.iter().map(|c| c.as_str()).collect();
        let mut m = Map::new();
        m.insert("fields".into(), J::Object(fields));
        m.insert("commands".into(), json!(commands));
        with_id(reply, m)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest {
    #[serde(default)]
    id: Option<String>,
    op: String,
    #[serde(default)]
    setpoint: Option<f64>,
    #[serde(default)]
    setpoint_heat: Option<f64>,
    #[serde(default)]
    setpoint_cool: Option<f64>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    pin: Option<String>,
}

fn parse_request(raw: &[u8]) -> Request {
    let v = match strict_json(raw) {
        Ok(v) => v,
        Err(e) => return Request::malformed(ReplyCtx::default(), e),
    };
    // Echo the id when the rest is wrong, so the sender can match the error.
    let id = v["id"].as_str().map(str::to_owned);
    let r: JsonRequest = match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => {
            return Request::malformed(
                ReplyCtx {
                    id,
                    ..Default::default()
                },
                e.to_string(),
            );
        }
    };
    let mut reply = ReplyCtx {
        id: r.id,
        ..Default::default()
    };
    let wanted = match r.op.as_str() {
        "state" => {
            return Request::State {
                reply,
                devices: Device::ALL.to_vec(),
            };
        }
        "describe" => return Request::Discovery { reply },
        "set_setpoint" => match (r.setpoint, r.setpoint_heat, r.setpoint_cool) {
            (Some(t), None, None) => Wanted::Target(t),
            (None, heat, cool) if heat.is_some() || cool.is_some() => Wanted::Range { heat, cool },
            _ => {
                return Request::malformed(
                    reply,
                    "give `setpoint`, or `setpoint_heat` and/or `setpoint_cool`",
                );
            }
        },
        "set_mode" => match r.mode {
            Some(m) => Wanted::Mode(m),
            None => {
                return Request::malformed(reply, "set_mode needs `mode`");
            }
        },
        "lock" => Wanted::Lock,
        "unlock" => Wanted::Unlock,
        other => {
            return Request::malformed(
                reply,
                format!(
                    "unknown op `{other}`; use state, describe, set_setpoint, set_mode, lock or unlock"
                ),
            );
        }
    };
    reply.devices = vec![Device::of_command(wanted.name())];
    Request::Command {
        msg_id: reply.id.clone(),
        reply,
        wanted,
        pin: r.pin,
    }
}
