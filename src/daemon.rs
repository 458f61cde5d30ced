//! The daemon's supervisor: builds every task, wires their channels, watches that they all
//! keep running, and shuts them down in order.
//!
//! Start-up: signals first (SIGTERM is honoured from the first instant), then the `[mqtt]`
//! files (off the async workers), the hardware (single-instance lock, outputs OFF), history,
//! the house, clouds and local MQTT; READY once the first valid reading is in (or after
//! [`READY_TIMEOUT`], with the sensor fault showing). While running, every essential task must
//! stay alive: one that ends early stops hearth in order with a non-zero exit so systemd
//! restarts it, and the watchdog is pinged only while all are alive and the control loop
//! answers. Shutdown: stop intake, drive outputs OFF, flush history, publish the final state
//! and `offline`, exit — bounded by `daemon.shutdown_timeout`. No control rule, policy rule
//! or SQL lives here.

use crate::clock::Clock;
use crate::config::Config;
use crate::house::{House, HouseIo};
use crate::shutdown::Shutdown;
use anyhow::Context;
use hearth_control::{LockController, Thermostat};
use hearth_hardware::DesiredOutputs;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long start-up waits for the first valid temperature reading before telling systemd
/// READY anyway (the thermostat then shows its sensor fault). Below the unit's
/// `TimeoutStartSec=60s`.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Run until a shutdown signal, or until an essential task ends (an error: exit non-zero).
/// `config_path` is kept for reloads.
pub(crate) async fn run(cfg: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    let (reload_tx, reload_rx) = mpsc::channel::<()>(1);
    crate::shutdown::listen(shutdown.clone(), reload_tx).context("installing signal handlers")?;
    let mut stop = shutdown.subscribe();
    let clock = Clock::start().with_time_zone(cfg.daemon.zone());
    // Start-up can wait on files, the hardware and SQLite: a SIGTERM meanwhile ends it at once
    // (whatever was opened is dropped, and the hardware guard drives the outputs OFF).
    let running = tokio::select! {
        biased;
        () = crate::shutdown::wait(&mut stop) => {
            tracing::info!("stopped during start-up");
            return Ok(());
        }
        running = start_with_clock(cfg, config_path, shutdown.clone(), reload_rx, clock) => running?,
    };
    tracing::info!("hearthd is running");
    let report = supervise(running, &shutdown, Systemd::from_env()).await?;
    tracing::info!(?report, "hearthd stopped");
    Ok(())
}

/// What the supervisor tells systemd.
#[derive(Debug, Clone, Copy)]
pub struct Systemd {
    /// Ping interval (half of `WatchdogSec`), when the watchdog is on.
    pub watchdog: Option<Duration>,
}

impl Systemd {
    pub fn from_env() -> Self {
        Self {
            watchdog: crate::systemd::watchdog_interval(),
        }
    }
}

/// Wait for shutdown or for an essential task to end; say READY after the first valid
/// reading; ping the watchdog while everything lives. Then stop in order. A task that ended
/// early is an error naming it, after the whole ordered stop has run.
pub async fn supervise(
    running: Running,
    shutdown: &Shutdown,
    systemd: Systemd,
) -> anyhow::Result<StopReport> {
    let mut stop = shutdown.subscribe();
    let mut state = running.state.clone();
    let mut watchdog = systemd.watchdog.map(tokio::time::interval);
    let ready_by = tokio::time::Instant::now() + READY_TIMEOUT;
    let mut ready = false;
    let died = loop {
        if !ready && state.borrow_and_update().thermostat.temperature.is_some() {
            ready = true;
            crate::systemd::notify_ready();
            tracing::info!("first valid reading in; READY");
        }
        tokio::select! {
            biased;
            () = crate::shutdown::wait(&mut stop) => break None,
            // Tasks end on shutdown too, some before this loop has seen the signal.
            task = running.tripwire.tripped() => break (!shutdown.is_triggered()).then_some(task),
            _ = tokio::time::sleep_until(ready_by), if !ready => {
                ready = true;
                tracing::error!(
                    "no valid temperature reading within {}s of start; READY anyway — the \
                     thermostat reports a sensor fault and keeps its outputs off",
                    READY_TIMEOUT.as_secs()
                );
                crate::systemd::notify_ready();
            }
            r = state.changed(), if !ready => if r.is_err() {
                // The house is gone; the next check names it.
                ready = true;
            },
            _ = tick(&mut watchdog) => {
                if running.ended_task().is_none() && running.control_answers().await {
                    crate::systemd::notify_watchdog();
                } else {
                    tracing::error!("not pinging the watchdog: a task ended or the control loop did not answer");
                }
            }
        }
    };
    if let Some(task) = died {
        tracing::error!(
            "{task} ended unexpectedly; stopping hearth (outputs off) so systemd restarts it"
        );
        shutdown.trigger();
    }
    crate::systemd::notify_stopping();
    let report = running.stop().await;
    match died {
        Some(task) => Err(anyhow::anyhow!(
            "{task} ended unexpectedly; hearth stopped with outputs off{}",
            report
                .err()
                .map(|e| format!(" ({e:#})"))
                .unwrap_or_default()
        )),
        None => report,
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What the tasks reported when they stopped.
#[derive(Debug)]
pub struct StopReport {
    pub house: crate::house::HouseStats,
    pub history: Option<hearth_history::WriterStats>,
    pub ledger: Option<crate::ledger::LedgerStats>,
}

/// Every task of a running daemon, for supervision and an orderly stop.
pub struct Running {
    shutdown: Shutdown,
    timeout: Duration,
    house: tokio::task::JoinHandle<crate::house::HouseStats>,
    poller: tokio::task::JoinHandle<Result<(), hearth_hardware::HardwareError>>,
    history: crate::record::HistoryTask,
    /// Cloud connections, forwarders, and the ledger they write.
    clouds: crate::cloud::CloudTasks,
    /// The local MQTT interface; `None` without an `[mqtt]` section.
    mqtt: Option<crate::mqtt::MqttTask>,
    /// The web page's server and its address; `None` when off or its port was taken.
    web: Option<(tokio::task::JoinHandle<()>, std::net::SocketAddr)>,
    /// The CLI's read socket (`crate::read_socket`); not essential.
    reads: tokio::task::JoinHandle<()>,
    pub state: watch::Receiver<hearth_model::HouseState>,
    pub commands: mpsc::Sender<crate::house::CommandRequest>,
    pub sim: Option<hearth_hardware::SimHandle>,
    pub clock: Clock,
    probes: mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
    /// Tripped by the first essential task to end.
    tripwire: crate::tripwire::Tripwire,
}

/// Build and start every task on the system clock, in `[daemon] time_zone`.
pub async fn start(
    cfg: Config,
    config_path: PathBuf,
    shutdown: Shutdown,
    reload: mpsc::Receiver<()>,
) -> anyhow::Result<Running> {
    let clock = Clock::start().with_time_zone(cfg.daemon.zone());
    start_with_clock(cfg, config_path, shutdown, reload, clock).await
}

/// Build and start every task with a chosen clock (tests on the paused clock use a
/// [`crate::clock::SimulatedWall`]). Returns once every task is running.
pub async fn start_with_clock(
    cfg: Config,
    config_path: PathBuf,
    shutdown: Shutdown,
    reload: mpsc::Receiver<()>,
    clock: Clock,
) -> anyhow::Result<Running> {
    // Before any hardware is touched: a bad password, key or certificate file stops start-up.
    // A FIFO among them is refused before anything is opened; reading them is file I/O: off
    // the async workers.
    crate::config::files::refuse_special_files(&cfg).map_err(anyhow::Error::msg)?;
    let mqtt_cfg = cfg.clone();
    let mqtt = tokio::task::spawn_blocking(move || crate::mqtt::prepare(&mqtt_cfg))
        .await
        .context("checking the [mqtt] files")?
        .context("setting up the local MQTT interface")?;
    let web_cfg = cfg.clone();
    let web = tokio::task::spawn_blocking(move || crate::web::prepare(&web_cfg))
        .await
        .context("checking the [web] files")?
        .map_err(|e| anyhow::anyhow!("setting up the web page: {e}"))?;
    let (hardware, sim) =
        hearth_hardware::open(&cfg.hardware, &cfg.simulator).context("opening the hardware")?;
    let tripwire = crate::tripwire::Tripwire::default();
    let history = crate::record::HistoryTask::spawn(&cfg.history, &tripwire)
        .context("opening the history database")?;

    let now = clock.now().into_std();
    let mut thermostat = Thermostat::new(cfg.thermostat.clone(), now);
    let settings_path = crate::persist::thermostat_path(&cfg.history.path);
    restore_settings(&mut thermostat, &settings_path, now);
    let lock = LockController::new(cfg.lock.clone());
    let house = House::new(thermostat, lock, history.recorder(), clock);

    let (hw_tx, hw_rx) = mpsc::channel(64);
    let (outputs_tx, outputs_rx) = watch::channel(DesiredOutputs::default());
    let (state_tx, state_rx) = watch::channel(house.snapshot());
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (probe_tx, probe_rx) = mpsc::channel(1);

    let [house_task, poller_task, ..] = ESSENTIAL_TASKS;
    let poller = tokio::spawn(tripwire.arm(
        poller_task,
        hearth_hardware::run_poller(hardware, cfg.hardware.poller_config(), hw_tx, outputs_rx),
    ));
    let io = HouseIo {
        hardware: hw_rx,
        commands: cmd_rx,
        outputs: outputs_tx,
        state: state_tx,
        probes: probe_rx,
        shutdown: shutdown.subscribe(),
    };
    let house = tokio::spawn(tripwire.arm(house_task, house.run(io)));
    tokio::spawn(crate::persist::keep_thermostat(
        settings_path,
        state_rx.clone(),
    ));
    let cloud_inputs = crate::cloud::CloudInputs {
        clouds: cfg.cloud.clone(),
        ledger: cfg.ledger.clone(),
        reload_over_mqtt: cfg.ledger.policy_reload_over_mqtt,
        config_path,
        state: state_rx.clone(),
        commands: cmd_tx.clone(),
        clock,
        shutdown: shutdown.subscribe(),
        reload,
        tripwire: tripwire.clone(),
    };
    // Opening the ledger's SQLite file (on an SD card) blocks: not on an async worker.
    let clouds = crate::offload::off_worker(|| crate::cloud::supervisor::start(cloud_inputs))
        .context("starting the cloud forwarders")?;
    let mqtt = mqtt.map(|prepared| {
        prepared.spawn(crate::mqtt::MqttIo {
            state: state_rx.clone(),
            commands: cmd_tx.clone(),
            sim: sim.clone(),
            history: history.handle(),
            policy: Some(clouds.requests.clone()),
            clock,
            tripwire: tripwire.clone(),
        })
    });
    // The page and the CLI's read socket read through the writers' own connections.
    let src = crate::web::sources_with(
        &cfg,
        history.handle().reader(),
        clouds.ledger_reader.clone(),
    );
    let reads = tokio::spawn(crate::read_socket::serve(
        crate::read_socket::socket_path(&cfg),
        std::sync::Arc::new(cfg.clone()),
        src.clone(),
        shutdown.subscribe(),
    ));
    let web = match web {
        Some(web) => {
            let live = crate::web::Live {
                state: state_rx.clone(),
                mqtt: mqtt.as_ref().map(crate::mqtt::MqttTask::link_watch),
                clouds: clouds.links.clone(),
            };
            web.spawn(src, live, clock, shutdown.subscribe()).await
        }
        None => None,
    };

    Ok(Running {
        shutdown,
        timeout: cfg.daemon.shutdown_timeout,
        house,
        poller,
        history,
        mqtt,
        web,
        reads,
        clouds,
        state: state_rx,
        commands: cmd_tx,
        sim,
        clock,
        probes: probe_tx,
        tripwire,
    })
}

/// The essential tasks, by the name a log line or an error uses.
pub const ESSENTIAL_TASKS: [&str; 5] = [
    "the house task (control loop)",
    "the hardware poller",
    "the history writer",
    "the local MQTT interface",
    "a cloud task",
];

/// The last accepted thermostat settings replace the config's start values; a file that
/// cannot be read or no longer fits the config's bounds leaves the config's values.
fn restore_settings(thermostat: &mut Thermostat, path: &std::path::Path, now: std::time::Instant) {
    match crate::persist::load_thermostat(path) {
        Ok(None) => {}
        Ok(Some(saved)) => match thermostat.apply(&saved, now) {
            Ok(()) => tracing::info!(path = %path.display(), "thermostat settings restored"),
            Err(r) => tracing::warn!(
                "saved thermostat settings in {} do not fit the config ({r}); starting from the config's values",
                path.display()
            ),
        },
        Err(e) => tracing::warn!("{e}; starting from the config's thermostat values"),
    }
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

    /// Where the web page listens, if it does.
    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.web.as_ref().map(|(_, addr)| *addr)
    }

    /// The first essential task that is no longer running, as its tripwire guard named it.
    /// Every one of them runs until shutdown, so before shutdown any of them ending —
    /// returned, failed, panicked or aborted — is a fault.
    pub fn ended_task(&self) -> Option<&'static str> {
        self.tripwire.ended()
    }

    /// Whether the house task answers a probe promptly (the watchdog's liveness check).
    pub async fn control_answers(&self) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.probes.try_send(tx).is_ok()
            && tokio::time::timeout(Duration::from_secs(2), rx)
                .await
                .is_ok_and(|r| r.is_ok())
    }

    /// Make an essential task fail, as a drill (tests): it is aborted as if it had died.
    #[doc(hidden)]
    pub fn kill_task_for_drill(&self, name: &str) {
        let [house, poller, history, mqtt, cloud] = ESSENTIAL_TASKS;
        match name {
            n if n == house => self.house.abort(),
            n if n == poller => self.poller.abort(),
            n if n == history => self.history.abort_for_drill(),
            n if n == mqtt => {
                if let Some(m) = &self.mqtt {
                    m.abort_for_drill();
                }
            }
            n if n == cloud => self.clouds.abort_for_drill(),
            other => panic!("no essential task is called {other:?}"),
        }
    }

    /// Stop in order: intake and control, outputs OFF, history flushed, the final state and
    /// `offline` published. Every step runs even when an earlier task failed. Bounded in time.
    pub async fn stop(self) -> anyhow::Result<StopReport> {
        self.shutdown.trigger();
        let Running {
            timeout,
            house,
            poller,
            history,
            mqtt,
            web,
            reads,
            clouds,
            commands,
            ..
        } = self;
        drop(commands);
        let ordered = async move {
            let mut failures = Vec::new();
            let house = match house.await {
                Ok(stats) => {
                    tracing::info!(?stats, "control stopped");
                    stats
                }
                Err(e) => {
                    // Not returned: a failure makes the whole stop an error.
                    failures.push(format!("the house task failed: {e}"));
                    crate::house::HouseStats::default()
                }
            };
            // The house dropped the outputs channel; the poller drives everything OFF and ends.
            match poller.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("the hardware poller stopped: {e}")),
                Err(e) => failures.push(format!("the hardware poller failed: {e}")),
            }
            let history = history.finish().await;
            // The cloud tasks saw shutdown too; once they end, the ledger is flushed.
            let ledger = clouds.finish().await;
            // Last: the final state (outputs off), then `offline`, once control has stopped
            // and history is flushed.
            if let Some(mqtt) = mqtt {
                mqtt.stop().await;
            }
            // The page saw shutdown too; connections still open are cut here.
            if let Some((task, _)) = web {
                task.abort();
            }
            // It saw shutdown: it stops accepting and removes its socket file. Answers
            // already being made are their own tasks and finish (bounded in time) on their own.
            let _ = reads.await;
            for f in &failures {
                tracing::error!("{f}");
            }
            match failures.is_empty() {
                true => anyhow::Ok(StopReport {
                    house,
                    history,
                    ledger,
                }),
                false => Err(anyhow::anyhow!(failures.join("; "))),
            }
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
