//! `canary-smoke`: not yet built (see its issue).
