//! The `alexa` format: message shapes, discovery flags, directives — and, when
//! HEARTH_ALEXA_SCHEMA names Amazon's schema file, validation with Python's `jsonschema`.

mod common;

use common::{Clock, house, json, policy};
use hearth_model::{CommandKind, LockAction, LockState, Mode, ThermostatChange};
use hearth_policy::{
    CommandError, CommandErrorCode, Format, Inbound, Outbound, Policy, TOPIC_DISCOVERY,
};
use serde_json::Value as J;

const POLICY: &str = r#"[fields."thermostat.temperature"]
share = "on_change"
round = 0.5
[fields."thermostat.mode"]
share = "on_request"
[fields."thermostat.setpoint_heat"]
share = "on_request"
[fields."thermostat.setpoint_cool"]
share = "on_request"
[fields."lock.state"]
share = "on_change"
[commands]
allow = ["set_setpoint", "set_mode", "lock"]"#;

/// A directive with a fresh messageId each time (a repeated one is refused as a replay).
fn directive(ns: &str, name: &str, endpoint: &str, payload: J) -> Vec<u8> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    serde_json::to_vec(&serde_json::json!({
        "directive": {
            "header": {
                "namespace": ns, "name": name, "payloadVersion": "3",
                "messageId": format!("abc-{id}"), "correlationToken": "corr-token-1"
            },
            "endpoint": { "endpointId": endpoint, "cookie": {} },
            "payload": payload
        }
    }))
    .unwrap()
}

fn props(v: &J) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["namespace"].as_str().unwrap().into(),
                p["name"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// One of each message kind the schema test checks, with its name.
fn sample_messages() -> Vec<(&'static str, Outbound)> {
    let mut p = policy(Format::Alexa, POLICY);
    let clock = Clock::at("2026-11-25T12:00:00.250Z");
    let s = house(21.3, LockState::Locked);
    let mut out = Vec::new();
    let (reports, _) = p.on_state(&s, clock.after(0));
    for (i, r) in reports.into_iter().enumerate() {
        out.push((
            if i == 0 {
                "ChangeReport.thermostat"
            } else {
                "ChangeReport.lock"
            },
            r,
        ));
    }
    let (r, _) = p.answer_state_request(
        &directive(
            "Alexa",
            "ReportState",
            "hearth-thermostat",
            J::Object(Default::default()),
        ),
        &s,
        clock.after(1),
    );
    out.push(("StateReport", r.unwrap()));
    let (cap, _) = p.capability(clock.after(2));
    out.push(("Discover.Response", cap.unwrap()));
    let (Inbound::Command { reply, .. }, _) = p.handle_inbound(
        &directive(
            "Alexa.LockController",
            "Lock",
            "hearth-lock",
            serde_json::json!({}),
        ),
        &s,
        clock.after(3),
    ) else {
        panic!("Lock is allowed")
    };
    let (r, _) = p.command_reply(reply, Ok(()), &s, clock.after(4));
    out.push(("LockController.Lock.response", r));
    let (Inbound::Reply(r), _) = p.handle_inbound(
        &directive(
            "Alexa.LockController",
            "Unlock",
            "hearth-lock",
            serde_json::json!({}),
        ),
        &s,
        clock.after(5),
    ) else {
        panic!("Unlock is not allowed")
    };
    out.push(("ErrorResponse.not_allowed", r));
    let target = serde_json::json!({"targetSetpoint": {"value": 80.0, "scale": "FAHRENHEIT"}});
    let (Inbound::Command { reply, .. }, _) = p.handle_inbound(
        &directive(
            "Alexa.ThermostatController",
            "SetTargetTemperature",
            "hearth-thermostat",
            target.clone(),
        ),
        &s,
        clock.after(6),
    ) else {
        panic!("set_setpoint is allowed")
    };
    let err = CommandError::new(
        CommandErrorCode::SetpointOutOfRange,
        "heat setpoint 26.67 is above 26",
    );
    let (r, _) = p.command_reply(reply, Err(err), &s, clock.after(7));
    out.push(("ErrorResponse.out_of_range", r));
    let (Inbound::Command { reply, .. }, _) = p.handle_inbound(
        &directive(
            "Alexa.ThermostatController",
            "SetTargetTemperature",
            "hearth-thermostat",
            target,
        ),
        &s,
        clock.after(8),
    ) else {
        panic!("set_setpoint is allowed")
    };
    let (r, _) = p.command_reply(
        reply,
        Err(CommandError::new(
            CommandErrorCode::SetpointsTooClose,
            "too close to the cool setpoint",
        )),
        &s,
        clock.after(9),
    );
    out.push(("ErrorResponse.thermostat", r));
    let (Inbound::Command { reply, .. }, _) = p.handle_inbound(
        &directive(
            "Alexa.ThermostatController",
            "SetThermostatMode",
            "hearth-thermostat",
            serde_json::json!({"thermostatMode": {"value": "COOL"}}),
        ),
        &s,
        clock.after(10),
    ) else {
        panic!("set_mode is allowed")
    };
    let (r, _) = p.command_reply(reply, Ok(()), &s, clock.after(11));
    out.push(("ThermostatController.Response", r));
    out
}

#[test]
fn change_reports_carry_only_proactive_fields_per_endpoint() {
    let msgs = sample_messages();
    let v = json(msgs[0].1.bytes());
    assert_eq!(v["event"]["header"]["name"], "ChangeReport");
    assert_eq!(v["event"]["endpoint"]["endpointId"], "hearth-thermostat");
    let change = &v["event"]["payload"]["change"];
    assert_eq!(change["cause"]["type"], "PHYSICAL_INTERACTION");
    assert_eq!(
        props(&change["properties"]),
        vec![("Alexa.TemperatureSensor".into(), "temperature".into())]
    );
    assert_eq!(
        change["properties"][0]["value"],
        serde_json::json!({"value": 21.5, "scale": "CELSIUS"})
    );
    assert_eq!(
        change["properties"][0]["timeOfSample"],
        "2026-11-25T12:00:00.250Z"
    );
    assert!(
        v.get("context").is_none(),
        "no unrequested context in a ChangeReport"
    );
    let v = json(msgs[1].1.bytes());
    assert_eq!(v["event"]["endpoint"]["endpointId"], "hearth-lock");
    assert_eq!(
        v["event"]["payload"]["change"]["properties"][0]["value"],
        "LOCKED"
    );
}

#[test]
fn state_report_answers_with_on_request_fields_and_the_correlation_token() {
    let msgs = sample_messages();
    let v = json(
        msgs.iter()
            .find(|(n, _)| *n == "StateReport")
            .unwrap()
            .1
            .bytes(),
    );
    assert_eq!(v["event"]["header"]["correlationToken"], "corr-token-1");
    let names = props(&v["context"]["properties"]);
    let want: Vec<(String, String)> = [
        ("Alexa.TemperatureSensor", "temperature"),
        ("Alexa.ThermostatController", "lowerSetpoint"),
        ("Alexa.ThermostatController", "upperSetpoint"),
        ("Alexa.ThermostatController", "targetSetpoint"),
        ("Alexa.ThermostatController", "thermostatMode"),
        ("Alexa.EndpointHealth", "connectivity"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(names, want);
}

#[test]
fn discovery_declares_only_what_the_policy_shares() {
    let msgs = sample_messages();
    let (_, cap) = msgs
        .iter()
        .find(|(n, _)| *n == "Discover.Response")
        .unwrap();
    assert_eq!(cap.topic_suffix(), TOPIC_DISCOVERY);
    let v = json(cap.bytes());
    let eps = v["event"]["payload"]["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    let iface = |ep: &J, name: &str| {
        ep["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["interface"] == name)
            .cloned()
    };
    let sensor = iface(&eps[0], "Alexa.TemperatureSensor").unwrap();
    assert_eq!(sensor["properties"]["proactivelyReported"], true);
    let thermo = iface(&eps[0], "Alexa.ThermostatController").unwrap();
    assert_eq!(
        thermo["properties"]["proactivelyReported"], false,
        "mode/setpoints are on_request"
    );
    assert_eq!(thermo["properties"]["retrievable"], true);
    let lock = iface(&eps[1], "Alexa.LockController").unwrap();
    assert_eq!(lock["properties"]["proactivelyReported"], true);

    // A policy sharing nothing and allowing nothing declares no endpoint at all.
    let mut empty = policy(Format::Alexa, "");
    let (cap, _) = empty.capability(Clock::at("2026-11-25T12:00:00Z").after(0));
    assert_eq!(
        json(cap.unwrap().bytes())["event"]["payload"]["endpoints"],
        serde_json::json!([])
    );
    // Commands only: the lock endpoint is there, with no retrievable property.
    let mut cmd = policy(Format::Alexa, "[commands]\nallow = [\"lock\"]");
    let (cap, _) = cmd.capability(Clock::at("2026-11-25T12:00:00Z").after(0));
    let v = json(cap.unwrap().bytes());
    let eps = v["event"]["payload"]["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 1);
    let lock = iface(&eps[0], "Alexa.LockController").unwrap();
    assert_eq!(lock["properties"]["supported"], serde_json::json!([]));
    assert_eq!(lock["properties"]["retrievable"], false);
}

#[test]
fn directives_become_commands_in_celsius() {
    let mut p = policy(Format::Alexa, POLICY);
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(21.0, LockState::Unlocked);
    let run = |p: &mut Policy, raw: Vec<u8>| match p.handle_inbound(&raw, &s, clock.after(0)).0 {
        Inbound::Command { command, .. } => command.kind,
        Inbound::Reply(r) => panic!("refused: {}", String::from_utf8_lossy(r.bytes())),
        Inbound::Silent => panic!("silent"),
    };
    let k = run(
        &mut p,
        directive(
            "Alexa.ThermostatController",
            "SetTargetTemperature",
            "hearth-thermostat",
            serde_json::json!({"targetSetpoint": {"value": 68.0, "scale": "FAHRENHEIT"}}),
        ),
    );
    assert_eq!(
        k,
        CommandKind::Thermostat(ThermostatChange {
            setpoint_heat: Some(20.0),
            ..Default::default()
        })
    );
    let k = run(
        &mut p,
        directive(
            "Alexa.ThermostatController",
            "SetTargetTemperature",
            "hearth-thermostat",
            serde_json::json!({"lowerSetpoint": {"value": 19.0, "scale": "CELSIUS"}, "upperSetpoint": {"value": 297.15, "scale": "KELVIN"}}),
        ),
    );
    assert_eq!(
        k,
        CommandKind::Thermostat(ThermostatChange {
            setpoint_heat: Some(19.0),
            setpoint_cool: Some(24.0),
            ..Default::default()
        })
    );
    let k = run(
        &mut p,
        directive(
            "Alexa.ThermostatController",
            "AdjustTargetTemperature",
            "hearth-thermostat",
            serde_json::json!({"targetSetpointDelta": {"value": -2.0, "scale": "CELSIUS"}}),
        ),
    );
    assert_eq!(
        k,
        CommandKind::Thermostat(ThermostatChange {
            setpoint_heat: Some(18.0),
            ..Default::default()
        })
    );
    let k = run(
        &mut p,
        directive(
            "Alexa.ThermostatController",
            "SetThermostatMode",
            "hearth-thermostat",
            serde_json::json!({"thermostatMode": {"value": "AUTO"}}),
        ),
    );
    assert_eq!(
        k,
        CommandKind::Thermostat(ThermostatChange {
            mode: Some(Mode::Auto),
            ..Default::default()
        })
    );
    let k = run(
        &mut p,
        directive(
            "Alexa.LockController",
            "Lock",
            "hearth-lock",
            serde_json::json!({}),
        ),
    );
    assert_eq!(k, CommandKind::Lock(LockAction::Lock));
    // A lock directive at the thermostat, or an unknown endpoint, is an error reply.
    for (raw, kind) in [
        (
            directive(
                "Alexa.LockController",
                "Lock",
                "hearth-thermostat",
                serde_json::json!({}),
            ),
            "INVALID_DIRECTIVE",
        ),
        (
            directive(
                "Alexa.LockController",
                "Lock",
                "garage",
                serde_json::json!({}),
            ),
            "NO_SUCH_ENDPOINT",
        ),
        (b"{}".to_vec(), "INVALID_DIRECTIVE"),
    ] {
        let Inbound::Reply(r) = p.handle_inbound(&raw, &s, clock.after(0)).0 else {
            panic!()
        };
        assert_eq!(json(r.bytes())["event"]["payload"]["type"], kind);
    }
}

#[test]
fn unlock_with_alexa_voice_code_is_accepted_only_when_configured() {
    let cfg = r#"[commands]
allow = ["unlock"]
unlock_pin = { checked_by = "alexa" }"#;
    let mut p = policy(Format::Alexa, cfg);
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(21.0, LockState::Locked);
    let (inbound, d) = p.handle_inbound(
        &directive(
            "Alexa.LockController",
            "Unlock",
            "hearth-lock",
            serde_json::json!({}),
        ),
        &s,
        clock.after(0),
    );
    let Inbound::Command { command, reply } = inbound else {
        panic!("unlock is allowed")
    };
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].kind, hearth_policy::DecisionKind::CommandAllowed);
    assert_eq!(command.kind, CommandKind::Lock(LockAction::Unlock));
    let (_, d) = p.command_reply(reply, Ok(()), &s, clock.after(1));
    assert!(d[0].detail.contains("voice code checked by Alexa"), "{d:?}");
}

#[test]
fn fan_only_mode_is_withheld_because_alexa_cannot_say_it() {
    let mut p = policy(
        Format::Alexa,
        r#"[fields."thermostat.mode"]
share = "on_change""#,
    );
    let mut s = house(21.0, LockState::Locked);
    s.thermostat.mode = Mode::FanOnly;
    let (out, d) = p.on_state(&s, Clock::at("2026-11-25T12:00:00Z").after(0));
    assert!(out.is_empty());
    assert!(
        d.iter()
            .any(|d| d.detail.contains("no thermostat mode for `fan_only`")),
        "{d:?}"
    );
}

/// Validate every sample against Amazon's schema with Python's jsonschema (draft-04).
#[test]
fn messages_validate_against_amazons_schema() {
    let msgs = sample_messages();
    let named: Vec<(String, Vec<u8>)> = msgs
        .iter()
        .map(|(n, m)| (n.to_string(), m.bytes().to_vec()))
        .collect();
    common::validate_alexa(&named);
}
