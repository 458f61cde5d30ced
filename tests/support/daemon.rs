//! The real `hearthd` binary for tests: a temp config on the simulator, pointed at a test
//! broker, its log captured to a file, killed on drop.
//!
//! Under emulation (`HEARTH_TEST_RUNNER`, e.g. `qemu-aarch64-static -L /usr/aarch64-linux-gnu`)
//! the binary is started through that command.

use super::scaled;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A config for a test daemon: the simulator with fast polling, history in a temp dir, and
/// `[mqtt]` on the test broker. Extra lines go into the sections named.
pub struct TestConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub mqtt: Vec<String>,
    pub simulator: Vec<String>,
    pub thermostat: Vec<String>,
    /// Whole extra sections (`[[simulator.script]]` ...), appended last.
    pub tail: Vec<String>,
    /// Where the history database goes; `None`: in the daemon's temp dir.
    pub history_path: Option<PathBuf>,
}

impl TestConfig {
    pub fn new(port: u16) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port,
            client_id: format!("hearthd-test-{port}"),
            mqtt: Vec::new(),
            simulator: Vec::new(),
            thermostat: Vec::new(),
            tail: Vec::new(),
            history_path: None,
        }
    }

    pub fn history_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.history_path = Some(path.into());
        self
    }

    pub fn mqtt(mut self, line: impl Into<String>) -> Self {
        self.mqtt.push(line.into());
        self
    }

    pub fn simulator(mut self, line: impl Into<String>) -> Self {
        self.simulator.push(line.into());
        self
    }

    pub fn thermostat(mut self, line: impl Into<String>) -> Self {
        self.thermostat.push(line.into());
        self
    }

    pub fn tail(mut self, text: impl Into<String>) -> Self {
        self.tail.push(text.into());
        self
    }

    /// The TOML text, with the history database under `dir`.
    pub fn render(&self, dir: &Path) -> String {
        format!(
            "[daemon]\nlog_level = \"debug\"\nshutdown_timeout = \"5s\"\n\n\
             [hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\ninput_poll_interval = \"20ms\"\n\n\
             [simulator]\nlock_travel_time = \"200ms\"\n{sim}\n\n\
             [thermostat]\n{thermostat}\n\n\
             [history]\npath = \"{db}\"\ncommit_interval = \"1s\"\n\n\
             [mqtt]\nhost = \"{host}\"\nport = {port}\nclient_id = \"{id}\"\nkeep_alive = \"5s\"\n\
             reconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\n{mqtt}\n\n{tail}\n",
            sim = self.simulator.join("\n"),
            thermostat = self.thermostat.join("\n"),
            db = self
                .history_path
                .clone()
                .unwrap_or_else(|| dir.join("history.db"))
                .display(),
            host = self.host,
            port = self.port,
            id = self.client_id,
            mqtt = self.mqtt.join("\n"),
            tail = self.tail.join("\n"),
        )
    }
}

pub struct Daemon {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// When the process was started (for tests that time scripted simulator events).
    pub started: Instant,
}

impl Daemon {
    /// Write `config` to a temp dir and start `hearthd run` with it.
    pub fn start(config: &TestConfig) -> Daemon {
        let dir = tempfile::tempdir().expect("a temp dir for hearthd");
        let config_path = dir.path().join("hearth.toml");
        std::fs::write(&config_path, config.render(dir.path())).expect("writing the test config");
        let log = std::fs::File::create(dir.path().join("hearthd.log")).expect("creating the log");
        let mut command = hearthd_command();
        command
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .env("RUST_LOG", "debug,rumqttc=info")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hearthd: {e}"));
        Daemon {
            child: Some(child),
            dir,
            started: Instant::now(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the daemon is running").id()
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hearthd.log")).unwrap_or_default()
    }

    /// Ask for a graceful shutdown, as systemd does.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Wait for the process to exit, at most `timeout` (then kill it and panic).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("the daemon is running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("polling hearthd") {
                self.child = None;
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                panic!(
                    "hearthd did not exit within {timeout:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panic (with the log) if the daemon has exited.
    pub fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("the daemon is running");
        if let Some(status) = child.try_wait().expect("polling hearthd") {
            panic!("hearthd exited early with {status}; log:\n{}", self.log());
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("--- hearthd log ---\n{}", self.log());
            }
        }
    }
}

/// The `hearthd` binary as a command (through `HEARTH_TEST_RUNNER` when set), for CLI
/// subcommands such as `sign`.
pub fn hearthd_command() -> Command {
    let argv = hearthd_argv();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// The words that start `hearthd`: the `HEARTH_TEST_RUNNER` words (split on whitespace), if
/// set, then the binary's path. For tests that must start it through another program.
pub fn hearthd_argv() -> Vec<String> {
    let runner = std::env::var("HEARTH_TEST_RUNNER").unwrap_or_default();
    runner
        .split_whitespace()
        .map(str::to_owned)
        .chain([env!("CARGO_BIN_EXE_hearthd").to_owned()])
        .collect()
}

/// A 0600 file in `dir` (secrets and password files must be private).
pub fn private_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a private file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

/// A generous bound on start-up plus first connection.
pub fn startup_timeout() -> Duration {
    scaled(Duration::from_secs(10))
}
