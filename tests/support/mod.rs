//! Shared harness for end-to-end tests: a real Mosquitto on a free loopback port, the real
//! `hearthd` binary on the simulator, and an MQTT test client whose every wait has a timeout.
//!
//! Use it from a test file with `mod support;`. Everything started here is killed when its
//! handle is dropped, so a failing test leaves no broker or daemon behind. Nothing here may
//! sleep to synchronise: waits poll a condition until a deadline.
// Not every test file uses every part.
#![allow(dead_code, unused_imports)]

pub mod broker;
pub mod browser;
pub mod client;
pub mod cloud;
pub mod daemon;
pub mod http;
pub mod reads;
pub mod replay;
pub mod tls;

pub use broker::Broker;
pub use client::{Msg, TestClient};
pub use daemon::{Daemon, TestConfig};

use std::time::Duration;

/// `d`, stretched when the tests run under qemu (`HEARTH_UNDER_EMULATION=1`), which is
/// several times slower than native.
pub fn scaled(d: Duration) -> Duration {
    if std::env::var("HEARTH_UNDER_EMULATION").is_ok_and(|v| v == "1") {
        d * 5
    } else {
        d
    }
}

/// The usual deadline for one round trip (publish -> daemon -> reply).
pub fn reply_timeout() -> Duration {
    scaled(Duration::from_secs(5))
}

/// Poll `check` every 20 ms until it returns `Some`, or panic with `what` after `timeout`.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds since the Unix epoch, as signed commands carry them.
pub fn unix_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}
