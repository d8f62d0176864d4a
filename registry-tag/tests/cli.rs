//! End-to-end tests against a real docker-registry (filled in below).
