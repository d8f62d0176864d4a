//! `canary-smoke`: runs a smoke suite against each canary tenant and
//! writes one check-result record per check.
//!
//! # Suites
//!
//! A suite is a JSON-lines file, one check per line, run in order against
//! each tenant. Blank lines and lines starting with `#` are ignored. Adding
//! a check is adding one line. The fields of a check:
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `name` | required | the check's name in records and reports; letters, digits, `-`, `_`, `.`; unique in the suite |
//! | `method` | `"GET"` | `GET`, `HEAD`, `POST`, `PUT`, `PATCH` or `DELETE` |
//! | `path` | required | path and query after the tenant's base URL, starting with `/`; may hold placeholders |
//! | `auth` | `true` | send `Authorization: Bearer <the tenant's token>` |
//! | `body` | none | a JSON value sent as the request body (`Content-Type: application/json`); placeholders are filled in its strings |
//! | `expect.status` | any 2xx | a status code or a list of acceptable ones |
//! | `expect.json` | none | `"object"`, `"array"` or `"any"`: the body must parse as JSON of that kind (a body that merely contains `[` is not an array) |
//! | `expect.has` | `[]` | JSON pointers that must be present and not null, such as `"/subsystems"` |
//! | `expect.match` | none | a JSON pattern the body must contain: an object pattern needs each of its keys with a matching value; an array pattern needs each of its elements matched by some element; anything else must be equal. `[{"content":"{probe}"}]` is "an array with an element whose content is the probe" |
//! | `capture` | `{}` | placeholder name → JSON pointer into the response body (`{"workspace_id":"/0/id"}`); the value (a string or number) fills `{workspace_id}` in later checks. A capture that finds nothing fails the check |
//!
//! Placeholders are `{name}` in `path`, `body` and `expect.match`:
//! `{probe}` is a value unique to the tenant and the run
//! (`canary-smoke-<run>-<n>`), `{tenant}` the tenant's name, and any
//! other name must be captured by an earlier check. In `path` the values
//! are percent-encoded. A check that needs a value an earlier check failed
//! to capture fails as "not run", and once a tenant does not answer at
//! all, its remaining checks fail as "not run" too.
//!
//! Every request carries the tenant's `headers` (for example
//! `X-Molecule-Org-Id`). Two suites are built in: `default` (the documented
//! API) and `workspace-server` (the API as actually served); print them
//! with `--print-suite NAME`.

mod cli;
mod input;
pub mod judge;
mod junit;
mod report;
mod request;
mod runner;
pub mod suite;

use std::io::{self, IsTerminal, Write};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::Instant;

use common::ci::GithubActions;
use common::{Code, HasCode};

pub use cli::Cli;
pub use report::CheckOutcome;
pub use suite::Suite;

use junit::Junit;
use report::Reporter;
use request::Sender;
use runner::{Feed, Smoke};

/// The suite format, for `--help`.
pub const AFTER_LONG_HELP: &str = "\
RECORDS:
  One JSON object per check on stdout, as soon as the check is judged:
    {\"tenant\":\"canary-pm\",\"url\":\"https://canary-pm.example.com\",\"check\":\"workspaces\",
     \"ok\":false,\"status\":500,\"ms\":41,\"expected\":\"status 200, a JSON array\",
     \"got\":\"{\\\"error\\\":\\\"internal\\\"}\",\"reason\":\"status 500, expected 200\"}
  status is null when no answer came; got is an excerpt of the body (or why
  nothing came); reason is present only on failures.

SUITES:
  A suite is a JSON-lines file, one check per line, run in order against each
  tenant; blank lines and lines starting with # are ignored. Fields:
    name            required; the check's name in records (letters, digits, - _ .)
    method          GET (default), HEAD, POST, PUT, PATCH or DELETE
    path            required; path and query after the tenant's base URL, with placeholders
    auth            true (default): send the tenant's bearer token; false: send none
    body            a JSON value sent as the request body; placeholders filled in its strings
    expect.status   a status code or a list of them (default: any 2xx)
    expect.json     \"object\", \"array\" or \"any\": the body must parse as that kind of JSON
    expect.has      JSON pointers that must be present, like [\"/subsystems\"]
    expect.match    a JSON pattern the body must contain, like [{\"content\":\"{probe}\"}]
                    (objects: these keys with matching values; arrays: each element
                    matched by some element; anything else: equal)
    capture         {\"NAME\": \"/json/pointer\"}: a value from the body for {NAME} later
  Placeholders: {probe} (unique per tenant and run), {tenant} (its name), and
  any name an earlier check captures. Example line:
    {\"name\":\"workspaces\",\"path\":\"/workspaces\",\"expect\":{\"status\":200,\"json\":\"array\"},\"capture\":{\"workspace_id\":\"/0/id\"}}
  Built-in suites: default (the documented API) and workspace-server (the API as
  served: workspace-scoped memories, q= search, the probe deleted afterwards).
  See them with --print-suite NAME.

ENVIRONMENT:
  CANARY_TENANT_URLS   tenant base URLs, separated by spaces, commas or newlines
  CANARY_ADMIN_TOKENS  one admin token per URL, in the same order
                       (both read when stdin is a terminal, or with --from-env)
  GITHUB_ACTIONS       when \"true\": every token is masked (::add-mask::) first, and
                       each failing check becomes an ::error:: annotation
  GITHUB_STEP_SUMMARY  a file to which a Markdown summary of the results is appended
  NO_COLOR             no colour on stderr (there is none when stderr is not a terminal)

EXIT STATUS:
  0  every check passed on every tenant
  1  a check failed (or stdout, the JUnit file or the step summary could not be written)
  2  usage, suite or input error: a bad flag, a malformed suite line (FILE:LINE),
     a malformed tenant line (stdin:LINE), missing or mismatched variables,
     or no tenants at all

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke --junit smoke.xml
  CANARY_TENANT_URLS=\"$URLS\" CANARY_ADMIN_TOKENS=\"$TOKENS\" canary-smoke --from-env
  canary-smoke --print-suite > my-suite.jsonl && canary-smoke --suite my-suite.jsonl < tenants.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    #[error("cannot start a worker thread: {0}")]
    Thread(#[source] io::Error),
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Thread(_) => Code::Failed,
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    if let Some(name) = &cli.print_suite {
        return print_suite(name.as_deref(), &cli.suite);
    }
    let started = Instant::now();
    let suite = Suite::load(&cli.suite)?;
    let ci = GithubActions::from_env();
    let junit = cli.junit.as_deref().map(Junit::create).transpose()?;
    let reporter = Reporter::new(ci.clone(), junit);
    let sender = Sender {
        agent: common::http::agent("canary-smoke", env!("CARGO_PKG_VERSION"), cli.timeout),
        timeout: cli.timeout,
        retries: cli.retries,
    };
    let smoke = Smoke {
        suite: &suite,
        sender: &sender,
        reporter: &reporter,
        run_id: run_id(),
    };
    let from_env = cli.from_env || io::stdin().is_terminal();
    let jobs = usize::from(cli.jobs);

    // A queue no longer than the pool: the reader stays at most one tenant
    // per worker ahead, so memory is flat however long the stream.
    let (queue, work) = mpsc::sync_channel(jobs);
    let work = Mutex::new(work);
    let read = thread::scope(|scope| -> Result<(), Error> {
        for n in 0..jobs {
            thread::Builder::new()
                .name(format!("smoke-{n}"))
                .spawn_scoped(scope, || smoke.work(&work))
                .map_err(Error::Thread)?;
        }
        let mut feed = Feed {
            queue,
            reporter: &reporter,
            sent: 0,
        };
        let read = if from_env {
            input::from_env(&mut feed, &ci, cli.insecure)
        } else {
            input::from_stdin(&mut feed, &ci, cli.insecure)
        };
        drop(feed);
        // The workers finish the tenants already sent before the scope ends.
        Ok(read?)
    });
    let wall_ms = started.elapsed().as_millis() as u64;
    if let Err(error) = read {
        // Results of tenants before a bad line stand, with their totals;
        // the input error decides the exit.
        if reporter.tenants_done() > 0 {
            if let Err(output) = reporter.finish(&suite.name, wall_ms) {
                if common::exit::is_broken_pipe(&output) {
                    return Err(output.into());
                }
            }
        }
        return Err(error);
    }
    let totals = reporter.finish(&suite.name, wall_ms)?;
    if totals.tenants() == 0 {
        return Err(common::Error::Usage("no tenants were checked".into()).into());
    }
    Ok(if totals.checks_failed == 0 {
        Code::Ok
    } else {
        Code::Failed
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
