//! Synthetic OCI / Docker images pushed to a test registry.
