//! Parsing `<base>/thermostat/set`, `<base>/lock/set` and `<base>/sim/set` payloads into
//! commands, strictly: every unknown field, wrong type or missing signature is refused with
//! a stable code, and an unlock passes only through the [`CommandGuard`].
//!
//! Shape only: setpoint ranges and "locking with the door open" are the controllers' rules
//! (`hearth-control`). This file never acts on a command; it only says what was asked.

use crate::envelope::{Envelope, MessageId, missing};
use crate::error::{ApiError, Rejected, code};
use crate::secrets::check_client_name;
use crate::signing::{CommandGuard, SignedUnlock, is_valid_nonce};
use crate::topics::{CommandTarget, Topics};
use hearth_model::{
    Command, CommandKind, FanMode, LockAction, Mode, Source, ThermostatChange, UnixMillis,
};
use serde_json::{Map, Value};

/// The client name recorded for a command that names none.
pub const DEFAULT_CLIENT: &str = "local";

const THERMOSTAT_FIELDS: &[&str] = &[
    "mode",
    "fan",
    "setpoint_heat",
    "setpoint_cool",
    "setpoint",
    "client",
    "ts",
];
const LOCK_FIELDS: &[&str] = &["action", "client", "ts", "nonce", "sig", "code"];

/// A command that passed every check here, with what is needed to reply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCommand {
    pub id: Option<MessageId>,
    /// The client's validated reply topic, if it gave one.
    pub reply_to: Option<String>,
    pub command: Command,
}

impl ParsedCommand {
    /// Where the reply goes: `reply_to`, else `<base>/response/<thermostat|lock>/set`.
    pub fn reply_topic<'a>(&'a self, topics: &'a Topics, target: CommandTarget) -> &'a str {
        self.reply_to
            .as_deref()
            .unwrap_or_else(|| topics.command_response(target))
    }
}

/// Parse a command payload for `target`. `now` is the wall clock at receipt.
///
/// Thermostat: `{"id"?, "reply_to"?, "mode"?, "fan"?, "setpoint_heat"?, "setpoint_cool"?,
/// "setpoint"?, "client"?, "ts"?}` with at least one of the settings; `setpoint` is the
/// setpoint of the resulting mode (cool: `setpoint_cool`, else `setpoint_heat`).
/// Lock: `{"id"?, "reply_to"?, "action": "lock"|"unlock", "client"?, "ts"?, "code"?}` plus,
/// for unlock, either `"client"` and `"code"` (a client with a code in `[codes]`, see
/// `unlock_code.rs`) or `"client"`, `"ts"`, `"nonce"` and `"sig"` (see `signing.rs`). A
/// `code` on lock is ignored: locking needs no permission (Home Assistant sends the code
/// with both).
pub fn parse_command(
    target: CommandTarget,
    payload: &[u8],
    topics: &Topics,
    guard: &mut CommandGuard,
    now: UnixMillis,
) -> Result<ParsedCommand, Rejected> {
    let env = Envelope::open(payload, topics)?;
    let command = match target {
        CommandTarget::Thermostat => thermostat(&env, guard, now),
        CommandTarget::Lock => lock(&env, guard, now),
    }
    .map_err(|e| env.reject(e))?;
    Ok(ParsedCommand {
        id: env.id,
        reply_to: env.reply_to,
        command,
    })
}

fn thermostat(env: &Envelope, guard: &CommandGuard, now: UnixMillis) -> Result<Command, ApiError> {
    env.only(THERMOSTAT_FIELDS, "a thermostat command")?;
    let client = client_name(env)?;
    let change = ThermostatChange {
        mode: env.str("mode")?.map(parse_mode).transpose()?,
        fan: env.str("fan")?.map(parse_fan).transpose()?,
        setpoint_heat: env.number("setpoint_heat")?,
        setpoint_cool: env.number("setpoint_cool")?,
        setpoint: env.number("setpoint")?,
    };
    let ts = env.integer("ts")?;
    if change == ThermostatChange::default() {
        return Err(ApiError::new(
            code::EMPTY_COMMAND,
            "the command changes nothing; give at least one of mode, fan, setpoint_heat, \
             setpoint_cool, setpoint",
        ));
    }
    if let Some(ts) = ts {
        guard.check_fresh(ts, now)?;
    }
    Ok(Command {
        source: Source::Local(client.unwrap_or(DEFAULT_CLIENT).to_owned()),
        kind: CommandKind::Thermostat(change),
    })
}

fn lock(env: &Envelope, guard: &mut CommandGuard, now: UnixMillis) -> Result<Command, ApiError> {
    env.only(LOCK_FIELDS, "a lock command")?;
    let action = match env.required_str("action")? {
        "lock" => LockAction::Lock,
        "unlock" => LockAction::Unlock,
        other => {
            return Err(ApiError::new(
                code::INVALID_VALUE,
                format!("`action` is `{other}`; use \"lock\" or \"unlock\""),
            ));
        }
    };
    let client = client_name(env)?;
    let ts = env.integer("ts")?;
    let nonce = env.str("nonce")?;
    let sig = env.str("sig")?;
    let unlock_code = env.str("code")?;

    match action {
        LockAction::Lock => {
            if nonce.is_some() || sig.is_some() {
                return Err(ApiError::new(
                    code::INVALID_VALUE,
                    "`nonce` and `sig` are only for unlock; a lock command needs no signature",
                ));
            }
            if let Some(ts) = ts {
                guard.check_fresh(ts, now)?;
            }
            Ok(Command {
                source: Source::Local(client.unwrap_or(DEFAULT_CLIENT).to_owned()),
                kind: CommandKind::Lock(LockAction::Lock),
            })
        }
        LockAction::Unlock if unlock_code.is_some() => {
            if ts.is_some() || nonce.is_some() || sig.is_some() {
                return Err(ApiError::new(
                    code::INVALID_VALUE,
                    "an unlock carries either a `code` or a signature (ts, nonce, sig), not both",
                ));
            }
            let client = client.ok_or_else(|| missing("client"))?;
            let given = unlock_code.unwrap_or_default();
            guard.codes().check(client, given, now)?;
            Ok(Command {
                source: Source::Local(client.to_owned()),
                kind: CommandKind::Lock(LockAction::Unlock),
            })
        }
        LockAction::Unlock => {
            if !guard.unlock_enabled() {
                if client.is_some_and(|c| guard.codes().has_code(c)) {
                    return Err(ApiError::new(
                        code::MISSING_FIELD,
                        "unlock needs the client's unlock code in `code` (or a signed command)",
                    ));
                }
                return Err(ApiError::new(
                    code::UNLOCK_DISABLED,
                    "unlocking over local MQTT is disabled: no client keys are configured \
                     (mqtt.secrets_file)",
                ));
            }
            let (ts, nonce, sig) = match (ts, nonce, sig) {
                (None, None, None) => {
                    return Err(ApiError::new(
                        code::SIGNATURE_REQUIRED,
                        "unlock needs a signed command (client, ts, nonce, sig); create one with \
                         `hearthd sign`",
                    ));
                }
                (Some(ts), Some(nonce), Some(sig)) => (ts, nonce, sig),
                (ts, nonce, _) => {
                    let absent = if ts.is_none() {
                        "ts"
                    } else if nonce.is_none() {
                        "nonce"
                    } else {
                        "sig"
                    };
                    return Err(missing(absent));
                }
            };
            let client = client.ok_or_else(|| missing("client"))?;
            if !is_valid_nonce(nonce) {
                return Err(ApiError::new(
                    code::INVALID_VALUE,
                    "`nonce` must be 16–64 characters of letters, digits, `_` and `-`",
                ));
            }
            let id = env
                .id
                .as_ref()
                .map(MessageId::canonical)
                .unwrap_or_default();
            guard.verify_unlock(
                &SignedUnlock {
                    client,
                    ts,
                    nonce,
                    sig,
                    id: &id,
                },
                now,
            )?;
            Ok(Command {
                source: Source::Local(client.to_owned()),
                kind: CommandKind::Lock(LockAction::Unlock),
            })
        }
    }
}

fn client_name(env: &Envelope) -> Result<Option<&str>, ApiError> {
    let client = env.str("client")?;
    if let Some(name) = client {
        check_client_name(name).map_err(|m| ApiError::new(code::INVALID_VALUE, m))?;
    }
    Ok(client)
}

fn parse_mode(s: &str) -> Result<Mode, ApiError> {
    Mode::ALL
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<_> = Mode::ALL.iter().map(|m| m.as_str()).collect();
            ApiError::new(
                code::INVALID_VALUE,
                format!("`mode` is `{s}`; use one of {}", names.join(", ")),
            )
        })
}

fn parse_fan(s: &str) -> Result<FanMode, ApiError> {
    FanMode::ALL
        .into_iter()
        .find(|f| f.as_str() == s)
        .ok_or_else(|| {
            ApiError::new(
                code::INVALID_VALUE,
                format!("`fan` is `{s}`; use \"auto\" or \"on\""),
            )
        })
}

/// A simulator control message on `<base>/sim/set`: the envelope is checked here, the body
/// is the simulator's to interpret.
#[derive(Debug, Clone, PartialEq)]
pub struct SimControl {
    pub id: Option<MessageId>,
    pub reply_to: Option<String>,
    /// Every field except `id` and `reply_to`; never empty.
    pub body: Map<String, Value>,
}

impl SimControl {
    /// Where the reply goes: `reply_to`, else `<base>/response/sim/set`.
    pub fn reply_topic<'a>(&'a self, topics: &'a Topics) -> &'a str {
        self.reply_to
            .as_deref()
            .unwrap_or_else(|| topics.sim_control_response())
    }
}

pub fn parse_sim_control(payload: &[u8], topics: &Topics) -> Result<SimControl, Rejected> {
    let env = Envelope::open(payload, topics)?;
    if env.fields.is_empty() {
        return Err(env.reject(ApiError::new(
            code::EMPTY_COMMAND,
            "the simulator command is empty",
        )));
    }
    Ok(SimControl {
        id: env.id,
        reply_to: env.reply_to,
        body: env.fields.into_iter().collect(),
    })
}
