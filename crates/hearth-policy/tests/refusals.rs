//! Every refusal the parser (not JSON, duplicate keys, unknown device) and the policy (not
//! allowed, no id, PIN needed / wrong / locked out, replay, mode, request budget) produce,
//! in every format, as the exact bytes the cloud receives; the controllers' refusals are in
//! `refusals_house.rs`. Alexa replies are also checked against Amazon's schema when
//! HEARTH_ALEXA_SCHEMA is set.

mod common;

use common::commands::{Cmd, directive};
use common::replies::*;
use common::{Clock, house, json};
use hearth_model::{LockState, Mode};
use hearth_policy::pin::MAX_FAILED_ATTEMPTS;
use hearth_policy::{CommandErrorCode, DecisionKind, Format, Inbound, Policy};

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
