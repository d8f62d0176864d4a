//! `canary-smoke`: runs a smoke suite against each canary tenant and
//! writes one check-result record per check.
//!
//! Tenants come from [`input`] (stdin or the drop-in variables); each runs
//! as one [`tenant_run::TenantRun`] on a bounded pool, its requests sent by
//! the [`request::Requester`], judged by [`judge`], and written as
//! [`record::CheckRecord`]s by the [`report::Reporter`] (with the JUnit
//! file from [`junit`]). The suite format is in `--help` and
//! docs/suites.md.

mod cli;
mod in_flight;
mod input;
pub mod judge;
mod junit;
pub mod record;
mod report;
mod request;
pub mod suite;
mod tenant_run;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use common::ci::GithubActions;
use common::{Code, HasCode};

pub use cli::{Cli, AFTER_LONG_HELP};
pub use record::{CheckRecord, TenantResult};
pub use suite::Suite;

use in_flight::InFlight;
use input::Input;
use junit::Junit;
use report::{Layout, Reporter};
use request::Requester;
use tenant_run::Runner;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    /// `--timeout` passed while stdin was still open.
    #[error("the --timeout deadline passed while waiting for tenant records")]
    Deadline,
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Deadline => Code::Failed,
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    cli.verbosity.init();
    if let Some(name) = &cli.print_suite {
        return print_suite(name.as_deref(), &cli.suite);
    }
    let started = Instant::now();
    let suite = Suite::load(&cli.suite)?;
    let deadline = cli.timeout.map(|t| started + t);
    let sha = cli.sha.as_ref().map(|s| s.as_str().to_string());
    let ci = GithubActions::from_env();
    let mut input = Input::open(cli.from_env, cli.insecure.allowed, deadline)?;
    let layout = if input.is_drop_in() && !cli.json {
        Layout::Script
    } else {
        Layout::Records
    };
    let records = records_sink(cli.records.as_deref(), layout)?;
    let mut junit = cli
        .junit
        .as_deref()
        .map(|path| Junit::create(path, sha.clone()))
        .transpose()?;
    let written_urls = std::mem::take(&mut input.written_urls);
    let reporter = Reporter::new(layout, records, ci, sha.clone(), written_urls);
    let requester = Requester {
        agent: common::http::agent(
            "canary-smoke",
            env!("CARGO_PKG_VERSION"),
            cli.request_timeout,
        ),
        timeout: cli.request_timeout,
        retries: cli.retries,
        max_body: cli.max_body,
        deadline,
    };
    let in_flight = InFlight::new(usize::from(cli.jobs));
    let runner = Runner {
        suite: &suite,
        requester: &requester,
        reporter: &reporter,
        in_flight: &in_flight,
        run_id: run_id(),
        sha,
    };

    // A closed stdout ends the run at once, even while stdin stays open.
    let stopper = input.stopper();
    let tally = common::pool::run(
        usize::from(cli.jobs),
        input.by_ref(),
        |(seq, tenant)| (seq, runner.tenant(&tenant, seq)),
        |(seq, result)| {
            reporter.tenant_done(&result, seq);
            if let Some(junit) = &mut junit {
                junit.add(&result);
            }
            if reporter.is_closed() {
                stopper.stop();
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    let wall_ms = started.elapsed().as_millis() as u64;
    let closed = reporter.is_closed();
    let stopped = match &input.error {
        _ if closed => Some("stdout was closed".to_string()),
        Some(error) => Some(error.to_string()),
        None => None,
    };
    let (totals, mut output_error) = reporter.finish(&suite.name, wall_ms, stopped);
    if let Some(junit) = junit {
        let checks = totals.checks_passed + totals.checks_failed;
        if let Err(error) = junit.finish(checks, totals.checks_failed, wall_ms) {
            output_error.get_or_insert(error);
        }
    }
    let unchecked = input.read - tally.delivered as u64;
    let broken_pipe = output_error
        .as_ref()
        .is_some_and(|e| closed && common::exit::is_broken_pipe(e));
    if broken_pipe {
        // Nobody reads the output any more: say what was left undone.
        let all_read = input.exhausted && input.error.is_none();
        let undone = match (unchecked, all_read) {
            (0, true) => None,
            (n, true) => Some(format!("{n} tenant(s) left unchecked")),
            (n, false) => Some(format!(
                "{n} tenant(s) left unchecked, and the rest of the input was not read"
            )),
        };
        let code = verdict_code(&totals);
        return Ok(common::exit::stdout_closed(
            "canary-smoke",
            undone.as_deref(),
            code,
        ));
    }
    if let Some(error) = input.error {
        // Results of tenants before a bad line stand, with their totals;
        // the input error decides the exit.
        return Err(error);
    }
    if let Some(error) = output_error {
        return Err(error.into());
    }
    if totals.tenants() == 0 {
        return Err(common::Error::Usage("no tenants were checked".into()).into());
    }
    Ok(verdict_code(&totals))
}

fn verdict_code(totals: &report::Totals) -> Code {
    if totals.checks_failed == 0 {
        Code::Ok
    } else {
        Code::Failed
    }
}

/// Where records go: the `--records` file, else stdout unless stdout
/// carries the script's text.
fn records_sink(
    path: Option<&Path>,
    layout: Layout,
) -> Result<Option<Box<dyn Write + Send>>, Error> {
    Ok(match (path, layout) {
        (Some(path), _) => {
            let file = File::create(path).map_err(|error| common::Error::Report {
                path: path.to_path_buf(),
                error,
            })?;
            Some(Box::new(BufWriter::new(file)))
        }
        (None, Layout::Records) => Some(Box::new(io::stdout())),
        (None, Layout::Script) => None,
    })
}

/// `--print-suite [NAME]`: a built-in suite's text, or the `--suite` file's
/// text once it parses.
fn print_suite(name: Option<&str>, suite: &str) -> Result<Code, Error> {
    let text = match (name, Suite::built_in_text(name.unwrap_or(suite))) {
        (_, Some(text)) => text.to_string(),
        (Some(name), None) => {
            let names: Vec<&str> = suite::BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(common::Error::Usage(format!(
                "no built-in suite {name:?}; the built-in suites are {}",
                names.join(", ")
            ))
            .into());
        }
        (None, None) => {
            Suite::load(suite)?;
            std::fs::read_to_string(suite).map_err(|error| common::Error::Read {
                source_name: format!("suite {suite}"),
                error,
            })?
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(common::Error::Output)?;
    Ok(Code::Ok)
}

/// Eight hex digits that differ between runs, for unique probes.
fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() as u32)
}
