//! A bounded pool of polling threads, grown on demand: one thread per poll in
//! flight, up to [`MAX_WORKERS`]; more polls queue until a thread is free.

use std::io;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use common::Tenant;

use crate::probe::Prober;
use crate::wait::Event;

/// Most tenants polled at the same moment.
pub const MAX_WORKERS: usize = 32;

#[derive(Debug)]
struct Job {
    id: usize,
    tenant: Arc<Tenant>,
}

#[derive(Debug)]
pub struct Pool {
    jobs: Sender<Job>,
    queue: Arc<Mutex<Receiver<Job>>>,
    results: Sender<Event>,
    prober: Arc<Prober>,
    workers: usize,
    outstanding: usize,
}

impl Pool {
    /// Each finished poll is sent to `results` as [`Event::Polled`].
    pub fn new(prober: Prober, results: Sender<Event>) -> Pool {
        let (jobs, queue) = mpsc::channel();
        Pool {
            jobs,
            queue: Arc::new(Mutex::new(queue)),
            results,
            prober: Arc::new(prober),
            workers: 0,
            outstanding: 0,
        }
    }

    /// Queues a poll of tenant `id`, starting a thread when all are busy.
    pub fn submit(&mut self, id: usize, tenant: Arc<Tenant>) -> io::Result<()> {
        if self.outstanding >= self.workers && self.workers < MAX_WORKERS {
            match self.spawn_worker() {
                Ok(()) => self.workers += 1,
                // Fewer threads only make polling slower; none makes it impossible.
                Err(error) if self.workers == 0 => return Err(error),
                Err(_) => {}
            }
        }
        self.outstanding += 1;
        // Cannot fail: `self.queue` keeps the receiving end alive.
        let _ = self.jobs.send(Job { id, tenant });
        Ok(())
    }

    /// Records that one submitted poll has reported back.
    pub fn finished(&mut self) {
        self.outstanding = self.outstanding.saturating_sub(1);
    }

    fn spawn_worker(&self) -> io::Result<()> {
        let queue = Arc::clone(&self.queue);
        let results = self.results.clone();
        let prober = Arc::clone(&self.prober);
        thread::Builder::new()
            .name(format!("poll-{}", self.workers))
            .spawn(move || loop {
                // The guard is dropped at the end of the statement, so the
                // lock is held only while waiting for the next job.
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok(job) = next else { return };
                let observation = prober.poll(&job.tenant);
                if results
                    .send(Event::Polled {
                        id: job.id,
                        observation,
                    })
                    .is_err()
                {
                    return;
                }
            })
            .map(drop)
    }
}
