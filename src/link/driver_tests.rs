//! Tests of the link driver against a scripted broker on loopback: what reaches the wire
//! after a (re)connection, for both protocols.

use super::*;
use crate::link::{Limits, LinkOptions, Subscription, connect};
use hearth_api::MqttProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Subscribes to `fresh` on every connect and passes messages on.
struct Subscriber(mpsc::Sender<Message>);

impl Session for Subscriber {
    fn connected(&mut self, client: &Client) {
        client.try_subscribe(&[Subscription::to("fresh")]).unwrap();
    }
    async fn message(&mut self, message: Message) {
        let _ = self.0.send(message).await;
    }
}

/// One MQTT packet's first byte (type and flags) and body.
async fn read_packet(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let first = s.read_u8().await.expect("a packet from hearth");
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let b = s.read_u8().await.unwrap();
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.unwrap();
    (first, body)
}

/// Accept one connection, read its CONNECT and accept it.
async fn accept(listener: &TcpListener, protocol: MqttProtocol) -> TcpStream {
    let (mut s, _) = listener.accept().await.unwrap();
    let (kind, _) = read_packet(&mut s).await;
    assert_eq!(kind, 0x10, "expected CONNECT");
    let connack: &[u8] = match protocol {
        MqttProtocol::V311 => &[0x20, 2, 0, 0],
        MqttProtocol::V5 => &[0x20, 3, 0, 0, 0],
    };
    s.write_all(connack).await.unwrap();
    s
}

fn options(protocol: MqttProtocol, port: u16) -> LinkOptions {
    LinkOptions {
        protocol,
        client_id: "hearth-test".into(),
        host: "127.0.0.1".into(),
        port,
        keep_alive: Duration::from_secs(60),
        credentials: None,
        transport: rumqttc::Transport::Tcp,
        will: None,
        limits: Limits {
            incoming_v5: 64 * 1024,
            incoming_v311: 64 * 1024,
            outgoing_v311: 64 * 1024,
        },
    }
}

/// Requests made while the link is down (before the first connection and between two)
/// never reach the broker: after each CONNACK the first packet is the session's SUBSCRIBE.
/// The loss is a session takeover: said by the broker on MQTT 5, inferred on 3.1.1.
async fn nothing_made_while_down_is_sent(protocol: MqttProtocol) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (client, eventloop) = connect(&options(protocol, port));
    client
        .try_publish("stale".into(), b"before".to_vec(), false)
        .unwrap();
    let (state_tx, mut state) = watch::channel(LinkState::default());
    let (stop_tx, stop) = watch::channel(false);
    let (in_tx, _in_rx) = mpsc::channel(4);
    // Long enough that, on this single-threaded runtime, the stale publish below is queued
    // while the driver waits out the backoff, before its next attempt.
    let backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(1));
    let link = Link {
        client: client.clone(),
        eventloop,
        backoff,
        peer: Peer {
            name: "the test broker".into(),
            takeover_advice: "",
        },
        session: Subscriber(in_tx),
    };
    let driver = tokio::spawn(run(link, state_tx, stop));
    let script = async {
        let mut conn = accept(&listener, protocol).await;
        let (kind, _) = read_packet(&mut conn).await;
        assert_eq!(
            kind, 0x82,
            "first packet after CONNACK was {kind:#x}, not SUBSCRIBE"
        );
        if protocol == MqttProtocol::V5 {
            // DISCONNECT, reason 0x8E: session taken over (another client used the id).
            conn.write_all(&[0xe0, 2, 0x8e, 0]).await.unwrap();
        }
        // On 3.1.1 the broker just closes; the at-once reconnect below infers the takeover.
        drop(conn);
        state
            .wait_for(|s| !s.connected && s.disconnects == 1)
            .await
            .unwrap();
        client
            .try_publish("stale".into(), b"between".to_vec(), false)
            .unwrap();
        let mut conn = accept(&listener, protocol).await;
        let (kind, _) = read_packet(&mut conn).await;
        assert_eq!(
            kind, 0x82,
            "first packet after reconnecting was {kind:#x}, not SUBSCRIBE"
        );
        let now = state
            .wait_for(|s| s.connected && s.session == 2)
            .await
            .unwrap()
            .clone();
        assert_eq!(now.takeovers, 1, "the takeover was not noticed: {now:?}");
        stop_tx.send(true).unwrap();
        // The stop says goodbye: DISCONNECT (type 14).
        let (kind, _) = read_packet(&mut conn).await;
        assert_eq!(kind, 0xe0, "expected DISCONNECT on stop, got {kind:#x}");
    };
    tokio::time::timeout(Duration::from_secs(20), script)
        .await
        .expect("the scripted broker saw the whole exchange");
    driver.await.unwrap();
    assert!(!state.borrow().connected);
}

#[tokio::test]
async fn v311_sends_nothing_made_while_down() {
    nothing_made_while_down_is_sent(MqttProtocol::V311).await;
}

#[tokio::test]
async fn v5_sends_nothing_made_while_down() {
    nothing_made_while_down_is_sent(MqttProtocol::V5).await;
}

#[tokio::test]
async fn discard_pending_empties_the_queue_on_either_protocol() {
    for protocol in [MqttProtocol::V311, MqttProtocol::V5] {
        let (client, mut eventloop) = connect(&options(protocol, 1));
        for n in 0..3 {
            client.try_publish(format!("t/{n}"), vec![], false).unwrap();
        }
        client.try_subscribe(&[Subscription::to("x")]).unwrap();
        assert_eq!(eventloop.discard_pending(), 4, "{protocol:?}");
        assert_eq!(eventloop.discard_pending(), 0, "{protocol:?}");
    }
}
