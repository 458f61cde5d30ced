//! Reading what the pages show: history through `hearth_history::Store`'s queries and the
//! ledger through `ledger::Store`'s, both opened read-only. Every function here blocks (disk
//! I/O): call it on a blocking thread. Nothing here writes or decides what is shared.

use crate::ledger::{AuditRow, DayTotal};
use hearth_history::{Event, Rollup, Sample};
use hearth_model::{Field, UnixMillis, Value};

use std::time::Duration;

/// At most this many ledger rows are read for one page (the newest).
pub(crate) const LEDGER_ROWS: usize = 50_000;
/// At most this many events are listed.
pub(crate) const EVENTS: usize = 200;

/// Where the pages read from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Through the daemon's writers when it runs them (`hearth_history::lend`).
    pub history: hearth_history::Reader,
    pub ledger: crate::ledger::Reader,
    pub clouds: Vec<crate::cloud::CloudConfig>,
    pub local: hearth_infer::Local,
}

/// The ranges the History page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    #[default]
    Day,
    Week,
    Month,
    Year,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::Day, Range::Week, Range::Month, Range::Year];

    pub fn parse(s: &str) -> Option<Range> {
        Range::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::Year => "1y",
        }
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Range::Day => 86_400,
            Range::Week => 7 * 86_400,
            Range::Month => 30 * 86_400,
            Range::Year => 365 * 86_400,
        })
    }

    /// Raw samples for short ranges; hourly rollups for 30 days, daily for a year.
    pub fn step(self) -> Option<Duration> {
        match self {
            Range::Day | Range::Week => None,
            Range::Month => Some(Duration::from_secs(3600)),
            Range::Year => Some(Duration::from_secs(86_400)),
        }
    }
}

/// A numeric field over a range: raw points, or rollup buckets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Series {
    Raw(Vec<(UnixMillis, f64)>),
    Rolled(Vec<Rollup>),
}

impl Series {
    pub fn len(&self) -> usize {
        match self {
            Series::Raw(v) => v.len(),
            Series::Rolled(v) => v.len(),
        }
    }
}

/// Everything the History page draws.
#[derive(Debug, Clone)]
pub struct HistoryData {
    pub(crate) range: Range,
    pub(crate) since: UnixMillis,
    pub(crate) until: UnixMillis,
    pub(crate) temperature: Series,
    pub(crate) setpoint_heat: Series,
    pub(crate) setpoint_cool: Series,
    /// Text fields as (time, value) changes.
    pub(crate) action: Vec<(UnixMillis, String)>,
    pub(crate) lock: Vec<(UnixMillis, String)>,
    pub(crate) door: Vec<(UnixMillis, String)>,
    pub(crate) events: Vec<Event>,
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

fn open_history(
    src: &Sources,
) -> Result<hearth_history::lend::Lent<'_, hearth_history::Store>, String> {
    src.history.read().map_err(|e| e.to_string())
}

/// Marks where hearth recorded nothing (it was not running): no state is drawn there.
pub(crate) const NO_DATA: &str = "no data";
/// hearth records every field at least every 15 minutes (the heartbeat); a longer silence is
/// a gap.
pub(crate) const GAP_MS: i64 = 3_600_000;

/// Raw samples as (time, text), keeping only changes, with [`NO_DATA`] after each gap.
fn changes(samples: Vec<Sample>) -> Vec<(UnixMillis, String)> {
    let mut out: Vec<(UnixMillis, String)> = Vec::new();
    let mut last_at: Option<UnixMillis> = None;
    for s in samples {
        if let Some(prev) = last_at
            && s.at.0 - prev.0 > GAP_MS
        {
            out.push((prev, NO_DATA.to_owned()));
        }
        last_at = Some(s.at);
        let v = text(&s.value);
        if out.last().is_none_or(|(_, last)| *last != v) {
            out.push((s.at, v));
        }
    }
    out
}

/// How often a text field really changed value, gaps aside.
pub(crate) fn real_changes(changes: &[(UnixMillis, String)]) -> usize {
    let mut last: Option<&str> = None;
    changes
        .iter()
        .filter(|(_, v)| v != NO_DATA)
        .filter(|(_, v)| {
            let changed = last != Some(v.as_str());
            last = Some(v.as_str());
            changed
        })
        .count()
}

fn numeric(
    store: &hearth_history::Store,
    field: Field,
    since: UnixMillis,
    until: UnixMillis,
    step: Option<Duration>,
) -> Result<Series, String> {
    Ok(match step {
        Some(step) => Series::Rolled(
            store
                .rollup(field, since, until, step)
                .map_err(|e| e.to_string())?,
        ),
        None => Series::Raw(
            store
                .range(field, since, until)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter_map(|s| match s.value {
                    Value::Number(n) => Some((s.at, n)),
                    _ => None,
                })
                .collect(),
        ),
    })
}

pub fn history(src: &Sources, range: Range, until: UnixMillis) -> Result<HistoryData, String> {
    let store = open_history(src)?;
    let since = until.saturating_sub(range.duration());
    let step = range.step();
    let text_field = |f| {
        store
            .range(f, since, until)
            .map(changes)
            .map_err(|e| e.to_string())
    };
    Ok(HistoryData {
        range,
        since,
        until,
        temperature: numeric(&store, Field::ThermostatTemperature, since, until, step)?,
        setpoint_heat: numeric(&store, Field::ThermostatSetpointHeat, since, until, step)?,
        setpoint_cool: numeric(&store, Field::ThermostatSetpointCool, since, until, step)?,
        action: text_field(Field::ThermostatAction)?,
        lock: text_field(Field::LockState)?,
        door: text_field(Field::LockDoor)?,
        events: store
            .events(since, until, EVENTS)
            .map_err(|e| e.to_string())?,
    })
}

/// The CSV download: one field (raw or rolled up as the page shows it), or the events.
pub(crate) fn history_csv(
    src: &Sources,
    range: Range,
    field: Option<Field>,
    until: UnixMillis,
) -> Result<String, String> {
    use hearth_history::Format;
    let store = open_history(src)?;
    let since = until.saturating_sub(range.duration());
    match field {
        Some(f) => {
            let step = range.step().filter(|_| f.is_numeric());
            hearth_history::history_text(&store, f, since, until, step, Format::Csv)
        }
        None => hearth_history::events_text(&store, since, until, usize::MAX, Format::Csv),
    }
    .map_err(|e| e.to_string())
}

/// What one cloud was sent and what was kept back, from the ledger.
#[derive(Debug, Clone)]
pub struct CloudLedger {
    pub name: String,
    /// The newest rows first (at most [`LEDGER_ROWS`]).
    pub rows: Vec<AuditRow>,
    pub totals: Vec<DayTotal>,
}

impl CloudLedger {
    pub fn sent(&self) -> impl Iterator<Item = &AuditRow> {
        self.rows.iter().filter(|r| r.row.kind == "sent")
    }

    /// Messages sent (from the per-day totals, so exact) and their bytes (from the rows read,
    /// so short of the truth when [`truncated`](Self::truncated)).
    pub fn sent_totals(&self) -> (usize, usize) {
        let bytes = self
            .sent()
            .map(|r| r.row.payload.as_ref().map_or(0, Vec::len))
            .sum();
        (self.count("sent") as usize, bytes)
    }

    /// More rows were in the period than [`LEDGER_ROWS`]: only the newest were read.
    pub fn truncated(&self) -> bool {
        self.rows.len() >= LEDGER_ROWS
    }

    /// Rows of `kind`, counted through the per-day totals.
    pub fn count(&self, kind: &str) -> u64 {
        self.totals
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.count)
            .sum()
    }
}

/// Every configured cloud's ledger since `since`. A missing ledger file (no cloud has run
/// yet) reads as empty.
pub fn ledger(src: &Sources, since: UnixMillis) -> Result<Vec<CloudLedger>, String> {
    if !src.ledger.path().exists() {
        return Ok(src
            .clouds
            .iter()
            .map(|c| CloudLedger {
                name: c.name.clone(),
                rows: Vec::new(),
                totals: Vec::new(),
            })
            .collect());
    }
    let store = src.ledger.read().map_err(|e| e.to_string())?;
    src.clouds
        .iter()
        .map(|c| {
            Ok(CloudLedger {
                name: c.name.clone(),
                rows: store
                    .rows(Some(&c.name), since, LEDGER_ROWS)
                    .map_err(|e| e.to_string())?,
                totals: store
                    .daily_totals(Some(&c.name), since)
                    .map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// One sentence per cloud: what it received in the rows given (the Now page's last 24 h).
pub(crate) fn received_sentence(c: &CloudLedger) -> String {
    let (messages, bytes) = c.sent_totals();
    if messages == 0 {
        return format!("{} received nothing", c.name);
    }
    let mut fields: Vec<(String, u64)> = Vec::new();
    for t in c
        .totals
        .iter()
        .filter(|t| t.kind == "included" || t.kind == "transformed")
    {
        match fields.iter_mut().find(|(f, _)| *f == t.field) {
            Some((_, n)) => *n += t.count,
            None => fields.push((t.field.clone(), t.count)),
        }
    }
    let listed: Vec<String> = fields.iter().map(|(f, n)| format!("{f} {n}×")).collect();
    format!(
        "{} received {messages} message{} ({bytes} bytes){}; {} values withheld, {} commands refused",
        c.name,
        if messages == 1 { "" } else { "s" },
        if listed.is_empty() {
            String::new()
        } else {
            format!(" carrying {}", listed.join(", "))
        },
        c.count("withheld"),
        c.count("command_refused"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(min: i64, v: &str) -> Sample {
        Sample {
            at: UnixMillis(min * 60_000),
            field: Field::LockState,
            value: Value::Text(v.into()),
        }
    }

    #[test]
    fn changes_keep_values_and_mark_gaps() {
        let c = changes(vec![
            s(0, "locked"),
            s(15, "locked"),
            s(20, "unlocked"),
            s(200, "unlocked"),
            s(215, "locked"),
        ]);
        let values: Vec<&str> = c.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            ["locked", "unlocked", NO_DATA, "unlocked", "locked"]
        );
        assert_eq!(
            c[2].0,
            UnixMillis(20 * 60_000),
            "the gap starts at the last sample"
        );
        assert_eq!(real_changes(&c), 3);
        assert_eq!(Range::parse("30d"), Some(Range::Month));
        assert_eq!(Range::parse("2w"), None);
        assert_eq!(Range::Year.step(), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn counts_come_from_the_totals_and_bytes_from_the_rows() {
        let row = |kind: &str, payload: Option<&str>| AuditRow {
            row: crate::ledger::Row {
                time: UnixMillis(0),
                cloud: "c".into(),
                field: None,
                kind: kind.into(),
                detail: String::new(),
                payload: payload.map(|p| p.as_bytes().to_vec()),
            },
            count: 1,
            last: None,
        };
        let total = |kind: &str, field: &str, count| DayTotal {
            day: "1970-01-01".into(),
            cloud: "c".into(),
            field: field.into(),
            kind: kind.into(),
            count,
        };
        let c = CloudLedger {
            name: "c".into(),
            rows: vec![row("sent", Some("abc")), row("withheld", None)],
            // As if a withheld run had been stored as one row with a count of 40.
            totals: vec![
                total("sent", "-", 1),
                total("withheld", "lock.door", 40),
                total("included", "lock.state", 1),
            ],
        };
        assert_eq!(c.sent_totals(), (1, 3));
        assert!(!c.truncated());
        let s = received_sentence(&c);
        assert_eq!(
            s,
            "c received 1 message (3 bytes) carrying lock.state 1×; 40 values withheld, 0 commands refused"
        );
    }
}
