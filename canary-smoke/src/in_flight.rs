//! `--jobs`: at most N requests in flight across all tenants. A check
//! takes a place before it is sent and gives it back when it is judged.

use std::sync::{Condvar, Mutex};

/// A counting semaphore: at most N requests in flight at once.
#[derive(Debug)]
pub struct InFlight {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One request's place in flight, given back on drop.
#[derive(Debug)]
pub struct Permit<'a>(&'a InFlight);

impl InFlight {
    pub fn new(limit: usize) -> InFlight {
        InFlight {
            free: Mutex::new(limit.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free place.
    pub fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    #[test]
    fn never_more_than_the_limit_at_once() {
        let in_flight = InFlight::new(2);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let _permit = in_flight.acquire();
                        let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(current, Ordering::SeqCst);
                        thread::yield_now();
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(*in_flight.free.lock().unwrap(), 2, "every place given back");
    }
}
