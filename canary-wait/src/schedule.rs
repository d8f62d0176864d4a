//! When to poll each tenant next: a timer heap (O(log n) per poll, however
//! many tenants wait) and the pacing rule (the interval with jitter, longer
//! while a tenant answers with errors).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use common::http::Backoff;

/// Next-due times of the tenants waiting for a poll. A tenant is in here,
/// or has a poll in flight, or is done: never two of these at once.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl Timers {
    /// Schedules tenant `id` to be polled at `when`.
    pub fn at(&mut self, when: Instant, id: u32) {
        self.heap.push(Reverse((when, id)));
    }

    /// The next tenant due at or before `now`, removed from the timers.
    pub fn pop_due(&mut self, now: Instant) -> Option<u32> {
        match self.heap.peek() {
            Some(Reverse((when, _))) if *when <= now => self.heap.pop().map(|Reverse((_, id))| id),
            _ => None,
        }
    }

    /// When the earliest scheduled poll is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((when, _))| *when)
    }
}

/// How long until the next poll of one tenant.
#[derive(Debug, Clone)]
pub struct Pacing {
    interval: Duration,
    jitter: Backoff,
    errors: Backoff,
}

/// Longest wait between polls of a tenant that keeps failing, in intervals.
const MAX_BACKOFF_INTERVALS: u32 = 8;

impl Pacing {
    pub fn new(interval: Duration) -> Pacing {
        Pacing {
            interval,
            // The first delay of a backoff is drawn from the upper half of
            // its base: 10-20% of the interval, added to the interval.
            jitter: Backoff::new(interval / 5, interval / 5),
            errors: Backoff::new(
                interval.saturating_mul(2),
                interval.saturating_mul(MAX_BACKOFF_INTERVALS),
            ),
        }
    }

    /// The delay before the next poll of a tenant whose last `failures`
    /// polls in a row got no usable answer: the interval plus 10-20% (so a
    /// tenant is never polled more often than once per interval, and a fleet
    /// that started together drifts apart), doubling from two intervals
    /// while it fails, up to eight, or what its `Retry-After` asked (capped
    /// the same way).
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        if failures == 0 {
            self.interval + self.jitter.delay(0, None)
        } else {
            self.errors
                .delay(failures - 1, retry_after)
                .max(self.interval)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn timers_pop_in_due_order_and_only_when_due() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut timers = Timers::default();
        for (offset, id) in [(30, 3), (10, 1), (20, 2), (10, 4), (50, 5)] {
            timers.at(t0 + ms(offset), id);
        }
        assert_eq!(timers.next_due(), Some(t0 + ms(10)));
        assert_eq!(timers.pop_due(t0 + ms(5)), None, "nothing due yet");
        let mut due = Vec::new();
        while let Some(id) = timers.pop_due(t0 + ms(20)) {
            due.push(id);
        }
        assert_eq!(due, [1, 4, 2], "earliest first, ties by id");
        assert_eq!(timers.next_due(), Some(t0 + ms(30)));
        timers.at(t0 + ms(25), 6);
        assert_eq!(timers.pop_due(t0 + ms(100)), Some(6));
        assert_eq!(timers.pop_due(t0 + ms(100)), Some(3));
        assert_eq!(timers.pop_due(t0 + ms(100)), Some(5));
        assert_eq!(timers.pop_due(t0 + ms(100)), None);
        assert_eq!(timers.next_due(), None);
    }

    #[test]
    fn timers_scale_to_a_large_fleet() {
        // 100k tenants scheduled and drained: each step is a heap operation,
        // so this is quick even unoptimised; a rescan per event would not be.
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for id in 0..100_000u32 {
            timers.at(
                t0 + Duration::from_micros(u64::from(id * 7919 % 100_000)),
                id,
            );
        }
        let mut last = t0;
        let mut count = 0;
        while let Some(next) = timers.next_due() {
            assert!(next >= last);
            last = next;
            timers.pop_due(next).unwrap();
            count += 1;
        }
        assert_eq!(count, 100_000);
    }

    #[test]
    fn polls_come_at_most_once_per_interval_with_jitter() {
        let interval = Duration::from_secs(1);
        let pacing = Pacing::new(interval);
        let samples: Vec<Duration> = (0..200).map(|_| pacing.delay(0, None)).collect();
        for d in &samples {
            assert!(
                (interval..=interval.mul_f64(1.2)).contains(d),
                "{d:?} outside 1s..1.2s"
            );
        }
        let distinct: HashSet<&Duration> = samples.iter().collect();
        assert!(
            distinct.len() > 50,
            "only {} distinct delays",
            distinct.len()
        );
    }

    #[test]
    fn failing_tenants_back_off_up_to_eight_intervals() {
        let interval = Duration::from_millis(500);
        let pacing = Pacing::new(interval);
        let first = pacing.delay(1, None);
        assert!((interval..=interval * 2).contains(&first), "{first:?}");
        let later = pacing.delay(3, None);
        assert!((interval * 4..=interval * 8).contains(&later), "{later:?}");
        for failures in [10, 100, u32::MAX] {
            assert!(pacing.delay(failures, None) <= interval * 8);
        }
        // A Retry-After is honoured, within the same cap.
        let asked = pacing.delay(1, Some(Duration::from_secs(3)));
        assert_eq!(asked, Duration::from_secs(3));
        let capped = pacing.delay(1, Some(Duration::from_secs(3600)));
        assert_eq!(capped, interval * 8);
    }
}
