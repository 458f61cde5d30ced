//! Paged range and rollup queries: each page read with a SQL limit, and the pages chained
//! through `next` give exactly the whole answer.

use super::*;
use crate::query::Page;
use std::time::Duration;

/// A sample every 10 minutes for `hours`, rolled up to the last whole hour.
fn filled(hours: i64) -> (TempDb, Store) {
    let db = temp_db();
    let mut store = Store::open(&db.path).unwrap();
    let rows: Vec<_> = (0..hours * 6)
        .map(|i| {
            let at = UnixMillis(DAY0.0 + i * 600_000);
            (
                Field::ThermostatTemperature,
                temp(18.0 + (i % 40) as f64 / 10.0),
                at,
            )
        })
        .collect();
    put(&mut store, &rows);
    store
        .advance_rollups(UnixMillis(DAY0.0 + (hours - 2) * HOUR))
        .unwrap();
    (db, store)
}

#[test]
fn range_pages_are_limited_and_chain_to_the_whole_range() {
    let (_db, store) = filled(48);
    let field = Field::ThermostatTemperature;
    let (since, until) = (UnixMillis(DAY0.0 + 5), UnixMillis(DAY0.0 + 40 * HOUR));
    let whole = store.range(field, since, until).unwrap();
    assert_eq!(whole.len(), 40 * 6 - 1);
    let mut got = Vec::new();
    let mut from = since;
    let mut pages = 0;
    loop {
        let Page { items, next } = store.range_page(field, from, until, 50).unwrap();
        assert!(items.len() <= 50);
        pages += 1;
        got.extend(items);
        match next {
            Some(n) => {
                assert!(n > from);
                from = n;
            }
            None => break,
        }
    }
    assert_eq!(pages, 5, "239 samples in pages of 50");
    assert_eq!(got, whole);
    // A limit that fits the range exactly has no next page.
    let exact = store.range_page(field, since, until, 239).unwrap();
    assert_eq!((exact.items.len(), exact.next), (239, None));
}

#[test]
fn rollup_pages_cut_the_range_at_whole_buckets() {
    let (_db, store) = filled(24 * 10);
    let field = Field::ThermostatTemperature;
    let (since, until) = (
        UnixMillis(DAY0.0 + 30 * 60_000),
        UnixMillis(DAY0.0 + 240 * HOUR),
    );
    for step_h in [1u64, 3, 24] {
        let step = Duration::from_secs(3600 * step_h);
        let whole = store.rollup(field, since, until, step).unwrap();
        let mut got = Vec::new();
        let mut from = since;
        loop {
            let page = store.rollup_page(field, from, until, step, 7).unwrap();
            assert!(page.items.len() <= 7, "{} buckets", page.items.len());
            got.extend(page.items);
            match page.next {
                Some(n) => from = n,
                None => break,
            }
        }
        assert_eq!(got, whole, "step {step_h}h");
    }
}
