//! The `google` format: report-state, SYNC, QUERY, EXECUTE and the unlock PIN challenge.

mod common;

use common::{Clock, house, json, policy};
use hearth_model::{CommandKind, LockAction, LockState};
use hearth_policy::{Format, Inbound, pin::MAX_FAILED_ATTEMPTS};
use serde_json::json;

// PBKDF2-SHA256("1234", "hearth-salt", 10000), from Python's hashlib.
const POLICY: &str = r#"[fields."thermostat.temperature"]
share = "on_change"
[fields."thermostat.humidity"]
share = "on_request"
round = 5
[fields."thermostat.mode"]
share = "on_request"
[fields."thermostat.setpoint_heat"]
share = "on_request"
[fields."lock.state"]
share = "on_request"
[commands]
allow = ["lock", "unlock"]
unlock_pin = { pbkdf2_sha256 = "0386c9a1d3ac2d1d24933d6085fb26f3db83a4b3fce21e0942b526cf20a5616b", salt = "hearth-salt", iterations = 10000 }"#;

/// An unlock EXECUTE with a fresh requestId each time (a repeated one is a replay).
fn unlock(pin: Option<&str>) -> Vec<u8> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = format!("r-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut exec =
        json!({"command": "action.devices.commands.LockUnlock", "params": {"lock": false}});
    if let Some(pin) = pin {
        exec["challenge"] = json!({"pin": pin});
    }
    serde_json::to_vec(&json!({
        "requestId": id,
        "inputs": [{"intent": "action.devices.EXECUTE", "payload": {"commands": [
            {"devices": [{"id": "hearth-lock"}], "execution": [exec]}
        ]}}]
    }))
    .unwrap()
}

#[test]
fn report_state_carries_only_proactive_fields() {
    let mut p = policy(Format::Google, POLICY);
    let (out, _) = p.on_state(
        &house(21.3, LockState::Locked),
        Clock::at("2026-11-25T12:00:00Z").after(0),
    );
    let v = json(out[0].bytes());
    assert_eq!(v["agentUserId"], "hearth");
    assert_eq!(
        v["payload"]["devices"]["states"],
        json!({"hearth-thermostat": {"thermostatTemperatureAmbient": 21.3}})
    );
}

#[test]
fn sync_declares_will_report_state_only_for_proactive_devices() {
    let mut p = policy(Format::Google, POLICY);
    let raw = br#"{"requestId":"s-1","inputs":[{"intent":"action.devices.SYNC"}]}"#;
    let (Inbound::Reply(r), _) = p.handle_inbound(
        raw,
        &house(20.0, LockState::Locked),
        Clock::at("2026-11-25T12:00:00Z").after(0),
    ) else {
        panic!()
    };
    let v = json(r.bytes());
    assert_eq!(v["requestId"], "s-1");
    let devices = v["payload"]["devices"].as_array().unwrap();
    assert_eq!(devices[0]["type"], "action.devices.types.THERMOSTAT");
    assert_eq!(devices[0]["willReportState"], true);
    assert_eq!(
        devices[0]["attributes"]["queryOnlyTemperatureSetting"], true,
        "no thermostat commands allowed"
    );
    assert_eq!(
        devices[1]["traits"],
        json!(["action.devices.traits.LockUnlock"])
    );
    assert_eq!(
        devices[1]["willReportState"], false,
        "lock.state is on_request"
    );
}

#[test]
fn query_answers_with_on_request_fields_transformed() {
    let mut p = policy(Format::Google, POLICY);
    let raw = br#"{"requestId":"q-1","inputs":[{"intent":"action.devices.QUERY","payload":{"devices":[{"id":"hearth-thermostat"},{"id":"hearth-lock"}]}}]}"#;
    let (Inbound::Reply(r), d) = p.handle_inbound(
        raw,
        &house(20.0, LockState::Jammed),
        Clock::at("2026-11-25T12:00:00Z").after(0),
    ) else {
        panic!()
    };
    assert_eq!(
        json(r.bytes()),
        json!({"requestId": "q-1", "payload": {"devices": {
            "hearth-thermostat": {
                "online": true, "status": "SUCCESS",
                "thermostatTemperatureAmbient": 20.0, "thermostatHumidityAmbient": 40.0,
                "thermostatTemperatureSetpointLow": 20.0, "thermostatTemperatureSetpoint": 20.0,
                "thermostatMode": "heat"
            },
            "hearth-lock": {"online": true, "status": "SUCCESS", "isJammed": true}
        }}})
    );
    assert!(
        d.iter().any(|d| d.detail.starts_with("41.0 -> 40.0")),
        "{d:?}"
    );
}

#[test]
fn unlock_asks_for_the_pin_checks_it_and_locks_out_guessers() {
    let mut p = policy(Format::Google, POLICY);
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Locked);
    let challenge = |p: &mut hearth_policy::Policy, pin: Option<&str>| match p
        .handle_inbound(&unlock(pin), &s, clock.after(0))
        .0
    {
        Inbound::Reply(r) => json(r.bytes())["payload"]["commands"][0].clone(),
        Inbound::Command { .. } => json!("accepted"),
        Inbound::Silent => json!("silent"),
    };
    assert_eq!(
        challenge(&mut p, None),
        json!({"ids": ["hearth-lock"], "status": "ERROR", "errorCode": "challengeNeeded", "challengeNeeded": {"type": "pinNeeded"}})
    );
    assert_eq!(
        challenge(&mut p, Some("9999"))["challengeNeeded"]["type"],
        "challengeFailedPinNeeded"
    );
    let (inbound, d) = p.handle_inbound(&unlock(Some("1234")), &s, clock.after(1));
    let Inbound::Command { command, reply } = inbound else {
        panic!("right PIN is accepted")
    };
    assert_eq!(command.kind, CommandKind::Lock(LockAction::Unlock));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, hearth_policy::DecisionKind::CommandAllowed);
    let (done, d) = p.command_reply(
        reply,
        Ok(()),
        &house(20.0, LockState::Unlocked),
        clock.after(2),
    );
    assert!(d[0].detail.contains("voice PIN checked by hearth"), "{d:?}");
    assert_eq!(
        json(done.bytes())["payload"]["commands"][0],
        json!({"ids": ["hearth-lock"], "status": "SUCCESS", "states": {"online": true, "isLocked": false, "isJammed": false}})
    );
    for _ in 0..MAX_FAILED_ATTEMPTS - 1 {
        assert_eq!(
            challenge(&mut p, Some("0000"))["errorCode"],
            "challengeNeeded"
        );
    }
    assert_eq!(
        challenge(&mut p, Some("0000"))["errorCode"],
        "tooManyFailedAttempts"
    );
    assert_eq!(
        challenge(&mut p, Some("1234"))["errorCode"],
        "tooManyFailedAttempts"
    );
}

#[test]
fn commands_not_allowed_and_bad_intents_are_errors() {
    let mut p = policy(Format::Google, POLICY);
    let s = house(20.0, LockState::Locked);
    let now = Clock::at("2026-11-25T12:00:00Z").after(0);
    let raw = br#"{"requestId":"e-1","inputs":[{"intent":"action.devices.EXECUTE","payload":{"commands":[{"devices":[{"id":"hearth-thermostat"}],"execution":[{"command":"action.devices.commands.ThermostatSetMode","params":{"thermostatMode":"cool"}}]}]}}]}"#;
    let (Inbound::Reply(r), _) = p.handle_inbound(raw, &s, now) else {
        panic!()
    };
    assert_eq!(
        json(r.bytes())["payload"]["commands"][0]["errorCode"],
        "functionNotSupported"
    );
    let (Inbound::Reply(r), _) = p.handle_inbound(
        br#"{"requestId":"x","inputs":[{"intent":"action.devices.FLY"}]}"#,
        &s,
        now,
    ) else {
        panic!()
    };
    assert_eq!(json(r.bytes())["payload"]["errorCode"], "protocolError");
    let (Inbound::Reply(r), _) = p.handle_inbound(br#"{"requestId":"x","inputs":[{"intent":"action.devices.QUERY","payload":{"devices":[{"id":"oven"}]}}]}"#, &s, now) else { panic!() };
    assert_eq!(json(r.bytes())["payload"]["errorCode"], "deviceNotFound");
}
