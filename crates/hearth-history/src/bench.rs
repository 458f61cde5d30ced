//! The history figures `hearthd bench` prints, measured against raw SQLite in the same run:
//! insert rate vs a plain rusqlite batch insert of the same rows, bytes on disk per raw
//! sample, bytes written per simulated day at default settings, and the time of hourly
//! rollups over a year of 10-second samples for 4 fields.
//!
//! A normal function writing only inside the directory it is given; never a timed test.

mod house;

use crate::codec::{self, Encoded};
use crate::config::HistoryConfig;
use crate::cycle::Db;
use crate::error::{Doing, HistoryError};
use crate::recorder::Recorder;
use crate::store::Store;
use hearth_model::{Field, UnixMillis, Value};
use house::{House, POLL_SECS};
use std::path::Path;
use std::time::{Duration, Instant};

/// How much work the bench does.
#[derive(Debug, Clone, Copy)]
pub struct BenchSize {
    /// Rows inserted by each path of the insert-rate comparison.
    pub insert_rows: usize,
    /// Days of 10-second samples of 4 fields behind the rollup query and bytes per sample.
    pub rollup_days: u32,
    /// Days of house history stored before the measured period, so retention runs.
    pub prefill_days: u32,
    /// Simulated hours measured for bytes written; scaled to a day.
    pub measured_hours: u32,
}

impl BenchSize {
    /// The sizes the spec's figures are stated for.
    pub fn full() -> BenchSize {
        BenchSize {
            insert_rows: 1_000_000,
            rollup_days: 365,
            prefill_days: 30,
            measured_hours: 24,
        }
    }

    /// Seconds, for checking the bench runs.
    pub fn tiny() -> BenchSize {
        BenchSize {
            insert_rows: 4_000,
            rollup_days: 2,
            prefill_days: 1,
            measured_hours: 2,
        }
    }
}

/// What the bench measured.
#[derive(Debug, Clone)]
pub struct BenchFigures {
    pub insert_rows: usize,
    /// hearth's write path (encode + batch insert), rows per second.
    pub hearth_rows_per_sec: f64,
    /// Plain rusqlite prepared-statement inserts of the same rows, rows per second.
    pub raw_rows_per_sec: f64,
    /// Raw samples in the rollup database.
    pub stored_samples: u64,
    /// That database's file size (checkpointed) divided by its raw samples.
    pub bytes_per_sample: f64,
    /// Hourly rollups of 4 fields over the whole span: best of 5 runs.
    pub rollup_query: Duration,
    /// Rollup rows those queries returned.
    pub rollup_rows: usize,
    /// Bytes hearth's writes handed to the kernel (`wchar`, db + WAL), per simulated day.
    pub written_per_day: Option<f64>,
    /// Bytes the kernel accounted to storage (`write_bytes`, whole filesystem blocks).
    pub storage_per_day: Option<f64>,
    /// Samples offered, stored, and commits made, per simulated day.
    pub day_offered: u64,
    pub day_stored: u64,
    pub day_commits: u64,
}

impl BenchFigures {
    pub fn insert_ratio(&self) -> f64 {
        self.hearth_rows_per_sec / self.raw_rows_per_sec
    }
}

impl std::fmt::Display for BenchFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
        let mb = |b: Option<f64>| b.map_or("n/a".to_owned(), |b| format!("{:.2} MB", b / 1e6));
        writeln!(f, "history:")?;
        writeln!(
            f,
            "  insert {} rows: hearth {:.0}/s, raw rusqlite {:.0}/s, ratio {:.2} (goal >= 0.70: {})",
            self.insert_rows,
            self.hearth_rows_per_sec,
            self.raw_rows_per_sec,
            self.insert_ratio(),
            verdict(self.insert_ratio() >= 0.7)
        )?;
        writeln!(
            f,
            "  on disk: {:.2} bytes per raw sample over {} samples (goal <= 16: {})",
            self.bytes_per_sample,
            self.stored_samples,
            verdict(self.bytes_per_sample <= 16.0)
        )?;
        writeln!(
            f,
            "  hourly rollups, 4 fields, whole span: {:.2} ms for {} rows (goal < 50 ms: {})",
            self.rollup_query.as_secs_f64() * 1e3,
            self.rollup_rows,
            verdict(self.rollup_query < Duration::from_millis(50))
        )?;
        writeln!(
            f,
            "  simulated day at default settings: {} samples offered, {} stored, {} commits",
            self.day_offered, self.day_stored, self.day_commits
        )?;
        writeln!(
            f,
            "  written per day: {} by SQLite (goal < 5 MB: {}), {} to storage in whole blocks",
            mb(self.written_per_day),
            self.written_per_day.map_or("n/a", |b| verdict(b < 5e6)),
            mb(self.storage_per_day)
        )
    }
}

/// Run every measurement in `dir` (which should be empty and on the disk of interest).
pub fn bench_report(dir: &Path, size: BenchSize) -> Result<BenchFigures, HistoryError> {
    let (hearth_rows_per_sec, raw_rows_per_sec) = insert_rates(dir, size.insert_rows)?;
    let (stored_samples, bytes_per_sample, rollup_query, rollup_rows) =
        rollup_year(dir, size.rollup_days)?;
    let day = simulated_day(dir, size.prefill_days, size.measured_hours)?;
    Ok(BenchFigures {
        insert_rows: size.insert_rows,
        hearth_rows_per_sec,
        raw_rows_per_sec,
        stored_samples,
        bytes_per_sample,
        rollup_query,
        rollup_rows,
        written_per_day: day.written,
        storage_per_day: day.storage,
        day_offered: day.offered,
        day_stored: day.stored,
        day_commits: day.commits,
    })
}

/// Fill a fresh history file at `path` as a house that has run `days` days until `end`:
/// the 4-field series every 10 s for the last `raw_days` (what retention keeps raw), one
/// sample per field and hour before that, all whole hours rolled up. For `hearthd bench`'s
/// year-long requests. Returns the raw samples stored.
pub fn fill_history(
    path: &Path,
    end: UnixMillis,
    days: u32,
    raw_days: u32,
) -> Result<u64, HistoryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("history.db");
    let mut store = fresh(dir, name)?;
    let start = end.0 - i64::from(days) * 86_400_000;
    let raw_from = end.0 - i64::from(raw_days) * 86_400_000;
    let mut total = 0u64;
    let mut rows: Vec<Encoded> = Vec::with_capacity(CHUNK);
    let mut flush = |rows: &mut Vec<Encoded>, store: &mut Store| -> Result<(), HistoryError> {
        total += rows.len() as u64;
        store.insert_encoded(rows, &[])?;
        rows.clear();
        Ok(())
    };
    let mut step = 0i64;
    loop {
        let (field, value, at) = series_row(step as usize);
        let at = UnixMillis(start + (at.0 - START.0));
        if at.0 >= end.0 {
            break;
        }
        // Before the raw window, one sample per field and hour.
        let keep = at.0 >= raw_from || (at.0 - start) % 3_600_000 < 10_000;
        if keep && let Ok(e) = codec::encode(field, &value, at) {
            rows.push(e);
            if rows.len() == CHUNK {
                flush(&mut rows, &mut store)?;
            }
        }
        step += 1;
    }
    flush(&mut rows, &mut store)?;
    store.advance_rollups(end)?;
    store
        .conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .doing("checkpointing the filled history")?;
    Ok(total)
}

/// 2026-01-01T00:00:00Z: every run stores the same rows.
const START: UnixMillis = UnixMillis(1_767_225_600_000);
/// Rows per transaction in the bulk paths, for both contenders.
const CHUNK: usize = 10_000;
const FOUR_FIELDS: [Field; 4] = [
    Field::ThermostatTemperature,
    Field::ThermostatHumidity,
    Field::ThermostatSetpointHeat,
    Field::ThermostatSetpointCool,
];

/// The i-th row of a 10-second, 4-field series with plausible values.
fn series_row(i: usize) -> (Field, Value, UnixMillis) {
    let field = FOUR_FIELDS[i % 4];
    let step = (i / 4) as i64;
    let at = UnixMillis(START.0 + step * 10_000);
    let phase = (step % 8640) as f64 / 8640.0 * std::f64::consts::TAU;
    let x = match field {
        Field::ThermostatTemperature => 20.0 + 2.0 * phase.sin(),
        Field::ThermostatHumidity => 45.0 + 5.0 * phase.cos(),
        Field::ThermostatSetpointHeat => 21.0,
        _ => 25.0,
    };
    (field, Value::Number((x * 100.0).round() / 100.0), at)
}

fn fresh(dir: &Path, name: &str) -> Result<Store, HistoryError> {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        // Absent is fine: the point is a fresh file.
        let _ = std::fs::remove_file(p);
    }
    Store::open(&path)
}

/// Rows per second for hearth's path and raw rusqlite; best of two alternating rounds.
fn insert_rates(dir: &Path, rows: usize) -> Result<(f64, f64), HistoryError> {
    let input: Vec<(Field, Value, UnixMillis)> = (0..rows).map(series_row).collect();
    let raw_rows: Vec<(i64, i64)> = input
        .iter()
        .filter_map(|(f, v, at)| codec::encode(*f, v, *at).ok())
        .map(|e| (e.k, e.v))
        .collect();
    let mut best = (Duration::MAX, Duration::MAX);
    for _ in 0..2 {
        let mut raw = fresh(dir, "bench-raw.db")?;
        let t = Instant::now();
        for chunk in raw_rows.chunks(CHUNK) {
            let tx = raw.conn.transaction().doing("raw insert")?;
            {
                let mut stmt = tx
                    .prepare_cached("INSERT INTO sample(k, v) VALUES (?1, ?2)")
                    .doing("raw insert")?;
                for (k, v) in chunk {
                    stmt.execute([k, v]).doing("raw insert")?;
                }
            }
            tx.commit().doing("raw insert")?;
        }
        best.1 = best.1.min(t.elapsed());
        drop(raw);

        let mut ours = fresh(dir, "bench-hearth.db")?;
        let t = Instant::now();
        for chunk in input.chunks(CHUNK) {
            let encoded: Vec<Encoded> = chunk
                .iter()
                .filter_map(|(f, v, at)| codec::encode(*f, v, *at).ok())
                .collect();
            ours.insert_encoded(&encoded, &[])?;
        }
        best.0 = best.0.min(t.elapsed());
    }
    let rate = |d: Duration| rows as f64 / d.as_secs_f64().max(1e-9);
    Ok((rate(best.0), rate(best.1)))
}

/// Load `days` of the 4-field series a day per transaction (rolling up as the writer
/// does), then measure size per sample and the hourly rollup query over all of it.
fn rollup_year(dir: &Path, days: u32) -> Result<(u64, f64, Duration, usize), HistoryError> {
    let path = dir.join("bench-year.db");
    let mut store = fresh(dir, "bench-year.db")?;
    let per_day = 8640 * 4;
    let total = per_day * days as usize;
    for day in 0..days as usize {
        let rows: Vec<Encoded> = (day * per_day..(day + 1) * per_day)
            .map(series_row)
            .filter_map(|(f, v, at)| codec::encode(f, &v, at).ok())
            .collect();
        for chunk in rows.chunks(per_day) {
            store.insert_encoded(chunk, &[])?;
        }
        store.advance_rollups(UnixMillis(START.0 + (day as i64 + 1) * 86_400_000))?;
    }
    store
        .conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .doing("checkpointing the bench database")?;
    let bytes = std::fs::metadata(&path)
        .map_err(|source| HistoryError::Io {
            path: path.clone(),
            source,
        })?
        .len();
    drop(store);

    let reader = Store::open_read_only(&path)?;
    let until = UnixMillis(START.0 + i64::from(days) * 86_400_000);
    let mut best = Duration::MAX;
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        rows = 0;
        for field in FOUR_FIELDS {
            rows += reader
                .rollup(field, START, until, Duration::from_secs(3600))?
                .len();
        }
        best = best.min(t.elapsed());
    }
    Ok((total as u64, bytes as f64 / total as f64, best, rows))
}

struct Day {
    written: Option<f64>,
    storage: Option<f64>,
    offered: u64,
    stored: u64,
    commits: u64,
}

/// The house through the writer's own filter, commit cycle and upkeep at default
/// settings: `prefill_days` stored in bulk, then `hours` measured poll by poll.
fn simulated_day(dir: &Path, prefill_days: u32, hours: u32) -> Result<Day, HistoryError> {
    let cfg = HistoryConfig {
        path: dir.join("bench-day.db"),
        ..HistoryConfig::default()
    };
    drop(fresh(dir, "bench-day.db")?);
    let mut recorder = Recorder::new(&cfg);
    let mut db = Db::new(&cfg);
    let mut house = House::new(7);
    let polls_per_commit = (cfg.commit_interval.as_secs() as i64 / POLL_SECS).max(1);
    let prefill_polls = i64::from(prefill_days) * 86_400 / POLL_SECS;
    let measured_polls = i64::from(hours) * 3600 / POLL_SECS;

    let mut io_before = None;
    let mut offered_before = 0;
    let mut stored_before = 0;
    let mut commits_before = 0;
    for n in 0..prefill_polls + measured_polls {
        if n == prefill_polls {
            io_before = Some(proc_io());
            offered_before = recorder.stats.samples_received;
            stored_before = recorder.stats.samples_written;
            commits_before = recorder.stats.commits;
        }
        let at = UnixMillis(START.0 + n * POLL_SECS * 1000);
        let poll = house.poll(at);
        for (field, value) in &poll.values {
            recorder.offer_sample(*field, value, at);
        }
        for e in poll.events {
            recorder.offer_event(e);
        }
        let prefilling = n < prefill_polls;
        let due = if prefilling {
            (n + 1) % (86_400 / POLL_SECS) == 0
        } else {
            (n + 1) % polls_per_commit == 0
        };
        if !due {
            continue;
        }
        let now = UnixMillis(at.0 + POLL_SECS * 1000);
        let batch = recorder.take_batch();
        if batch.is_empty() && !db.has_work(now) {
            continue;
        }
        let out = db.cycle(&batch, now)?;
        if !batch.is_empty() {
            recorder.committed(out);
        }
    }
    let io_after = proc_io();
    let scale = 24.0 / f64::from(hours.max(1));
    let delta = |pick: fn(&ProcIo) -> Option<u64>| {
        let before = io_before.as_ref().and_then(pick)?;
        let after = pick(&io_after)?;
        Some(after.saturating_sub(before) as f64 * scale)
    };
    let per_day = |n: u64| (n as f64 * scale).round() as u64;
    Ok(Day {
        written: delta(|io| io.wchar),
        storage: delta(|io| io.write_bytes),
        offered: per_day(recorder.stats.samples_received - offered_before),
        stored: per_day(recorder.stats.samples_written - stored_before),
        commits: per_day(recorder.stats.commits - commits_before),
    })
}

struct ProcIo {
    wchar: Option<u64>,
    write_bytes: Option<u64>,
}

/// This process's write counters from `/proc/self/io`; `None` where there is no procfs.
fn proc_io() -> ProcIo {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    ProcIo {
        wchar: get("wchar:"),
        write_bytes: get("write_bytes:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_runs_at_a_tiny_size_and_reports_sane_figures() {
        let dir = tempfile::tempdir().unwrap();
        let f = bench_report(dir.path(), BenchSize::tiny()).unwrap();
        assert!(
            f.hearth_rows_per_sec > 0.0 && f.raw_rows_per_sec > 0.0,
            "{f:?}"
        );
        assert_eq!(f.stored_samples, 2 * 8640 * 4);
        assert!((8.0..64.0).contains(&f.bytes_per_sample), "{f:?}");
        assert_eq!(f.rollup_rows, 4 * 48, "4 fields x 48 hours");
        // 9 fields every 10 s, scaled from 2 hours to a day.
        assert_eq!(f.day_offered, 9 * 8640);
        assert!(
            f.day_stored > 0 && f.day_stored < f.day_offered / 4,
            "{f:?}"
        );
        assert!(f.day_commits > 0 && f.day_commits <= 2880, "{f:?}");
        let text = f.to_string();
        assert!(
            text.contains("bytes per raw sample") && text.contains("goal"),
            "{text}"
        );
    }
}
