//! Files and directories as the service user sees them: the config and every file it names
//! must be readable, the history and ledger directories writable, and inside the one
//! directory the unit lets hearthd write (`ProtectSystem=strict` + `StateDirectory=hearth`).

use super::access::{self, Account, Want};
use super::report::Check;
use crate::config::Config;
use crate::config::files::named_files;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The only directory the unit makes writable.
pub const STATE_DIR: &str = "/var/lib/hearth";

/// The fix for a file the service user cannot read.
pub fn read_fix(path: &Path, user: &str) -> String {
    let p = path.display();
    format!(
        "sudo chown root:{user} {p} && sudo chmod 640 {p}  (and make its directory searchable: chmod o+x or g+x)"
    )
}

/// Whether the service user can read `path`; `None` when it can.
pub fn unreadable(root: &Path, account: &Account, path: &Path) -> Option<String> {
    let path = absolute(path);
    access::check(root, account, &path, Want::Read)
        .err()
        .map(|d| format!("{}: {}", d.at.display(), d.reason))
}

/// The config file and each file it names, readable by the service user and, for secrets,
/// not too open.
pub fn readable(root: &Path, account: &Account, config: &Path, cfg: Option<&Config>) -> Vec<Check> {
    let mut checks = Vec::new();
    let user = &account.name;
    match unreadable(root, account, config) {
        None => checks.push(Check::ok(
            "config file readable",
            format!("{user} can read {}", config.display()),
        )),
        Some(why) => checks.push(Check::fail(
            "config file readable",
            why,
            read_fix(config, user),
        )),
    }
    for f in cfg.map(named_files).unwrap_or_default() {
        let name = format!("{} readable", f.key);
        if let Some(why) = unreadable(root, account, &f.path) {
            checks.push(Check::fail(name, why, read_fix(&f.path, user)));
            continue;
        }
        if f.secret {
            let meta = std::fs::metadata(access::under_root(root, &absolute(&f.path)));
            let reader = hearth_api::SecretsReader {
                uid: account.uid,
                gid: account.gid,
                groups: account.groups.clone(),
            };
            if let Ok(meta) = meta
                && let Some(why) =
                    hearth_api::secrets_too_open(meta.mode() & 0o7777, meta.gid(), Some(&reader))
            {
                checks.push(Check::fail(
                    name,
                    format!(
                        "{} holds secrets but {why} (mode {:04o})",
                        f.path.display(),
                        meta.mode() & 0o7777
                    ),
                    read_fix(&f.path, user),
                ));
                continue;
            }
        }
        checks.push(Check::ok(
            name,
            format!("{user} can read {}", f.path.display()),
        ));
    }
    checks
}

/// The history and ledger databases: absolute, inside the state directory, and writable.
pub fn writable(root: &Path, account: &Account, cfg: &Config) -> Vec<Check> {
    [
        ("history.path", cfg.history.path.as_path()),
        ("ledger.path", cfg.ledger.path.as_path()),
    ]
    .into_iter()
    .map(|(key, path)| writable_one(root, account, key, path))
    .collect()
}

fn writable_one(root: &Path, account: &Account, key: &str, path: &Path) -> Check {
    let name = format!("{key} writable");
    let user = &account.name;
    let inside = format!(
        "set {key} = \"{STATE_DIR}/{}\"",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    if path.is_relative() {
        return Check::fail(
            name,
            format!(
                "{} is relative: the service runs in / (read-only under the unit), so nothing would be written",
                path.display()
            ),
            inside,
        );
    }
    if !path.starts_with(STATE_DIR) {
        return Check::fail(
            name,
            format!(
                "{} is outside {STATE_DIR}, the only directory the unit lets hearthd write (ProtectSystem=strict)",
                path.display()
            ),
            inside,
        );
    }
    let dir = path.parent().unwrap_or(Path::new(STATE_DIR));
    let mkdir = format!(
        "sudo install -d -o {user} -g {user} -m 0750 {}",
        dir.display()
    );
    if let Err(d) = access::check(root, account, dir, Want::Write) {
        return Check::fail(name, format!("{}: {}", d.at.display(), d.reason), mkdir);
    }
    if access::under_root(root, path).exists()
        && let Err(d) = access::check(root, account, path, Want::ReadWrite)
    {
        let p = path.display();
        return Check::fail(
            name,
            format!("{}: {}", d.at.display(), d.reason),
            format!("sudo chown {user}:{user} {p}*"),
        );
    }
    Check::ok(name, format!("{user} can write {}", path.display()))
}

/// Relative paths are resolved as the service sees them: from `/`.
fn absolute(path: &Path) -> PathBuf {
    Path::new("/").join(path)
}
