//! The reported overflow, end to end: `{"mode":"heat","ts":-9223372036854775808}` on
//! `hearth/thermostat/set` (and the same `ts` on a signed unlock) overflowed `now - ts` — a
//! panic in debug builds. Now each gets an error reply, and hearth keeps running.

mod support;

use hearth_api::sign_unlock;
use serde_json::Value;
use support::daemon::{private_file, startup_timeout};
use support::{Broker, Daemon, TestClient, TestConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_timestamps_get_an_error_reply_and_hearth_keeps_running() {
    let broker = Broker::start();
    let keys = tempfile::tempdir().unwrap();
    let key = [0x5a; 32];
    let secrets = private_file(
        keys.path(),
        "unlock-keys.toml",
        &format!("[clients]\nalice = \"{}\"\n", hex::encode(key)),
    );
    let config =
        TestConfig::new(broker.port()).mqtt(format!("secrets_file = \"{}\"", secrets.display()));
    let mut daemon = Daemon::start(&config);
    let mut c = TestClient::connect(broker.port(), "hostile").await;
    c.subscribe("hearth/#").await;
    c.wait_for("online", startup_timeout(), |m| {
        m.topic == "hearth/availability" && m.payload == b"online"
    })
    .await;

    for ts in [i64::MIN, i64::MAX] {
        let reply = c
            .request(
                "hearth/thermostat/set",
                format!(r#"{{"id":"t{ts}","mode":"heat","ts":{ts}}}"#),
            )
            .await;
        assert_eq!(reply["ok"], false, "{reply}");
        let code = reply["error"]["code"].as_str().unwrap_or_default();
        assert!(["expired", "future_timestamp"].contains(&code), "{reply}");

        let signed = sign_unlock("alice", &key, ts, "0123456789abcdef_x", &format!("u{ts}"));
        let reply: Value = c
            .request("hearth/lock/set", serde_json::to_vec(&signed).unwrap())
            .await;
        assert_eq!(reply["ok"], false, "{reply}");
        let code = reply["error"]["code"].as_str().unwrap_or_default();
        assert!(["expired", "future_timestamp"].contains(&code), "{reply}");
    }
    // Still answering: a normal request after the hostile ones.
    let status = c
        .request("hearth/request/status", r#"{"id":"after"}"#)
        .await;
    assert_eq!(status["ok"], true, "{status}");
    daemon.assert_running();
}
