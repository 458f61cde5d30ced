//! How long the web page's pages take to build, and how heavy they are, on a year of history
//! and 30 days of ledger: `cargo run --release --example web_pages [DIR]`.
//!
//! It writes a synthetic house into DIR (default: a temp dir) — a year of samples at the
//! rates hearth stores them (temperature every 2 min after the deadband, setpoints and modes
//! at the 15-min heartbeat, heating cycles, four door/lock changes a weekday), hourly rollups,
//! and a ledger of two clouds — then builds each page the way the server does (query on the
//! read-only stores, then render the template) and prints the median of 7 builds and the
//! HTML size. The figures are in BENCHMARKS.md; nothing here is a test.

use hearth_history::{Sample, Store};
use hearth_model::{Field, UnixMillis, Value};
use hearthd::ledger::Row;
use hearthd::web::{data, pages, reveal};
use std::path::Path;
use std::time::{Duration, Instant};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn history(path: &Path, start: UnixMillis, days: i64) -> usize {
    let mut store = Store::open(path).expect("creating the history");
    let mut n = 0;
    for d in 0..days {
        let day0 = start.0 + d * DAY;
        let mut s = Vec::new();
        let mut put = |at: i64, field: Field, value: Value| {
            s.push(Sample {
                at: UnixMillis(at),
                field,
                value,
            })
        };
        for m in (0..1440).step_by(2) {
            let t = day0 + m * MIN;
            let wave = ((m as f64) / 40.0).sin() * 0.4;
            put(t, Field::ThermostatTemperature, Value::Number(20.0 + wave));
        }
        for m in (0..1440).step_by(15) {
            let t = day0 + m * MIN + 1;
            put(t, Field::ThermostatSetpointHeat, Value::Number(20.0));
            put(t, Field::ThermostatSetpointCool, Value::Number(24.0));
            put(t, Field::ThermostatHumidity, Value::Number(45.0));
            put(t, Field::ThermostatMode, Value::Text("heat".into()));
            put(t, Field::ThermostatFan, Value::Text("auto".into()));
        }
        for m in (0..1440).step_by(60) {
            let t = day0 + m * MIN + 2;
            put(t, Field::ThermostatAction, Value::Text("heating".into()));
            put(
                t + 20 * MIN,
                Field::ThermostatAction,
                Value::Text("idle".into()),
            );
        }
        let weekday = (day0 / DAY + 3).rem_euclid(7) < 5;
        let mut lock = |m: i64, locked: bool| {
            let v = if locked { "locked" } else { "unlocked" };
            put(day0 + m * MIN + 3, Field::LockState, Value::Text(v.into()));
        };
        lock(450, false);
        if weekday {
            lock(487, true);
            lock(1060, false);
        }
        lock(1350, true);
        for m in (0..1440).step_by(15) {
            put(
                day0 + m * MIN + 4,
                Field::LockDoor,
                Value::Text("closed".into()),
            );
        }
        s.sort_by_key(|x| x.at);
        n += s.len();
        store.insert(&s, &[]).expect("inserting a day");
    }
    store
        .advance_rollups(UnixMillis(start.0 + days * DAY))
        .expect("rolling up");
    n
}

fn ledger(path: &Path, clouds: &[&str], start: UnixMillis, days: i64) -> usize {
    let mut store = hearthd::ledger::Store::open(path).expect("creating the ledger");
    let mut n = 0;
    for d in 0..days {
        let day0 = start.0 + d * DAY;
        let mut rows = Vec::new();
        for cloud in clouds {
            let row =
                |at: i64, field: Option<&str>, kind: &str, detail: &str, payload: Option<&str>| {
                    Row {
                        time: UnixMillis(at),
                        cloud: (*cloud).into(),
                        field: field.map(Into::into),
                        kind: kind.into(),
                        detail: detail.into(),
                        payload: payload.map(|p| p.as_bytes().to_vec()),
                    }
                };
            for m in (0..1440).step_by(2) {
                rows.push(row(
                    day0 + m * MIN,
                    Some("thermostat.temperature"),
                    "withheld",
                    "share = never",
                    None,
                ));
            }
            for (m, v) in [
                (450, "unlocked"),
                (487, "locked"),
                (1060, "unlocked"),
                (1350, "locked"),
            ] {
                let at = day0 + m * MIN;
                rows.push(row(
                    at,
                    Some("lock.state"),
                    "included",
                    &format!("\"{v}\" (on_change)"),
                    None,
                ));
                let payload = format!("{{\"lock.state\":\"{v}\",\"time\":{at}}}");
                rows.push(row(at, None, "sent", "state", Some(&payload)));
            }
        }
        n += rows.len();
        let stored: Vec<hearthd::ledger::Stored> = rows
            .into_iter()
            .map(hearthd::ledger::Stored::single)
            .collect();
        store.insert(&stored).expect("inserting ledger rows");
    }
    n
}

/// Median of 7 runs of `f`, and what the last one returned.
fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..7 {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[3], last.unwrap())
}

fn main() {
    use askama::Template;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let now = UnixMillis::now();
    let start = UnixMillis((now.0 / DAY - 365) * DAY);
    let cfg_text = format!(
        "[hardware]\nbackend = \"simulator\"\n[history]\npath = \"{}\"\n[ledger]\npath = \"{}\"\n\
         [[cloud]]\nname = \"full\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = 1\nclient_id = \"a\"\ntopic_prefix = \"a\"\n\
         [cloud.policy.fields.\"lock.state\"]\nshare = \"on_change\"\n\
         [[cloud]]\nname = \"temp\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = 2\nclient_id = \"b\"\ntopic_prefix = \"b\"\n\
         [cloud.policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\n",
        dir.join("history.db").display(),
        dir.join("ledger.db").display()
    );
    let cfg = hearthd::config::parse(Path::new("bench.toml"), &cfg_text).unwrap();
    let t = Instant::now();
    let samples = history(&cfg.history.path, start, 365);
    let rows = ledger(
        &cfg.ledger.path,
        &["full", "temp"],
        UnixMillis(now.0 - 30 * DAY),
        30,
    );
    println!(
        "data: {samples} history samples over 365 days, {rows} ledger rows over 30 days (written in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let src = hearthd::web::sources(&cfg);
    let local = src.local;
    println!("{:<24} {:>10} {:>10}", "page", "build ms", "HTML kB");
    let report = |name: &str, d: Duration, html: String| {
        println!(
            "{name:<24} {:>10.1} {:>10.1}",
            d.as_secs_f64() * 1e3,
            html.len() as f64 / 1e3
        );
    };
    for range in data::Range::ALL {
        let (d, html) = time(|| {
            let h = data::history(&src, range, now).unwrap();
            pages::HistoryPage::new(&h, local, false).render().unwrap()
        });
        report(&format!("history {}", range.as_str()), d, html);
    }
    for range in [data::Range::Week, data::Range::Month] {
        let since = now.saturating_sub(range.duration());
        let (d, html) = time(|| {
            let clouds = data::ledger(&src, since).unwrap();
            let sections = clouds
                .iter()
                .map(|c| pages::CloudSection::new(c, String::new(), range, since, now, local))
                .collect();
            pages::SharingPage {
                active: "sharing",
                logged_in: false,
                built: pages::BUILT,
                ranges: vec![],
                range: range.as_str(),
                clouds: sections,
            }
            .render()
            .unwrap()
        });
        report(&format!("sharing {}", range.as_str()), d, html);
    }
    let since = hearthd::web::server::reveal_window(local, now, 7);
    let (d, html) = time(|| {
        let r = reveal::reveal(&src, since, now, None).unwrap();
        pages::RevealsPage::new(&r, false).render().unwrap()
    });
    report("what it reveals (8 days)", d, html);
    println!(
        "stylesheet: {:.1} kB, no other assets",
        include_str!("../src/web/hearth.css").len() as f64 / 1e3
    );
}
