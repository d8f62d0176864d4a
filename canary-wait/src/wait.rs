//! The waiting loop: tenants arrive from stdin, polls come back from the
//! pool, and this one thread decides what is ready, what to poll next, when
//! to report progress and when to give up.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, Stdout};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ci::{markdown_cell, neutralize, GithubActions};
use common::jsonl::{RecordWriter, Records};
use common::term::{note, Style};
use common::{Code, Tenant};

use crate::cli::{Cli, Sha};
use crate::pool::Pool;
use crate::probe::{Observation, Prober};
use crate::{Error, TOOL};
use common::duration::human;

/// Most waiting tenants named in one progress line.
const PROGRESS_NAMES: usize = 10;

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
    Polled { id: usize, observation: Observation },
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
struct Entry {
    /// The record as read, written to stdout unchanged.
    record: Tenant,
    /// The normalised tenant that is polled.
    target: Arc<Tenant>,
    /// How the tenant is named in messages (neutralised).
    label: String,
    ready: bool,
    in_flight: bool,
    next_poll: Instant,
    /// What the last poll said, for progress and the timeout message.
    last: String,
}

#[derive(Debug)]
pub struct Waiter {
    sha: Sha,
    interval: Duration,
    timeout: Duration,
    proceed_on_timeout: bool,
    insecure: bool,
    source_name: String,
    ci: GithubActions,
    style: Style,
    started: Instant,
    deadline: Instant,
    next_progress: Instant,
    entries: Vec<Entry>,
    urls: HashSet<String>,
    ready: usize,
    end_of_input: bool,
    pool: Pool,
    out: RecordWriter<Stdout>,
    jitter: Jitter,
}

impl Waiter {
    pub fn new(
        cli: Cli,
        prober: Prober,
        events: Sender<Event>,
        source_name: String,
        started: Instant,
    ) -> Waiter {
        Waiter {
            sha: cli.sha,
            interval: cli.interval,
            timeout: cli.timeout,
            proceed_on_timeout: cli.proceed_on_timeout,
            insecure: cli.insecure,
            source_name,
            ci: GithubActions::from_env(),
            style: Style::for_stderr(),
            started,
            deadline: started + cli.timeout,
            next_progress: started + cli.interval,
            entries: Vec::new(),
            urls: HashSet::new(),
            ready: 0,
            end_of_input: false,
            pool: Pool::new(prober, events),
            out: RecordWriter::stdout(),
            jitter: Jitter::new(),
        }
    }

    /// Runs until every tenant is ready and stdin is closed, or the timeout.
    pub fn run(mut self, events: Receiver<Event>) -> Result<Code, Error> {
        loop {
            let now = Instant::now();
            if self.end_of_input && self.ready == self.entries.len() {
                return self.all_ready();
            }
            if now >= self.deadline {
                return self.timed_out();
            }
            self.poll_due(now)?;
            if now >= self.next_progress {
                self.progress();
                self.next_progress = now + self.interval;
            }
            let wake = self.next_wake();
            // A timeout means it is time to poll, report or give up. The
            // channel is never disconnected: the pool holds a sender.
            if let Ok(event) = events.recv_timeout(wake.saturating_duration_since(now)) {
                self.handle(event)?;
            }
        }
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
            Event::Polled { id, observation } => {
                self.pool.finished();
                let entry = &mut self.entries[id];
                entry.in_flight = false;
                match observation {
                    Observation::Waiting(text) => entry.last = text,
                    // Said once per interval in the progress line, not here:
                    // a fleet updating together would flood the log.
                    Observation::Ready => {
                        entry.ready = true;
                        self.ready += 1;
                        self.out.write(&entry.record)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks a tenant as tenant-list would and schedules its first poll now.
    fn admit(&mut self, record: Tenant, line: u64) -> Result<(), Error> {
        // Masked before anything else can be printed about it.
        self.ci.mask(&record.token);
        let input_error = |message| common::Error::Input {
            source_name: self.source_name.clone(),
            line,
            message,
        };
        let mut target = record.clone();
        target.normalize(self.insecure).map_err(input_error)?;
        if !self.urls.insert(target.url.to_ascii_lowercase()) {
            return Err(input_error(format!("duplicate tenant URL {}", target.url)).into());
        }
        self.entries.push(Entry {
            label: neutralize(target.label(), 60),
            record,
            target: Arc::new(target),
            ready: false,
            in_flight: false,
            next_poll: Instant::now(),
            last: "no answer yet".to_string(),
        });
        Ok(())
    }

    fn poll_due(&mut self, now: Instant) -> Result<(), Error> {
        for (id, entry) in self.entries.iter_mut().enumerate() {
            if entry.ready || entry.in_flight || entry.next_poll > now {
                continue;
            }
            entry.in_flight = true;
            entry.next_poll = now + self.jitter.around(self.interval);
            self.pool
                .submit(id, Arc::clone(&entry.target))
                .map_err(Error::Thread)?;
        }
        Ok(())
    }

    fn next_wake(&self) -> Instant {
        self.entries
            .iter()
            .filter(|e| !e.ready && !e.in_flight)
            .map(|e| e.next_poll)
            .fold(self.deadline.min(self.next_progress), Instant::min)
    }

    /// `ready 3/5 — waiting: canary-a (reports 1a2b3c4), canary-b (connection refused)`
    fn progress(&self) {
        let total = self.entries.len();
        let waiting: Vec<&Entry> = self.entries.iter().filter(|e| !e.ready).collect();
        if total == 0 {
            note(
                TOOL,
                &format!("no tenants yet — waiting for them on {}", self.source_name),
            );
            return;
        }
        let mut line = format!("ready {}/{total}", self.ready);
        if !waiting.is_empty() {
            let mut names: Vec<String> = waiting
                .iter()
                .take(PROGRESS_NAMES)
                .map(|e| format!("{} ({})", e.label, e.last))
                .collect();
            if waiting.len() > PROGRESS_NAMES {
                names.push(format!("and {} more", waiting.len() - PROGRESS_NAMES));
            }
            line.push_str(&format!(" — waiting: {}", names.join(", ")));
        }
        if !self.end_of_input {
            let more = if waiting.is_empty() {
                " — waiting for more tenants on"
            } else {
                "; still reading"
            };
            line.push_str(&format!("{more} {}", self.source_name));
        }
        note(TOOL, &line);
    }

    fn all_ready(self) -> Result<Code, Error> {
        let after = human(self.started.elapsed());
        let n = self.entries.len();
        note(
            TOOL,
            &self.style.good(&format!(
                "all {n} tenant(s) report {} (after {after})",
                self.sha
            )),
        );
        self.ci.append_summary(&format!(
            "**canary-wait**: all {n} tenant(s) report `{}` (after {after})",
            self.sha
        ))?;
        Ok(Code::Ok)
    }

    fn timed_out(mut self) -> Result<Code, Error> {
        let after = human(self.timeout);
        if self.entries.is_empty() {
            return Err(Error::NoTenants {
                source_name: self.source_name.clone(),
                waited: Some(after),
            });
        }
        let total = self.entries.len();
        let stuck: Vec<usize> = (0..total).filter(|&i| !self.entries[i].ready).collect();
        let describe = |e: &Entry| format!("{} ({})", e.label, e.last);
        let mut problem = if stuck.is_empty() {
            format!("all {total} tenant(s) read so far report {}", self.sha)
        } else {
            let names: Vec<String> = stuck.iter().map(|&i| describe(&self.entries[i])).collect();
            format!(
                "{} of {total} tenant(s) never reported {}: {}",
                stuck.len(),
                self.sha,
                names.join(", ")
            )
        };
        if !self.end_of_input {
            problem.push_str(&format!("; {} was still open", self.source_name));
        }
        let summary_names: Vec<String> = stuck
            .iter()
            .map(|&i| markdown_cell(&describe(&self.entries[i])))
            .collect();
        let summary = format!(
            "**canary-wait**: timed out after {after} waiting for `{}`: {}/{total} ready{}{}",
            self.sha,
            self.ready,
            if summary_names.is_empty() {
                ""
            } else {
                "; not ready: "
            },
            summary_names.join(", "),
        );

        if self.proceed_on_timeout {
            for &i in &stuck {
                self.out.write(&self.entries[i].record)?;
            }
            let message = format!(
                "timed out after {after}, proceeding anyway (--proceed-on-timeout): {problem}"
            );
            note(TOOL, &self.style.warn(&format!("warning: {message}")));
            self.ci.warning("canary-wait", &message);
            self.ci.append_summary(&format!(
                "{summary}; proceeding anyway (--proceed-on-timeout)"
            ))?;
            return Ok(Code::Ok);
        }
        self.ci.error(
            "canary-wait",
            &format!("timed out after {after}: {problem}"),
        );
        self.ci.append_summary(&summary)?;
        Err(Error::Timeout { after, problem })
    }
}

/// Spreads polls by up to ±10% of the interval, so a fleet that started
/// together is not polled in lock-step.
#[derive(Debug)]
struct Jitter {
    seed: RandomState,
    count: u64,
}

impl Jitter {
    fn new() -> Jitter {
        Jitter {
            seed: RandomState::new(),
            count: 0,
        }
    }

    fn around(&mut self, interval: Duration) -> Duration {
        self.count += 1;
        let mut hasher = self.seed.build_hasher();
        hasher.write_u64(self.count);
        // A uniform-enough factor in [0.9, 1.1].
        let unit = (hasher.finish() % 2001) as f64 / 1000.0 - 1.0;
        interval.mul_f64(1.0 + 0.1 * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut jitter = Jitter::new();
        let interval = Duration::from_secs(10);
        let samples: Vec<Duration> = (0..200).map(|_| jitter.around(interval)).collect();
        for d in &samples {
            assert!(
                (Duration::from_secs(9)..=Duration::from_secs(11)).contains(d),
                "{d:?}"
            );
        }
        let distinct: HashSet<&Duration> = samples.iter().collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct delays",
            distinct.len()
        );
    }
}
