//! Forwarding rate: state changes through the privacy policy and the ledger to a cloud
//! broker, against a plain MQTT publish loop of the same payloads to the same broker.
//!
//! hearth's path is the forwarder's: `Policy::on_state` decides and transforms, every
//! decision goes to the ledger, the `Outbound` goes over the real cloud connection. Both
//! sides publish at QoS 1 and are timed until a subscriber on the broker has every message.

use super::report::{Figure, Report};
use crate::cloud::connection;
use crate::ledger::LedgerTask;
use anyhow::Context;
use hearth_model::{
    DoorState, FanMode, HouseState, HvacAction, LockState, LockStatus, Mode, ThermostatState,
};
use hearth_policy::Now;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

const TIMEOUT: Duration = Duration::from_secs(60);

fn house(temperature: f64) -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 24.0,
            temperature: Some(temperature),
            humidity: Some(45.0),
            action: HvacAction::Idle,
            faults: Vec::new(),
        },
        lock: LockStatus {
            state: LockState::Locked,
            door: Some(DoorState::Closed),
            faults: Vec::new(),
            motion: None,
        },
    }
}

/// Count publishes under `filter` until `n` arrived; resolves with the arrival time of the last.
async fn counter(
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
    port: u16,
    dir: &Path,
    messages: usize,
) -> anyhow::Result<()> {
    let text = format!(
        "[hardware]\nbackend = \"simulator\"\n[[cloud]]\nname = \"bench\"\nformat = \"json\"\nhost = \"127.0.0.1\"\n\
         port = {port}\nclient_id = \"hearth-bench-cloud\"\ntopic_prefix = \"bench/cloud\"\n\
         [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nmin_interval = \"0s\"\nmin_delta = 0.0\n"
    );
    let cfg =
        crate::config::parse(Path::new("bench.toml"), &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cloud = &cfg.cloud[0];
    let mut policy = cloud
        .build_policy(0)
        .map_err(|e| anyhow::anyhow!("bench policy: {e:?}"))?;
    let ledger_cfg = crate::cloud::LedgerConfig {
        path: dir.join("bench-ledger.db"),
        ..cfg.ledger.clone()
    };
    let ledger = LedgerTask::spawn(&ledger_cfg).context("opening the bench ledger")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (mut link, driver) = connection::spawn(cloud, stop_rx).map_err(anyhow::Error::msg)?;
    tokio::time::timeout(TIMEOUT, link.state.wait_for(|s| s.connected))
        .await
        .context("the cloud link did not come up")??;

    // Warm the policy up (its first call also sets periodic timers), outside the timing.
    let mono0 = Instant::now();
    let now = |t: Instant| Now {
        wall: hearth_model::UnixMillis::now(),
        mono: t,
        utc_offset_minutes: 0,
    };
    let _ = policy.on_state(&house(19.0), now(mono0));

    let done = counter(port, "bench-cloud-counter", "bench/cloud/#", messages).await?;
    let mut payload_bytes = 0usize;
    let start = Instant::now();
    for i in 0..messages {
        // A new temperature every time, so on_change sends every state.
        let (out, decisions) =
            policy.on_state(&house(20.0 + (i + 1) as f64 * 0.01), now(Instant::now()));
        // Rows the queue cannot take are counted and reported in the note below.
        let _ = ledger.ledger().record(decisions);
        for message in out {
            payload_bytes = message.bytes().len();
            link.publish_when_ready(message)
                .await
                .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
        }
    }
    let end = tokio::time::timeout(TIMEOUT, done)
        .await
        .context("the cloud broker did not get every message")??;
    let hearth_rate = messages as f64 / end.duration_since(start).as_secs_f64();
    let _ = stop_tx.send(true);
    let _ = driver.await;
    link.inbound.close();
    let ledger_stats = ledger.finish().await;

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
            ledger_stats.written,
            ledger_stats.dropped
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
