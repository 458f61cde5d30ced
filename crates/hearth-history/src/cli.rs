//! The bodies of `hearthd history <field>` and `hearthd history events`: run the query on a
//! read-only store and render it. The lead's clap glue parses arguments (with
//! `format::parse_time`) and prints the returned text.
//!
//! This module must never open the database itself or write to it.

use crate::error::HistoryError;
use crate::format::{self, Format};
use crate::store::{Sample, Store};
use hearth_model::{Field, UnixMillis};
use std::time::Duration;

/// Raw samples of `field` in `since..until`, or rollups per `every` (1h or a multiple)
/// when given. An empty table says so in words; empty CSV is just the header.
pub fn history_text(
    store: &Store,
    field: Field,
    since: UnixMillis,
    until: UnixMillis,
    every: Option<Duration>,
    format: Format,
) -> Result<String, HistoryError> {
    let (text, empty) = match every {
        Some(step) => {
            let rows = store.rollup(field, since, until, step)?;
            (
                format::format_rollups(field, &rows, format),
                rows.is_empty(),
            )
        }
        None => {
            let rows = store.range(field, since, until)?;
            return Ok(samples_text(field, since, until, &rows, format));
        }
    };
    Ok(if empty && format == Format::Table {
        nothing(field, since, until)
    } else {
        text
    })
}

/// [`history_text`] for raw samples already read (such as one page of them).
pub fn samples_text(
    field: Field,
    since: UnixMillis,
    until: UnixMillis,
    rows: &[Sample],
    format: Format,
) -> String {
    if rows.is_empty() && format == Format::Table {
        nothing(field, since, until)
    } else {
        format::format_samples(rows, format)
    }
}

fn nothing(field: Field, since: UnixMillis, until: UnixMillis) -> String {
    format!("no history of {field} between {since} and {until}\n")
}

/// The most recent `limit` events in `since..until`, oldest first.
pub fn events_text(
    store: &Store,
    since: UnixMillis,
    until: UnixMillis,
    limit: usize,
    format: Format,
) -> Result<String, HistoryError> {
    let rows = store.events(since, until, limit)?;
    Ok(if rows.is_empty() && format == Format::Table {
        format!("no events between {since} and {until}\n")
    } else {
        format::format_events(&rows, format)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{DAY0, HOUR, put, temp, temp_db};

    #[test]
    fn history_prints_raw_rows_or_rollups_and_says_when_empty() {
        let db = temp_db();
        let mut store = Store::open(&db.path).unwrap();
        let t = Field::ThermostatTemperature;
        put(
            &mut store,
            &[
                (t, temp(20.0), DAY0),
                (t, temp(21.0), UnixMillis(DAY0.0 + 60_000)),
                (t, temp(23.0), UnixMillis(DAY0.0 + HOUR)),
            ],
        );
        let until = UnixMillis(DAY0.0 + 2 * HOUR);
        let raw = history_text(&store, t, DAY0, until, None, Format::Csv).unwrap();
        assert_eq!(raw.lines().count(), 4, "{raw}");
        let hourly = history_text(
            &store,
            t,
            DAY0,
            until,
            Some(Duration::from_secs(3600)),
            Format::Table,
        )
        .unwrap();
        let lines: Vec<&str> = hourly.lines().collect();
        assert_eq!(lines.len(), 3, "{hourly}");
        assert!(lines[1].ends_with("2  20.00  20.50  21.00"), "{hourly}");
        let none = history_text(
            &store,
            Field::ThermostatHumidity,
            DAY0,
            until,
            None,
            Format::Table,
        )
        .unwrap();
        assert!(
            none.starts_with("no history of thermostat.humidity between 2026-11-25T00:00:00.000Z"),
            "{none}"
        );
        let events = events_text(&store, DAY0, until, 10, Format::Csv).unwrap();
        assert_eq!(events, "time,kind,source,detail\r\n");
    }
}
