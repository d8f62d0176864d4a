//! The waiting loop: tenants arrive from stdin, polls come back from the
//! pool, and this one thread decides what is ready, what to poll next, when
//! to report progress and when to stop.
//!
//! Every event costs O(log n) in the number of tenants: due polls come off
//! a timer heap, the waiting tenants named in progress lines come from an
//! ordered set, and the counts the end conditions need are kept as they
//! change.

use std::collections::BTreeSet;
use std::io::{BufRead, Stdout};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ci::GithubActions;
use common::duration::human;
use common::jsonl::{RecordWriter, Records};
use common::tenant::Admission;
use common::term::{note, Style};
use common::{Code, Sha, Tenant};

use crate::cli::{Cli, IfNoSha};
use crate::entry::{Entry, Stage};
use crate::probe::Observation;
use crate::schedule::{Pacing, Timers};
use crate::verdict::{Straggler, Verdict};
use crate::{Error, TOOL};

/// Most waiting tenants named in one progress line.
const PROGRESS_NAMES: usize = 10;
/// A progress line that says nothing new is still printed this often.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// What the waiting loop reacts to.
#[derive(Debug)]
pub enum Event {
    /// A tenant record from stdin, with its line number.
    Tenant { tenant: Tenant, line: u64 },
    /// A line that is not a tenant record; the run stops with exit 2.
    BadInput(common::Error),
    /// stdin is closed: no more tenants will come.
    EndOfInput,
    /// A poll of tenant `id` (its index in arrival order) came back.
    Polled(u32, Observation),
}

/// Reads tenant records as they arrive and passes them to the waiting loop.
pub fn read_tenants(reader: Box<dyn BufRead + Send>, source_name: String, events: Sender<Event>) {
    let mut records = Records::<_, Tenant>::new(reader, source_name);
    while let Some(record) = records.next() {
        let event = match record {
            Ok(tenant) => Event::Tenant {
                tenant,
                line: records.line(),
            },
            Err(error) => Event::BadInput(error),
        };
        if events.send(event).is_err() {
            return;
        }
    }
    let _ = events.send(Event::EndOfInput);
}

#[derive(Debug)]
pub struct Waiter {
    sha: Sha,
    path: String,
    field: String,
    if_no_sha: IfNoSha,
    misconfigured_after: Duration,
    interval: Duration,
    timeout: Duration,
    proceed_on_timeout: bool,
    source_name: String,
    ci: GithubActions,
    style: Style,
    started: Instant,
    deadline: Instant,
    pacing: Pacing,
    timers: Timers,
    entries: Vec<Entry>,
    /// Tenants still waiting, in arrival order.
    waiting: BTreeSet<u32>,
    /// Of those, how many are misconfigured.
    misconfigured: usize,
    /// Tenants written to stdout (ready, or failed early).
    written: usize,
    ready: usize,
    admission: Admission,
    end_of_input: bool,
    polls: Sender<(u32, Arc<Tenant>)>,
    next_progress: Instant,
    last_progress: (String, Instant),
    out: RecordWriter<Stdout>,
}

impl Waiter {
    pub fn new(
        cli: &Cli,
        polls: Sender<(u32, Arc<Tenant>)>,
        source_name: String,
        started: Instant,
    ) -> Waiter {
        let (path, field) = cli.endpoint();
        Waiter {
            sha: cli.sha.clone(),
            path: path.to_string(),
            field: field.to_string(),
            if_no_sha: cli.if_no_sha,
            misconfigured_after: cli.misconfigured_after,
            interval: cli.interval,
            timeout: cli.timeout,
            proceed_on_timeout: cli.proceed_on_timeout,
            source_name,
            ci: GithubActions::from_env(),
            style: Style::for_stderr(),
            started,
            deadline: started + cli.timeout,
            pacing: Pacing::new(cli.interval),
            timers: Timers::default(),
            entries: Vec::new(),
            waiting: BTreeSet::new(),
            misconfigured: 0,
            written: 0,
            ready: 0,
            admission: Admission::new(cli.pipe.insecure.allowed),
            end_of_input: false,
            polls,
            next_progress: started + cli.interval,
            last_progress: (String::new(), started),
            out: RecordWriter::stdout().show_tokens(cli.pipe.show_tokens),
        }
    }

    /// Runs until every tenant is done and stdin is closed, every tenant is
    /// misconfigured, or the deadline. A closed stdout stops it quietly,
    /// exit 1 unless every tenant had been passed on.
    pub fn run(mut self, events: Receiver<Event>) -> Result<Code, Error> {
        self.starting();
        match self.wait(&events) {
            Err(Error::Common(e)) if e.is_broken_pipe() => Ok(self.stdout_closed()),
            other => other,
        }
    }

    fn wait(&mut self, events: &Receiver<Event>) -> Result<Code, Error> {
        loop {
            let now = Instant::now();
            if self.end_of_input && self.waiting.is_empty() {
                return self.finish(false);
            }
            if self.end_of_input && self.ready == 0 && self.all_left_misconfigured() {
                return self.finish(false);
            }
            if now >= self.deadline {
                return self.finish(true);
            }
            while let Some(id) = self.timers.pop_due(now) {
                let tenant = Arc::clone(&self.entries[id as usize].tenant);
                // Cannot fail while the pool runs: it holds the receiver.
                let _ = self.polls.send((id, tenant));
            }
            if now >= self.next_progress {
                self.progress(now);
                self.next_progress = now + self.interval;
            }
            let wake = [self.timers.next_due(), Some(self.next_progress)]
                .into_iter()
                .flatten()
                .fold(self.deadline, Instant::min);
            // A timeout means it is time to poll, report or give up. The
            // channel is never disconnected: the pool holds a sender.
            if let Ok(event) = events.recv_timeout(wake.saturating_duration_since(now)) {
                self.handle(event)?;
            }
        }
    }

    fn all_left_misconfigured(&self) -> bool {
        !self.waiting.is_empty() && self.misconfigured == self.waiting.len()
    }

    fn handle(&mut self, event: Event) -> Result<(), Error> {
        match event {
            Event::Tenant { tenant, line } => self.admit(tenant, line),
            Event::BadInput(error) => Err(error.into()),
            Event::EndOfInput => {
                self.end_of_input = true;
                if self.entries.is_empty() {
                    return Err(Error::NoTenants {
                        source_name: self.source_name.clone(),
                        waited: None,
                    });
                }
                Ok(())
            }
            Event::Polled(id, observation) => self.polled(id, observation),
        }
    }

    /// Checks a tenant as tenant-list would (its token masked before
    /// anything is said about it) and schedules its first poll now.
    fn admit(&mut self, tenant: Tenant, line: u64) -> Result<(), Error> {
        let origin = format!("{}:{line}", self.source_name);
        let tenant = self
            .admission
            .admit(tenant, &origin)
            .map_err(common::Error::Usage)?;
        let id = self.entries.len() as u32;
        self.entries.push(Entry::new(tenant));
        self.waiting.insert(id);
        self.timers.at(Instant::now(), id);
        Ok(())
    }

    fn polled(&mut self, id: u32, observation: Observation) -> Result<(), Error> {
        let now = Instant::now();
        let change = self.entries[id as usize].observe(observation, now);
        if change.recovered {
            self.misconfigured -= 1;
        }
        if change.ready {
            self.ready += 1;
            self.leave(id);
            // Said in the next progress line, not here: a fleet updating
            // together would flood the log.
            let tenant = Arc::clone(&self.entries[id as usize].tenant);
            self.out.write_tenant(&tenant)?;
            self.written += 1;
            return Ok(());
        }
        if change.no_sha {
            self.sha_less(id)?;
            if self.entries[id as usize].stage != Stage::Waiting {
                return Ok(());
            }
        }
        self.check_misconfigured(id, now);
        let delay = self
            .pacing
            .delay(self.entries[id as usize].failures, change.retry_after);
        self.timers.at(now + delay, id);
        Ok(())
    }

    /// Says at once that tenant `id` serves no build sha; with
    /// `--if-no-sha fail` it fails now, marked so downstream tools see it.
    fn sha_less(&mut self, id: u32) -> Result<(), Error> {
        let entry = &self.entries[id as usize];
        let what = format!(
            "{} serves no build sha: GET {} answered without one ({}); newer servers \
             report it at /buildinfo (--buildinfo)",
            entry.label(),
            self.path,
            entry.last()
        );
        match self.if_no_sha {
            IfNoSha::Fail => {
                note(
                    TOOL,
                    &self.style.bad(&format!(
                        "{what}; failed (--if-no-sha fail; --if-no-sha proceed passes such \
                         tenants on unconfirmed at the deadline)"
                    )),
                );
                self.entries[id as usize].stage = Stage::Failed;
                self.leave(id);
                let record = self.straggler(id).record(false);
                self.out.write_tenant(&record)?;
                self.written += 1;
            }
            IfNoSha::Proceed => note(
                TOOL,
                &self.style.warn(&format!(
                    "{what}; still polled, and passed on unconfirmed at the deadline unless it \
                     reports {} first (--if-no-sha proceed)",
                    self.sha
                )),
            ),
        }
        Ok(())
    }

    /// Marks tenant `id` misconfigured, and says so, once every answer it
    /// gave for `--misconfigured-after` was 401/403/404.
    fn check_misconfigured(&mut self, id: u32, now: Instant) {
        let grace = self.misconfigured_after;
        let entry = &mut self.entries[id as usize];
        if entry.misconfigured || !entry.refused_throughout(grace, now) {
            return;
        }
        entry.misconfigured = true;
        self.misconfigured += 1;
        let entry = &self.entries[id as usize];
        note(
            TOOL,
            &self.style.bad(&format!(
                "{} looks misconfigured: every answer for {} was {}; check its token, --path \
                 ({}) and org header (sent with --auth)",
                entry.label(),
                human(self.misconfigured_after),
                entry.last(),
                self.path,
            )),
        );
    }

    /// Takes tenant `id` off the waiting list.
    fn leave(&mut self, id: u32) {
        if self.waiting.remove(&id) && self.entries[id as usize].misconfigured {
            self.misconfigured -= 1;
        }
    }

    fn starting(&mut self) {
        let (path, field) = (&self.path, &self.field);
        note(
            TOOL,
            &format!(
                "waiting up to {} for the tenants on {} to report {} (GET {path}, field {field}) — {}",
                human(self.timeout),
                self.source_name,
                self.sha,
                self.times(self.started),
            ),
        );
    }

    /// `12s elapsed, 6m48s left`
    fn times(&self, now: Instant) -> String {
        format!(
            "{} elapsed, {} left",
            human(now.duration_since(self.started)),
            human(self.deadline.saturating_duration_since(now))
        )
    }

    /// `ready 3/5 — waiting: canary-a (reports 1a2b3c4), canary-b (connection refused) — 12s elapsed, 6m48s left`,
    /// printed when it says something new, or every [`HEARTBEAT`].
    fn progress(&mut self, now: Instant) {
        let total = self.entries.len();
        let mut line = if total == 0 {
            format!("no tenants yet — waiting for them on {}", self.source_name)
        } else {
            format!("ready {}/{total}", self.ready)
        };
        if !self.waiting.is_empty() {
            let mut names: Vec<String> = self
                .waiting
                .iter()
                .take(PROGRESS_NAMES)
                .map(|&id| self.entries[id as usize].described())
                .collect();
            if self.waiting.len() > PROGRESS_NAMES {
                names.push(format!("and {} more", self.waiting.len() - PROGRESS_NAMES));
            }
            line.push_str(&format!(" — waiting: {}", names.join(", ")));
        }
        if total > 0 && !self.end_of_input {
            let more = if self.waiting.is_empty() {
                " — waiting for more tenants on"
            } else {
                "; still reading"
            };
            line.push_str(&format!("{more} {}", self.source_name));
        }
        let (last, at) = &self.last_progress;
        if *last != line || now.duration_since(*at) >= HEARTBEAT {
            note(TOOL, &format!("{line} — {}", self.times(now)));
            self.last_progress = (line, now);
        }
    }

    /// Tenant `id` as it stands, for the verdict.
    fn straggler(&self, id: u32) -> Straggler {
        let entry = &self.entries[id as usize];
        Straggler {
            tenant: Arc::clone(&entry.tenant),
            described: entry.described(),
            expected: self.sha.clone(),
            reported: entry.reported().map(str::to_string),
            reason: entry.reason(),
        }
    }

    /// Writes what is left and says the verdict. `deadline` tells whether
    /// the time ran out (else every tenant was done or misconfigured).
    fn finish(&mut self, deadline: bool) -> Result<Code, Error> {
        if self.entries.is_empty() {
            return Err(Error::NoTenants {
                source_name: self.source_name.clone(),
                waited: Some(human(self.timeout)),
            });
        }
        // A tenant refused long enough is misconfigured at the deadline even
        // if its backoff put its next poll after it.
        let now = Instant::now();
        let left: Vec<u32> = self.waiting.iter().copied().collect();
        for &id in &left {
            self.check_misconfigured(id, now);
        }
        let elapsed = self.started.elapsed();
        let mut verdict = Verdict::new(
            self.sha.clone(),
            self.entries.len(),
            self.ready,
            elapsed,
            deadline.then_some(self.timeout),
        );
        for id in 0..self.entries.len() as u32 {
            if self.entries[id as usize].stage == Stage::Failed {
                verdict.failed.push(self.straggler(id));
            }
        }
        for id in left {
            let straggler = self.straggler(id);
            let goes_on = self.proceed_on_timeout
                || (straggler.reason == "no-sha" && self.if_no_sha == IfNoSha::Proceed);
            self.out.write_tenant(&straggler.record(goes_on))?;
            self.written += 1;
            if goes_on {
                verdict.unconfirmed.push(straggler);
            } else {
                verdict.failed.push(straggler);
            }
            self.leave(id);
        }
        if !self.end_of_input {
            verdict.still_open = Some(self.source_name.clone());
        }
        verdict.report(&self.ci, &self.style)
    }

    /// stdout closed (`canary-wait | head -1`): stop, and say what was not
    /// passed on (exit 1 unless nothing was left).
    fn stdout_closed(&self) -> Code {
        let left = self.entries.len() - self.written;
        let mut undone = format!("{left} of {} tenant(s) not passed on", self.entries.len());
        if !self.end_of_input {
            undone.push_str(&format!("; {} was still open", self.source_name));
        }
        let undone = (left > 0 || !self.end_of_input).then_some(undone.as_str());
        common::exit::stdout_closed(TOOL, undone, Code::Ok)
    }
}
