//! The contract every canary release tool keeps (see `DESIGN.md`, "The
//! contract every tool keeps"): JSON-lines records in and out, one exit-code
//! mapping, secrets that never print, GitHub Actions reporting, and one
//! HTTP agent configuration with timeouts always set.
//!
//! Each rule is written once, here: [`redact`] (one redaction for every
//! output), [`tenant::Admission`] (which tenant records are accepted),
//! [`http::Failure`] and [`http::Backoff`] (transport errors in words, and
//! retries), [`pool::run`] (the bounded worker pool), [`Sha`], [`duration`],
//! [`ci`] (annotations, summaries, step outputs, Markdown escaping),
//! [`exit`] (exit codes, broken pipes), and [`trace`] with
//! [`cli::Verbosity`] (`-v` request traces).

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
pub mod version;

pub use cli::Verbosity;
pub use error::Error;
pub use exit::{Code, HasCode};
pub use http::{Backoff, Failure};
pub use secret::Secret;
pub use sha::Sha;
pub use tenant::{Admission, Tenant};
