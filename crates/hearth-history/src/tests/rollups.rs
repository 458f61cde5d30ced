//! Rollups against a brute-force computation over the same samples, with batches, late
//! samples after an hour was rolled up, and every step size.

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const FIELDS: [Field; 2] = [Field::ThermostatTemperature, Field::ThermostatHumidity];

#[derive(Debug, Clone)]
struct Case {
    /// (field index, ms after DAY0, hundredths)
    samples: Vec<(usize, i64, i64)>,
    /// Insert in batches ending at these indexes; roll up to `rollup_at[i]` hours after
    /// batch i (which may be ahead of later samples: those arrive late).
    cuts: Vec<usize>,
    rollup_at: Vec<i64>,
    step_hours: i64,
    since_ms: i64,
    until_ms: i64,
}

fn case() -> impl Strategy<Value = Case> {
    let span = 3 * 24 * HOUR;
    (
        prop::collection::vec((0..2usize, 0..span, -4000..8500i64), 0..400),
        prop::collection::vec(0..400usize, 0..6),
        prop::collection::vec(0..80i64, 6),
        prop::sample::select(vec![1i64, 2, 3, 5, 24]),
        0..span,
        0..span,
    )
        .prop_map(|(samples, mut cuts, rollup_at, step_hours, a, b)| {
            cuts.sort_unstable();
            Case {
                samples,
                cuts,
                rollup_at,
                step_hours,
                since_ms: a.min(b),
                until_ms: a.max(b),
            }
        })
}

/// (bucket start hour, count, min, max, sum) over the samples that were stored (the first
/// of any duplicate field+millisecond), for the hours overlapping since..until.
fn brute_force(c: &Case, field: usize) -> Vec<(i64, u64, i64, i64, i64)> {
    let mut seen = HashSet::new();
    let first_hour = (DAY0.0 + c.since_ms).div_euclid(HOUR);
    let end_hour = (DAY0.0 + c.until_ms + HOUR - 1).div_euclid(HOUR);
    let mut buckets: BTreeMap<i64, (u64, i64, i64, i64)> = BTreeMap::new();
    for &(f, ms, v) in &c.samples {
        if !seen.insert((f, ms)) || f != field {
            continue;
        }
        let hour = (DAY0.0 + ms).div_euclid(HOUR);
        if hour < first_hour || hour >= end_hour {
            continue;
        }
        let b = buckets
            .entry(hour.div_euclid(c.step_hours) * c.step_hours)
            .or_insert((0, i64::MAX, i64::MIN, 0));
        b.0 += 1;
        b.1 = b.1.min(v);
        b.2 = b.2.max(v);
        b.3 += v;
    }
    buckets
        .into_iter()
        .map(|(h, (n, lo, hi, sum))| (h, n, lo, hi, sum))
        .collect()
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let rows: Vec<(Field, Value, UnixMillis)> = c
        .samples
        .iter()
        .map(|&(f, ms, v)| {
            (
                FIELDS[f],
                Value::Number(v as f64 / 100.0),
                UnixMillis(DAY0.0 + ms),
            )
        })
        .collect();
    let mut start = 0;
    for (i, &cut) in c
        .cuts
        .iter()
        .chain(std::iter::once(&rows.len()))
        .enumerate()
    {
        let cut = cut.clamp(start, rows.len());
        put(&mut store, &rows[start..cut]);
        start = cut;
        let to = c.rollup_at.get(i).copied().unwrap_or(0);
        store
            .advance_rollups(UnixMillis(DAY0.0 + to * HOUR))
            .unwrap();
    }
    for (i, field) in FIELDS.into_iter().enumerate() {
        let got = store
            .rollup(
                field,
                UnixMillis(DAY0.0 + c.since_ms),
                UnixMillis(DAY0.0 + c.until_ms),
                Duration::from_secs(c.step_hours as u64 * 3600),
            )
            .unwrap();
        let want = brute_force(c, i);
        prop_assert_eq!(got.len(), want.len());
        for (g, (hour, n, lo, hi, sum)) in got.iter().zip(want) {
            prop_assert_eq!(g.start, UnixMillis(hour * HOUR));
            prop_assert_eq!(g.count, n);
            prop_assert_eq!(g.min, lo as f64 / 100.0);
            prop_assert_eq!(g.max, hi as f64 / 100.0);
            prop_assert_eq!(g.avg, sum as f64 / n as f64 / 100.0);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rollups_equal_a_brute_force_computation(c in case()) {
        check(&c)?;
    }
}

#[test]
fn a_late_sample_merges_into_its_rolled_up_hour() {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let t = Field::ThermostatTemperature;
    put(
        &mut store,
        &[
            (t, temp(20.0), DAY0),
            (t, temp(22.0), UnixMillis(DAY0.0 + 60_000)),
        ],
    );
    store
        .advance_rollups(UnixMillis(DAY0.0 + 2 * HOUR))
        .unwrap();
    // Buffered through an outage, stored after its hour was rolled up.
    put(&mut store, &[(t, temp(18.0), UnixMillis(DAY0.0 + 120_000))]);
    let r = store
        .rollup(
            t,
            DAY0,
            UnixMillis(DAY0.0 + HOUR),
            Duration::from_secs(3600),
        )
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].count, r[0].min, r[0].avg, r[0].max),
        (3, 18.0, 20.0, 22.0)
    );
}

#[test]
fn rollups_refuse_text_fields_and_odd_steps() {
    let db = temp_db();
    let store = Store::open(&db.path).unwrap();
    let until = UnixMillis(DAY0.0 + HOUR);
    let err = store
        .rollup(Field::LockState, DAY0, until, Duration::from_secs(3600))
        .unwrap_err();
    assert!(err.to_string().contains("lock.state"), "{err}");
    let err = store
        .rollup(
            Field::ThermostatTemperature,
            DAY0,
            until,
            Duration::from_secs(5400),
        )
        .unwrap_err();
    assert!(err.to_string().contains("1h 30m"), "{err}");
    assert!(
        store
            .rollup(Field::ThermostatTemperature, DAY0, until, Duration::ZERO)
            .is_err()
    );
}
