//! Talking to systemd: READY/STOPPING notifications and watchdog pings.
//!
//! Everything here is a no-op when hearth is not started by systemd (`NOTIFY_SOCKET`
//! unset), so the same binary runs from a terminal.

use std::time::Duration;

/// Tell systemd start-up is complete (Type=notify).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!("could not notify systemd of readiness: {e}");
    }
}

/// Tell systemd shutdown has begun.
pub fn notify_stopping() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
}

/// One watchdog keep-alive.
pub fn notify_watchdog() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `WatchdogSec`, or `None` when it is off.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0u64;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        Some(Duration::from_micros(usec / 2))
    } else {
        None
    }
}
