//! End-to-end tests: see below.
