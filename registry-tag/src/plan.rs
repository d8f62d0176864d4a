//! All-or-nothing tag moves: resolve everything first, then move by exact
//! manifest bytes, verify each move, and undo the moves already made when
//! one fails.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::client::{Access, Client};
use crate::manifest::{short, Manifest, Resolved};
use crate::record::TagRecord;
use crate::reference::{check_tag, Image, Reference, ReferenceError, Target};
use crate::Error;

/// Point `tag` of `image` at `source` (a tag or digest in the same image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub image: Image,
    pub source: Target,
    pub tag: String,
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
            tag: tag.to_string(),
        })
    }

    pub fn source_reference(&self) -> Reference {
        Reference {
            image: self.image.clone(),
            target: self.source.clone(),
        }
    }

    pub fn destination(&self) -> Reference {
        Reference {
            image: self.image.clone(),
            target: Target::Tag(self.tag.clone()),
        }
    }

    fn source_str(&self) -> &str {
        match &self.source {
            Target::Tag(t) | Target::Digest(t) => t,
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

/// One resolved move.
#[derive(Debug, Clone)]
pub struct Step {
    pub mv: Move,
    /// The source manifest, exact bytes.
    pub manifest: Arc<Manifest>,
    /// What the destination tag points at now; `None` if it does not exist.
    pub current: Option<Resolved>,
}

impl Step {
    /// True when the tag already points at the source.
    pub fn is_noop(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| c.digest == self.manifest.digest)
    }

    fn record(&self, digest: &str, changed: bool) -> TagRecord {
        TagRecord {
            image: self.mv.image.name.clone(),
            tag: self.mv.tag.clone(),
            digest: digest.to_string(),
            previous: self.current.as_ref().map(|c| c.digest.clone()),
            source: Some(self.mv.source_str().to_string()),
            changed,
            dry_run: false,
        }
    }
}

/// Every move resolved; nothing changed yet.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// Resolves every source (GET, keeping the exact bytes) and every current
/// destination (HEAD) before anything changes. Missing sources are all named
/// in one [`Error::Missing`]; a missing destination is a new tag.
pub fn plan(client: &Client, moves: Vec<Move>, intent: Intent) -> Result<Plan, Error> {
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
    // Ping and token once per image first, then every lookup at once: the
    // source GETs and destination HEADs do not depend on each other.
    let access = match intent {
        Intent::Move => Access::Push,
        Intent::DryRun => Access::Pull,
    };
    let mut images: Vec<&Image> = Vec::new();
    for mv in &moves {
        if !images.contains(&&mv.image) {
            client.authenticate(&mv.image, access)?;
            images.push(&mv.image);
        }
    }
    let mut source_refs: Vec<Reference> = Vec::new();
    for mv in &moves {
        let source = mv.source_reference();
        if !source_refs.contains(&source) {
            source_refs.push(source);
        }
    }
    let destinations: Vec<Reference> = moves.iter().map(Move::destination).collect();
    let (fetched, currents) = std::thread::scope(|scope| {
        let fetches = in_parallel(scope, &source_refs, |r| client.fetch_manifest(r));
        let heads = in_parallel(scope, &destinations, |r| client.resolve_optional(r));
        (join_all(fetches), join_all(heads))
    });
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
    let mut steps = Vec::with_capacity(moves.len());
    for (mv, current) in moves.into_iter().zip(currents) {
        let manifest = sources[&mv.source_reference()].clone();
        steps.push(Step {
            mv,
            manifest,
            current: current?,
        });
    }
    Ok(Plan { steps })
}

/// At most this many lookups run at once.
const PARALLEL_LOOKUPS: usize = 8;

type Handles<'scope, T> = Vec<std::thread::ScopedJoinHandle<'scope, Vec<T>>>;

/// Runs `job` over `items` on up to [`PARALLEL_LOOKUPS`] threads (in
/// contiguous chunks, so results keep the items' order).
fn in_parallel<'scope, 'env, I: Sync, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    items: &'env [I],
    job: impl Fn(&I) -> T + Send + Sync + Copy + 'scope,
) -> Handles<'scope, T> {
    if items.is_empty() {
        return Vec::new();
    }
    let chunk = items.len().div_ceil(PARALLEL_LOOKUPS);
    items
        .chunks(chunk)
        .map(|part| scope.spawn(move || part.iter().map(job).collect()))
        .collect()
}

fn join_all<T>(handles: Handles<'_, T>) -> Vec<T> {
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("a lookup thread panicked"))
        .collect()
}

/// A move failed part-way: what went wrong, what was undone, and where every
/// tag of the plan ended up.
#[derive(Debug)]
pub struct MoveError {
    /// `image:tag` of the move that failed.
    pub failed: String,
    pub cause: Box<Error>,
    /// False when nothing was tried (`--expect-current` did not hold).
    pub attempted: bool,
    /// How many moves were undone.
    pub undone: usize,
    /// Undo problems (a new tag that cannot be deleted, a restore that failed).
    pub unrestored: Vec<String>,
    /// The final state of every tag in the plan, as read back.
    pub records: Vec<TagRecord>,
}

impl fmt::Display for MoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.attempted {
            return write!(f, "{}", self.cause);
        }
        write!(f, "moving {} failed: {}", self.failed, self.cause)?;
        match (self.unrestored.is_empty(), self.undone) {
            (true, 0) => write!(f, "; nothing was changed"),
            (true, n) => write!(
                f,
                "; {n} move{} undone: every tag is back at its previous digest",
                if n == 1 { "" } else { "s" }
            ),
            (false, _) => write!(f, "; NOT fully restored: {}", self.unrestored.join("; ")),
        }
    }
}

impl std::error::Error for MoveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

impl Plan {
    /// Records saying what would change, without changing anything.
    pub fn dry_run_records(&self) -> Vec<TagRecord> {
        self.steps
            .iter()
            .map(|s| TagRecord {
                dry_run: true,
                ..s.record(&s.manifest.digest, false)
            })
            .collect()
    }

    /// `Err(NotExpected)` naming the first destination not at `expected`.
    pub fn check_expect_current(&self, expected: &str) -> Result<(), Error> {
        for step in &self.steps {
            let current = step.current.as_ref().map(|c| c.digest.as_str());
            if current != Some(expected) {
                return Err(Error::NotExpected {
                    reference: step.mv.destination().to_string(),
                    current: current
                        .unwrap_or("nothing (the tag does not exist)")
                        .to_string(),
                    expected: expected.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Moves every tag (PUT of the source's exact bytes, then a HEAD to
    /// verify). If one fails, the moves already made are undone (PUT of the
    /// previous manifest, verified), and the error carries every tag's final
    /// state. With `expect_current`, nothing moves unless every destination
    /// currently points at that digest.
    pub fn apply(
        &self,
        client: &Client,
        expect_current: Option<&str>,
    ) -> Result<Vec<TagRecord>, MoveError> {
        if let Some(expected) = expect_current {
            if let Err(cause) = self.check_expect_current(expected) {
                let failed = match &cause {
                    Error::NotExpected { reference, .. } => reference.clone(),
                    _ => String::new(),
                };
                return Err(MoveError {
                    failed,
                    cause: Box::new(cause),
                    attempted: false,
                    undone: 0,
                    unrestored: Vec::new(),
                    records: self.steps.iter().filter_map(unchanged).collect(),
                });
            }
        }
        let mut records = Vec::with_capacity(self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            if step.is_noop() {
                records.push(step.record(&step.manifest.digest, false));
                continue;
            }
            match move_one(client, step) {
                Ok(()) => records.push(step.record(&step.manifest.digest, true)),
                Err(cause) => return Err(self.roll_back(client, i, records, cause)),
            }
        }
        Ok(records)
    }

    /// After step `failed` failed: puts every tag this plan moved back where
    /// it was, newest first (the failed one too, in case its PUT landed
    /// despite the error), and reports where each tag ended up.
    fn roll_back(
        &self,
        client: &Client,
        failed: usize,
        records: Vec<TagRecord>,
        cause: Error,
    ) -> MoveError {
        let mut unrestored = Vec::new();
        let mut finals: Vec<Option<TagRecord>> = records.into_iter().map(Some).collect();
        let step = &self.steps[failed];
        let dest = step.mv.destination();
        let previous = step.current.as_ref().map(|c| c.digest.as_str());
        finals.push(match client.resolve_optional(&dest) {
            Ok(now) => match (now.map(|r| r.digest), previous) {
                (Some(now), Some(prev)) if now == prev => unchanged(step),
                (Some(now), _) => Some(step.record(&now, true)),
                (None, None) => None,
                (None, Some(prev)) => {
                    unrestored.push(format!("{dest} no longer exists (it pointed at {prev})"));
                    None
                }
            },
            Err(e) => {
                unrestored.push(format!("{dest} could not be read back: {e}"));
                None
            }
        });
        let mut undone = 0;
        for (step, slot) in self.steps[..=failed].iter().zip(finals.iter_mut()).rev() {
            if !slot.as_ref().is_some_and(|r| r.changed) {
                continue;
            }
            let dest = step.mv.destination();
            let outcome = match &step.current {
                Some(previous) => restore(client, step, &previous.digest),
                None => client.delete_tag(&step.mv.image, &step.mv.tag).map_err(|e| {
                    format!(
                        "{dest} did not exist before and could not be deleted ({e}); it still points at {}",
                        short(slot.as_ref().map_or("", |r| r.digest.as_str()))
                    )
                }),
            };
            match outcome {
                Ok(()) => {
                    // Back at the previous digest, or deleted (then no record).
                    *slot = unchanged(step);
                    undone += 1;
                }
                Err(message) => unrestored.push(message),
            }
        }
        finals.extend(self.steps[failed + 1..].iter().map(unchanged));
        MoveError {
            failed: dest.to_string(),
            cause: Box::new(cause),
            attempted: true,
            undone,
            unrestored,
            records: finals.into_iter().flatten().collect(),
        }
    }
}

/// The record of a tag left as it was; `None` for a tag that does not exist.
fn unchanged(step: &Step) -> Option<TagRecord> {
    let digest = &step.current.as_ref()?.digest;
    Some(TagRecord {
        previous: None,
        ..step.record(digest, false)
    })
}

fn move_one(client: &Client, step: &Step) -> Result<(), Error> {
    client.put_manifest(&step.mv.image, &step.mv.tag, &step.manifest)?;
    verify(client, &step.mv.destination(), &step.manifest.digest)
}

fn verify(client: &Client, dest: &Reference, expected: &str) -> Result<(), Error> {
    let now = client.resolve(dest)?;
    if now.digest != expected {
        return Err(Error::DigestMismatch {
            reference: dest.to_string(),
            detail: format!("after the move it points at {}, not {expected}", now.digest),
        });
    }
    Ok(())
}

fn restore(client: &Client, step: &Step, previous: &str) -> Result<(), String> {
    let dest = step.mv.destination();
    let attempt = || -> Result<(), Error> {
        let manifest = client.fetch_manifest(&step.mv.image.digest(previous)?)?;
        client.put_manifest(&step.mv.image, &step.mv.tag, &manifest)?;
        verify(client, &dest, previous)
    };
    attempt().map_err(|e| format!("{dest} could not be restored to {previous}: {e}"))
}
