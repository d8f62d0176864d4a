//! `canary-wait`: tenants pass through as soon as each runs the expected build.

mod cli;
mod pool;
mod probe;
mod wait;

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use common::{Code, HasCode};

pub use cli::{Cli, Sha};

const TOOL: &str = "canary-wait";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    /// The timeout passed before every tenant reported the sha.
    #[error("timed out after {after}: {problem}")]
    Timeout { after: String, problem: String },

    /// Nothing to wait for: a run that checked nothing must not pass.
    #[error(
        "no tenants on {source_name}{}: there is nothing to wait for (pipe tenant-list into canary-wait)",
        waited.as_ref().map(|w| format!(" within {w}")).unwrap_or_default()
    )]
    NoTenants {
        source_name: String,
        waited: Option<String>,
    },

    #[error("cannot start a polling thread: {0}")]
    Thread(#[source] io::Error),
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Timeout { .. } | Error::Thread(_) => Code::Failed,
            Error::NoTenants { .. } => Code::Usage,
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    let started = Instant::now();
    let prober = probe::Prober::new(&cli);
    let (reader, source_name) = common::jsonl::open(None)?;
    let (events_tx, events) = mpsc::channel();
    let reader_events = events_tx.clone();
    let reader_source = source_name.clone();
    // Not joined: at the timeout it may still be blocked on an open stdin.
    thread::Builder::new()
        .name("stdin".to_string())
        .spawn(move || wait::read_tenants(reader, reader_source, reader_events))
        .map_err(Error::Thread)?;
    wait::Waiter::new(cli, prober, events_tx, source_name, started).run(events)
}
