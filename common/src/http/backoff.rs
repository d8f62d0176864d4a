//! How long to wait before trying again.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// Exponential backoff with jitter, honouring a server's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: bool,
}

impl Backoff {
    /// Waits about `base` before the first retry, doubling each time, never
    /// more than `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            jitter: true,
        }
    }

    /// Without jitter every delay is the upper bound (for tests).
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The wait before retry number `attempt` (0 for the first retry):
    /// `base × 2^attempt`, capped at `max`, then drawn from its upper half
    /// so that many clients do not retry in step. A `Retry-After` from the
    /// server wins when it is longer, still capped at `max` so a server
    /// cannot stall the tool.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX);
        let ceiling = self.base.saturating_mul(factor).min(self.max);
        let computed = if self.jitter {
            let half = ceiling / 2;
            half + half.mul_f64(random_fraction())
        } else {
            ceiling
        };
        match retry_after {
            Some(asked) => asked.min(self.max).max(computed),
            None => computed,
        }
    }
}

/// Seconds in a `Retry-After` header. The HTTP-date form is not read: it is
/// rare, and the exponential delay applies instead.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A number in `[0, 1)`, from the standard library's per-process random hash
/// keys and the clock: enough to spread retries, no crate needed.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    hasher.write_u32(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff::new(MS(100), MS(1000)).without_jitter();
        let delays: Vec<_> = (0..6).map(|a| b.delay(a, None)).collect();
        assert_eq!(
            delays,
            [MS(100), MS(200), MS(400), MS(800), MS(1000), MS(1000)]
        );
        assert_eq!(b.delay(u32::MAX, None), MS(1000));
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let b = Backoff::new(MS(100), MS(1000));
        for attempt in 0..5 {
            let ceiling = MS(100 << attempt).min(MS(1000));
            let d = b.delay(attempt, None);
            assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} vs {ceiling:?}");
        }
    }

    #[test]
    fn retry_after_wins_when_longer_but_is_capped() {
        let b = Backoff::new(MS(100), MS(2000)).without_jitter();
        assert_eq!(b.delay(0, Some(MS(1500))), MS(1500));
        assert_eq!(b.delay(0, Some(Duration::from_secs(3600))), MS(2000));
        assert_eq!(b.delay(3, Some(MS(10))), MS(800));
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
