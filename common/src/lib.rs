//! The contract every canary release tool keeps (see `DESIGN.md`, "The
//! contract every tool keeps"): JSON-lines records in and out, one exit-code
//! mapping, secrets that never print, GitHub Actions reporting, and one
//! HTTP agent configuration with timeouts always set.

pub mod ci;
pub mod cli;
pub mod duration;
pub mod error;
pub mod exit;
pub mod http;
pub mod jsonl;
pub mod pool;
pub mod redact;
pub mod secret;
pub mod sha;
pub mod tenant;
pub mod term;
pub mod trace;

pub use error::Error;
pub use exit::{Code, HasCode};
pub use secret::Secret;
pub use sha::Sha;
pub use tenant::Tenant;
