//! The command line: one binary, `hearthd <subcommand>`.
//!
//! Each subcommand lives in its own module and returns an `ExitCode`; this file only
//! declares the arguments and dispatches. Errors are printed for the person at the
//! terminal, never as a Rust debug dump.

mod check_config;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for an unusable config (EX_CONFIG from sysexits.h). The systemd unit lists it in
/// RestartPreventExitStatus so a broken config is not restarted in a loop.
pub const EXIT_CONFIG: u8 = 78;

/// Default config path on an installed system.
pub const DEFAULT_CONFIG: &str = "/etc/hearth/hearth.toml";

#[derive(Debug, Parser)]
#[command(
    name = "hearthd",
    version,
    about = "hearth: thermostat and door lock hub that keeps your home's state at home"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Load and validate a config file, print a short summary, and exit.
    CheckConfig {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
}

/// Parse the command line and run the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run::run(&config),
        Command::CheckConfig { config } => check_config::run(&config),
    }
}
