//! `hearthd check-config`: validate a config and summarise what it sets up.

use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    match super::config_or_exit(path) {
        Ok(cfg) => {
            println!("{}: ok", path.display());
            print!("{}", crate::summary::describe(&cfg));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
