//! Local calendar arithmetic on `UnixMillis` with a fixed UTC offset: day starts, weekdays,
//! `HH:MM` and `YYYY-MM-DD`. No clock is read here.

use hearth_model::UnixMillis;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// A fixed offset from UTC, in minutes east.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Local {
    pub offset_minutes: i32,
}

impl Local {
    pub fn new(offset_minutes: i32) -> Self {
        Self { offset_minutes }
    }

    fn shift(self, t: UnixMillis) -> i64 {
        t.0 + i64::from(self.offset_minutes) * MINUTE_MS
    }

    /// Local days since 1970-01-01.
    pub fn day(self, t: UnixMillis) -> i64 {
        self.shift(t).div_euclid(DAY_MS)
    }

    /// The instant local day `day` starts.
    pub fn day_start(self, day: i64) -> UnixMillis {
        UnixMillis(day * DAY_MS - i64::from(self.offset_minutes) * MINUTE_MS)
    }

    /// Minutes since local midnight, 0..1440.
    pub fn minute_of_day(self, t: UnixMillis) -> i64 {
        self.shift(t).rem_euclid(DAY_MS) / MINUTE_MS
    }

    /// `HH:MM` local.
    pub fn hhmm(self, t: UnixMillis) -> String {
        let m = self.minute_of_day(t);
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    /// `YYYY-MM-DD` of a local day number.
    pub fn date(self, day: i64) -> String {
        let (y, m, d) = civil_from_days(day);
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `Mon 2026-11-23`.
    pub fn day_label(self, day: i64) -> String {
        format!("{} {}", weekday_name(day), self.date(day))
    }
}

/// 0 = Monday .. 6 = Sunday for a day number since 1970-01-01 (a Thursday).
pub fn weekday(day: i64) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

pub fn weekday_name(day: i64) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][weekday(day) as usize]
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        let t = UnixMillis::parse_rfc3339("2026-11-30T08:05:00Z").unwrap();
        let utc = Local::new(0);
        assert_eq!(utc.date(utc.day(t)), "2026-11-30");
        assert_eq!(weekday_name(utc.day(t)), "Mon");
        assert_eq!(utc.hhmm(t), "08:05");
        let cet = Local::new(60);
        assert_eq!(cet.hhmm(t), "09:05");
        assert_eq!(
            cet.day_start(cet.day(t)).to_rfc3339(),
            "2026-11-29T23:00:00.000Z"
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
