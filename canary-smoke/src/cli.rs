use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Run the smoke suite against each canary tenant, one result line per check.
///
/// Reads tenant JSON lines on stdin (as written by tenant-list or
/// canary-wait) and starts on each tenant as soon as its line arrives,
/// running up to --jobs tenants at once; the checks of one tenant run in
/// suite order. As a drop-in for canary-smoke.sh, it reads
/// CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS instead when stdin is a
/// terminal or --from-env is given.
///
/// Writes one check-result record per check on stdout as soon as it is
/// judged (see RECORDS below), and a PASS/FAIL line per tenant, then the
/// === CANARY SMOKE RESULTS === totals, on stderr. Tokens never appear in
/// any output.
#[derive(Debug, Parser)]
#[command(
    name = "canary-smoke",
    version,
    after_long_help = crate::AFTER_LONG_HELP
)]
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

    /// How many tenants to check at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=512))]
    pub jobs: u16,

    /// Limit on each request, connecting included: 20s, 1500ms, 1m, or plain seconds.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = common::duration::parse_flag)]
    pub timeout: Duration,

    /// Retry a request this many times after a connection error (refused,
    /// reset, host not found), with backoff. Timeouts and answers of any
    /// status are never retried.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Also write a JUnit XML report to FILE: one testsuite per tenant, one
    /// testcase per check.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Read the fleet from CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS even
    /// when stdin is not a terminal.
    #[arg(long)]
    pub from_env: bool,

    /// Allow plain http to non-loopback tenants.
    #[arg(long)]
    pub insecure: bool,
}

/// `20s`, `1500ms`, `2m`, `1m30s`, `1h`, or a plain number of seconds.
#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
