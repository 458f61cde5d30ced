//! Unlock with a code (Home Assistant's path) and the mode-relative `setpoint`, end to end
//! through `parse_command`: the right code unlocks as the client, wrong codes are refused
//! and lock the client out, codes on lock are ignored, and nothing echoes a code.

use hearth_api::{CommandGuard, CommandTarget, Rejected, Secrets, Topics, code, parse_command};
use hearth_model::{Command, CommandKind, LockAction, Source, ThermostatChange, UnixMillis};
use hearth_policy::pin::PinHash;
use std::collections::BTreeMap;
use std::time::Duration;

const NOW: UnixMillis = UnixMillis(1_795_610_096_000);

fn guard(with_keys: bool) -> CommandGuard {
    let mut codes = BTreeMap::new();
    codes.insert(
        "home_assistant".to_owned(),
        PinHash::derive("4711", "s", 10_000),
    );
    let secrets = if with_keys {
        Secrets::from_keys([("alice", vec![1u8; 32])]).unwrap()
    } else {
        Secrets::empty()
    };
    CommandGuard::new(
        secrets.with_codes(codes),
        UnixMillis(0),
        Duration::from_secs(10),
    )
}

fn send(g: &mut CommandGuard, target: CommandTarget, json: &str) -> Result<Command, Rejected> {
    parse_command(
        target,
        json.as_bytes(),
        &Topics::new("hearth", "homeassistant"),
        g,
        NOW,
    )
    .map(|p| p.command)
}

#[test]
fn the_right_code_unlocks_as_its_client_even_without_signing_keys() {
    for keys in [false, true] {
        let mut g = guard(keys);
        let c = send(
            &mut g,
            CommandTarget::Lock,
            r#"{"action":"unlock","client":"home_assistant","code":"4711"}"#,
        )
        .unwrap();
        assert_eq!(c.kind, CommandKind::Lock(LockAction::Unlock));
        assert_eq!(c.source, Source::Local("home_assistant".into()));
    }
}

#[test]
fn wrong_codes_are_refused_then_locked_out_and_never_echoed() {
    let mut g = guard(false);
    let wrong = r#"{"action":"unlock","client":"home_assistant","code":"918273"}"#;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let r = send(&mut g, CommandTarget::Lock, wrong).unwrap_err();
        assert!(!r.error.message.contains("918273"), "{}", r.error.message);
        codes.push(r.error.code);
    }
    assert_eq!(
        codes,
        [
            code::WRONG_CODE,
            code::WRONG_CODE,
            code::LOCKED_OUT,
            code::LOCKED_OUT
        ]
    );
    // Locked out: even the right code is not checked now.
    let right = r#"{"action":"unlock","client":"home_assistant","code":"4711"}"#;
    assert_eq!(
        send(&mut g, CommandTarget::Lock, right)
            .unwrap_err()
            .error
            .code,
        code::LOCKED_OUT
    );
    assert!(
        g.codes().take_changed().is_some(),
        "the lockout is to be saved"
    );
}

#[test]
fn code_rules() {
    let mut g = guard(false);
    let cases = [
        // A client without a code.
        (
            r#"{"action":"unlock","client":"alice","code":"4711"}"#,
            code::UNKNOWN_CLIENT,
        ),
        // A code needs the client that owns it.
        (r#"{"action":"unlock","code":"4711"}"#, code::MISSING_FIELD),
        // Code and signature together.
        (
            r#"{"action":"unlock","client":"home_assistant","code":"4711","ts":1,"nonce":"aaaaaaaaaaaaaaaa","sig":"00"}"#,
            code::INVALID_VALUE,
        ),
        // Home Assistant's unlock without a code: said plainly.
        (
            r#"{"action":"unlock","client":"home_assistant"}"#,
            code::MISSING_FIELD,
        ),
        (
            r#"{"action":"unlock","client":"home_assistant","code":4711}"#,
            code::WRONG_TYPE,
        ),
    ];
    for (json, expect) in cases {
        let r = send(&mut g, CommandTarget::Lock, json).unwrap_err();
        assert_eq!(r.error.code, expect, "{json}: {}", r.error.message);
    }
    // Home Assistant sends its code with lock too: accepted, the code unused.
    let c = send(
        &mut g,
        CommandTarget::Lock,
        r#"{"action":"lock","client":"home_assistant","code":"0000"}"#,
    )
    .unwrap();
    assert_eq!(c.kind, CommandKind::Lock(LockAction::Lock));
    assert!(
        g.codes().lockouts().is_empty(),
        "a lock never counts as a try"
    );
}

#[test]
fn setpoint_is_passed_on_for_the_controller_to_resolve() {
    let mut g = guard(false);
    let c = send(
        &mut g,
        CommandTarget::Thermostat,
        r#"{"setpoint":23,"client":"home_assistant"}"#,
    )
    .unwrap();
    assert_eq!(
        c.kind,
        CommandKind::Thermostat(ThermostatChange {
            setpoint: Some(23.0),
            ..Default::default()
        })
    );
    let r = send(&mut g, CommandTarget::Thermostat, r#"{"setpoint":"warm"}"#).unwrap_err();
    assert_eq!(r.error.code, code::WRONG_TYPE);
}
