//! Signed unlock end to end through `parse_command`: a command made by `sign_unlock` is
//! accepted exactly once; forged, expired, future, replayed, unknown-client, pre-start and
//! key-less unlocks are refused with their codes, and a refusal never consumes the nonce.

use hearth_api::{
    CommandGuard, CommandTarget, MessageId, Rejected, Secrets, Topics, code, parse_command,
    sign_unlock,
};
use hearth_model::{CommandKind, LockAction, Source, UnixMillis};
use serde_json::Value;
use std::time::Duration;

const NOW_S: i64 = 1_795_610_096;
const NOW: UnixMillis = UnixMillis(NOW_S * 1000);
const STARTED: UnixMillis = UnixMillis((NOW_S - 3600) * 1000);
const ALICE_KEY: [u8; 32] = [0xA1; 32];
const BOB_KEY: [u8; 40] = [0xB0; 40];

fn topics() -> Topics {
    Topics::new("hearth", "homeassistant")
}

fn guard_with_max_age(max_age: Duration) -> CommandGuard {
    let secrets =
        Secrets::from_keys([("alice", ALICE_KEY.to_vec()), ("bob", BOB_KEY.to_vec())]).unwrap();
    CommandGuard::new(secrets, STARTED, max_age)
}

fn guard() -> CommandGuard {
    guard_with_max_age(Duration::from_secs(60))
}

fn send(g: &mut CommandGuard, cmd: &Value, now: UnixMillis) -> Result<Source, Rejected> {
    let bytes = serde_json::to_vec(cmd).unwrap();
    parse_command(CommandTarget::Lock, &bytes, &topics(), g, now).map(|p| {
        assert_eq!(p.command.kind, CommandKind::Lock(LockAction::Unlock));
        p.command.source
    })
}

fn code_of(r: Result<Source, Rejected>) -> &'static str {
    r.expect_err("should have been refused").error.code
}

#[test]
fn round_trip_is_accepted_once() {
    let mut g = guard();
    let cmd = sign_unlock("alice", &ALICE_KEY, NOW_S, "n0nce-aaaaaaaaaaaa", "req-1");
    assert_eq!(
        send(&mut g, &cmd, NOW).unwrap(),
        Source::Local("alice".into())
    );
    assert_eq!(code_of(send(&mut g, &cmd, NOW)), code::REPLAYED_NONCE);
    // The same nonce under another client's valid signature is still a replay.
    let other = sign_unlock("bob", &BOB_KEY, NOW_S, "n0nce-aaaaaaaaaaaa", "req-2");
    assert_eq!(code_of(send(&mut g, &other, NOW)), code::REPLAYED_NONCE);
}

#[test]
fn numeric_and_absent_ids_sign_as_documented() {
    let mut g = guard();
    // A numeric id is signed as its JSON text.
    let mut cmd = sign_unlock("alice", &ALICE_KEY, NOW_S, "numeric-id-nonce-1", "17");
    cmd["id"] = Value::from(17);
    let p = parse_command(
        CommandTarget::Lock,
        &serde_json::to_vec(&cmd).unwrap(),
        &topics(),
        &mut g,
        NOW,
    )
    .unwrap();
    assert_eq!(p.id, Some(MessageId::from(17)));
    let cmd = sign_unlock("alice", &ALICE_KEY, NOW_S, "no-id-nonce-000001", "");
    assert!(cmd.get("id").is_none());
    assert!(send(&mut g, &cmd, NOW).is_ok());
}

#[test]
fn forged_signatures_are_refused() {
    let mut g = guard();
    let good = sign_unlock("alice", &ALICE_KEY, NOW_S, "forge-test-nonce-01", "req-1");
    // Signed with the wrong key.
    let wrong_key = sign_unlock("alice", &[0x00; 32], NOW_S, "forge-test-nonce-02", "req-1");
    assert_eq!(code_of(send(&mut g, &wrong_key, NOW)), code::BAD_SIGNATURE);
    // Bob's signature presented as Alice.
    let mut as_alice = sign_unlock("bob", &BOB_KEY, NOW_S, "forge-test-nonce-03", "req-1");
    as_alice["client"] = "alice".into();
    assert_eq!(code_of(send(&mut g, &as_alice, NOW)), code::BAD_SIGNATURE);
    // Any signed part changed after signing.
    let tamper: [(&str, Value); 4] = [
        ("id", "req-2".into()),
        ("ts", (NOW_S - 1).into()),
        ("nonce", "forge-test-nonce-99".into()),
        ("sig", Value::from("0".repeat(64))),
    ];
    for (key, value) in tamper {
        let mut cmd = good.clone();
        cmd[key] = value;
        assert_eq!(
            code_of(send(&mut g, &cmd, NOW)),
            code::BAD_SIGNATURE,
            "{key}"
        );
    }
    // Removing the id changes the signed text too.
    let mut cmd = good.clone();
    cmd.as_object_mut().unwrap().remove("id");
    assert_eq!(code_of(send(&mut g, &cmd, NOW)), code::BAD_SIGNATURE);
    // Uppercase hex decodes to the same bytes and is accepted; the original then replays.
    let mut upper = good.clone();
    upper["sig"] = good["sig"].as_str().unwrap().to_uppercase().into();
    assert!(send(&mut g, &upper, NOW).is_ok());
    assert_eq!(code_of(send(&mut g, &good, NOW)), code::REPLAYED_NONCE);
}

#[test]
fn a_refused_command_does_not_use_up_its_nonce() {
    let mut g = guard();
    let mut forged = sign_unlock("alice", &ALICE_KEY, NOW_S, "shared-nonce-00001", "");
    forged["sig"] = Value::from("ab".repeat(32));
    assert_eq!(code_of(send(&mut g, &forged, NOW)), code::BAD_SIGNATURE);
    let real = sign_unlock("alice", &ALICE_KEY, NOW_S, "shared-nonce-00001", "");
    assert!(send(&mut g, &real, NOW).is_ok());
}

#[test]
fn timestamps_outside_the_window_are_refused() {
    let mut g = guard();
    let at = |ts: i64, nonce: &str| sign_unlock("alice", &ALICE_KEY, ts, nonce, "");
    assert!(send(&mut g, &at(NOW_S - 30, "window-edge-past-01"), NOW).is_ok());
    assert!(send(&mut g, &at(NOW_S + 30, "window-edge-futr-01"), NOW).is_ok());
    assert_eq!(
        code_of(send(&mut g, &at(NOW_S - 31, "too-old-nonce-0001"), NOW)),
        code::EXPIRED
    );
    assert_eq!(
        code_of(send(&mut g, &at(NOW_S + 31, "too-new-nonce-0001"), NOW)),
        code::FUTURE_TIMESTAMP
    );
    // A tighter mqtt.command_max_age tightens the window.
    let mut strict = guard_with_max_age(Duration::from_secs(10));
    assert_eq!(
        code_of(send(
            &mut strict,
            &at(NOW_S - 11, "strict-nonce-00001"),
            NOW
        )),
        code::EXPIRED
    );
    assert!(send(&mut strict, &at(NOW_S - 10, "strict-nonce-00002"), NOW).is_ok());
}

#[test]
fn commands_signed_before_the_daemon_started_are_refused() {
    // Restarted 5 s ago: a command signed 10 s ago is inside ±30 s but could be a replay of
    // one accepted before the restart, whose nonce memory is gone.
    let secrets = Secrets::from_keys([("alice", ALICE_KEY.to_vec())]).unwrap();
    let mut g = CommandGuard::new(secrets, UnixMillis(NOW.0 - 5_000), Duration::from_secs(60));
    let old = sign_unlock("alice", &ALICE_KEY, NOW_S - 10, "before-start-nonce1", "");
    assert_eq!(code_of(send(&mut g, &old, NOW)), code::EXPIRED);
    let fresh = sign_unlock("alice", &ALICE_KEY, NOW_S - 4, "after-start-nonce01", "");
    assert!(send(&mut g, &fresh, NOW).is_ok());
}

#[test]
fn unknown_client_and_disabled_unlock() {
    let mut g = guard();
    let cmd = sign_unlock("carol", &[0xC0; 32], NOW_S, "carol-nonce-000001", "");
    assert_eq!(code_of(send(&mut g, &cmd, NOW)), code::UNKNOWN_CLIENT);

    let mut none = CommandGuard::new(Secrets::empty(), STARTED, Duration::from_secs(60));
    assert!(!none.unlock_enabled());
    let cmd = sign_unlock("alice", &ALICE_KEY, NOW_S, "disabled-nonce-0001", "");
    assert_eq!(code_of(send(&mut none, &cmd, NOW)), code::UNLOCK_DISABLED);
    let bare = serde_json::json!({"action": "unlock"});
    assert_eq!(code_of(send(&mut none, &bare, NOW)), code::UNLOCK_DISABLED);
}

#[test]
fn a_full_nonce_cache_refuses_with_busy_until_nonces_age_out() {
    let mut g = guard().with_nonce_capacity(2);
    for n in ["busy-test-nonce-001", "busy-test-nonce-002"] {
        assert!(send(&mut g, &sign_unlock("alice", &ALICE_KEY, NOW_S, n, ""), NOW).is_ok());
    }
    let third = sign_unlock("alice", &ALICE_KEY, NOW_S, "busy-test-nonce-003", "");
    assert_eq!(code_of(send(&mut g, &third, NOW)), code::BUSY);
    // 31 s later the first two have left the window; a fresh command fits again.
    let later = UnixMillis(NOW.0 + 31_000);
    let fresh = sign_unlock("alice", &ALICE_KEY, NOW_S + 31, "busy-test-nonce-004", "");
    assert!(send(&mut g, &fresh, later).is_ok());
}
