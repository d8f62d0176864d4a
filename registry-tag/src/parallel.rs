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
    use std::collections::HashSet;
    use std::sync::mpsc::channel;
    use std::sync::Mutex;
    use std::time::Duration;

    // The bound on jobs at once is common::pool's (tested there); what
    // in_parallel adds is the input order, even when results come back in
    // another, and at most PARALLEL workers.
    #[test]
    fn results_keep_the_input_order_when_they_finish_out_of_it() {
        let (first_may_finish, wait) = channel::<()>();
        let wait = Mutex::new(wait);
        let out = in_parallel(&[0, 1], |&i| {
            if i == 0 {
                // Item 0 finishes only after item 1 has: both ran at once.
                let wait = wait.lock().unwrap();
                wait.recv_timeout(Duration::from_secs(10))
                    .expect("item 1 ran");
            } else {
                first_may_finish.send(()).unwrap();
            }
            i * 10
        });
        assert_eq!(out, [0, 10]);
    }

    #[test]
    fn at_most_parallel_workers() {
        let workers = Mutex::new(HashSet::new());
        let items: Vec<usize> = (0..3 * PARALLEL).collect();
        let doubled = in_parallel(&items, |&i| {
            workers.lock().unwrap().insert(std::thread::current().id());
            i * 2
        });
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(workers.into_inner().unwrap().len() <= PARALLEL);
    }
}
