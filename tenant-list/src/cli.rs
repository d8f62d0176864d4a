use std::path::PathBuf;
use std::str::FromStr;

use clap::Parser;
use common::cli::TenantPipe;

/// Emit the canary tenant fleet as JSON lines.
///
/// Reads the fleet from CANARY_TENANT_URLS and CANARY_ADMIN_TOKENS (paired by
/// position; separated by any mix of spaces, commas and newlines), or from
/// --file, a file of tenant JSON lines. Validates it as a whole, then writes
/// one tenant record per line:
///
///   {"name":"canary-pm","url":"https://canary-pm.example.com","token":"…"}
///
/// `name` is derived from the host when absent; `headers` and any unknown
/// fields are passed through untouched.
#[derive(Debug, Parser)]
#[command(
    name = "tenant-list",
    version = common::version::LONG,
    after_long_help = "\
ENVIRONMENT:
  CANARY_TENANT_URLS   tenant base URLs (https; plain http only for loopback or with --insecure)
  CANARY_ADMIN_TOKENS  one admin token per URL, in the same order
  GITHUB_ACTIONS       when \"true\", every token is masked (::add-mask::) before any other
                       output, and an error also becomes an ::error annotation
  GITHUB_STEP_SUMMARY  an error adds one line to the step summary
  GITHUB_OUTPUT        the step output `count` (tenants written) is appended
  RUNNER_DEBUG         \"1\" under GitHub Actions acts as -v

OUTPUT:
  One tenant record per line, tokens included, for the next tool in the pipe.
  On a terminal tokens are shown as *** unless --show-tokens. Tokens never
  appear on stderr, in annotations or in the summary.

EXIT STATUS:
  0  the whole fleet was written
  1  stdout was closed before every tenant was written (`tenant-list | head -1`):
     the tenants not written were not delivered, so it is not success; stderr
     says how many were left
  2  usage or input error: variables missing or of different lengths, no tenants,
     a bad or duplicate URL, a URL with credentials in it (never repeated), a
     port outside 1-65535, an empty token or one with a line break or control
     character, plain http to a non-loopback host, a malformed --file line
     (named as FILE:LINE; variable entries as CANARY_TENANT_URLS entry N), or
     no tenant left after --match/--shard. Nothing is written to stdout.

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke
  tenant-list --shard 2/4 --match 'canary-*'"
)]
pub struct Cli {
    /// Read tenant JSON lines from FILE ("-" for stdin) instead of the environment.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Keep only tenants whose name or URL matches PATTERN: a substring, or a
    /// glob over the whole name or URL when it contains * or ?.
    #[arg(long = "match", short = 'm', value_name = "PATTERN")]
    pub pattern: Option<String>,

    /// Emit only shard I of N (1-based): tenants are dealt round-robin in
    /// input order, so the N shards together hold every tenant exactly once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    #[command(flatten)]
    pub pipe: TenantPipe,
}

/// `I/N`: the I-th of N shards, 1 ≤ I ≤ N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the tenant at `position` (0-based, after filtering) belongs here.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("expected I/N with 1 <= I <= N, like 2/4; got {s:?}");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: usize = i.trim().parse().map_err(|_| err())?;
        let count: usize = n.trim().parse().map_err(|_| err())?;
        if index == 0 || count == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    common::cli_is_consistent!(Cli);

    #[test]
    fn shards_parse() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
