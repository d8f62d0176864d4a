//! Planning all-or-nothing tag moves: what to move ([`Move`]), and every
//! source and current destination resolved before anything changes
//! ([`plan`] → [`Plan`]). Carrying a plan out is [`crate::apply`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::client::{Access, Client};
use crate::deadline;
use crate::manifest::{Manifest, Resolved};
use crate::parallel::in_parallel;
use crate::record::TagRecord;
use crate::reference::{check_tag, Image, Reference, ReferenceError, Target};
use crate::Error;

/// What a destination tag must point at for a move to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The tag must not exist yet.
    Absent,
    /// The tag must point at this digest.
    Digest(String),
}

impl Expect {
    fn holds(&self, current: Option<&str>) -> bool {
        match self {
            Expect::Absent => current.is_none(),
            Expect::Digest(d) => current == Some(d.as_str()),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Absent => f.write_str("no tag at all"),
            Expect::Digest(d) => f.write_str(d),
        }
    }
}

/// Point `tag` of `image` at `source` (a tag or digest in the same image).
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub(crate) image: Image,
    source: Target,
    /// What records name as the source when it is not `source` itself (the
    /// tag a pinned digest was resolved from).
    label: Option<String>,
    pub(crate) tag: String,
    expect: Option<Expect>,
    extra: Map<String, Value>,
}

impl Move {
    /// `source` is a tag (`staging-4c1d56e`) or digest (`sha256:…`).
    pub fn new(image: Image, source: &str, tag: &str) -> Result<Move, ReferenceError> {
        let source = image.target(source)?.target;
        check_tag(tag).map_err(|reason| ReferenceError {
            input: tag.to_string(),
            reason,
        })?;
        Ok(Move {
            image,
            source,
            label: None,
            tag: tag.to_string(),
            expect: None,
            extra: Map::new(),
        })
    }

    /// Records name `label` as the source (for a move to a pinned digest:
    /// the tag the digest was resolved from). The manifest moved is still
    /// the one [`Move::new`] was given.
    pub fn labelled(mut self, label: &str) -> Move {
        self.label = Some(label.to_string());
        self
    }

    /// Moves the tag only if it is as `expect` says right before the PUT.
    pub fn expecting(mut self, expect: Expect) -> Move {
        self.expect = Some(expect);
        self
    }

    /// Fields copied into every record of this move (a request's unknown
    /// fields, passed through).
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Move {
        self.extra = extra;
        self
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The tag being moved.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The source as records name it.
    pub fn source(&self) -> &str {
        self.label.as_deref().unwrap_or(match &self.source {
            Target::Tag(t) | Target::Digest(t) => t,
        })
    }

    pub fn expected(&self) -> Option<&Expect> {
        self.expect.as_ref()
    }

    /// `image:source` or `image@digest`: what is fetched.
    pub fn source_reference(&self) -> Reference {
        Reference {
            image: self.image.clone(),
            target: self.source.clone(),
        }
    }

    /// `image:tag`.
    pub fn destination(&self) -> Reference {
        Reference {
            image: self.image.clone(),
            target: Target::Tag(self.tag.clone()),
        }
    }
}

/// Whether a plan is for moving tags or only for showing what would move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Ask for push access up front, so one token per repository suffices.
    Move,
    /// Read-only: only pull access is asked for.
    DryRun,
}

/// One resolved move: read it through its accessors.
#[derive(Debug, Clone)]
pub struct Step {
    pub(crate) mv: Move,
    pub(crate) manifest: Arc<Manifest>,
    current: Option<Resolved>,
}

impl Step {
    /// The move as requested.
    pub fn request(&self) -> &Move {
        &self.mv
    }

    pub fn image(&self) -> &Image {
        &self.mv.image
    }

    pub fn tag(&self) -> &str {
        &self.mv.tag
    }

    /// The source as records name it.
    pub fn source(&self) -> &str {
        self.mv.source()
    }

    /// The digest the tag is to point at (the source manifest's).
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    /// The source manifest, exact bytes.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What the tag pointed at when planned; `None` if it did not exist.
    pub fn current(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.digest.as_str())
    }

    /// True when the tag already points at the source: nothing to send.
    pub fn is_noop(&self) -> bool {
        self.current() == Some(self.digest())
    }

    /// The record of this tag moved to (or shown at) `digest`.
    pub fn record(&self, digest: &str, changed: bool) -> TagRecord {
        TagRecord {
            image: self.mv.image.name.clone(),
            tag: self.mv.tag.clone(),
            digest: digest.to_string(),
            previous: self.current().map(str::to_string),
            source: Some(self.source().to_string()),
            changed,
            dry_run: false,
            extra: self.mv.extra.clone(),
        }
    }

    /// The record of this tag left as it was (`previous` is null); `None`
    /// when the tag does not exist.
    pub fn unchanged_record(&self) -> Option<TagRecord> {
        let digest = self.current()?;
        Some(TagRecord {
            previous: None,
            ..self.record(digest, false)
        })
    }

    /// `Err(NotExpected)` unless the tag is as the move's `expect_current` says.
    pub(crate) fn check(&self, now: Option<&str>) -> Result<(), Error> {
        match &self.mv.expect {
            Some(expect) if !expect.holds(now) => Err(Error::NotExpected {
                reference: self.mv.destination().to_string(),
                current: now
                    .unwrap_or("nothing (the tag does not exist)")
                    .to_string(),
                expected: expect.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

/// Every move resolved; nothing changed yet. Built by [`plan`], carried out
/// by [`Plan::apply`], shown by [`Plan::dry_run_records`].
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) steps: Vec<Step>,
    /// When the reading of the destinations arrived.
    pub(crate) read_at: Instant,
}

/// Resolves every source (GET, keeping the exact bytes) and every current
/// destination (HEAD) before anything changes. Missing sources are all named
/// in one [`Error::Missing`]; a missing destination is a new tag. Lookups
/// run in parallel (bounded).
pub fn plan(client: &Client, moves: Vec<Move>, intent: Intent) -> Result<Plan, Error> {
    deadline::check("anything was looked up; nothing was changed")?;
    client.bind_env_credentials(moves.iter().map(|mv| &mv.image));
    let mut seen = HashMap::new();
    for mv in &moves {
        let key = (mv.image.canonical(), mv.tag.clone());
        if seen.insert(key, ()).is_some() {
            return Err(Error::Usage(format!(
                "tag {} of {} is moved more than once",
                mv.tag, mv.image.name
            )));
        }
    }
    // Ping and token once per image first (with push access when moving, so
    // one token serves the whole move), then every lookup at once.
    let access = match intent {
        Intent::Move => Access::Push,
        Intent::DryRun => Access::Pull,
    };
    let mut images: Vec<&Image> = Vec::new();
    for mv in &moves {
        if !images.contains(&&mv.image) {
            images.push(&mv.image);
        }
    }
    // One image per registry first, so each registry is pinged once; then
    // the other images' tokens.
    let (mut first, mut rest): (Vec<&Image>, Vec<&Image>) = (Vec::new(), Vec::new());
    for image in images {
        if first.iter().any(|f| f.registry == image.registry) {
            rest.push(image);
        } else {
            first.push(image);
        }
    }
    for group in [first, rest] {
        for result in in_parallel(&group, |image| client.authenticate(image, access)) {
            result?;
        }
    }
    let mut source_refs: Vec<Reference> = Vec::new();
    for mv in &moves {
        let source = mv.source_reference();
        if !source_refs.contains(&source) {
            source_refs.push(source);
        }
    }
    // Sources first, destinations last: the reading of each destination is
    // the last request before its PUT.
    let fetched = in_parallel(&source_refs, |r| client.fetch_manifest(r));
    let mut sources: HashMap<Reference, Arc<Manifest>> = HashMap::new();
    let mut missing = Vec::new();
    for (source, result) in source_refs.into_iter().zip(fetched) {
        match result {
            Ok(m) => {
                sources.insert(source, Arc::new(m));
            }
            Err(e) if e.is_not_found() => missing.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Missing(missing));
    }
    let destinations: Vec<Reference> = moves.iter().map(Move::destination).collect();
    let currents = in_parallel(&destinations, |r| client.resolve_optional(r));
    let read_at = Instant::now();
    let mut steps = Vec::with_capacity(moves.len());
    for (mv, current) in moves.into_iter().zip(currents) {
        let manifest = sources[&mv.source_reference()].clone();
        steps.push(Step {
            mv,
            manifest,
            current: current?,
        });
    }
    Ok(Plan { steps, read_at })
}

impl Plan {
    /// Every move, in the order given.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// True when every tag already points at its source: applying would
    /// send nothing.
    pub fn is_noop(&self) -> bool {
        self.steps.iter().all(Step::is_noop)
    }

    /// Records saying what would change (`"dry_run":true`), without
    /// changing anything.
    pub fn dry_run_records(&self) -> Vec<TagRecord> {
        self.steps
            .iter()
            .map(|s| TagRecord {
                dry_run: true,
                ..s.record(s.digest(), false)
            })
            .collect()
    }

    /// `Err(NotExpected)` naming the first move whose `expect_current` does
    /// not hold as planned (a dry run's check; [`Plan::apply`] checks again
    /// against a fresh reading).
    pub fn check_expected(&self) -> Result<(), Error> {
        self.steps.iter().try_for_each(|s| s.check(s.current()))
    }
}
