//! Cross-tool end-to-end tests: every output of every tool, on success and
//! failure paths and at `-vv`, is free of every form of every secret; a
//! closed stdout never turns undone work into exit 0 (in `tests/pipes/`).

mod errors;
mod secrets;
mod support;
