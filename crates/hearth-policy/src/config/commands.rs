//! Compiling the `commands` and `devices` tables: which commands a cloud may issue, who
//! checks the unlock PIN, and the device ids and names it is shown.

use super::{CommandsConfig, DeviceNames, PinConfig, UnlockGuard};
use crate::command::CommandName;
use crate::format::Format;
use crate::pin::{MAX_ITERATIONS, MIN_ITERATIONS, PinHash};
use hearth_model::ConfigIssue;
use std::collections::BTreeSet;

pub(super) fn check_devices(d: &DeviceNames, key: &str, issues: &mut Vec<ConfigIssue>) {
    // Alexa's endpointId pattern; Google accepts the same ids.
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-=#;:?@&".contains(c))
    };
    for (k, v) in [("thermostat_id", &d.thermostat_id), ("lock_id", &d.lock_id)] {
        if !ok_id(v) {
            issues.push(ConfigIssue::new(
                format!("{key}.{k}"),
                format!("`{v}` is not a device id: use 1-256 letters, digits or _-=#;:?@&"),
            ));
        }
    }
    if d.thermostat_id == d.lock_id {
        issues.push(ConfigIssue::new(
            format!("{key}.lock_id"),
            "the lock and the thermostat need different ids".to_string(),
        ));
    }
    for (k, v) in [
        ("thermostat_name", &d.thermostat_name),
        ("lock_name", &d.lock_name),
        ("agent_user_id", &d.agent_user_id),
    ] {
        if v.trim().is_empty() || v.len() > 128 {
            issues.push(ConfigIssue::new(
                format!("{key}.{k}"),
                "must be 1-128 characters".to_string(),
            ));
        }
    }
}

pub(super) fn compile_commands(
    c: &CommandsConfig,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> (BTreeSet<CommandName>, Option<UnlockGuard>) {
    let mut allow = BTreeSet::new();
    for name in &c.allow {
        match CommandName::parse(name) {
            Some(n) => {
                allow.insert(n);
            }
            None => issues.push(ConfigIssue::new(
                format!("{key}.allow"),
                format!(
                    "unknown command `{name}`; known commands: {}",
                    CommandName::ALL.map(|c| c.as_str()).join(", ")
                ),
            )),
        }
    }
    let pin_key = format!("{key}.unlock_pin");
    let unlock = match &c.unlock_pin {
        None => {
            if allow.contains(&CommandName::Unlock) {
                issues.push(ConfigIssue::new(
                    &pin_key,
                    "unlocking from a cloud needs a voice PIN: add unlock_pin = { pbkdf2_sha256 \
                     = \"<hex>\", salt = \"<salt>\", iterations = 100000 } (hearthd policy \
                     hash-pin prints it), or for Alexa unlock_pin = { checked_by = \"alexa\" }",
                ));
            }
            None
        }
        Some(p) => compile_pin(p, &pin_key, format, issues),
    };
    (allow, unlock)
}

fn compile_pin(
    p: &PinConfig,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<UnlockGuard> {
    let hashed = p.pbkdf2_sha256.is_some() || p.salt.is_some() || p.iterations.is_some();
    match (&p.checked_by, hashed) {
        (Some(_), true) => {
            issues.push(ConfigIssue::new(
                key,
                "give either checked_by or pbkdf2_sha256/salt/iterations, not both",
            ));
            None
        }
        (Some(by), false) => {
            if by != "alexa" {
                issues.push(ConfigIssue::new(
                    format!("{key}.checked_by"),
                    format!("only \"alexa\" checks its own voice code; `{by}` does not"),
                ));
                None
            } else if matches!(format, Some(Format::Google | Format::Json)) {
                issues.push(ConfigIssue::new(
                    format!("{key}.checked_by"),
                    "only an alexa cloud checks the PIN itself; this cloud sends the PIN to \
                     hearth, so give pbkdf2_sha256, salt and iterations",
                ));
                None
            } else {
                Some(UnlockGuard::CheckedByAlexa)
            }
        }
        (None, _) => {
            if format == Some(Format::Alexa) {
                issues.push(ConfigIssue::new(
                    key,
                    "Alexa never tells hearth the spoken PIN, so a hash cannot be checked; set \
                     the voice code in the Alexa app and write unlock_pin = { checked_by = \"alexa\" }",
                ));
                return None;
            }
            let (Some(h), Some(salt), Some(iter)) = (&p.pbkdf2_sha256, &p.salt, p.iterations)
            else {
                issues.push(ConfigIssue::new(
                    key,
                    "give pbkdf2_sha256, salt and iterations together (hearthd policy hash-pin \
                     prints them)",
                ));
                return None;
            };
            let mut ok = true;
            if iter < MIN_ITERATIONS {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.iterations"),
                    format!("at least {MIN_ITERATIONS}, or a stolen config gives the PIN away"),
                ));
            }
            if iter > MAX_ITERATIONS {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.iterations"),
                    format!(
                        "at most {MAX_ITERATIONS}: every PIN check costs this many hashes on the Pi \
                         (hearthd policy hash-pin uses 100000)"
                    ),
                ));
            }
            if salt.len() < 8 {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.salt"),
                    "use a salt of at least 8 characters",
                ));
            }
            match PinHash::from_config(h, salt, iter) {
                Ok(pin) if ok => Some(UnlockGuard::Pin(pin)),
                Ok(_) => None,
                Err(e) => {
                    issues.push(ConfigIssue::new(format!("{key}.pbkdf2_sha256"), e));
                    None
                }
            }
        }
    }
}
