//! Bytes written per day by the whole daemon: two real `hearthd run` processes side by
//! side on the simulator with default settings and the default log level — one with no
//! cloud, one with the two clouds of issue #16 (alexa sharing the temperature on change
//! rounded to 0.5, google sharing nothing) on the bench's local Mosquitto.
//!
//! Method: a fixed wall-clock window of one whole hour, scaled to a day (x24). After a
//! settling period (start-up creates both databases and makes the first commits), the
//! process's `write_bytes` from `/proc/<pid>/io` is read at the start and the end of the
//! window; the log lines it writes to stderr (a pipe here; the journal on a Pi) are counted
//! over the same window. An hour holds exactly one of each hourly piece of work (history
//! rollups and retention, the ledger closing its `withheld` runs) and four of the history's
//! 15-minute heartbeats, whenever it starts: a shorter window scaled up counted the hourly
//! work 0 or 3 times a day's worth depending on whether a wall-clock hour fell inside it.
//! Each daemon serves its page on its own ephemeral loopback port (the default `[web]`
//! listener otherwise collides between the two).

use super::Host;
use super::process;
use super::report::{Figure, Report};
use anyhow::Context;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DAY: f64 = 86_400.0;

/// The `[[cloud]]` entries of the issue, on the bench broker.
fn two_clouds(port: u16) -> String {
    format!(
        "[[cloud]]\nname = \"alexa\"\nformat = \"alexa\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"bench-alexa\"\ntopic_prefix = \"bench/alexa\"\n\
         [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = 0.5\n\
         [[cloud]]\nname = \"google\"\nformat = \"google\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"bench-google\"\ntopic_prefix = \"bench/google\"\n"
    )
}

/// A daemon whose stderr is counted (bytes, lines) by a reader thread.
struct Counted {
    child: Child,
    bytes: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
}

impl Counted {
    fn spawn(dir: &Path, name: &str, port: u16, clouds: &str) -> anyhow::Result<Self> {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub)?;
        let config = sub.join("hearth.toml");
        std::fs::write(
            &config,
            format!(
                "[hardware]\nbackend = \"simulator\"\n\
                 [history]\npath = \"{}\"\n[ledger]\npath = \"{}\"\n\
                 [mqtt]\nport = {port}\nclient_id = \"bench-{name}\"\nbase_topic = \"bench-{name}\"\n\
                 [mqtt.discovery]\nprefix = \"bench-{name}-ha\"\n\
                 [web]\nlisten = \"127.0.0.1:0\"\n{clouds}",
                sub.join("history.db").display(),
                sub.join("ledger.db").display(),
            ),
        )?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["run", "--config"])
            .arg(&config)
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting the {name} daemon"))?;
        let mut err = child.stderr.take().context("no stderr pipe")?;
        let (bytes, lines) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (b, l) = (bytes.clone(), lines.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                b.fetch_add(n as u64, Ordering::Relaxed);
                let nl = buf[..n].iter().filter(|&&c| c == b'\n').count();
                l.fetch_add(nl as u64, Ordering::Relaxed);
            }
        });
        Ok(Self {
            child,
            bytes,
            lines,
        })
    }

    fn sample(&self) -> anyhow::Result<(u64, u64, u64)> {
        let written = process::write_bytes(self.child.id())
            .context("reading the daemon's /proc/<pid>/io (is it still running?)")?;
        Ok((
            written,
            self.bytes.load(Ordering::Relaxed),
            self.lines.load(Ordering::Relaxed),
        ))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Measure both daemons over the same `window` after `settle`.
pub fn per_day(
    report: &mut Report,
    host: &impl Host,
    dir: &Path,
    broker: &super::broker::Broker,
    settle: Duration,
    window: Duration,
    quick: bool,
) -> anyhow::Result<()> {
    let port = broker.port;
    let bare = Counted::spawn(dir, "nocloud", port, "")?;
    let clouded = Counted::spawn(dir, "clouds", port, &two_clouds(port))?;
    std::thread::sleep(settle);
    let pid = bare.child.id();
    let idle0 = super::Idle::sample(pid, broker.pid());
    let (b0, c0, t0) = (bare.sample()?, clouded.sample()?, Instant::now());
    std::thread::sleep(window);
    let (b1, c1, wall) = (bare.sample()?, clouded.sample()?, t0.elapsed());
    let idle1 = super::Idle::sample(pid, broker.pid());
    super::Idle::report(
        report,
        (idle0, idle1),
        wall,
        "the no-cloud daemon of the disk figure, a house at rest",
    )?;
    let scale = DAY / wall.as_secs_f64();
    let note_quick = if quick {
        " QUICK window: not comparable to the goal"
    } else {
        ""
    };
    for (name, a, b) in [("no cloud", b0, b1), ("two clouds", c0, c1)] {
        let disk = (b.0 - a.0) as f64 * scale;
        let log_bytes = (b.1 - a.1) as f64 * scale;
        let log_lines = (b.2 - a.2) as f64 * scale;
        report.push(Figure {
            name: format!("written per day, {name}"),
            value: (disk + log_bytes) / 1e6,
            unit: "MB",
            baseline: None,
            baseline_name: "",
            goal: Some((5.0, false)),
            note: format!(
                "process write_bytes {:.3} MB + log {:.3} MB ({:.0} lines) at the default \
                 level; {:.0} s window x {:.0}{note_quick}",
                disk / 1e6,
                log_bytes / 1e6,
                log_lines,
                wall.as_secs_f64(),
                scale
            ),
        });
    }
    // A running daemon holds its ledger exclusively: read it once both are gone (killed,
    // so what counts is what they had committed).
    drop((bare, clouded));
    let ledger = dir.join("clouds").join("ledger.db");
    if let Some(rows) = host.ledger_rows(&ledger) {
        let (rows, decisions) = rows?;
        report.push(Figure {
            name: "ledger rows, two clouds".into(),
            value: rows as f64,
            unit: "rows",
            baseline: Some(decisions as f64),
            baseline_name: "decisions they record",
            goal: None,
            note: format!(
                "committed in the {:.0} s the daemon ran; runs still open at the kill not counted",
                (settle + wall).as_secs_f64()
            ),
        });
    }
    Ok(())
}
