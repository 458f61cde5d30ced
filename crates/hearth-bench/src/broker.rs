//! A throw-away Mosquitto broker on a free loopback port, for the benchmark and the tests.
//!
//! It listens on 127.0.0.1 only, keeps nothing on disk, and is killed when dropped. It never
//! touches the system's broker.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

/// Where Debian puts the broker; `/usr/sbin` is often not on a non-root PATH.
pub fn mosquitto_path() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/mosquitto")])
        .find(|p| p.is_file())
}

/// A port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Broker {
    /// Start a broker with `extra` lines appended to its config, in `dir`.
    pub fn start(dir: &Path, extra: &str) -> Result<Broker, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        Self::start_on(dir, port, extra)
    }

    /// Start (or restart) a broker on a given port.
    pub fn start_on(dir: &Path, port: u16, extra: &str) -> Result<Broker, String> {
        let exe = mosquitto_path()
            .ok_or("mosquitto is not installed; run scripts/install-test-deps.sh (Debian package `mosquitto`)")?;
        let conf = dir.join(format!("mosquitto-{port}.conf"));
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_queued_messages 100000\n{extra}\n"
        );
        std::fs::write(&conf, text).map_err(|e| format!("writing {}: {e}", conf.display()))?;
        let child = Command::new(exe)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting mosquitto: {e}"))?;
        let mut broker = Broker {
            child,
            port,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!(
                    "mosquitto exited at start with {status} (config {})",
                    conf.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "mosquitto did not listen on port {port} within 10 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
