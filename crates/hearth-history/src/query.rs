//! Read-only queries: latest value, raw range, rollups at a step, and the event log.
//!
//! Rollups answer from the hourly table below the watermark and from raw samples above
//! it (at most the current hour or two), inside one read transaction so the two halves
//! see the same snapshot. Nothing here writes.

use crate::codec::{self, HOUR_MS};
use crate::error::{Doing, HistoryError};
use crate::event::{self, Event, EventKind};
use crate::store::{Agg, Sample, Store, hour_key, rolled_up_until};
use hearth_model::{Field, UnixMillis};
use rusqlite::params;
use serde::Serialize;
use std::time::Duration;

/// Min/avg/max of a numeric field over one bucket of whole UTC hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollup {
    /// Start of the bucket; buckets of `step` are aligned to multiples of `step` since the
    /// epoch (so 24h buckets are UTC days).
    pub start: UnixMillis,
    /// Samples recorded in the bucket (after deadband filtering).
    pub count: u64,
    pub min: f64,
    /// Mean of the recorded samples.
    pub avg: f64,
    pub max: f64,
}

impl Rollup {
    fn from_agg(hour: i64, a: Agg) -> Rollup {
        Rollup {
            start: codec::hour_start(hour),
            count: a.n as u64,
            min: a.lo as f64 / codec::SCALE,
            avg: a.total as f64 / a.n as f64 / codec::SCALE,
            max: a.hi as f64 / codec::SCALE,
        }
    }
}

/// One page of a longer answer: the items, and where the next page starts (`None` when
/// this is the last one). Ask again with `since = next` for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<UnixMillis>,
}

impl Store {
    /// The most recent stored sample of `field`, if any raw sample is still kept.
    pub fn latest(&self, field: Field) -> Result<Option<Sample>, HistoryError> {
        let tx = self.conn.unchecked_transaction().doing("starting a read")?;
        let watermark = rolled_up_until(&tx).doing("reading the rollup watermark")?;
        let newest_in = |from_key: i64, to_key: i64| {
            tx.prepare_cached(
                "SELECT k, v FROM sample WHERE k >= ?1 AND k < ?2 AND (k & 127) = ?3
                 ORDER BY k DESC LIMIT 1",
            )?
            .query_row(params![from_key, to_key, field.id()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map(Some)
            .or_else(none_if_no_rows)
        };
        // Recent samples are not rolled up yet: look there first, a short backward scan.
        let mut found =
            newest_in(hour_key(watermark), i64::MAX).doing("finding the latest sample")?;
        if found.is_none() {
            // Otherwise the newest rolled-up hour of the field says where to look.
            let hour: Option<i64> = tx
                .query_row(
                    "SELECT max(hour) FROM rollup WHERE field = ?1",
                    [field.id()],
                    |r| r.get(0),
                )
                .doing("finding the field's newest hour")?;
            if let Some(h) = hour {
                found =
                    newest_in(hour_key(h), hour_key(h + 1)).doing("finding the latest sample")?;
            }
        }
        Ok(found.map(|(k, v)| Sample {
            at: codec::decode_key(k).0,
            field,
            value: codec::decode_value(field, v),
        }))
    }

    /// Raw samples of `field` with `since <= at < until`, oldest first.
    pub fn range(
        &self,
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
    ) -> Result<Vec<Sample>, HistoryError> {
        Ok(self.range_page(field, since, until, usize::MAX)?.items)
    }

    /// At most `limit` raw samples of `field` with `since <= at < until`, oldest first, read
    /// with a SQL `LIMIT` (never the whole range); `next` is the time of the first sample
    /// left out.
    pub fn range_page(
        &self,
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
        limit: usize,
    ) -> Result<Page<Sample>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT k, v FROM sample WHERE k >= ?1 AND k < ?2 AND (k & 127) = ?3
                 ORDER BY k LIMIT ?4",
            )
            .doing("preparing a range query")?;
        let take = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = stmt
            .query_map(
                params![
                    codec::key_floor(since),
                    codec::key_floor(until),
                    field.id(),
                    take
                ],
                |r| {
                    let k: i64 = r.get(0)?;
                    let v: i64 = r.get(1)?;
                    Ok(Sample {
                        at: codec::decode_key(k).0,
                        field,
                        value: codec::decode_value(field, v),
                    })
                },
            )
            .doing("reading a range of samples")?;
        let mut items: Vec<Sample> = rows
            .collect::<Result<_, _>>()
            .doing("reading a range of samples")?;
        let next = (items.len() > limit).then(|| items[limit].at);
        items.truncate(limit);
        Ok(Page { items, next })
    }

    /// As [`Store::rollup`], at most `max_buckets` buckets: the range read is cut where the
    /// buckets would run out, so a year at `1h` reads (and holds) one page at a time.
    pub fn rollup_page(
        &self,
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
        step: Duration,
        max_buckets: usize,
    ) -> Result<Page<Rollup>, HistoryError> {
        let step_hours = step_hours(step)?;
        let first_bucket = codec::hour_of(since).div_euclid(step_hours) * step_hours;
        let buckets = i64::try_from(max_buckets.max(1)).unwrap_or(i64::MAX);
        let cut = first_bucket
            .checked_add(buckets.saturating_mul(step_hours))
            .map(codec::hour_start)
            .filter(|cut| *cut < until);
        let items = self.rollup(field, since, cut.unwrap_or(until), step)?;
        Ok(Page { items, next: cut })
    }

    /// Min/avg/max of a numeric `field` per `step` (1h or a multiple), over the whole hours
    /// that overlap `since..until`, oldest first. Buckets with no samples are absent.
    pub fn rollup(
        &self,
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
        step: Duration,
    ) -> Result<Vec<Rollup>, HistoryError> {
        let step_hours = step_hours(step)?;
        if !field.is_numeric() {
            return Err(HistoryError::NotNumeric { field });
        }
        let first = codec::hour_of(since);
        let end = until.0.div_euclid(HOUR_MS) + i64::from(until.0.rem_euclid(HOUR_MS) != 0);
        let tx = self.conn.unchecked_transaction().doing("starting a read")?;
        let watermark = rolled_up_until(&tx).doing("reading the rollup watermark")?;

        let mut hours: Vec<(i64, Agg)> = Vec::new();
        if first < watermark.min(end) {
            read_hours(
                &tx,
                "SELECT hour, n, lo, hi, total FROM rollup
                 WHERE field = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour",
                params![field.id(), first, watermark.min(end)],
                "reading hourly rollups",
                &mut hours,
            )?;
        }
        if first.max(watermark) < end {
            read_hours(
                &tx,
                "SELECT (k >> 7) / 3600000 AS hour, count(*), min(v), max(v), sum(v)
                 FROM sample WHERE k >= ?1 AND k < ?2 AND (k & 127) = ?3
                 GROUP BY hour ORDER BY hour",
                params![hour_key(first.max(watermark)), hour_key(end), field.id()],
                "rolling up recent hours",
                &mut hours,
            )?;
        }
        Ok(bucket(&hours, step_hours))
    }

    /// Up to `limit` events with `since <= at < until` — the most recent ones when there are
    /// more — oldest first.
    pub fn events(
        &self,
        since: UnixMillis,
        until: UnixMillis,
        limit: usize,
    ) -> Result<Vec<Event>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, kind, source, detail FROM event WHERE at >= ?1 AND at < ?2
                 ORDER BY at DESC, id DESC LIMIT ?3",
            )
            .doing("preparing an events query")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![since.0, until.0, limit], |r| {
                let source: Option<String> = r.get(2)?;
                Ok(Event {
                    at: UnixMillis(r.get(0)?),
                    kind: EventKind::from_code(r.get(1)?).unwrap_or(EventKind::System),
                    source: source.as_deref().map(event::source_from_text),
                    detail: r.get(3)?,
                })
            })
            .doing("reading events")?;
        let mut events: Vec<Event> = rows.collect::<Result<_, _>>().doing("reading events")?;
        events.reverse();
        Ok(events)
    }
}

/// Run one hour-aggregate query (columns hour, n, lo, hi, total) and append its rows.
fn read_hours(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
    doing: &'static str,
    hours: &mut Vec<(i64, Agg)>,
) -> Result<(), HistoryError> {
    let mut stmt = tx.prepare_cached(sql).doing("preparing an hourly query")?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Agg {
                    n: r.get(1)?,
                    lo: r.get(2)?,
                    hi: r.get(3)?,
                    total: r.get(4)?,
                },
            ))
        })
        .doing(doing)?;
    for row in rows {
        hours.push(row.doing(doing)?);
    }
    Ok(())
}

fn none_if_no_rows<T>(e: rusqlite::Error) -> rusqlite::Result<Option<T>> {
    match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    }
}

/// The step in whole hours, or an error naming it.
fn step_hours(step: Duration) -> Result<i64, HistoryError> {
    let ms = step.as_millis();
    if ms == 0 || !ms.is_multiple_of(HOUR_MS as u128) {
        return Err(HistoryError::BadStep {
            step: hearth_model::duration::format(step),
        });
    }
    i64::try_from(ms / HOUR_MS as u128).map_err(|_| HistoryError::BadStep {
        step: hearth_model::duration::format(step),
    })
}

/// Merge hour aggregates (sorted by hour) into buckets of `step_hours`.
fn bucket(hours: &[(i64, Agg)], step_hours: i64) -> Vec<Rollup> {
    let mut out: Vec<(i64, Agg)> = Vec::new();
    for &(hour, agg) in hours {
        let start = hour.div_euclid(step_hours) * step_hours;
        match out.last_mut() {
            Some((s, acc)) if *s == start => acc.merge(agg),
            _ => out.push((start, agg)),
        }
    }
    out.into_iter()
        .map(|(start, agg)| Rollup::from_agg(start, agg))
        .collect()
}
