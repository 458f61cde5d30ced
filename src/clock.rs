//! The daemon's clocks in one place: monotonic time for control, wall time for records, and
//! the house's time zone for local time-of-day rules.
//!
//! Wall time comes from a [`WallSource`]: the system clock in the daemon, so that an NTP step
//! at boot (a Pi has no RTC and starts on fake-hwclock time) corrects every later timestamp;
//! or [`SimulatedWall`] in tests on tokio's paused clock, which follows simulated time and can
//! be stepped. Control intervals never use wall time. Every reading is compared with the
//! monotonic time since the previous one: a jump of more than [`STEP_TOLERANCE`] is logged,
//! and a backward jump never moves recorded times backwards (history keeps its order and its
//! rollup watermark) — timestamps hold still until the system clock passes them again.
//!
//! `Clock` is `Copy` so every task can hold one; its shared part (source, time zone, last
//! reading) is allocated once per daemon start and lives for the rest of the process.

use hearth_model::UnixMillis;
use jiff::tz::TimeZone;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// A wall-clock difference from what monotonic time predicts that counts as a step.
pub(crate) const STEP_TOLERANCE: Duration = Duration::from_secs(2);

/// Where wall time comes from.
pub trait WallSource: Send + Sync + 'static {
    fn now(&self) -> UnixMillis;
}

/// The system clock (`SystemTime`), as set by NTP.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemWall;

impl WallSource for SystemWall {
    fn now(&self) -> UnixMillis {
        UnixMillis::now()
    }
}

/// Wall time that follows tokio's clock from a chosen start, plus steps a test makes: the
/// stand-in for the system clock when days are simulated on the paused clock.
#[derive(Debug)]
pub struct SimulatedWall {
    start_wall: UnixMillis,
    start: Instant,
    stepped_ms: AtomicI64,
}

impl SimulatedWall {
    pub fn new(start_wall: UnixMillis) -> Self {
        Self {
            start_wall,
            start: Instant::now(),
            stepped_ms: AtomicI64::new(0),
        }
    }

    /// Step the simulated system clock, as NTP does at boot (negative: backwards).
    pub fn step(&self, by_ms: i64) {
        self.stepped_ms.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl WallSource for SimulatedWall {
    fn now(&self) -> UnixMillis {
        let base = self
            .start_wall
            .saturating_add(Instant::now().saturating_duration_since(self.start));
        UnixMillis(
            base.0
                .saturating_add(self.stepped_ms.load(Ordering::SeqCst)),
        )
    }
}

impl<W: WallSource> WallSource for std::sync::Arc<W> {
    fn now(&self) -> UnixMillis {
        (**self).now()
    }
}

struct Shared {
    source: Box<dyn WallSource>,
    zone: RwLock<TimeZone>,
    started_at: UnixMillis,
    /// The last reading handed out, with the monotonic time it was taken at.
    last: Mutex<(Instant, UnixMillis)>,
}

#[derive(Clone, Copy)]
pub struct Clock {
    shared: &'static Shared,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("started_at", &self.shared.started_at)
            .field("time_zone", &self.time_zone_name())
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// The system clock, in the system's local time zone.
    pub fn start() -> Self {
        Self::with_source(SystemWall, TimeZone::system())
    }

    /// Wall time following tokio's clock from `start_wall`, in UTC (tests).
    pub fn anchored(start_wall: UnixMillis) -> Self {
        Self::with_source(SimulatedWall::new(start_wall), TimeZone::UTC)
    }

    /// A clock reading wall time from `source`, local time in `zone`.
    pub fn with_source(source: impl WallSource, zone: TimeZone) -> Self {
        let first = source.now();
        // One small allocation per daemon start, kept for the life of the process so the
        // clock stays `Copy` for every task that holds one.
        let shared = Box::leak(Box::new(Shared {
            source: Box::new(source),
            zone: RwLock::new(zone),
            started_at: first,
            last: Mutex::new((Instant::now(), first)),
        }));
        Self { shared }
    }

    /// The same clock with local time in `zone` (`[daemon] time_zone`).
    pub fn with_time_zone(self, zone: TimeZone) -> Self {
        self.set_time_zone(zone);
        self
    }

    /// Change the house's time zone (a config reload); every holder of this clock sees it.
    pub fn set_time_zone(&self, zone: TimeZone) {
        let mut current = self.shared.zone.write().unwrap_or_else(|p| p.into_inner());
        if current.iana_name() != zone.iana_name() {
            tracing::info!(
                from = current.iana_name().unwrap_or("(fixed)"),
                to = zone.iana_name().unwrap_or("(fixed)"),
                "time zone changed"
            );
        }
        *current = zone;
    }

    pub fn time_zone(&self) -> TimeZone {
        self.shared
            .zone
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn time_zone_name(&self) -> String {
        self.time_zone().iana_name().unwrap_or("(fixed)").to_owned()
    }

    /// The house's offset from UTC at `at`, in minutes (DST included), for the policy's
    /// local time-of-day windows and consent dates.
    pub fn utc_offset_minutes_at(&self, at: UnixMillis) -> i32 {
        let Ok(ts) = jiff::Timestamp::from_millisecond(at.0) else {
            return 0;
        };
        self.time_zone().to_offset(ts).seconds() / 60
    }

    /// The house's offset from UTC now, in minutes.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes_at(self.wall_now())
    }

    /// The policy's view of now: wall, monotonic, and the offset in force at that wall time.
    pub fn policy_now(&self) -> hearth_policy::Now {
        let mono = self.now();
        let wall = self.wall(mono);
        hearth_policy::Now {
            wall,
            mono: mono.into_std(),
            utc_offset_minutes: self.utc_offset_minutes_at(wall),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Wall time of a monotonic instant (now, or shortly before).
    pub fn wall(&self, at: Instant) -> UnixMillis {
        let now = Instant::now();
        let wall = self.wall_now_at(now);
        wall.saturating_sub(now.saturating_duration_since(at))
    }

    /// Wall time now, from the source; steps are detected and logged, and never move it back.
    pub fn wall_now(&self) -> UnixMillis {
        self.wall_now_at(Instant::now())
    }

    fn wall_now_at(&self, mono: Instant) -> UnixMillis {
        let read = self.shared.source.now();
        let mut last = self.shared.last.lock().unwrap_or_else(|p| p.into_inner());
        let (last_mono, last_wall) = *last;
        let expected = last_wall.saturating_add(mono.saturating_duration_since(last_mono));
        let jump = read.0.saturating_sub(expected.0);
        if jump.unsigned_abs() > STEP_TOLERANCE.as_millis() as u64 {
            let size = hearth_model::duration::format(Duration::from_millis(jump.unsigned_abs()));
            if jump > 0 {
                tracing::warn!(
                    "the system clock stepped forward by {size} (NTP sync?); timestamps follow it"
                );
            } else {
                tracing::warn!(
                    "the system clock stepped back by {size}; timestamps hold at {last_wall} until \
                     it passes that time again, so history keeps its order"
                );
            }
        }
        let wall = read.max(last_wall);
        *last = (mono, wall);
        wall
    }

    /// When the daemon started, in wall time (as the clock read then).
    pub fn started_at(&self) -> UnixMillis {
        self.shared.started_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn wall_time_follows_the_paused_clock() {
        let c = Clock::anchored(UnixMillis(1_000_000));
        tokio::time::sleep(HOUR).await;
        assert_eq!(c.wall_now(), UnixMillis(1_000_000 + 3_600_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_forward_step_is_followed_and_a_backward_step_never_reorders() {
        let wall = Arc::new(SimulatedWall::new(UnixMillis(1_000_000)));
        let c = Clock::with_source(wall.clone(), TimeZone::UTC);
        tokio::time::sleep(Duration::from_secs(10)).await;
        wall.step(3 * 3_600_000);
        assert_eq!(c.wall_now(), UnixMillis(1_010_000 + 10_800_000));
        // An instant taken before the step is dated on the new clock too.
        let before = c.now() - Duration::from_secs(5);
        assert_eq!(c.wall(before), UnixMillis(1_005_000 + 10_800_000));
        wall.step(-60_000);
        let held = c.wall_now();
        assert_eq!(
            held,
            UnixMillis(1_010_000 + 10_800_000),
            "holds, never goes back"
        );
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(c.wall_now(), held, "still behind the last reading");
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(
            c.wall_now(),
            UnixMillis(held.0 + 1000),
            "moves again once past it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_offset_follows_berlin_dst() {
        let berlin = TimeZone::get("Europe/Berlin").expect("tzdata has Europe/Berlin");
        // 2026-03-29 01:00 UTC is 03:00 CEST; one hour earlier it was 01:00 CET.
        let c = Clock::anchored(UnixMillis::parse_rfc3339("2026-03-29T00:30:00Z").unwrap())
            .with_time_zone(berlin);
        assert_eq!(c.utc_offset_minutes(), 60);
        tokio::time::sleep(HOUR).await;
        assert_eq!(c.utc_offset_minutes(), 120);
        assert_eq!(c.policy_now().utc_offset_minutes, 120);
        c.set_time_zone(TimeZone::UTC);
        assert_eq!(c.utc_offset_minutes(), 0, "a reload applies at once");
    }
}
