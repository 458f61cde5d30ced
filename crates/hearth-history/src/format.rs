//! Rendering query results for `hearthd history` and `hearthd history events`: an aligned
//! table for a person at the terminal, or CSV for a spreadsheet; and parsing the
//! `--since`/`--until` arguments ("24h" meaning 24 hours ago, or an RFC 3339 time).
//!
//! Pure functions of their inputs (the current time is passed in). This module must never
//! query the database or print.

use crate::event::Event;
use crate::query::Rollup;
use crate::store::Sample;
use hearth_model::{Field, UnixMillis, Value};

/// Output format of the history commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned columns with a header line.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown format `{other}`; use `table` or `csv`")),
        }
    }
}

/// A `--since`/`--until` argument: `now`, a duration meaning that long ago (`24h`, `7d`,
/// `1h 30m`), or an RFC 3339 time (`2026-11-25T08:00:00Z`).
pub fn parse_time(arg: &str, now: UnixMillis) -> Result<UnixMillis, String> {
    let arg = arg.trim();
    if arg == "now" {
        return Ok(now);
    }
    if let Ok(ago) = hearth_model::duration::parse(arg) {
        return Ok(now.saturating_sub(ago));
    }
    UnixMillis::parse_rfc3339(arg).map_err(|_| {
        format!(
            "`{arg}` is neither a time ago (e.g. \"24h\", \"7d\") nor an RFC 3339 time \
             (e.g. 2026-11-25T08:00:00Z)"
        )
    })
}

/// Raw samples: time, field, value.
pub fn format_samples(rows: &[Sample], format: Format) -> String {
    let body = rows
        .iter()
        .map(|s| {
            vec![
                s.at.to_rfc3339(),
                s.field.name().to_owned(),
                value_text(&s.value, format),
            ]
        })
        .collect();
    render(
        &[
            ("time", Align::Left),
            ("field", Align::Left),
            ("value", Align::Right),
        ],
        body,
        format,
    )
}

/// Rollups of one field: bucket start, field, count, min, avg, max.
pub fn format_rollups(field: Field, rows: &[Rollup], format: Format) -> String {
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.start.to_rfc3339(),
                field.name().to_owned(),
                r.count.to_string(),
                number_text(r.min, format),
                number_text(r.avg, format),
                number_text(r.max, format),
            ]
        })
        .collect();
    render(
        &[
            ("start", Align::Left),
            ("field", Align::Left),
            ("count", Align::Right),
            ("min", Align::Right),
            ("avg", Align::Right),
            ("max", Align::Right),
        ],
        body,
        format,
    )
}

/// Events: time, kind, source (empty when none), detail.
pub fn format_events(rows: &[Event], format: Format) -> String {
    let body = rows
        .iter()
        .map(|e| {
            vec![
                e.at.to_rfc3339(),
                e.kind.as_str().to_owned(),
                e.source
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                e.detail.clone(),
            ]
        })
        .collect();
    render(
        &[
            ("time", Align::Left),
            ("kind", Align::Left),
            ("source", Align::Left),
            ("detail", Align::Left),
        ],
        body,
        format,
    )
}

fn value_text(v: &Value, format: Format) -> String {
    match v {
        Value::Number(x) => number_text(*x, format),
        Value::Text(t) => t.clone(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Stored values have hundredths; a table shows exactly that, CSV keeps full precision
/// (averages have more digits).
fn number_text(x: f64, format: Format) -> String {
    match format {
        Format::Table => format!("{x:.2}"),
        Format::Csv => x.to_string(),
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

fn render(columns: &[(&str, Align)], rows: Vec<Vec<String>>, format: Format) -> String {
    match format {
        Format::Csv => {
            let mut out = String::new();
            let header: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
            for row in std::iter::once(&header).chain(&rows) {
                let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
            out
        }
        Format::Table => {
            let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.chars().count()).collect();
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let header: Vec<String> = columns.iter().map(|(h, _)| h.to_uppercase()).collect();
            let mut out = String::new();
            for row in std::iter::once(&header).chain(&rows) {
                let mut line = String::new();
                for (i, cell) in row.iter().enumerate() {
                    if i > 0 {
                        line.push_str("  ");
                    }
                    let pad = widths[i] - cell.chars().count();
                    match columns[i].1 {
                        Align::Left => {
                            line.push_str(cell);
                            line.extend(std::iter::repeat_n(' ', pad));
                        }
                        Align::Right => {
                            line.extend(std::iter::repeat_n(' ', pad));
                            line.push_str(cell);
                        }
                    }
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out
        }
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use hearth_model::Source;

    const T0: UnixMillis = UnixMillis(1_795_593_600_000); // 2026-11-25T08:00:00Z

    fn samples() -> Vec<Sample> {
        vec![
            Sample {
                at: T0,
                field: Field::ThermostatTemperature,
                value: Value::Number(21.5),
            },
            Sample {
                at: UnixMillis(T0.0 + 30_000),
                field: Field::ThermostatTemperature,
                value: Value::Number(9.25),
            },
        ]
    }

    #[test]
    fn table_aligns_columns_under_a_header() {
        let text = format_samples(&samples(), Format::Table);
        assert_eq!(
            text,
            "TIME                      FIELD                   VALUE\n\
             2026-11-25T08:00:00.000Z  thermostat.temperature  21.50\n\
             2026-11-25T08:00:30.000Z  thermostat.temperature   9.25\n"
        );
    }

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_it() {
        let text = format_samples(&samples(), Format::Csv);
        assert_eq!(
            text,
            "time,field,value\r\n\
             2026-11-25T08:00:00.000Z,thermostat.temperature,21.5\r\n\
             2026-11-25T08:00:30.000Z,thermostat.temperature,9.25\r\n"
        );
        let events = [Event {
            at: T0,
            kind: EventKind::CommandRefused,
            source: Some(Source::Local("alice".into())),
            detail: "lock: door is \"open\", try later".into(),
        }];
        let text = format_events(&events, Format::Csv);
        assert!(
            text.ends_with(
                "command_refused,local:alice,\"lock: door is \"\"open\"\", try later\"\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn rollups_show_two_decimals_in_a_table() {
        let rows = [Rollup {
            start: T0,
            count: 3,
            min: 20.0,
            avg: 20.333_333,
            max: 21.0,
        }];
        let text = format_rollups(Field::ThermostatTemperature, &rows, Format::Table);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .ends_with("3  20.00  20.33  21.00"),
            "{text}"
        );
        let csv = format_rollups(Field::ThermostatTemperature, &rows, Format::Csv);
        assert!(csv.contains(",3,20,20.333333,21\r\n"), "{csv}");
    }

    #[test]
    fn since_accepts_ago_rfc3339_and_now() {
        assert_eq!(parse_time("24h", T0), Ok(UnixMillis(T0.0 - 86_400_000)));
        assert_eq!(parse_time("1h 30m", T0), Ok(UnixMillis(T0.0 - 5_400_000)));
        assert_eq!(parse_time("2026-11-25T08:00:00Z", UnixMillis(0)), Ok(T0));
        assert_eq!(parse_time("now", T0), Ok(T0));
        let e = parse_time("last tuesday", T0).unwrap_err();
        assert!(e.contains("last tuesday") && e.contains("24h"), "{e}");
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert!("xml".parse::<Format>().unwrap_err().contains("table"));
    }
}
