//! What `hearthd bench` needs from hearthd's internals ([`hearth_bench::Host`]): the cloud
//! forwarding path (policy, ledger, cloud link) and a read of the ledger. Built only with the
//! `bench` feature.

use crate::cloud::connection;
use crate::cloud::fixture::house_at;
use crate::ledger::LedgerTask;
use anyhow::Context;
use hearth_bench::{Forwarded, Host, TIMEOUT, counter};
use hearth_policy::Now;
use std::path::Path;
use std::time::Instant;
use tokio::sync::watch;

/// hearthd as the bench's [`Host`].
pub struct Hearthd;

impl Host for Hearthd {
    /// The forwarder's path: `Policy::on_state` decides and transforms, every decision goes to
    /// the ledger, the `Outbound` goes over the real cloud connection at QoS 1.
    async fn forward(&self, port: u16, dir: &Path, messages: usize) -> anyhow::Result<Forwarded> {
        let text = format!(
            "[hardware]\nbackend = \"simulator\"\n[[cloud]]\nname = \"bench\"\nformat = \"json\"\nhost = \"127.0.0.1\"\n\
             port = {port}\nclient_id = \"hearth-bench-cloud\"\ntopic_prefix = \"bench/cloud\"\n\
             [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nmin_interval = \"0s\"\nmin_delta = 0.0\n"
        );
        let cfg = crate::config::parse(Path::new("bench.toml"), &text)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let cloud = &cfg.cloud[0];
        let mut policy = cloud
            .build_policy(0)
            .map_err(|e| anyhow::anyhow!("bench policy: {e:?}"))?;
        let ledger_cfg = crate::cloud::LedgerConfig {
            path: dir.join("bench-ledger.db"),
            ..cfg.ledger.clone()
        };
        let ledger = LedgerTask::spawn(&ledger_cfg, None).context("opening the bench ledger")?;
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
        let _ = policy.on_state(&house_at(19.0), now(mono0));

        let done = counter(port, "bench-cloud-counter", "bench/cloud/#", messages).await?;
        let mut payload_bytes = 0usize;
        let start = Instant::now();
        for i in 0..messages {
            // A new temperature every time, so on_change sends every state.
            let (out, decisions) =
                policy.on_state(&house_at(20.0 + (i + 1) as f64 * 0.01), now(Instant::now()));
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
        let rate = messages as f64 / end.duration_since(start).as_secs_f64();
        let _ = stop_tx.send(true);
        let _ = driver.await;
        link.inbound.close();
        let stats = ledger.finish().await;
        Ok(Forwarded {
            rate,
            payload_bytes,
            ledger_written: stats.written,
            ledger_dropped: stats.dropped,
        })
    }

    fn ledger_rows(&self, path: &Path) -> Option<anyhow::Result<(usize, u64)>> {
        let store = crate::ledger::Store::open_read_only(path).ok()?;
        Some(
            store
                .rows(None, hearth_model::UnixMillis(0), 1_000_000)
                .map(|rows| (rows.len(), rows.iter().map(|r| r.count).sum()))
                .map_err(anyhow::Error::from),
        )
    }
}
