//! End-to-end tests: the built `tenant-list` binary, run as a user would.

mod actions;
mod output;
mod secrets;
mod sources;
mod support;
mod validation;
