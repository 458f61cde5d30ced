//! The local MQTT interface end to end: a real Mosquitto on a free loopback port, the real
//! `hearthd` binary on the simulator, and a real MQTT client.
//!
//! Checks state round trips, that every malformed command gets its error code and leaves the
//! house untouched, signed unlock, a 10 s broker outage, Home Assistant discovery, and a
//! clean SIGTERM. Each test has its own broker and daemon, so they run in parallel.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::daemon::{private_file, startup_timeout};
use support::{Broker, Daemon, TestClient, TestConfig, reply_timeout, scaled, unix_now_secs};

const THERMOSTAT_STATE: &str = "hearth/thermostat/state";
const LOCK_STATE: &str = "hearth/lock/state";
const AVAILABILITY: &str = "hearth/availability";

/// A client following availability and both state topics, once hearth is online.
async fn observer(broker: &Broker, name: &str) -> TestClient {
    let mut c = TestClient::connect(broker.port(), name).await;
    for topic in [AVAILABILITY, THERMOSTAT_STATE, LOCK_STATE] {
        c.subscribe(topic).await;
    }
    c.wait_for("hearth online", startup_timeout(), |m| {
        m.topic == AVAILABILITY && m.payload == b"online"
    })
    .await;
    c
}

fn assert_ok(reply: &Value, what: &str) {
    assert_eq!(reply["ok"], true, "{what}: {reply}");
}

fn assert_error(reply: &Value, code: &str, what: &str) {
    assert_eq!(reply["ok"], false, "{what}: {reply}");
    assert_eq!(reply["error"]["code"], code, "{what}: {reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: no message: {reply}"
    );
}

/// The settings a command could change (not the drifting temperature).
fn settings(status: &Value) -> Value {
    let t = &status["result"]["thermostat"];
    let l = &status["result"]["lock"];
    json!({
        "mode": t["mode"], "fan": t["fan"],
        "setpoint_heat": t["setpoint_heat"], "setpoint_cool": t["setpoint_cool"],
        "lock": l["state"], "door": l["door"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_the_sim_topic_round_trip_to_retained_state() {
    let broker = Broker::start();
    let mut c = TestClient::connect(broker.port(), "round-trip").await;
    // A retained command already on the broker when hearth subscribes must not be acted on.
    c.subscribe("hearth/thermostat/set").await;
    c.publish(
        "hearth/thermostat/set",
        r#"{"id":"stale","mode":"cool"}"#,
        true,
    )
    .await;
    c.wait_for("the retained stale command", reply_timeout(), |m| {
        m.topic == "hearth/thermostat/set"
    })
    .await;

    let _daemon = Daemon::start(&TestConfig::new(broker.port()));
    for topic in [AVAILABILITY, THERMOSTAT_STATE, LOCK_STATE] {
        c.subscribe(topic).await;
    }
    c.wait_for("hearth online", startup_timeout(), |m| {
        m.topic == AVAILABILITY && m.payload == b"online"
    })
    .await;
    c.wait_json(THERMOSTAT_STATE, reply_timeout(), |v| v["mode"] == "off")
        .await;
    c.wait_json(LOCK_STATE, reply_timeout(), |v| {
        v["state"] == "locked" && v["door"] == "closed"
    })
    .await;

    let reply = c
        .request(
            "hearth/thermostat/set",
            r#"{"id":"t1","mode":"heat","setpoint_heat":21.5,"client":"kitchen"}"#,
        )
        .await;
    assert_eq!(reply, json!({"id":"t1","ok":true}));
    c.wait_json(THERMOSTAT_STATE, reply_timeout(), |v| {
        v["mode"] == "heat" && v["setpoint_heat"] == 21.5
    })
    .await;

    // A client that subscribes later gets the current state, retained.
    let mut late = TestClient::connect(broker.port(), "late").await;
    late.subscribe(THERMOSTAT_STATE).await;
    let m = late
        .wait_for("retained thermostat state", reply_timeout(), |m| {
            m.topic == THERMOSTAT_STATE
        })
        .await;
    assert!(m.retain, "the state is not retained");
    assert_eq!(
        (m.json()["mode"].clone(), m.json()["setpoint_heat"].clone()),
        (json!("heat"), json!(21.5))
    );

    // The door through the simulator topic, then the lock's own rule about it.
    let reply = c
        .request("hearth/sim/set", r#"{"id":"s1","action":"open_door"}"#)
        .await;
    assert_ok(&reply, "open_door");
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["door"] == "open")
        .await;
    let reply = c
        .request("hearth/sim/set", r#"{"id":"s2","action":"key_unlock"}"#)
        .await;
    assert_ok(&reply, "key_unlock");
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "unlocked")
        .await;
    let reply = c
        .request("hearth/lock/set", r#"{"id":"l1","action":"lock"}"#)
        .await;
    assert_error(&reply, "door_open", "lock with the door open");
    let reply = c
        .request("hearth/sim/set", r#"{"id":"s3","action":"close_door"}"#)
        .await;
    assert_ok(&reply, "close_door");
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["door"] == "closed")
        .await;
    let reply = c
        .request("hearth/lock/set", r#"{"id":"l2","action":"lock"}"#)
        .await;
    assert_eq!(reply, json!({"id":"l2","ok":true}));
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "locked")
        .await;

    // The retained command was refused with a reply, and cooling never happened.
    let stale_reply = c.take_seen(|m| {
        m.topic.starts_with("hearth/response/")
            && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| v["id"] == "stale")
    });
    let stale_reply = stale_reply.expect("the retained command got no reply");
    assert_eq!(
        stale_reply.json()["error"]["code"],
        "retained",
        "{stale_reply:?}"
    );
    let cooled = c.take_seen(|m| {
        m.topic == THERMOSTAT_STATE
            && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| v["mode"] == "cool")
    });
    assert!(cooled.is_none(), "the thermostat went to cool: {cooled:?}");
}

/// (topic, payload, expected error code). Every one must be refused and change nothing.
fn malformed_table() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let t = "hearth/thermostat/set";
    let l = "hearth/lock/set";
    let s = "hearth/sim/set";
    let future = unix_now_secs() + 3600;
    let mut rows: Vec<(&str, Vec<u8>, &str)> = vec![
        (t, b"not json".to_vec(), "invalid_json"),
        (t, b"".to_vec(), "invalid_json"),
        (t, b"{".to_vec(), "invalid_json"),
        (t, br#"{"setpoint_heat":1e400}"#.to_vec(), "invalid_json"),
        (t, b"[1,2]".to_vec(), "not_an_object"),
        (t, br#""heat""#.to_vec(), "not_an_object"),
        (t, b"null".to_vec(), "not_an_object"),
        (l, b"42".to_vec(), "not_an_object"),
        (
            t,
            b"{\"id\":2,\"mode\":\"heat\xff\"}".to_vec(),
            "invalid_utf8",
        ),
        (
            t,
            br#"{"id":3,"mode":"heat","mode":"cool"}"#.to_vec(),
            "duplicate_field",
        ),
        (
            l,
            br#"{"id":4,"action":"lock","action":"unlock"}"#.to_vec(),
            "duplicate_field",
        ),
        (t, br#"{"id":5,"colour":"red"}"#.to_vec(), "unknown_field"),
        (t, br#"{"id":6,"Mode":"heat"}"#.to_vec(), "unknown_field"),
        (
            l,
            br#"{"id":7,"action":"lock","pin":"1234"}"#.to_vec(),
            "unknown_field",
        ),
        (t, br#"{"id":8,"mode":5}"#.to_vec(), "wrong_type"),
        (t, br#"{"id":9,"mode":null}"#.to_vec(), "wrong_type"),
        (
            t,
            br#"{"id":10,"setpoint_heat":"21"}"#.to_vec(),
            "wrong_type",
        ),
        (
            t,
            br#"{"id":11,"mode":"heat","ts":"now"}"#.to_vec(),
            "wrong_type",
        ),
        (t, br#"{"id":[1],"mode":"heat"}"#.to_vec(), "wrong_type"),
        (l, br#"{"id":12,"action":true}"#.to_vec(), "wrong_type"),
        (t, br#"{"id":13,"mode":"warm"}"#.to_vec(), "invalid_value"),
        (t, br#"{"id":14,"fan":"turbo"}"#.to_vec(), "invalid_value"),
        (
            t,
            br#"{"id":15,"mode":"heat","client":"bad name!"}"#.to_vec(),
            "invalid_value",
        ),
        (l, br#"{"id":16,"action":"open"}"#.to_vec(), "invalid_value"),
        (
            l,
            br#"{"id":17,"action":"lock","sig":"00"}"#.to_vec(),
            "invalid_value",
        ),
        (t, br#"{"id":18}"#.to_vec(), "empty_command"),
        (l, br#"{"id":19}"#.to_vec(), "missing_field"),
        (
            t,
            br#"{"id":20,"mode":"heat","reply_to":"hearth/thermostat/set"}"#.to_vec(),
            "invalid_reply_to",
        ),
        (t, br#"{"id":21,"mode":"heat","ts":1}"#.to_vec(), "expired"),
        (
            t,
            format!(r#"{{"id":22,"mode":"heat","ts":{future}}}"#).into_bytes(),
            "future_timestamp",
        ),
        (
            l,
            br#"{"id":23,"action":"unlock"}"#.to_vec(),
            "unlock_disabled",
        ),
        (
            t,
            br#"{"id":24,"setpoint_heat":99}"#.to_vec(),
            "setpoint_out_of_range",
        ),
        (
            t,
            br#"{"id":25,"setpoint_cool":-5}"#.to_vec(),
            "setpoint_out_of_range",
        ),
        (
            t,
            br#"{"id":26,"mode":"auto","setpoint_heat":24,"setpoint_cool":24.5}"#.to_vec(),
            "setpoints_too_close",
        ),
        (
            s,
            br#"{"id":27,"action":"explode"}"#.to_vec(),
            "invalid_value",
        ),
        (s, br#"{"id":28,"door":"open"}"#.to_vec(), "unknown_field"),
        (s, br#"{"id":29}"#.to_vec(), "empty_command"),
        (s, b"open the door".to_vec(), "invalid_json"),
        (
            "hearth/request/reboot",
            br#"{"id":30}"#.to_vec(),
            "unknown_request",
        ),
        (
            "hearth/request/history",
            br#"{"id":31,"query":"range"}"#.to_vec(),
            "missing_field",
        ),
        (
            "hearth/request/status",
            br#"{"id":32,"verbose":true}"#.to_vec(),
            "unknown_field",
        ),
        (
            "hearth/request/events",
            br#"{"id":33,"limit":0}"#.to_vec(),
            "invalid_value",
        ),
    ];
    let mut big = br#"{"id":34,"mode":"heat","client":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 5000));
    big.extend(br#""}"#);
    rows.push((t, big, "payload_too_large"));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_commands_get_their_error_code_and_touch_nothing() {
    let broker = Broker::start();
    let daemon = Daemon::start(&TestConfig::new(broker.port()));
    let mut c = observer(&broker, "table").await;
    let before = c
        .request("hearth/request/status", r#"{"id":"before"}"#)
        .await;
    assert_ok(&before, "status");

    let table = malformed_table();
    assert!(table.len() >= 30, "the table has only {} rows", table.len());
    for (topic, payload, code) in &table {
        let what = format!("{topic} {}", String::from_utf8_lossy(payload));
        let what = what.chars().take(120).collect::<String>();
        // hearth echoes the id only when it could read one.
        let id = match *code {
            "payload_too_large" | "invalid_utf8" | "invalid_json" => Value::Null,
            _ => serde_json::from_slice::<Value>(payload)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .filter(|id| id.is_number())
                .unwrap_or(Value::Null),
        };
        let reply = c.request_with_id(topic, payload.clone(), id).await;
        assert_error(&reply, code, &what);
    }

    let after = c
        .request("hearth/request/status", r#"{"id":"after"}"#)
        .await;
    assert_eq!(
        settings(&after),
        settings(&before),
        "a refused command changed the house"
    );
    // A fresh subscriber sees the same retained state.
    let mut fresh = observer(&broker, "table-fresh").await;
    let lock = fresh.wait_json(LOCK_STATE, reply_timeout(), |_| true).await;
    assert_eq!(
        (lock["state"].clone(), lock["door"].clone()),
        (json!("locked"), json!("closed"))
    );
    let thermostat = fresh
        .wait_json(THERMOSTAT_STATE, reply_timeout(), |_| true)
        .await;
    assert_eq!(thermostat["mode"], before["result"]["thermostat"]["mode"]);
    assert_eq!(
        thermostat["setpoint_heat"],
        before["result"]["thermostat"]["setpoint_heat"]
    );

    // One accepted marker command; once it is in the event log, it must be the only
    // accepted command there (history commits in order).
    let reply = c
        .request(
            "hearth/thermostat/set",
            r#"{"id":"marker","fan":"auto","client":"table-marker"}"#,
        )
        .await;
    assert_ok(&reply, "marker");
    let deadline = tokio::time::Instant::now() + scaled(Duration::from_secs(10));
    let mut n = 0;
    let events = loop {
        n += 1;
        let reply = c
            .request(
                "hearth/request/events",
                format!(r#"{{"id":"ev{n}","since":"10m"}}"#),
            )
            .await;
        let events = reply["result"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if events.iter().any(|e| e["source"] == "local:table-marker") {
            break events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the marker never reached the event log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let accepted: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "command_accepted")
        .collect();
    assert_eq!(
        accepted.len(),
        1,
        "accepted commands besides the marker: {accepted:?}"
    );
    // Every refused command is in the event log: the controllers' refusals (recorded by the
    // house) and the parse errors that never reached it (recorded by the intake).
    let refused = events
        .iter()
        .filter(|e| e["kind"] == "command_refused")
        .count();
    let commands = table
        .iter()
        .filter(|(topic, _, _)| *topic == "hearth/thermostat/set" || *topic == "hearth/lock/set")
        .count();
    assert_eq!(refused, commands, "{events:?}");
    drop(daemon);
}

const ALICE_KEY: [u8; 32] = [0x5a; 32];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_unlock_works_and_forged_expired_and_replayed_ones_are_refused() {
    let broker = Broker::start();
    let keys = tempfile::tempdir().unwrap();
    let secrets = private_file(
        keys.path(),
        "unlock-keys.toml",
        &format!("[clients]\nalice = \"{}\"\n", hex::encode(ALICE_KEY)),
    );
    let signed_before_start = unix_now_secs() - 2;
    let config =
        TestConfig::new(broker.port()).mqtt(format!("secrets_file = \"{}\"", secrets.display()));
    let _daemon = Daemon::start(&config);
    let mut c = observer(&broker, "signer").await;
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "locked")
        .await;

    let lock_set = "hearth/lock/set";
    let send = |v: Value| serde_json::to_vec(&v).unwrap();
    // Signed ts are whole seconds and anything signed before hearth's start (in ms) is
    // refused, so sign in a second that begins after the start.
    let status = c
        .request("hearth/request/status", r#"{"id":"start"}"#)
        .await;
    let started =
        hearth_model::UnixMillis::parse_rfc3339(status["result"]["started_at"].as_str().unwrap())
            .unwrap();
    let now = support::eventually(
        "a whole second after the start",
        scaled(Duration::from_secs(2)),
        || {
            let now = unix_now_secs();
            (now * 1000 >= started.0).then_some(now)
        },
    )
    .await;

    let forged = hearth_api::sign_unlock("alice", &[0x11; 32], now, "forged-nonce-000001", "u1");
    assert_error(
        &c.request(lock_set, send(forged)).await,
        "bad_signature",
        "forged key",
    );

    let mut tampered =
        hearth_api::sign_unlock("alice", &ALICE_KEY, now, "tamper-nonce-00001", "u2");
    tampered["id"] = json!("u2-other");
    assert_error(
        &c.request(lock_set, send(tampered)).await,
        "bad_signature",
        "changed id",
    );

    let stranger = hearth_api::sign_unlock("mallory", &ALICE_KEY, now, "mallory-nonce-0001", "u3");
    assert_error(
        &c.request(lock_set, send(stranger)).await,
        "unknown_client",
        "unknown client",
    );

    let expired =
        hearth_api::sign_unlock("alice", &ALICE_KEY, now - 120, "expired-nonce-0001", "u4");
    assert_error(
        &c.request(lock_set, send(expired)).await,
        "expired",
        "two minutes old",
    );

    let early = hearth_api::sign_unlock(
        "alice",
        &ALICE_KEY,
        signed_before_start,
        "early-nonce-00001",
        "u5",
    );
    assert_error(
        &c.request(lock_set, send(early)).await,
        "expired",
        "signed before hearth started",
    );

    let unsigned = json!({"id":"u6","action":"unlock","client":"alice"});
    assert_error(
        &c.request(lock_set, send(unsigned)).await,
        "signature_required",
        "no signature",
    );

    // Nothing above moved the bolt.
    let status = c.request("hearth/request/status", r#"{"id":"st"}"#).await;
    assert_eq!(status["result"]["lock"]["state"], "locked", "{status}");

    let good = hearth_api::sign_unlock("alice", &ALICE_KEY, now, "good-nonce-0000001", "u7");
    let reply = c.request(lock_set, send(good.clone())).await;
    assert_eq!(reply, json!({"id":"u7","ok":true}));
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "unlocked")
        .await;

    let reply = c.request(lock_set, send(good)).await;
    assert_error(&reply, "replayed_nonce", "the same signed command again");

    let reply = c
        .request(lock_set, r#"{"id":"relock","action":"lock"}"#)
        .await;
    assert_ok(&reply, "lock");
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "locked")
        .await;

    // `hearthd sign` makes a command the daemon accepts.
    let out = support::daemon::hearthd_command()
        .args(["sign", "--client", "alice", "--key-file"])
        .arg(&secrets)
        .args(["--id", "cli-1"])
        .output()
        .expect("running hearthd sign");
    assert!(
        out.status.success(),
        "hearthd sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = c.request(lock_set, out.stdout).await;
    assert_eq!(reply, json!({"id":"cli-1","ok":true}));
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "unlocked")
        .await;

    // The event log names alice as the unlock's source.
    let deadline = tokio::time::Instant::now() + scaled(Duration::from_secs(10));
    for n in 0.. {
        let reply = c
            .request("hearth/request/events", format!(r#"{{"id":"ev{n}"}}"#))
            .await;
        let events = reply["result"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let by_alice = events.iter().any(|e| {
            e["kind"] == "command_accepted"
                && e["source"] == "local:alice"
                && e["detail"] == "unlock"
        });
        if by_alice {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no unlock by alice in {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broker_outage_hearth_reconnects_and_republishes_current_state() {
    let mut broker = Broker::start();
    // The door opens while the broker is down: the state published after the reconnect
    // must show it, and history must have recorded it meanwhile.
    let door_opens = scaled(Duration::from_secs(5));
    let config = TestConfig::new(broker.port()).tail(format!(
        "[[simulator.script]]\nafter = \"{}ms\"\naction = \"open_door\"\n",
        door_opens.as_millis()
    ));
    let mut daemon = Daemon::start(&config);
    let mut c = observer(&broker, "outage-1").await;
    c.wait_json(LOCK_STATE, reply_timeout(), |v| v["door"] == "closed")
        .await;
    drop(c);
    let margin = scaled(Duration::from_secs(1));
    assert!(
        daemon.started.elapsed() + margin < door_opens,
        "hearthd took {:?} to come up; the scripted door event would not fall into the outage",
        daemon.started.elapsed()
    );

    broker.stop();
    let outage_start = support::unix_now_secs();
    // The required scenario: the broker is gone for (at least) 10 s, and the scripted door
    // event falls inside the outage. Under emulation that event is scaled further out than
    // 10 s, so the outage lasts until it has passed.
    tokio::time::sleep(Duration::from_secs(10)).await;
    while daemon.started.elapsed() <= door_opens + margin {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.assert_running();
    broker.restart();

    // Persistence is off, so anything retained now was published after the reconnect.
    let mut c = observer(&broker, "outage-2").await;
    c.wait_json(LOCK_STATE, startup_timeout(), |v| v["door"] == "open")
        .await;
    c.wait_json(THERMOSTAT_STATE, reply_timeout(), |v| v["mode"] == "off")
        .await;
    let reply = c
        .request("hearth/thermostat/set", r#"{"id":"after","mode":"heat"}"#)
        .await;
    assert_eq!(reply, json!({"id":"after","ok":true}));
    c.wait_json(THERMOSTAT_STATE, reply_timeout(), |v| v["mode"] == "heat")
        .await;

    let status = c.request("hearth/request/status", r#"{"id":"s"}"#).await;
    let link = &status["result"]["broker"];
    assert_eq!(link["connected"], true, "{status}");
    assert_eq!(link["disconnects"], 1, "{status}");
    assert_eq!(status["result"]["history"]["healthy"], true, "{status}");

    // History went on while the broker was down: the door's opening is stored with its time.
    let deadline = tokio::time::Instant::now() + scaled(Duration::from_secs(10));
    for n in 0.. {
        let reply = c
            .request(
                "hearth/request/history",
                format!(r#"{{"id":"h{n}","query":"latest","field":"lock.door"}}"#),
            )
            .await;
        let sample = reply["result"]["samples"]
            .get(0)
            .cloned()
            .unwrap_or(Value::Null);
        if sample["value"] == "open" {
            let at_secs = sample["at"].as_i64().unwrap() / 1000;
            assert!(
                at_secs >= outage_start,
                "door opened at {at_secs}, before the outage"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no door sample: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The reconnect was logged, with the backoff keeping attempts apart.
    let log = daemon.log();
    assert!(log.contains("lost the local MQTT broker"), "{log}");
    assert_eq!(
        log.matches("connected to the local MQTT broker").count(),
        2,
        "{log}"
    );
}

/// Home Assistant's one device-discovery message for hearth.
const DEVICE_CONFIG: &str = "homeassistant/device/hearth/config";

/// The per-entity config topics of older hearth versions, handed over and cleared at start.
const LEGACY: [&str; 5] = [
    "homeassistant/climate/hearth/thermostat/config",
    "homeassistant/lock/hearth/lock/config",
    "homeassistant/sensor/hearth/temperature/config",
    "homeassistant/sensor/hearth/humidity/config",
    "homeassistant/binary_sensor/hearth/door/config",
];

/// The components hearth announces (key, platform) and a key each must point at the right topic.
const COMPONENTS: [(&str, &str, &str, &str); 7] = [
    (
        "thermostat",
        "climate",
        "mode_command_topic",
        "hearth/thermostat/set",
    ),
    ("lock", "lock", "command_topic", "hearth/lock/set"),
    ("temperature", "sensor", "state_topic", THERMOSTAT_STATE),
    ("humidity", "sensor", "state_topic", THERMOSTAT_STATE),
    ("door", "binary_sensor", "state_topic", LOCK_STATE),
    (
        "problem",
        "binary_sensor",
        "state_topic",
        "hearth/faults/state",
    ),
    (
        "last_refusal",
        "event",
        "state_topic",
        "hearth/event/refusal",
    ),
];

/// Keys each component's config must have (Home Assistant's required and hearth's own).
fn component_keys(platform: &str) -> &'static [&'static str] {
    match platform {
        "climate" => &[
            "mode_command_topic",
            "mode_state_topic",
            "modes",
            "temperature_command_topic",
            "temperature_state_topic",
            "current_temperature_topic",
            "fan_mode_command_topic",
            "action_topic",
            "min_temp",
            "max_temp",
        ],
        "lock" => &[
            "command_topic",
            "command_template",
            "state_topic",
            "payload_lock",
            "payload_unlock",
            "value_template",
        ],
        "sensor" => &[
            "state_topic",
            "value_template",
            "device_class",
            "unit_of_measurement",
        ],
        "binary_sensor" => &[
            "state_topic",
            "value_template",
            "payload_on",
            "payload_off",
            "device_class",
        ],
        "event" => &["state_topic", "event_types"],
        other => panic!("unexpected platform {other:?}"),
    }
}

async fn check_discovery(c: &mut TestClient) -> Value {
    let m = c
        .wait_for(DEVICE_CONFIG, startup_timeout(), |m| {
            m.topic == DEVICE_CONFIG && !m.payload.is_empty()
        })
        .await;
    let config = m.json();
    for k in ["dev", "o", "cmps", "availability"] {
        assert!(
            config.get(k).is_some(),
            "device config lacks `{k}`: {config}"
        );
    }
    assert_eq!(config["availability"][0]["topic"], AVAILABILITY);
    for (key, platform, k, target) in COMPONENTS {
        let cmp = &config["cmps"][key];
        assert_eq!(cmp["platform"], platform, "{key}: {config}");
        for want in
            component_keys(platform)
                .iter()
                .chain(&["name", "unique_id", "default_entity_id"])
        {
            assert!(cmp.get(*want).is_some(), "{key} lacks `{want}`: {cmp}");
        }
        assert_eq!(cmp[k], target, "{key}");
    }
    config
}

/// Home Assistant's rendering of the lock's command template without a code.
fn lock_payload(lock: &Value, action: &str) -> String {
    let tpl = lock["command_template"].as_str().unwrap();
    tpl.replace("{{ value }}", action)
        .replace(r#"{% if code %},"code":{{ code | tojson }}{% endif %}"#, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_configs_arrive_and_home_assistant_can_lock() {
    let broker = Broker::start();
    // An older hearth's per-entity config, still retained on the broker.
    let mut c = TestClient::connect(broker.port(), "home-assistant").await;
    c.publish(LEGACY[2], r#"{"name":"Temperature"}"#, true)
        .await;
    let _daemon = Daemon::start(&TestConfig::new(broker.port()));
    c.subscribe("homeassistant/#").await;
    c.subscribe("hearth/#").await;
    let config = check_discovery(&mut c).await;
    // The old topics are handed over (`migrate_discovery`), then cleared.
    for topic in LEGACY {
        c.wait_for(topic, startup_timeout(), |m| {
            m.topic == topic && m.payload.is_empty()
        })
        .await;
    }
    assert!(
        c.take_seen(|m| m.topic == LEGACY[0] && m.text().contains("migrate_discovery"))
            .is_some()
    );

    // The faults topic is retained state like the others.
    let faults = c
        .wait_for("faults", startup_timeout(), |m| {
            m.topic == "hearth/faults/state"
        })
        .await
        .json();
    assert!(
        faults["faults"].is_array() && faults["problem"].is_boolean(),
        "{faults}"
    );

    // Home Assistant restarts: its birth message brings the config again.
    c.clear();
    c.publish("homeassistant/status", "online", false).await;
    check_discovery(&mut c).await;

    // The lock entity's own payloads work as announced: lock yes, unlock refused (no code
    // is configured), and the refusal is announced for Home Assistant's event entity.
    let lock = &config["cmps"]["lock"];
    assert!(lock.get("code_format").is_none());
    let command_topic = lock["command_topic"].as_str().unwrap();
    assert_ok(
        &c.request(command_topic, lock_payload(lock, "lock")).await,
        "HA lock",
    );
    assert_error(
        &c.request(command_topic, lock_payload(lock, "unlock")).await,
        "unlock_disabled",
        "HA unlock",
    );
    let event = c
        .wait_for("refusal event", reply_timeout(), |m| {
            m.topic == "hearth/event/refusal" && !m.retain
        })
        .await
        .json();
    assert_eq!(event["event_type"], "refused");
    assert_eq!(event["code"], "unlock_disabled");
    assert_eq!(event["client"], "home_assistant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_publishes_offline_and_exits_zero_and_discovery_can_be_switched_off() {
    let broker = Broker::start();
    let mut daemon = Daemon::start(&TestConfig::new(broker.port()));
    let mut c = observer(&broker, "sigterm").await;
    c.subscribe("homeassistant/#").await;
    check_discovery(&mut c).await;

    daemon.sigterm();
    let status = daemon.wait_exit(scaled(Duration::from_secs(6)));
    assert!(
        status.success(),
        "hearthd exited with {status}; log:\n{}",
        daemon.log()
    );
    c.wait_for("offline", reply_timeout(), |m| {
        m.topic == AVAILABILITY && m.payload == b"offline"
    })
    .await;
    // A clean DISCONNECT (mosquitto logs an unclean end as "closed its connection").
    let id = format!("hearthd-test-{}", broker.port());
    let log = broker.log();
    assert!(
        log.contains(&format!("Client {id} disconnected.")),
        "broker log:\n{log}"
    );
    let daemon_log = daemon.log();
    assert!(daemon_log.contains("local MQTT stopped"), "{daemon_log}");

    // With discovery off, the next start removes the entities (empty retained configs).
    c.clear();
    let config = TestConfig::new(broker.port()).mqtt("[mqtt.discovery]\nenabled = false");
    let _daemon = Daemon::start(&config);
    for topic in LEGACY.into_iter().chain([DEVICE_CONFIG]) {
        c.wait_for(topic, startup_timeout(), |m| {
            m.topic == topic && m.payload.is_empty()
        })
        .await;
    }
    c.wait_for("online again", reply_timeout(), |m| {
        m.topic == AVAILABILITY && m.payload == b"online"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_answer_status_history_events_and_policy() {
    let broker = Broker::start();
    let _daemon = Daemon::start(&TestConfig::new(broker.port()));
    let mut c = observer(&broker, "requests").await;

    let status = c.request("hearth/request/status", "").await;
    assert_eq!(status["id"], Value::Null);
    let r = &status["result"];
    assert_eq!(r["broker"]["connected"], true, "{status}");
    assert_eq!(r["broker"]["port"], broker.port(), "{status}");
    assert_eq!(r["history"]["healthy"], true, "{status}");
    assert_eq!(r["lock"]["state"], "locked", "{status}");
    assert!(r["faults"].is_array() && r["uptime_s"].is_u64(), "{status}");
    // The reply goes where the client asks.
    c.subscribe("hearth/client/me/replies").await;
    c.publish(
        "hearth/request/status",
        r#"{"id":"mine","reply_to":"hearth/client/me/replies"}"#,
        false,
    )
    .await;
    let m = c
        .wait_for("reply on reply_to", reply_timeout(), |m| {
            m.topic == "hearth/client/me/replies"
        })
        .await;
    assert_eq!(m.json()["id"], "mine");

    // History: wait for the first commit with temperature samples.
    let deadline = tokio::time::Instant::now() + scaled(Duration::from_secs(10));
    for n in 0.. {
        let reply = c
            .request(
                "hearth/request/history",
                format!(
                    r#"{{"id":"r{n}","query":"range","field":"thermostat.temperature","since":"10m","limit":5}}"#
                ),
            )
            .await;
        // Before the first commit there is no database yet: a structured error, not a crash.
        if reply["ok"] == false {
            assert_eq!(reply["error"]["code"], "history_unavailable", "{reply}");
        }
        let samples = reply["result"]["samples"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !samples.is_empty() {
            assert!(samples.len() <= 5, "{reply}");
            assert!(
                samples[0]["value"].is_f64() && samples[0]["time"].is_string(),
                "{reply}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no samples: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let latest = c
        .request("hearth/request/history", r#"{"id":"l","query":"latest"}"#)
        .await;
    let fields: Vec<_> = latest["result"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"thermostat.temperature".to_owned())
            && fields.contains(&"lock.state".to_owned()),
        "{latest}"
    );
    let rollup = c
        .request(
            "hearth/request/history",
            r#"{"id":"ru","query":"rollup","field":"thermostat.temperature","since":"2h"}"#,
        )
        .await;
    assert_ok(&rollup, "rollup");
    let buckets = rollup["result"]["buckets"].as_array().unwrap();
    assert!(
        !buckets.is_empty() && buckets[0]["count"].as_u64() > Some(0),
        "{rollup}"
    );
    let odd_step = c
        .request(
            "hearth/request/history",
            r#"{"id":"odd","query":"rollup","field":"thermostat.temperature","since":"2h","every":"90m"}"#,
        )
        .await;
    assert_error(
        &odd_step,
        "invalid_value",
        "a rollup step that is not whole hours",
    );

    let events = c
        .request("hearth/request/events", r#"{"id":7,"limit":5}"#)
        .await;
    assert_eq!(events["id"], 7);
    assert!(events["result"]["events"].is_array(), "{events}");

    // Policy requests reach the cloud supervisor; with no [[cloud]] there is nothing to share.
    let explain = c
        .request("hearth/request/policy_explain", r#"{"id":"pe"}"#)
        .await;
    assert_ok(&explain, "policy_explain");
    assert_eq!(explain["result"]["clouds"], json!([]), "{explain}");
    let unknown = c
        .request(
            "hearth/request/policy_explain",
            r#"{"id":"pe2","cloud":"nope"}"#,
        )
        .await;
    assert_error(&unknown, "unknown_cloud", "explain an unknown cloud");
    let reload = c
        .request("hearth/request/policy_reload", r#"{"id":"pr"}"#)
        .await;
    assert_ok(&reload, "policy_reload");
    let audit = c.request("hearth/request/audit", r#"{"id":"au"}"#).await;
    assert!(
        audit["ok"] == true || audit["error"]["code"].is_string(),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_password_from_a_file_connects_and_a_wrong_password_does_not() {
    let tls_port = support::broker::free_port();
    let broker = Broker::start_with(|dir| {
        let certs = support::tls::make_certs(dir);
        let passwords = support::tls::mosquitto_password_file(dir, "hearth", "s3cret-pw");
        format!(
            "listener {tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n\
             cafile {}\ncertfile {}\nkeyfile {}\n",
            passwords.display(),
            certs.ca.display(),
            certs.server_cert.display(),
            certs.server_key.display()
        )
    });
    let secrets = tempfile::tempdir().unwrap();
    let config_for = |password: &str, client_id: &str| {
        let password_file = private_file(secrets.path(), client_id, &format!("{password}\n"));
        let mut config = TestConfig::new(tls_port)
            .mqtt("username = \"hearth\"")
            .mqtt(format!("password_file = \"{}\"", password_file.display()))
            .mqtt(format!(
                "[mqtt.tls]\nca_file = \"{}\"",
                broker.dir().join("ca.crt").display()
            ));
        config.host = "localhost".into();
        config.client_id = client_id.into();
        config
    };

    // The test client uses the plain anonymous listener of the same broker.
    let _daemon = Daemon::start(&config_for("s3cret-pw", "hearthd-tls"));
    let mut c = observer(&broker, "tls-observer").await;
    let reply = c
        .request("hearth/thermostat/set", r#"{"id":"tls","mode":"heat"}"#)
        .await;
    assert_eq!(reply, json!({"id":"tls","ok":true}));

    let mut wrong = Daemon::start(&config_for("wrong-pw", "hearthd-wrong"));
    support::eventually("a refused login", startup_timeout(), || {
        wrong
            .log()
            .contains("cannot reach the local MQTT broker")
            .then_some(())
    })
    .await;
    wrong.assert_running();
    let log = wrong.log();
    assert!(log.contains("refused"), "{log}");
    assert!(!log.contains("connected to the local MQTT broker"), "{log}");
}
