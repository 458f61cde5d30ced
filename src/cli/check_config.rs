//! `hearthd check-config`: validate a config and summarise what it sets up.

use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    match super::config_or_exit(path) {
        Ok(cfg) => {
            // The files the config names (broker password, unlock keys, TLS) are checked too,
            // exactly as `hearthd run` checks them before it touches anything.
            if let Err(e) = crate::config::files::refuse_special_files(&cfg) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(super::EXIT_CONFIG);
            }
            if let Err(e) = crate::mqtt::prepare(&cfg) {
                match e {
                    crate::mqtt::SetupError::Located { .. } => eprintln!("error: {e}"),
                    _ => eprintln!("error: {}: {e}", path.display()),
                }
                return ExitCode::from(super::EXIT_CONFIG);
            }
            if let Err(e) = crate::web::prepare(&cfg) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(super::EXIT_CONFIG);
            }
            println!("{}: ok", path.display());
            print!("{}", crate::summary::describe(&cfg));
            // Root reads everything; say what the service (User=hearth) would be refused.
            if hearth_api::SecretsReader::current().is_some_and(|r| r.uid == 0) {
                let config = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
                for w in super::doctor::service_warnings(
                    Path::new("/"),
                    super::doctor::access::SERVICE_USER,
                    &config,
                    &cfg,
                ) {
                    eprintln!("warning: {w}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
