//! The JSON of history and event answers, serialized straight from the rows read.
//!
//! A history page is up to 500 rows and up to 16 requests are answered at once. Built as
//! `serde_json::Value` trees, each row was a map of its own (hundreds of bytes), and a burst
//! of year-long requests held megabytes of them (BENCHMARKS.md: the flood's peak RSS). Here
//! each answer is written once, as the bytes that are sent.
//!
//! The keys are declared in alphabetical order, the order the `Value` maps wrote them in:
//! the bytes on the wire are the same as before.

use hearth_history::{Event, Page, Rollup, Sample};
use hearth_model::{Field, UnixMillis};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Serialize an answer once, into the JSON it is sent as.
fn raw(answer: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(answer).expect("answers always serialize")
}

/// A JSON array written row by row from `rows`, each row turned into its JSON shape by `f`
/// as it is written.
struct Rows<'a, T, F>(&'a [T], F);

impl<'a, T, R: Serialize, F: Fn(&'a T) -> R> Serialize for Rows<'a, T, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(&self.1))
    }
}

fn rows<'a, T, R: Serialize>(rows: &'a [T], f: impl Fn(&'a T) -> R + 'a) -> impl Serialize + 'a {
    Rows(rows, f)
}

/// `{"query":"latest","samples":[{"at","field","time","value"}…]}`
pub fn latest(samples: &[Sample]) -> Box<RawValue> {
    #[derive(Serialize)]
    struct One<'a> {
        at: UnixMillis,
        field: Field,
        time: String,
        value: &'a hearth_model::Value,
    }
    #[derive(Serialize)]
    struct Answer<S> {
        query: &'static str,
        samples: S,
    }
    raw(&Answer {
        query: "latest",
        samples: rows(samples, |s| One {
            at: s.at,
            field: s.field,
            time: s.at.to_rfc3339(),
            value: &s.value,
        }),
    })
}

/// `{"field","next_since","query":"range","samples":[{"at","time","value"}…],"truncated"}`
pub fn range(field: Field, page: &Page<Sample>) -> Box<RawValue> {
    #[derive(Serialize)]
    struct One<'a> {
        at: UnixMillis,
        time: String,
        value: &'a hearth_model::Value,
    }
    #[derive(Serialize)]
    struct Answer<S> {
        field: Field,
        next_since: Option<String>,
        query: &'static str,
        samples: S,
        truncated: bool,
    }
    raw(&Answer {
        field,
        next_since: page.next.map(UnixMillis::to_rfc3339),
        query: "range",
        samples: rows(&page.items, |s| One {
            at: s.at,
            time: s.at.to_rfc3339(),
            value: &s.value,
        }),
        truncated: page.next.is_some(),
    })
}

/// `{"buckets":[{"avg","count","max","min","start","time"}…],"every","field","next_since",
/// "query":"rollup","truncated"}`
pub fn rollup(field: Field, every: &str, page: &Page<Rollup>) -> Box<RawValue> {
    #[derive(Serialize)]
    struct One {
        avg: f64,
        count: u64,
        max: f64,
        min: f64,
        start: UnixMillis,
        time: String,
    }
    #[derive(Serialize)]
    struct Answer<'a, B> {
        buckets: B,
        every: &'a str,
        field: Field,
        next_since: Option<String>,
        query: &'static str,
        truncated: bool,
    }
    raw(&Answer {
        buckets: rows(&page.items, |r| One {
            avg: r.avg,
            count: r.count,
            max: r.max,
            min: r.min,
            start: r.start,
            time: r.start.to_rfc3339(),
        }),
        every,
        field,
        next_since: page.next.map(UnixMillis::to_rfc3339),
        query: "rollup",
        truncated: page.next.is_some(),
    })
}

/// `{"events":[{"at","detail","kind","source","time"}…]}`
pub fn events(events: &[Event]) -> Box<RawValue> {
    #[derive(Serialize)]
    struct One<'a> {
        at: UnixMillis,
        detail: &'a str,
        kind: &'static str,
        source: Option<String>,
        time: String,
    }
    #[derive(Serialize)]
    struct Answer<E> {
        events: E,
    }
    raw(&Answer {
        events: rows(events, |e| One {
            at: e.at,
            detail: &e.detail,
            kind: e.kind.as_str(),
            source: e.source.as_ref().map(ToString::to_string),
            time: e.at.to_rfc3339(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_history::EventKind;
    use hearth_model::Value as V;
    use serde_json::{Value, json};

    const T: UnixMillis = UnixMillis(1_795_593_600_000); // 2026-11-26T05:20:00Z

    fn parsed(raw: &RawValue) -> Value {
        serde_json::from_str(raw.get()).unwrap()
    }

    fn sample(field: Field, value: V) -> Sample {
        Sample {
            at: T,
            field,
            value,
        }
    }

    /// What the answers were before they were written from rows: the same `Value` maps,
    /// byte for byte (keys in the same order).
    #[test]
    fn answers_are_the_bytes_the_value_trees_wrote() {
        let temp = Field::ThermostatTemperature;
        let samples = vec![
            sample(temp, V::Number(20.5)),
            sample(Field::LockState, V::Text("locked".into())),
        ];
        let page = Page {
            items: samples.clone(),
            next: Some(UnixMillis(T.0 + 1)),
        };
        let old_range = json!({
            "query": "range", "field": temp,
            "samples": samples.iter().map(|s| json!({"at": s.at, "time": s.at.to_rfc3339(), "value": s.value})).collect::<Vec<_>>(),
            "truncated": true, "next_since": page.next.map(UnixMillis::to_rfc3339),
        });
        assert_eq!(range(temp, &page).get(), old_range.to_string());

        let old_latest = json!({"query": "latest", "samples": samples.iter().map(|s| json!({"field": s.field, "at": s.at, "time": s.at.to_rfc3339(), "value": s.value})).collect::<Vec<_>>()});
        assert_eq!(latest(&samples).get(), old_latest.to_string());

        let buckets = Page {
            items: vec![Rollup {
                start: T,
                count: 3,
                min: 19.5,
                avg: 20.25,
                max: f64::NAN,
            }],
            next: None,
        };
        let r = &buckets.items[0];
        let old_rollup = json!({
            "query": "rollup", "field": temp, "every": "1h",
            "buckets": [json!({"start": r.start, "time": r.start.to_rfc3339(), "count": r.count, "min": r.min, "avg": r.avg, "max": r.max})],
            "truncated": false, "next_since": Option::<String>::None,
        });
        assert_eq!(rollup(temp, "1h", &buckets).get(), old_rollup.to_string());

        let evs = vec![
            Event {
                at: T,
                kind: EventKind::ALL[0],
                source: None,
                detail: "with \"quotes\"".into(),
            },
            Event {
                at: UnixMillis(T.0 + 5),
                kind: EventKind::ALL[1],
                source: Some(hearth_model::Source::Local("kitchen".into())),
                detail: String::new(),
            },
        ];
        let old_events = json!({"events": evs.iter().map(|e| json!({"at": e.at, "time": e.at.to_rfc3339(), "kind": e.kind.as_str(), "source": e.source.as_ref().map(ToString::to_string), "detail": e.detail})).collect::<Vec<_>>()});
        assert_eq!(events(&evs).get(), old_events.to_string());
    }

    #[test]
    fn empty_pages_are_empty_lists() {
        let page = Page {
            items: Vec::<Sample>::new(),
            next: None,
        };
        let v = parsed(&range(Field::ThermostatTemperature, &page));
        assert_eq!(v["samples"], json!([]));
        assert_eq!(v["truncated"], json!(false));
        assert_eq!(v["next_since"], Value::Null);
        assert_eq!(parsed(&events(&[]))["events"], json!([]));
    }
}
