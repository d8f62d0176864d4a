use clap::Parser;

/// Point `latest` of every image at `staging-<sha>`, all-or-nothing.
///
/// A drop-in for rollback-latest.sh, and the step that promotes a green
/// canary build. For every image it resolves `staging-<sha>` and the current
/// `latest` first; if any source is missing, nothing is changed. Then it moves
/// each image's `latest` to the exact manifest it resolved (so a tag rewritten
/// meanwhile cannot slip in) and verifies it. If a move or a verification
/// fails, the images already moved are put back and the tool exits 1, saying
/// where every image's `latest` now points.
///
/// Output: `rollback-latest <sha>` prints the old script's lines on stdout,
/// byte for byte (→ image, OK   image:latest → digest, a blank line,
/// === ROLLBACK COMPLETE ===); with --json stdout carries tag records instead
/// and those lines go to stderr. --list and --dry-run print a table when
/// stdout is a terminal and JSON lines otherwise (or with --json); never both.
/// Notes and failures always go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "rollback-latest",
    version = common::version::LONG,
    after_long_help = "\
IMAGES (first match wins; the list and where it came from are printed first):
  --image IMAGE (repeatable)
  ROLLBACK_IMAGES   image names separated by spaces, commas or newlines
                    (set but empty is an error, not the defaults)
  otherwise         ghcr.io/molecule-ai/platform and ghcr.io/molecule-ai/platform-tenant
  IMAGE_NAME and TENANT_IMAGE_NAME are never read: workflows set them for
  other purposes.

CREDENTIALS (as registry-tag; the source used is named in errors, never the secret):
  REGISTRY_USERNAME, REGISTRY_PASSWORD  only for the registry REGISTRY_HOST names (without
                                        it: the images' one registry, none if several)
  GITHUB_TOKEN, GITHUB_ACTOR            for ghcr.io only, as the old script used them
  DOCKER_CONFIG                         directory of config.json (default ~/.docker)
  --authfile FILE, REGISTRY_AUTH_FILE   a containers auth file (docker's auths format)
  $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json
  otherwise                             anonymous

ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": secrets are masked first, failures are annotated
  GITHUB_STEP_SUMMARY  the verdict (first line), then a table of every image's latest
                       before and now, digests in full
  GITHUB_OUTPUT        step outputs: digest (one image) or digests (JSON object
                       image → digest, several images), where latest points now;
                       changed (true/false); with --pin also pinned (the pin lines)
  RUNNER_DEBUG         \"1\" under GitHub Actions: as -v
  NO_COLOR             no colour on stderr

EXIT STATUS:
  0  latest points at staging-<sha> on every image (moved, or already there),
     and that was reported; --dry-run and --list: the plan or the list was printed
  1  a staging-<sha> tag is missing, the registry refused or failed, the
     --timeout deadline passed, or another writer moved latest during the run
     (--pinned: since the pin); nothing is left half-moved (the images already
     moved are restored). Also 1 when stdout was closed before the output was
     written (stderr says what was done).
  2  bad arguments: a sha that is not 7-40 hex characters, an extra argument,
     a bad image name, a bad line in a --pinned file (named by file:line),
     unreadable credentials. No request was made to any registry.

PINNED PROMOTE (promote exactly the manifests the gate tested):
  rollback-latest --pin 4c1d56e > pinned.jsonl    when the gate starts
  rollback-latest --pinned pinned.jsonl           after it passed
  Each line of pinned.jsonl is a move request:
  {\"image\":…,\"tag\":\"latest\",\"digest\":\"<staging-4c1d56e's digest>\",\"source\":\"staging-4c1d56e\",\"expect_current\":\"<latest's digest then>\"|null}
  so a staging tag re-pushed in between cannot slip in, and a latest moved in
  between (another promotion or rollback) is refused, not overwritten. The same
  file works with registry-tag --atomic. Under GitHub Actions --pin also sets
  the step output pinned (the file's lines).

EXAMPLES:
  rollback-latest 4c1d56e
  rollback-latest --dry-run 4c1d56e
  rollback-latest --list
  rollback-latest --image ghcr.io/acme/api 4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f"
)]
pub struct Cli {
    /// The build to point latest at: 7 to 40 hex characters of its commit sha,
    /// in any case (staging tags use lowercase). Staging tags carry the short
    /// sha, so a longer sha selects staging-<first 7>.
    #[arg(value_name = "SHA", required_unless_present_any = ["list", "pin", "pinned"])]
    pub sha: Option<String>,

    /// An image to move (repeatable); replaces ROLLBACK_IMAGES and the defaults.
    #[arg(long = "image", value_name = "IMAGE")]
    pub images: Vec<String>,

    /// The source tag; {sha} is replaced by the 7-character sha.
    #[arg(long, value_name = "TEMPLATE", default_value = "staging-{sha}")]
    pub from_tag: String,

    /// The tag to move.
    #[arg(long, value_name = "TAG", default_value = "latest")]
    pub tag: String,

    /// Show each image's current and target digest; change nothing (a table on
    /// a terminal, records on a pipe).
    #[arg(long)]
    pub dry_run: bool,

    /// List each image's staging tags, newest first by the image's creation
    /// time (from its config; for an index, its first platform's), with
    /// digests, marking the one latest points at (a table on a terminal,
    /// records on a pipe).
    #[arg(long, conflicts_with_all = ["sha", "dry_run", "pin", "pinned"])]
    pub list: bool,

    /// With --list: show at most N staging tags per image (the newest).
    #[arg(long, value_name = "N", default_value_t = 20, requires = "list",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Change nothing; print, per image, the move request that would point
    /// latest at the exact manifest staging-<SHA> is now, expecting latest
    /// where it is now. Save it (a job output or artifact) for --pinned.
    #[arg(long, value_name = "SHA", conflicts_with_all = ["sha", "pinned", "dry_run"])]
    pub pin: Option<String>,

    /// Apply a file written by --pin: every latest to its pinned digest, all
    /// or nothing; refused (exit 1, nothing changed) if any latest moved since
    /// the pin (one already at its pinned digest is fine: re-running an applied
    /// pin is a no-op). Images come from the file. With --dry-run, show the plan.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sha", "images", "from_tag"])]
    pub pinned: Option<std::path::PathBuf>,

    /// Print tag records (JSON lines) on stdout instead of the script's lines
    /// or a table; people's lines then go to stderr.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub registry: registry_tag::RegistryArgs,

    #[command(flatten)]
    pub verbosity: common::cli::Verbosity,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
