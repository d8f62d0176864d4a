//! The whole-run deadline (`--timeout`) of a tool built on
//! [`crate::RegistryArgs`]: no lookup, page or move starts after it. A move
//! already under way is finished or undone: stopping half-way would leave
//! tags half-moved.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::duration::human;

use crate::Error;

static DEADLINE: OnceLock<(Instant, Duration)> = OnceLock::new();

/// Starts the clock: the run must be done `timeout` from now. Only the first
/// call counts (one run per process).
pub fn start(timeout: Duration) {
    let _ = DEADLINE.set((Instant::now() + timeout, timeout));
}

/// `Err` once the deadline has passed, saying what did not start.
pub fn check(what: &str) -> Result<(), Error> {
    match DEADLINE.get() {
        Some((at, timeout)) if Instant::now() >= *at => Err(Error::Failed(format!(
            "--timeout {} passed before {what}",
            human(*timeout)
        ))),
        _ => Ok(()),
    }
}
