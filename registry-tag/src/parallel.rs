//! Bounded parallelism for registry lookups and moves, in input order, on
//! the one worker pool (`common::pool`).

use std::ops::ControlFlow;

/// At most this many requests of one phase run at once: enough for a
/// release's images (ten move in one wave), few enough for any registry.
pub const PARALLEL: usize = 16;

/// `job` over every item, at most [`PARALLEL`] at a time; the results keep
/// the items' order.
pub fn in_parallel<I: Sync, R: Send>(items: &[I], job: impl Fn(&I) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(job).collect();
    }
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    common::pool::run(
        PARALLEL.min(items.len()),
        items.iter().enumerate(),
        |(i, item)| (i, job(item)),
        |(i, result)| {
            results[i] = Some(result);
            ControlFlow::Continue(())
        },
    );
    results
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn keeps_order_and_bounds_threads() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..50).collect();
        let out = in_parallel(&items, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= PARALLEL);
    }
}
