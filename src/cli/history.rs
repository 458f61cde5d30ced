//! `hearthd history` and `hearthd events`: read the history database from the terminal.
//!
//! Read-only. While the daemon runs it holds the database, and answers these through its
//! read socket (`crate::read_socket`); otherwise the file is opened read-only here.

use crate::read_socket::{ANSWER_ROWS, Limits, ReadCommand};
use crate::web::data::Sources;
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
    let cmd = ReadCommand::History {
        field: args.field,
        since: args.since.to_owned(),
        until: args.until.map(str::to_owned),
        every: args.every.map(str::to_owned),
        format: args.format,
    };
    crate::read_socket::run_cli(args.config, &cmd)
}

pub fn events(config: &Path, since: &str, limit: usize, format: Format) -> ExitCode {
    let cmd = ReadCommand::Events {
        since: since.to_owned(),
        limit,
        format,
    };
    crate::read_socket::run_cli(config, &cmd)
}

/// `hearthd history`'s output, read from `src`.
pub(crate) fn history_text(
    src: &Sources,
    field: Field,
    since: &str,
    until: Option<&str>,
    every: Option<&str>,
    format: Format,
    limits: Limits,
) -> Result<String, String> {
    let now = UnixMillis::now();
    let since = parse_time(since, now).map_err(|e| format!("--since: {e}"))?;
    let until = match until {
        Some(u) => parse_time(u, now).map_err(|e| format!("--until: {e}"))?,
        None => now,
    };
    if since >= until {
        return Err(format!(
            "--since ({since}) must be before --until ({until})"
        ));
    }
    let step = every
        .map(|e| hearth_model::duration::parse(e).map_err(|m| format!("--every: {m}")))
        .transpose()?;
    let store = open(src)?;
    let bound = format!("at most {ANSWER_ROWS} samples or buckets");
    match step {
        // Raw samples through the socket: one page of the bound read in SQL, sent only if
        // nothing was left out (the range is read once).
        None if limits == Limits::Bounded => {
            let page = store
                .range_page(field, since, until, ANSWER_ROWS)
                .map_err(|e| e.to_string())?;
            limits.check(page.next.is_some(), &bound)?;
            Ok(hearth_history::samples_text(
                field,
                since,
                until,
                &page.items,
                format,
            ))
        }
        _ => {
            let too_many = step.is_some_and(|step| {
                let span = u128::try_from(until.0 - since.0).unwrap_or(0);
                span / step.as_millis().max(1) > ANSWER_ROWS as u128
            });
            limits.check(too_many, &bound)?;
            hearth_history::history_text(&store, field, since, until, step, format)
                .map_err(|e| e.to_string())
        }
    }
}

/// `hearthd events`' output, read from `src`.
pub(crate) fn events_text(
    src: &Sources,
    since: &str,
    limit: usize,
    format: Format,
) -> Result<String, String> {
    let now = UnixMillis::now();
    let since = parse_time(since, now).map_err(|e| format!("--since: {e}"))?;
    let store = open(src)?;
    // `until` is exclusive: include events stamped this very millisecond.
    let until = now.saturating_add(Duration::from_millis(1));
    hearth_history::events_text(&store, since, until, limit, format).map_err(|e| e.to_string())
}

fn open(src: &Sources) -> Result<hearth_history::lend::Lent<'_, hearth_history::Store>, String> {
    // A file held by a running daemon is explained by `read_socket::run_cli`.
    src.history.read().map_err(|e| e.to_string())
}
