use std::time::Duration;

use clap::Parser;
use common::ci::GithubActions;

use crate::{Client, Credentials, Error, Options, RetryPolicy};

/// Resolve, list and move tags in an OCI registry.
///
///   registry-tag IMAGE:TAG              print the tag's record (its digest)
///   registry-tag IMAGE:SRC NEWTAG...    point each NEWTAG at SRC's manifest
///   registry-tag IMAGE@sha256:… NEWTAG  the source may be a digest
///   registry-tag --list IMAGE           one record per tag
///   registry-tag [--atomic] < requests  moves as JSON lines on stdin:
///                                       {"image":"ghcr.io/o/p","source":"staging-4c1d56e","tag":"latest"}
///
/// A request is any record with "image", "tag" and a target: "source" (a tag
/// or digest, resolved now) or "digest" (exactly this manifest; a "source"
/// tag beside it only names where it came from). So tag records printed by
/// registry-tag come back in as requests:
///
///   registry-tag IMG:staging-4c1d56e | jq -c '.tag="latest"' | registry-tag --atomic
///
/// "expect_current" (a digest, or null: the tag must not exist) guards each
/// request; "changed", "previous", "dry_run" and "latest" are ignored; any
/// other field is passed through to the output record.
///
/// Tags are moved by PUTting the source's exact manifest bytes (an OCI index
/// or Docker manifest list keeps its own digest), then every tag is read
/// back. When stdout is a pipe or file (or with --json), records go to it as
/// JSON lines, and one human line per tag to stderr:
///
///   {"image":"ghcr.io/o/p","tag":"latest","digest":"sha256:…","previous":"sha256:…","source":"staging-4c1d56e","changed":true}
///
/// On a terminal, a resolve prints the bare digest (as crane digest does),
/// --list prints "DIGEST  TAG" lines and moves print a table; -q prints only
/// digests, one per line. Request lines are all read and checked before
/// anything is moved, so a bad line changes nothing. (The record of a digest
/// resolve carries the digest in "tag".)
#[derive(Debug, Parser)]
#[command(
    name = "registry-tag",
    version = common::version::LONG,
    verbatim_doc_comment,
    after_long_help = "\
CREDENTIALS (first match wins; the source used is named in errors, never the secret):
  REGISTRY_USERNAME, REGISTRY_PASSWORD  username and password or token, only for the
                                        registry REGISTRY_HOST names (without it: the one
                                        registry of the images given, none if several)
  GITHUB_TOKEN, GITHUB_ACTOR            for ghcr.io only (user defaults to github-actions)
  DOCKER_CONFIG                         directory of config.json (default ~/.docker): its
                                        credHelpers, credsStore (docker-credential-NAME get)
                                        and auths entries
  --authfile FILE, REGISTRY_AUTH_FILE   a containers auth file (the same auths format)
  $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json
                                        podman's and skopeo's logins
  otherwise                             anonymous (Bearer registries still hand out pull tokens)

ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": secrets are masked (::add-mask::) first, failures are annotated
  GITHUB_STEP_SUMMARY  the verdict, then every tag with full digests, is appended to this file
  GITHUB_OUTPUT        digest (one image) or digests (JSON image -> digest), and changed
                       (true/false), after a resolve or moves that succeeded
  RUNNER_DEBUG         \"1\" under GitHub Actions counts as -v
  NO_COLOR             no colour on stderr

Registries on localhost or loopback addresses are spoken to over plain http; others
over https unless --insecure. docker.io images use index.docker.io; one-part names get
library/. Requests that fail with 408/429/500/502/503/504, are refused, time out or
lose their connection are retried (at most 4 attempts, with backoff and Retry-After up
to 10 s, within 30 s or --timeout if shorter). A PUT that timed out may still land: --atomic treats it as moved.

EXIT STATUS:
  0  resolved, listed or moved (or nothing needed to move)
  1  a tag or digest is missing, --expect-current did not hold, a digest did not match,
     or the registry refused or failed, another writer moved a tag during the run, or
     stdout was closed before every record was written; with --atomic nothing is left
     half-moved, or the message names every tag that is
  2  usage error: bad flag, bad reference, malformed request line, credentials that
     cannot be read. Nothing was changed.

EXAMPLES:
  registry-tag ghcr.io/molecule-ai/platform:staging-4c1d56e
  registry-tag ghcr.io/molecule-ai/platform:staging-4c1d56e latest
  registry-tag --expect-current sha256:… ghcr.io/molecule-ai/platform:staging-4c1d56e latest
  printf '%s\\n' '{\"image\":\"ghcr.io/o/a\",\"source\":\"staging-4c1d56e\",\"tag\":\"latest\"}' \\
                 '{\"image\":\"ghcr.io/o/b\",\"source\":\"staging-4c1d56e\",\"tag\":\"latest\"}' \\
    | registry-tag --atomic"
)]
pub struct Cli {
    /// The tag to resolve, or the source of a move: IMAGE:TAG or IMAGE@sha256:…
    #[arg(value_name = "REFERENCE")]
    pub reference: Option<String>,

    /// Tags to point at REFERENCE's manifest.
    #[arg(value_name = "NEWTAG", requires = "reference")]
    pub new_tags: Vec<String>,

    /// List every tag of IMAGE with its digest.
    #[arg(long, value_name = "IMAGE", conflicts_with_all = ["reference", "atomic", "expect_current", "dry_run"])]
    pub list: Option<String>,

    /// Resolve every source and destination first and change nothing if one is
    /// missing; if a move fails, restore the tags already moved and exit 1.
    /// (A tag that did not exist before cannot be removed again where the
    /// registry cannot delete tags, such as distribution 2.8: it is reported
    /// as not restored.)
    #[arg(long)]
    pub atomic: bool,

    /// Move a tag only if it currently points at DIGEST (a guard against racing
    /// promotions); for requests on stdin, the default of those without their
    /// own "expect_current".
    #[arg(long, value_name = "DIGEST")]
    pub expect_current: Option<String>,

    /// Print what would change (records with "dry_run":true), change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Records (JSON lines) on stdout even on a terminal.
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print only digests on stdout, one per line (and no per-tag lines on stderr).
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub verbosity: common::cli::Verbosity,
}

/// How to reach registries: the flags every tool built on this library
/// shares (`#[command(flatten)]` it into the tool's `Cli`).
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Allow plain http to non-loopback registries and token services.
    #[arg(long)]
    pub insecure: bool,

    /// Deadline for the whole run: 500ms, 30s, 2m, 1h or plain seconds (so
    /// the old `--timeout 30` still works). No lookup, retry or move starts
    /// after it (a request under way may outlast it by --request-timeout); a
    /// move under way is finished or undone, never left half-done. No
    /// deadline by default.
    #[arg(long, value_name = "DURATION", value_parser = common::duration::parse_flag)]
    pub timeout: Option<Duration>,

    /// Limit on each HTTP request (500ms, 30s, 2m, plain seconds). A write
    /// given up on after this long is treated as one that may still land.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = common::duration::parse_flag)]
    pub request_timeout: Duration,

    /// A containers auth file (docker's `auths` format), tried after the
    /// environment and docker's config.json; default $REGISTRY_AUTH_FILE.
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    /// The one client of a `tool` process: credentials from the environment,
    /// each secret masked under GitHub Actions before anything else is
    /// printed (even a usage error), then the credential configuration
    /// checked.
    pub fn client(&self, tool: &str, version: &str, ci: &GithubActions) -> Result<Client, Error> {
        // Retries stop at the deadline; a request under way may outlast it
        // by at most --request-timeout.
        let run_limit = self.timeout.unwrap_or(Duration::MAX);
        if let Some(timeout) = self.timeout {
            crate::deadline::start(timeout);
        }
        let credentials = Credentials::from_env().with_authfile(self.authfile.clone());
        let client = Client::new(
            Options {
                insecure: self.insecure,
                timeout: self.request_timeout,
                retry: RetryPolicy {
                    budget: RetryPolicy::default().budget.min(run_limit),
                    ..RetryPolicy::default()
                },
                tool: tool.to_string(),
                version: version.to_string(),
            },
            credentials.clone(),
        )
        .with_ci(ci.clone());
        credentials.check()?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    common::cli_is_consistent!(Cli);

    #[test]
    fn list_conflicts_with_moves() {
        assert!(Cli::try_parse_from(["registry-tag", "--list", "x", "y:z"]).is_err());
        assert!(Cli::try_parse_from(["registry-tag", "--list", "x", "--atomic"]).is_err());
        let cli = Cli::try_parse_from(["registry-tag", "a:b", "c", "d"]).unwrap();
        assert_eq!(cli.new_tags, ["c", "d"]);
    }
}
