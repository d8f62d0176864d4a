//! `rollback-latest`: one command, every image, all-or-nothing.

mod cli;
mod images;
mod inspect;
mod pin;
mod promote;
mod report;

use common::ci::GithubActions;
use common::exit::{is_broken_pipe, stdout_closed};
use common::sha::Sha;
use common::term::note;
use common::{Code, HasCode};
use registry_tag::{check_tag, Client, MoveError};

pub use cli::Cli;
pub use images::{DEFAULT_IMAGES, IMAGES_VAR};

use images::{describe, images};
use report::Report;

const TOOL: &str = "rollback-latest";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    #[error(transparent)]
    Registry(#[from] registry_tag::Error),

    #[error("{0}")]
    Usage(String),

    /// A source tag is missing on at least one image; nothing was changed.
    #[error("{} — did you type the wrong sha? (`rollback-latest --list` shows the staging tags); nothing was changed", missing.join("; "))]
    SourceMissing { missing: Vec<String> },

    /// A move failed or was refused; the images already moved were put back
    /// (or, if that failed too, the message says which are not).
    #[error("moving {tag} to {source_tag} failed: {error}")]
    Move {
        tag: String,
        source_tag: String,
        error: Box<MoveError>,
    },

    /// Nothing was sent: a tag was not where this run (or its pin) found it.
    #[error("{tag} was not moved to {source_tag}: {error}; another promotion or rollback moved it — check what it points at now (rollback-latest --list) and run again")]
    Refused {
        tag: String,
        source_tag: String,
        error: Box<MoveError>,
    },

    /// A tag moved since the pin (and not to the pinned digest): nothing
    /// was changed.
    #[error("{0}; another promotion or rollback moved it since the pin — check what it points at now (rollback-latest --list), and pin again to promote onto that")]
    PinMoved(registry_tag::Error),

    #[error("no {prefix}* tags on any image: nothing to list")]
    NothingListed { prefix: String },
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Registry(e) => e.code(),
            Error::Usage(_) => Code::Usage,
            Error::SourceMissing { .. }
            | Error::Move { .. }
            | Error::Refused { .. }
            | Error::PinMoved(_)
            | Error::NothingListed { .. } => Code::Failed,
        }
    }
}

/// What the run is for, decided from the arguments alone.
#[derive(Debug)]
enum Task {
    /// `rollback-latest <sha>`: move the tag to `source` on every image.
    Promote {
        source: String,
    },
    DryRun {
        source: String,
    },
    List {
        prefix: String,
    },
    /// `--pin <sha>`: print move requests to `source`'s digests; change nothing.
    Pin {
        source: String,
    },
    /// `--pinned FILE`: apply such requests.
    Pinned {
        path: std::path::PathBuf,
    },
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    cli.verbosity.init();
    // Everything the operator typed is checked before any request is made.
    // A pin file names its own images: the list is not read for it.
    let (images, image_source) = match cli.pinned {
        Some(_) => (Vec::new(), images::ImageSource::Flag),
        None => images(&cli.images, std::env::var_os(IMAGES_VAR))?,
    };
    check_tag(&cli.tag).map_err(|e| Error::Usage(format!("--tag {:?}: {e}", cli.tag)))?;
    let task = match (&cli.sha, &cli.pin, &cli.pinned) {
        (Some(sha), _, _) => {
            let source = source_tag(&cli.from_tag, &parse_sha(sha)?)?;
            if cli.dry_run {
                Task::DryRun { source }
            } else {
                Task::Promote { source }
            }
        }
        (None, Some(sha), _) => Task::Pin {
            source: source_tag(&cli.from_tag, &parse_sha(sha)?)?,
        },
        (None, None, Some(path)) => Task::Pinned { path: path.clone() },
        (None, None, None) => Task::List {
            prefix: list_prefix(&cli.from_tag)?,
        },
    };

    let ci = GithubActions::from_env();
    let client = cli.registry.client(TOOL, env!("CARGO_PKG_VERSION"), &ci)?;
    if !matches!(task, Task::Pinned { .. }) {
        client.bind_env_credentials(&images);
    }
    match &task {
        Task::Pinned { path } => note(TOOL, &format!("images from {}", path.display())),
        _ => note(TOOL, &describe(&images, image_source)),
    }

    let report = match &task {
        Task::Promote { .. } if !cli.json => Report::script(),
        Task::Promote { .. } | Task::Pin { .. } => Report::records(),
        Task::Pinned { .. } if !cli.dry_run => Report::records(),
        Task::DryRun { .. } | Task::List { .. } | Task::Pinned { .. } => {
            Report::table_or_records(cli.json)
        }
    };
    let mut rollback = Rollback {
        client,
        ci,
        tag: cli.tag.clone(),
        report,
        done: Done::Nothing,
    };
    let result = match &task {
        Task::Promote { source } => rollback.promote(&images, source),
        Task::DryRun { source } => rollback.dry_run(&images, source),
        Task::List { prefix } => rollback.list(&images, prefix, cli.limit as usize),
        Task::Pin { source } => rollback.pin(&images, source),
        Task::Pinned { path } => rollback.pinned(path, cli.dry_run),
    };
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(stdout_closed(
            TOOL,
            Some(&rollback.done.to_string()),
            Code::Failed,
        )),
        other => other,
    }
}

/// The sha as typed: 7-40 hex characters in any case (`common::sha`), with
/// a hint for the usual slips.
fn parse_sha(input: &str) -> Result<Sha, Error> {
    input.parse::<Sha>().map_err(|e| {
        Error::Usage(match input.strip_prefix("staging-") {
            Some(rest) => format!(
                "{input:?} is a tag, not a sha: give just the sha ({rest:?}) and staging- is added"
            ),
            None => format!("{e}, like 4c1d56e (staging tags carry the first 7)"),
        })
    })
}

/// `staging-{sha}` with the short sha filled in, checked as a tag.
fn source_tag(template: &str, sha: &Sha) -> Result<String, Error> {
    if !template.contains("{sha}") {
        return Err(Error::Usage(format!(
            "--from-tag {template:?} has no {{sha}} placeholder"
        )));
    }
    let tag = template.replace("{sha}", sha.short());
    check_tag(&tag).map_err(|e| Error::Usage(format!("--from-tag gives {tag:?}: {e}")))?;
    Ok(tag)
}

/// What `--list` matches: the template's text before `{sha}`.
fn list_prefix(template: &str) -> Result<String, Error> {
    match template.split_once("{sha}") {
        Some((prefix, _)) => Ok(prefix.to_string()),
        None => Err(Error::Usage(format!(
            "--from-tag {template:?} has no {{sha}} placeholder"
        ))),
    }
}

/// What had been done when stdout closed, for the one line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Done {
    /// Nothing was changed (a list, a dry run, or before any move).
    Nothing,
    /// The move was made (or was already in place) but not fully reported.
    Moved(String),
    /// The move failed; the error was not fully reported.
    Failed(String),
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Done::Nothing => write!(f, "the output was cut short; nothing was changed"),
            Done::Moved(what) => write!(f, "{what}, but the report was cut short"),
            Done::Failed(what) => write!(f, "{what}; the report was cut short"),
        }
    }
}

#[derive(Debug)]
struct Rollback {
    client: Client,
    ci: GithubActions,
    tag: String,
    report: Report,
    done: Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_are_read_in_any_case_with_hints_for_slips() {
        let sha = parse_sha("4C1D56E2F0").unwrap();
        assert_eq!(
            source_tag("staging-{sha}", &sha).unwrap(),
            "staging-4c1d56e"
        );
        let err = parse_sha("staging-abc1234").unwrap_err().to_string();
        assert!(err.contains("staging- is added"), "{err}");
        let err = parse_sha("latest").unwrap_err().to_string();
        assert!(err.contains("like 4c1d56e"), "{err}");
        assert!(parse_sha("4c1d56").is_err() && parse_sha(&"a".repeat(41)).is_err());
    }

    #[test]
    fn templates_need_the_placeholder() {
        let sha = parse_sha("4c1d56e").unwrap();
        assert!(source_tag("staging", &sha).is_err());
        assert_eq!(list_prefix("build-{sha}-x").unwrap(), "build-");
    }
}
