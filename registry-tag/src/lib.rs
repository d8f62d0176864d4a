//! `registry-tag`: an OCI registry client that resolves, lists and moves
//! tags, and the library `rollback-latest` is built on. Everything public
//! is re-exported here; the modules are private.
//!
//! ```no_run
//! use registry_tag::{plan, Client, Credentials, Image, Intent, Move, Options};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(Options::default(), Credentials::from_env());
//! let image = Image::parse("ghcr.io/molecule-ai/platform")?;
//! let moves = vec![Move::new(image, "staging-4c1d56e", "latest")?];
//! let plan = plan(&client, moves, Intent::Move)?; // everything resolved, nothing changed
//! for step in plan.steps() {
//!     println!("{}:{} {:?} → {}", step.image(), step.tag(), step.current(), step.digest());
//! }
//! let records = plan.apply(&client)?;             // all moved, or every move undone
//! # Ok(()) }
//! ```

mod apply;
mod challenge;
mod cli;
mod client;
mod credentials;
mod deadline;
mod error;
mod manifest;
mod output;
mod parallel;
mod plan;
mod record;
mod reference;
mod request;
mod run;

pub use apply::{MoveError, Outcome, FRESH};
pub use cli::{Cli, RegistryArgs};
pub use client::{Access, Client, Options, RetryPolicy, TagPages};
pub use credentials::{Credential, Credentials, Source};
pub use error::Error;
pub use manifest::{
    short, Manifest, Resolved, ACCEPT, DOCKER_LIST, DOCKER_V2, MAX_MANIFEST_BYTES, OCI_INDEX,
    OCI_MANIFEST,
};
pub use output::table;
pub use plan::{plan, Expect, Intent, Move, Plan, Step};
pub use record::TagRecord;
pub use reference::{check_digest, check_tag, Image, Reference, ReferenceError, Target};
pub use run::run;
