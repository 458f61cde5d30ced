//! The pages as askama templates (compile-time checked, HTML-escaped) and the code that fills
//! them from what `data.rs` and `reveal.rs` read. Pure: no I/O here.

use super::data::{CloudLedger, EVENTS, HistoryData, Range};
use super::reveal::Reveal;
use super::svg;
use askama::Template;
use hearth_infer::Local;
use hearth_model::{Field, HouseState, UnixMillis};

/// Shown in every footer.
pub const BUILT: &str = concat!("hearthd ", env!("CARGO_PKG_VERSION"));

#[derive(Template)]
#[template(path = "web/now.html")]
pub(crate) struct NowPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub temperature: String,
    pub humidity: Option<String>,
    pub mode: String,
    pub action: String,
    pub setpoint_heat: String,
    pub setpoint_cool: String,
    pub lock: String,
    pub door: String,
    pub faults: Vec<String>,
    /// (name, up, detail)
    pub links: Vec<(String, bool, String)>,
    pub clouds: Vec<String>,
}

impl NowPage {
    pub fn new(
        s: &HouseState,
        links: Vec<(String, bool, String)>,
        clouds: &[CloudLedger],
        logged_in: bool,
    ) -> Self {
        let t = &s.thermostat;
        let faults = t
            .faults
            .iter()
            .chain(s.lock.faults.iter())
            .map(|f| format!("{f:?}"))
            .collect();
        NowPage {
            active: "now",
            logged_in,
            built: BUILT,
            temperature: t
                .temperature
                .map_or("no reading".into(), |v| format!("{v:.1} °C")),
            humidity: t.humidity.map(|h| format!("{h:.0} %")),
            mode: t.mode.as_str().into(),
            action: t.action.as_str().into(),
            setpoint_heat: format!("{:.1} °C", t.setpoint_heat),
            setpoint_cool: format!("{:.1} °C", t.setpoint_cool),
            lock: s.lock.state.as_str().into(),
            door: s.lock.door.map_or("not read yet", |d| d.as_str()).into(),
            faults,
            links,
            clouds: clouds.iter().map(super::data::received_sentence).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/history.html")]
pub struct HistoryPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub ranges: Vec<&'static str>,
    pub range: &'static str,
    pub from: String,
    pub to: String,
    pub source: &'static str,
    pub temperature_svg: String,
    pub temperature_points: usize,
    pub lock_svg: String,
    pub lock_changes: usize,
    pub door_changes: usize,
    pub csv_fields: Vec<&'static str>,
    pub events_limit: usize,
    /// time, kind, source, detail
    pub events: Vec<(String, String, String, String)>,
}

fn minute(t: UnixMillis, local: Local) -> String {
    format!("{} {}", local.date(local.day(t)), local.hhmm(t))
}

impl HistoryPage {
    pub fn new(h: &HistoryData, local: Local, logged_in: bool) -> Self {
        HistoryPage {
            active: "history",
            logged_in,
            built: BUILT,
            ranges: Range::ALL.iter().map(|r| r.as_str()).collect(),
            range: h.range.as_str(),
            from: minute(h.since, local),
            to: minute(h.until, local),
            source: match h.range.step() {
                None => "raw samples",
                Some(s) if s.as_secs() == 3600 => "hourly rollups (min, mean, max)",
                Some(_) => "daily rollups of the hourly table (min, mean, max)",
            },
            temperature_svg: svg::temperature_chart(h, local),
            temperature_points: h.temperature.len(),
            lock_svg: svg::lock_timeline(h, local),
            lock_changes: super::data::real_changes(&h.lock),
            door_changes: super::data::real_changes(&h.door),
            csv_fields: Field::ALL.iter().map(|f| f.name()).collect(),
            events_limit: EVENTS,
            events: h
                .events
                .iter()
                .rev()
                .map(|e| {
                    (
                        minute(e.at, local),
                        e.kind.as_str().into(),
                        e.source.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                        e.detail.clone(),
                    )
                })
                .collect(),
        }
    }
}

pub(crate) struct Message {
    pub time: String,
    pub len: usize,
    pub detail: String,
    pub text: String,
    pub hex: String,
}

pub(crate) struct FieldDay {
    pub day: String,
    pub field: String,
    pub included: u64,
    pub transformed: u64,
    pub withheld: u64,
}

pub struct CloudSection {
    pub name: String,
    pub sent: usize,
    pub bytes: usize,
    pub withheld: u64,
    pub transformed: u64,
    pub refused: Vec<String>,
    pub ticks_svg: String,
    /// day, messages, bytes
    pub per_day: Vec<(String, usize, usize)>,
    pub(crate) per_field: Vec<FieldDay>,
    pub(crate) messages: Vec<Message>,
    pub policy: String,
    /// Only the newest [`super::data::LEDGER_ROWS`] rows were read: bytes are a lower bound.
    pub truncated: bool,
}

/// Messages listed with their bytes per cloud, the newest.
pub(crate) const MESSAGES_LISTED: usize = 100;

impl CloudSection {
    pub fn new(
        c: &CloudLedger,
        policy: String,
        range: Range,
        since: UnixMillis,
        until: UnixMillis,
        local: Local,
    ) -> Self {
        let (sent, bytes) = c.sent_totals();
        // Messages per day from the totals; bytes from the rows read.
        let mut per_day: Vec<(String, usize, usize)> = c
            .totals
            .iter()
            .filter(|t| t.kind == "sent")
            .map(|t| (t.day.clone(), t.count as usize, 0))
            .collect();
        for r in c.sent() {
            let day = Local::new(0).date(Local::new(0).day(r.row.time));
            let len = r.row.payload.as_ref().map_or(0, Vec::len);
            match per_day.iter_mut().find(|d| d.0 == day) {
                Some(d) => d.2 += len,
                None => per_day.push((day, 0, len)),
            }
        }
        per_day.sort();
        let mut per_field: Vec<FieldDay> = Vec::new();
        for t in c.totals.iter().filter(|t| t.field != "-") {
            let i = match per_field
                .iter()
                .position(|f| f.day == t.day && f.field == t.field)
            {
                Some(i) => i,
                None => {
                    per_field.push(FieldDay {
                        day: t.day.clone(),
                        field: t.field.clone(),
                        included: 0,
                        transformed: 0,
                        withheld: 0,
                    });
                    per_field.len() - 1
                }
            };
            let f = &mut per_field[i];
            match t.kind.as_str() {
                "included" => f.included += t.count,
                "transformed" => f.transformed += t.count,
                "withheld" => f.withheld += t.count,
                _ => {}
            }
        }
        let mut times: Vec<UnixMillis> = c.sent().map(|r| r.row.time).collect();
        times.reverse();
        CloudSection {
            name: c.name.clone(),
            sent,
            bytes,
            withheld: c.count("withheld"),
            transformed: c.count("transformed"),
            refused: c
                .rows
                .iter()
                .filter(|r| r.row.kind == "command_refused")
                .map(|r| format!("{} {}", minute(r.row.time, local), r.row.detail))
                .collect(),
            ticks_svg: svg::sent_ticks(&times, range, since, until, local),
            per_day,
            per_field,
            messages: c
                .sent()
                .take(MESSAGES_LISTED)
                .map(|r| {
                    let p = r.row.payload.clone().unwrap_or_default();
                    Message {
                        time: r.row.time.to_rfc3339(),
                        len: p.len(),
                        detail: r.row.detail.clone(),
                        text: String::from_utf8_lossy(&p).into_owned(),
                        hex: hex::encode(&p),
                    }
                })
                .collect(),
            policy,
            truncated: c.truncated(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/sharing.html")]
pub struct SharingPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub ranges: Vec<&'static str>,
    pub range: &'static str,
    pub clouds: Vec<CloudSection>,
}

#[derive(Template)]
#[template(path = "web/reveals.html")]
pub struct RevealsPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub from: String,
    pub to: String,
    /// (view name, sentence)
    pub summaries: Vec<(String, String)>,
    /// (day label, one cell per view)
    pub days: Vec<(String, Vec<String>)>,
    pub rules: Vec<(&'static str, &'static str)>,
}

/// One cell of the side-by-side table.
fn cell(d: &hearth_infer::DaySummary) -> String {
    let mut parts: Vec<String> = d.empty.iter().map(|e| format!("empty {e}")).collect();
    parts.extend(d.bed.iter().map(|b| format!("bed {b}")));
    if parts.is_empty() {
        "–".into()
    } else {
        parts.join("; ")
    }
}

impl RevealsPage {
    pub fn new(r: &Reveal, logged_in: bool) -> Self {
        let per_view: Vec<Vec<hearth_infer::DaySummary>> = r
            .views()
            .map(|v| v.inference.days(r.local, r.first_day, r.last_day))
            .collect();
        let days = (0..per_view.first().map_or(0, Vec::len))
            .map(|i| {
                (
                    per_view[0][i].label.clone(),
                    per_view.iter().map(|v| cell(&v[i])).collect(),
                )
            })
            .collect();
        RevealsPage {
            active: "reveals",
            logged_in,
            built: BUILT,
            from: r.local.day_label(r.first_day),
            to: r.local.day_label(r.last_day),
            summaries: r.views().map(|v| (v.name.clone(), r.sentence(v))).collect(),
            days,
            rules: hearth_infer::Rule::ALL
                .iter()
                .map(|r| (r.name(), r.text()))
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/login.html")]
pub(crate) struct LoginPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub message: Option<String>,
}

#[derive(Template)]
#[template(path = "web/error.html")]
pub(crate) struct ErrorPage {
    pub active: &'static str,
    pub logged_in: bool,
    pub built: &'static str,
    pub heading: String,
    pub message: String,
}
