//! Outputs safe on every kind of exit, with the real `hearthd` on the simulator: its outputs
//! are mirrored to `[simulator] state_file`, which outlives the process the way GPIO levels
//! do. SIGKILL and SIGABRT (a watchdog kill) run no destructor, so the heat stays on — until
//! `hearthd outputs-off`, the unit's `ExecStopPost=`, switches it off. A second instance is
//! refused without touching anything; a FIFO as a secrets file is refused at once; SIGTERM
//! before READY ends start-up promptly; and after SIGTERM the retained state topics say what
//! hearth left behind.

mod support;

use hearth_hardware::read_sim_outputs;
use hearth_model::{HvacOutputs, MotorDrive};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use support::daemon::hearthd_command;
use support::{Broker, Daemon, TestClient, TestConfig, scaled};

/// A cold simulated house with the heat wanted at once, its outputs mirrored to a file, and
/// the single-instance lock in the temp dir.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("hearth.toml");
    std::fs::write(
        &path,
        format!(
            "[daemon]\nshutdown_timeout = \"5s\"\n\
             [hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\ninput_poll_interval = \"50ms\"\n\
             lock_file = \"{lock}\"\n\
             [simulator]\ninitial_indoor_temperature = 15.0\nstate_file = \"{state}\"\n\
             [thermostat]\nmode = \"heat\"\nsetpoint_heat = 21.0\nheat_min_off = \"0s\"\n\
             [history]\npath = \"{db}\"\n{extra}",
            lock = dir.join("hearthd.lock").display(),
            state = dir.join("outputs").display(),
            db = dir.join("history.db").display(),
        ),
    )
    .unwrap();
    path
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(config: &Path, log: &Path) -> Proc {
    let log = std::fs::File::create(log).unwrap();
    Proc(
        hearthd_command()
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start hearthd"),
    )
}

fn outputs(dir: &Path) -> Option<(HvacOutputs, MotorDrive)> {
    read_sim_outputs(&dir.join("outputs")).ok()
}

/// Poll `cond` until it holds (panicking with the log after `limit`).
fn wait_until(what: &str, dir: &Path, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + scaled(limit);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen; log:\n{}",
            std::fs::read_to_string(dir.join("hearthd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(p: &mut Proc, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + scaled(limit);
    loop {
        if let Some(status) = p.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "hearthd did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &p.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn outputs_off(config: &Path) -> std::process::Output {
    hearthd_command()
        .args(["outputs-off", "--config"])
        .arg(config)
        .output()
        .expect("run hearthd outputs-off")
}

fn heating(dir: &Path) -> bool {
    outputs(dir).is_some_and(|(hvac, _)| hvac.heat)
}

#[test]
fn a_kill_without_destructors_then_exec_stop_post_leaves_the_outputs_off() {
    use std::os::unix::process::ExitStatusExt;
    for (sig, signo) in [("-KILL", 9), ("-ABRT", 6)] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), "");
        let mut daemon = spawn(&cfg, &dir.path().join("hearthd.log"));
        wait_until("heating", dir.path(), Duration::from_secs(15), || {
            heating(dir.path())
        });
        signal(&daemon, sig);
        let status = wait_exit(&mut daemon, Duration::from_secs(10));
        if std::env::var_os("HEARTH_UNDER_EMULATION").is_none() {
            assert_eq!(status.signal(), Some(signo), "{sig}: {status}");
        } else {
            // qemu-user re-raises the guest's fatal signal its own way; killed is killed.
            assert!(!status.success(), "{sig}: {status}");
        }
        // Nothing ran on the way out: the relay is still energised...
        assert!(
            heating(dir.path()),
            "{sig}: the kill itself switched nothing off"
        );
        if signo == 6 {
            // A config edit since start broke another section: outputs-off reads only
            // [hardware] and [simulator], so it still works.
            let mut text = std::fs::read_to_string(&cfg).unwrap();
            text.push_str("\n[ledger]\nbogus = 1\n");
            std::fs::write(&cfg, text).unwrap();
        }
        // ...until systemd's ExecStopPost= runs.
        let out = outputs_off(&cfg);
        assert!(
            out.status.success(),
            "{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            outputs(dir.path()),
            Some((HvacOutputs::OFF, MotorDrive::Off)),
            "{sig}"
        );
    }
}

#[test]
fn a_second_instance_is_refused_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut first = spawn(&cfg, &dir.path().join("hearthd.log"));
    wait_until("heating", dir.path(), Duration::from_secs(15), || {
        heating(dir.path())
    });
    let before = std::fs::read(dir.path().join("outputs")).unwrap();

    let second = hearthd_command()
        .args(["run", "--config"])
        .arg(&cfg)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("run a second hearthd");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second instance ran");
    assert!(stderr.contains("another hearthd holds"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", first.0.id())),
        "names the holder: {stderr}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("outputs")).unwrap(),
        before,
        "the second instance wrote the outputs"
    );
    // outputs-off refuses too while the daemon runs: the running daemon owns the outputs.
    let refused = outputs_off(&cfg);
    assert!(!refused.status.success());
    assert!(heating(dir.path()));
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the first instance died"
    );

    signal(&first, "-TERM");
    assert!(wait_exit(&mut first, Duration::from_secs(10)).success());
    assert_eq!(
        outputs(dir.path()),
        Some((HvacOutputs::OFF, MotorDrive::Off))
    );
}

#[test]
fn a_fifo_secrets_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("keys.toml");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success(), "mkfifo");
    let cfg = config(
        dir.path(),
        &format!(
            "[mqtt]\nhost = \"127.0.0.1\"\nport = {}\nsecrets_file = \"{}\"\n",
            support::broker::free_port(),
            fifo.display()
        ),
    );
    let started = Instant::now();
    let mut daemon = spawn(&cfg, &dir.path().join("hearthd.log"));
    let status = wait_exit(&mut daemon, Duration::from_secs(5));
    let log = std::fs::read_to_string(dir.path().join("hearthd.log")).unwrap();
    assert!(!status.success());
    assert!(log.contains("is not a regular file"), "{log}");
    assert!(started.elapsed() < scaled(Duration::from_secs(5)));
    assert!(
        outputs(dir.path()).is_none(),
        "no hardware was opened before the files were checked"
    );
    // check-config says the same, instead of hanging.
    let out = hearthd_command()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a regular file"));
}

#[test]
fn sigterm_before_ready_ends_start_up_promptly() {
    // The sensor never gives a valid reading, so READY waits (up to 30 s); SIGTERM must not.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[[simulator.script]]\nafter = \"0s\"\naction = \"sensor_dropout\"\n",
    );
    let sock_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_nonblocking(true).unwrap();
    let log = std::fs::File::create(dir.path().join("hearthd.log")).unwrap();
    let mut daemon = Proc(
        hearthd_command()
            .args(["run", "--config"])
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &sock_path)
            .env_remove("JOURNAL_STREAM")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // Started far enough to have opened the hardware (outputs mirrored, all off).
    wait_until(
        "the simulator opened",
        dir.path(),
        Duration::from_secs(10),
        || outputs(dir.path()).is_some(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut buf = [0u8; 256];
    let mut seen = String::new();
    while let Ok(n) = sock.recv(&mut buf) {
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        !seen.contains("READY=1"),
        "READY before a valid reading: {seen}"
    );
    let asked = Instant::now();
    signal(&daemon, "-TERM");
    let status = wait_exit(&mut daemon, Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(
        asked.elapsed() < scaled(Duration::from_secs(3)),
        "{:?}",
        asked.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_retained_state_is_the_state_left_behind() {
    let broker = Broker::start();
    let mut c = TestClient::connect(broker.port(), "final-state").await;
    c.subscribe("hearth/#").await;
    let config = TestConfig::new(broker.port())
        .simulator("initial_indoor_temperature = 15.0")
        .simulator("initial_lock = \"unlocked\"")
        .thermostat("mode = \"heat\"")
        .thermostat("heat_min_off = \"0s\"")
        // A sticking bolt and a long travel timeout: the motor is still running at SIGTERM.
        .tail("[lock]\ntravel_timeout = \"30s\"\n")
        .tail("[[simulator.script]]\nafter = \"0s\"\naction = \"lock_jam\"\n");
    let mut daemon = Daemon::start(&config);
    let state = "hearth/thermostat/state";
    let lock = "hearth/lock/state";
    c.wait_json(state, support::daemon::startup_timeout(), |v| {
        v["action"] == "heating"
    })
    .await;
    let reply = c
        .request("hearth/lock/set", r#"{"id":"l","action":"lock"}"#)
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    c.wait_json(lock, support::reply_timeout(), |v| v["state"] == "moving")
        .await;

    daemon.sigterm();
    assert!(daemon.wait_exit(scaled(Duration::from_secs(10))).success());

    // A client arriving now sees what hearth left behind, retained.
    let mut late = TestClient::connect(broker.port(), "late").await;
    late.subscribe("hearth/#").await;
    let t = late
        .wait_json(state, support::reply_timeout(), |_| true)
        .await;
    assert_eq!(t["action"], "idle", "{t}");
    let l = late
        .wait_json(lock, support::reply_timeout(), |_| true)
        .await;
    assert_eq!(l["state"], "unknown", "the bolt stopped mid-travel: {l}");
    let avail = late
        .wait_for("availability", support::reply_timeout(), |m| {
            m.topic == "hearth/availability"
        })
        .await;
    assert_eq!(avail.text(), "offline");
}
