//! `registry-tag`: not yet built (see its issue).
