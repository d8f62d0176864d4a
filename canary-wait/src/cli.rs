use std::time::Duration;

use clap::{Parser, ValueEnum};

use common::cli::TenantPipe;
use common::duration;
use common::Sha;

/// Pass canary tenants through as soon as each one runs the expected build.
///
/// Reads tenant JSON lines on stdin (as written by tenant-list) and polls
/// every tenant's version endpoint concurrently (GET --path, then the JSON
/// pointer --field of the response) until it reports --sha. Each tenant is
/// written to stdout the moment it is ready (its record as read, with the
/// URL normalised and a name derived when it has none, as tenant-list
/// does), so a canary-smoke downstream starts on early tenants while the
/// others still update.
///
/// A tenant is ready when the reported value equals --sha or one is a prefix
/// of the other (a 7-character sha against a 40-character one), compared
/// case-insensitively. Connection errors, 5xx answers and bodies that are
/// not JSON keep the tenant waiting (polled less often while they last).
/// Progress goes to stderr: a line at once, then at most one per --interval
/// when something changed (and at least every 30s), with the time left:
///
///   canary-wait: ready 3/5 — waiting: canary-a (reports 1a2b3c4), canary-b (connection refused) — 12s elapsed, 6m48s left
///
/// Two mistakes are named at once instead of being waited out: a tenant
/// whose answers carry no --field at all (it serves no build sha; see
/// --if-no-sha), and one whose every answer is 401, 403 or 404 for
/// --misconfigured-after (a wrong token, --path or org header).
///
/// Tenants that are not confirmed are still written to stdout at the end,
/// marked with a "canary_wait" field ({"ready":false,…} or, when they go on
/// unconfirmed, {"ready":true,"confirmed":false,…}; see docs/records.md), so
/// canary-smoke fails them even in a pipe without pipefail.
#[derive(Debug, Parser)]
#[command(
    name = "canary-wait",
    version = common::version::LONG,
    after_long_help = "\
ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": every token read is masked (::add-mask::) first,
                       a failure becomes an ::error:: annotation and tenants passed
                       on unconfirmed a ::warning:: one; RUNNER_DEBUG=1 means -v
  GITHUB_STEP_SUMMARY  a file to which the verdict is appended (its first line)
  GITHUB_OUTPUT        a file to which the step outputs are appended:
                       ready (how many tenants reported --sha) and stragglers
                       (a JSON array of the names of those that did not)
  NO_COLOR             no colour on stderr (there is none when stderr is not a terminal)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (and lower-case forms)
                       proxy for the polls, as usual

EXIT STATUS:
  0  every tenant reported --sha and was written to stdout (or went on
     unconfirmed: --proceed-on-timeout, --if-no-sha proceed)
  1  a tenant did not report --sha: the timeout passed, it serves no sha
     (--if-no-sha fail), or it is misconfigured; each is named with what it
     last reported, and written to stdout marked \"canary_wait\":{\"ready\":false,…};
     also when stdin was still open at the timeout (the list never ended), and
     when stdout closed before every tenant was passed on
  2  usage or input error: a bad flag (--sha must be 7 to 40 hex characters),
     a malformed or invalid tenant line (named as stdin:LINE), a duplicate
     tenant, or no tenants at all

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke
  tenant-list | canary-wait --sha \"$GITHUB_SHA\" --buildinfo
  tenant-list | canary-wait --sha 4c1d56e --if-no-sha proceed --timeout 5m"
)]
pub struct Cli {
    /// The build to wait for: a git sha of 7 to 40 hex characters (any case).
    #[arg(long, value_name = "SHA")]
    pub sha: Sha,

    /// The version endpoint polled on each tenant, relative to its base URL.
    #[arg(long, value_name = "PATH", default_value = "/health", value_parser = parse_path)]
    pub path: String,

    /// JSON pointer (RFC 6901) to the reported sha in the endpoint's response,
    /// such as /sha or /build/git_sha.
    #[arg(long, value_name = "POINTER", default_value = "/sha", value_parser = parse_pointer)]
    pub field: String,

    /// Read the build from GET /buildinfo → {"git_sha":"…"}, the endpoint of
    /// newer workspace servers: the same as --path /buildinfo --field /git_sha.
    #[arg(long, conflicts_with_all = ["path", "field"])]
    pub buildinfo: bool,

    /// What a tenant that serves no build sha at all means (its answers are
    /// JSON without --field, as GET /health of today's server). fail: it is
    /// named at once and fails the wait. proceed: it is named at once, still
    /// polled in case it starts to report one, and passed on unconfirmed
    /// when --timeout passes, as the old wait step did.
    #[arg(long, value_name = "WHAT", value_enum, default_value_t = IfNoSha::Fail)]
    pub if_no_sha: IfNoSha,

    /// Send each tenant's bearer token and its `headers` with the polls.
    /// Without it, polls carry no credentials and no tenant headers (right
    /// for /health; SaaS tenants need their X-Molecule-Org-Id header, so
    /// --auth, on every other path).
    #[arg(long)]
    pub auth: bool,

    /// Deadline for the whole run: 90s, 7m, 1h, 1m30s or plain seconds.
    #[arg(long, value_name = "DURATION", default_value = "7m", value_parser = duration::parse_flag)]
    pub timeout: Duration,

    /// Time between two polls of one tenant, plus up to 20% jitter so the
    /// fleet is not polled in lock-step; longer (up to 8×) while a tenant
    /// answers with errors, or as its Retry-After asks.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration::parse_flag)]
    pub interval: Duration,

    /// Limit on one poll, connecting included [default: --interval, at least
    /// 5s and at most 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_flag)]
    pub request_timeout: Option<Duration>,

    /// A tenant whose every answer for this long is HTTP 401, 403 or 404 is
    /// reported as misconfigured (wrong token, --path or org header) and
    /// fails; the run ends early when every tenant is.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration::parse_flag)]
    pub misconfigured_after: Duration,

    /// On timeout, write the tenants that are not ready to stdout anyway
    /// (marked "canary_wait":{"ready":true,"confirmed":false,…}), warn, and
    /// exit 0.
    #[arg(long)]
    pub proceed_on_timeout: bool,

    #[command(flatten)]
    pub pipe: TenantPipe,
}

/// What a tenant without a build sha means: `--if-no-sha`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IfNoSha {
    /// Name it at once and fail the wait.
    Fail,
    /// Name it at once and pass it on unconfirmed at the deadline.
    Proceed,
}

impl Cli {
    /// The per-poll limit: `--request-timeout`, else `--interval` kept
    /// within 5s..=10s (a tenant far away or busy may take longer than the
    /// short default interval to answer, and a slow one should not hold a
    /// worker for a whole long interval).
    pub fn poll_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or_else(|| {
            self.interval
                .clamp(Duration::from_secs(5), Duration::from_secs(10))
        })
    }

    /// The endpoint and JSON pointer polled, `--buildinfo` applied.
    pub fn endpoint(&self) -> (&str, &str) {
        if self.buildinfo {
            ("/buildinfo", "/git_sha")
        } else {
            (&self.path, &self.field)
        }
    }
}

fn parse_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') || text.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "expected a path starting with / and without spaces, like /health; got {text:?}"
        ));
    }
    Ok(text.to_string())
}

fn parse_pointer(text: &str) -> Result<String, String> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err(format!(
            "expected a JSON pointer such as /sha or /build/git_sha (\"\" for the whole document); got {text:?}"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from([&["canary-wait", "--sha", "4c1d56e"], args].concat()).unwrap()
    }

    common::cli_is_consistent!(Cli);

    #[test]
    fn poll_timeout_follows_the_interval_within_bounds() {
        assert_eq!(cli(&[]).poll_timeout(), Duration::from_secs(5));
        assert_eq!(
            cli(&["--interval", "7s"]).poll_timeout(),
            Duration::from_secs(7)
        );
        assert_eq!(
            cli(&["--interval", "100ms"]).poll_timeout(),
            Duration::from_secs(5)
        );
        assert_eq!(
            cli(&["--interval", "1m"]).poll_timeout(),
            Duration::from_secs(10)
        );
        let explicit = cli(&["--interval", "100ms", "--request-timeout", "250ms"]);
        assert_eq!(explicit.poll_timeout(), Duration::from_millis(250));
    }

    #[test]
    fn buildinfo_is_a_path_and_a_field() {
        assert_eq!(cli(&[]).endpoint(), ("/health", "/sha"));
        assert_eq!(cli(&["--buildinfo"]).endpoint(), ("/buildinfo", "/git_sha"));
        let both = [
            "canary-wait",
            "--sha",
            "4c1d56e",
            "--buildinfo",
            "--path",
            "/x",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn rejects_bad_flags() {
        for args in [
            &["--sha", "xyz"][..],
            &["--sha", "4c1d56e", "--timeout", "0s"],
            &["--sha", "4c1d56e", "--timeout", "25h"],
            &["--sha", "4c1d56e", "--timeout", "18446744073709551615"],
            &["--sha", "4c1d56e", "--interval", "soon"],
            &["--sha", "4c1d56e", "--field", "sha"],
            &["--sha", "4c1d56e", "--path", "health"],
            &["--sha", "4c1d56e", "--if-no-sha", "maybe"],
            &[],
        ] {
            let argv = [&["canary-wait"][..], args].concat();
            assert!(Cli::try_parse_from(&argv).is_err(), "{argv:?}");
        }
    }
}
