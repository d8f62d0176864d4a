//! All-or-nothing tag moves: resolve everything first, then move by exact
//! manifest bytes, verify the whole set, and undo the moves already made
//! when one fails.
//!
//! ```text
//! plan()   GET every source, HEAD every destination        (nothing changes)
//! apply()  check each expect_current → PUT every move → HEAD every tag
//!          failed? restore every tag that moved or may have moved, wait
//!          until the registry is stable, read every tag back
//! ```
//!
//! Registries offer no compare-and-swap. What a plan can promise is: it
//! never PUTs over a tag that has moved since it was read (the reading is
//! at most [`FRESH`] old, else it is read again), and after its last PUT it
//! reads every tag of the set and says so if another writer moved one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::client::{Access, Client};
use crate::manifest::{Manifest, Resolved};
use crate::parallel::in_parallel;
use crate::record::TagRecord;
use crate::reference::{check_tag, Image, Reference, ReferenceError, Target};
use crate::Error;

/// A reading of the destinations older than this is taken again before the
/// first PUT, so a plan held for a while (a prompt, a slow caller) is still
/// checked against the registry as it is.
pub const FRESH: Duration = Duration::from_secs(1);

/// How many times an undo is retried while a write whose outcome was
/// unknown keeps landing after it.
const SETTLE_ROUNDS: usize = 3;

/// The longest wait for a write of unknown outcome to land.
const MAX_SETTLE: Duration = Duration::from_secs(60);

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
    image: Image,
    source: Target,
    /// What records name as the source when it is not `source` itself (the
    /// tag a pinned digest was resolved from).
    label: Option<String>,
    tag: String,
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
    mv: Move,
    manifest: Arc<Manifest>,
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
    fn check(&self, now: Option<&str>) -> Result<(), Error> {
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
    steps: Vec<Step>,
    read_at: Instant,
}

/// Resolves every source (GET, keeping the exact bytes) and every current
/// destination (HEAD) before anything changes. Missing sources are all named
/// in one [`Error::Missing`]; a missing destination is a new tag. Lookups
/// run in parallel (bounded).
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
    for result in in_parallel(&images, |image| client.authenticate(image, access)) {
        result?;
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
        let heads = scope.spawn(|| in_parallel(&destinations, |r| client.resolve_optional(r)));
        let fetched = in_parallel(&source_refs, |r| client.fetch_manifest(r));
        (fetched, heads.join().expect("a lookup thread panicked"))
    });
    let read_at = Instant::now();
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
    Ok(Plan { steps, read_at })
}

/// Where one tag of a plan that failed ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// At the digest it had before the run (never moved, or moved and put
    /// back), or still absent if it did not exist.
    AsBefore,
    /// Moved (or possibly moved) and not put back: it points at `now`
    /// (`None`: it does not exist or could not be read).
    NotRestored { now: Option<String> },
    /// Another writer moved it during this run: it points at `now`, which is
    /// neither its previous digest nor this run's source.
    ChangedUnderUs { now: Option<String> },
}

/// A move failed or was refused: what went wrong, what was undone, and
/// where every tag of the plan ended up.
#[derive(Debug)]
pub struct MoveError {
    /// `image:tag` of the (first) move that failed or was refused.
    pub failed: String,
    pub cause: Box<Error>,
    /// False when nothing was sent (an `expect_current` did not hold).
    pub attempted: bool,
    /// How many tags were put back.
    pub undone: usize,
    /// Undo problems (a new tag that cannot be deleted, a restore that
    /// failed, another writer, a state that never settled).
    pub unrestored: Vec<String>,
    /// Every existing tag of the plan as last read, in plan order (a tag
    /// that does not exist has no record).
    pub records: Vec<TagRecord>,
    /// Every step's outcome, in plan order.
    pub outcomes: Vec<Outcome>,
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

    /// Moves every tag: checks each `expect_current` (against a reading at
    /// most [`FRESH`] old), PUTs every source's exact bytes, then reads every
    /// tag back. Returns one record per step, in plan order.
    ///
    /// If a move fails, every tag that moved, or may have moved (a PUT whose
    /// outcome is unknown), is put back, the registry is read again until it
    /// is stable, and the error carries every tag's final state. If another
    /// writer moved a tag during the run, nothing is undone (that would
    /// fight the other writer) and the error says which tag and to what.
    pub fn apply(&self, client: &Client) -> Result<Vec<TagRecord>, MoveError> {
        let current = if self.read_at.elapsed() > FRESH && !self.is_noop() {
            let dests: Vec<Reference> = self.steps.iter().map(|s| s.mv.destination()).collect();
            let reads = in_parallel(&dests, |d| client.resolve_optional(d));
            let mut now = Vec::with_capacity(reads.len());
            for (i, read) in reads.into_iter().enumerate() {
                match read {
                    Ok(r) => now.push(r.map(|r| r.digest)),
                    Err(e) => return Err(self.refused(i, e)),
                }
            }
            now
        } else {
            self.steps
                .iter()
                .map(|s| s.current().map(str::to_string))
                .collect()
        };
        for (i, (step, now)) in self.steps.iter().zip(&current).enumerate() {
            if let Err(e) = step.check(now.as_deref()) {
                return Err(self.refused(i, e));
            }
            if now.as_deref() != step.current() {
                let moved = Error::Failed(format!(
                    "{} moved since it was read: it points at {}, not {}; nothing was changed",
                    step.mv.destination(),
                    now.as_deref().unwrap_or("nothing"),
                    step.current().unwrap_or("nothing (it did not exist)")
                ));
                return Err(self.refused(i, moved));
            }
        }
        if self.is_noop() {
            return Ok(self
                .steps
                .iter()
                .map(|s| s.record(s.digest(), false))
                .collect());
        }

        let puts = in_parallel(&self.steps, |step| {
            if step.is_noop() {
                return Ok(());
            }
            let sent = Instant::now();
            client
                .put_manifest(&step.mv.image, &step.mv.tag, &step.manifest)
                .map(drop)
                .map_err(|error| PutFailed {
                    unknown: may_have_landed(&error).then(|| sent.elapsed()),
                    error: Box::new(error),
                })
        });
        let seen = self.read_back(client);
        let mut unknown = Vec::with_capacity(puts.len());
        let mut failure: Option<(usize, Error)> = None;
        for (i, (put, now)) in puts.into_iter().zip(&seen).enumerate() {
            let step = &self.steps[i];
            let error = match (put, now) {
                (Err(PutFailed { error, unknown: u }), _) => {
                    unknown.push(u);
                    Some(*error)
                }
                (Ok(()), Ok(now)) if now.as_deref() == Some(step.digest()) => {
                    unknown.push(None);
                    None
                }
                (Ok(()), now) => {
                    unknown.push(None);
                    Some(Error::DigestMismatch {
                        reference: step.mv.destination().to_string(),
                        detail: match now {
                            Ok(now) => format!(
                                "after the move it points at {}, not {}",
                                now.as_deref().unwrap_or("nothing"),
                                step.digest()
                            ),
                            Err(e) => format!("it could not be read back: {e}"),
                        },
                    })
                }
            };
            if failure.is_none() {
                failure = error.map(|e| (i, e));
            }
        }
        match failure {
            None => Ok(self
                .steps
                .iter()
                .map(|s| s.record(s.digest(), !s.is_noop()))
                .collect()),
            Some((failed, cause)) => Err(self.roll_back(client, failed, cause, &unknown, seen)),
        }
    }

    /// Nothing was sent: the plan was refused at step `i`.
    fn refused(&self, i: usize, cause: Error) -> MoveError {
        MoveError {
            failed: self.steps[i].mv.destination().to_string(),
            cause: Box::new(cause),
            attempted: false,
            undone: 0,
            unrestored: Vec::new(),
            records: self
                .steps
                .iter()
                .filter_map(Step::unchanged_record)
                .collect(),
            outcomes: vec![Outcome::AsBefore; self.steps.len()],
        }
    }

    /// Every tag's digest now (`Ok(None)`: the tag does not exist).
    fn read_back(&self, client: &Client) -> Vec<Result<Option<String>, Error>> {
        in_parallel(&self.steps, |s| {
            client
                .resolve_optional(&s.mv.destination())
                .map(|r| r.map(|r| r.digest))
        })
    }

    /// After step `failed` failed: unless another writer moved a tag, puts
    /// back every tag that moved or may have moved (`unknown[i]`: how long
    /// step i's PUT of unknown outcome ran), re-reads the set after writes
    /// of unknown outcome had time to land, and reports where each tag ended.
    fn roll_back(
        &self,
        client: &Client,
        failed: usize,
        cause: Error,
        unknown: &[Option<Duration>],
        mut seen: Vec<Result<Option<String>, Error>>,
    ) -> MoveError {
        let mut unrestored = Vec::new();
        let interfered: Vec<String> = self
            .steps
            .iter()
            .zip(&seen)
            .filter_map(|(s, now)| match now {
                Ok(now) if now.as_deref() != s.current() && now.as_deref() != Some(s.digest()) => {
                    Some(format!(
                        "{} changed under this run: it now points at {}",
                        s.mv.destination(),
                        now.as_deref().unwrap_or("nothing (deleted)")
                    ))
                }
                _ => None,
            })
            .collect();
        let mut undone = 0;
        let mut problems: Vec<Option<String>> = vec![None; self.steps.len()];
        if interfered.is_empty() {
            // A PUT the client gave up on may reach the registry later: after
            // the undo, wait as long again as it ran before it was given up,
            // then read everything again (and undo again if it landed).
            let settle = unknown.iter().flatten().max().copied();
            let mut restored = vec![false; self.steps.len()];
            let mut todo: Vec<usize> = (0..self.steps.len())
                .filter(|&i| {
                    let s = &self.steps[i];
                    match &seen[i] {
                        Ok(now) if now.as_deref() != s.current() => true,
                        // Not landed (yet): put it back all the same, unless
                        // it is a new tag (absent is where it should be).
                        Ok(_) => unknown[i].is_some() && s.current().is_some(),
                        Err(_) => !s.is_noop(),
                    }
                })
                .collect();
            let mut round = 0;
            while !todo.is_empty() {
                if round == SETTLE_ROUNDS {
                    unrestored.push(format!(
                        "the registry did not settle after {SETTLE_ROUNDS} rounds of restores (a write of unknown outcome kept landing)"
                    ));
                    break;
                }
                round += 1;
                let results = in_parallel(&todo, |&i| restore(client, &self.steps[i]));
                for (&i, result) in todo.iter().zip(results) {
                    match result {
                        Ok(()) => {
                            restored[i] = true;
                            problems[i] = None;
                        }
                        Err(message) => problems[i] = Some(message),
                    }
                }
                if let Some(wait) = settle {
                    std::thread::sleep(wait.min(MAX_SETTLE));
                }
                seen = self.read_back(client);
                todo = (0..self.steps.len())
                    .filter(|&i| match &seen[i] {
                        Ok(now) => now.as_deref() != self.steps[i].current(),
                        Err(_) => false,
                    })
                    // Without writes of unknown outcome there is nothing
                    // that could still land: one round.
                    .filter(|_| settle.is_some())
                    .collect();
            }
            undone = restored.iter().filter(|r| **r).count();
        } else {
            unrestored.extend(interfered);
            unrestored.push(
                "nothing was undone, to not fight another writer: serialise promotions".into(),
            );
        }
        let mut records = Vec::new();
        let mut outcomes = Vec::with_capacity(self.steps.len());
        for (i, (step, now)) in self.steps.iter().zip(&seen).enumerate() {
            let dest = step.mv.destination().to_string();
            let (record, outcome) = match now {
                Ok(now) if now.as_deref() == step.current() => {
                    (step.unchanged_record(), Outcome::AsBefore)
                }
                Ok(Some(now)) if now == step.digest() => (
                    Some(step.record(now, true)),
                    Outcome::NotRestored {
                        now: Some(now.clone()),
                    },
                ),
                Ok(now) => (
                    now.as_deref().map(|d| step.record(d, true)),
                    Outcome::ChangedUnderUs { now: now.clone() },
                ),
                Err(e) => {
                    problems[i].get_or_insert(format!("{dest} could not be read back: {e}"));
                    (None, Outcome::NotRestored { now: None })
                }
            };
            if outcome != Outcome::AsBefore && !unrestored.iter().any(|m| m.starts_with(&dest)) {
                unrestored.push(problems[i].take().unwrap_or_else(|| {
                    format!(
                        "{dest} points at {}",
                        record.as_ref().map_or("nothing", |r| r.digest.as_str())
                    )
                }));
            }
            records.extend(record);
            outcomes.push(outcome);
        }
        MoveError {
            failed: self.steps[failed].mv.destination().to_string(),
            cause: Box::new(cause),
            attempted: true,
            undone,
            unrestored,
            records,
            outcomes,
        }
    }
}

/// A PUT that failed, and whether it may still take effect.
#[derive(Debug)]
struct PutFailed {
    error: Box<Error>,
    /// When the PUT may have reached the registry (timeout, reset after
    /// sending): how long it ran before it was given up.
    unknown: Option<Duration>,
}

/// True when a failed request may still have taken effect.
fn may_have_landed(error: &Error) -> bool {
    matches!(error, Error::Transport { .. })
}

/// Puts `step`'s tag back where it was (PUT of the previous manifest,
/// verified), or deletes it if it did not exist.
fn restore(client: &Client, step: &Step) -> Result<(), String> {
    let dest = step.mv.destination();
    let Some(previous) = step.current() else {
        return client
            .delete_tag(&step.mv.image, &step.mv.tag)
            .map_err(|e| format!("{dest} did not exist before and could not be deleted ({e})"));
    };
    let attempt = || -> Result<(), Error> {
        let manifest = client.fetch_manifest(&step.mv.image.digest(previous)?)?;
        client.put_manifest(&step.mv.image, &step.mv.tag, &manifest)?;
        let now = client.resolve(&dest)?;
        if now.digest != previous {
            return Err(Error::DigestMismatch {
                reference: dest.to_string(),
                detail: format!("after the restore it points at {}", now.digest),
            });
        }
        Ok(())
    };
    attempt().map_err(|e| format!("{dest} could not be restored to {previous}: {e}"))
}
