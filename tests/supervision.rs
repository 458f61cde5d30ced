//! No silent task death: every essential task of a running daemon (house, poller, history
//! writer, local MQTT, cloud) is made to fail in turn; each time the supervisor notices, runs
//! the ordered stop with the outputs off, and returns an error naming the task (a non-zero
//! exit, so systemd restarts hearth). The real binary does the same when its sensor driver
//! panics.

mod support;

use hearth_hardware::read_sim_outputs;
use hearth_model::{HvacOutputs, MotorDrive};
use hearthd::config;
use hearthd::daemon::{self, ESSENTIAL_TASKS, Systemd};
use hearthd::shutdown::Shutdown;
use std::path::Path;
use std::time::{Duration, Instant};
use support::daemon::hearthd_command;
use support::{Broker, TestClient, scaled};
use tokio::sync::mpsc;

fn config_text(dir: &Path, port: u16, n: usize) -> String {
    format!(
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\ninput_poll_interval = \"50ms\"\n\
         [simulator]\ninitial_indoor_temperature = 15.0\n\
         [thermostat]\nmode = \"heat\"\nheat_min_off = \"0s\"\n\
         [history]\npath = \"{db}\"\ncommit_interval = \"1s\"\n\
         [ledger]\npath = \"{ledger}\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nclient_id = \"sup-{n}\"\n\
         reconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\n\
         [[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"sup-cloud-{n}\"\ntopic_prefix = \"cloud{n}\"\nkeep_alive = \"5s\"\n\
         [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\n",
        db = dir.join("history.db").display(),
        ledger = dir.join("ledger.db").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_essential_task_that_dies_stops_hearth_with_outputs_off() {
    let broker = Broker::start();
    let mut watcher = TestClient::connect(broker.port(), "sup-watcher").await;
    watcher.subscribe("hearth/availability").await;
    for (n, task) in ESSENTIAL_TASKS.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), broker.port(), n);
        let cfg = config::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let shutdown = Shutdown::new();
        let (_reload_tx, reload_rx) = mpsc::channel(1);
        let running = daemon::start(cfg, "test.toml".into(), shutdown.clone(), reload_rx)
            .await
            .expect("the daemon starts");
        let sim = running.sim.clone().expect("simulator");
        watcher
            .wait_for("online", scaled(Duration::from_secs(10)), |m| {
                m.payload == b"online"
            })
            .await;
        let deadline = Instant::now() + scaled(Duration::from_secs(10));
        while !sim.outputs().0.heat {
            assert!(Instant::now() < deadline, "{task}: heating never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            running.ended_task().is_none(),
            "{task}: something ended early"
        );

        running.kill_task_for_drill(task);
        let result = tokio::time::timeout(
            scaled(Duration::from_secs(15)),
            daemon::supervise(running, &shutdown, Systemd { watchdog: None }),
        )
        .await
        .unwrap_or_else(|_| panic!("{task}: the supervisor did not stop hearth"));
        let err = result.expect_err("a dead task is an error (non-zero exit)");
        assert!(err.to_string().contains(task), "{task}: {err:#}");
        assert!(shutdown.is_triggered(), "{task}: the ordered stop ran");
        assert_eq!(
            sim.outputs(),
            (HvacOutputs::OFF, MotorDrive::Off),
            "{task}: outputs off"
        );
        if task != "the local MQTT interface" {
            // The stop sequence ran to its end: local MQTT published `offline`.
            watcher
                .wait_for("offline", scaled(Duration::from_secs(10)), |m| {
                    m.payload == b"offline"
                })
                .await;
        }
        watcher.clear();
    }
}

#[test]
fn a_panicking_sensor_driver_stops_the_real_daemon_non_zero_with_outputs_off() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("outputs");
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\n\
             [simulator]\ninitial_indoor_temperature = 15.0\nstate_file = \"{}\"\n\
             [thermostat]\nmode = \"heat\"\nheat_min_off = \"0s\"\n\
             [history]\npath = \"{}\"\n\
             [[simulator.script]]\nafter = \"3s\"\naction = \"sensor_panic\"\n",
            state.display(),
            dir.path().join("history.db").display()
        ),
    )
    .unwrap();
    let log_path = dir.path().join("hearthd.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = hearthd_command()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("run hearthd");
    let deadline = Instant::now() + scaled(Duration::from_secs(20));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hearthd kept running after its poller died");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("heating"), "it was heating before: {log}");
    assert!(
        log.contains("the hardware poller ended unexpectedly"),
        "{log}"
    );
    assert_eq!(
        read_sim_outputs(&state).unwrap(),
        (HvacOutputs::OFF, MotorDrive::Off)
    );
}
