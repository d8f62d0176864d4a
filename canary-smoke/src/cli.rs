use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::cli::{Insecure, Verbosity};
use common::sha::Sha;

/// Run the smoke suite against each canary tenant, one result line per check.
///
/// Reads tenant JSON lines on stdin (as written by tenant-list or
/// canary-wait) and starts on each tenant as soon as its line arrives. A
/// tenant's checks that do not depend on each other run at once; --jobs
/// caps the requests in flight across all tenants. Records keep suite
/// order per tenant.
///
/// As a drop-in for canary-smoke.sh, it reads CANARY_TENANT_URLS and
/// CANARY_ADMIN_TOKENS instead with --from-env, when stdin is a terminal,
/// or when no record can arrive (stdin is /dev/null, closed or an empty
/// file) and CANARY_TENANT_URLS is set; it then prints the script's text on
/// stdout, byte for byte (records only with --json or --records FILE).
///
/// Otherwise it writes one check-result record per check on stdout as soon
/// as it is judged (see RECORDS below), and a PASS/FAIL line per tenant,
/// then the === CANARY SMOKE RESULTS === totals, on stderr. Tokens never
/// appear in any output.
#[derive(Debug, Parser)]
#[command(name = "canary-smoke", version = common::version::LONG, after_long_help = AFTER_LONG_HELP)]
pub struct Cli {
    /// The suite to run: a built-in suite's name (default, workspace-server)
    /// or a suite file. A file named like a built-in suite is ./NAME.
    #[arg(long, short = 's', value_name = "NAME|FILE", default_value = "default")]
    pub suite: String,

    /// Print the built-in suite NAME on stdout and exit: a starting point for
    /// a suite file. Without NAME, print the --suite suite; for a file, only
    /// once it has been checked, so this also validates a suite file.
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub print_suite: Option<Option<String>>,

    /// Requests in flight at most, across all tenants. A tenant never has
    /// more at once than its suite has independent checks (5 for the
    /// default suite).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 128,
          value_parser = clap::value_parser!(u16).range(1..=512))]
    pub jobs: u16,

    /// Limit on each request, connecting and redirects included: 20s,
    /// 1500ms, 1m, or plain seconds.
    #[arg(long, value_name = "DURATION", default_value = "20s",
          value_parser = common::duration::parse_flag)]
    pub request_timeout: Duration,

    /// Deadline for the whole run: checks not sent by then fail as not run,
    /// tenants not read by then are left unchecked (exit 1). None by default.
    #[arg(long, value_name = "DURATION", value_parser = common::duration::parse_flag)]
    pub timeout: Option<Duration>,

    /// Retry a request this many times after a connection error (refused,
    /// reset, dropped), with backoff. Timeouts and answers of any status
    /// are never retried.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Longest response body read, in bytes (or with KiB/MiB); a check that
    /// needs a larger body fails as "too large". A check's max_body
    /// overrides it.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: u64,

    /// The build under test (7 to 40 hex characters), stamped into every
    /// record, the JUnit report and the step summary.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<Sha>,

    /// Also write a JUnit XML report to FILE: one testsuite per tenant, one
    /// testcase per check.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Read the fleet from CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS (the
    /// drop-in for canary-smoke.sh), whatever stdin is.
    #[arg(long)]
    pub from_env: bool,

    /// Records on stdout even in drop-in mode (instead of the script's text).
    #[arg(long)]
    pub json: bool,

    /// Write the records to FILE instead of stdout (in drop-in mode, where
    /// stdout carries the script's text, the way to keep them).
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub records: Option<PathBuf>,

    #[command(flatten)]
    pub insecure: Insecure,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `1048576`, `512KiB`, `1MiB` (also `K`, `KB`, `M`, `MB`, all 1024-based).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: write bytes, or 512KiB, 1MiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use KiB or MiB")),
    };
    match number.checked_mul(scale) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?} is too large")),
    }
}

/// The records, suite format, environment and exit codes, for `--help`.
pub const AFTER_LONG_HELP: &str = "\
RECORDS:
  One JSON object per check on stdout, as soon as the check is judged:
    {\"tenant\":\"canary-pm\",\"url\":\"https://canary-pm.example.com\",\"check\":\"workspaces\",
     \"ok\":false,\"status\":500,\"ms\":41,\"expected\":\"status 200, a JSON array\",
     \"got\":\"{\\\"error\\\":\\\"internal\\\"}\",\"reason\":\"status 500, expected 200\",
     \"method\":\"GET\",\"request\":\"https://canary-pm.example.com/workspaces\",
     \"sha\":\"4c1d56e\",\"tenant_fields\":{\"region\":\"eu\"}}
  status is null when no answer came; got is an excerpt of the body (or why
  nothing came); reason, method and request are present only on failures;
  sha only with --sha; tenant_fields holds the tenant record's other fields
  (never its token or headers). A tenant that canary-wait passed on as not
  ready (\"canary_wait\":{\"ready\":false,...}) is not probed: it fails one check,
  canary-wait, as \"never reported <sha>\".

SUITES:
  A suite is a JSON-lines file, one check per line; blank lines and lines
  starting with # are ignored. Fields:
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
    after           a check name or a list of them: wait for those checks first
    max_body        longest body read for this check, in bytes (overrides --max-body)
    description     the check's words in the drop-in text (canary-smoke.sh's PASS lines)
  Placeholders: {probe} (unique per tenant and run), {tenant} (its name), and
  any name an earlier check captures. Order: two checks touching the same
  placeholder (other than {tenant}), one of them writing it (capturing it, or
  sending it in a request that is not GET or HEAD), run in suite order; all
  other checks of a tenant start at once (after forces more order). Records
  always come out in suite order. Example line:
    {\"name\":\"workspaces\",\"path\":\"/workspaces\",\"expect\":{\"status\":200,\"json\":\"array\"},\"capture\":{\"workspace_id\":\"/0/id\"}}
  Built-in suites: default (the documented API) and workspace-server (the API as
  served: workspace-scoped memories, q= search, the probe deleted afterwards).
  See them with --print-suite NAME.

ENVIRONMENT:
  CANARY_TENANT_URLS   tenant base URLs, separated by spaces, commas or newlines
  CANARY_ADMIN_TOKENS  one admin token per URL, in the same order (both read with
                       --from-env, when stdin is a terminal, or when stdin can carry
                       no record: /dev/null, closed, an empty file)
  GITHUB_ACTIONS       when \"true\": every token is masked (::add-mask::) first, and
                       each failing check becomes an ::error:: annotation
  GITHUB_STEP_SUMMARY  a file to which a Markdown summary is appended; its first
                       line is the verdict
  GITHUB_OUTPUT        receives passed and failed (tenant counts), failed_tenants
                       (a JSON array of names) and verdict (passed or failed)
  RUNNER_DEBUG         \"1\" under GitHub Actions: as -v
  NO_COLOR             no colour on stderr (there is none when stderr is not a terminal)

EXIT STATUS:
  0  every check passed on every tenant, and every tenant read was checked
  1  a check failed, a tenant never reported the build (canary-wait), the
     --timeout deadline passed, stdout closed before every tenant was
     checked, or the JUnit file, the step summary or outputs could not be written
  2  usage, suite or input error: a bad flag, a malformed suite line (FILE:LINE),
     a malformed tenant line (stdin:LINE), missing or mismatched variables,
     or no tenants at all

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke --sha 4c1d56e --junit smoke.xml
  CANARY_TENANT_URLS=\"$URLS\" CANARY_ADMIN_TOKENS=\"$TOKENS\" canary-smoke --from-env
  canary-smoke --print-suite > my-suite.jsonl && canary-smoke --suite my-suite.jsonl < tenants.jsonl";

#[cfg(test)]
mod tests {
    use super::*;

    common::cli_is_consistent!(Cli);

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("300"), Ok(300));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1GiB").is_err());
        assert!(parse_size("lots").is_err());
    }
}
