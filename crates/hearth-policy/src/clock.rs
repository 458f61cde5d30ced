//! Time as the policy sees it: the caller's clocks, time-of-day windows and consent dates.
//!
//! The policy never reads a clock itself; every call gets a `Now`. Windows and consent dates
//! are local to the house: the caller passes its UTC offset (minutes east of UTC) so that
//! "07:00-22:00" means seven in the morning where the house is. Nothing here does I/O.

use hearth_model::UnixMillis;
use std::time::Instant;

/// The moment a policy call happens, from the caller's clocks.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Wall time: timestamps in payloads and the ledger, windows and consent dates.
    pub wall: UnixMillis,
    /// Monotonic time: rate limits and periodic sends, immune to the wall clock jumping
    /// (a Pi has no RTC and its clock leaps when NTP first syncs).
    pub mono: Instant,
    /// The house's offset from UTC in minutes (e.g. 60 for CET, -300 for EST).
    pub utc_offset_minutes: i32,
}

impl Now {
    fn local_millis(&self) -> i64 {
        self.wall.0 + i64::from(self.utc_offset_minutes) * 60_000
    }

    /// Minutes since local midnight, 0..1440.
    pub(crate) fn local_minute_of_day(&self) -> u32 {
        (self.local_millis().div_euclid(60_000).rem_euclid(1440)) as u32
    }

    /// Days since 1970-01-01 in local time.
    pub(crate) fn local_day(&self) -> i64 {
        self.local_millis().div_euclid(86_400_000)
    }
}

/// A daily time-of-day window in local time, `start` inclusive, `end` exclusive; it may
/// wrap past midnight ("22:00-06:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    start: u32,
    end: u32,
}

impl Window {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let hint = "write it as \"HH:MM-HH:MM\" in the house's local time, e.g. \"07:00-22:00\"";
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not a time window; {hint}"))?;
        let start = parse_hhmm(a.trim()).map_err(|e| format!("`{s}`: {e}; {hint}"))?;
        let end = parse_hhmm(b.trim()).map_err(|e| format!("`{s}`: {e}; {hint}"))?;
        if start == end {
            return Err(format!(
                "`{s}` starts and ends at the same time, so it is never open; \
                 to share all day, remove `window`"
            ));
        }
        Ok(Self { start, end })
    }

    pub(crate) fn contains(&self, minute_of_day: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start || minute_of_day < self.end
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

fn parse_hhmm(s: &str) -> Result<u32, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not HH:MM"))?;
    let h: u32 = h
        .parse()
        .map_err(|_| format!("hour `{h}` is not a number"))?;
    let m: u32 = m
        .parse()
        .map_err(|_| format!("minute `{m}` is not a number"))?;
    // 24:00 is accepted as the end of the day.
    if h > 24 || (h == 24 && m != 0) {
        return Err(format!("hour {h} is out of range 00..23"));
    }
    if m > 59 {
        return Err(format!("minute {m} is out of range 00..59"));
    }
    Ok((h * 60 + m) % 1440)
}

/// A calendar date (local), stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Day {
    days: i64,
    text: (i32, u32, u32),
}

impl Day {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let hint = "write a date as \"YYYY-MM-DD\", e.g. \"2026-12-31\"";
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(format!("`{s}` is not a date; {hint}"));
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(format!("`{s}` is not a date; {hint}"));
        }
        let num = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| format!("`{s}` is not a date; {hint}"))
        };
        let (y, m, d) = (num(y)? as i32, num(m)?, num(d)?);
        if !(1..=12).contains(&m) {
            return Err(format!("`{s}`: month {m} does not exist; {hint}"));
        }
        if d == 0 || d > days_in_month(y, m) {
            return Err(format!(
                "`{s}`: day {d} does not exist in {y}-{m:02}; {hint}"
            ));
        }
        Ok(Self {
            days: days_from_civil(y, m, d),
            text: (y, m, d),
        })
    }

    /// Whether consent until this date (inclusive) still holds on the local day `today`.
    pub(crate) fn still_valid(&self, today: i64) -> bool {
        today <= self.days
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.text;
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc: &str, offset: i32) -> Now {
        Now {
            wall: UnixMillis::parse_rfc3339(rfc).unwrap(),
            mono: Instant::now(),
            utc_offset_minutes: offset,
        }
    }

    #[test]
    fn windows_plain_and_wrapping() {
        let w = Window::parse("07:00-22:00").unwrap();
        assert!(w.contains(7 * 60) && w.contains(21 * 60 + 59));
        assert!(!w.contains(22 * 60) && !w.contains(6 * 60 + 59));
        let night = Window::parse("22:00-06:30").unwrap();
        assert!(night.contains(23 * 60) && night.contains(0) && night.contains(6 * 60 + 29));
        assert!(!night.contains(12 * 60));
        assert_eq!(night.to_string(), "22:00-06:30");
        assert!(
            Window::parse("00:00-24:00").is_err(),
            "00:00 == 24:00 is empty"
        );
    }

    #[test]
    fn malformed_windows_say_what_is_wrong() {
        for (bad, needle) in [
            ("7-22", "not HH:MM"),
            ("25:00-07:00", "hour 25"),
            ("07:60-08:00", "minute 60"),
            ("0700 2200", "not a time window"),
            ("08:00-08:00", "never open"),
        ] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn dates_parse_and_reject_impossible_days() {
        let d = Day::parse("2026-12-31").unwrap();
        assert_eq!(d.to_string(), "2026-12-31");
        assert_eq!(Day::parse("1970-01-01").unwrap().days, 0);
        assert!(Day::parse("2024-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-04-31",
            "31/12/2026",
            "2026-1-1",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_time_uses_the_offset() {
        // 23:30 UTC is 00:30 the next day in UTC+1.
        let n = at("2026-12-31T23:30:00Z", 60);
        assert_eq!(n.local_minute_of_day(), 30);
        let last = Day::parse("2026-12-31").unwrap();
        assert!(!last.still_valid(n.local_day()));
        assert!(last.still_valid(at("2026-12-31T23:30:00Z", 0).local_day()));
        assert_eq!(
            at("2026-01-01T03:00:00Z", -300).local_minute_of_day(),
            22 * 60
        );
    }
}
