//! Policies, a house answer and exact-bytes comparison for the refusal tests
//! (`tests/refusals.rs`, `tests/refusals_house.rs`).
#![allow(dead_code)]

use super::commands::PIN;
use super::{Clock, house, json, policy};
use hearth_model::{DoorState, LockState};
use hearth_policy::pin::{MIN_ITERATIONS, PinHash};
use hearth_policy::{CommandError, CommandErrorCode, DecisionKind, Format, Inbound, Policy};

/// Every field a refusal could name is shared on request; every command allowed.
pub fn shared(format: Format) -> Policy {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pin = match format {
        Format::Alexa => "unlock_pin = { checked_by = \"alexa\" }".to_owned(),
        _ => LINE
            .get_or_init(|| PinHash::derive(PIN, "salt-salt", MIN_ITERATIONS).to_toml())
            .clone(),
    };
    let door = if format == Format::Json {
        "[fields.\"lock.door\"]\nshare = \"on_request\"\n"
    } else {
        ""
    };
    policy(
        format,
        &format!(
            "max_requests_per_hour = 2\n{door}[fields.\"lock.state\"]\nshare = \"on_request\"\n\
             [fields.\"thermostat.mode\"]\nshare = \"on_request\"\n\
             [fields.\"thermostat.setpoint_heat\"]\nshare = \"on_request\"\n\
             [fields.\"thermostat.setpoint_cool\"]\nshare = \"on_request\"\n\
             [commands]\nallow = [\"set_setpoint\", \"set_mode\", \"lock\", \"unlock\"]\n{pin}\n"
        ),
    )
}

/// Nothing shared; lock and set_setpoint allowed.
pub fn hidden(format: Format) -> Policy {
    policy(format, "[commands]\nallow = [\"lock\", \"set_setpoint\"]")
}

/// A house refusal worded as the controllers word it.
pub fn house_says(code: CommandErrorCode) -> CommandError {
    CommandError::new(
        code,
        "cannot lock while the door is open (lock.door = open) for local:alice, setpoint_heat 60",
    )
}

/// Send `raw`; if it becomes a command, the house answers `house`. The bytes the cloud got.
pub fn reply(p: &mut Policy, raw: &[u8], house_answer: Option<CommandError>) -> Vec<u8> {
    let mut s = house(20.0, LockState::Unlocked);
    s.lock.door = Some(DoorState::Open);
    let now = Clock::at("2026-11-25T12:00:00Z").after(0);
    let (inbound, d) = p.handle_inbound(raw, &s, now);
    let (out, d) = match inbound {
        Inbound::Reply(o) => (o, d),
        Inbound::Command { reply, .. } => {
            let e = house_answer.expect("the policy refuses this one itself");
            p.command_reply(reply, Err(e), &s, now)
        }
        Inbound::Silent => panic!("silent"),
    };
    let refused = d
        .iter()
        .find(|d| {
            matches!(
                d.kind,
                DecisionKind::CommandRefused | DecisionKind::RequestRefused
            )
        })
        .expect("every refusal has its ledger row");
    assert!(refused.detail.contains("the cloud was told"), "{refused:?}");
    out.into_bytes()
}

/// Compare exactly, with hearth's own message id (random per run) filled in.
pub fn expect(format: Format, got: &[u8], template: &str) {
    let v = json(got);
    let mid = match format {
        Format::Alexa => v["event"]["header"]["messageId"]
            .as_str()
            .unwrap()
            .to_owned(),
        Format::Google => v["requestId"].as_str().unwrap().to_owned(),
        Format::Json => String::new(),
    };
    let want = template.replace("{MID}", &mid);
    assert_eq!(String::from_utf8_lossy(got), want);
}

pub fn alexa_err(endpoint: &str, t: &str, message: &str) -> String {
    format!(
        r#"{{"event":{{"endpoint":{{"endpointId":"{endpoint}"}},"header":{{"correlationToken":"ct","messageId":"{{MID}}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"}},"payload":{{"message":"{message}","type":"{t}"}}}}}}"#
    )
}

pub fn google_exec(id: &str, device: &str, code: &str) -> String {
    format!(
        r#"{{"payload":{{"commands":[{{"errorCode":"{code}","ids":["{device}"],"status":"ERROR"}}]}},"requestId":"{id}"}}"#
    )
}

pub fn json_err(id: Option<&str>, code: &str, message: &str) -> String {
    let id = id.map(|i| format!(r#","id":"{i}""#)).unwrap_or_default();
    format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}{id},"ok":false}}"#)
}

pub const NEUTRAL: &str = "hearth did not carry out this request.";
pub const MALFORMED: &str = "hearth could not read this request.";
pub const LK: &str = "hearth-lock";
pub const TH: &str = "hearth-thermostat";
