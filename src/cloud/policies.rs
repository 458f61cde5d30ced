//! The task that owns the clouds' policies: reloads (SIGHUP or a local MQTT request) and
//! questions about the policy and ledger.
//!
//! A reload re-reads the whole config file. If anything in it is invalid, or a cloud's
//! connection settings changed (those need a restart), the reload is refused and the running
//! policies stay; either way a ledger row records it. This file never builds a message for
//! a cloud.

use super::config::CloudConfig;
use crate::clock::Clock;
use crate::ledger::{Ledger, Row};
use crate::policy_requests::{PolicyError, PolicyOp, PolicyRequest};
use hearth_model::UnixMillis;
use hearth_policy::Policy;
use serde_json::json;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

/// One cloud as the owner sees it: its config, and where its forwarder takes a new policy.
pub(super) struct Entry {
    pub cfg: CloudConfig,
    pub policies: mpsc::Sender<(Policy, bool)>,
}

pub(super) struct Supervisor {
    pub entries: Vec<Entry>,
    pub ledger: Option<Ledger>,
    pub ledger_reader: crate::ledger::Reader,
    pub reload_over_mqtt: bool,
    pub config_path: PathBuf,
    pub clock: Clock,
}

impl Supervisor {
    pub(super) async fn run(
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
                let reader = self.ledger_reader.clone();
                let since = since.unwrap_or(UnixMillis(0));
                tokio::task::spawn_blocking(move || {
                    audit_json(&reader, cloud.as_deref(), since, limit)
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
    reader: &crate::ledger::Reader,
    cloud: Option<&str>,
    since: UnixMillis,
    limit: usize,
) -> Result<serde_json::Value, PolicyError> {
    let err = |e: crate::ledger::LedgerError| PolicyError {
        code: "ledger_unavailable",
        message: e.to_string(),
    };
    let store = reader.read().map_err(err)?;
    let rows = store.rows(cloud, since, limit).map_err(err)?;
    Ok(crate::ledger::rows_json(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::fixture::house;
    use crate::cloud::supervisor::{CloudInputs, start};
    use crate::policy_requests::PolicyRequest;
    use std::time::Duration;
    use tokio::sync::oneshot;

    fn config(dir: &std::path::Path, round: &str) -> String {
        format!(
            "[hardware]\nbackend = \"simulator\"\n[ledger]\npath = \"{}\"\ncommit_interval = \"1s\"\n\
             [[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = 1\n\
             client_id = \"t\"\ntopic_prefix = \"p\"\n\
             [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = {round}\n",
            dir.join("ledger.db").display()
        )
    }

    /// The cloud tasks of a config written to `path` (round 0.5), and what keeps them running.
    struct Started {
        tasks: crate::cloud::CloudTasks,
        shutdown: crate::shutdown::Shutdown,
        reload: mpsc::Sender<()>,
        cfg: crate::config::Config,
        _state: watch::Sender<hearth_model::HouseState>,
        _commands: mpsc::Receiver<crate::house::CommandRequest>,
    }

    /// `reload_over_mqtt` as given, or as the config says.
    fn started(path: &std::path::Path, reload_over_mqtt: Option<bool>) -> Started {
        std::fs::write(path, config(path.parent().unwrap(), "0.5")).unwrap();
        let cfg = crate::config::load(path).unwrap();
        let shutdown = crate::shutdown::Shutdown::new();
        let (state_tx, state) = watch::channel(house());
        let (commands, commands_rx) = mpsc::channel(1);
        let (reload_tx, reload) = mpsc::channel(1);
        let tasks = start(CloudInputs {
            clouds: cfg.cloud.clone(),
            ledger: cfg.ledger.clone(),
            reload_over_mqtt: reload_over_mqtt.unwrap_or(cfg.ledger.policy_reload_over_mqtt),
            config_path: path.to_owned(),
            state,
            commands,
            clock: Clock::start(),
            shutdown: shutdown.subscribe(),
            reload,
            tripwire: crate::tripwire::Tripwire::default(),
        })
        .unwrap();
        Started {
            tasks,
            shutdown,
            reload: reload_tx,
            cfg,
            _state: state_tx,
            _commands: commands_rx,
        }
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
        let run = started(&path, Some(true));
        let (tasks, shutdown, reload_tx) = (run.tasks, run.shutdown, run.reload);
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
        let run = started(&path, None);
        assert!(!run.cfg.ledger.policy_reload_over_mqtt, "off by default");
        let (tasks, shutdown, cfg) = (run.tasks, run.shutdown, run.cfg);
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
        let rows = crate::ledger::Store::open_read_only(&cfg.ledger.path)
            .unwrap()
            .rows(Some("home"), UnixMillis(0), 50)
            .unwrap();
        assert!(
            rows.iter()
                .any(|r| r.row.kind == "policy_reload_refused" && r.row.detail.contains("MQTT")),
            "{rows:?}"
        );
    }
}
