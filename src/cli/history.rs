//! `hearthd history` and `hearthd events`: read the history database from the terminal.
//!
//! Read-only: opens the database without writing, so it is safe beside a running daemon.

use super::{config_or_exit, print_or_fail};
use hearth_history::Store;
use hearth_history::{Format, parse_time};
use hearth_model::{Field, UnixMillis};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub struct HistoryArgs<'a> {
    pub config: &'a Path,
    pub field: Field,
    pub since: &'a str,
    pub until: Option<&'a str>,
    pub every: Option<&'a str>,
    pub format: Format,
}

pub fn history(args: HistoryArgs<'_>) -> ExitCode {
    let cfg = match config_or_exit(args.config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let now = UnixMillis::now();
    let result = (|| -> Result<String, String> {
        let since = parse_time(args.since, now).map_err(|e| format!("--since: {e}"))?;
        let until = match args.until {
            Some(u) => parse_time(u, now).map_err(|e| format!("--until: {e}"))?,
            None => now,
        };
        if since >= until {
            return Err(format!(
                "--since ({since}) must be before --until ({until})"
            ));
        }
        let step = args
            .every
            .map(|e| hearth_model::duration::parse(e).map_err(|m| format!("--every: {m}")))
            .transpose()?;
        let store = open(&cfg.history.path)?;
        hearth_history::history_text(&store, args.field, since, until, step, args.format)
            .map_err(|e| e.to_string())
    })();
    print_or_fail(result)
}

pub fn events(config: &Path, since: &str, limit: usize, format: Format) -> ExitCode {
    let cfg = match config_or_exit(config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let now = UnixMillis::now();
    let result = (|| -> Result<String, String> {
        let since = parse_time(since, now).map_err(|e| format!("--since: {e}"))?;
        let store = open(&cfg.history.path)?;
        // `until` is exclusive: include events stamped this very millisecond.
        let until = now.saturating_add(Duration::from_millis(1));
        hearth_history::events_text(&store, since, until, limit, format).map_err(|e| e.to_string())
    })();
    print_or_fail(result)
}

fn open(path: &Path) -> Result<Store, String> {
    Store::open_read_only(path)
        .map_err(|e| format!("cannot open the history database {}: {e}", path.display()))
}
