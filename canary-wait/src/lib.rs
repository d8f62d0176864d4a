//! `canary-wait`: not yet built (see its issue).
