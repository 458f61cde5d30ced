//! What the payload formats have in common: which device a field belongs to, the parsed
//! shape of an inbound request, and the `Wire` trait each format (alexa, google, json)
//! implements.
//!
//! A `Wire` only ever receives values the engine has already allowed and transformed
//! (`Shared`); it decides how they are spelled, never whether they are sent. It must never
//! see a `HouseState`.

use crate::command::{CommandName, Wanted};
use crate::config::DeviceNames;
use crate::refusal::{CloudError, Refused};
use crate::transform::Transform;
use hearth_model::{Field, UnixMillis, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The payload format of one cloud, `format = "alexa" | "google" | "json"` in `[[cloud]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Alexa Smart Home v3 events (ChangeReport, StateReport, Response, Discover.Response).
    Alexa,
    /// Google Home Graph report-state and SYNC/QUERY/EXECUTE responses.
    Google,
    /// A plain JSON object of the shared fields.
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Alexa => "alexa",
            Format::Google => "google",
            Format::Json => "json",
        }
    }

    pub(crate) fn wire(self) -> &'static dyn Wire {
        match self {
            Format::Alexa => &crate::alexa::Alexa,
            Format::Google => &crate::google::Google,
            Format::Json => &crate::json::Json,
        }
    }
}

/// The two devices hearth presents to a cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Device {
    Thermostat,
    Lock,
}

impl Device {
    pub(crate) const ALL: [Device; 2] = [Device::Thermostat, Device::Lock];

    pub(crate) fn of(field: Field) -> Device {
        match field {
            Field::LockState | Field::LockDoor => Device::Lock,
            _ => Device::Thermostat,
        }
    }

    pub(crate) fn of_command(c: CommandName) -> Device {
        match c {
            CommandName::SetSetpoint | CommandName::SetMode => Device::Thermostat,
            CommandName::Lock | CommandName::Unlock => Device::Lock,
        }
    }
}

/// One value the policy allows in this message, already transformed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shared {
    pub field: Field,
    pub value: Value,
}

/// What a reply needs to find its request: Alexa's correlation token, Google's requestId or
/// the json `id`; the devices the request was about; the Alexa namespace (or Google intent)
/// it used.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ReplyCtx {
    pub id: Option<String>,
    pub devices: Vec<Device>,
    pub interface: Option<String>,
}

/// An inbound message, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// "What is the state?" — opens `on_request` fields for this answer only.
    State {
        reply: ReplyCtx,
        devices: Vec<Device>,
    },
    /// "What devices are there?" — answered with the capability description.
    Discovery { reply: ReplyCtx },
    Command {
        reply: ReplyCtx,
        wanted: Wanted,
        pin: Option<String>,
        /// The message's own id (Alexa `header.messageId`, Google `requestId`, json `id`),
        /// remembered to refuse replays; a command without one is refused.
        msg_id: Option<String>,
    },
    /// Unparseable or unsupported: answered with this refusal.
    Invalid { reply: ReplyCtx, error: Refused },
}

impl Request {
    /// `Invalid` with a `Malformed` refusal; `reason` goes to the ledger only.
    pub(crate) fn malformed(reply: ReplyCtx, reason: impl Into<String>) -> Self {
        Request::Invalid {
            reply,
            error: Refused::new(CloudError::Malformed, reason),
        }
    }
}

/// Parse a directive as JSON, refusing duplicate keys at any depth: `serde_json` would keep
/// the last one, so `{"name":"Lock","name":"Unlock"}` would mean whatever came last.
pub(crate) fn strict_json(raw: &[u8]) -> Result<serde_json::Value, String> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let v = Strict::deserialize(&mut de).map_err(|e| format!("not accepted as JSON: {e}"))?;
    de.end().map_err(|e| format!("not accepted as JSON: {e}"))?;
    Ok(v.0)
}

struct Strict(serde_json::Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(out.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k.clone(), v).is_some() {
                return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
            }
        }
        Ok(out.into())
    }
}

/// How a field appears in the capability description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// Answered on request only.
    Retrievable,
    /// Also reported proactively (`on_change` / `periodic`).
    Proactive,
}

/// The capability description the policy allows: fields absent here are `never`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declaration {
    pub fields: BTreeMap<Field, Declared>,
    /// The form each declared field takes, in words (the json format publishes it).
    pub forms: BTreeMap<Field, String>,
    pub commands: BTreeSet<CommandName>,
}

impl Declaration {
    pub(crate) fn declares_device(&self, d: Device) -> bool {
        self.fields.keys().any(|f| Device::of(*f) == d)
            || self.commands.iter().any(|c| Device::of_command(*c) == d)
    }
}

/// Per-message context a format needs besides the values.
pub(crate) struct Env<'a> {
    pub devices: &'a DeviceNames,
    /// Unique per message; a format producing several messages appends `-1`, `-2`, ...
    pub message_id: String,
    pub now: UnixMillis,
}

/// One payload format. Implementations spell, they never filter: everything in `shared`
/// was allowed by the engine, and nothing else may appear in the output.
pub(crate) trait Wire: Sync {
    /// Whether this format has a place for the field at all.
    fn carries(&self, field: Field) -> bool;
    /// Whether the transform's output fits the format's property for the field.
    fn check_transform(&self, field: Field, t: &Transform) -> Result<(), String>;
    /// Whether this particular value can be spelled (Alexa has no `fan_only` mode).
    fn expressible(&self, field: Field, value: &Value) -> Result<(), String>;
    fn parse(&self, raw: &[u8], devices: &DeviceNames) -> Request;
    /// Proactive reports; `periodic` tells the cause. One payload per message.
    fn report(&self, env: &Env, shared: &[Shared], periodic: bool) -> Vec<Vec<u8>>;
    fn answer(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8>;
    fn command_done(&self, env: &Env, reply: &ReplyCtx, shared: &[Shared]) -> Vec<u8>;
    /// An error reply. `err` is a fixed code: a format has no way to add a house value,
    /// a person or a cloud name to it.
    fn error(&self, env: &Env, reply: &ReplyCtx, err: CloudError) -> Vec<u8>;
    fn capability(&self, env: &Env, reply: Option<&ReplyCtx>, decl: &Declaration) -> Vec<u8>;
}

/// `Wire::check_transform` for the voice formats (alexa, google): their properties take a
/// field as it is or rounded, and `lock.state` as a boolean only when it is true for
/// `locked`. `format` names the format, `slot` what it calls a property ("property",
/// "state"), `lock_as` how it spells the lock boolean.
pub(crate) fn check_voice_transform(
    field: Field,
    t: &Transform,
    format: &str,
    slot: &str,
    lock_as: &str,
) -> Result<(), String> {
    match t {
        Transform::Identity | Transform::Round { .. } => Ok(()),
        Transform::OneOf(words) if field == Field::LockState && words == &["locked"] => Ok(()),
        Transform::OneOf(_) if field == Field::LockState => Err(format!(
            "the {format} format can send lock.state as a boolean only as \
             boolean = {{ true_when = [\"locked\"] }} (sent as {lock_as})"
        )),
        _ => Err(format!(
            "the {format} format has no {slot} for {field} as {}; use round, or \
             format = \"json\"",
            t.describe()
        )),
    }
}

/// Look up a value in the allowed set.
pub(crate) fn find(shared: &[Shared], field: Field) -> Option<&Value> {
    shared.iter().find(|s| s.field == field).map(|s| &s.value)
}

/// An allowed number.
pub(crate) fn number(shared: &[Shared], field: Field) -> Option<f64> {
    match find(shared, field) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    }
}

/// The one setpoint the allowed mode acts on: heat's in `heat`, cool's in `cool`; none in
/// other modes, or when the mode or that setpoint is not allowed.
pub(crate) fn mode_setpoint(shared: &[Shared]) -> Option<f64> {
    match find(shared, Field::ThermostatMode) {
        Some(Value::Text(m)) if m == "heat" => number(shared, Field::ThermostatSetpointHeat),
        Some(Value::Text(m)) if m == "cool" => number(shared, Field::ThermostatSetpointCool),
        _ => None,
    }
}

pub(crate) fn to_bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a serde_json::Value always serializes")
}
