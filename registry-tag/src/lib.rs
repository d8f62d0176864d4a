//! `registry-tag`: an OCI registry client that resolves, lists and moves
//! tags, and the library `rollback-latest` is built on.
//!
//! ```no_run
//! use registry_tag::{plan, Client, Credentials, Image, Intent, Move, Options};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(Options::default(), Credentials::from_env());
//! let image = Image::parse("ghcr.io/molecule-ai/platform")?;
//! let moves = vec![Move::new(image, "staging-4c1d56e", "latest")?];
//! let plan = plan(&client, moves, Intent::Move)?; // everything resolved, nothing changed
//! let records = plan.apply(&client, None)?;       // all moved, or every move undone
//! # Ok(()) }
//! ```

pub mod challenge;
mod cli;
pub mod client;
pub mod credentials;
mod error;
pub mod manifest;
pub mod plan;
pub mod record;
pub mod reference;
mod run;

pub use cli::{Cli, RegistryArgs};
pub use client::{Access, Client, Options, RetryPolicy};
pub use credentials::{Credential, Credentials, Source};
pub use error::Error;
pub use manifest::{Manifest, Resolved};
pub use plan::{plan, Intent, Move, MoveError, Plan, Step};
pub use record::TagRecord;
pub use reference::{Image, Reference, ReferenceError, Target};
pub use run::run;
