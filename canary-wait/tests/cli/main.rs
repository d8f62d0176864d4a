//! End-to-end tests: the built `canary-wait` binary against the fake fleet,
//! with tenants flipped to the new build from the test while it runs.
//!
//! No assertion depends on timing luck: a test waits (within generous
//! bounds) for the state it needs, and only checks orders and counts that
//! the tool itself guarantees.

mod auth;
mod input;
mod nosha;
mod passing;
mod progress;
mod support;
mod timeout;
