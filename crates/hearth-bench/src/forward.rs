//! Forwarding rate: state changes through the privacy policy and the ledger to a cloud
//! broker, against a plain MQTT publish loop of the same payloads to the same broker.
//!
//! hearth's path is the forwarder's, driven by hearthd through [`Host::forward`]:
//! `Policy::on_state` decides and transforms, every decision goes to the ledger, the
//! `Outbound` goes over the real cloud connection. Both sides publish at QoS 1 and are timed
//! until a subscriber on the broker ([`counter`]) has every message.

use super::Host;
use super::report::{Figure, Report};
use anyhow::Context;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long any one step of the forwarding figure may take.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// hearth's side of the forwarding figure, measured by [`Host::forward`].
#[derive(Debug, Clone, Copy)]
pub struct Forwarded {
    /// Messages per second until the counting subscriber had every one.
    pub rate: f64,
    /// Size of one forwarded payload (the baseline publishes the same size).
    pub payload_bytes: usize,
    /// Ledger rows written and dropped meanwhile.
    pub ledger_written: u64,
    pub ledger_dropped: u64,
}

/// Count publishes under `filter` until `n` arrived; resolves with the arrival time of the last.
pub async fn counter(
    port: u16,
    id: &str,
    filter: &str,
    n: usize,
) -> anyhow::Result<oneshot::Receiver<Instant>> {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut ev) = AsyncClient::new(opts, 100);
    client.subscribe(filter, QoS::AtLeastOnce).await?;
    // Wait for the SUBACK so nothing published afterwards is missed.
    tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await? {
                return anyhow::Ok(());
            }
        }
    })
    .await
    .context("no SUBACK from the bench broker")??;
    let (done_tx, done) = oneshot::channel();
    tokio::spawn(async move {
        let _client = client;
        let mut seen = 0;
        while let Ok(event) = ev.poll().await {
            if let Event::Incoming(Packet::Publish(_)) = event {
                seen += 1;
                if seen == n {
                    let _ = done_tx.send(Instant::now());
                    return;
                }
            }
        }
    });
    Ok(done)
}

pub async fn forwarding(
    report: &mut Report,
    host: &impl Host,
    port: u16,
    dir: &Path,
    messages: usize,
) -> anyhow::Result<()> {
    let Forwarded {
        rate: hearth_rate,
        payload_bytes,
        ledger_written,
        ledger_dropped,
    } = host.forward(port, dir, messages).await?;

    // Baseline: the same number of same-size payloads from a plain client.
    let done = counter(port, "bench-plain-counter", "bench/plain/#", messages).await?;
    let mut opts = MqttOptions::new("bench-plain", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut ev) = AsyncClient::new(opts, 32);
    let poller = tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    let body = vec![b'x'; payload_bytes.max(1)];
    let start = Instant::now();
    for _ in 0..messages {
        client
            .publish("bench/plain/state", QoS::AtLeastOnce, false, body.clone())
            .await?;
    }
    let end = tokio::time::timeout(TIMEOUT, done)
        .await
        .context("the plain publisher's messages did not all arrive")??;
    let plain_rate = messages as f64 / end.duration_since(start).as_secs_f64();
    poller.abort();

    report.push(Figure {
        name: "forwarding rate via policy".into(),
        value: hearth_rate,
        unit: "msg/s",
        baseline: Some(plain_rate),
        baseline_name: "plain publish loop, same broker",
        goal: None,
        note: format!(
            "ratio {:.2} (goal >= 0.50); {messages} messages of {payload_bytes} B; ledger rows written {}, dropped {}",
            hearth_rate / plain_rate,
            ledger_written,
            ledger_dropped
        ),
    });
    report.push(Figure {
        name: "forwarding ratio".into(),
        value: hearth_rate / plain_rate,
        unit: "x plain",
        baseline: Some(1.0),
        baseline_name: "plain publish loop = 1",
        goal: Some((0.5, true)),
        note: String::new(),
    });
    Ok(())
}
