//! `hearthd doctor`: everything a first boot needs, checked as the service user would see it,
//! printed as a checklist with a fix under each failure. Exit 0 when nothing failed, 1 when a
//! check failed, 78 when the config cannot be loaded (the other checks still run).
//!
//! The checks read the system under a root directory (`/` here, a scratch tree in tests), so
//! each can be tested without a Pi: accounts from `etc/passwd` and `etc/group`, devices under
//! `dev/`, the model under `proc/device-tree/`, overlays in `boot/firmware/config.txt`.

pub mod access;
mod files;
mod net;
mod pi;
mod report;
#[cfg(test)]
mod tests;

pub use report::{Check, Status};

use hearth_hardware::Backend;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What to check, and where the system's files are.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config, as the service sees it (`/etc/hearth/hearth.toml`).
    pub config: PathBuf,
    /// The account the unit runs as.
    pub user: String,
    /// Where `/` is: `/`, or a test tree.
    pub root: PathBuf,
    /// Connect to the broker and the clouds (off in tests that only look at files).
    pub network: bool,
}

pub fn run(config: &Path, user: &str) -> ExitCode {
    let config = std::path::absolute(config).unwrap_or_else(|_| config.to_owned());
    let opts = Options {
        config,
        user: user.to_owned(),
        root: PathBuf::from("/"),
        network: true,
    };
    println!(
        "hearthd doctor: {}, as user {}",
        opts.config.display(),
        opts.user
    );
    let (checks, loaded) = diagnose(&opts);
    print!("{}", report::render(&checks));
    ExitCode::from(report::exit_code(&checks, loaded))
}

/// Run every check; also says whether the config could be loaded.
pub fn diagnose(opts: &Options) -> (Vec<Check>, bool) {
    let root = opts.root.as_path();
    let mut checks = Vec::new();
    let cfg = config_check(opts, &mut checks);
    let accounts = access::Accounts::load(root);
    let account = accounts.service_account(&opts.user);
    match &account {
        Some(a) => {
            let groups: Vec<String> = a.groups.iter().map(|g| accounts.group_name(*g)).collect();
            checks.push(Check::ok(
                "service user",
                format!("{} (uid {}), groups under the unit: {}", a.name, a.uid, groups.join(", ")),
            ));
        }
        None => checks.push(Check::fail(
            "service user",
            format!("no user `{}` in /etc/passwd", opts.user),
            "sudo systemd-sysusers /usr/lib/sysusers.d/hearth.conf  (the hearth package installs that file)",
        )),
    }
    checks.push(pi::groups(&accounts));
    if let Some(a) = &account {
        checks.extend(files::readable(root, a, &opts.config, cfg.as_ref()));
        if let Some(cfg) = &cfg {
            checks.extend(files::writable(root, a, cfg));
        }
    }
    let backend = cfg.as_ref().map(|c| c.hardware.backend).unwrap_or_default();
    checks.push(pi::model(root, backend));
    if let (Some(a), Some(cfg)) = (&account, &cfg) {
        checks.extend(pi::hardware(root, a, &cfg.hardware));
    }
    if let Some(cfg) = &cfg {
        if opts.network {
            checks.push(net::broker(cfg.mqtt.as_ref()));
            checks.extend(net::clouds(&cfg.cloud));
        } else {
            checks.push(Check::skip("network", "broker and cloud checks not run"));
        }
    }
    checks.push(pi::clock(root));
    (checks, cfg.is_some())
}

fn config_check(opts: &Options, checks: &mut Vec<Check>) -> Option<crate::config::Config> {
    let shown = opts.config.display();
    let real = access::under_root(&opts.root, &opts.config);
    let fix = format!(
        "edit {shown} where the message points; `hearthd check-config --config {shown}` re-checks it \
         (every key: /usr/share/doc/hearth/examples/config.example.toml)"
    );
    let cfg = match crate::config::load(&real) {
        Ok(cfg) => cfg,
        Err(crate::config::ConfigError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            checks.push(Check::fail(
                "config",
                format!("{shown}: {source}"),
                "run the doctor as root: sudo hearthd doctor",
            ));
            return None;
        }
        Err(e) => {
            checks.push(Check::fail("config", e.to_string(), fix));
            return None;
        }
    };
    // The files it names are parsed exactly as `hearthd run` does (keys, PEM, password).
    if let Err(e) = crate::mqtt::prepare(&cfg) {
        checks.push(Check::fail("config", format!("{shown}: {e}"), fix));
        return Some(cfg);
    }
    let backend = match cfg.hardware.backend {
        Backend::Simulator => "simulator",
        Backend::RaspberryPi => "raspberry_pi",
    };
    checks.push(Check::ok(
        "config",
        format!(
            "{shown} is valid ({backend} backend, {} cloud(s))",
            cfg.cloud.len()
        ),
    ));
    Some(cfg)
}

/// For `check-config` run as root: each file the service user could not read (or a missing
/// service user), as a warning line with its fix.
pub fn service_warnings(
    root: &Path,
    user: &str,
    config: &Path,
    cfg: &crate::config::Config,
) -> Vec<String> {
    let Some(account) = access::Accounts::load(root).service_account(user) else {
        return vec![format!(
            "there is no user `{user}` to run hearthd; the unit's User={user} would fail \
             (fix: sudo systemd-sysusers /usr/lib/sysusers.d/hearth.conf)"
        )];
    };
    files::readable(root, &account, config, Some(cfg))
        .into_iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| {
            let fix = c.fix.unwrap_or_default();
            format!(
                "the service user {user} could not read it: {} (fix: {fix})",
                c.detail
            )
        })
        .collect()
}
