//! `hearthd policy explain` and `hearthd policy hash-pin`: the privacy policy in words, and
//! the `unlock_pin` line for a voice PIN.
//!
//! Reads the config and stdin only; it never connects to a cloud and never prints a PIN.

use super::config_or_exit;
use hearth_policy::pin::PinHash;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// PBKDF2 rounds for a new PIN hash: slow enough to make guessing a 4-digit PIN from a stolen
/// config take a while, fast enough for a Pi to check a spoken PIN at once.
const PIN_ITERATIONS: u32 = 100_000;

/// Print, per cloud, what each field does.
pub fn explain(config: &Path) -> ExitCode {
    let cfg = match config_or_exit(config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    print!("{}", explain_text(&cfg.cloud));
    ExitCode::SUCCESS
}

pub fn explain_text(clouds: &[crate::cloud::CloudConfig]) -> String {
    if clouds.is_empty() {
        return "no [[cloud]] is configured: nothing leaves the house.\n".into();
    }
    let mut out = String::new();
    for (i, c) in clouds.iter().enumerate() {
        out.push_str(&format!(
            "cloud {} ({} format, {}:{}, topics {}/...)\n",
            c.name,
            c.format.as_str(),
            c.host,
            c.port,
            c.topic_prefix
        ));
        match c.build_policy(i) {
            Ok(p) => {
                for line in p.explain().lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            // `load` already validated the policy; this is only reachable if it did not.
            Err(issues) => {
                for issue in issues {
                    out.push_str(&format!("  invalid: {issue}\n"));
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Read a PIN from stdin and print the `unlock_pin = { ... }` TOML line.
pub fn hash_pin() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: cannot read the PIN from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let pin = input.trim_end_matches(['\n', '\r']);
    if pin.is_empty() || !pin.chars().all(|c| c.is_ascii_digit()) {
        eprintln!(
            "error: give the PIN as digits on stdin, e.g. `echo 4711 | hearthd policy hash-pin`"
        );
        return ExitCode::FAILURE;
    }
    let hash = PinHash::derive(pin, &PinHash::random_salt(), PIN_ITERATIONS);
    println!("{}", hash.to_toml());
    ExitCode::SUCCESS
}
