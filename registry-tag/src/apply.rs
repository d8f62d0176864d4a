//! Carrying out a [`Plan`], all-or-nothing: check, move by exact manifest
//! bytes, verify the whole set, and undo when one move fails.
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

use std::fmt;
use std::time::Duration;

use crate::client::Client;
use crate::deadline;
use crate::parallel::in_parallel;
use crate::plan::{Plan, Step};
use crate::record::TagRecord;
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

/// Where one tag of a plan that failed ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// At the digest it had before the run (never moved, or moved and put
    /// back), or still absent if it did not exist.
    AsBefore,
    /// Moved (or possibly moved) and not put back: it points at `now`
    /// (`None`: it could not be read).
    NotRestored { now: Option<String> },
    /// Another writer moved it during this run: it points at `now` (`None`:
    /// deleted), which is neither its previous digest nor this run's source.
    ChangedUnderUs { now: Option<String> },
}

/// A move failed or was refused: what went wrong, what was undone, and
/// where every tag of the plan ended up.
#[derive(Debug)]
pub struct MoveError {
    /// `image:tag` of the (first) move that failed, was refused, or was
    /// changed by another writer.
    pub failed: String,
    pub cause: Box<Error>,
    /// False when nothing was sent (an `expect_current` did not hold, or a
    /// tag moved since it was read).
    pub attempted: bool,
    /// True when another writer moved a tag of the plan during the run:
    /// nothing was undone, and `unrestored` says where every tag is.
    pub interfered: bool,
    /// How many tags were put back.
    pub undone: usize,
    /// Tags not where they were before the run, each with its last seen
    /// digest, and undo problems (a new tag that cannot be deleted, a
    /// restore that failed, a state that never settled).
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
        if self.interfered {
            return write!(
                f,
                "{}; this run's moves do not hold; every tag now: {}; nothing was undone, so as not to fight the other writer (serialise promotions)",
                self.cause,
                self.unrestored.join("; ")
            );
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

/// Each tag's digest as read (`Ok(None)`: the tag does not exist).
type Reading = Vec<Result<Option<String>, Error>>;

impl Plan {
    /// Moves every tag, all-or-nothing, in parallel (bounded):
    ///
    /// 1. checks each `expect_current`, and that no tag moved since it was
    ///    read, against a reading at most [`FRESH`] old (the plan's own, or
    ///    a new one); nothing is sent if one fails;
    /// 2. PUTs every source's exact bytes;
    /// 3. reads every tag of the set back.
    ///
    /// Returns one record per step, in plan order. If a move fails, every
    /// tag that moved, or may have moved (a PUT whose outcome is unknown),
    /// is put back; when a write's outcome was unknown the set is read again
    /// after the request timeout has passed (and put back again if the
    /// write landed late, a bounded number of times). If another writer
    /// moved a tag during the run, nothing is undone (that would fight the
    /// other writer) and the error says which tag and to what.
    pub fn apply(&self, client: &Client) -> Result<Vec<TagRecord>, MoveError> {
        self.check_before_writing(client)?;
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
            client
                .put_manifest(&step.mv.image, &step.mv.tag, &step.manifest)
                .map(drop)
                .map_err(Box::new)
        });
        let seen = self.read_back(client);
        let mut unknown = vec![false; puts.len()];
        let mut failure: Option<(usize, Error)> = None;
        for (i, (put, now)) in puts.into_iter().zip(&seen).enumerate() {
            let step = &self.steps[i];
            let error = match (put, now) {
                (Err(error), _) => {
                    unknown[i] = error.is_unknown_outcome();
                    Some(*error)
                }
                (Ok(()), Ok(now)) if now.as_deref() == Some(step.digest()) => None,
                (Ok(()), now) => Some(Error::DigestMismatch {
                    reference: step.mv.destination().to_string(),
                    detail: match now {
                        Ok(now) => format!(
                            "after the move it points at {}, not {}",
                            now.as_deref().unwrap_or("nothing"),
                            step.digest()
                        ),
                        Err(e) => format!("it could not be read back: {e}"),
                    },
                }),
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

    /// Step 1 of [`Plan::apply`]: every `expect_current` holds and no tag
    /// moved since it was read, by a reading at most [`FRESH`] old.
    fn check_before_writing(&self, client: &Client) -> Result<(), MoveError> {
        deadline::check("any tag was moved; nothing was changed")
            .map_err(|e| self.refused(0, e))?;
        let stale = self.read_at.elapsed() > FRESH;
        let now: Vec<Option<String>> = if stale {
            let mut now = Vec::with_capacity(self.steps.len());
            for (i, read) in self.read_back(client).into_iter().enumerate() {
                now.push(read.map_err(|e| self.refused(i, e))?);
            }
            now
        } else {
            self.steps
                .iter()
                .map(|s| s.current().map(str::to_string))
                .collect()
        };
        for (i, (step, now)) in self.steps.iter().zip(&now).enumerate() {
            step.check(now.as_deref()).map_err(|e| self.refused(i, e))?;
            if now.as_deref() != step.current() {
                return Err(self.refused(
                    i,
                    Error::Failed(format!(
                        "{} moved since it was read: it points at {}, not {}; nothing was changed",
                        step.mv.destination(),
                        now.as_deref().unwrap_or("nothing"),
                        step.current().unwrap_or("nothing (it did not exist)")
                    )),
                ));
            }
        }
        Ok(())
    }

    /// Nothing was sent: the plan was refused at step `i`.
    fn refused(&self, i: usize, cause: Error) -> MoveError {
        MoveError {
            failed: self.steps[i].mv.destination().to_string(),
            cause: Box::new(cause),
            attempted: false,
            interfered: false,
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

    fn read_back(&self, client: &Client) -> Reading {
        in_parallel(&self.steps, |s| {
            client
                .resolve_optional(&s.mv.destination())
                .map(|r| r.map(|r| r.digest))
        })
    }

    /// Which tags are at neither their previous digest nor their source.
    fn changed_under_us(&self, seen: &Reading) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&i| {
                let s = &self.steps[i];
                matches!(&seen[i], Ok(now) if now.as_deref() != s.current() && now.as_deref() != Some(s.digest()))
            })
            .collect()
    }

    /// After step `failed` failed: unless another writer moved a tag, puts
    /// back every tag that moved or may have moved (`unknown[i]`: step i's
    /// PUT has an unknown outcome), and reports where each tag ended.
    fn roll_back(
        &self,
        client: &Client,
        failed: usize,
        cause: Error,
        unknown: &[bool],
        seen: Reading,
    ) -> MoveError {
        let interfered = self.changed_under_us(&seen);
        if let Some(&first) = interfered.first() {
            let step = &self.steps[first];
            let now = match &seen[first] {
                Ok(now) => now.as_deref().unwrap_or("nothing (it was deleted)"),
                Err(_) => "",
            };
            let cause = Error::Failed(format!(
                "{} changed under this run: it now points at {now}, neither {} (before) nor {} (this run's)",
                step.mv.destination(),
                step.current().unwrap_or("nothing"),
                step.digest()
            ));
            // The read-back may be older for some tags than for others:
            // read the whole set again to say where every tag is now.
            let seen = self.read_back(client);
            let every_tag = self.last_seen(&seen);
            let mut error = self.final_state(first, cause, seen, vec![None; self.steps.len()]);
            error.interfered = true;
            error.unrestored = vec![every_tag];
            return error;
        }
        let (undone, problems, seen, settled) = self.restore_all(client, unknown, seen);
        let every_tag = self.last_seen(&seen);
        let mut error = self.final_state(failed, cause, seen, problems);
        error.undone = undone;
        if !settled {
            error.unrestored.push(format!(
                "the registry did not settle after {SETTLE_ROUNDS} rounds of restores (a write of unknown outcome kept landing), so this is not sure; last seen: {every_tag}"
            ));
        }
        error
    }

    /// `image:tag → digest, …` for every tag of the plan, as `seen`.
    fn last_seen(&self, seen: &Reading) -> String {
        self.steps
            .iter()
            .zip(seen)
            .map(|(s, now)| {
                let now = match now {
                    Ok(Some(digest)) => digest.as_str(),
                    Ok(None) => "nothing (absent)",
                    Err(_) => "unknown (unreadable)",
                };
                format!("{} → {now}", s.mv.destination())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Puts back every tag that moved or may have moved; when a write's
    /// outcome was unknown, waits the request timeout after each round and
    /// reads the set again, restoring what a late write moved. Returns how
    /// many tags were put back, each step's last restore problem, the last
    /// reading, and whether it was stable.
    fn restore_all(
        &self,
        client: &Client,
        unknown: &[bool],
        mut seen: Reading,
    ) -> (usize, Vec<Option<String>>, Reading, bool) {
        let settle = unknown.iter().any(|u| *u).then(|| client.request_timeout());
        let away = |seen: &Reading, i: usize| match &seen[i] {
            Ok(now) => now.as_deref() != self.steps[i].current(),
            Err(_) => !self.steps[i].is_noop(),
        };
        let mut restored = vec![false; self.steps.len()];
        let mut problems: Vec<Option<String>> = vec![None; self.steps.len()];
        // A PUT of unknown outcome that has not landed (yet) is put back all
        // the same, unless its tag is new (absent is where it should be).
        let mut todo: Vec<usize> = (0..self.steps.len())
            .filter(|&i| away(&seen, i) || (unknown[i] && self.steps[i].current().is_some()))
            .collect();
        // Not tried again: a restore that failed other than by finding the
        // tag moved again (a new tag the registry cannot delete, say).
        let mut given_up = vec![false; self.steps.len()];
        let mut rounds = 0;
        while !todo.is_empty() {
            if rounds == SETTLE_ROUNDS {
                return (count(&restored), problems, seen, false);
            }
            rounds += 1;
            let results = in_parallel(&todo, |&i| restore(client, &self.steps[i]));
            for (&i, result) in todo.iter().zip(results) {
                match result {
                    Ok(()) => {
                        restored[i] = true;
                        problems[i] = None;
                    }
                    Err((message, moved_again)) => {
                        problems[i] = Some(message);
                        given_up[i] = !moved_again;
                    }
                }
            }
            match settle {
                // Nothing can land late: one round, read back.
                None => {
                    seen = self.read_back(client);
                    break;
                }
                Some(wait) => {
                    std::thread::sleep(wait.min(MAX_SETTLE));
                    seen = self.read_back(client);
                    todo = (0..self.steps.len())
                        .filter(|&i| away(&seen, i) && !given_up[i])
                        .collect();
                }
            }
        }
        (count(&restored), problems, seen, true)
    }

    /// The error for a run that ends with `seen`: one record and outcome
    /// per step, and every tag not where it was before named with its last
    /// seen digest.
    fn final_state(
        &self,
        failed: usize,
        cause: Error,
        seen: Reading,
        mut problems: Vec<Option<String>>,
    ) -> MoveError {
        let mut unrestored = Vec::new();
        let mut records = Vec::new();
        let mut outcomes = Vec::with_capacity(self.steps.len());
        for (i, (step, now)) in self.steps.iter().zip(seen).enumerate() {
            let dest = step.mv.destination();
            let (record, outcome) = match now {
                Ok(now) if now.as_deref() == step.current() => {
                    (step.unchanged_record(), Outcome::AsBefore)
                }
                Ok(Some(now)) if now == step.digest() => (
                    Some(step.record(&now, true)),
                    Outcome::NotRestored { now: Some(now) },
                ),
                Ok(now) => (
                    now.as_deref().map(|d| step.record(d, true)),
                    Outcome::ChangedUnderUs { now },
                ),
                Err(e) => {
                    problems[i].get_or_insert(format!("{dest} could not be read back: {e}"));
                    (None, Outcome::NotRestored { now: None })
                }
            };
            if outcome != Outcome::AsBefore {
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
            interfered: false,
            undone: 0,
            unrestored,
            records,
            outcomes,
        }
    }
}

fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|f| **f).count()
}

/// Puts `step`'s tag back where it was (PUT of the previous manifest,
/// verified), or deletes it if it did not exist. On failure: the words, and
/// whether the tag was found moved again right after the restore (a late
/// write landing: worth another try).
fn restore(client: &Client, step: &Step) -> Result<(), (String, bool)> {
    let dest = step.mv.destination();
    let Some(previous) = step.current() else {
        return client
            .delete_tag(&step.mv.image, &step.mv.tag)
            .map_err(|e| {
                (
                    format!("{dest} did not exist before and could not be deleted ({e})"),
                    false,
                )
            });
    };
    let put_back = || -> Result<String, Error> {
        let manifest = client.fetch_manifest(&step.mv.image.digest(previous)?)?;
        client.put_manifest(&step.mv.image, &step.mv.tag, &manifest)?;
        Ok(client.resolve(&dest)?.digest)
    };
    match put_back() {
        Ok(now) if now == previous => Ok(()),
        Ok(now) => Err((
            format!("{dest} could not be restored to {previous}: right after the restore it points at {now}"),
            true,
        )),
        Err(e) => Err((
            format!("{dest} could not be restored to {previous}: {e}"),
            false,
        )),
    }
}
