//! `canary-wait`: tenants pass through as soon as each runs the expected build.

mod cli;
mod entry;
mod probe;
mod schedule;
mod verdict;
mod wait;

use std::io::{self, IsTerminal};
use std::ops::ControlFlow;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Instant;

use common::term::note;
use common::{Code, HasCode, Tenant};

pub use cli::{Cli, IfNoSha};

const TOOL: &str = "canary-wait";

/// Most tenants polled at the same moment.
const MAX_POLLS_IN_FLIGHT: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    /// Nothing to wait for: a run that checked nothing must not pass.
    #[error(
        "no tenants on {source_name}{}: there is nothing to wait for (pipe tenant-list into canary-wait)",
        waited.as_ref().map(|w| format!(" within {w}")).unwrap_or_default()
    )]
    NoTenants {
        source_name: String,
        waited: Option<String>,
    },

    #[error("cannot start a thread: {0}")]
    Thread(#[source] io::Error),
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Thread(_) => Code::Failed,
            Error::NoTenants { .. } => Code::Usage,
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    let started = Instant::now();
    cli.pipe.verbosity.init();
    let prober = probe::Prober::new(&cli);
    let (reader, source_name) = common::jsonl::open(None)?;
    if io::stdin().is_terminal() {
        note(
            TOOL,
            "reading tenant records from the terminal: one JSON object per line, as \
             tenant-list writes them ({\"name\",\"url\",\"token\"}); Ctrl-D ends the list. \
             Usually: tenant-list | canary-wait --sha SHA",
        );
    }
    let (events_tx, events) = mpsc::channel();
    let reader_events = events_tx.clone();
    let reader_source = source_name.clone();
    // Not joined: at the deadline it may still be blocked on an open stdin.
    thread::Builder::new()
        .name("stdin".to_string())
        .spawn(move || wait::read_tenants(reader, reader_source, reader_events))
        .map_err(Error::Thread)?;
    let (polls, due) = mpsc::channel::<(u32, Arc<Tenant>)>();
    // The pool takes due polls as workers come free and hands each result
    // back to the waiting loop as an event. Not joined either: the process
    // ends with the loop.
    thread::Builder::new()
        .name("polls".to_string())
        .spawn(move || {
            common::pool::run(
                MAX_POLLS_IN_FLIGHT,
                due.into_iter(),
                |(id, tenant): (u32, Arc<Tenant>)| (id, prober.poll(&tenant)),
                |(id, observation)| match events_tx.send(wait::Event::Polled(id, observation)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                },
            )
        })
        .map_err(Error::Thread)?;
    wait::Waiter::new(&cli, polls, source_name, started).run(events)
}
