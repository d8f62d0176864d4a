//! Test support shared by every tool's tests, the demo and the benchmarks.
//! Nothing here ships in a tool binary.

pub mod actions;
pub mod cmd;
pub mod process;
pub mod sandbox;
pub mod tempdir;
pub mod terminal;

// The fake tenant fleet, and a registry with what goes around it.
pub mod fleet;
pub mod image;
pub mod proxy;
mod query;
pub mod registry;
pub mod token_server;

pub use cmd::{hermetic, Output};
pub use sandbox::Sandbox;
pub use tempdir::TempDir;
