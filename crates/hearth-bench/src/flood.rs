//! Peak RSS of the daemon under a flood: 50 000 thermostat commands as fast as a client can
//! publish them, then a burst of year-long history requests (raw ranges at the largest
//! `limit`, hourly rollups over the year), against a history file filled with a year of
//! data. The figure is the daemon's `VmHWM` (its peak RSS since start) once it is idle
//! again, beside its RSS before the flood.

use super::process;
use super::report::{Figure, Report};
use anyhow::Context;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;

/// Publish the flood and wait until the daemon has worked through it.
pub async fn flood(
    report: &mut Report,
    port: u16,
    daemon: u32,
    commands: usize,
    history_requests: usize,
) -> anyhow::Result<()> {
    let before = process::rss_bytes(daemon).context("reading the daemon's RSS")?;
    let mut opts = MqttOptions::new("bench-flood", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
    let (c, mut ev) = AsyncClient::new(opts, 10_000);
    c.subscribe("hearth/response/#", QoS::AtMostOnce).await?;
    let replies = Arc::new(AtomicU64::new(0));
    let reply_bytes = Arc::new(AtomicU64::new(0));
    let (r, rb) = (replies.clone(), reply_bytes.clone());
    let poller = tokio::spawn(async move {
        while let Ok(event) = ev.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                r.fetch_add(1, Ordering::Relaxed);
                rb.fetch_add(p.payload.len() as u64, Ordering::Relaxed);
            }
        }
    });
    let t0 = Instant::now();
    for i in 0..commands {
        let setpoint = 17.0 + (i % 40) as f64 / 10.0;
        c.publish(
            "hearth/thermostat/set",
            QoS::AtMostOnce,
            false,
            format!("{{\"id\":\"f{i}\",\"setpoint_heat\":{setpoint:.1}}}"),
        )
        .await?;
    }
    for i in 0..history_requests {
        let body = if i % 2 == 0 {
            format!(
                "{{\"id\":\"h{i}\",\"query\":\"range\",\"field\":\"thermostat.temperature\",\
                 \"since\":\"365d\",\"limit\":10000}}"
            )
        } else {
            format!(
                "{{\"id\":\"h{i}\",\"query\":\"rollup\",\"field\":\"thermostat.temperature\",\
                 \"since\":\"365d\",\"every\":\"1h\"}}"
            )
        };
        c.publish("hearth/request/history", QoS::AtMostOnce, false, body)
            .await?;
    }
    let published = t0.elapsed();
    // Worked through once its CPU use stays low for a second.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = process::cpu_time(daemon).context("reading the daemon's CPU time")?;
    let mut quiet = 0;
    while quiet < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = process::cpu_time(daemon).context("the daemon died under the flood")?;
        // At most one 10 ms tick in 200 ms: 5 % of a core.
        quiet = if now.saturating_sub(last) <= Duration::from_millis(10) {
            quiet + 1
        } else {
            0
        };
        last = now;
    }
    let worked = t0.elapsed();
    let peak = process::peak_rss_bytes(daemon).context("the daemon died under the flood")?;
    poller.abort();
    report.push(Figure {
        name: "peak RSS under a flood".into(),
        value: peak as f64 / MIB,
        unit: "MiB",
        baseline: Some(before as f64 / MIB),
        baseline_name: "its RSS just before",
        goal: Some((16.0, false)),
        note: format!(
            "{commands} commands + {history_requests} year-long history requests, published \
             in {:.1} s, worked through in {:.1} s; {} replies ({:.1} MB) received",
            published.as_secs_f64(),
            worked.as_secs_f64(),
            replies.load(Ordering::Relaxed),
            reply_bytes.load(Ordering::Relaxed) as f64 / 1e6
        ),
    });
    Ok(())
}
