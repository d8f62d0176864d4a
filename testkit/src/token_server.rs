//! A small Bearer token server in front of the test registry.
