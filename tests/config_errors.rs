//! Broken configs and the exact complaints they get: each names the file, the line and the
//! key, and says what is wrong. Also checks that the shipped example loads and that
//! `hearthd check-config` exits with status 78 on an error.

mod support;

use hearthd::config::{self, ConfigError};
use std::path::Path;
use support::daemon::hearthd_command;

const BASE: &str = "[hardware]\nbackend = \"simulator\"\n";

/// (name, config text, expected line, expected key, a phrase the message must contain)
const BROKEN: &[(&str, &str, usize, &str, &str)] = &[
    (
        "unknown key",
        "[hardware]\nbackend = \"simulator\"\ncolour = \"red\"\n",
        3,
        "hardware.colour",
        "unknown field `colour`",
    ),
    (
        "unknown section",
        "[hardware]\nbackend = \"simulator\"\n[heating]\nx = 1\n",
        3,
        "heating",
        "unknown field `heating`",
    ),
    (
        "missing section",
        "[thermostat]\nmode = \"heat\"\n",
        1,
        "hardware",
        "missing field `hardware`",
    ),
    (
        "missing section, said where it belongs",
        "[daemon]\nlog_level = \"info\"\n\n[thermostat]\nmode = \"heat\"\n",
        4,
        "hardware",
        "before line 4",
    ),
    (
        "duplicate key",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nport = 1\nhost = \"a\"\nport = 2\n",
        6,
        "mqtt.port",
        "set on line 4 and again on line 6",
    ),
    (
        "duplicate section",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nport = 1\n[mqtt]\nhost = \"a\"\n",
        5,
        "mqtt",
        "set on line 3 and again on line 5",
    ),
    (
        "a bare `=` line is named by the section above it",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\n=\nport = 1\n",
        4,
        "mqtt",
        "keys cannot be empty",
    ),
    (
        "a bare `=` line before any section is named as the top level",
        "# hearth\n=\n[hardware]\nbackend = \"simulator\"\n",
        2,
        "(top level)",
        "keys cannot be empty",
    ),
    (
        "a control character in a comment before any section is named as a comment",
        "# hear\u{1}th\n[hardware]\nbackend = \"simulator\"\n",
        1,
        "(comment)",
        "invalid comment character",
    ),
    (
        "syntax error names the key on its line",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nport = = 1\n",
        4,
        "mqtt.port",
        "",
    ),
    (
        "unterminated string",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nhost = \"broker\n",
        4,
        "mqtt.host",
        "",
    ),
    (
        "discovery prefix inside the base topic",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nbase_topic = \"hearth\"\n[mqtt.discovery]\nprefix = \"hearth/request\"\n",
        6,
        "mqtt.discovery.prefix",
        "overlaps",
    ),
    (
        "reply_to root over hearth's topics",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nreply_to_prefixes = [\"hearth\"]\n",
        4,
        "mqtt.reply_to_prefixes",
        "hearth's own topics",
    ),
    (
        "bad duration",
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"ten seconds\"\n",
        3,
        "hardware.poll_interval",
        "not a duration",
    ),
    (
        "duration of wrong type",
        "[hardware]\nbackend = \"simulator\"\n[lock]\ntravel_timeout = 3\n",
        4,
        "lock.travel_timeout",
        "string",
    ),
    (
        "bad backend",
        "[hardware]\nbackend = \"arduino\"\n",
        2,
        "hardware.backend",
        "arduino",
    ),
    (
        "bad mode",
        "[hardware]\nbackend = \"simulator\"\n[thermostat]\nmode = \"warm\"\n",
        4,
        "thermostat.mode",
        "warm",
    ),
    (
        "pin out of range",
        "[hardware]\nbackend = \"raspberry_pi\"\n[hardware.sensor]\nkind = \"ds18b20\"\n[hardware.outputs]\nheat = { pin = 41, active = \"low\" }\ncool = { pin = 27, active = \"low\" }\nfan = { pin = 22, active = \"low\" }\n[hardware.motor]\nlock = { pin = 23, active = \"high\" }\nunlock = { pin = 24, active = \"high\" }\n[hardware.inputs]\nbolt_locked = { pin = 5, active = \"low\", pull = \"up\" }\nbolt_unlocked = { pin = 6, active = \"low\", pull = \"up\" }\ndoor = { pin = 13, active = \"high\", pull = \"up\" }\n",
        6,
        "hardware.outputs.heat.pin",
        "41",
    ),
    (
        "pin used twice",
        "[hardware]\nbackend = \"raspberry_pi\"\n[hardware.sensor]\nkind = \"ds18b20\"\n[hardware.outputs]\nheat = { pin = 17, active = \"low\" }\ncool = { pin = 27, active = \"low\" }\nfan = { pin = 22, active = \"low\" }\n[hardware.motor]\nlock = { pin = 23, active = \"high\" }\nunlock = { pin = 24, active = \"high\" }\n[hardware.inputs]\nbolt_locked = { pin = 17, active = \"low\", pull = \"up\" }\nbolt_unlocked = { pin = 6, active = \"low\", pull = \"up\" }\ndoor = { pin = 13, active = \"high\", pull = \"up\" }\n",
        13,
        "hardware.inputs.bolt_locked.pin",
        "17",
    ),
    (
        "hysteresis out of range",
        "[hardware]\nbackend = \"simulator\"\n[thermostat]\nhysteresis = 7.0\n",
        4,
        "thermostat.hysteresis",
        "7",
    ),
    (
        "setpoint outside bounds",
        "[hardware]\nbackend = \"simulator\"\n[thermostat]\nsetpoint_heat = 45.0\n",
        4,
        "thermostat.setpoint_heat",
        "45",
    ),
    (
        "shutdown timeout too long",
        "[hardware]\nbackend = \"simulator\"\n[daemon]\nshutdown_timeout = \"10m\"\n",
        4,
        "daemon.shutdown_timeout",
        "60s",
    ),
    (
        "mqtt keep-alive below a second",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nkeep_alive = \"500ms\"\n",
        4,
        "mqtt.keep_alive",
        "1s",
    ),
    (
        "mqtt wildcard base topic",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nbase_topic = \"hearth/#\"\n",
        4,
        "mqtt.base_topic",
        "#",
    ),
    (
        "mqtt protocol that does not exist",
        "[hardware]\nbackend = \"simulator\"\n[mqtt]\nprotocol = \"4\"\n",
        4,
        "mqtt.protocol",
        "expected `5` or `3.1.1`",
    ),
    (
        "cloud protocol that does not exist",
        "[hardware]\nbackend = \"simulator\"\n[[cloud]]\nname = \"c\"\nformat = \"json\"\n\
         host = \"127.0.0.1\"\nclient_id = \"h\"\ntopic_prefix = \"h\"\nprotocol = \"5.0\"\n",
        9,
        "cloud[0].protocol",
        "expected `5` or `3.1.1`",
    ),
    (
        "not toml at all",
        "[hardware\nbackend = \"simulator\"\n",
        1,
        "hardware",
        "",
    ),
];

fn error_of(text: &str) -> ConfigError {
    match config::parse(Path::new("hearth.toml"), text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn every_broken_config_names_line_key_and_problem() {
    for (name, text, line, key, phrase) in BROKEN {
        let err = error_of(text);
        let shown = err.to_string();
        let (got_line, got_key, message) = match &err {
            ConfigError::Parse {
                line, key, message, ..
            } => (*line, key.clone(), message.clone()),
            ConfigError::Invalid { problems, .. } => {
                let p = problems
                    .iter()
                    .find(|p| p.issue.key == *key)
                    .unwrap_or_else(|| panic!("{name}: no problem for key {key} in:\n{shown}"));
                (p.line, p.issue.key.clone(), p.issue.message.clone())
            }
            ConfigError::Read { .. } => panic!("{name}: unexpected error {shown}"),
        };
        assert_eq!(got_key, *key, "{name}: wrong key in: {shown}");
        assert_eq!(got_line, *line, "{name}: wrong line in: {shown}");
        assert!(
            message.contains(phrase),
            "{name}: message lacks {phrase:?}: {shown}"
        );
        assert!(
            shown.starts_with(&format!("hearth.toml:{line}")),
            "{name}: no file:line prefix: {shown}"
        );
    }
}

#[test]
fn invalid_utf8_is_reported_at_its_line_and_key() {
    let bytes = b"[hardware]\nbackend = \"simulator\"\n[mqtt]\nhost = \"caf\xe9\"\n";
    let err = config::parse_bytes(Path::new("hearth.toml"), bytes).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Parse { line: 4, key, message, .. }
            if key == "mqtt.host" && message.contains("column 12")),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("hearth.toml:4: mqtt.host:"),
        "{err}"
    );
}

#[test]
fn files_named_by_the_config_are_checked_at_their_key_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.toml");
    let db = dir.path().join("history.db");
    for (ledger, phrase) in [("/dev/zero", "device"), ("/", "directory"), ("", "empty")] {
        std::fs::write(
            &path,
            format!(
                "{BASE}[history]\npath = \"{}\"\n\n[ledger]\npath = \"{ledger}\"\n",
                db.display()
            ),
        )
        .unwrap();
        let err = config::load(&path).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{}:7: ledger.path: ", path.display()))
                && shown.contains(phrase),
            "{ledger}: {shown}"
        );
    }
}

#[test]
fn a_missing_cloud_certificate_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.toml");
    let text = format!(
        "{BASE}\n[[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"cloud.example\"\n\
         client_id = \"hearth\"\ntopic_prefix = \"h\"\n[cloud.tls]\nca_file = \"{0}/ca.pem\"\n\
         client_cert = \"{0}/c.pem\"\nclient_key = \"{0}/k.pem\"\n",
        dir.path().display()
    );
    std::fs::write(&path, &text).unwrap();
    let err = config::load(&path).expect_err("missing certificates were accepted");
    let shown = err.to_string();
    for (line, key) in [(11, "ca_file"), (12, "client_cert"), (13, "client_key")] {
        assert!(
            shown.contains(&format!("{}:{line}: cloud[0].tls.{key}: ", path.display()))
                && shown.contains("does not exist"),
            "{key}: {shown}"
        );
    }
}

#[test]
fn a_minimal_config_and_the_example_both_load() {
    let cfg = config::parse(Path::new("min.toml"), BASE).expect("minimal config");
    assert!(cfg.mqtt.is_none(), "no [mqtt] section means no local MQTT");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let cfg = config::load(&example).unwrap_or_else(|e| panic!("config.example.toml: {e}"));
    assert!(
        cfg.mqtt.is_some(),
        "the example configures the local broker"
    );
}

#[test]
fn check_config_exits_78_with_the_location_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.toml");
    std::fs::write(
        &path,
        "[hardware]\nbackend = \"simulator\"\n[lock]\ntravel_timeout = \"soon\"\n",
    )
    .unwrap();
    let mut cmd = hearthd_command();
    let out = cmd
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run hearthd");
    assert_eq!(out.status.code(), Some(78), "exit status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:4: lock.travel_timeout", path.display())),
        "{stderr}"
    );

    // Files the config names are checked too, before anything runs.
    std::fs::write(
        &path,
        format!(
            "{BASE}[mqtt]\nsecrets_file = \"{}\"\n",
            dir.path().join("missing.toml").display()
        ),
    )
    .unwrap();
    let out = hearthd_command()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run hearthd");
    assert_eq!(
        out.status.code(),
        Some(78),
        "exit status for a missing secrets file"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("{}:4: mqtt.secrets_file", path.display())),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(&path, BASE).unwrap();
    let mut ok = hearthd_command();
    let out = ok
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run hearthd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("simulator"));
}
