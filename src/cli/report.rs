//! `hearthd report`: the web page's "What it reveals" and sharing summary in the terminal —
//! what the full feed and each cloud's view give away, per day, with the rules in words.
//!
//! Read-only, like `hearthd audit`: it opens history and the ledger without writing.

use crate::config::Config;
use crate::read_socket::{ANSWER_REPORT_DAYS, Limits, ReadCommand};
use crate::web::data::{self, Sources};
use crate::web::reveal;
use hearth_model::UnixMillis;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(config: &Path, since: &str, cloud: Option<&str>) -> ExitCode {
    let cmd = ReadCommand::Report {
        since: since.to_owned(),
        cloud: cloud.map(str::to_owned),
    };
    crate::read_socket::run_cli(config, &cmd)
}

/// `hearthd report`'s output, read from `src`.
pub(crate) fn text(
    cfg: &Config,
    src: &Sources,
    since: &str,
    cloud: Option<&str>,
    limits: Limits,
) -> Result<String, String> {
    if let Some(name) = cloud
        && !cfg.cloud.iter().any(|c| c.name == name)
    {
        let names: Vec<&str> = cfg.cloud.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "--cloud {name}: no such [[cloud]] in the config; configured: {}",
            super::list_or_none(&names)
        ));
    }
    let now = UnixMillis::now();
    let since = hearth_history::parse_time(since, now).map_err(|e| format!("--since: {e}"))?;
    let span_ms = u64::try_from(now.0.saturating_sub(since.0)).unwrap_or(0);
    limits.check(
        span_ms > ANSWER_REPORT_DAYS * 86_400_000,
        &format!("a report of at most {ANSWER_REPORT_DAYS} days"),
    )?;
    let r = reveal::reveal(src, since, now, cloud)?;
    let ledgers = data::ledger(src, since)?;
    Ok(render(&r, &ledgers, cloud))
}

pub fn render(r: &reveal::Reveal, ledgers: &[data::CloudLedger], only: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "What each view reveals, {} to {}\n",
        r.local.day_label(r.first_day),
        r.local.day_label(r.last_day)
    );
    for v in r.views() {
        let _ = writeln!(out, "from {}: {}", v.name, r.sentence(v));
    }
    let views: Vec<_> = r.views().collect();
    let per_view: Vec<_> = views
        .iter()
        .map(|v| v.inference.days(r.local, r.first_day, r.last_day))
        .collect();
    out.push('\n');
    let _ = write!(out, "{:<15}", "day");
    for v in &views {
        let _ = write!(out, "  {:<28}", v.name);
    }
    out.push('\n');
    for i in 0..per_view.first().map_or(0, Vec::len) {
        let _ = write!(out, "{:<15}", per_view[0][i].label);
        for days in &per_view {
            let d = &days[i];
            let mut cell: Vec<String> = d.empty.iter().map(|e| format!("empty {e}")).collect();
            cell.extend(d.bed.iter().map(|b| format!("bed {b}")));
            let text = if cell.is_empty() {
                "-".to_owned()
            } else {
                cell.join("; ")
            };
            let _ = write!(out, "  {text:<28}");
        }
        out.push('\n');
    }
    out.push_str("\nsent to each cloud\n");
    for c in ledgers.iter().filter(|c| only.is_none_or(|n| n == c.name)) {
        let _ = writeln!(out, "  {}", data::received_sentence(c));
    }
    out.push_str("\nthe rules\n");
    for rule in hearth_infer::Rule::ALL {
        let _ = writeln!(out, "  {}: {}", rule.name(), rule.text());
    }
    out
}
