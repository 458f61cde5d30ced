//! The audit trail under a flood (a real Mosquitto and hearthd): 50 000 thermostat commands
//! as fast as a client can publish them, while a second client unlocks (signed) and locks
//! the door five times. Afterwards every accepted command, every refusal that was carried
//! to the controllers and every lock change is in the event log — counts equal to what the
//! house task counted — and every signed unlock is there. Readings may be thinned; `status`
//! says how many.

mod support;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::time::Duration;
use support::daemon::{private_file, startup_timeout};
use support::{Broker, Daemon, TestClient, TestConfig, scaled, unix_now_secs};

const ALICE_KEY: [u8; 32] = [0x5a; 32];
const LOCK_STATE: &str = "hearth/lock/state";
const ROUNDS: usize = 5;

fn flood_size() -> usize {
    if std::env::var("HEARTH_UNDER_EMULATION").is_ok_and(|v| v == "1") {
        println!("under emulation: 5 000 commands instead of 50 000");
        5_000
    } else {
        50_000
    }
}

/// A number in the daemon's stop report (`name: 123`).
fn stat(log: &str, name: &str) -> u64 {
    let report = log
        .rfind("hearthd stopped")
        .map(|i| &log[i..])
        .unwrap_or_else(|| panic!("no stop report in the log:\n{log}"));
    let at = report
        .find(&format!("{name}: "))
        .unwrap_or_else(|| panic!("no {name} in the stop report: {report}"));
    report[at + name.len() + 2..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a number in: {report}"))
}

/// Publish `n` thermostat commands at QoS 1 as fast as the client's queue takes them.
async fn flood(port: u16, n: usize) {
    let mut opts = MqttOptions::new("flooder", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_inflight(200);
    let (client, mut eventloop) = AsyncClient::new(opts, 1000);
    let acks = tokio::spawn(async move {
        let mut acked = 0;
        while acked < n {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("the flooder lost the broker: {e}"),
            }
        }
    });
    for i in 0..n {
        let heat = if i % 2 == 0 { 20.0 } else { 20.5 };
        let payload = format!(r#"{{"id":{i},"setpoint_heat":{heat},"client":"flood"}}"#);
        client
            .publish("hearth/thermostat/set", QoS::AtLeastOnce, false, payload)
            .await
            .expect("queueing a flood command");
    }
    tokio::time::timeout(scaled(Duration::from_secs(120)), acks)
        .await
        .expect("the broker acknowledged the flood")
        .expect("the flood's poller");
}

/// Send lock commands made by `make` (a fresh nonce each time) until one is carried out and
/// the lock reaches `state`; `busy`, `expired` and `lock_busy` refusals are retried. Returns how many were accepted
/// how many tries it took.
async fn until_state(
    c: &mut TestClient,
    daemon: &Daemon,
    make: &mut dyn FnMut() -> Value,
    state: &str,
) -> u32 {
    for attempt in 1..=50 {
        // Only states published after this command count.
        c.clear();
        let payload = make();
        let id = payload["id"].clone();
        c.publish(
            "hearth/lock/set",
            serde_json::to_vec(&payload).unwrap(),
            false,
        )
        .await;
        // Behind the flood in the broker's queue for hearth: allow for it.
        let wait = c.wait_for("the lock's reply", scaled(Duration::from_secs(100)), |m| {
            m.topic == "hearth/response/lock/set" && m.json()["id"] == id
        });
        let Ok(reply) = tokio::time::timeout(scaled(Duration::from_secs(90)), wait).await else {
            let log = daemon.log();
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("lock") || l.contains("dropped") || l.contains("WARN"))
                .take(60)
                .collect();
            panic!(
                "no reply to {id} in 90 s; hearthd's log:\n{}",
                lines.join("\n")
            );
        };
        let reply = reply.json();
        if reply["ok"] == true {
            c.wait_json(LOCK_STATE, scaled(Duration::from_secs(30)), |v| {
                v["state"] == state
            })
            .await;
            return attempt;
        }
        // Busy, a signature that aged past its 30 s window in the queue, or the bolt still
        // moving: try again.
        let code = reply["error"]["code"].as_str().unwrap_or_default();
        assert!(["busy", "expired", "lock_busy"].contains(&code), "{reply}");
    }
    panic!("hearth stayed busy for 50 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_loses_no_command_refusal_or_lock_change_from_the_event_log() {
    // No limit on the broker's queue for a slow client: every command reaches hearth (and
    // every reply the test), so the counts below are hearth's doing alone.
    let broker = Broker::start_with(|_| "max_queued_messages 0\nmax_queued_bytes 0\n".into());
    let dir = tempfile::tempdir().unwrap();
    let secrets = private_file(
        dir.path(),
        "unlock-keys.toml",
        &format!("[clients]\nalice = \"{}\"\n", hex::encode(ALICE_KEY)),
    );
    let db = dir.path().join("history.db");
    let cfg = TestConfig::new(broker.port())
        .history_path(&db)
        .mqtt(format!("secrets_file = \"{}\"", secrets.display()))
        // Signed commands wait behind the flood; do not let them expire there.
        .mqtt("command_max_age = \"5m\"");
    let mut daemon = Daemon::start(&cfg);
    let mut c = TestClient::connect(broker.port(), "alice-phone").await;
    c.subscribe("hearth/availability").await;
    c.subscribe(LOCK_STATE).await;
    c.wait_for("hearth online", startup_timeout(), |m| {
        m.topic == "hearth/availability" && m.payload == b"online"
    })
    .await;
    // Signatures carry whole seconds and must not predate hearth's start.
    let started = unix_now_secs() + 1;
    support::eventually(
        "a second after the start",
        scaled(Duration::from_secs(3)),
        || (unix_now_secs() >= started).then_some(()),
    )
    .await;

    let n = flood_size();
    let flooding = tokio::spawn(flood(broker.port(), n));
    let mut nonce = 0;
    let mut attempts = 0;
    for round in 0..ROUNDS {
        let mut unlock = || {
            nonce += 1;
            hearth_api::sign_unlock(
                "alice",
                &ALICE_KEY,
                unix_now_secs(),
                &format!("flood-nonce-{nonce:06}"),
                &format!("unlock-{round}-{nonce}"),
            )
        };
        attempts += until_state(&mut c, &daemon, &mut unlock, "unlocked").await;
        let mut lock = || json!({"id": format!("lock-{round}"), "action": "lock"});
        attempts += until_state(&mut c, &daemon, &mut lock, "locked").await;
    }
    flooding.await.expect("the flood");
    let status = c
        .request("hearth/request/status", r#"{"id":"after"}"#)
        .await;
    let history = &status["result"]["history"];
    assert!(
        history["readings_dropped"].is_u64() && history["events_dropped"] == 0,
        "{status}"
    );

    daemon.sigterm();
    assert!(daemon.wait_exit(scaled(Duration::from_secs(30))).success());
    let log = daemon.log();
    let accepted = stat(&log, "commands_accepted");
    let refused = stat(&log, "commands_refused");
    let busy = stat(&log, "commands_busy");
    let lock_changes = stat(&log, "lock_changes");
    assert_eq!(stat(&log, "events_dropped"), 0);
    assert_eq!(stat(&log, "events_lost_at_shutdown"), 0);

    let store = hearth_history::Store::open_read_only(&db).unwrap();
    let events = store
        .events(
            hearth_model::UnixMillis(0),
            hearth_model::UnixMillis(i64::MAX >> 8),
            10_000_000,
        )
        .unwrap();
    let count =
        |kind: hearth_history::EventKind| events.iter().filter(|e| e.kind == kind).count() as u64;
    let signed_unlocks = events
        .iter()
        .filter(|e| {
            e.kind == hearth_history::EventKind::CommandAccepted
                && e.detail == "unlock"
                && e.source
                    .as_ref()
                    .is_some_and(|s| s.to_string().contains("alice"))
        })
        .count();
    println!(
        "{n} flood commands + {attempts} lock attempts: {accepted} accepted, {refused} refused \
         ({busy} busy), {lock_changes} lock changes; readings thinned: {}; replies dropped: {}",
        history["readings_dropped"], status["result"]["broker"]["replies_dropped"]
    );
    assert!(accepted > 0, "nothing was accepted");
    assert_eq!(count(hearth_history::EventKind::CommandAccepted), accepted);
    assert_eq!(
        count(hearth_history::EventKind::CommandRefused),
        refused - busy
    );
    assert_eq!(count(hearth_history::EventKind::LockChange), lock_changes);
    assert!(
        lock_changes >= 2 * ROUNDS as u64,
        "{lock_changes} lock changes"
    );
    // Each round's unlock was accepted exactly once (the reply said so); all are logged.
    assert_eq!(signed_unlocks, ROUNDS, "signed unlocks in the event log");
}
