//! The command line: one binary, `hearthd <subcommand>`.
//!
//! Each subcommand lives in its own module and returns an `ExitCode`; this file only
//! declares the arguments and dispatches. Errors are printed for the person at the
//! terminal, never as a Rust debug dump.

pub(crate) mod audit;
mod bench;
#[cfg(feature = "bench")]
mod bench_host;
mod check_config;
pub(crate) mod doctor;
pub(crate) mod history;
mod outputs_off;
pub(crate) mod policy;
pub(crate) mod report;
mod run;
mod sign;

use clap::{Parser, Subcommand};
use hearth_history::Format;
use hearth_model::Field;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for an unusable config (EX_CONFIG from sysexits.h). The systemd unit lists it in
/// RestartPreventExitStatus so a broken config is not restarted in a loop.
pub(crate) const EXIT_CONFIG: u8 = 78;

/// Default config path on an installed system.
pub(crate) const DEFAULT_CONFIG: &str = "/etc/hearth/hearth.toml";

#[derive(Debug, Parser)]
#[command(
    name = "hearthd",
    version,
    about = "hearth: thermostat and door lock hub that keeps your home's state at home"
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the daemon.
    Run {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Drive every configured output (relays, lock motor) OFF and exit; refused while
    /// hearthd runs. The systemd unit runs it after every stop (ExecStopPost=).
    OutputsOff {
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
    /// Check what a first start needs, as the service user sees it, with a fix per failure.
    ///
    /// Checks the config, the service user and groups, that the files it names are readable
    /// and the databases writable by that user, the Pi model, the GPIO/I2C/1-Wire devices and
    /// config.txt overlays, the boot-time relay states, the local broker (MQTT CONNACK with
    /// TLS and login), each cloud (TLS handshake with its client certificate) and the clock.
    /// Run it as root. Exit status: 0 ready (warnings allowed), 1 a check failed, 78 the
    /// config cannot be loaded.
    Doctor {
        /// Config file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The account hearthd runs as (the unit's User=).
        #[arg(long, default_value = doctor::access::SERVICE_USER)]
        user: String,
    },
    /// Show recorded values of one field: raw samples, or rollups with --every.
    History {
        /// Field name, e.g. thermostat.temperature, lock.state.
        field: Field,
        /// Start: a time ago ("24h", "7d") or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// End (exclusive): a time ago or an RFC 3339 time; default now.
        #[arg(long)]
        until: Option<String>,
        /// Roll up per step (1h or a multiple): min/avg/max/count per bucket.
        #[arg(long)]
        every: Option<String>,
        /// Output format: table or csv.
        #[arg(long, default_value = "table")]
        format: Format,
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Show the event log: commands and who sent them, lock changes, faults.
    Events {
        #[arg(long, default_value = "24h")]
        since: String,
        /// At most this many events (the newest).
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long, default_value = "table")]
        format: Format,
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Measure the numbers of DESIGN.md §8 against baselines (a --release build with the
    /// `bench` feature: `cargo run --release --features bench -- bench`).
    Bench {
        /// Tiny history figures and a short idle window: a smoke run, not comparable to the goals.
        #[arg(long)]
        quick: bool,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Show what each cloud was sent (and what was withheld), when, and totals per day.
    Audit {
        /// Only this cloud (its `name` in [[cloud]]).
        #[arg(long)]
        cloud: Option<String>,
        /// Start: a time ago ("24h", "7d") or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// At most this many rows (the newest).
        #[arg(long, default_value_t = 500)]
        limit: usize,
        /// The rows as JSON (newest first), as the MQTT `audit` request gives them.
        #[arg(long)]
        json: bool,
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// What the full feed and each cloud's view reveal (presence, routine), per day.
    Report {
        /// Start: a time ago ("7d") or an RFC 3339 time.
        #[arg(long, default_value = "7d")]
        since: String,
        /// Only this cloud (its `name` in [[cloud]]).
        #[arg(long)]
        cloud: Option<String>,
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Read a password from stdin and print the line for [web] password_file.
    WebPassword,
    /// The privacy policy: explain it in words, or hash a voice PIN for it.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Print a signed unlock command to publish on <base>/lock/set.
    Sign {
        /// Client name, as in the secrets file's [clients] table.
        #[arg(long)]
        client: String,
        /// The secrets file holding the client's key (root:hearth 0640 or chmod 600).
        #[arg(long)]
        key_file: PathBuf,
        /// Command id, echoed in the reply.
        #[arg(long)]
        id: String,
        /// Nonce (16-64 of A-Z a-z 0-9 _ -); random when omitted.
        #[arg(long)]
        nonce: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyAction {
    /// Print, per cloud, what each field does and which commands it may send.
    Explain {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Read a voice PIN from stdin and print the `unlock_pin = { ... }` line for the config.
    HashPin,
}

/// Parse the command line and run the chosen subcommand.
/// `items` joined with ", ", or `none`: what an error offers to choose from instead.
fn list_or_none<S: std::borrow::Borrow<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run { .. }) {
        quiet_on_closed_pipe();
    }
    match cli.command {
        Command::Run { config } => run::run(&config),
        Command::CheckConfig { config } => check_config::run(&config),
        Command::Doctor { config, user } => doctor::run(&config, &user),
        Command::OutputsOff { config } => outputs_off::run(&config),
        Command::History {
            field,
            since,
            until,
            every,
            format,
            config,
        } => history::history(history::HistoryArgs {
            config: &config,
            field,
            since: &since,
            until: until.as_deref(),
            every: every.as_deref(),
            format,
        }),
        Command::Events {
            since,
            limit,
            format,
            config,
        } => history::events(&config, &since, limit, format),
        Command::Bench { quick, json } => bench::run(quick, json),
        Command::Audit {
            cloud,
            since,
            limit,
            json,
            config,
        } => audit::run(&config, cloud.as_deref(), &since, limit, json),
        Command::Report {
            since,
            cloud,
            config,
        } => report::run(&config, &since, cloud.as_deref()),
        Command::WebPassword => web_password(),
        Command::Policy { action } => match action {
            PolicyAction::Explain { config } => policy::explain(&config),
            PolicyAction::HashPin => policy::hash_pin(),
        },
        Command::Sign {
            client,
            key_file,
            id,
            nonce,
        } => sign::run(&client, &key_file, &id, nonce.as_deref()),
    }
}

/// A command whose reader went away (`hearthd check-config | head -0`) ends quietly, like
/// any Unix filter, instead of panicking in `println!` with exit 101. Rust ignores SIGPIPE
/// by default; the daemon keeps it ignored (a closed socket must not kill it).
fn quiet_on_closed_pipe() {
    // SAFETY: restoring a signal's default disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `hearthd web-password`: the password from stdin, hashed, as the password file's line.
fn web_password() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        eprintln!("error: cannot read the password from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let password = input.trim_end_matches(['\n', '\r']);
    if password.chars().count() < 8 {
        eprintln!(
            "error: give a password of at least 8 characters on stdin, e.g. \
             `hearthd web-password > /etc/hearth/web-password && chmod 600 /etc/hearth/web-password`"
        );
        return ExitCode::FAILURE;
    }
    println!("{}", crate::web::auth::PasswordHash::line_for(password));
    ExitCode::SUCCESS
}

/// Load a config for a CLI command, printing the error and returning the exit code on failure.
pub(crate) fn config_or_exit(path: &std::path::Path) -> Result<crate::config::Config, ExitCode> {
    crate::config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

/// Print a subcommand's output to stdout and succeed, or its error to stderr and fail.
pub(crate) fn print_or_fail(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
