//! The README's Mosquitto config and ACL, run as written (paths and port swapped for the
//! test's): hearth logs in and works as usual, anonymous clients can command it and read
//! its state, and cannot write its state, availability or replies.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::daemon::{private_file, startup_timeout};
use support::{Broker, Daemon, TestClient, TestConfig, reply_timeout};

/// The fenced block between `<!-- {name}-begin -->` and `<!-- {name}-end -->` in README.md.
fn readme_block(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let begin = format!("<!-- {name}-begin -->");
    let start = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.md has no {begin}"));
    let rest = &readme[start + begin.len()..];
    let end = rest
        .find(&format!("<!-- {name}-end -->"))
        .unwrap_or_else(|| panic!("README.md has no end for {name}"));
    rest[..end]
        .lines()
        .filter(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_acl_lets_only_hearth_write_its_topics() {
    let port = support::broker::free_port();
    let _broker = Broker::start_with(|dir| {
        let passwords = support::tls::mosquitto_password_file(dir, "hearth", "acl-pw");
        let acl = dir.join("hearth.acl");
        std::fs::write(&acl, readme_block("acl")).expect("writing the ACL");
        readme_block("acl-config")
            .replace("listener 1883", &format!("listener {port} 127.0.0.1"))
            .replace("/etc/mosquitto/passwd", passwords.to_str().unwrap())
            .replace("/etc/mosquitto/hearth.acl", acl.to_str().unwrap())
    });
    let keys = tempfile::tempdir().unwrap();
    let password_file = private_file(keys.path(), "mqtt-password", "acl-pw\n");
    let mut cfg = TestConfig::new(port)
        .mqtt("username = \"hearth\"")
        .mqtt(format!("password_file = \"{}\"", password_file.display()));
    cfg.client_id = "hearthd-acl".into();
    let _daemon = Daemon::start(&cfg);

    // An anonymous client on the ACL listener.
    let mut c = TestClient::connect(port, "anonymous-panel").await;
    for topic in ["hearth/availability", "hearth/lock/state"] {
        c.subscribe(topic).await;
    }
    c.wait_for("hearth online", startup_timeout(), |m| {
        m.topic == "hearth/availability" && m.payload == b"online"
    })
    .await;
    // The simulator's door starts locked (after a first `unknown` until the inputs are read).
    let lock = c
        .wait_json("hearth/lock/state", reply_timeout(), |v| {
            v["state"] == "locked"
        })
        .await;

    // Commands and requests work.
    let reply = c
        .request("hearth/thermostat/set", r#"{"id":"acl-1","mode":"heat"}"#)
        .await;
    assert_eq!(reply, json!({"id":"acl-1","ok":true}));

    // Spoofs are refused by the broker: never delivered, never retained.
    c.publish("hearth/lock/state", r#"{"state":"unlocked"}"#, true)
        .await;
    c.publish("hearth/availability", "offline", true).await;
    c.publish(
        "hearth/response/lock/set",
        r#"{"id":"fake","ok":true}"#,
        false,
    )
    .await;
    // A round trip after the spoofs: had the broker taken them, they would be here first.
    let status = c
        .request("hearth/request/status", r#"{"id":"after"}"#)
        .await;
    assert_eq!(status["ok"], true, "{status}");
    let spoofed = c.take_seen(|m| {
        (m.topic == "hearth/lock/state" && m.payload == br#"{"state":"unlocked"}"#)
            || (m.topic == "hearth/availability" && m.payload == b"offline")
            || (m.topic == "hearth/response/lock/set"
                && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| v["id"] == "fake"))
    });
    assert!(
        spoofed.is_none(),
        "the ACL let a spoof through: {spoofed:?}"
    );

    let mut fresh = TestClient::connect(port, "fresh").await;
    fresh.subscribe("hearth/lock/state").await;
    let retained = fresh
        .wait_json("hearth/lock/state", reply_timeout(), |_| true)
        .await;
    assert_eq!(retained["state"], lock["state"]);
}
