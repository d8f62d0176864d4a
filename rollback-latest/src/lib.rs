//! `rollback-latest`: one command, every image, all-or-nothing.

mod cli;
mod sha;

use common::ci::{markdown_cell, GithubActions};
use common::jsonl::RecordWriter;
use common::term::{note, say, Style};
use common::{Code, HasCode};
use registry_tag::short;
use registry_tag::{plan, Client, Image, Intent, Move, MoveError, Plan, TagRecord};
use serde::Serialize;

pub use cli::Cli;
pub use sha::short_sha;

const TOOL: &str = "rollback-latest";

/// The images the old script moved when nothing else is named.
const DEFAULT_IMAGES: [&str; 2] = [
    "ghcr.io/molecule-ai/platform",
    "ghcr.io/molecule-ai/platform-tenant",
];

/// The tool's own variable for the image list. Never the generic
/// `IMAGE_NAME`, which workflows set for other purposes.
pub const IMAGES_VAR: &str = "ROLLBACK_IMAGES";

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

    /// A move failed; the images already moved were put back (or, if that
    /// failed too, the message says which are not).
    #[error("rolling {tag} back to {source_tag} failed: {error}")]
    Move {
        tag: String,
        source_tag: String,
        error: Box<MoveError>,
    },

    #[error("no {prefix}* tags on any image: nothing to list")]
    NothingListed { prefix: String },
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Registry(e) => e.code(),
            Error::Usage(_) => Code::Usage,
            Error::SourceMissing { .. } | Error::Move { .. } | Error::NothingListed { .. } => {
                Code::Failed
            }
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    // Everything the operator typed is checked before any request is made.
    let (images, image_source) = images(&cli.images, std::env::var_os(IMAGES_VAR))?;
    let source_tag = match &cli.sha {
        Some(sha) => {
            let short = short_sha(sha).map_err(Error::Usage)?;
            Some(source_tag(&cli.from_tag, &short)?)
        }
        None => None,
    };
    registry_tag::check_tag(&cli.tag)
        .map_err(|e| Error::Usage(format!("--tag {:?}: {e}", cli.tag)))?;

    let ci = GithubActions::from_env();
    let client = cli.registry.client(TOOL, env!("CARGO_PKG_VERSION"), &ci)?;

    let mut rollback = Rollback {
        client,
        ci,
        style: Style::for_stderr(),
        tag: cli.tag.clone(),
        out: RecordWriter::stdout(),
    };
    note(
        TOOL,
        &format!(
            "{} image{} from {image_source}: {}",
            images.len(),
            if images.len() == 1 { "" } else { "s" },
            images
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let result = match source_tag {
        None => rollback.list(&images, &cli.from_tag),
        Some(source) if cli.dry_run => rollback.dry_run(&images, &source),
        Some(source) => rollback.promote(&images, &source),
    };
    if let Err(e) = &result {
        if !matches!(e, Error::Common(_)) {
            rollback.ci.error(TOOL, &e.to_string());
        }
    }
    result
}

/// Where the list of images came from, said before anything moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageSource {
    Flag,
    Variable,
    Default,
}

impl std::fmt::Display for ImageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSource::Flag => write!(f, "--image"),
            ImageSource::Variable => write!(f, "{IMAGES_VAR}"),
            ImageSource::Default => write!(f, "the built-in default"),
        }
    }
}

/// `--image`, else `ROLLBACK_IMAGES` (spaces, commas or newlines between
/// names), else the defaults. A `ROLLBACK_IMAGES` that is set but names no
/// image is an error rather than a silent fall-back to the defaults.
fn images(
    flags: &[String],
    variable: Option<std::ffi::OsString>,
) -> Result<(Vec<Image>, ImageSource), Error> {
    let (names, source): (Vec<String>, _) = if !flags.is_empty() {
        (flags.to_vec(), ImageSource::Flag)
    } else if let Some(value) = variable {
        let value = value
            .into_string()
            .map_err(|_| Error::Usage(format!("{IMAGES_VAR} is not valid UTF-8")))?;
        let names: Vec<String> = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            return Err(Error::Usage(format!(
                "{IMAGES_VAR} is set but names no image: list the images (separated by spaces, commas or newlines), or unset it to move {}",
                DEFAULT_IMAGES.join(" and ")
            )));
        }
        (names, ImageSource::Variable)
    } else {
        (
            DEFAULT_IMAGES.iter().map(|s| s.to_string()).collect(),
            ImageSource::Default,
        )
    };
    let mut images: Vec<Image> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let image = Image::parse(name.trim()).map_err(|e| match source {
            ImageSource::Variable => Error::Usage(format!("{IMAGES_VAR} entry {}: {e}", i + 1)),
            _ => Error::Registry(e.into()),
        })?;
        if images.iter().any(|i| i.canonical() == image.canonical()) {
            return Err(Error::Usage(format!(
                "image {name} is given twice ({source})"
            )));
        }
        images.push(image);
    }
    Ok((images, source))
}

fn source_tag(template: &str, short: &str) -> Result<String, Error> {
    if !template.contains("{sha}") {
        return Err(Error::Usage(format!(
            "--from-tag {template:?} has no {{sha}} placeholder"
        )));
    }
    let tag = template.replace("{sha}", short);
    registry_tag::check_tag(&tag)
        .map_err(|e| Error::Usage(format!("--from-tag gives {tag:?}: {e}")))?;
    Ok(tag)
}

/// One `--list` line: a tag record plus whether `latest` points there.
#[derive(Debug, Serialize)]
struct ListRecord<'a> {
    #[serde(flatten)]
    record: &'a TagRecord,
    latest: bool,
}

#[derive(Debug)]
struct Rollback {
    client: Client,
    ci: GithubActions,
    style: Style,
    tag: String,
    out: RecordWriter<std::io::Stdout>,
}

impl Rollback {
    fn moves(&self, images: &[Image], source: &str) -> Result<Vec<Move>, Error> {
        images
            .iter()
            .map(|image| Move::new(image.clone(), source, &self.tag))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Registry(e.into()))
    }

    /// Resolves every source and every current tag; nothing changes.
    fn plan(&self, images: &[Image], source: &str, intent: Intent) -> Result<Plan, Error> {
        match plan(&self.client, self.moves(images, source)?, intent) {
            Ok(plan) => Ok(plan),
            Err(registry_tag::Error::Missing(missing)) => {
                for m in &missing {
                    say(&format!("  {} {m}", self.style.bad("FAIL:")));
                }
                Err(Error::SourceMissing { missing })
            }
            Err(e) => {
                say(&format!("  {} {e}", self.style.bad("FAIL:")));
                Err(e.into())
            }
        }
    }

    fn promote(&mut self, images: &[Image], source: &str) -> Result<Code, Error> {
        let plan = self.plan(images, source, Intent::Move)?;
        if plan.steps().iter().all(|s| s.is_noop()) {
            for step in plan.steps() {
                say(&format!("→ {}", step.image().name));
                say(&format!(
                    "  {}   {}:{} already at {} ({source})",
                    self.style.good("OK"),
                    step.image().name,
                    self.tag,
                    step.digest()
                ));
            }
            for record in plan.dry_run_records() {
                self.out.write(&TagRecord {
                    dry_run: false,
                    ..record
                })?;
            }
            say(&format!(
                "{TOOL}: {} already points at {source} on every image; nothing to do",
                self.tag
            ));
            self.summary(source, &plan, None, "already there")?;
            return Ok(Code::Ok);
        }
        match plan.apply(&self.client) {
            Ok(records) => {
                for record in &records {
                    say(&format!("→ {}", record.image));
                    let note = match (&record.previous, record.changed) {
                        (_, false) => " (already there)".to_string(),
                        (Some(previous), true) => format!(" (was {})", short(previous)),
                        (None, true) => " (new tag)".to_string(),
                    };
                    say(&format!(
                        "  {}   {}:{} → {}{note}",
                        self.style.good("OK"),
                        record.image,
                        record.tag,
                        record.digest
                    ));
                    self.out.write(record)?;
                }
                say("");
                say(&self.style.bold("=== ROLLBACK COMPLETE ==="));
                say(&format!(
                    "{} → {source} on {} image(s)",
                    self.tag,
                    records.len()
                ));
                self.summary(source, &plan, Some(&records), "moved")?;
                Ok(Code::Ok)
            }
            Err(error) => {
                say(&format!("  {} {error}", self.style.bad("FAIL:")));
                for record in &error.records {
                    let before = plan
                        .steps()
                        .iter()
                        .find(|s| s.image().name == record.image)
                        .and_then(|s| s.current());
                    let state = if Some(record.digest.as_str()) == before {
                        "as before"
                    } else {
                        "MOVED, not restored"
                    };
                    say(&format!(
                        "  {}:{} → {} ({state})",
                        record.image, record.tag, record.digest
                    ));
                    self.out.write(record)?;
                }
                say("");
                say(&self.style.bad("=== ROLLBACK FAILED ==="));
                self.summary(source, &plan, Some(&error.records), "failed")?;
                Err(Error::Move {
                    tag: self.tag.clone(),
                    source_tag: source.to_string(),
                    error: Box::new(error),
                })
            }
        }
    }

    fn dry_run(&mut self, images: &[Image], source: &str) -> Result<Code, Error> {
        let plan = self.plan(images, source, Intent::DryRun)?;
        for (step, record) in plan.steps().iter().zip(plan.dry_run_records()) {
            say(&format!("→ {}", step.image().name));
            let line = match step.current() {
                _ if step.is_noop() => format!(
                    "{}:{} already at {} ({source})",
                    record.image, record.tag, record.digest
                ),
                Some(current) => format!(
                    "{}:{} would move {} → {} ({source})",
                    record.image, record.tag, current, record.digest
                ),
                None => format!(
                    "{}:{} does not exist; would be created at {} ({source})",
                    record.image, record.tag, record.digest
                ),
            };
            say(&format!("  {line}"));
            self.out.write(&record)?;
        }
        say("");
        say(&self.style.bold("=== DRY RUN: nothing was changed ==="));
        Ok(Code::Ok)
    }

    fn list(&mut self, images: &[Image], template: &str) -> Result<Code, Error> {
        let prefix = template
            .split("{sha}")
            .next()
            .unwrap_or_default()
            .to_string();
        let mut listed = 0;
        for image in images {
            say(&format!("→ {}", image.name));
            let latest = self
                .client
                .resolve_optional(&image.tag(&self.tag).map_err(registry_tag::Error::from)?)?
                .map(|r| r.digest);
            let mut tags: Vec<String> = self
                .client
                .list_tags(image)?
                .into_iter()
                .filter(|t| t.starts_with(&prefix))
                .collect();
            tags.sort();
            let mut latest_seen = false;
            for tag in tags {
                let reference = image.tag(&tag).map_err(registry_tag::Error::from)?;
                let Some(resolved) = self.client.resolve_optional(&reference)? else {
                    continue; // deleted between the listing and the HEAD
                };
                let is_latest = latest.as_deref() == Some(resolved.digest.as_str());
                latest_seen |= is_latest;
                let marker = if is_latest {
                    format!("  ← {}", self.tag)
                } else {
                    String::new()
                };
                say(&format!(
                    "  {} {tag}  {}{marker}",
                    if is_latest { "*" } else { " " },
                    resolved.digest
                ));
                let record = TagRecord::current(&image.name, &tag, &resolved.digest);
                self.out.write(&ListRecord {
                    record: &record,
                    latest: is_latest,
                })?;
                listed += 1;
            }
            match latest {
                None => say(&format!("  ({} does not exist)", self.tag)),
                Some(d) if !latest_seen => say(&format!(
                    "  ({} is at {d}, which no {prefix}* tag has)",
                    self.tag
                )),
                Some(_) => {}
            }
        }
        if listed == 0 {
            return Err(Error::NothingListed { prefix });
        }
        Ok(Code::Ok)
    }

    /// A Markdown table of every image's tag before and after, under Actions.
    fn summary(
        &self,
        source: &str,
        plan: &Plan,
        after: Option<&[TagRecord]>,
        outcome: &str,
    ) -> Result<(), Error> {
        let mut md = format!(
            "### rollback-latest: {} → `{}` ({outcome})\n\n| image | before | now |\n|---|---|---|\n",
            markdown_cell(&self.tag),
            markdown_cell(source)
        );
        for step in plan.steps() {
            let before = step.current().map_or("—", short);
            let now = after
                .and_then(|records| records.iter().find(|r| r.image == step.image().name))
                .map_or(before, |r| short(&r.digest));
            md.push_str(&format!(
                "| {} | `{before}` | `{now}` |\n",
                markdown_cell(&step.image().name)
            ));
        }
        self.ci.append_summary(&md)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(images: &[Image]) -> Vec<&str> {
        images.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn images_come_from_the_flag_then_the_variable_then_the_defaults() {
        let (list, source) = images(&[], None).unwrap();
        assert_eq!(
            (names(&list), source),
            (DEFAULT_IMAGES.to_vec(), ImageSource::Default)
        );
        assert_eq!(source.to_string(), "the built-in default");

        let (list, source) = images(&[], Some("a/b,\n c/d".into())).unwrap();
        assert_eq!(
            (names(&list), source),
            (vec!["a/b", "c/d"], ImageSource::Variable)
        );

        let (list, source) = images(&["x/y".into()], Some("a/b".into())).unwrap();
        assert_eq!((names(&list), source), (vec!["x/y"], ImageSource::Flag));
    }

    #[test]
    fn a_blank_variable_or_a_repeated_image_is_refused() {
        assert!(images(&[], Some(" ,".into())).is_err());
        let err = images(&[], Some("a/b a/b".into())).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }
}
