//! The reconnect delay of every MQTT link (local broker and clouds): capped exponential
//! backoff with jitter, because rumqttc itself retries at once, in a busy loop.

use std::time::Duration;

/// The jitter: each delay is stretched by a random 0 to 25 % (never shortened), so hubs
/// restarted together, or dropped together by a cloud broker, do not reconnect in step.
pub const JITTER: f64 = 0.25;

/// Capped exponential backoff: `min`, doubling on each failure up to `max`, back to `min`
/// after a successful connection; each delay gets up to [`JITTER`] more.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self::with_rng(min, max, fastrand::Rng::new())
    }

    /// With a given random source (tests use a seeded one).
    pub fn with_rng(min: Duration, max: Duration, rng: fastrand::Rng) -> Self {
        Self {
            min,
            max: max.max(min),
            next: min,
            rng,
        }
    }

    /// The delay before the next attempt, jitter included; the one after doubles.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        jittered(base, self.rng.f64())
    }

    /// Called on a successful connection: the next failure waits about `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// `base` stretched by `fraction` (in `0..1`) of [`JITTER`].
fn jittered(base: Duration, fraction: f64) -> Duration {
    base + base.mul_f64(fraction.clamp(0.0, 1.0) * JITTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_up_to_the_cap_within_the_jitter_and_reset() {
        let mut b = Backoff::with_rng(ms(500), ms(4000), fastrand::Rng::with_seed(7));
        let bases = [500, 1000, 2000, 4000, 4000, 4000];
        for base in bases {
            let d = b.next_delay();
            let (lo, hi) = (ms(base), ms(base).mul_f64(1.0 + JITTER));
            assert!(d >= lo && d <= hi, "{d:?} outside {lo:?}..={hi:?}");
        }
        b.reset();
        let d = b.next_delay();
        assert!(d >= ms(500) && d <= ms(625), "{d:?} after reset");
    }

    #[test]
    fn jitter_is_never_negative_and_at_most_a_quarter() {
        assert_eq!(jittered(ms(1000), 0.0), ms(1000));
        assert_eq!(jittered(ms(1000), 1.0), ms(1250));
        assert_eq!(jittered(ms(1000), 0.5), ms(1125));
        // Out-of-range fractions cannot push a delay outside the bounds.
        assert_eq!(jittered(ms(1000), -3.0), ms(1000));
        assert_eq!(jittered(ms(1000), 9.0), ms(1250));
    }

    #[test]
    fn jitter_spreads_restarted_links_apart() {
        // Many links failing at once with the same settings must not all wait alike.
        let delays: std::collections::BTreeSet<Duration> = (0..50)
            .map(|seed| {
                Backoff::with_rng(ms(1000), ms(8000), fastrand::Rng::with_seed(seed)).next_delay()
            })
            .collect();
        assert!(delays.len() > 40, "only {} distinct delays", delays.len());
        assert!(delays.iter().all(|d| *d >= ms(1000) && *d <= ms(1250)));
        let spread = *delays.last().unwrap() - *delays.first().unwrap();
        assert!(spread >= ms(150), "delays spread over only {spread:?}");
    }
}
