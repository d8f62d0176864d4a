//! `rollback-latest`: not yet built (see its issue).
