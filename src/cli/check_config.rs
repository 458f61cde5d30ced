//! `hearthd check-config`: validate a config and summarise what it sets up.

use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    match super::config_or_exit(path) {
        Ok(cfg) => {
            // The files the config names (broker password, unlock keys, TLS) are checked too,
            // exactly as `hearthd run` checks them before it touches anything.
            if let Err(e) = crate::mqtt::prepare(&cfg) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(super::EXIT_CONFIG);
            }
            if let Err(e) = crate::web::prepare(&cfg) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(super::EXIT_CONFIG);
            }
            println!("{}: ok", path.display());
            print!("{}", crate::summary::describe(&cfg));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
