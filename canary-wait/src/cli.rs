use std::fmt;
use std::time::Duration;

use clap::Parser;

use common::duration;

/// Pass canary tenants through as soon as each one runs the expected build.
///
/// Reads tenant JSON lines on stdin (as written by tenant-list) and polls
/// every tenant's version endpoint concurrently (GET --path, then the JSON
/// pointer --field of the response) until it reports --sha. Each tenant is
/// written to stdout, unchanged, the moment it is ready, so a canary-smoke
/// downstream starts on early tenants while the others still update.
///
/// A tenant is ready when the reported value equals --sha or one is a prefix
/// of the other (a 7-character sha against a 40-character one), compared
/// case-insensitively. Connection errors, 5xx answers, bodies that are not
/// JSON and missing fields keep the tenant waiting and show in the progress
/// line on stderr, at most once per --interval:
///
///   canary-wait: ready 3/5 — waiting: canary-a (reports 1a2b3c4), canary-b (connection refused)
#[derive(Debug, Parser)]
#[command(
    name = "canary-wait",
    version,
    after_long_help = "\
ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": every token read is masked (::add-mask::) first,
                       a timeout becomes an ::error:: annotation and
                       --proceed-on-timeout a ::warning:: one
  GITHUB_STEP_SUMMARY  a file to which one summary line is appended
  NO_COLOR             no colour on stderr (there is none when stderr is not a terminal)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (and lower-case forms)
                       proxy for the polls, as usual

EXIT STATUS:
  0  every tenant reported --sha and was written to stdout
     (or the timeout passed with --proceed-on-timeout: all were written anyway)
  1  the timeout passed first: the tenants that never reported --sha are
     named with what they last reported; they are not written to stdout
  2  usage or input error: a bad flag (--sha must be 7 to 40 hex characters),
     a malformed or invalid tenant line (named as stdin:LINE), a duplicate
     tenant, or no tenants at all

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke
  canary-wait --sha \"$GITHUB_SHA\" --path /buildinfo --field /git_sha --auth < tenants.jsonl"
)]
pub struct Cli {
    /// The build to wait for: a git sha of 7 to 40 hex characters (any case).
    #[arg(long, value_name = "SHA", value_parser = Sha::parse)]
    pub sha: Sha,

    /// The version endpoint polled on each tenant, relative to its base URL.
    #[arg(long, value_name = "PATH", default_value = "/health", value_parser = parse_path)]
    pub path: String,

    /// JSON pointer (RFC 6901) to the reported sha in the endpoint's response,
    /// such as /sha or /build/git_sha.
    #[arg(long, value_name = "POINTER", default_value = "/sha", value_parser = parse_pointer)]
    pub field: String,

    /// Send each tenant's bearer token and its `headers` with the polls.
    /// Without it, polls carry no credentials and no tenant headers (right
    /// for /health; SaaS tenants need their X-Molecule-Org-Id header, so
    /// --auth, on every other path).
    #[arg(long)]
    pub auth: bool,

    /// Give up this long after starting: 90s, 7m, 1h, 1m30s or plain seconds.
    #[arg(long, value_name = "DURATION", default_value = "7m", value_parser = duration::parse_flag)]
    pub timeout: Duration,

    /// Time between two polls of one tenant, varied by up to ±10% so the
    /// fleet is not polled in lock-step.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::parse_flag)]
    pub interval: Duration,

    /// Limit on one poll, connecting included [default: --interval, at least
    /// 1s and at most 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_flag)]
    pub request_timeout: Option<Duration>,

    /// On timeout, write the tenants that are not ready to stdout anyway, warn,
    /// and exit 0.
    #[arg(long)]
    pub proceed_on_timeout: bool,

    /// Allow tenants on plain http to non-loopback hosts.
    #[arg(long)]
    pub insecure: bool,
}

impl Cli {
    /// The per-poll limit: `--request-timeout`, else `--interval` kept
    /// within 1s..=10s (a poll may take longer than a short test interval,
    /// and a slow tenant should not hold a worker for a whole long one).
    pub fn poll_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or_else(|| {
            self.interval
                .clamp(Duration::from_secs(1), Duration::from_secs(10))
        })
    }
}

/// A git sha, 7 to 40 hex characters, kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha(String);

impl Sha {
    pub fn parse(text: &str) -> Result<Sha, String> {
        let s = text.trim();
        if (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha(s.to_ascii_lowercase()))
        } else {
            Err(format!(
                "expected a git sha of 7 to 40 hex characters, like 4c1d56e; got {text:?}"
            ))
        }
    }

    /// Whether a tenant reporting `reported` runs this build: equal, or one a
    /// prefix of the other, ignoring case. The reported value must itself
    /// look like a sha (7 or more hex characters), or an empty or one-letter
    /// answer would count as a prefix.
    pub fn is_reported_by(&self, reported: &str) -> bool {
        let reported = reported.trim().to_ascii_lowercase();
        reported.len() >= 7
            && reported.bytes().all(|b| b.is_ascii_hexdigit())
            && (reported.starts_with(&self.0) || self.0.starts_with(&reported))
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sha_must_be_7_to_40_hex() {
        assert_eq!(Sha::parse("4C1D56E").unwrap().to_string(), "4c1d56e");
        assert!(Sha::parse(&"a".repeat(40)).is_ok());
        for bad in [
            "",
            "4c1d56",
            "latest",
            "staging-4c1d56e",
            "4c1d56g",
            &"a".repeat(41),
        ] {
            assert!(Sha::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_match_both_ways_ignoring_case() {
        let short = Sha::parse("4c1d56e").unwrap();
        let long = Sha::parse("4C1D56E9F00B5A1C0DE0000000000000000000AB").unwrap();
        assert!(short.is_reported_by("4c1d56e9f00b5a1c0de0000000000000000000ab"));
        assert!(long.is_reported_by("4c1d56e"));
        assert!(long.is_reported_by(" 4C1D56E9 "));
        assert!(short.is_reported_by("4C1D56E"));
        for not in [
            "",
            "4c1d56",
            "4c1d56f",
            "1a2b3c4",
            "4c1d56e-dirty",
            "staging-4c1d56e",
        ] {
            assert!(!short.is_reported_by(not), "{not:?}");
            assert!(!long.is_reported_by(not), "{not:?}");
        }
    }

    #[test]
    fn poll_timeout_follows_the_interval_within_bounds() {
        let cli = |args: &[&str]| {
            Cli::try_parse_from([&["canary-wait", "--sha", "4c1d56e"], args].concat()).unwrap()
        };
        assert_eq!(cli(&[]).poll_timeout(), Duration::from_secs(10));
        assert_eq!(
            cli(&["--interval", "3s"]).poll_timeout(),
            Duration::from_secs(3)
        );
        assert_eq!(
            cli(&["--interval", "100ms"]).poll_timeout(),
            Duration::from_secs(1)
        );
        assert_eq!(
            cli(&["--interval", "1m"]).poll_timeout(),
            Duration::from_secs(10)
        );
        let explicit = cli(&["--interval", "100ms", "--request-timeout", "250ms"]);
        assert_eq!(explicit.poll_timeout(), Duration::from_millis(250));
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
            &[],
        ] {
            let argv = [&["canary-wait"][..], args].concat();
            assert!(Cli::try_parse_from(&argv).is_err(), "{argv:?}");
        }
    }
}
