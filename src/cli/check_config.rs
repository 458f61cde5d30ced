//! `hearthd check-config`: validate a config and summarise what it sets up.

use crate::config;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(cfg) => {
            println!("{}: ok", path.display());
            print!("{}", crate::summary::describe(&cfg));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_CONFIG)
        }
    }
}
