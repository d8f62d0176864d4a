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
/// Tag records go to stdout as JSON lines; the script's lines (→ image,
/// OK image:latest → digest, === ROLLBACK COMPLETE ===) go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "rollback-latest",
    version,
    after_long_help = "\
IMAGES (first match wins; the list and where it came from are printed first):
  --image IMAGE (repeatable)
  ROLLBACK_IMAGES   image names separated by spaces, commas or newlines
                    (set but empty is an error, not the defaults)
  otherwise         ghcr.io/molecule-ai/platform and ghcr.io/molecule-ai/platform-tenant
  IMAGE_NAME and TENANT_IMAGE_NAME are never read: workflows set them for
  other purposes.

CREDENTIALS (as registry-tag; the source used is named in errors, never the secret):
  REGISTRY_USERNAME, REGISTRY_PASSWORD  for every registry
  GITHUB_TOKEN, GITHUB_ACTOR            for ghcr.io, as the old script used them
  DOCKER_CONFIG                         directory of config.json (default ~/.docker)
  otherwise                             anonymous

ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": secrets are masked first, failures are annotated
  GITHUB_STEP_SUMMARY  a Markdown table of every image's latest is appended here
  NO_COLOR             no colour on stderr

EXIT STATUS:
  0  latest points at staging-<sha> on every image (moved, or already there);
     --dry-run and --list: the plan or the list was printed
  1  a staging-<sha> tag is missing, or the registry refused or failed; nothing
     is left half-moved (the images already moved are restored)
  2  bad arguments: a sha that is not 7-40 lowercase hex, a bad image name,
     unreadable credentials. No request was made to any registry.

EXAMPLES:
  rollback-latest 4c1d56e
  rollback-latest --dry-run 4c1d56e
  rollback-latest --list
  rollback-latest --image ghcr.io/acme/api 4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f"
)]
pub struct Cli {
    /// The build to point latest at: 7 to 40 lowercase hex characters of its
    /// commit sha. Staging tags carry the short sha, so a longer sha selects
    /// staging-<first 7>.
    #[arg(value_name = "SHA", required_unless_present = "list")]
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

    /// Show each image's current and target digest; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// List each image's staging tags with digests, marking the one latest points at.
    #[arg(long, conflicts_with_all = ["sha", "dry_run"])]
    pub list: bool,

    #[command(flatten)]
    pub registry: registry_tag::RegistryArgs,
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
