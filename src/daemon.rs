//! The daemon's supervisor: builds every task, wires their channels, and shuts them down
//! in order.
//!
//! Start-up: open hardware (outputs OFF), read state from sensors, open history, start the
//! local MQTT and cloud tasks, tell systemd READY. Shutdown (SIGTERM/SIGINT): stop intake,
//! drive outputs OFF, flush history, publish `offline`, exit — bounded by
//! `daemon.shutdown_timeout`. This file holds no control rule, no policy rule and no SQL.

use crate::clock::Clock;
use crate::config::Config;
use crate::house::{House, HouseIo};
use crate::shutdown::Shutdown;
use anyhow::Context;
use hearth_control::{LockController, Thermostat};
use hearth_hardware::DesiredOutputs;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

/// Run until a shutdown signal. `config_path` is kept for policy reloads.
pub async fn run(cfg: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    let (reload_tx, reload_rx) = mpsc::channel::<()>(1);
    crate::shutdown::listen(shutdown.clone(), reload_tx).context("installing signal handlers")?;
    let running = start(cfg, config_path, shutdown.clone(), reload_rx).await?;
    crate::systemd::notify_ready();
    tracing::info!("hearthd is running");
    let watchdog = crate::systemd::watchdog_interval().map(|every| {
        let probes = running.probes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                // Ping only when the house task answers: a wedged control loop must be restarted.
                let (tx, rx) = tokio::sync::oneshot::channel();
                if probes.send(tx).await.is_ok()
                    && tokio::time::timeout(every, rx)
                        .await
                        .is_ok_and(|r| r.is_ok())
                {
                    crate::systemd::notify_watchdog();
                } else {
                    tracing::error!("the control loop did not answer the watchdog probe");
                }
            }
        })
    });
    let mut stop = shutdown.subscribe();
    crate::shutdown::wait(&mut stop).await;
    crate::systemd::notify_stopping();
    let result = running.stop().await;
    if let Some(w) = watchdog {
        w.abort();
    }
    result.map(|report| tracing::info!(?report, "hearthd stopped"))
}

/// What the tasks reported when they stopped.
#[derive(Debug)]
pub struct StopReport {
    pub house: crate::house::HouseStats,
    pub history: Option<hearth_history::WriterStats>,
    pub ledger: Option<crate::ledger::LedgerStats>,
}

/// Every task of a running daemon, for an orderly stop.
pub struct Running {
    shutdown: Shutdown,
    timeout: std::time::Duration,
    house: tokio::task::JoinHandle<crate::house::HouseStats>,
    poller: tokio::task::JoinHandle<()>,
    history: crate::record::HistoryTask,
    /// Cloud connections, forwarders, and the ledger they write.
    clouds: crate::cloud::CloudTasks,
    /// The local MQTT interface; `None` without an `[mqtt]` section.
    mqtt: Option<crate::mqtt::MqttTask>,
    pub state: watch::Receiver<hearth_model::HouseState>,
    pub commands: mpsc::Sender<crate::house::CommandRequest>,
    pub sim: Option<hearth_hardware::SimHandle>,
    probes: mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
}

/// Build and start every task. Returns once the daemon is fully up.
pub async fn start(
    cfg: Config,
    config_path: PathBuf,
    shutdown: Shutdown,
    reload: mpsc::Receiver<()>,
) -> anyhow::Result<Running> {
    let clock = Clock::start().with_utc_offset(cfg.daemon.utc_offset);
    // Before any hardware is touched: a bad password, key or certificate file stops start-up.
    let mqtt = crate::mqtt::prepare(&cfg).context("setting up the local MQTT interface")?;
    let (hardware, sim) =
        hearth_hardware::open(&cfg.hardware, &cfg.simulator).context("opening the hardware")?;
    let history =
        crate::record::HistoryTask::spawn(&cfg.history).context("opening the history database")?;

    let now = clock.now().into_std();
    let thermostat = Thermostat::new(cfg.thermostat.clone(), now);
    let lock = LockController::new(cfg.lock.clone());
    let house = House::new(thermostat, lock, history.recorder(), clock);

    let (hw_tx, hw_rx) = mpsc::channel(64);
    let (outputs_tx, outputs_rx) = watch::channel(DesiredOutputs::default());
    let (state_tx, state_rx) = watch::channel(house.snapshot());
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (probe_tx, probe_rx) = mpsc::channel(1);

    let poller = tokio::spawn(hearth_hardware::run_poller(
        hardware,
        cfg.hardware.poller_config(),
        hw_tx,
        outputs_rx,
    ));
    let io = HouseIo {
        hardware: hw_rx,
        commands: cmd_rx,
        outputs: outputs_tx,
        state: state_tx,
        probes: probe_rx,
        shutdown: shutdown.subscribe(),
    };
    let house = tokio::spawn(house.run(io));
    let clouds = crate::cloud::supervisor::start(crate::cloud::CloudInputs {
        clouds: cfg.cloud.clone(),
        ledger: cfg.ledger.clone(),
        config_path,
        state: state_rx.clone(),
        commands: cmd_tx.clone(),
        clock,
        shutdown: shutdown.subscribe(),
        reload,
    })
    .context("starting the cloud forwarders")?;
    let mqtt = mqtt.map(|prepared| {
        prepared.spawn(crate::mqtt::MqttIo {
            state: state_rx.clone(),
            commands: cmd_tx.clone(),
            sim: sim.clone(),
            history: history.handle(),
            policy: Some(clouds.requests.clone()),
            clock,
        })
    });

    Ok(Running {
        shutdown,
        timeout: cfg.daemon.shutdown_timeout,
        house,
        poller,
        history,
        mqtt,
        clouds,
        state: state_rx,
        commands: cmd_tx,
        sim,
        probes: probe_tx,
    })
}

impl Running {
    /// Where policy requests (explain, reload, audit) go; for the local MQTT interface.
    pub fn policy_requests(&self) -> mpsc::Sender<crate::policy_requests::PolicyRequest> {
        self.clouds.requests.clone()
    }

    /// The local MQTT link state (connected, counters); `None` without an `[mqtt]` section.
    pub fn mqtt_link(&self) -> Option<crate::mqtt::LinkState> {
        self.mqtt.as_ref().map(crate::mqtt::MqttTask::link)
    }

    /// Stop in order: intake and control, outputs OFF, history flushed. Bounded in time.
    pub async fn stop(self) -> anyhow::Result<StopReport> {
        self.shutdown.trigger();
        let Running {
            timeout,
            house,
            poller,
            history,
            mqtt,
            clouds,
            commands,
            ..
        } = self;
        drop(commands);
        let ordered = async move {
            let house = house.await.context("the house task panicked")?;
            tracing::info!(?house, "control stopped");
            // The house dropped the outputs channel; the poller drives everything OFF and ends.
            poller.await.context("the hardware poller panicked")?;
            let history = history.finish().await;
            // The cloud tasks saw shutdown too; once they end, the ledger is flushed.
            let ledger = clouds.finish().await;
            // Last: `offline` goes out once control has stopped and history is flushed.
            if let Some(mqtt) = mqtt {
                mqtt.stop().await;
            }
            anyhow::Ok(StopReport {
                house,
                history,
                ledger,
            })
        };
        match tokio::time::timeout(timeout, ordered).await {
            Ok(result) => result,
            Err(_) => anyhow::bail!(
                "shutdown took longer than daemon.shutdown_timeout ({}); exiting anyway",
                hearth_model::duration::format(timeout)
            ),
        }
    }
}
