//! The daemon's two clocks in one place: monotonic time for control, wall time for records.
//!
//! Wall time is derived from the runtime's monotonic clock plus the wall time at start, so
//! that a test running on tokio's paused clock sees history and ledger timestamps advance
//! with simulated time. A wall-clock jump (NTP sync on a Pi without an RTC) therefore does
//! not move recorded times backwards while the daemon runs.

use hearth_model::UnixMillis;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_wall: UnixMillis,
    start: Instant,
    utc_offset_minutes: i32,
}

impl Clock {
    /// Anchor the clock at the current wall time.
    pub fn start() -> Self {
        Self::anchored(UnixMillis::now())
    }

    /// Anchor the clock at a chosen wall time (tests).
    pub fn anchored(start_wall: UnixMillis) -> Self {
        Self {
            start_wall,
            start: Instant::now(),
            utc_offset_minutes: 0,
        }
    }

    /// The same clock, reading local time at `minutes` east of UTC (`[daemon] utc_offset`).
    pub fn with_utc_offset(self, minutes: i32) -> Self {
        Self {
            utc_offset_minutes: minutes,
            ..self
        }
    }

    /// The house's offset from UTC in minutes, for local time-of-day rules.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Wall time of a monotonic instant.
    pub fn wall(&self, at: Instant) -> UnixMillis {
        self.start_wall
            .saturating_add(at.saturating_duration_since(self.start))
    }

    pub fn wall_now(&self) -> UnixMillis {
        self.wall(Instant::now())
    }

    /// When the daemon started, in wall time.
    pub fn started_at(&self) -> UnixMillis {
        self.start_wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn wall_time_follows_the_paused_clock() {
        let c = Clock::anchored(UnixMillis(1_000_000));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(c.wall_now(), UnixMillis(1_000_000 + 3_600_000));
    }
}
