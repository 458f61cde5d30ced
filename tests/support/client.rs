//! An MQTT client for tests (rumqttc): subscribe and wait for the SUBACK, publish, wait for a
//! message matching a condition, and `request` = publish a command or request and wait for
//! the reply with the same `id`. Every wait has a timeout, so a test can fail but never hang.

use super::reply_timeout;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One received message.
#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Msg {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.topic,
                String::from_utf8_lossy(&self.payload)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

pub struct TestClient {
    client: AsyncClient,
    messages: mpsc::UnboundedReceiver<Msg>,
    subacks: mpsc::UnboundedReceiver<()>,
    /// Received but not yet matched, oldest first.
    backlog: Vec<Msg>,
    base: String,
    poller: JoinHandle<()>,
}

impl TestClient {
    /// Connect to the broker on 127.0.0.1:`port` and subscribe to `hearth/response/#`.
    pub async fn connect(port: u16, id: &str) -> TestClient {
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let (msg_tx, messages) = mpsc::unbounded_channel();
        let (ack_tx, subacks) = mpsc::unbounded_channel();
        let (conn_tx, mut connected) = mpsc::unbounded_channel();
        let poller = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = conn_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = msg_tx.send(Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        });
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        tokio::time::timeout(reply_timeout(), connected.recv())
            .await
            .unwrap_or_else(|_| panic!("test client {id} could not connect to port {port}"));
        let mut c = TestClient {
            client,
            messages,
            subacks,
            backlog: Vec::new(),
            base: "hearth".into(),
            poller,
        };
        c.subscribe("hearth/response/#").await;
        c
    }

    /// Subscribe and wait for the broker's SUBACK, so later publishes are seen.
    pub async fn subscribe(&mut self, filter: &str) {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .expect("queueing SUBSCRIBE");
        tokio::time::timeout(reply_timeout(), self.subacks.recv())
            .await
            .unwrap_or_else(|_| panic!("no SUBACK for {filter}"));
    }

    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.into())
            .await
            .expect("queueing PUBLISH");
    }

    /// The first message (already received or arriving within `timeout`) for which `pred`
    /// holds; it is taken out of the backlog.
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Msg) -> bool,
    ) -> Msg {
        if let Some(i) = self.backlog.iter().position(&mut pred) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.messages.recv()).await {
                Ok(Some(m)) if pred(&m) => return m,
                Ok(Some(m)) => self.backlog.push(m),
                Ok(None) => panic!("the test client's connection task ended"),
                Err(_) => panic!(
                    "timed out after {timeout:?} waiting for {what}; unmatched messages:\n{}",
                    self.describe_backlog()
                ),
            }
        }
    }

    /// Wait for a JSON message on `topic` satisfying `pred` (e.g. a retained state).
    pub async fn wait_json(
        &mut self,
        topic: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        self.wait_for(topic, timeout, |m| {
            m.topic == topic && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| pred(&v))
        })
        .await
        .json()
    }

    /// Publish `payload` on `topic` (a command, sim or request topic under `hearth/`) and
    /// wait for the reply on the matching `hearth/response/...` topic whose `id` is the
    /// payload's id (`null` when it has none or it is not a string or number).
    pub async fn request(&mut self, topic: &str, payload: impl Into<Vec<u8>>) -> Value {
        let payload = payload.into();
        let id = serde_json::from_slice::<Value>(&payload)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .filter(|id| id.is_string() || id.is_number())
            .unwrap_or(Value::Null);
        self.request_with_id(topic, payload, id).await
    }

    /// [`TestClient::request`] waiting for a reply with the given `id` (e.g. `null` for a
    /// payload hearth cannot read an id from).
    pub async fn request_with_id(
        &mut self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        id: Value,
    ) -> Value {
        let reply_topic = self.response_topic(topic);
        self.publish(topic, payload, false).await;
        let what = format!("a reply with id {id} on {reply_topic}");
        self.wait_for(&what, reply_timeout(), |m| {
            m.topic == reply_topic
                && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| v["id"] == id)
        })
        .await
        .json()
    }

    /// `hearth/request/<op>` -> `hearth/response/<op>`; `hearth/<x>` -> `hearth/response/<x>`.
    pub fn response_topic(&self, topic: &str) -> String {
        let rest = topic
            .strip_prefix(&format!("{}/", self.base))
            .unwrap_or_else(|| panic!("{topic} is not under {}/", self.base));
        let rest = rest.strip_prefix("request/").unwrap_or(rest);
        format!("{}/response/{rest}", self.base)
    }

    /// A message received so far (without waiting) for which `pred` holds, taken out.
    pub fn take_seen(&mut self, mut pred: impl FnMut(&Msg) -> bool) -> Option<Msg> {
        while let Ok(m) = self.messages.try_recv() {
            self.backlog.push(m);
        }
        let i = self.backlog.iter().position(&mut pred)?;
        Some(self.backlog.remove(i))
    }

    /// Forget everything received so far (e.g. before checking what arrives next).
    pub fn clear(&mut self) {
        while let Ok(m) = self.messages.try_recv() {
            self.backlog.push(m);
        }
        self.backlog.clear();
    }

    fn describe_backlog(&self) -> String {
        self.backlog
            .iter()
            .rev()
            .take(20)
            .map(|m| format!("  {} {}", m.topic, m.text()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.poller.abort();
    }
}
