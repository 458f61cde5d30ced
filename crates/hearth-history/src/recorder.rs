//! `Recorder`: the writer's pure core — the deadband/heartbeat filter, the bounded pending
//! buffers, and the counters that account for every sample and event offered.
//!
//! No I/O, no clock, no runtime: times come with the samples. The accounting invariant
//! (`WriterStats::unaccounted() == 0` once nothing is pending) is what the disk-full test
//! checks. This module must never drop anything without counting it.

use crate::codec::{self, Encoded};
use crate::config::HistoryConfig;
use crate::event::Event;
use crate::store::InsertOutcome;
use hearth_model::{Field, UnixMillis, Value};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// Counters for everything the writer was given. Returned when the writer ends and
/// published in `WriterStatus` after every commit attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriterStats {
    /// Samples that reached the writer.
    pub samples_received: u64,
    /// Within the deadband of the last recorded value and before the heartbeat: not stored.
    pub samples_skipped: u64,
    /// Could not be stored: wrong kind for the field, NaN, time before 1970.
    pub samples_rejected: u64,
    pub samples_written: u64,
    /// Same field and millisecond as a stored sample; the first was kept.
    pub samples_duplicate: u64,
    /// Dropped, oldest first, because the buffer was full while the database was unwritable.
    pub samples_dropped: u64,
    /// Still buffered when the writer ended and the final commit failed.
    pub samples_lost_at_shutdown: u64,
    pub events_received: u64,
    pub events_written: u64,
    pub events_dropped: u64,
    pub events_lost_at_shutdown: u64,
    /// Records a `HistoryHandle` could not hand over: the channel was full or the writer
    /// had stopped. They never reached the writer, so they are not in `*_received`.
    pub handoff_dropped: u64,
    pub commits: u64,
    pub failed_commits: u64,
}

impl WriterStats {
    /// Samples and events received but neither stored, skipped, nor counted as lost; equals
    /// what is still pending. Zero after the writer has ended.
    pub fn unaccounted(&self) -> u64 {
        let samples = [
            self.samples_skipped,
            self.samples_rejected,
            self.samples_written,
            self.samples_duplicate,
            self.samples_dropped,
            self.samples_lost_at_shutdown,
        ]
        .into_iter()
        .fold(self.samples_received, u64::saturating_sub);
        let events = [
            self.events_written,
            self.events_dropped,
            self.events_lost_at_shutdown,
        ]
        .into_iter()
        .fold(self.events_received, u64::saturating_sub);
        samples + events
    }
}

/// What one commit carries.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub samples: Vec<Encoded>,
    pub events: Vec<Event>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.events.is_empty()
    }
}

/// The fields whose readings are averaged before the deadband: measured, with sensor noise.
/// Setpoints and words are exact and recorded as they are.
const AVERAGED: [Field; 2] = [Field::ThermostatTemperature, Field::ThermostatHumidity];

/// A heartbeat due within this fraction of the heartbeat interval (1/3: 5 of 15 minutes)
/// is recorded early with a commit that happens anyway.
const HEARTBEAT_EARLY: i64 = 3;

/// The writer-side filter and buffer. Not the daemon's `HouseRecorder`, which runs in the
/// house task and only turns control results into samples and events for the channel that
/// feeds this one: the other end of the hand-over, sharing no logic with this.
pub(crate) struct Recorder {
    /// Per field: recorded when |change| exceeds this, in encoded units.
    thresholds: HashMap<Field, f64>,
    /// Readings of an averaged field within this many ms of the newest are averaged.
    average_ms: i64,
    /// Per averaged field: its recent readings (time, encoded value), oldest first.
    recent: HashMap<Field, VecDeque<(i64, i64)>>,
    heartbeat_ms: i64,
    /// Per field: the last recorded encoded value and its time.
    last: HashMap<Field, (i64, i64)>,
    /// Per field: the newest reading offered (after averaging), recorded or not.
    newest: HashMap<Field, Encoded>,
    samples: VecDeque<Encoded>,
    events: VecDeque<Event>,
    limit: usize,
    pub stats: WriterStats,
}

impl Recorder {
    pub fn new(cfg: &HistoryConfig) -> Recorder {
        let thresholds = Field::ALL
            .into_iter()
            .filter(|f| f.is_numeric())
            .map(|f| (f, cfg.deadband_for(f) * codec::SCALE))
            .collect();
        Recorder {
            thresholds,
            average_ms: i64::try_from(cfg.average_over.as_millis()).unwrap_or(i64::MAX),
            recent: HashMap::new(),
            heartbeat_ms: i64::try_from(cfg.heartbeat.as_millis()).unwrap_or(i64::MAX),
            last: HashMap::new(),
            newest: HashMap::new(),
            samples: VecDeque::new(),
            events: VecDeque::new(),
            limit: cfg.buffer_limit.max(1),
            stats: WriterStats::default(),
        }
    }

    /// Take a reading; keep it if it moved past the deadband, is a new word, or the
    /// heartbeat has elapsed since the field was last recorded. A temperature or humidity
    /// reading is first replaced by the mean of that field's readings over `average_over`.
    pub fn offer_sample(&mut self, field: Field, value: &Value, at: UnixMillis) {
        self.stats.samples_received += 1;
        let Ok(mut e) = codec::encode(field, value, at) else {
            self.stats.samples_rejected += 1;
            return;
        };
        if self.average_ms > 0 && AVERAGED.contains(&field) {
            e.v = self.mean_with(field, at.0, e.v);
        }
        self.newest.insert(field, e);
        let keep = match self.last.get(&field) {
            None => true,
            Some(&(last_v, last_at)) => {
                let moved = match self.thresholds.get(&field) {
                    Some(&t) => (e.v - last_v).unsigned_abs() as f64 > t,
                    None => e.v != last_v,
                };
                moved || at.0.saturating_sub(last_at) >= self.heartbeat_ms
            }
        };
        if !keep {
            self.stats.samples_skipped += 1;
            return;
        }
        self.last.insert(field, (e.v, at.0));
        self.samples.push_back(e);
        self.enforce_limit();
    }

    /// Add a reading to the field's recent ones, forget those older than `average_ms`
    /// before it, and return the mean (in encoded units, rounded).
    fn mean_with(&mut self, field: Field, at: i64, v: i64) -> i64 {
        let recent = self.recent.entry(field).or_default();
        recent.push_back((at, v));
        let from = at.saturating_sub(self.average_ms);
        while recent.front().is_some_and(|&(t, _)| t <= from) {
            recent.pop_front();
        }
        // The reading just pushed is at `at`, so it stays: never empty.
        let sum: i128 = recent.iter().map(|&(_, v)| i128::from(v)).sum();
        let n = recent.len() as i128;
        // Round half away from zero, in integers (no float error on the stored value).
        let mean = if sum >= 0 {
            (sum + n / 2) / n
        } else {
            (sum - n / 2) / n
        };
        i64::try_from(mean).unwrap_or(v)
    }

    pub fn offer_event(&mut self, event: Event) {
        self.stats.events_received += 1;
        self.events.push_back(event);
        self.enforce_limit();
    }

    pub fn pending_samples(&self) -> usize {
        self.samples.len()
    }

    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Whether the buffer is half full: worth committing before the interval is up.
    pub fn wants_early_commit(&self) -> bool {
        self.samples.len() >= self.limit / 2 || self.events.len() >= self.limit / 2
    }

    /// Everything pending, in arrival order, for one commit. When there is something to
    /// commit anyway, the fields whose heartbeat is due within [`HEARTBEAT_EARLY`] of it
    /// ride along (their newest reading is recorded now), so the card is not woken again
    /// minutes later for a heartbeat alone.
    pub fn take_batch(&mut self) -> Batch {
        if !(self.samples.is_empty() && self.events.is_empty()) {
            self.heartbeats_along();
        }
        Batch {
            samples: self.samples.drain(..).collect(),
            events: self.events.drain(..).collect(),
        }
    }

    fn heartbeats_along(&mut self) {
        let due_in = self
            .heartbeat_ms
            .saturating_sub(self.heartbeat_ms / HEARTBEAT_EARLY);
        for field in Field::ALL {
            let (Some(&newest), Some(&(_, last_at))) =
                (self.newest.get(&field), self.last.get(&field))
            else {
                continue;
            };
            if newest.at_ms() > last_at && newest.at_ms().saturating_sub(last_at) >= due_in {
                // Counted as skipped when it was offered; recorded after all.
                self.stats.samples_skipped = self.stats.samples_skipped.saturating_sub(1);
                self.last.insert(field, (newest.v, newest.at_ms()));
                self.samples.push_back(newest);
            }
        }
        self.enforce_limit();
    }

    /// The commit failed: the batch goes back in front of anything newer, and the limit
    /// drops the oldest.
    pub fn restore(&mut self, batch: Batch) {
        self.stats.failed_commits += 1;
        for e in batch.samples.into_iter().rev() {
            self.samples.push_front(e);
        }
        for e in batch.events.into_iter().rev() {
            self.events.push_front(e);
        }
        self.enforce_limit();
    }

    pub fn committed(&mut self, out: InsertOutcome) {
        self.stats.commits += 1;
        self.stats.samples_written += out.samples_written;
        self.stats.samples_duplicate += out.samples_duplicate;
        self.stats.events_written += out.events_written;
    }

    /// The writer is ending and could not store what is left.
    pub fn abandon(&mut self) {
        self.stats.samples_lost_at_shutdown += self.samples.len() as u64;
        self.stats.events_lost_at_shutdown += self.events.len() as u64;
        self.samples.clear();
        self.events.clear();
    }

    fn enforce_limit(&mut self) {
        while self.samples.len() > self.limit {
            self.samples.pop_front();
            self.stats.samples_dropped += 1;
        }
        while self.events.len() > self.limit {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use std::time::Duration;

    fn recorder(limit: usize) -> Recorder {
        Recorder::new(&HistoryConfig {
            buffer_limit: limit,
            heartbeat: Duration::from_secs(900),
            average_over: Duration::ZERO,
            ..HistoryConfig::default()
        })
    }

    #[test]
    fn noisy_readings_are_averaged_before_the_deadband() {
        let mut r = Recorder::new(&HistoryConfig::default());
        assert_eq!(r.average_ms, 60_000, "one minute by default");
        // A room at 17.85 °C read with +-0.1 noise every 10 s: single readings cross the
        // 0.1 deadband in turn; their mean over a minute never does.
        let noisy = [
            17.85, 17.95, 17.75, 17.96, 17.74, 17.95, 17.75, 17.94, 17.76, 17.95,
        ];
        for (i, c) in noisy.into_iter().enumerate() {
            temp(&mut r, c, i as i64 * 10);
        }
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        assert_eq!(kept, [1785], "only the first reading");
        assert_eq!(r.stats.samples_skipped, 9);
        // The room warms: the mean follows within the minute and is what is stored.
        for (i, c) in [18.05, 18.05, 18.05, 18.05].into_iter().enumerate() {
            temp(&mut r, c, 100 + i as i64 * 10);
        }
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        // Means of the readings in the minute up to each: 17.90, 17.92, 17.97 (17.94 17.76
        // 17.95 18.05 18.05 18.05: the first more than 0.1 from 17.85, stored), 17.99.
        assert_eq!(kept, [1797]);
    }

    #[test]
    fn the_mean_forgets_readings_older_than_the_window_and_words_are_not_averaged() {
        let mut r = Recorder::new(&HistoryConfig::default());
        temp(&mut r, 20.0, 0);
        // After a gap longer than the window (a sensor fault) the first reading stands alone.
        temp(&mut r, 22.0, 120);
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        assert_eq!(kept, [2000, 2200]);
        r.offer_sample(
            Field::ThermostatSetpointHeat,
            &Value::Number(19.0),
            UnixMillis(130_000),
        );
        r.offer_sample(
            Field::ThermostatSetpointHeat,
            &Value::Number(21.0),
            UnixMillis(140_000),
        );
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        assert_eq!(kept, [1900, 2100], "setpoints are exact: recorded as set");
    }

    fn temp(r: &mut Recorder, c: f64, secs: i64) {
        r.offer_sample(
            Field::ThermostatTemperature,
            &Value::Number(c),
            UnixMillis(secs * 1000),
        );
    }

    #[test]
    fn deadband_keeps_moves_larger_than_it_and_heartbeats() {
        let mut r = recorder(100);
        temp(&mut r, 21.0, 0); // first: kept
        temp(&mut r, 21.06, 10); // within 0.1: skipped
        temp(&mut r, 21.1, 20); // exactly 0.1: not more than the deadband
        temp(&mut r, 21.12, 30); // 0.12 from 21.0: kept
        temp(&mut r, 21.05, 40); // 0.07 from 21.12: skipped
        temp(&mut r, 21.05, 30 + 900); // heartbeat since the last kept: kept
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        assert_eq!(kept, [2100, 2112, 2105]);
        assert_eq!(r.stats.samples_skipped, 3);
    }

    #[test]
    fn a_heartbeat_due_soon_rides_along_with_a_commit_that_happens_anyway() {
        let mut r = recorder(100);
        let lock = |r: &mut Recorder, secs: i64| {
            r.offer_sample(
                Field::LockState,
                &Value::Text("locked".into()),
                UnixMillis(secs * 1000),
            )
        };
        temp(&mut r, 21.0, 0);
        lock(&mut r, 0);
        assert_eq!(r.take_batch().samples.len(), 2);
        // 9 minutes on: the lock's heartbeat is 6 minutes away, more than 5: not yet.
        lock(&mut r, 540);
        temp(&mut r, 21.5, 540);
        assert_eq!(r.take_batch().samples.len(), 1);
        // 11 minutes on: 4 minutes away: the newest lock reading is recorded with the move.
        lock(&mut r, 660);
        temp(&mut r, 22.0, 660);
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.at_ms()).collect();
        assert_eq!(kept, [660_000, 660_000]);
        // Nothing moved: no commit, so no early heartbeat either.
        lock(&mut r, 1200);
        assert!(r.take_batch().is_empty());
        assert_eq!(
            r.stats.samples_skipped, 2,
            "the two lock readings left unrecorded"
        );
        r.committed(InsertOutcome {
            samples_written: 5,
            ..InsertOutcome::default()
        });
        assert_eq!(r.stats.unaccounted(), 0, "{:?}", r.stats);
    }

    #[test]
    fn text_fields_are_kept_on_every_change_only() {
        let mut r = recorder(100);
        for (w, s) in [
            ("locked", 0),
            ("locked", 5),
            ("moving", 6),
            ("unlocked", 8),
            ("unlocked", 9),
        ] {
            r.offer_sample(
                Field::LockState,
                &Value::Text(w.into()),
                UnixMillis(s * 1000),
            );
        }
        r.offer_sample(
            Field::LockState,
            &Value::Text("ajar".into()),
            UnixMillis(10_000),
        );
        assert_eq!(r.take_batch().samples.len(), 3);
        assert_eq!((r.stats.samples_skipped, r.stats.samples_rejected), (2, 1));
    }

    #[test]
    fn full_buffer_drops_oldest_and_restore_keeps_order() {
        let mut r = recorder(3);
        for i in 0..5 {
            temp(&mut r, f64::from(i), i64::from(i));
        }
        assert_eq!(r.stats.samples_dropped, 2);
        let batch = r.take_batch();
        temp(&mut r, 10.0, 10);
        r.restore(batch);
        let kept: Vec<i64> = r.take_batch().samples.iter().map(|e| e.v).collect();
        // 200, 300, 400 came back in front of 1000; the limit of 3 dropped the oldest.
        assert_eq!(kept, [300, 400, 1000]);
        assert_eq!(r.stats.samples_dropped, 3);
        assert_eq!(r.stats.unaccounted(), 3, "the batch taken is in flight");
        r.committed(InsertOutcome {
            samples_written: 3,
            ..InsertOutcome::default()
        });
        assert_eq!(r.stats.unaccounted(), 0);
    }

    #[test]
    fn events_are_bounded_too_and_accounted() {
        let mut r = recorder(2);
        for i in 0..3 {
            r.offer_event(Event {
                at: UnixMillis(i),
                kind: EventKind::System,
                source: None,
                detail: String::new(),
            });
        }
        assert_eq!(r.stats.events_dropped, 1);
        assert_eq!(r.stats.unaccounted(), 2);
        r.abandon();
        assert_eq!(r.stats.unaccounted(), 0);
    }
}
