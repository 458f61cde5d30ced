//! End-to-end: the real daemon on the simulator, with a second Mosquitto playing the cloud
//! on a free loopback port and a subscriber on `#` there. Shows that an all-`never` policy
//! sends nothing, that a configured policy sends exactly the allowed, transformed fields,
//! that `on_request` fields only answer a state request, that a denied unlock is refused and
//! recorded in the ledger, that an invalid reload is refused and recorded, and that a TLS
//! client-certificate connection works, also on MQTT 5 (`protocol = "5"`). Every wait has a
//! timeout.

mod support;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::broker::free_port;
use support::cloud::{Broker, Cloud, Daemon, PREFIX, count_rows, plain_cloud, wait_until};
use support::daemon::hearthd_command;
use support::tls::{make_certs, make_client_cert};

const DOOR_SCRIPT: &str = "[[simulator.script]]\nafter = \"2s\"\naction = \"open_door\"\n\
                           [[simulator.script]]\nafter = \"3s\"\naction = \"close_door\"\n";

const POLICY: &str = r#"
[cloud.policy.fields."thermostat.temperature"]
share = "on_change"
round = 0.5
[cloud.policy.fields."lock.door"]
share = "on_change"
boolean = { true_when = ["open"] }
[cloud.policy.fields."lock.state"]
share = "on_request"
[cloud.policy.commands]
allow = ["lock"]
"#;

#[test]
fn an_all_never_policy_sends_nothing_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let cloud = Cloud::connect(broker.port);
    let daemon = Daemon::start(dir.path(), &plain_cloud(broker.port, ""), DOOR_SCRIPT);
    // The forwarder is connected once it has decided about the first state.
    wait_until("the first ledger row", Duration::from_secs(20), || {
        daemon.ledger_rows("cloud = 'home'") > 0
    });
    // Both files are held exclusively, their WAL index in memory: no -shm file is
    // rewritten at every commit, and the CLI (ledger_rows) reads through the daemon.
    assert!(
        dir.path().join("ledger.db-wal").exists(),
        "the ledger is in WAL mode"
    );
    for db in ["history.db", "ledger.db"] {
        assert!(
            !dir.path().join(format!("{db}-shm")).exists(),
            "{db}-shm exists"
        );
    }
    let got = cloud.collect_for(Duration::from_secs(5));
    assert!(
        got.is_empty(),
        "an all-never policy let messages out: {got:?}"
    );
    // The door did change while we listened, and was withheld by the rule.
    wait_until(
        "the door change to be withheld",
        Duration::from_secs(5),
        || {
            daemon.ledger_rows(
                "field = 'lock.door' AND kind = 'withheld' AND detail LIKE '%share = never%'",
            ) > 0
        },
    );
    assert_eq!(daemon.ledger_rows("kind = 'sent'"), 0);
    // The connection was live all along: the cloud's own request gets an (empty) answer.
    cloud.directive(r#"{"id":"q","op":"state"}"#);
    let answer = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(answer["id"], "q");
    assert_eq!(answer["state"], serde_json::json!({}), "{answer}");
    daemon.stop();
}

#[test]
fn a_configured_policy_sends_exactly_the_allowed_transformed_fields() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let cloud = Cloud::connect(broker.port);
    let daemon = Daemon::start(dir.path(), &plain_cloud(broker.port, POLICY), DOOR_SCRIPT);
    let discovery = cloud.next_on(&format!("{PREFIX}/discovery"), Duration::from_secs(20));
    let text = discovery.to_string();
    assert!(
        text.contains("thermostat.temperature") && text.contains("lock.door"),
        "{text}"
    );
    assert!(
        !text.contains("thermostat.humidity"),
        "a never field was declared: {text}"
    );

    let got = cloud.collect_for(Duration::from_secs(5));
    let mut door_open_seen = false;
    let mut temperature_seen = false;
    for (topic, payload) in &got {
        assert_eq!(
            topic,
            &format!("{PREFIX}/state"),
            "unexpected message on {topic}"
        );
        let v: Value = serde_json::from_slice(payload).unwrap();
        let obj = v.as_object().unwrap();
        for (k, val) in obj {
            match k.as_str() {
                "thermostat.temperature" => {
                    let t = val.as_f64().unwrap();
                    assert_eq!((t * 2.0).fract(), 0.0, "{t} is not rounded to 0.5");
                    temperature_seen = true;
                }
                "lock.door" => door_open_seen |= val.as_bool().expect("door as a boolean"),
                other => panic!("field {other} is not allowed proactively: {v}"),
            }
        }
    }
    assert!(temperature_seen, "no temperature report in {got:?}");
    assert!(
        door_open_seen,
        "the door opening was not reported in {got:?}"
    );

    // lock.state is on_request: only in the answer to a state request.
    cloud.directive(r#"{"id":"s1","op":"state"}"#);
    let answer = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["state"]["lock.state"], "locked", "{answer}");
    assert!(
        answer["state"].get("thermostat.humidity").is_none(),
        "{answer}"
    );

    // Unlock is not allowed for this cloud: refused, and the bolt stays.
    cloud.directive(r#"{"id":"u1","op":"unlock"}"#);
    let refused = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(refused["id"], "u1");
    assert_eq!(refused["ok"], false, "{refused}");

    // An invalid policy on SIGHUP is refused; the old one keeps running.
    let config = dir.path().join("hearth.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let broken = good.replace("round = 0.5", "round = -3.0");
    std::fs::write(&config, broken).unwrap();
    daemon.signal("-HUP");
    wait_until(
        "the refused reload in the ledger",
        Duration::from_secs(10),
        || daemon.ledger_rows("kind = 'policy_reload_refused'") > 0,
    );
    cloud.directive(r#"{"id":"s2","op":"state"}"#);
    let still = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(
        still["state"]["lock.state"], "locked",
        "old policy gone: {still}"
    );

    let ledger = daemon.stop();
    std::fs::write(&config, good).unwrap();
    let refused_rows = count_rows(
        &ledger,
        "kind = 'command_refused' AND detail LIKE 'unlock%' AND cloud = 'home'",
    );
    assert_eq!(refused_rows, 1, "the refused unlock is not in the ledger");
    let sent_with_payload = count_rows(&ledger, "kind = 'sent' AND payload IS NOT NULL");
    assert!(
        sent_with_payload >= got.len() as i64 + 4,
        "every message is in the ledger"
    );
}

#[test]
fn a_tls_client_certificate_connection_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Mosquitto started as root drops to its own user, which must read these throwaway files.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let certs = make_certs(d);
    let client = make_client_cert(d);
    let tls_port = free_port();
    let listener = format!(
        "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        certs.ca.display(),
        certs.server_cert.display(),
        certs.server_key.display()
    );
    let broker = Broker::start(d, &listener);
    let cloud = Cloud::connect(broker.port);
    let cloud_toml = format!(
        "[[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"localhost\"\nport = {tls_port}\n\
         client_id = \"hearth-tls\"\ntopic_prefix = \"{PREFIX}\"\n\
         tls = {{ ca_file = \"{}\", client_cert = \"{}\", client_key = \"{}\" }}\n{POLICY}",
        certs.ca.display(),
        client.cert.display(),
        client.key.display()
    );
    let daemon = Daemon::start(d, &cloud_toml, "");
    let discovery = cloud.next_on(&format!("{PREFIX}/discovery"), Duration::from_secs(20));
    assert!(discovery.to_string().contains("lock.door"), "{discovery}");
    cloud.directive(r#"{"id":"t1","op":"state"}"#);
    let answer = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(answer["state"]["lock.state"], "locked", "{answer}");
    daemon.stop();
}

fn hearthd(args: &[&str]) -> String {
    let out = hearthd_command().args(args).output().expect("run hearthd");
    assert!(
        out.status.success(),
        "hearthd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn audit_and_explain_read_the_ledger_and_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let cloud = Cloud::connect(broker.port);
    let daemon = Daemon::start(dir.path(), &plain_cloud(broker.port, POLICY), "");
    cloud.next_on(&format!("{PREFIX}/discovery"), Duration::from_secs(20));
    cloud.directive(r#"{"id":"u9","op":"unlock"}"#);
    cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    daemon.stop();
    let config = dir.path().join("hearth.toml");
    let config = config.to_str().unwrap();

    let audit = hearthd(&[
        "audit", "--config", config, "--cloud", "home", "--since", "1h",
    ]);
    assert!(
        audit.contains("command_refused") && audit.contains("unlock"),
        "{audit}"
    );
    assert!(
        audit.contains("payload: {"),
        "sent payloads are shown: {audit}"
    );
    assert!(audit.contains("totals per day"), "{audit}");
    let other = hearthd(&["audit", "--config", config, "--cloud", "elsewhere"]);
    assert!(other.contains("no ledger rows"), "{other}");

    let explain = hearthd(&["policy", "explain", "--config", config]);
    assert!(
        explain.contains("thermostat.humidity: never sent"),
        "{explain}"
    );
    assert!(
        explain.contains("lock.state: sent only when this cloud asks"),
        "{explain}"
    );
    assert!(explain.contains("may never unlock"), "{explain}");
}

#[test]
fn a_cloud_that_was_down_gets_only_the_current_state_after_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The door opens and closes while the cloud is unreachable.
    let script = "[[simulator.script]]\nafter = \"1s\"\naction = \"open_door\"\n\
                  [[simulator.script]]\nafter = \"2s\"\naction = \"close_door\"\n";
    let daemon = Daemon::start(dir.path(), &plain_cloud(port, POLICY), script);
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(
        daemon.ledger_rows("kind = 'sent'"),
        0,
        "something was made for a down cloud"
    );
    let _broker = Broker::start_on(dir.path(), port, "");
    // The ledger holds the exact bytes of every message sent, whether or not a subscriber
    // of ours was already listening when hearthd reconnected.
    wait_until(
        "hearthd to reconnect and report",
        Duration::from_secs(30),
        || {
            daemon
                .ledger_rows("kind = 'sent' AND CAST(payload AS TEXT) LIKE '%\"lock.door\":false%'")
                > 0
        },
    );
    assert_eq!(
        daemon.ledger_rows("kind = 'sent' AND CAST(payload AS TEXT) LIKE '%\"lock.door\":true%'"),
        0,
        "the stale open door left the house"
    );
    let first_sent: String = support::cloud::ledger_conn(&daemon.ledger)
        .unwrap()
        .query_row(
            "SELECT detail FROM ledger WHERE kind = 'sent' ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        first_sent.starts_with("capability description"),
        "the first message after connecting was: {first_sent}"
    );
    daemon.stop();
}

/// `protocol = "5"`: the same link on MQTT 5. State and answers arrive; a directive
/// published retained while hearth is connected keeps its retain flag (Retain As
/// Published), so it is ignored like a stored one, never acted on (on 3.1.1 it would run).
#[test]
fn a_cloud_on_mqtt5_gets_state_and_ignores_a_live_retained_directive() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let cloud = Cloud::connect(broker.port);
    let toml = plain_cloud(broker.port, POLICY).replace(
        "keep_alive = \"5s\"\n",
        "keep_alive = \"5s\"\nprotocol = \"5\"\n",
    );
    assert!(toml.contains("protocol = \"5\""), "{toml}");
    let daemon = Daemon::start(dir.path(), &toml, DOOR_SCRIPT);
    let discovery = cloud.next_on(&format!("{PREFIX}/discovery"), Duration::from_secs(20));
    assert!(discovery.to_string().contains("lock.door"), "{discovery}");
    cloud.directive(r#"{"id":"s1","op":"state"}"#);
    let answer = cloud.next_on(&format!("{PREFIX}/response"), Duration::from_secs(10));
    assert_eq!(answer["state"]["lock.state"], "locked", "{answer}");

    cloud.publish_directive(br#"{"id":"r1","op":"lock"}"#, true);
    wait_until(
        "the live retained directive to be ignored",
        Duration::from_secs(10),
        || daemon.ledger_rows("kind = 'directive_ignored'") == 1,
    );
    let ledger = daemon.stop();
    assert_eq!(
        count_rows(&ledger, "kind IN ('command_refused', 'command_accepted')"),
        0,
        "a retained directive was acted on"
    );
    assert!(count_rows(&ledger, "kind = 'sent'") >= 2);
}
