//! Hostile clients on an anonymous house broker (a real Mosquitto): oversized and retained
//! commands, spoofed retained state, a client id takeover, and replies aimed at another
//! device. hearth must stay connected and answering, refuse with a reply, change nothing,
//! and put its own retained topics right within a second. Run on MQTT 5 and on the 3.1.1
//! fallback where the behaviour is meant to be the same.

mod support;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::daemon::startup_timeout;
use support::{Broker, Daemon, TestClient, TestConfig, reply_timeout, scaled};
use tokio::sync::mpsc;

const LOCK_STATE: &str = "hearth/lock/state";
const THERMOSTAT_STATE: &str = "hearth/thermostat/state";
const AVAILABILITY: &str = "hearth/availability";
const MIB: usize = 1024 * 1024;

/// A plain client that can publish up to 64 MiB and reports each PUBACK.
struct BigClient {
    client: AsyncClient,
    acks: mpsc::UnboundedReceiver<()>,
    poller: tokio::task::JoinHandle<()>,
}

impl BigClient {
    async fn connect(port: u16, id: &str) -> BigClient {
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(64 * MIB, 64 * MIB);
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (conn_tx, mut connected) = mpsc::unbounded_channel();
        let poller = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = conn_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    // One connection only: an impostor that was kicked off stays off.
                    Err(_) => return,
                }
            }
        });
        tokio::time::timeout(reply_timeout(), connected.recv())
            .await
            .expect("the big client connects")
            .expect("the big client connects");
        BigClient {
            client,
            acks,
            poller,
        }
    }

    /// Publish `size` bytes of a JSON-ish command and wait for the broker's PUBACK.
    async fn publish(&mut self, topic: &str, size: usize, retain: bool) {
        let mut payload = br#"{"id":"big","mode":"heat","client":""#.to_vec();
        payload.resize(size - 2, b'x');
        payload.extend(br#""}"#);
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .expect("queueing the big publish");
        tokio::time::timeout(scaled(Duration::from_secs(30)), self.acks.recv())
            .await
            .unwrap_or_else(|_| panic!("no PUBACK for {size} bytes on {topic}"));
    }
}

impl Drop for BigClient {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

fn config(broker: &Broker, protocol: &str) -> TestConfig {
    TestConfig::new(broker.port()).mqtt(format!("protocol = \"{protocol}\""))
}

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

async fn status(c: &mut TestClient, id: &str) -> Value {
    let reply = c
        .request("hearth/request/status", format!(r#"{{"id":"{id}"}}"#))
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    reply["result"].clone()
}

async fn oversized_commands_leave_hearth_connected(protocol: &str) {
    let broker = Broker::start();
    let mut big = BigClient::connect(broker.port(), "big").await;
    // Stored before hearth subscribes: delivered at every (re)subscribe.
    big.publish("hearth/lock/set", 50 * MIB, true).await;
    big.publish("hearth/thermostat/set", 5 * MIB, true).await;
    let cfg = config(&broker, protocol);
    let hearth_id = cfg.client_id.clone();
    let daemon = Daemon::start(&cfg);
    let mut c = observer(&broker, "watcher").await;
    let first = status(&mut c, "s1").await;

    // Live, on command and request topics.
    big.publish("hearth/thermostat/set", 5 * MIB, false).await;
    big.publish("hearth/request/status", 50 * MIB, false).await;
    big.publish("hearth/lock/set", 5 * MIB, false).await;
    let after = status(&mut c, "s2").await;
    assert_eq!(after["broker"]["connected"], true, "{after}");
    assert_eq!(after["broker"]["disconnects"], 0, "{after}");
    assert_eq!(after["thermostat"]["mode"], first["thermostat"]["mode"]);
    assert_eq!(after["lock"]["state"], "locked", "{after}");
    if protocol == "3.1.1" {
        // 3.1.1 reads them and refuses them by size, with a reply.
        let reply = c
            .wait_for("payload_too_large", reply_timeout(), |m| {
                m.topic == "hearth/response/thermostat/set"
                    && m.json()["error"]["code"] == "payload_too_large"
            })
            .await;
        assert_eq!(reply.json()["id"], Value::Null);
    }

    // A client connecting with hearth's id knocks it off; hearth comes back (and gets the
    // stored 50 MiB command again) and keeps answering.
    c.clear();
    let impostor = BigClient::connect(broker.port(), &hearth_id).await;
    // hearth publishes `online` again on its new session.
    c.wait_for("hearth back online", scaled(Duration::from_secs(10)), |m| {
        m.topic == AVAILABILITY && m.payload == b"online"
    })
    .await;
    drop(impostor);
    let last = status(&mut c, "s3").await;
    assert_eq!(last["broker"]["connected"], true, "{last}");
    assert!(last["broker"]["disconnects"].as_u64() >= Some(1), "{last}");
    // Mosquitto 2.0 closes the old connection without MQTT 5's "session taken over"
    // reason, so on both protocols hearth infers it: closed, and taken back at once.
    assert!(
        last["broker"]["session_takeovers"].as_u64() >= Some(1),
        "{last}"
    );
    assert!(
        daemon.log().contains("took over its session"),
        "the takeover is not logged:\n{}",
        daemon.log()
    );
    assert_eq!(last["lock"]["state"], "locked", "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_and_fifty_mib_commands_leave_hearth_connected_on_mqtt5() {
    oversized_commands_leave_hearth_connected("5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_and_fifty_mib_commands_leave_hearth_connected_on_mqtt311() {
    oversized_commands_leave_hearth_connected("3.1.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_commands_live_or_stored_are_refused_with_a_reply() {
    let broker = Broker::start();
    let mut c = TestClient::connect(broker.port(), "retainer").await;
    c.publish(
        "hearth/thermostat/set",
        r#"{"id":"stored","mode":"cool"}"#,
        true,
    )
    .await;
    let _daemon = Daemon::start(&config(&broker, "5"));
    let mut w = observer(&broker, "watcher").await;
    let before = status(&mut w, "before").await;
    let stored = c
        .wait_for("the stored command's refusal", reply_timeout(), |m| {
            m.topic == "hearth/response/thermostat/set" && m.json()["id"] == "stored"
        })
        .await
        .json();
    assert_eq!(stored["error"]["code"], "retained", "{stored}");

    // Live retained publishes: MQTT 5's Retain As Published shows the flag to hearth.
    c.subscribe("hearth/client/t/replies").await;
    c.publish(
        "hearth/lock/set",
        r#"{"id":"live","action":"unlock","reply_to":"hearth/client/t/replies"}"#,
        true,
    )
    .await;
    let live = c
        .wait_for("the live retained refusal", reply_timeout(), |m| {
            m.topic == "hearth/client/t/replies"
        })
        .await
        .json();
    assert_eq!(
        (live["id"].clone(), live["error"]["code"].clone()),
        (json!("live"), json!("retained"))
    );
    c.publish(
        "hearth/thermostat/set",
        r#"{"id":"live2","mode":"heat"}"#,
        true,
    )
    .await;
    c.publish("hearth/request/status", r#"{"id":"live3"}"#, true)
        .await;
    for (topic, id) in [
        ("hearth/response/thermostat/set", "live2"),
        ("hearth/response/status", "live3"),
    ] {
        let r = c
            .wait_for(id, reply_timeout(), |m| {
                m.topic == topic && m.json()["id"] == id
            })
            .await
            .json();
        assert_eq!(r["error"]["code"], "retained", "{r}");
    }
    let after = status(&mut w, "after").await;
    assert_eq!(after["thermostat"]["mode"], before["thermostat"]["mode"]);
    assert_eq!(after["lock"]["state"], "locked", "{after}");
}

async fn spoofed_retained_topics_are_corrected(protocol: &str) {
    let broker = Broker::start();
    let _daemon = Daemon::start(&config(&broker, protocol));
    let mut w = observer(&broker, "watcher").await;
    // The simulator's door starts locked (after a first `unknown` until the inputs are read).
    let real_lock = w
        .wait_json(LOCK_STATE, reply_timeout(), |v| v["state"] == "locked")
        .await;
    let spoofer = TestClient::connect(broker.port(), "spoofer").await;
    for (topic, fake, is_real) in [
        (
            LOCK_STATE,
            br#"{"state":"unlocked","door":"closed"}"#.to_vec(),
            Box::new(|m: &[u8]| m.starts_with(br#"{"state":"locked""#))
                as Box<dyn Fn(&[u8]) -> bool>,
        ),
        (
            AVAILABILITY,
            b"offline".to_vec(),
            Box::new(|m: &[u8]| m == b"online"),
        ),
        (
            THERMOSTAT_STATE,
            Vec::new(),
            Box::new(|m: &[u8]| m.starts_with(b"{\"mode\"")),
        ),
    ] {
        w.clear();
        spoofer.publish(topic, fake.clone(), true).await;
        w.wait_for("the spoof", reply_timeout(), |m| {
            m.topic == topic && m.payload == fake
        })
        .await;
        let seen = Instant::now();
        w.wait_for("hearth's correction", reply_timeout(), |m| {
            m.topic == topic && is_real(&m.payload)
        })
        .await;
        let took = seen.elapsed();
        println!("{protocol}: {topic} corrected {took:?} after the spoof arrived");
        assert!(
            took < scaled(Duration::from_secs(1)),
            "{topic} corrected after {took:?}"
        );
    }
    // What a newcomer (Home Assistant restarting) reads is hearth's, not the spoof.
    let mut fresh = TestClient::connect(broker.port(), "fresh").await;
    fresh.subscribe(LOCK_STATE).await;
    fresh.subscribe(AVAILABILITY).await;
    let lock = fresh.wait_json(LOCK_STATE, reply_timeout(), |_| true).await;
    assert_eq!(lock["state"], real_lock["state"]);
    let availability = fresh
        .wait_for("availability", reply_timeout(), |m| m.topic == AVAILABILITY)
        .await;
    assert_eq!(availability.payload, b"online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_retained_state_is_corrected_within_a_second_on_mqtt5() {
    spoofed_retained_topics_are_corrected("5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_retained_state_is_corrected_within_a_second_on_mqtt311() {
    spoofed_retained_topics_are_corrected("3.1.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_foreign_topics_are_refused_and_ids_come_back_as_sent() {
    let broker = Broker::start();
    let _daemon = Daemon::start(&config(&broker, "5"));
    let mut c = observer(&broker, "deputy").await;
    c.subscribe("zigbee2mqtt/#").await;
    let before = status(&mut c, "before").await;
    c.publish(
        "hearth/thermostat/set",
        r#"{"id":"ON","mode":"heat","reply_to":"zigbee2mqtt/front_door/set"}"#,
        false,
    )
    .await;
    let reply = c
        .wait_for("the refusal", reply_timeout(), |m| {
            m.topic == "hearth/response/thermostat/set" && m.json()["id"] == "ON"
        })
        .await
        .json();
    assert_eq!(reply["error"]["code"], "invalid_reply_to", "{reply}");
    // Ids, byte for byte: the raw reply text holds them exactly as sent.
    for id in ["1e2", "123456789012345678901234567890", "\"\\u004fN\""] {
        c.publish("hearth/request/status", format!(r#"{{"id":{id}}}"#), false)
            .await;
        c.wait_for(id, reply_timeout(), |m| {
            m.topic == "hearth/response/status"
                && m.text().starts_with(&format!(r#"{{"id":{id},"ok":true"#))
        })
        .await;
    }
    let after = status(&mut c, "after").await;
    assert_eq!(after["thermostat"]["mode"], before["thermostat"]["mode"]);
    assert!(
        c.take_seen(|m| m.topic.starts_with("zigbee2mqtt/"))
            .is_none(),
        "hearth published on another device's topic"
    );
}
