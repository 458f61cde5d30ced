//! Policy config validation: each mistake yields an issue naming the full dotted key.

mod common;

use common::config;
use hearth_policy::{Format, Policy, PolicyConfig};

fn issues(toml_text: &str) -> Vec<(String, String)> {
    config(toml_text)
        .validate("cloud[0].policy")
        .into_iter()
        .map(|i| (i.key, i.message))
        .collect()
}

fn issues_for(format: Format, toml_text: &str) -> Vec<(String, String)> {
    config(toml_text)
        .validate_for("cloud[0].policy", format)
        .into_iter()
        .map(|i| (i.key, i.message))
        .collect()
}

#[track_caller]
fn has(found: &[(String, String)], key: &str, needle: &str) {
    assert!(
        found.iter().any(|(k, m)| k == key && m.contains(needle)),
        "expected an issue at `{key}` containing `{needle}`; got {found:#?}"
    );
}

#[test]
fn empty_policy_is_valid_and_shares_nothing() {
    assert!(
        PolicyConfig::default()
            .validate("cloud[0].policy")
            .is_empty()
    );
    let p = Policy::new("c", Format::Json, &PolicyConfig::default()).unwrap();
    let text = p.explain();
    assert_eq!(text.matches("never sent.").count(), 9, "{text}");
    assert!(text.contains("none allowed"), "{text}");
}

#[test]
fn unknown_field_names_list_the_known_ones() {
    let found = issues(
        r#"[fields."thermostat.colour"]
share = "on_change""#,
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.colour\"",
        "unknown field `thermostat.colour`",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.colour\"",
        "lock.door",
    );
}

#[test]
fn unknown_keys_are_parse_errors() {
    let e = toml::from_str::<PolicyConfig>(
        r#"[fields."lock.state"]
shar = "never""#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("shar"), "{e}");
    let e = toml::from_str::<PolicyConfig>(
        r#"[fields."lock.state"]
share = "sometimes""#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("sometimes"), "{e}");
}

#[test]
fn bucket_bounds_must_increase_and_names_fit() {
    let found = issues(
        r#"[fields."thermostat.temperature"]
share = "on_request"
buckets = { bounds = [24, 18], names = ["cold", "warm"] }"#,
    );
    let k = "cloud[0].policy.fields.\"thermostat.temperature\".buckets";
    has(
        &found,
        &format!("{k}.bounds"),
        "bounds must increase, but 18 is not above 24",
    );
    has(&found, &format!("{k}.names"), "give 3 names");
}

#[test]
fn transforms_must_fit_the_field_kind() {
    let found = issues(
        r#"[fields."thermostat.mode"]
share = "on_request"
round = 0.5

[fields."lock.state"]
share = "on_request"
buckets = { bounds = [1], names = ["a", "b"] }

[fields."lock.door"]
share = "on_request"
boolean = { true_when = ["ajar"] }

[fields."thermostat.temperature"]
share = "on_request"
boolean = { true_when = ["hot"] }"#,
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.mode\".round",
        "thermostat.mode is text",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"lock.state\".buckets",
        "needs a number",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"lock.door\".boolean.true_when",
        "never `ajar`",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".boolean.true_when",
        "is a number",
    );
}

#[test]
fn one_transform_per_field_and_positive_steps() {
    let found = issues(
        r#"[fields."thermostat.temperature"]
share = "on_request"
round = 0.5
boolean = { above = 24 }

[fields."thermostat.humidity"]
share = "on_request"
round = -1"#,
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".round",
        "choose one transform",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.humidity\".round",
        "positive",
    );
}

#[test]
fn share_options_belong_to_their_share() {
    let found = issues(
        r#"[fields."thermostat.temperature"]
share = "periodic"
min_interval = "5m"

[fields."thermostat.humidity"]
share = "on_change"
every = "1m"

[fields."thermostat.mode"]
share = "on_change"
min_delta = 1.0

[fields."thermostat.setpoint_heat"]
share = "on_change"
buckets = { bounds = [18], names = ["low", "high"] }
min_delta = 1.0"#,
    );
    let f = |name: &str, k: &str| format!("cloud[0].policy.fields.\"{name}\".{k}");
    has(
        &found,
        &f("thermostat.temperature", "every"),
        "needs `every`",
    );
    has(
        &found,
        &f("thermostat.temperature", "min_interval"),
        "only applies to share = \"on_change\"",
    );
    has(
        &found,
        &f("thermostat.humidity", "every"),
        "only applies to share = \"periodic\"",
    );
    has(
        &found,
        &f("thermostat.mode", "min_delta"),
        "thermostat.mode is text",
    );
    has(
        &found,
        &f("thermostat.setpoint_heat", "min_delta"),
        "only as a word",
    );
}

#[test]
fn windows_and_dates_are_checked() {
    let found = issues(
        r#"consent_until = "2026-02-30"

[fields."thermostat.temperature"]
share = "on_request"
window = "7:00-25:00"
until = "next year""#,
    );
    has(
        &found,
        "cloud[0].policy.consent_until",
        "day 30 does not exist",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".window",
        "hour 25",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".until",
        "YYYY-MM-DD",
    );
}

#[test]
fn bad_durations_are_parse_errors_naming_the_value() {
    let e = toml::from_str::<PolicyConfig>(
        r#"[fields."thermostat.temperature"]
share = "on_change"
min_interval = "5 parsecs""#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("5 parsecs"), "{e}");
}

#[test]
fn commands_must_be_known_and_unlock_needs_a_pin() {
    let found = issues(
        r#"[commands]
allow = ["lock", "unlock", "open_garage"]"#,
    );
    has(
        &found,
        "cloud[0].policy.commands.allow",
        "unknown command `open_garage`",
    );
    has(
        &found,
        "cloud[0].policy.commands.unlock_pin",
        "needs a voice PIN",
    );
}

#[test]
fn pin_hash_must_be_complete_strong_and_hex() {
    let found = issues(
        r#"[commands]
allow = ["unlock"]
unlock_pin = { pbkdf2_sha256 = "xyz", salt = "short", iterations = 10 }"#,
    );
    has(
        &found,
        "cloud[0].policy.commands.unlock_pin.iterations",
        "at least 10000",
    );
    has(
        &found,
        "cloud[0].policy.commands.unlock_pin.salt",
        "at least 8",
    );
    let found = issues(
        r#"[commands]
allow = ["unlock"]
unlock_pin = { pbkdf2_sha256 = "00" }"#,
    );
    has(&found, "cloud[0].policy.commands.unlock_pin", "together");
}

#[test]
fn who_checks_the_pin_depends_on_the_format() {
    let alexa_style = r#"[commands]
allow = ["unlock"]
unlock_pin = { checked_by = "alexa" }"#;
    assert!(issues_for(Format::Alexa, alexa_style).is_empty());
    has(
        &issues_for(Format::Google, alexa_style),
        "cloud[0].policy.commands.unlock_pin.checked_by",
        "sends the PIN to hearth",
    );
    let hashed = r#"[commands]
allow = ["unlock"]
unlock_pin = { pbkdf2_sha256 = "0386c9a1d3ac2d1d24933d6085fb26f3db83a4b3fce21e0942b526cf20a5616b", salt = "hearth-salt", iterations = 10000 }"#;
    assert!(issues_for(Format::Google, hashed).is_empty());
    has(
        &issues_for(Format::Alexa, hashed),
        "cloud[0].policy.commands.unlock_pin",
        "Alexa never tells hearth",
    );
}

#[test]
fn formats_refuse_fields_and_forms_they_cannot_carry() {
    let text = r#"[fields."thermostat.humidity"]
share = "on_request"

[fields."thermostat.temperature"]
share = "on_request"
buckets = { bounds = [18, 24], names = ["cold", "comfortable", "warm"] }

[fields."lock.state"]
share = "on_request"
boolean = { true_when = ["unlocked"] }"#;
    assert!(issues(text).is_empty(), "valid for json");
    assert!(issues_for(Format::Json, text).is_empty());
    let found = issues_for(Format::Alexa, text);
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.humidity\".share",
        "alexa format has no property for thermostat.humidity",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".buckets",
        "alexa format",
    );
    has(
        &found,
        "cloud[0].policy.fields.\"lock.state\".boolean",
        "true_when = [\"locked\"]",
    );
    let found = issues_for(Format::Google, text);
    assert!(
        !found.iter().any(|(k, _)| k.contains("humidity")),
        "google carries humidity: {found:?}"
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.temperature\".buckets",
        "google format",
    );
}

#[test]
fn alexa_thermostat_interface_is_proactive_or_not_as_a_whole() {
    let found = issues_for(
        Format::Alexa,
        r#"[fields."thermostat.mode"]
share = "on_change"

[fields."thermostat.setpoint_heat"]
share = "on_request""#,
    );
    has(
        &found,
        "cloud[0].policy.fields.\"thermostat.setpoint_heat\".share",
        "one interface",
    );
}

#[test]
fn device_ids_must_suit_the_clouds() {
    let found = issues(
        r#"[devices]
thermostat_id = "my thermostat"
lock_id = "my thermostat"
lock_name = """#,
    );
    has(
        &found,
        "cloud[0].policy.devices.thermostat_id",
        "not a device id",
    );
    has(&found, "cloud[0].policy.devices.lock_id", "different ids");
    has(&found, "cloud[0].policy.devices.lock_name", "1-128");
}

#[test]
fn policy_new_reports_all_issues_with_its_prefix() {
    let cfg = config(
        r#"[fields."bogus"]
share = "never"
[commands]
allow = ["unlock"]"#,
    );
    let issues = Policy::new("c", Format::Json, &cfg).unwrap_err();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        issues.iter().all(|i| i.key.starts_with("policy.")),
        "{issues:?}"
    );
    let issues = Policy::with_key_prefix("c", Format::Json, &cfg, "cloud[2].policy").unwrap_err();
    assert!(
        issues.iter().all(|i| i.key.starts_with("cloud[2].policy.")),
        "{issues:?}"
    );
}

#[test]
fn the_example_policy_is_valid_for_every_format_it_names() {
    #[derive(serde::Deserialize)]
    struct File {
        cloud: Vec<Cloud>,
    }
    #[derive(serde::Deserialize)]
    struct Cloud {
        format: Format,
        policy: PolicyConfig,
    }
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/example.toml")).unwrap();
    let file: File = toml::from_str(&text).unwrap();
    let [
        Cloud {
            format,
            policy: cfg,
        },
    ] = file.cloud.as_slice()
    else {
        panic!("the example has one [[cloud]]");
    };
    assert_eq!(*format, Format::Alexa);
    let issues = cfg.validate_for("policy", Format::Alexa);
    assert!(issues.is_empty(), "{issues:#?}");
    let p = Policy::new("alexa", Format::Alexa, cfg).unwrap();
    let text = p.explain();
    assert!(
        text.contains("thermostat.temperature: sent when it changes"),
        "{text}"
    );
}
