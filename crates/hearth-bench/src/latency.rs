//! Door change -> local MQTT publish latency, against a plain publish/subscribe round trip
//! on the same broker.
//!
//! A door change is made through the simulator's control topic, so hearth's figure covers
//! client -> broker -> hearth (parse, simulator edge, poller, house task, state publish) ->
//! broker -> client, while the baseline covers client -> broker -> client only.

use super::report::{Figure, Report};
use anyhow::Context;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

fn client(port: u16, id: &str) -> (AsyncClient, EventLoop) {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    AsyncClient::new(opts, 1000)
}

/// The next publish on `topic` whose payload satisfies `want`.
async fn next_publish(
    ev: &mut EventLoop,
    topic: &str,
    want: impl Fn(&[u8]) -> bool,
) -> anyhow::Result<()> {
    tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = ev.poll().await?
                && p.topic == topic
                && want(&p.payload)
            {
                return anyhow::Ok(());
            }
        }
    })
    .await
    .with_context(|| format!("nothing on {topic} within {TIMEOUT:?}"))?
}

/// Wait until the daemon says it is online.
pub async fn wait_online(port: u16) -> anyhow::Result<()> {
    let (c, mut ev) = client(port, "bench-wait");
    c.subscribe("hearth/availability", QoS::AtLeastOnce).await?;
    next_publish(&mut ev, "hearth/availability", |p| p == b"online")
        .await
        .context("the daemon did not come online")?;
    let _ = c.disconnect().await;
    Ok(())
}

fn door_is(payload: &[u8], door: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload).is_ok_and(|v| v["door"] == door)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn door_to_publish(report: &mut Report, port: u16, rounds: usize) -> anyhow::Result<()> {
    let (c, mut ev) = client(port, "bench-latency");
    c.subscribe("hearth/lock/state", QoS::AtMostOnce).await?;
    c.subscribe("bench/echo", QoS::AtMostOnce).await?;
    next_publish(&mut ev, "hearth/lock/state", |p| !p.is_empty()).await?;

    let mut hearth = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let (action, door) = if i % 2 == 0 {
            ("open_door", "open")
        } else {
            ("close_door", "closed")
        };
        let t0 = Instant::now();
        c.publish(
            "hearth/sim/set",
            QoS::AtMostOnce,
            false,
            format!("{{\"action\":\"{action}\"}}"),
        )
        .await?;
        next_publish(&mut ev, "hearth/lock/state", |p| door_is(p, door)).await?;
        hearth.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let mut plain = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let body = format!("{i}");
        let t0 = Instant::now();
        c.publish("bench/echo", QoS::AtMostOnce, false, body.clone())
            .await?;
        next_publish(&mut ev, "bench/echo", |p| p == body.as_bytes()).await?;
        plain.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = c.disconnect().await;
    hearth.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        report.push(Figure {
            name: format!("door -> MQTT publish {name}"),
            value: percentile(&hearth, p),
            unit: "ms",
            baseline: Some(percentile(&plain, p)),
            baseline_name: "plain pub/sub round trip",
            goal: (name == "p99").then_some((5.0, false)),
            note: format!("{rounds} door changes via the sim control topic"),
        });
    }
    Ok(())
}
