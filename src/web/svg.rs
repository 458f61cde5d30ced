//! Server-rendered SVG charts: temperature against setpoints with heating and cooling
//! periods, the lock and door timeline, and a tick per message sent to a cloud. Pure string
//! building from data already read; colours come from classes in `hearth.css` (the CSP
//! forbids inline styles), so the charts work without JavaScript.

use super::data::{HistoryData, Range, Series};
use hearth_infer::Local;
use hearth_model::UnixMillis;
use std::fmt::Write;

const W: f64 = 800.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 790.0;

/// Escape text for SVG/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct XScale {
    since: i64,
    until: i64,
}

impl XScale {
    fn x(&self, t: UnixMillis) -> f64 {
        let span = (self.until - self.since).max(1) as f64;
        LEFT + (t.0.clamp(self.since, self.until) - self.since) as f64 / span * (RIGHT - LEFT)
    }
}

/// Vertical grid lines and labels along the time axis at `y`.
fn time_axis(out: &mut String, range: Range, sx: &XScale, local: Local, top: f64, y: f64) {
    let day = 86_400_000i64;
    let (every, label_days): (i64, bool) = match range {
        Range::Day => (3 * 3_600_000, false),
        Range::Week => (day, true),
        Range::Month => (5 * day, true),
        Range::Year => (30 * day, true),
    };
    let offset = i64::from(local.offset_minutes) * 60_000;
    let mut t = (sx.since + offset).div_euclid(every) * every - offset + every;
    while t < sx.until {
        let x = sx.x(UnixMillis(t));
        let label = if label_days {
            local.date(local.day(UnixMillis(t)))[5..].to_owned()
        } else {
            local.hhmm(UnixMillis(t))
        };
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{y}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y + 14.0,
            esc(&label)
        );
        t += every;
    }
}

/// Keep at most two points (min and max) per pixel column.
fn thin(points: &[(UnixMillis, f64)], sx: &XScale) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut col: Option<(i64, f64, f64, f64)> = None; // column, x, min, max
    let flush = |out: &mut Vec<(f64, f64)>, c: (i64, f64, f64, f64)| {
        out.push((c.1, c.2));
        if c.3 != c.2 {
            out.push((c.1, c.3));
        }
    };
    for &(t, v) in points {
        let x = sx.x(t);
        let c = x as i64;
        match col {
            Some((cc, cx, lo, hi)) if cc == c => col = Some((cc, cx, lo.min(v), hi.max(v))),
            _ => {
                if let Some(prev) = col.take() {
                    flush(&mut out, prev);
                }
                col = Some((c, x, v, v));
            }
        }
    }
    if let Some(prev) = col {
        flush(&mut out, prev);
    }
    out
}

use super::data::GAP_MS as GAP_RAW_MS;

/// Split points where consecutive times are more than `gap` ms apart.
fn gaps(points: &[(UnixMillis, f64)], gap: i64) -> Vec<&[(UnixMillis, f64)]> {
    let mut out = Vec::new();
    let mut from = 0;
    for i in 1..points.len() {
        if points[i].0.0 - points[i - 1].0.0 > gap {
            out.push(&points[from..i]);
            from = i;
        }
    }
    if from < points.len() {
        out.push(&points[from..]);
    }
    out
}

fn series_points(s: &Series) -> Vec<(UnixMillis, f64)> {
    match s {
        Series::Raw(v) => v.clone(),
        Series::Rolled(v) => v.iter().map(|r| (r.start, r.avg)).collect(),
    }
}

/// Spans where a text field had `value`, from its changes.
pub fn spans(
    changes: &[(UnixMillis, String)],
    value: &str,
    until: UnixMillis,
) -> Vec<(UnixMillis, UnixMillis)> {
    let mut out = Vec::new();
    for (i, (t, v)) in changes.iter().enumerate() {
        if v == value {
            let end = changes.get(i + 1).map_or(until, |n| n.0);
            out.push((*t, end));
        }
    }
    out
}

/// Join spans separated by less than `gap` ms.
pub fn merge_spans(
    spans: Vec<(UnixMillis, UnixMillis)>,
    gap: i64,
) -> Vec<(UnixMillis, UnixMillis)> {
    let mut out: Vec<(UnixMillis, UnixMillis)> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a.0 - last.1.0 <= gap => last.1 = b,
            _ => out.push((a, b)),
        }
    }
    out
}

/// Temperature (line; for rollups the avg with a min–max band), heat and cool setpoints
/// (step lines) and heating/cooling periods (shaded).
pub fn temperature_chart(h: &HistoryData, local: Local) -> String {
    let (top, bottom) = (10.0, 210.0);
    let sx = XScale {
        since: h.since.0,
        until: h.until.0,
    };
    let mut values: Vec<f64> = Vec::new();
    for s in [&h.temperature, &h.setpoint_heat, &h.setpoint_cool] {
        match s {
            Series::Raw(v) => values.extend(v.iter().map(|p| p.1)),
            Series::Rolled(v) => values.extend(v.iter().flat_map(|r| [r.min, r.max])),
        }
    }
    let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() {
        ((lo - 1.0).floor(), (hi + 1.0).ceil())
    } else {
        (15.0, 25.0)
    };
    let y = |v: f64| bottom - (v - lo) / (hi - lo).max(0.1) * (bottom - top);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} 230\" role=\"img\" aria-label=\"temperature and setpoints, {}\">",
        h.range.as_str()
    );
    // Spans closer than half a pixel merge: a year of hourly heating cycles is one shape per
    // stretch of days, not thousands of rectangles.
    let half_px = (h.until.0 - h.since.0) / (2 * (RIGHT - LEFT) as i64);
    for (class, value) in [("heat", "heating"), ("cool", "cooling")] {
        for (a, b) in merge_spans(spans(&h.action, value, h.until), half_px) {
            let (x1, x2) = (sx.x(a), sx.x(b));
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{x1:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{}\"/>",
                (x2 - x1).max(0.5),
                bottom - top
            );
        }
    }
    let step = if hi - lo > 12.0 { 5.0 } else { 1.0 };
    let mut v = (lo / step).ceil() * step;
    while v <= hi {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{RIGHT}\" y2=\"{0:.1}\"/>\
             <text class=\"tick\" x=\"{1}\" y=\"{2:.1}\" text-anchor=\"end\">{v}</text>",
            y(v),
            LEFT - 4.0,
            y(v) + 4.0
        );
        v += step;
    }
    time_axis(&mut out, h.range, &sx, local, top, bottom);
    let gap = match h.range.step() {
        None => GAP_RAW_MS,
        Some(step) => 2 * step.as_millis() as i64,
    };
    if let Series::Rolled(r) = &h.temperature {
        // The min-max band, one polygon per stretch without a gap.
        let mut from = 0;
        for i in 1..=r.len() {
            if i < r.len() && r[i].start.0 - r[i - 1].start.0 <= gap {
                continue;
            }
            let part = &r[from..i];
            from = i;
            let mut pts: Vec<String> = part
                .iter()
                .map(|b| format!("{:.1},{:.1}", sx.x(b.start), y(b.max)))
                .collect();
            pts.extend(
                part.iter()
                    .rev()
                    .map(|b| format!("{:.1},{:.1}", sx.x(b.start), y(b.min))),
            );
            let _ = write!(
                out,
                "<polygon class=\"band\" points=\"{}\"/>",
                pts.join(" ")
            );
        }
    }
    for (class, s, stepped) in [
        ("sp-heat", &h.setpoint_heat, true),
        ("sp-cool", &h.setpoint_cool, true),
        ("temp", &h.temperature, false),
    ] {
        // hearth records every field at least every heartbeat: a longer gap means it was not
        // running, and the line breaks there instead of inventing values.
        let all = series_points(s);
        let last_segment = gaps(&all, gap).len();
        for (n, segment) in gaps(&all, gap).into_iter().enumerate() {
            let pts = thin(segment, &sx);
            let mut d = String::new();
            for (i, (x, v)) in pts.iter().enumerate() {
                if i > 0 && stepped {
                    let _ = write!(d, " {x:.1},{:.1}", y(pts[i - 1].1));
                }
                let _ = write!(d, " {x:.1},{:.1}", y(*v));
            }
            if stepped
                && n + 1 == last_segment
                && let Some((_, v)) = pts.last()
            {
                let _ = write!(d, " {RIGHT},{:.1}", y(*v));
            }
            let _ = write!(out, "<polyline class=\"{class}\" points=\"{}\"/>", d.trim());
        }
    }
    out.push_str("</svg>");
    out
}

/// Two lanes: the bolt (locked / unlocked / other) and the door (open / closed).
pub fn lock_timeline(h: &HistoryData, local: Local) -> String {
    let sx = XScale {
        since: h.since.0,
        until: h.until.0,
    };
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} 90\" role=\"img\" aria-label=\"lock and door, {}\">",
        h.range.as_str()
    );
    for (lane, changes, y) in [("lock", &h.lock, 10.0), ("door", &h.door, 40.0)] {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{lane}</text>",
            LEFT - 4.0,
            y + 14.0
        );
        let mut last_col = f64::NEG_INFINITY;
        for (i, (t, v)) in changes.iter().enumerate() {
            let end = changes.get(i + 1).map_or(h.until, |n| n.0);
            let (x1, x2) = (sx.x(*t), sx.x(end));
            // One state per pixel column at most: at a year's scale the rest is invisible.
            if v == super::data::NO_DATA || (x1.floor() <= last_col && x2 - x1 < 1.0) {
                continue;
            }
            last_col = x1.floor();
            let _ = write!(
                out,
                "<rect class=\"st-{}\" x=\"{x1:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"20\"><title>{} {}</title></rect>",
                esc(v),
                (x2 - x1).max(0.5),
                esc(v),
                local.hhmm(*t)
            );
        }
    }
    time_axis(&mut out, h.range, &sx, local, 5.0, 65.0);
    out.push_str("</svg>");
    out
}

/// A tick per message sent to a cloud in `since..until`.
pub fn sent_ticks(
    times: &[UnixMillis],
    range: Range,
    since: UnixMillis,
    until: UnixMillis,
    local: Local,
) -> String {
    let sx = XScale {
        since: since.0,
        until: until.0,
    };
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} 50\" role=\"img\" aria-label=\"{} messages sent\">",
        times.len()
    );
    let mut last_x = f64::NEG_INFINITY;
    for t in times {
        let x = sx.x(*t);
        if x - last_x >= 0.5 {
            let _ = write!(
                out,
                "<line class=\"sent\" x1=\"{x:.1}\" y1=\"5\" x2=\"{x:.1}\" y2=\"30\"/>"
            );
            last_x = x;
        }
    }
    time_axis(&mut out, range, &sx, local, 5.0, 30.0);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(m: i64) -> UnixMillis {
        UnixMillis(m * 60_000)
    }

    #[test]
    fn spans_gaps_and_escaping() {
        let changes = vec![
            (t(0), "idle".to_owned()),
            (t(10), "heating".to_owned()),
            (t(20), "idle".to_owned()),
            (t(21), "heating".to_owned()),
        ];
        let s = spans(&changes, "heating", t(30));
        assert_eq!(s, vec![(t(10), t(20)), (t(21), t(30))]);
        assert_eq!(merge_spans(s.clone(), 60_000), vec![(t(10), t(30))]);
        assert_eq!(merge_spans(s, 0).len(), 2);
        let pts = [(t(0), 1.0), (t(10), 2.0), (t(200), 3.0)];
        let parts = gaps(&pts, GAP_RAW_MS);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], &pts[2..]);
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
