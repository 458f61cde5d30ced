//! A real Mosquitto for tests: its own temp config on a free 127.0.0.1 port, anonymous,
//! no persistence, logging to a file the test can read. Stop and restart keep the port, so a
//! client configured for it can reconnect.
//!
//! A missing mosquitto is a failure, not a skip: CI installs it with
//! scripts/install-test-deps.sh, and a silently skipped broker test proves nothing.

use super::scaled;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
    /// More config after the anonymous loopback listener (e.g. a TLS listener).
    extra: String,
}

impl Broker {
    /// Start a broker on a free loopback port and wait until it accepts connections.
    pub fn start() -> Broker {
        Self::start_with(|_| String::new())
    }

    /// [`Broker::start`] with more listeners: `extra(dir)` returns config text appended
    /// after the anonymous one, with settings per listener (`per_listener_settings true`).
    /// `dir` is the broker's own directory, readable by the mosquitto user, for the files
    /// those listeners need (certificates, password file).
    pub fn start_with(extra: impl Fn(&Path) -> String) -> Broker {
        // Another process may take the port between probing and mosquitto binding it.
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temp dir for mosquitto");
            // Mosquitto started as root reads listener files after dropping to its own user.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod the broker dir");
            let extra = extra(dir.path());
            let mut broker = Broker {
                port: free_port(),
                dir,
                child: None,
                starts: 0,
                extra,
            };
            match broker.launch() {
                Ok(()) => return broker,
                Err(log) => last_log = log,
            }
        }
        panic!("mosquitto would not start on a free port; its last log:\n{last_log}");
    }

    /// The anonymous plain-TCP listener's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kill the broker (as a crash would: no goodbye to clients) and wait for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + scaled(Duration::from_secs(10));
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(log) if Instant::now() < deadline => {
                    // The old socket may linger briefly; mosquitto reports the bind error.
                    let _ = log;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(log) => panic!("mosquitto did not restart on port {}:\n{log}", self.port),
            }
        }
    }

    /// The broker's log so far (all starts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    fn launch(&mut self) -> Result<(), String> {
        self.starts += 1;
        let conf = self
            .dir
            .path()
            .join(format!("mosquitto-{}.conf", self.starts));
        std::fs::write(
            &conf,
            format!(
                "{per_listener}persistence false\nlog_dest stderr\nlog_type all\n\
                 connection_messages true\nlistener {port} 127.0.0.1\nallow_anonymous true\n{extra}\n",
                per_listener = if self.extra.is_empty() {
                    ""
                } else {
                    "per_listener_settings true\n"
                },
                port = self.port,
                extra = self.extra,
            ),
        )
        .expect("writing the mosquitto config");
        // stderr is unbuffered, so the log is complete whenever the test reads it.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("opening the mosquitto log");
        let mut child = Command::new(mosquitto())
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run mosquitto: {e}"));
        let deadline = Instant::now() + scaled(Duration::from_secs(5));
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("mosquitto exited with {status}:\n{}", self.log()));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "mosquitto did not accept connections:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    hearth_bench::broker::free_port().expect("binding a probe socket on 127.0.0.1")
}

/// The mosquitto binary: on PATH, or where the Debian package puts it.
fn mosquitto() -> PathBuf {
    hearth_bench::broker::mosquitto_path().unwrap_or_else(|| {
        panic!(
            "mosquitto is not installed (not on PATH, not /usr/sbin/mosquitto); the MQTT \
             tests need a real broker: run scripts/install-test-deps.sh (CI does)"
        )
    })
}
