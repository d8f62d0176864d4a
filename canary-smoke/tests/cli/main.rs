//! canary-smoke end to end: the built binary against the fake fleet (and a
//! raw loopback stub for transport faults), as a user or a CI job runs it.

mod support;

mod drop_in;
mod input;
mod pipeline;
mod reports;
mod suites;
mod verdicts;
