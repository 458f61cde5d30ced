//! Starts one connection and one forwarder per `[[cloud]]`, and the task that owns their
//! policies (`policies.rs`). This file never builds a message for a cloud.

use super::config::CloudConfig;
use super::connection;
use super::forwarder::{Forwarder, ForwarderIo};
use super::policies::{Entry, Supervisor};
use crate::clock::Clock;
use crate::house::CommandRequest;
use crate::ledger::{LedgerStats, LedgerTask};
use crate::policy_requests::PolicyRequest;
use crate::tripwire::Tripwire;
use hearth_model::HouseState;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};

/// What the cloud side needs from the daemon.
pub struct CloudInputs {
    pub clouds: Vec<CloudConfig>,
    pub ledger: super::LedgerConfig,
    /// `[ledger] policy_reload_over_mqtt`: obey `policy_reload` from local MQTT.
    pub reload_over_mqtt: bool,
    pub config_path: PathBuf,
    pub state: watch::Receiver<HouseState>,
    pub commands: mpsc::Sender<CommandRequest>,
    pub clock: Clock,
    pub shutdown: watch::Receiver<bool>,
    pub reload: mpsc::Receiver<()>,
    /// Tripped when a cloud task or the ledger's thread ends (the daemon's supervisor).
    pub tripwire: Tripwire,
}

/// The name the tripwire gives any cloud task or the ledger's thread.
const CLOUD_TASK: &str = crate::daemon::ESSENTIAL_TASKS[4];

/// The running cloud tasks.
pub struct CloudTasks {
    tasks: Vec<JoinHandle<()>>,
    /// The cloud connections themselves (each awaited by one of `tasks`), for drills.
    connections: Vec<AbortHandle>,
    ledger: Option<LedgerTask>,
    /// Where local MQTT sends `policy_explain` / `policy_reload` / `audit`.
    pub requests: mpsc::Sender<PolicyRequest>,
    /// Each cloud's name and link state (for the web page).
    pub links: Vec<(String, watch::Receiver<connection::LinkState>)>,
    /// How the page and the CLI socket read the ledger (through its writer, when running).
    pub ledger_reader: crate::ledger::Reader,
}

impl CloudTasks {
    /// Abort the cloud tasks, as if they had died (supervision drills).
    #[doc(hidden)]
    pub fn abort_for_drill(&self) {
        self.tasks.iter().for_each(JoinHandle::abort);
        self.connections.iter().for_each(AbortHandle::abort);
    }

    /// Wait for every cloud task (they stop on shutdown), then flush the ledger.
    pub async fn finish(self) -> Option<LedgerStats> {
        drop(self.requests);
        for t in self.tasks {
            let _ = t.await;
        }
        match self.ledger {
            Some(l) => Some(l.finish().await),
            None => None,
        }
    }
}

/// Start every cloud. Fails only if the ledger cannot be opened (with clouds configured,
/// nothing may be shared without a record of it).
pub fn start(inputs: CloudInputs) -> anyhow::Result<CloudTasks> {
    let CloudInputs {
        clouds,
        ledger: ledger_cfg,
        reload_over_mqtt,
        config_path,
        state,
        commands,
        clock,
        shutdown,
        reload,
        tripwire,
    } = inputs;
    let ledger_path = ledger_cfg.path.clone();
    let ledger_task = if clouds.is_empty() {
        None
    } else {
        Some(LedgerTask::spawn(
            &ledger_cfg,
            Some(tripwire.guard(CLOUD_TASK)),
        )?)
    };
    let ledger = ledger_task.as_ref().map(LedgerTask::ledger);
    // With no cloud there is no writer: the ledger (from an earlier config) is only read.
    let ledger_reader = ledger_task.as_ref().map_or_else(
        || crate::ledger::Reader::file(ledger_path.clone()),
        LedgerTask::reader,
    );
    let mut tasks = Vec::new();
    let mut connections = Vec::new();
    let mut entries = Vec::new();
    let mut links = Vec::new();
    for (i, cfg) in clouds.iter().enumerate() {
        let policy = cfg
            .build_policy(i)
            .map_err(|issues| anyhow::anyhow!("cloud[{i}]: invalid policy: {issues:?}"))?;
        let (link, conn) = connection::spawn(cfg, shutdown.clone()).map_err(anyhow::Error::msg)?;
        links.push((cfg.name.clone(), link.state.clone()));
        let (ptx, prx) = mpsc::channel(1);
        let io = ForwarderIo {
            link,
            state: state.clone(),
            commands: commands.clone(),
            policies: prx,
            ledger: ledger.clone().expect("a ledger exists when clouds do"),
            clock,
            shutdown: shutdown.clone(),
            guard_file: Some(crate::persist::guard_file(&ledger_path, &cfg.name)),
        };
        connections.push(conn.abort_handle());
        tasks.push(tokio::spawn(tripwire.arm(CLOUD_TASK, async move {
            let _ = conn.await;
        })));
        tasks.push(tokio::spawn(tripwire.arm(
            CLOUD_TASK,
            Forwarder::new(policy, cfg.shares_nothing(), io).run(),
        )));
        entries.push(Entry {
            cfg: cfg.clone(),
            policies: ptx,
        });
    }
    let (req_tx, req_rx) = mpsc::channel(8);
    let sup = Supervisor {
        entries,
        ledger,
        ledger_reader: ledger_reader.clone(),
        reload_over_mqtt,
        config_path,
        clock,
    };
    tasks.push(tokio::spawn(
        tripwire.arm(CLOUD_TASK, sup.run(req_rx, reload, shutdown)),
    ));
    Ok(CloudTasks {
        tasks,
        connections,
        ledger: ledger_task,
        requests: req_tx,
        links,
        ledger_reader,
    })
}
