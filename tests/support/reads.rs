//! Reading a daemon's ledger and history the way a user does while it runs: `hearthd audit
//! --json` and `hearthd history --format csv`. A running daemon holds its files exclusively
//! and answers these through its read socket; with no daemon they read the files.

use super::daemon::hearthd_command;
use hearth_model::UnixMillis;
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

fn hearthd(config: &Path, args: &[&str]) -> String {
    try_hearthd(config, args).unwrap_or_else(|e| panic!("{e}"))
}

fn try_hearthd(config: &Path, args: &[&str]) -> Result<String, String> {
    let out = hearthd_command()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("running hearthd");
    if !out.status.success() {
        return Err(format!(
            "hearthd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// Every ledger row since `since` (of `cloud`, or all), newest first, as `audit --json`.
pub fn audit_rows(config: &Path, cloud: Option<&str>, since: UnixMillis) -> Vec<Value> {
    let since = since.to_rfc3339();
    let mut args = vec!["audit", "--json", "--limit", "10000", "--since", &since];
    if let Some(c) = cloud {
        args.extend(["--cloud", c]);
    }
    let text = hearthd(config, &args);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["rows"].as_array().expect("rows").clone()
}

/// The whole ledger, copied through `audit --json` into an in-memory `ledger` table with
/// the file's columns (ids oldest first), for SQL written against the file.
pub fn ledger_snapshot(config: &Path) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, time INTEGER, cloud TEXT, field TEXT,
         kind TEXT, detail TEXT, payload BLOB, count INTEGER, last INTEGER)",
    )
    .unwrap();
    let mut rows = audit_rows(config, None, UnixMillis(0));
    rows.reverse();
    for r in rows {
        conn.execute(
            "INSERT INTO ledger (time, cloud, field, kind, detail, payload, count, last)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                r["time"].as_i64(),
                r["cloud"].as_str(),
                r["field"].as_str(),
                r["kind"].as_str(),
                r["detail"].as_str(),
                r["payload"].as_str().map(|p| p.as_bytes().to_vec()),
                r["count"].as_i64(),
                r["last"].as_i64(),
            ],
        )
        .unwrap();
    }
    conn
}

/// The recorded values of `field` since `since`, oldest first (`history --format csv`).
pub fn history_values(config: &Path, field: &str, since: UnixMillis) -> Vec<String> {
    try_history_values(config, field, since).unwrap_or_else(|e| panic!("{e}"))
}

/// [`history_values`], or why the CLI could not answer (e.g. nothing committed yet).
pub fn try_history_values(
    config: &Path,
    field: &str,
    since: UnixMillis,
) -> Result<Vec<String>, String> {
    let since = since.to_rfc3339();
    let text = try_hearthd(
        config,
        &["history", field, "--since", &since, "--format", "csv"],
    )?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next().map(str::to_owned))
        .collect())
}

/// Whether a daemon answers on the read socket beside `history` (it holds the files).
pub fn daemon_holds(history: &Path) -> bool {
    let mut socket = history.as_os_str().to_owned();
    socket.push(".sock");
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}
