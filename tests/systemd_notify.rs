//! The daemon as systemd sees it: READY=1 after start-up, WATCHDOG=1 pings while the
//! control loop answers, and on SIGTERM STOPPING=1 and a clean exit within the bound.
//! A Unix datagram socket stands in for systemd's notify socket.

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

fn recv_until(sock: &UnixDatagram, want: &str, deadline: Instant) -> Vec<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.lines().any(|l| l == want);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want} before the deadline; got {seen:?}");
}

#[test]
fn ready_watchdog_and_stopping_reach_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[hardware]\nbackend = \"simulator\"\npoll_interval = \"1s\"\n[history]\npath = \"{}\"\n",
            dir.path().join("h.db").display()
        ),
    )
    .unwrap();

    // systemd sets WATCHDOG_PID to the service's pid; a shell that execs hearthd knows it.
    let child = Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec $0 \"$@\"")
        .args(support::daemon::hearthd_argv())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the daemon if an assertion fails, so no orphan keeps running.
    let mut child = KillOnDrop(child);
    let child = &mut child.0;

    let start = Instant::now();
    recv_until(&sock, "READY=1", start + Duration::from_secs(30));
    // Pings come every WATCHDOG_USEC / 2 = 200 ms; two in a row show the loop keeps answering.
    recv_until(
        &sock,
        "WATCHDOG=1",
        Instant::now() + Duration::from_secs(10),
    );
    recv_until(
        &sock,
        "WATCHDOG=1",
        Instant::now() + Duration::from_secs(10),
    );

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    recv_until(
        &sock,
        "STOPPING=1",
        Instant::now() + Duration::from_secs(10),
    );
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("hearthd did not exit within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
