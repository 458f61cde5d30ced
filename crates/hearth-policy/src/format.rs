//! What the payload formats have in common: which device a field belongs to, the parsed
//! shape of an inbound request, and the `Wire` trait each format (alexa, google, json)
//! implements.
//!
//! A `Wire` only ever receives values the engine has already allowed and transformed
//! (`Shared`); it decides how they are spelled, never whether they are sent. It must never
//! see a `HouseState`.

use crate::command::{CommandError, CommandName, Wanted};
use crate::config::DeviceNames;
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
    },
    /// Unparseable or unsupported: answered with this error.
    Invalid { reply: ReplyCtx, error: WireError },
}

/// An error reply, before a format spells it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WireError {
    Malformed(String),
    NoSuchDevice(String),
    /// The policy's allow-list refuses this command from this cloud.
    NotAllowed(String),
    PinNeeded,
    PinWrong,
    PinLockedOut,
    /// The request is well-formed but makes no sense now (target setpoint in auto mode).
    InvalidValue(String),
    /// The command reached the house and failed there.
    Failed(CommandError),
}

impl WireError {
    pub(crate) fn describe(&self) -> String {
        match self {
            WireError::Malformed(m) => format!("malformed request: {m}"),
            WireError::NoSuchDevice(d) => format!("no such device `{d}`"),
            WireError::NotAllowed(m) => m.clone(),
            WireError::PinNeeded => "unlock needs the voice PIN; asked for it".into(),
            WireError::PinWrong => "wrong voice PIN".into(),
            WireError::PinLockedOut => "too many wrong PINs; unlock refused for now".into(),
            WireError::InvalidValue(m) => m.clone(),
            WireError::Failed(e) => {
                format!("failed in the house ({}): {}", e.code.as_str(), e.message)
            }
        }
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
    fn error(&self, env: &Env, reply: &ReplyCtx, err: &WireError) -> Vec<u8>;
    fn capability(&self, env: &Env, reply: Option<&ReplyCtx>, decl: &Declaration) -> Vec<u8>;
}

/// Look up a value in the allowed set.
pub(crate) fn find(shared: &[Shared], field: Field) -> Option<&Value> {
    shared.iter().find(|s| s.field == field).map(|s| &s.value)
}

pub(crate) fn to_bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a serde_json::Value always serializes")
}
