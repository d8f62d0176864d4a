//! One bounded worker pool: inputs pulled lazily (a stdin stream works),
//! results handed back on the caller's thread as they complete.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;

/// What a [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Inputs a worker started on.
    pub started: usize,
    /// Results handed to `on_result`.
    pub delivered: usize,
    /// Whether `on_result` asked to stop.
    pub stopped: bool,
}

/// Runs `work` on every input with at most `jobs` (at least 1) at a time, on
/// scoped threads, and hands each result to `on_result` on the calling
/// thread as soon as it is ready (completion order, not input order).
///
/// Inputs are pulled one at a time, only when a worker is free, so a stream
/// that arrives slowly is worked on as it arrives and memory stays bounded
/// by `jobs`. When `on_result` returns `Break`, no new input is taken or
/// started; work already running finishes and its results are dropped.
/// `run` returns once the input iterator has been left (if it is blocked
/// reading, when its next item arrives or it ends) and every worker is done.
pub fn run<T, R, I, W, F>(jobs: usize, inputs: I, work: W, mut on_result: F) -> Tally
where
    T: Send,
    R: Send,
    I: Iterator<Item = T> + Send,
    W: Fn(T) -> R + Sync,
    F: FnMut(R) -> ControlFlow<()>,
{
    let jobs = jobs.max(1);
    let stop = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    let mut tally = Tally::default();
    // A rendezvous channel: the feeder pulls the next input only once a
    // worker is ready to take the one in its hand.
    let (task_tx, task_rx) = mpsc::sync_channel::<T>(0);
    let task_rx = Arc::new(Mutex::new(task_rx));
    let (result_tx, result_rx) = mpsc::sync_channel::<R>(jobs);
    thread::scope(|scope| {
        let (stop, started, work) = (&stop, &started, &work);
        scope.spawn(move || {
            for input in inputs {
                if stop.load(Ordering::Relaxed) || task_tx.send(input).is_err() {
                    break;
                }
            }
        });
        for _ in 0..jobs {
            let task_rx = Arc::clone(&task_rx);
            let result_tx = result_tx.clone();
            scope.spawn(move || {
                while let Some(task) = next_task(&task_rx) {
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    started.fetch_add(1, Ordering::Relaxed);
                    if result_tx.send(work(task)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((result_tx, task_rx));
        for result in result_rx {
            if tally.stopped {
                continue;
            }
            tally.delivered += 1;
            if on_result(result).is_break() {
                tally.stopped = true;
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    tally.started = started.into_inner();
    tally
}

fn next_task<T>(tasks: &Mutex<Receiver<T>>) -> Option<T> {
    let tasks = tasks.lock().unwrap_or_else(|e| e.into_inner());
    tasks.recv().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn every_input_once_with_at_most_jobs_at_a_time() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let mut seen = Vec::new();
        let tally = run(
            3,
            0..50,
            |n| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                n * 2
            },
            |r| {
                seen.push(r);
                ControlFlow::Continue(())
            },
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(
            (tally.started, tally.delivered, tally.stopped),
            (50, 50, false)
        );
    }

    #[test]
    fn results_arrive_before_the_input_ends() {
        // The input blocks until the first result has been handed back: a
        // pool that waited for the whole input would never finish.
        let (handed_tx, handed_rx) = channel::<()>();
        let inputs = (0..2).inspect(move |&n| {
            if n == 1 {
                handed_rx.recv().unwrap();
            }
        });
        let mut got = Vec::new();
        run(
            2,
            inputs,
            |n| n,
            |r| {
                got.push(r);
                let _ = handed_tx.send(());
                ControlFlow::Continue(())
            },
        );
        assert_eq!(got, [0, 1]);
    }

    #[test]
    fn break_stops_taking_inputs() {
        let pulled = AtomicUsize::new(0);
        let inputs = (0..10_000).inspect(|_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        });
        let tally = run(2, inputs, |n| n, |_| ControlFlow::Break(()));
        assert!(tally.stopped);
        assert_eq!(tally.delivered, 1);
        assert!(pulled.load(Ordering::SeqCst) < 10, "{pulled:?}");
    }

    #[test]
    fn no_inputs_no_results() {
        let tally = run(4, std::iter::empty::<u8>(), |n| n, |_| unreachable!());
        assert_eq!(tally, Tally::default());
    }
}
