//! `tool | (head -c0)`: a closed stdout never turns undone work into exit 0.
//!
//! A separate test binary whose tests run one at a time (see [`serial`]):
//! while a tool runs with a closed stdout no other thread may fork, since a
//! forked child would hold a copy of the reader's end until it execs, and
//! the tool would then write into a stdout that is still open.

use std::sync::{Mutex, MutexGuard};

#[path = "../cli/support.rs"]
#[allow(dead_code)]
mod support;

mod broken_pipe;

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the whole of each test in this binary.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
