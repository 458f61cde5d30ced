//! `hearthd audit`: what each cloud received, when, and totals per day, from the ledger.
//!
//! Read-only: through the daemon's read socket while it runs (`crate::read_socket`), else
//! the file opened read-only. It prints what the ledger holds and never decides anything
//! about sharing.

use crate::ledger::{AuditRow, DayTotal};
use crate::read_socket::ReadCommand;
use crate::web::data::Sources;
use hearth_history::parse_time;
use hearth_model::UnixMillis;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(config: &Path, cloud: Option<&str>, since: &str, limit: usize, json: bool) -> ExitCode {
    let cmd = ReadCommand::Audit {
        cloud: cloud.map(str::to_owned),
        since: since.to_owned(),
        limit,
        json,
    };
    crate::read_socket::run_cli(config, &cmd)
}

/// `hearthd audit`'s output, read from `src`: the table, or with `json` the rows as the
/// MQTT `audit` request gives them.
pub(crate) fn text(
    src: &Sources,
    cloud: Option<&str>,
    since: &str,
    limit: usize,
    json: bool,
) -> Result<String, String> {
    let since = parse_time(since, UnixMillis::now()).map_err(|e| format!("--since: {e}"))?;
    let store = src.ledger.read().map_err(|e| e.to_string())?;
    let rows = store.rows(cloud, since, limit).map_err(|e| e.to_string())?;
    if json {
        return Ok(format!("{}\n", crate::ledger::rows_json(&rows)));
    }
    let totals = store
        .daily_totals(cloud, since)
        .map_err(|e| e.to_string())?;
    Ok(render(&rows, &totals))
}

/// Rows oldest first (as they happened), then the per-day totals.
pub fn render(rows: &[AuditRow], totals: &[DayTotal]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no ledger rows in this period\n");
    }
    for r in rows.iter().rev() {
        let _ = write!(
            out,
            "{}  {:<10} {:<22} {:<24} {}",
            r.row.time.to_rfc3339(),
            r.row.cloud,
            r.row.kind,
            r.row.field.as_deref().unwrap_or("-"),
            r.row.detail
        );
        if let Some(last) = r.last.filter(|_| r.count > 1) {
            let _ = write!(out, "  (x{} until {})", r.count, last.to_rfc3339());
        }
        if let Some(p) = &r.row.payload {
            let _ = write!(out, "\n    payload: {}", String::from_utf8_lossy(p));
        }
        out.push('\n');
    }
    if !totals.is_empty() {
        out.push_str("\ntotals per day (UTC)\n");
        let _ = writeln!(
            out,
            "{:<10}  {:<10} {:<24} {:<22} {:>6}",
            "day", "cloud", "field", "kind", "count"
        );
        for t in totals {
            let _ = writeln!(
                out,
                "{:<10}  {:<10} {:<24} {:<22} {:>6}",
                t.day, t.cloud, t.field, t.kind, t.count
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_print_oldest_first_with_payloads_and_totals() {
        let row = |t, kind: &str, payload: Option<&str>| AuditRow {
            row: crate::ledger::Row {
                time: UnixMillis(t),
                cloud: "home".into(),
                field: None,
                kind: kind.into(),
                detail: format!("{kind} detail"),
                payload: payload.map(|p| p.as_bytes().to_vec()),
            },
            count: 1,
            last: None,
        };
        let withheld = row(3000, "withheld", None);
        let run = AuditRow {
            row: crate::ledger::Row {
                field: Some("lock.state".into()),
                ..withheld.row
            },
            count: 120,
            last: Some(UnixMillis(3_600_000)),
        };
        let rows = [
            run,
            row(2000, "sent", Some("{\"lock.door\":true}")),
            row(1000, "offline", None),
        ];
        let totals = [DayTotal {
            day: "1970-01-01".into(),
            cloud: "home".into(),
            field: "-".into(),
            kind: "sent".into(),
            count: 1,
        }];
        let text = render(&rows, &totals);
        let offline = text.find("offline detail").unwrap();
        let sent = text.find("sent detail").unwrap();
        assert!(offline < sent, "{text}");
        assert!(text.contains("payload: {\"lock.door\":true}"), "{text}");
        assert!(text.contains("1970-01-01  home"), "{text}");
        assert!(
            text.contains("withheld detail  (x120 until 1970-01-01T01:00:00"),
            "a coalesced run shows its count and span: {text}"
        );
        assert!(render(&[], &[]).contains("no ledger rows"));
    }
}
