//! Command parsing as a client sees it: malformed payloads get exact error codes (with the id
//! echoed when readable), good payloads become `hearth_model::Command`s, and anything
//! whatsoever yields a reply instead of a panic.

use hearth_api::{
    CommandGuard, CommandTarget, MessageId, Secrets, Topics, code, parse_command, parse_sim_control,
};
use hearth_model::{
    Command, CommandKind, FanMode, LockAction, Mode, Source, ThermostatChange, UnixMillis,
};
use proptest::prelude::*;
use std::time::Duration;

const NOW: UnixMillis = UnixMillis(1_795_610_096_000);
const NOW_S: i64 = 1_795_610_096;

fn topics() -> Topics {
    Topics::new("hearth", "homeassistant")
}

fn guard() -> CommandGuard {
    let secrets = Secrets::from_keys([("alice", vec![0xA1; 32])]).unwrap();
    CommandGuard::new(secrets, UnixMillis(0), Duration::from_secs(10))
}

fn parse(target: CommandTarget, payload: &str) -> Result<Command, (Option<MessageId>, String)> {
    parse_command(target, payload.as_bytes(), &topics(), &mut guard(), NOW)
        .map(|p| p.command)
        .map_err(|r| (r.id, r.error.code.to_string()))
}

#[test]
fn malformed_commands_get_exact_codes() {
    use CommandTarget::{Lock as L, Thermostat as T};
    let big = format!("{{\"mode\":\"heat\",\"client\":\"{}\"}}", "x".repeat(5000));
    let cases: Vec<(CommandTarget, String, &str)> = vec![
        // Envelope: size, encoding, JSON, object.
        (T, big, code::PAYLOAD_TOO_LARGE),
        (T, "".into(), code::INVALID_JSON),
        (T, "   ".into(), code::INVALID_JSON),
        (T, "{".into(), code::INVALID_JSON),
        (T, "{\"mode\":\"heat\"} trailing".into(), code::INVALID_JSON),
        (T, "{'mode':'heat'}".into(), code::INVALID_JSON),
        (T, "{\"setpoint_heat\":NaN}".into(), code::INVALID_JSON),
        (T, "{\"setpoint_heat\":Infinity}".into(), code::INVALID_JSON),
        (T, "{\"setpoint_heat\":1e400}".into(), code::INVALID_JSON),
        (T, "[]".into(), code::NOT_AN_OBJECT),
        (T, "\"heat\"".into(), code::NOT_AN_OBJECT),
        (T, "42".into(), code::NOT_AN_OBJECT),
        (T, "null".into(), code::NOT_AN_OBJECT),
        (T, "true".into(), code::NOT_AN_OBJECT),
        (
            T,
            "{\"mode\":\"heat\",\"mode\":\"off\"}".into(),
            code::DUPLICATE_FIELD,
        ),
        // Unknown fields.
        (
            T,
            "{\"mode\":\"heat\",\"colour\":\"red\"}".into(),
            code::UNKNOWN_FIELD,
        ),
        (T, "{\"Mode\":\"heat\"}".into(), code::UNKNOWN_FIELD),
        (T, "{\"action\":\"lock\"}".into(), code::UNKNOWN_FIELD),
        (
            T,
            "{\"mode\":\"heat\",\"nonce\":\"abcdefghijklmnop\"}".into(),
            code::UNKNOWN_FIELD,
        ),
        (
            L,
            "{\"action\":\"lock\",\"mode\":\"heat\"}".into(),
            code::UNKNOWN_FIELD,
        ),
        // Wrong types.
        (T, "{\"mode\":1}".into(), code::WRONG_TYPE),
        (T, "{\"mode\":null}".into(), code::WRONG_TYPE),
        (T, "{\"setpoint_heat\":\"21\"}".into(), code::WRONG_TYPE),
        (T, "{\"setpoint_cool\":[25]}".into(), code::WRONG_TYPE),
        (T, "{\"fan\":true}".into(), code::WRONG_TYPE),
        (
            T,
            "{\"mode\":\"heat\",\"client\":7}".into(),
            code::WRONG_TYPE,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"ts\":\"now\"}".into(),
            code::WRONG_TYPE,
        ),
        (
            T,
            "{\"id\":{\"a\":1},\"mode\":\"heat\"}".into(),
            code::WRONG_TYPE,
        ),
        (T, "{\"id\":[1],\"mode\":\"heat\"}".into(), code::WRONG_TYPE),
        (L, "{\"action\":false}".into(), code::WRONG_TYPE),
        // Values.
        (T, "{\"mode\":\"warm\"}".into(), code::INVALID_VALUE),
        (T, "{\"mode\":\"HEAT\"}".into(), code::INVALID_VALUE),
        (T, "{\"fan\":\"high\"}".into(), code::INVALID_VALUE),
        (
            T,
            "{\"mode\":\"heat\",\"client\":\"bad name\"}".into(),
            code::INVALID_VALUE,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"client\":\"\"}".into(),
            code::INVALID_VALUE,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"ts\":1.5}".into(),
            code::INVALID_VALUE,
        ),
        (
            T,
            format!("{{\"id\":\"{}\",\"mode\":\"heat\"}}", "i".repeat(129)),
            code::INVALID_VALUE,
        ),
        (L, "{\"action\":\"open\"}".into(), code::INVALID_VALUE),
        (
            L,
            "{\"action\":\"lock\",\"sig\":\"00\"}".into(),
            code::INVALID_VALUE,
        ),
        // Missing / empty.
        (L, "{}".into(), code::MISSING_FIELD),
        (L, "{\"client\":\"alice\"}".into(), code::MISSING_FIELD),
        (T, "{}".into(), code::EMPTY_COMMAND),
        (
            T,
            "{\"id\":1,\"client\":\"alice\"}".into(),
            code::EMPTY_COMMAND,
        ),
        // reply_to.
        (
            T,
            "{\"mode\":\"heat\",\"reply_to\":\"a/#\"}".into(),
            code::INVALID_REPLY_TO,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"reply_to\":\"hearth/thermostat/set\"}".into(),
            code::INVALID_REPLY_TO,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"reply_to\":\"\"}".into(),
            code::INVALID_REPLY_TO,
        ),
        (
            T,
            "{\"mode\":\"heat\",\"reply_to\":5}".into(),
            code::INVALID_REPLY_TO,
        ),
        (
            T,
            format!("{{\"mode\":\"heat\",\"reply_to\":\"{}\"}}", "r".repeat(300)),
            code::INVALID_REPLY_TO,
        ),
        // Freshness of an optional ts.
        (
            T,
            format!("{{\"mode\":\"heat\",\"ts\":{}}}", NOW_S - 11),
            code::EXPIRED,
        ),
        (
            T,
            format!("{{\"mode\":\"heat\",\"ts\":{}}}", NOW_S + 11),
            code::FUTURE_TIMESTAMP,
        ),
        // Unlock without a proper signature.
        (
            L,
            "{\"action\":\"unlock\"}".into(),
            code::SIGNATURE_REQUIRED,
        ),
        (
            L,
            "{\"action\":\"unlock\",\"client\":\"alice\"}".into(),
            code::SIGNATURE_REQUIRED,
        ),
        (
            L,
            format!("{{\"action\":\"unlock\",\"client\":\"alice\",\"ts\":{NOW_S}}}"),
            code::MISSING_FIELD,
        ),
        (
            L,
            format!(
                "{{\"action\":\"unlock\",\"ts\":{NOW_S},\"nonce\":\"abcdefghijklmnop\",\"sig\":\"00\"}}"
            ),
            code::MISSING_FIELD,
        ),
        (
            L,
            format!(
                "{{\"action\":\"unlock\",\"client\":\"alice\",\"ts\":{NOW_S},\"nonce\":\"short\",\"sig\":\"00\"}}"
            ),
            code::INVALID_VALUE,
        ),
        (
            L,
            format!(
                "{{\"action\":\"unlock\",\"client\":\"alice\",\"ts\":{NOW_S},\"nonce\":\"abcdefghijklmnop\",\"sig\":\"zz\"}}"
            ),
            code::BAD_SIGNATURE,
        ),
        (
            L,
            format!(
                "{{\"action\":\"unlock\",\"client\":\"mallory\",\"ts\":{NOW_S},\"nonce\":\"abcdefghijklmnop\",\"sig\":\"00\"}}"
            ),
            code::UNKNOWN_CLIENT,
        ),
    ];
    assert!(cases.len() >= 30);
    for (target, payload, expected) in &cases {
        match parse(*target, payload) {
            Ok(cmd) => panic!("{payload:?} was accepted as {cmd:?}; expected {expected}"),
            Err((_, got)) => assert_eq!(&got, expected, "payload {payload:?}"),
        }
    }
}

#[test]
fn non_utf8_is_refused() {
    let r = parse_command(
        CommandTarget::Thermostat,
        b"{\"mode\":\"\xff\"}",
        &topics(),
        &mut guard(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(r.error.code, code::INVALID_UTF8);
}

#[test]
fn the_id_is_echoed_even_when_the_rest_is_bad() {
    let cases = [
        (
            "{\"id\":\"r-1\",\"mode\":\"warm\"}",
            Some(MessageId::from("r-1")),
        ),
        ("{\"mode\":1,\"id\":42}", Some(MessageId::from(42))),
        ("{\"id\":\"r-2\",\"bogus\":1}", Some(MessageId::from("r-2"))),
        (
            "{\"id\":\"r-3\",\"reply_to\":\"a/+\"}",
            Some(MessageId::from("r-3")),
        ),
        (
            "{\"id\":\"r-4\",\"mode\":\"heat\",\"mode\":\"off\"}",
            Some(MessageId::from("r-4")),
        ),
        ("{\"id\":true,\"mode\":\"heat\"}", None),
        ("[1]", None),
    ];
    for (payload, id) in cases {
        let (got, _) = parse(CommandTarget::Thermostat, payload).unwrap_err();
        assert_eq!(got, id, "{payload}");
    }
}

#[test]
fn an_invalid_reply_to_is_never_used_but_a_valid_one_is_kept_on_error() {
    let r = parse_command(
        CommandTarget::Thermostat,
        br#"{"reply_to":"hearth/lock/set","mode":"heat"}"#,
        &topics(),
        &mut guard(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(r.reply_to, None);
    assert_eq!(
        r.reply_topic(topics().command_response(CommandTarget::Thermostat)),
        "hearth/response/thermostat/set"
    );
    let r = parse_command(
        CommandTarget::Thermostat,
        br#"{"reply_to":"hearth/client/me/replies","mode":"warm"}"#,
        &topics(),
        &mut guard(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(r.reply_topic("unused"), "hearth/client/me/replies");
}

#[test]
fn good_thermostat_commands() {
    let cmd = parse(
        CommandTarget::Thermostat,
        r#"{"mode":"heat","setpoint_heat":21.0}"#,
    )
    .unwrap();
    assert_eq!(
        cmd,
        Command {
            source: Source::Local("local".into()),
            kind: CommandKind::Thermostat(ThermostatChange {
                mode: Some(Mode::Heat),
                setpoint_heat: Some(21.0),
                ..Default::default()
            }),
        }
    );
    let cmd = parse(
        CommandTarget::Thermostat,
        &format!(
            r#"{{"id":3,"fan":"on","setpoint_cool":-100,"mode":"fan_only","client":"kitchen-panel","ts":{NOW_S}}}"#
        ),
    )
    .unwrap();
    // Range checks are the controller's: -100 passes here.
    assert_eq!(
        cmd.kind,
        CommandKind::Thermostat(ThermostatChange {
            mode: Some(Mode::FanOnly),
            fan: Some(FanMode::On),
            setpoint_cool: Some(-100.0),
            setpoint_heat: None,
            setpoint: None,
        })
    );
    assert_eq!(cmd.source, Source::Local("kitchen-panel".into()));
}

#[test]
fn lock_needs_no_signature_even_with_keys() {
    for g in [
        guard(),
        CommandGuard::new(Secrets::empty(), UnixMillis(0), Duration::from_secs(10)),
    ] {
        let mut g = g;
        let p = parse_command(
            CommandTarget::Lock,
            br#"{"id":"x","action":"lock","reply_to":"hearth/client/me/r"}"#,
            &topics(),
            &mut g,
            NOW,
        )
        .unwrap();
        assert_eq!(p.command.kind, CommandKind::Lock(LockAction::Lock));
        assert_eq!(p.id, Some(MessageId::from("x")));
        assert_eq!(
            p.reply_topic(&topics(), CommandTarget::Lock),
            "hearth/client/me/r"
        );
    }
}

#[test]
fn sim_control_keeps_the_body_for_the_simulator() {
    let s = parse_sim_control(br#"{"id":1,"door":"open"}"#, &topics()).unwrap();
    assert_eq!(s.body.get("door").unwrap(), "open");
    assert!(!s.body.contains_key("id"));
    assert_eq!(s.reply_topic(&topics()), "hearth/response/sim/set");
    let r = parse_sim_control(br#"{"id":1}"#, &topics()).unwrap_err();
    assert_eq!(r.error.code, code::EMPTY_COMMAND);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_get_a_known_code(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for target in [CommandTarget::Thermostat, CommandTarget::Lock] {
            if let Err(r) = parse_command(target, &bytes, &topics(), &mut guard(), NOW) {
                prop_assert!(code::ALL.contains(&r.error.code), "{}", r.error.code);
            }
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        keys in proptest::collection::vec("[a-z_]{1,14}", 0..6),
        vals in proptest::collection::vec(prop_oneof![
            Just("null".to_string()), Just("\"heat\"".to_string()), Just("21.5".to_string()),
            Just("\"unlock\"".to_string()), Just("[]".to_string()), Just("{}".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
        ], 0..6),
    ) {
        let body: Vec<String> = keys.iter().zip(&vals).map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let payload = format!("{{{}}}", body.join(","));
        for target in [CommandTarget::Thermostat, CommandTarget::Lock] {
            match parse_command(target, payload.as_bytes(), &topics(), &mut guard(), NOW) {
                Ok(p) => prop_assert!(!matches!(p.command.kind, CommandKind::Lock(LockAction::Unlock))),
                Err(r) => prop_assert!(code::ALL.contains(&r.error.code)),
            }
        }
    }
}
