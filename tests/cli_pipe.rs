//! The CLI on a closed pipe: `hearthd check-config … | head -0` must end quietly, not panic in
//! `println!` with exit status 101.

mod support;

use std::process::Stdio;
use support::daemon::hearthd_command;

#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, "[hardware]\nbackend = \"simulator\"\n").unwrap();
    // A pipe whose reading end is already closed: the first write fails, deterministically.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = hearthd_command()
        .args(["check-config", "--config"])
        .arg(&config)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run hearthd check-config");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    // Like any Unix filter: ended by SIGPIPE, with nothing on stderr. (Under qemu-user the
    // emulator reports the guest's signal its own way; the checks above still hold.)
    if std::env::var_os("HEARTH_UNDER_EMULATION").is_none() {
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
    }
    assert!(stderr.is_empty(), "{stderr}");
}
