//! Every refusal a cloud can get, in every format, as the exact bytes it receives: from the
//! parser (not JSON, duplicate keys, unknown device), the policy (not allowed, PIN needed /
//! wrong / locked out, replay, mode, request budget) and both controllers (each refusal
//! code, with messages full of house values and names). Where a code would reveal a field
//! the cloud is not given, the bytes are the neutral refusal. Alexa replies are also checked
//! against Amazon's schema when HEARTH_ALEXA_SCHEMA is set.

mod common;

use common::commands::{Cmd, directive};
use common::{Clock, house, json, policy};
use hearth_model::{DoorState, LockState, Mode};
use hearth_policy::pin::{MAX_FAILED_ATTEMPTS, MIN_ITERATIONS, PinHash};
use hearth_policy::{CommandError, CommandErrorCode, DecisionKind, Format, Inbound, Policy};

/// Every field a refusal could name is shared on request; every command allowed.
fn shared(format: Format) -> Policy {
    static PIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pin = match format {
        Format::Alexa => "unlock_pin = { checked_by = \"alexa\" }".to_owned(),
        _ => PIN
            .get_or_init(|| PinHash::derive("1234", "salt-salt", MIN_ITERATIONS).to_toml())
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
fn hidden(format: Format) -> Policy {
    policy(format, "[commands]\nallow = [\"lock\", \"set_setpoint\"]")
}

/// A house refusal worded as the controllers word it.
fn house_says(code: CommandErrorCode) -> CommandError {
    CommandError::new(
        code,
        "cannot lock while the door is open (lock.door = open) for local:alice, setpoint_heat 60",
    )
}

/// Send `raw`; if it becomes a command, the house answers `house`. The bytes the cloud got.
fn reply(p: &mut Policy, raw: &[u8], house_answer: Option<CommandError>) -> Vec<u8> {
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
fn expect(format: Format, got: &[u8], template: &str) {
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

fn alexa_err(endpoint: &str, t: &str, message: &str) -> String {
    format!(
        r#"{{"event":{{"endpoint":{{"endpointId":"{endpoint}"}},"header":{{"correlationToken":"ct","messageId":"{{MID}}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"}},"payload":{{"message":"{message}","type":"{t}"}}}}}}"#
    )
}

fn google_exec(id: &str, device: &str, code: &str) -> String {
    format!(
        r#"{{"payload":{{"commands":[{{"errorCode":"{code}","ids":["{device}"],"status":"ERROR"}}]}},"requestId":"{id}"}}"#
    )
}

fn json_err(id: Option<&str>, code: &str, message: &str) -> String {
    let id = id.map(|i| format!(r#","id":"{i}""#)).unwrap_or_default();
    format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}{id},"ok":false}}"#)
}

const NEUTRAL: &str = "hearth did not carry out this request.";
const MALFORMED: &str = "hearth could not read this request.";
const LK: &str = "hearth-lock";
const TH: &str = "hearth-thermostat";

#[test]
fn parser_and_policy_refusals_are_fixed_bytes() {
    let mut alexa_msgs = Vec::new();
    // Not JSON: no id to echo.
    let g = reply(&mut shared(Format::Google), b"{", None);
    expect(
        Format::Google,
        &g,
        &format!(
            r#"{{"payload":{{"debugString":"{MALFORMED}","errorCode":"protocolError"}},"requestId":"{{MID}}"}}"#
        ),
    );
    let j = reply(&mut shared(Format::Json), b"{", None);
    expect(Format::Json, &j, &json_err(None, "malformed", MALFORMED));

    // Duplicate keys: `"name":"Lock","name":"Unlock"` is refused, not read as the last one.
    let a = reply(
        &mut shared(Format::Alexa),
        &directive(Format::Alexa, Cmd::DuplicateKey, "d1"),
        None,
    );
    let a_dup = r#"{"event":{"header":{"messageId":"{MID}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"},"payload":{"message":"hearth could not read this request.","type":"INVALID_DIRECTIVE"}}}"#;
    expect(Format::Alexa, &a, a_dup);
    alexa_msgs.push(("duplicate_key", a));
    let g = reply(
        &mut shared(Format::Google),
        &directive(Format::Google, Cmd::DuplicateKey, "d1"),
        None,
    );
    expect(
        Format::Google,
        &g,
        &format!(
            r#"{{"payload":{{"debugString":"{MALFORMED}","errorCode":"protocolError"}},"requestId":"{{MID}}"}}"#
        ),
    );
    let j = reply(
        &mut shared(Format::Json),
        &directive(Format::Json, Cmd::DuplicateKey, "d1"),
        None,
    );
    expect(Format::Json, &j, &json_err(None, "malformed", MALFORMED));

    // Unknown device.
    let a = reply(
        &mut shared(Format::Alexa),
        &directive(Format::Alexa, Cmd::UnknownDevice, "u1"),
        None,
    );
    let want = r#"{"event":{"header":{"correlationToken":"ct","messageId":"{MID}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"},"payload":{"message":"hearth has no such device.","type":"NO_SUCH_ENDPOINT"}}}"#;
    expect(Format::Alexa, &a, want);
    alexa_msgs.push(("no_such_endpoint", a));
    let g = reply(
        &mut shared(Format::Google),
        &directive(Format::Google, Cmd::UnknownDevice, "u1"),
        None,
    );
    expect(
        Format::Google,
        &g,
        r#"{"payload":{"debugString":"hearth has no such device.","errorCode":"deviceNotFound"},"requestId":"u1"}"#,
    );

    // Not allowed by commands.allow.
    let not_allowed = "hearth's privacy policy does not allow this request.";
    let a = reply(
        &mut hidden(Format::Alexa),
        &directive(Format::Alexa, Cmd::Unlock(false), "n1"),
        None,
    );
    expect(
        Format::Alexa,
        &a,
        &alexa_err(LK, "INSUFFICIENT_PERMISSIONS", not_allowed),
    );
    alexa_msgs.push(("not_allowed", a));
    let g = reply(
        &mut hidden(Format::Google),
        &directive(Format::Google, Cmd::Unlock(true), "n1"),
        None,
    );
    expect(
        Format::Google,
        &g,
        &google_exec("n1", LK, "functionNotSupported"),
    );
    let j = reply(
        &mut hidden(Format::Json),
        &directive(Format::Json, Cmd::Unlock(true), "n1"),
        None,
    );
    expect(
        Format::Json,
        &j,
        &json_err(Some("n1"), "not_allowed", not_allowed),
    );

    // A command without an id cannot be checked for replays.
    let j = reply(&mut shared(Format::Json), br#"{"op":"lock"}"#, None);
    expect(Format::Json, &j, &json_err(None, "malformed", MALFORMED));

    // Replays: the second identical message is refused.
    for format in [Format::Alexa, Format::Google, Format::Json] {
        let mut p = shared(format);
        let raw = directive(format, Cmd::Lock, "same-id");
        reply(&mut p, &raw, Some(house_says(CommandErrorCode::Internal)));
        let again = reply(&mut p, &raw, None);
        let replayed = "hearth has already handled a message with this id.";
        match format {
            Format::Alexa => {
                expect(
                    format,
                    &again,
                    &alexa_err(LK, "INVALID_DIRECTIVE", replayed),
                );
                alexa_msgs.push(("replayed", again));
            }
            Format::Google => expect(format, &again, &google_exec("same-id", LK, "protocolError")),
            Format::Json => expect(
                format,
                &again,
                &json_err(Some("same-id"), "replayed", replayed),
            ),
        }
    }

    // Mode: a single target in off mode names the mode only when the mode is shared.
    let off = |p: &mut Policy, format: Format| {
        let mut s = house(20.0, LockState::Locked);
        s.thermostat.mode = Mode::Off;
        let now = Clock::at("2026-11-25T12:00:00Z").after(0);
        let raw = directive(format, Cmd::Target(21.0), &format!("m-{}", fastrand_id()));
        match p.handle_inbound(&raw, &s, now).0 {
            Inbound::Reply(o) => o.into_bytes(),
            _ => panic!("a target in off mode is refused by the policy"),
        }
    };
    let a = off(&mut shared(Format::Alexa), Format::Alexa);
    let mode_msg = "The thermostat's current mode does not take this request.";
    expect(
        Format::Alexa,
        &a,
        &format!(
            r#"{{"event":{{"endpoint":{{"endpointId":"{TH}"}},"header":{{"correlationToken":"ct","messageId":"{{MID}}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"}},"payload":{{"currentDeviceMode":"OTHER","message":"{mode_msg}","type":"NOT_SUPPORTED_IN_CURRENT_MODE"}}}}}}"#
        ),
    );
    alexa_msgs.push(("wrong_mode", a));
    let a = off(&mut hidden(Format::Alexa), Format::Alexa);
    expect(Format::Alexa, &a, &alexa_err(TH, "INTERNAL_ERROR", NEUTRAL));
    alexa_msgs.push(("neutral_mode", a));
    let g = off(&mut hidden(Format::Google), Format::Google);
    let rid = json(&g)["requestId"].as_str().unwrap().to_owned();
    expect(Format::Google, &g, &google_exec(&rid, TH, "transientError"));
    let j = off(&mut shared(Format::Json), Format::Json);
    let jid = json(&j)["id"].as_str().unwrap().to_owned();
    expect(
        Format::Json,
        &j,
        &json_err(Some(&jid), "wrong_mode", mode_msg),
    );

    // The request budget: the third state request within the hour gets the neutral refusal.
    let mut p = shared(Format::Json);
    let s = house(20.0, LockState::Locked);
    let clock = Clock::at("2026-11-25T12:00:00Z");
    for i in 0..2 {
        let (o, _) = p.answer_state_request(br#"{"id":"q","op":"state"}"#, &s, clock.after(i));
        assert_eq!(json(o.unwrap().bytes())["ok"], true);
    }
    let (o, d) = p.answer_state_request(br#"{"id":"q","op":"state"}"#, &s, clock.after(3));
    expect(
        Format::Json,
        o.unwrap().bytes(),
        &json_err(Some("q"), "refused", NEUTRAL),
    );
    assert!(
        d.iter().any(|d| d.kind == DecisionKind::RequestRefused
            && d.detail.contains("max_requests_per_hour = 2")),
        "{d:?}"
    );
    let (o, _) = p.answer_state_request(br#"{"id":"q","op":"state"}"#, &s, clock.after(3601));
    assert_eq!(json(o.unwrap().bytes())["ok"], true, "the budget refills");

    // The budget in the other formats: the neutral refusal to a state request.
    let mut p = shared(Format::Alexa);
    let report_state = br#"{"directive":{"header":{"namespace":"Alexa","name":"ReportState","payloadVersion":"3","messageId":"rs","correlationToken":"ct"},"endpoint":{"endpointId":"hearth-lock"},"payload":{}}}"#;
    for i in 0..2 {
        p.answer_state_request(report_state, &s, clock.after(i));
    }
    let (o, _) = p.answer_state_request(report_state, &s, clock.after(3));
    let a = o.unwrap().into_bytes();
    expect(Format::Alexa, &a, &alexa_err(LK, "INTERNAL_ERROR", NEUTRAL));
    alexa_msgs.push(("budget", a));
    let mut p = shared(Format::Google);
    let query = br#"{"requestId":"gq","inputs":[{"intent":"action.devices.QUERY","payload":{"devices":[{"id":"hearth-lock"}]}}]}"#;
    for i in 0..2 {
        p.answer_state_request(query, &s, clock.after(i));
    }
    let (o, _) = p.answer_state_request(query, &s, clock.after(3));
    expect(
        Format::Google,
        o.unwrap().bytes(),
        &format!(
            r#"{{"payload":{{"debugString":"{NEUTRAL}","errorCode":"transientError"}},"requestId":"gq"}}"#
        ),
    );

    let named: Vec<(String, Vec<u8>)> = alexa_msgs
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    common::validate_alexa(&named);
}

fn fastrand_id() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[test]
fn pin_refusals_are_fixed_bytes_and_the_lockout_grows() {
    for format in [Format::Google, Format::Json] {
        let mut p = shared(format);
        let unlock = |pin: Option<&str>, id: &str| match format {
            Format::Google => {
                let mut v = json(&directive(format, Cmd::Unlock(false), id));
                if let Some(pin) = pin {
                    v["inputs"][0]["payload"]["commands"][0]["execution"][0]["challenge"] =
                        serde_json::json!({"pin": pin});
                }
                serde_json::to_vec(&v).unwrap()
            }
            _ => match pin {
                Some(pin) => format!(r#"{{"id":"{id}","op":"unlock","pin":"{pin}"}}"#).into_bytes(),
                None => format!(r#"{{"id":"{id}","op":"unlock"}}"#).into_bytes(),
            },
        };
        let needed = reply(&mut p, &unlock(None, "p0"), None);
        let wrong = reply(&mut p, &unlock(Some("0000"), "p1"), None);
        for i in 2..MAX_FAILED_ATTEMPTS {
            reply(&mut p, &unlock(Some("0000"), &format!("p{i}")), None);
        }
        let locked = reply(&mut p, &unlock(Some("0000"), "p9"), None);
        let still = reply(&mut p, &unlock(Some("1234"), "p10"), None);
        match format {
            Format::Google => {
                expect(
                    format,
                    &needed,
                    r#"{"payload":{"commands":[{"challengeNeeded":{"type":"pinNeeded"},"errorCode":"challengeNeeded","ids":["hearth-lock"],"status":"ERROR"}]},"requestId":"p0"}"#,
                );
                expect(
                    format,
                    &wrong,
                    r#"{"payload":{"commands":[{"challengeNeeded":{"type":"challengeFailedPinNeeded"},"errorCode":"challengeNeeded","ids":["hearth-lock"],"status":"ERROR"}]},"requestId":"p1"}"#,
                );
                expect(
                    format,
                    &locked,
                    &google_exec("p9", LK, "tooManyFailedAttempts"),
                );
                // Even the right PIN is refused while locked out.
                expect(
                    format,
                    &still,
                    &google_exec("p10", LK, "tooManyFailedAttempts"),
                );
            }
            _ => {
                expect(
                    format,
                    &needed,
                    &json_err(Some("p0"), "pin_needed", "The voice PIN is needed."),
                );
                expect(
                    format,
                    &wrong,
                    &json_err(Some("p1"), "pin_wrong", "The voice PIN is wrong."),
                );
                let m = "Too many wrong PINs; unlocking is refused for now.";
                expect(format, &locked, &json_err(Some("p9"), "pin_locked_out", m));
                expect(format, &still, &json_err(Some("p10"), "pin_locked_out", m));
            }
        }
        // The lockout outlives the policy: a reloaded policy takes it over.
        let mut reloaded = shared(format);
        reloaded.carry_over_from(&mut p);
        let after = reply(&mut reloaded, &unlock(Some("1234"), "p11"), None);
        let code = match format {
            Format::Google => json(&after)["payload"]["commands"][0]["errorCode"].clone(),
            _ => json(&after)["error"]["code"].clone(),
        };
        assert!(
            code == "tooManyFailedAttempts" || code == "pin_locked_out",
            "{code}"
        );
        let state = reloaded.guard_state();
        assert_eq!(state.pin.level, 1);
        assert!(state.pin.locked_until.is_some());
    }
}

#[test]
fn house_refusals_are_fixed_bytes_and_neutral_when_they_would_reveal() {
    use CommandErrorCode as C;
    let mut alexa_msgs = Vec::new();
    // (code, command, shared policy?, alexa type, google code, json code)
    let cases: [(C, Cmd, bool, &str, &str, &str); 12] = [
        (
            C::DoorOpen,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::DoorOpen,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "door_open",
        ),
        (
            C::LockBusy,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::LockBusy,
            Cmd::Lock,
            true,
            "ENDPOINT_BUSY",
            "deviceBusy",
            "busy",
        ),
        (
            C::SensorFault,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SensorFault,
            Cmd::Lock,
            true,
            "HARDWARE_MALFUNCTION",
            "hardwareFailure",
            "hardware_fault",
        ),
        (
            C::StateUnknown,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::Internal,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointOutOfRange,
            Cmd::Delta(40.0),
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointOutOfRange,
            Cmd::Range(5.0, 40.0),
            false,
            "TEMPERATURE_VALUE_OUT_OF_RANGE",
            "valueOutOfRange",
            "out_of_range",
        ),
        (
            C::SetpointsTooClose,
            Cmd::Target(25.5),
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointsTooClose,
            Cmd::Range(22.0, 22.5),
            true,
            "TEMPERATURE_VALUE_OUT_OF_RANGE",
            "valueOutOfRange",
            "out_of_range",
        ),
    ];
    for (n, (code, cmd, is_shared, alexa_t, google_c, json_c)) in cases.into_iter().enumerate() {
        for format in [Format::Alexa, Format::Google, Format::Json] {
            let mut p = if is_shared {
                shared(format)
            } else {
                hidden(format)
            };
            let id = format!("h{n}");
            let got = reply(&mut p, &directive(format, cmd, &id), Some(house_says(code)));
            let device = if matches!(cmd, Cmd::Lock) { LK } else { TH };
            let message = |c: &str| {
                hearth_policy::CloudError::ALL
                    .into_iter()
                    .find(|e| e.code() == c)
                    .unwrap()
                    .message()
            };
            let alexa_message = if alexa_t == "INTERNAL_ERROR" {
                NEUTRAL
            } else {
                message(json_c)
            };
            match format {
                Format::Alexa => {
                    expect(format, &got, &alexa_err(device, alexa_t, alexa_message));
                    alexa_msgs.push((format!("house_{n}"), got));
                }
                Format::Google => expect(format, &got, &google_exec(&id, device, google_c)),
                Format::Json => expect(format, &got, &json_err(Some(&id), json_c, message(json_c))),
            }
        }
    }
    common::validate_alexa(&alexa_msgs);
}

#[test]
fn ended_consent_gets_no_bytes_at_all() {
    for format in [Format::Alexa, Format::Google, Format::Json] {
        let mut p = policy(
            format,
            "consent_until = \"2026-11-24\"\n[fields.\"lock.state\"]\nshare = \"on_request\"\n\
             [commands]\nallow = [\"lock\"]",
        );
        let s = house(20.0, LockState::Unlocked);
        let now = Clock::at("2026-11-25T12:00:00Z").after(0);
        let (inbound, d) = p.handle_inbound(&directive(format, Cmd::Lock, "c1"), &s, now);
        assert!(
            matches!(inbound, Inbound::Silent),
            "the lock is not carried out"
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DecisionKind::CommandRefused);
        assert!(
            d[0].detail.contains("consent_until 2026-11-24 has passed"),
            "{d:?}"
        );
        assert!(p.capability(now).0.is_none());
        let (o, _) = p.answer_state_request(b"{}", &s, now);
        assert!(o.is_none());
        assert!(p.on_state(&s, now).0.is_empty());
    }
}
