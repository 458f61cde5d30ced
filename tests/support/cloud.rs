//! A second Mosquitto playing the cloud, the cloud's own client on it, and a `hearthd` on
//! the simulator pointed at it, for the cloud end-to-end tests (`tests/cloud.rs`,
//! `tests/cloud_privacy.rs`). Everything is killed on drop; every wait has a timeout.

use super::broker::free_port;
use super::daemon::hearthd_command;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use rusqlite::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PREFIX: &str = "cloudtest/home";

pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A Mosquitto playing the cloud; killed on drop.
pub struct Broker {
    child: Child,
    /// Plain listener for the test's own client.
    pub port: u16,
}

impl Broker {
    pub fn start(dir: &Path, extra_listener: &str) -> Broker {
        Broker::start_on(dir, free_port(), extra_listener)
    }

    pub fn start_on(dir: &Path, port: u16, extra_listener: &str) -> Broker {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\nallow_anonymous true\npersistence false\n\
                 listener {port} 127.0.0.1\n{extra_listener}\n"
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto (/usr/sbin/mosquitto)");
        wait_until("mosquitto to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Broker { child, port }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cloud's side: subscribed to `#`, can publish directives.
pub struct Cloud {
    pub client: Client,
    pub prefix: String,
    rx: mpsc::Receiver<(String, Vec<u8>)>,
}

impl Cloud {
    pub fn connect(port: u16) -> Cloud {
        Cloud::connect_to(port, PREFIX)
    }

    /// A cloud whose hearth uses `prefix`.
    pub fn connect_to(port: u16, prefix: &str) -> Cloud {
        let mut opts = MqttOptions::new(
            format!("cloud-test-{}", fastrand::u32(..)),
            "127.0.0.1",
            port,
        );
        opts.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(opts, 16);
        client.subscribe("#", QoS::AtLeastOnce).unwrap();
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the cloud subscriber did not get its SUBACK");
        Cloud {
            client,
            prefix: prefix.to_owned(),
            rx,
        }
    }

    /// Everything that arrives within `d`, except what this test itself published.
    pub fn collect_for(&self, d: Duration) -> Vec<(String, Vec<u8>)> {
        let end = Instant::now() + d;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(m) if m.0 != format!("{}/directive", self.prefix) => out.push(m),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        out
    }

    /// The first message on `topic` within `timeout`, as JSON.
    pub fn next_on(&self, topic: &str, timeout: Duration) -> Value {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if let Ok((t, p)) = self.rx.recv_timeout(left)
                && t == topic
            {
                return serde_json::from_slice(&p).unwrap();
            }
        }
        panic!("nothing arrived on {topic} within {timeout:?}");
    }

    pub fn directive(&self, body: &str) {
        self.publish_directive(body.as_bytes(), false);
    }

    /// Publish raw bytes on the directive topic, `retain`ed or not.
    pub fn publish_directive(&self, body: &[u8], retain: bool) {
        self.client
            .publish(
                format!("{}/directive", self.prefix),
                QoS::AtLeastOnce,
                retain,
                body.to_vec(),
            )
            .unwrap();
    }
}

pub struct Daemon {
    child: Child,
    pub ledger: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path, cloud_toml: &str, script: &str) -> Daemon {
        let ledger = dir.join("ledger.db");
        let config = dir.join("hearth.toml");
        std::fs::write(&config, daemon_config(dir, cloud_toml, script)).unwrap();
        // A copy for reading through the daemon (`ledger_conn`): tests edit hearth.toml
        // (policy reloads), sometimes into a config the CLI would refuse.
        std::fs::copy(&config, dir.join("reader.toml")).unwrap();
        let child = hearthd_command()
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start hearthd");
        Daemon { child, ledger }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// SIGTERM, then wait (bounded) so the ledger is flushed.
    pub fn stop(mut self) -> PathBuf {
        self.signal("-TERM");
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "hearthd exited with {status}");
                break;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("hearthd did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.ledger.clone()
    }

    pub fn ledger_rows(&self, sql_where: &str) -> i64 {
        count_rows(&self.ledger, sql_where)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ledger beside its config (`reader.toml`, as [`Daemon::start`] writes them): the file
/// itself, or, while a daemon holds it, a copy read through the daemon (`support::reads`).
pub fn ledger_conn(ledger: &Path) -> rusqlite::Result<Connection> {
    let dir = ledger.parent().expect("the ledger's directory");
    if super::reads::daemon_holds(&dir.join("history.db")) {
        Ok(super::reads::ledger_snapshot(&dir.join("reader.toml")))
    } else {
        Connection::open(ledger)
    }
}

pub fn count_rows(ledger: &Path, sql_where: &str) -> i64 {
    let Ok(conn) = ledger_conn(ledger) else {
        return 0;
    };
    conn.query_row(
        &format!("SELECT count(*) FROM ledger WHERE {sql_where}"),
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

pub fn daemon_config(dir: &Path, cloud_toml: &str, script: &str) -> String {
    format!(
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\ninput_poll_interval = \"50ms\"\n\
         [simulator]\nnoise_stddev = 0.3\n{script}\n\
         [history]\npath = \"{}\"\n\
         [ledger]\npath = \"{}\"\ncommit_interval = \"1s\"\n\
         {cloud_toml}\n",
        dir.join("history.db").display(),
        dir.join("ledger.db").display(),
    )
}

pub fn plain_cloud(port: u16, policy: &str) -> String {
    format!(
        "[[cloud]]\nname = \"home\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"hearth-test\"\ntopic_prefix = \"{PREFIX}\"\nkeep_alive = \"5s\"\n{policy}\n"
    )
}
