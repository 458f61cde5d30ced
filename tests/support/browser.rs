//! Debian's headless chromium for tests: dump a page's DOM (with or without JavaScript) or
//! take a screenshot, each run with a fresh profile and every background service off, killed
//! after a deadline. No driver: `--dump-dom` and `--screenshot` are chromium's own flags.

use super::scaled;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why browser tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    if std::env::var("HEARTH_UNDER_EMULATION").is_ok_and(|v| v == "1") {
        return Some("chromium is a host tool; not run under ARM emulation".into());
    }
    None
}

/// The chromium binary; a missing one is a failure (scripts/install-test-deps.sh installs it).
pub fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("chromium is not installed; run scripts/install-test-deps.sh (CI does)")
        })
}

/// Run chromium with `args` on a fresh profile. With `javascript` false the profile blocks
/// scripts for every site (the content setting a person would pick), which, unlike
/// `--blink-settings=scriptEnabled=false`, still lets `--dump-dom` read the DOM back.
fn run(args: &[String], javascript: bool) -> (String, String) {
    let started = Instant::now();
    let profile = tempfile::tempdir().expect("a chromium profile dir");
    if !javascript {
        let default = profile.path().join("Default");
        std::fs::create_dir_all(&default).unwrap();
        std::fs::write(
            default.join("Preferences"),
            r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
        )
        .unwrap();
    }
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("starting chromium");
    let pid = child.id();
    let deadline = Instant::now() + scaled(Duration::from_secs(90));
    // A watchdog thread kills a hung browser; the output is read on this thread.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let left = deadline.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    });
    let out = child.wait_with_output().expect("waiting for chromium");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        format!(
            "{}\n(chromium {} after {:?})",
            String::from_utf8_lossy(&out.stderr),
            out.status,
            started.elapsed()
        ),
    )
}

/// The DOM after loading `url`, with page scripts allowed or blocked.
pub fn dump_dom(url: &str, javascript: bool) -> String {
    let (dom, err) = run(&["--dump-dom".to_owned(), url.to_owned()], javascript);
    assert!(
        dom.contains("</html>"),
        "chromium returned no page for {url} ({} bytes: {}); stderr:\n{err}",
        dom.len(),
        dom.chars()
            .rev()
            .take(300)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );
    dom
}

/// The DOM of an `https://` page whose certificate is the tests' own (not trusted by the
/// browser's store, so certificate errors are ignored for this one run).
pub fn dump_dom_self_signed(url: &str) -> String {
    let (dom, err) = run(
        &[
            "--ignore-certificate-errors".to_owned(),
            "--dump-dom".to_owned(),
            url.to_owned(),
        ],
        true,
    );
    assert!(
        dom.contains("</html>"),
        "chromium returned no page for {url}; stderr:\n{err}"
    );
    dom
}

/// A PNG of `url` at `width` x `height` CSS pixels.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32, javascript: bool) {
    let _ = std::fs::remove_file(path);
    let args = [
        format!("--screenshot={}", path.display()),
        format!("--window-size={width},{height}"),
        url.to_owned(),
    ];
    let (_, err) = run(&args, javascript);
    let ok = std::fs::metadata(path).is_ok_and(|m| m.len() > 1000);
    assert!(ok, "chromium wrote no screenshot of {url}; stderr:\n{err}");
}
