//! Fuzzing the two parsers that take input from outside: the config file and MQTT commands.
//!
//! proptest-driven and bounded: `HEARTH_FUZZ_CASES` cases per target (default 3000; the test
//! command runs the default), drawn from the fixed seed in `.cargo/config.toml` so every run
//! tries the same cases; set `PROPTEST_RNG_SEED` to explore others. Each input is a mutation of a valid one — lines dropped,
//! duplicated or swapped, values replaced, bytes flipped — so most inputs get deep into the
//! parser instead of failing at the first byte. Properties: no panic; a config error points at
//! a line that exists and names a key; a command is either a typed command or a rejection with
//! a known error code — and an unlock is never accepted without a valid signature.

use hearth_api::{CommandGuard, CommandTarget, Secrets, Topics, parse_command};
use hearth_model::{CommandKind, LockAction, UnixMillis};
use hearthd::config::{self, ConfigError};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

fn cases() -> u32 {
    std::env::var("HEARTH_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Duplicate(usize),
    Swap(usize, usize),
    ReplaceValue(usize, String),
    FlipByte(usize, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let values = prop_oneof![
        Just("\"\"".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("nan".to_owned()),
        Just("[1, 2]".to_owned()),
        Just("{ x = 1 }".to_owned()),
        Just("\"5 fortnights\"".to_owned()),
        Just("true".to_owned()),
        "[ -~]{0,12}".prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), values).prop_map(|(a, v)| Edit::ReplaceValue(a, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::FlipByte(a, b)),
    ];
    prop::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Drop(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Edit::ReplaceValue(i, v) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if let Some(eq) = l.find('=') {
                    *l = format!("{}= {v}", &l[..eq]);
                }
            }
            Edit::FlipByte(i, b) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                let mut bytes = l.clone().into_bytes();
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] = *b;
                }
                *l = String::from_utf8_lossy(&bytes).into_owned();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

/// A key a person can look for: not empty, and no empty part (`mqtt.`, `.port`).
fn names_a_key(key: &str) -> bool {
    !key.is_empty() && !key.split('.').any(str::is_empty)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_configs_never_panic_and_errors_point_at_real_lines(edits in edits()) {
        let text = apply(EXAMPLE, &edits);
        let line_count = text.lines().count().max(1);
        match config::parse(Path::new("fuzz.toml"), &text) {
            Ok(cfg) => prop_assert!(cfg.issues().is_empty()),
            Err(ConfigError::Parse { line, key, message, .. }) => {
                prop_assert!(line >= 1 && line <= line_count + 1, "line {line} of {line_count}");
                prop_assert!(!message.is_empty());
                prop_assert!(names_a_key(&key), "key {key:?}");
            }
            Err(ConfigError::Invalid { problems, .. }) => {
                prop_assert!(!problems.is_empty());
                for p in problems {
                    prop_assert!(p.line <= line_count + 1, "line {} of {line_count}", p.line);
                    prop_assert!(!p.issue.message.is_empty());
                    prop_assert!(names_a_key(&p.issue.key), "key {:?}", p.issue.key);
                }
            }
            Err(ConfigError::Read { .. }) => prop_assert!(false, "parse never reads files"),
        }
    }

    #[test]
    fn mutated_commands_are_typed_or_rejected_with_a_known_code(
        base in prop_oneof![
            Just(r#"{"id":"1","mode":"heat","setpoint_heat":21.5}"#),
            Just(r#"{"id":2,"fan":"on","setpoint_cool":24}"#),
            Just(r#"{"id":"x","action":"lock","client":"hall"}"#),
            Just(r#"{"id":"u","action":"unlock","client":"alice","ts":1795610096,"nonce":"0123456789abcdef","sig":"00"}"#),
        ],
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        lock in any::<bool>(),
    ) {
        let mut bytes = base.as_bytes().to_vec();
        for (i, b) in flips {
            let at = i % bytes.len();
            bytes[at] = b;
        }
        let topics = Topics::new("hearth", "homeassistant");
        let secrets = Secrets::from_keys([("alice", vec![0xab; 32])]).unwrap();
        let now = UnixMillis(1_795_610_096_000);
        let mut guard = CommandGuard::new(secrets, UnixMillis(now.0 - 60_000), Duration::from_secs(10));
        let target = if lock { CommandTarget::Lock } else { CommandTarget::Thermostat };
        match parse_command(target, &bytes, &topics, &mut guard, now) {
            Ok(parsed) => {
                // The signature "00" is never valid: no mutation may turn it into an unlock.
                prop_assert!(parsed.command.kind != CommandKind::Lock(LockAction::Unlock), "unsigned unlock accepted: {:?}", String::from_utf8_lossy(&bytes));
            }
            Err(rejected) => {
                prop_assert!(hearth_api::code::ALL.contains(&rejected.error.code), "unknown code {}", rejected.error.code);
                let reply: serde_json::Value = serde_json::from_slice(&rejected.reply_json()).unwrap();
                prop_assert_eq!(&reply["ok"], &serde_json::Value::Bool(false));
            }
        }
    }
}

/// Values at the edges of every numeric type a field might be read as, and durations that
/// are negative, zero or absurdly long: the class of input that overflowed `now - ts`.
fn extreme_values() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(i64::MIN.to_string()),
        Just(i64::MAX.to_string()),
        Just((i64::MIN + 1).to_string()),
        Just(u64::MAX.to_string()),
        Just(u32::MAX.to_string()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("1e308".to_owned()),
        Just("-1e308".to_owned()),
        Just("5e-324".to_owned()),
        Just("-0.0".to_owned()),
        Just("\"-5s\"".to_owned()),
        Just("\"0s\"".to_owned()),
        Just("\"0ms\"".to_owned()),
        Just("\"18446744073709551615s\"".to_owned()),
        Just("\"99999999999h\"".to_owned()),
        Just("\"584942417355y\"".to_owned()),
        Just("\"1ns\"".to_owned()),
    ]
}

/// Keys hearth knows (besides those in the example file), so extreme values reach the
/// checks behind them instead of failing as unknown keys.
const KNOWN_KEYS: &[(&str, &str)] = &[
    ("[daemon]", "shutdown_timeout"),
    ("[daemon]", "time_zone"),
    ("[hardware]", "poll_interval"),
    ("[hardware]", "input_poll_interval"),
    ("[simulator]", "lock_travel_time"),
    ("[thermostat]", "heat_min_off"),
    ("[thermostat]", "cool_min_run"),
    ("[thermostat]", "sensor_timeout"),
    ("[lock]", "travel_timeout"),
    ("[lock]", "auto_relock_after"),
    ("[history]", "commit_interval"),
    ("[history]", "heartbeat"),
    ("[history]", "buffer_limit"),
    ("[mqtt]", "port"),
    ("[mqtt]", "keep_alive"),
    ("[mqtt]", "command_max_age"),
    ("[mqtt]", "reconnect_max"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// A known key (from the example, or one of `KNOWN_KEYS` added to its section) set to an
    /// extreme value: a clear error or a config whose every duration can be added to a clock.
    #[test]
    fn known_keys_with_extreme_values_are_refused_or_safe(
        line in any::<usize>(),
        known in any::<usize>(),
        add in any::<bool>(),
        value in extreme_values(),
    ) {
        let text = if add {
            let (section, key) = KNOWN_KEYS[known % KNOWN_KEYS.len()];
            // Put the key at the top of its section (first occurrence of the header).
            match EXAMPLE.find(&format!("\n{section}\n")) {
                Some(at) => {
                    let at = at + section.len() + 2;
                    format!("{}{key} = {value}\n{}", &EXAMPLE[..at], &EXAMPLE[at..])
                }
                None => format!("{EXAMPLE}\n{section}\n{key} = {value}\n"),
            }
        } else {
            apply(EXAMPLE, &[Edit::ReplaceValue(line, value.clone())])
        };
        match config::parse(Path::new("fuzz.toml"), &text) {
            Ok(cfg) => {
                prop_assert!(cfg.issues().is_empty());
                let now = std::time::Instant::now();
                for d in [cfg.daemon.shutdown_timeout, cfg.hardware.poll_interval, cfg.hardware.input_poll_interval] {
                    prop_assert!(now.checked_add(d).is_some(), "{d:?} overflows a clock");
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Commands whose numbers are extreme, against a clock that may be extreme too: typed or
    /// rejected with a known code, never a panic (debug builds check every overflow).
    #[test]
    fn commands_with_extreme_numbers_never_panic(
        base in prop_oneof![
            Just(r#"{"id":"1","mode":"heat","ts":TS}"#),
            Just(r#"{"id":"2","setpoint_heat":TS,"ts":1795610096}"#),
            Just(r#"{"id":TS,"action":"lock","ts":TS}"#),
            Just(r#"{"id":"u","action":"unlock","client":"alice","ts":TS,"nonce":"0123456789abcdef","sig":"00"}"#),
        ],
        value in extreme_values(),
        now in prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(1_795_610_096_000)],
        lock in any::<bool>(),
    ) {
        let payload = base.replace("TS", value.trim_matches('"'));
        let topics = Topics::new("hearth", "homeassistant");
        let secrets = Secrets::from_keys([("alice", vec![0xab; 32])]).unwrap();
        let mut guard = CommandGuard::new(secrets, UnixMillis(now.saturating_sub(60_000)), Duration::from_secs(10));
        let target = if lock { CommandTarget::Lock } else { CommandTarget::Thermostat };
        if let Err(rejected) = parse_command(target, payload.as_bytes(), &topics, &mut guard, UnixMillis(now)) {
            prop_assert!(hearth_api::code::ALL.contains(&rejected.error.code), "unknown code {}", rejected.error.code);
        }
    }
}

#[test]
fn the_reported_overflow_payload_is_refused_with_an_error() {
    let topics = Topics::new("hearth", "homeassistant");
    let mut guard = CommandGuard::new(
        Secrets::empty(),
        UnixMillis(1_795_610_000_000),
        Duration::from_secs(10),
    );
    let now = UnixMillis(1_795_610_096_000);
    for ts in [i64::MIN, i64::MAX] {
        let payload = format!(r#"{{"mode":"heat","ts":{ts}}}"#);
        let rejected = parse_command(
            CommandTarget::Thermostat,
            payload.as_bytes(),
            &topics,
            &mut guard,
            now,
        )
        .expect_err("an absurd ts is refused");
        assert!(
            ["expired", "future_timestamp"].contains(&rejected.error.code),
            "{ts}: {}",
            rejected.error.code
        );
    }
}
