//! `hearthd sign`: produce a signed unlock command for the local MQTT interface.
//!
//! Reads the client's key from the same secrets file the daemon uses (which must be
//! private to its owner), and prints the JSON to publish on `<base>/lock/set`.

use hearth_api::{is_valid_nonce, load_secrets, sign_unlock};
use std::path::Path;
use std::process::ExitCode;

pub fn run(client: &str, key_file: &Path, id: &str, nonce: Option<&str>) -> ExitCode {
    let secrets = match load_secrets(key_file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(key) = secrets.key(client) else {
        let known: Vec<&str> = secrets.clients().collect();
        eprintln!(
            "error: {}: no key for client `{client}` (known clients: {})",
            key_file.display(),
            super::list_or_none(&known)
        );
        return ExitCode::FAILURE;
    };
    let nonce = match nonce {
        Some(n) if is_valid_nonce(n) => n.to_owned(),
        Some(n) => {
            eprintln!("error: --nonce `{n}` must be 16-64 characters of A-Z a-z 0-9 _ -");
            return ExitCode::FAILURE;
        }
        None => random_nonce(),
    };
    let ts = hearth_model::UnixMillis::now().as_secs();
    println!("{}", sign_unlock(client, key, ts, &nonce, id));
    ExitCode::SUCCESS
}

/// 32 hex characters from the OS's random source: a nonce must never repeat.
fn random_nonce() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => hex::encode(bytes),
        // Without /dev/urandom fall back to a seeded generator mixed with the time.
        Err(_) => format!(
            "{:016x}{:016x}",
            fastrand::u64(..),
            hearth_model::UnixMillis::now().0
        ),
    }
}
