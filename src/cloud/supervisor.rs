//! Starts one connection and one forwarder per `[[cloud]]`, and owns the policies' config:
//! reloads (SIGHUP or a local MQTT request) and questions about the policy and ledger.
//!
//! A reload re-reads the whole config file. If anything in it is invalid, or a cloud's
//! connection settings changed (those need a restart), the reload is refused and the running
//! policies stay; either way a ledger row records it. This file never builds a message for
//! a cloud.

use super::config::CloudConfig;
use super::connection;
use super::forwarder::{Forwarder, ForwarderIo};
use crate::clock::Clock;
use crate::house::CommandRequest;
use crate::ledger::{Ledger, LedgerStats, LedgerTask, Row, Store};
use crate::policy_requests::{PolicyError, PolicyOp, PolicyRequest};
use hearth_model::{HouseState, UnixMillis};
use hearth_policy::Policy;
use serde_json::json;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

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
}

/// The running cloud tasks.
pub struct CloudTasks {
    tasks: Vec<JoinHandle<()>>,
    ledger: Option<LedgerTask>,
    /// Where local MQTT sends `policy_explain` / `policy_reload` / `audit`.
    pub requests: mpsc::Sender<PolicyRequest>,
    /// Each cloud's name and link state (for the web page).
    pub links: Vec<(String, watch::Receiver<connection::LinkState>)>,
}

impl CloudTasks {
    /// Whether any cloud task, or the ledger's writer thread, has ended; before shutdown
    /// that is a fault (the daemon's supervisor stops hearth).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().any(JoinHandle::is_finished)
            || self.ledger.as_ref().is_some_and(LedgerTask::is_finished)
    }

    /// Abort the cloud tasks, as if they had died (supervision drills).
    #[doc(hidden)]
    pub fn abort_for_drill(&self) {
        self.tasks.iter().for_each(JoinHandle::abort);
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

struct Entry {
    cfg: CloudConfig,
    policies: mpsc::Sender<(Policy, bool)>,
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
    } = inputs;
    let ledger_path = ledger_cfg.path.clone();
    let ledger_task = if clouds.is_empty() {
        None
    } else {
        Some(LedgerTask::spawn(&ledger_cfg)?)
    };
    let ledger = ledger_task.as_ref().map(LedgerTask::ledger);
    let mut tasks = Vec::new();
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
        tasks.push(conn);
        tasks.push(tokio::spawn(
            Forwarder::new(policy, cfg.shares_nothing(), io).run(),
        ));
        entries.push(Entry {
            cfg: cfg.clone(),
            policies: ptx,
        });
    }
    let (req_tx, req_rx) = mpsc::channel(8);
    let sup = Supervisor {
        entries,
        ledger,
        ledger_path,
        reload_over_mqtt,
        config_path,
        clock,
    };
    tasks.push(tokio::spawn(sup.run(req_rx, reload, shutdown)));
    Ok(CloudTasks {
        tasks,
        ledger: ledger_task,
        requests: req_tx,
        links,
    })
}

struct Supervisor {
    entries: Vec<Entry>,
    ledger: Option<Ledger>,
    ledger_path: PathBuf,
    reload_over_mqtt: bool,
    config_path: PathBuf,
    clock: Clock,
}

impl Supervisor {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<PolicyRequest>,
        mut reload: mpsc::Receiver<()>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = crate::shutdown::wait(&mut shutdown) => break,
                Some(()) = reload.recv() => { let _ = self.reload().await; }
                Some(req) = requests.recv() => {
                    let answer = self.answer(req.op).await;
                    let _ = req.reply.send(answer);
                }
                else => break,
            }
        }
    }

    async fn answer(&mut self, op: PolicyOp) -> Result<serde_json::Value, PolicyError> {
        match op {
            PolicyOp::Explain { cloud } => {
                let list: Vec<_> = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| cloud.as_deref().is_none_or(|c| c == e.cfg.name))
                    .filter_map(|(i, e)| e.cfg.build_policy(i).ok())
                    .map(|p| json!({"cloud": p.cloud(), "format": p.format().as_str(), "explain": p.explain()}))
                    .collect();
                if list.is_empty() && cloud.is_some() {
                    return Err(PolicyError {
                        code: "unknown_cloud",
                        message: format!("no [[cloud]] is named {:?}", cloud.unwrap_or_default()),
                    });
                }
                Ok(json!({ "clouds": list }))
            }
            // With no cloud a reload swaps nothing, so there is nothing to protect.
            PolicyOp::Reload if !self.reload_over_mqtt && !self.entries.is_empty() => {
                let message = "policy reload over local MQTT is disabled; send SIGHUP \
                               (systemctl reload hearthd), or set [ledger] \
                               policy_reload_over_mqtt = true and restart"
                    .to_owned();
                self.record_all(
                    "policy_reload_refused",
                    "reload requested over local MQTT refused: policy_reload_over_mqtt is off",
                );
                Err(PolicyError {
                    code: "reload_disabled",
                    message,
                })
            }
            PolicyOp::Reload => self
                .reload()
                .await
                .map(|names| json!({ "reloaded": true, "clouds": names }))
                .map_err(|message| PolicyError {
                    code: "reload_refused",
                    message,
                }),
            PolicyOp::Audit {
                cloud,
                since,
                limit,
            } => {
                let path = self.ledger_path.clone();
                let since = since.unwrap_or(UnixMillis(0));
                tokio::task::spawn_blocking(move || {
                    audit_json(&path, cloud.as_deref(), since, limit)
                })
                .await
                .map_err(|e| PolicyError {
                    code: "internal",
                    message: e.to_string(),
                })?
            }
        }
    }

    /// Re-read the config; swap every policy or none. Ok: the clouds reloaded.
    async fn reload(&mut self) -> Result<Vec<String>, String> {
        let result = self.try_reload().await;
        match &result {
            Ok(_) => tracing::info!("policy reloaded from {}", self.config_path.display()),
            Err(e) => tracing::error!("policy reload refused, the running policy stays: {e}"),
        }
        let (kind, detail) = match &result {
            Ok(_) => (
                "policy_reloaded",
                format!("policy reloaded from {}", self.config_path.display()),
            ),
            Err(e) => (
                "policy_reload_refused",
                format!("reload refused, old policy kept: {e}"),
            ),
        };
        self.record_all(kind, &detail);
        result
    }

    /// One ledger row per cloud (a lost row is counted and logged by the ledger).
    fn record_all(&self, kind: &str, detail: &str) {
        if let Some(ledger) = &self.ledger {
            for e in &self.entries {
                let _ = ledger.push(Row {
                    time: self.clock.wall_now(),
                    cloud: e.cfg.name.clone(),
                    field: None,
                    kind: kind.into(),
                    detail: detail.to_owned(),
                    payload: None,
                });
            }
        }
    }

    async fn try_reload(&mut self) -> Result<Vec<String>, String> {
        // A whole-file read and parse: off the async workers.
        let path = self.config_path.clone();
        let cfg = tokio::task::spawn_blocking(move || crate::config::load(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let names = |v: &mut dyn Iterator<Item = &CloudConfig>| {
            v.map(|c| c.name.clone()).collect::<Vec<_>>()
        };
        let old = names(&mut self.entries.iter().map(|e| &e.cfg));
        if names(&mut cfg.cloud.iter()) != old {
            return Err(format!(
                "the [[cloud]] entries changed ({old:?} -> {:?}); adding or removing a cloud needs a restart of hearthd",
                names(&mut cfg.cloud.iter())
            ));
        }
        let mut policies = Vec::new();
        for (i, (new, e)) in cfg.cloud.iter().zip(&self.entries).enumerate() {
            if !new.same_connection(&e.cfg) {
                return Err(format!(
                    "cloud[{i}] ({}): connection settings changed; restart hearthd to apply them",
                    new.name
                ));
            }
            let p = new.build_policy(i).map_err(|issues| {
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            policies.push((p, new.shares_nothing()));
        }
        // Accepted: the house's time zone (`[daemon] time_zone`) applies from now on, with
        // the new policies.
        self.clock.set_time_zone(cfg.daemon.zone());
        for ((p, e), new) in policies.into_iter().zip(&mut self.entries).zip(cfg.cloud) {
            if e.policies.send(p).await.is_err() {
                tracing::warn!(cloud = %e.cfg.name, "forwarder gone; policy not applied");
            }
            e.cfg = new;
        }
        Ok(old)
    }
}

fn audit_json(
    path: &std::path::Path,
    cloud: Option<&str>,
    since: UnixMillis,
    limit: usize,
) -> Result<serde_json::Value, PolicyError> {
    let err = |e: crate::ledger::LedgerError| PolicyError {
        code: "ledger_unavailable",
        message: e.to_string(),
    };
    let store = Store::open_read_only(path).map_err(err)?;
    let rows = store.rows(cloud, since, limit).map_err(err)?;
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            json!({
                "time": r.time.0,
                "cloud": r.cloud,
                "field": r.field,
                "kind": r.kind,
                "detail": r.detail,
                "payload": r.payload.map(|p| String::from_utf8_lossy(&p).into_owned()),
                "count": r.count,
                "last": r.last.map(|t| t.0),
            })
        })
        .collect();
    Ok(json!({ "rows": rows }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_requests::PolicyRequest;
    use std::time::Duration;
    use tokio::sync::oneshot;

    fn house() -> HouseState {
        use hearth_model::*;
        HouseState {
            thermostat: ThermostatState {
                mode: Mode::Heat,
                fan: FanMode::Auto,
                setpoint_heat: 20.0,
                setpoint_cool: 26.0,
                temperature: Some(20.3),
                humidity: Some(41.0),
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

    fn config(dir: &std::path::Path, round: &str) -> String {
        format!(
            "[hardware]\nbackend = \"simulator\"\n[ledger]\npath = \"{}\"\ncommit_interval = \"1s\"\n\
             [[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = 1\n\
             client_id = \"t\"\ntopic_prefix = \"p\"\n\
             [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = {round}\n",
            dir.join("ledger.db").display()
        )
    }

    async fn ask(
        tx: &mpsc::Sender<PolicyRequest>,
        op: PolicyOp,
    ) -> Result<serde_json::Value, PolicyError> {
        let (reply, rx) = oneshot::channel();
        tx.send(PolicyRequest { op, reply }).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn requests_explain_reload_and_audit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hearth.toml");
        std::fs::write(&path, config(dir.path(), "0.5")).unwrap();
        let cfg = crate::config::load(&path).unwrap();
        let shutdown = crate::shutdown::Shutdown::new();
        let (_state_tx, state) = watch::channel(house());
        let (commands, _cmd_rx) = mpsc::channel(1);
        let (reload_tx, reload) = mpsc::channel(1);
        let tasks = start(CloudInputs {
            clouds: cfg.cloud.clone(),
            ledger: cfg.ledger.clone(),
            reload_over_mqtt: true,
            config_path: path.clone(),
            state,
            commands,
            clock: Clock::start(),
            shutdown: shutdown.subscribe(),
            reload,
        })
        .unwrap();
        let tx = tasks.requests.clone();

        let explain = ask(&tx, PolicyOp::Explain { cloud: None }).await.unwrap();
        let text = explain["clouds"][0]["explain"].as_str().unwrap();
        assert!(text.contains("rounded to the nearest 0.5"), "{text}");
        let unknown = ask(
            &tx,
            PolicyOp::Explain {
                cloud: Some("nope".into()),
            },
        )
        .await;
        assert_eq!(unknown.unwrap_err().code, "unknown_cloud");

        std::fs::write(&path, config(dir.path(), "-2.0")).unwrap();
        let refused = ask(&tx, PolicyOp::Reload).await.unwrap_err();
        assert_eq!(refused.code, "reload_refused");
        assert!(refused.message.contains("round"), "{}", refused.message);
        let still = ask(&tx, PolicyOp::Explain { cloud: None }).await.unwrap();
        assert!(still.to_string().contains("nearest 0.5"), "old policy kept");

        std::fs::write(&path, config(dir.path(), "1.0")).unwrap();
        reload_tx.send(()).await.unwrap(); // as SIGHUP does
        let mut rows = serde_json::Value::Null;
        for _ in 0..100 {
            rows = ask(
                &tx,
                PolicyOp::Audit {
                    cloud: Some("home".into()),
                    since: None,
                    limit: 50,
                },
            )
            .await
            .unwrap();
            let kinds = rows.to_string();
            if kinds.contains("policy_reloaded") && kinds.contains("policy_reload_refused") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let kinds = rows.to_string();
        assert!(
            kinds.contains("policy_reload_refused") && kinds.contains("policy_reloaded"),
            "{kinds}"
        );
        let now = ask(&tx, PolicyOp::Explain { cloud: None }).await.unwrap();
        assert!(now.to_string().contains("nearest 1"), "{now}");

        shutdown.trigger();
        drop(tx);
        let stats = tokio::time::timeout(Duration::from_secs(10), tasks.finish())
            .await
            .unwrap();
        assert_eq!(stats.unwrap().dropped, 0);
    }

    #[tokio::test]
    async fn reload_over_mqtt_is_refused_unless_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hearth.toml");
        std::fs::write(&path, config(dir.path(), "0.5")).unwrap();
        let cfg = crate::config::load(&path).unwrap();
        assert!(!cfg.ledger.policy_reload_over_mqtt, "off by default");
        let shutdown = crate::shutdown::Shutdown::new();
        let (_state_tx, state) = watch::channel(house());
        let (commands, _cmd_rx) = mpsc::channel(1);
        let (_reload_tx, reload) = mpsc::channel(1);
        let tasks = start(CloudInputs {
            clouds: cfg.cloud.clone(),
            ledger: cfg.ledger.clone(),
            reload_over_mqtt: cfg.ledger.policy_reload_over_mqtt,
            config_path: path.clone(),
            state,
            commands,
            clock: Clock::start(),
            shutdown: shutdown.subscribe(),
            reload,
        })
        .unwrap();
        let tx = tasks.requests.clone();
        std::fs::write(&path, config(dir.path(), "1.0")).unwrap();
        let refused = ask(&tx, PolicyOp::Reload).await.unwrap_err();
        assert_eq!(refused.code, "reload_disabled");
        assert!(refused.message.contains("SIGHUP"), "{}", refused.message);
        let still = ask(&tx, PolicyOp::Explain { cloud: None }).await.unwrap();
        assert!(
            still.to_string().contains("nearest 0.5"),
            "policy unchanged"
        );
        shutdown.trigger();
        drop(tx);
        tokio::time::timeout(Duration::from_secs(10), tasks.finish())
            .await
            .unwrap();
        let rows = Store::open_read_only(&cfg.ledger.path)
            .unwrap()
            .rows(Some("home"), UnixMillis(0), 50)
            .unwrap();
        assert!(
            rows.iter()
                .any(|r| r.kind == "policy_reload_refused" && r.detail.contains("MQTT")),
            "{rows:?}"
        );
    }
}
