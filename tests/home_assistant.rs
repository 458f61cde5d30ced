//! What Home Assistant relies on, at the Mosquitto level with the real `hearthd` binary: the
//! thermostat settings survive a restart, refusals are logged at info, and the unlock-code
//! lockout survives a restart too. (`tests/ha_interop/` runs a real Home Assistant.)

mod support;

use hearth_policy::pin::PinHash;
use serde_json::Value;
use std::time::Duration;
use support::daemon::{private_file, startup_timeout};
use support::{Broker, Daemon, TestClient, TestConfig, reply_timeout, scaled};

const THERMOSTAT_STATE: &str = "hearth/thermostat/state";

async fn client(broker: &Broker, name: &str) -> TestClient {
    let mut c = TestClient::connect(broker.port(), name).await;
    c.subscribe("hearth/#").await;
    c.wait_for("hearth online", startup_timeout(), |m| {
        m.topic == "hearth/availability" && m.payload == b"online"
    })
    .await;
    c
}

fn code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("ok")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thermostat_settings_survive_a_restart_and_refusals_are_logged_at_info() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let config = TestConfig::new(broker.port())
        .history_path(dir.path().join("history.db"))
        .thermostat("mode = \"heat\"");
    let mut daemon = Daemon::start(&config);
    let mut c = client(&broker, "restart").await;
    // Home Assistant's set_temperature with hvac_mode: the mode, then `setpoint`.
    let mode = r#"{"mode":"cool","client":"home_assistant"}"#;
    assert_eq!(code(&c.request("hearth/thermostat/set", mode).await), "ok");
    let setpoint = r#"{"setpoint":23.5,"fan":"on","client":"home_assistant"}"#;
    assert_eq!(
        code(&c.request("hearth/thermostat/set", setpoint).await),
        "ok"
    );
    let bad = r#"{"setpoint_cool":99}"#;
    assert_eq!(
        code(&c.request("hearth/thermostat/set", bad).await),
        "setpoint_out_of_range"
    );
    daemon.sigterm();
    assert!(daemon.wait_exit(scaled(Duration::from_secs(6))).success());
    let log = daemon.log();
    assert!(
        log.contains("command refused") && log.contains("setpoint_out_of_range"),
        "{log}"
    );
    assert!(dir.path().join("thermostat.json").exists());

    c.clear();
    let _again = Daemon::start(&config);
    let state = c
        .wait_for("restored state", startup_timeout(), |m| {
            m.topic == THERMOSTAT_STATE && m.json()["mode"] == "cool"
        })
        .await
        .json();
    assert_eq!(
        (
            state["mode"].clone(),
            state["fan"].clone(),
            state["setpoint_cool"].clone(),
            state["setpoint_heat"].clone()
        ),
        ("cool".into(), "on".into(), 23.5.into(), 20.0.into()),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unlock_code_lockout_survives_a_restart_and_codes_are_never_logged() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let entry = PinHash::derive("52846137", "salt", 10_000).to_toml();
    let secrets = private_file(
        dir.path(),
        "secrets.toml",
        &format!(
            "[codes]\nhome_assistant = {}\n",
            entry.trim_start_matches("unlock_pin = ")
        ),
    );
    let config = TestConfig::new(broker.port())
        .history_path(dir.path().join("history.db"))
        .mqtt(format!("secrets_file = \"{}\"", secrets.display()));
    let mut daemon = Daemon::start(&config);
    let mut c = client(&broker, "codes").await;
    // The device message asks Home Assistant for a code.
    c.subscribe("homeassistant/#").await;
    let device = c
        .wait_for("device config", startup_timeout(), |m| {
            m.topic == "homeassistant/device/hearth/config"
        })
        .await
        .json();
    assert!(
        device["cmps"]["lock"]["code_format"].is_string(),
        "{device}"
    );
    let unlock =
        |code: &str| format!(r#"{{"action":"unlock","client":"home_assistant","code":"{code}"}}"#);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let reply = c.request("hearth/lock/set", unlock("918273")).await;
        codes.push(code(&reply).to_owned());
    }
    assert_eq!(codes, ["wrong_code", "wrong_code", "locked_out"]);
    daemon.sigterm();
    assert!(daemon.wait_exit(scaled(Duration::from_secs(6))).success());
    let log = daemon.log();
    assert!(log.contains("wrong_code"), "{log}");
    assert!(
        !log.contains("918273") && !log.contains("52846137"),
        "{log}"
    );

    // After a restart the lockout still stands: even the right code is not checked.
    let _again = Daemon::start(&config);
    let mut c = client(&broker, "codes-2").await;
    let reply = c.request("hearth/lock/set", unlock("52846137")).await;
    assert_eq!(code(&reply), "locked_out", "{reply}");
    let event = c
        .wait_for("refusal event", reply_timeout(), |m| {
            m.topic == "hearth/event/refusal"
        })
        .await
        .json();
    assert_eq!(event["code"], "locked_out");
}
