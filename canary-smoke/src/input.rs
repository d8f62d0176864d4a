//! Where tenants come from: JSON lines streaming on stdin, or the two
//! variables `canary-smoke.sh` read (the drop-in), and how to tell which.
//!
//! Records win whenever stdin can carry them: a pipe or a non-empty file.
//! The variables are read with `--from-env`, when stdin is a terminal, and
//! when stdin can carry no record at all (`/dev/null`, a closed stdin, an
//! empty file) while `CANARY_TENANT_URLS` is set — what a renamed
//! `canary-smoke.sh` sees in CI. A pipe that closes without a record means
//! the command before canary-smoke wrote nothing (canary-wait refused its
//! `--sha`, say): that is an error, and the variables are not a fallback
//! for it, since they would skip the wait.

use std::collections::VecDeque;
use std::io::{self, BufReader, IsTerminal};
use std::os::unix::fs::FileTypeExt;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use common::jsonl::Records;
use common::tenant::{self, Admission, Tenant, TOKENS_VAR, URLS_VAR};

use crate::Error;

/// How long stdin may stay silent before canary-smoke says what it waits
/// for: long enough that a fast upstream (tenant-list) never causes the
/// note, short enough that a person at a prompt is not left guessing.
const QUIET_NOTICE: Duration = Duration::from_secs(1);

/// A tenant line (or why it is bad) and its line number.
type Line = (u64, Result<Tenant, common::Error>);

/// What reaches the input channel: from the stdin reader, each line and
/// then the end of input; from a [`Stopper`], the order to stop reading.
#[derive(Debug)]
enum Message {
    Line(Line),
    End,
    Stop,
}

/// Ends the reading of stdin at once, even while stdin stays open and
/// silent: the run stops waiting for the next line (stdout was closed, so
/// no more results can be delivered).
#[derive(Debug, Clone)]
pub struct Stopper(Option<SyncSender<Message>>);

impl Stopper {
    pub fn stop(&self) {
        if let Some(send) = self.0.clone() {
            // The channel may be full while the reader waits for room: a
            // thread of its own waits too, so the caller never blocks. It
            // ends when the message is taken or the input is dropped.
            thread::spawn(move || {
                let _ = send.send(Message::Stop);
            });
        }
    }
}

/// The tenants of one run, in the order they are read.
#[derive(Debug)]
pub struct Input {
    source: Source,
    admission: Admission,
    deadline: Option<Instant>,
    /// The drop-in's URLs as `CANARY_TENANT_URLS` spells them, by tenant
    /// (empty for records on stdin): the script printed them so.
    pub written_urls: Vec<String>,
    /// Tenants handed out so far.
    pub read: u64,
    /// Why reading stopped early: a bad line, or the deadline.
    pub error: Option<Error>,
    /// True once the whole input was read.
    pub exhausted: bool,
    /// True once a [`Stopper`] ended the reading before the input did.
    pub stopped: bool,
}

#[derive(Debug)]
enum Source {
    /// The variables, checked as a whole before the first tenant runs.
    Env(VecDeque<Tenant>),
    /// The stdin reader, with the first line already received, and the
    /// way to tell it to stop.
    Stdin {
        lines: Receiver<Message>,
        first: Option<Line>,
        stop: SyncSender<Message>,
    },
}

impl Input {
    /// Chooses the source; may wait for the first line of stdin (saying on
    /// stderr what it waits for when nothing comes for a second).
    pub fn open(from_env: bool, insecure: bool, deadline: Option<Instant>) -> Result<Input, Error> {
        let mut admission = Admission::new(insecure);
        let (source, written_urls) = if from_env || io::stdin().is_terminal() {
            from_variables(&mut admission)?
        } else {
            let (stop, lines) = read_stdin();
            match first_line(&lines, deadline)? {
                Some(first) => (
                    Source::Stdin {
                        lines,
                        first: Some(first),
                        stop,
                    },
                    Vec::new(),
                ),
                None if no_record_can_arrive() && std::env::var_os(URLS_VAR).is_some() => {
                    common::term::note(
                        "canary-smoke",
                        &format!(
                            "no tenant records on stdin: reading {URLS_VAR} and {TOKENS_VAR}, \
                             as canary-smoke.sh did"
                        ),
                    );
                    from_variables(&mut admission)?
                }
                None if no_record_can_arrive() => {
                    return Err(Error::from(common::Error::Usage(format!(
                        "no tenants: stdin is empty and {URLS_VAR} is not set; pipe tenant \
                         JSON lines in (tenant-list | canary-smoke) or set {URLS_VAR} and {TOKENS_VAR}"
                    ))))
                }
                None => {
                    return Err(Error::from(common::Error::Usage(
                        "no tenants on stdin: the input closed without a tenant record, so \
                         there is nothing to check (did the command before canary-smoke fail?)"
                            .into(),
                    )))
                }
            }
        };
        Ok(Input {
            source,
            written_urls,
            admission,
            deadline,
            read: 0,
            error: None,
            exhausted: false,
            stopped: false,
        })
    }

    /// What ends the reading early (a no-op for the variables, which are
    /// read in full before the run).
    pub fn stopper(&self) -> Stopper {
        match &self.source {
            Source::Env(_) => Stopper(None),
            Source::Stdin { stop, .. } => Stopper(Some(stop.clone())),
        }
    }

    /// True when the fleet came from the variables: the drop-in mode.
    pub fn is_drop_in(&self) -> bool {
        matches!(self.source, Source::Env(_))
    }

    fn next_tenant(&mut self) -> Result<Option<Tenant>, Error> {
        let (line, tenant) = match &mut self.source {
            Source::Env(tenants) => return Ok(tenants.pop_front()),
            Source::Stdin { first, lines, .. } => match first.take() {
                Some(line) => line,
                None => match receive(lines, self.deadline) {
                    Received::Line(line) => line,
                    Received::End => return Ok(None),
                    Received::Stopped => {
                        self.stopped = true;
                        return Ok(None);
                    }
                    Received::Deadline => return Err(Error::Deadline),
                },
            },
        };
        let origin = format!("stdin:{line}");
        Ok(Some(self.admission.admit(tenant?, &origin).map_err(
            |message| admission_error(&origin, line, message),
        )?))
    }
}

/// Yields `(seq, tenant)` from 1 until the input ends or goes wrong; then
/// `error` and `exhausted` say which.
impl Iterator for Input {
    type Item = (u64, Tenant);

    fn next(&mut self) -> Option<(u64, Tenant)> {
        if self.error.is_some() || self.exhausted || self.stopped {
            return None;
        }
        match self.next_tenant() {
            Ok(Some(tenant)) => {
                self.read += 1;
                Some((self.read, tenant))
            }
            Ok(None) => {
                self.exhausted = !self.stopped;
                None
            }
            Err(error) => {
                self.error = Some(error);
                None
            }
        }
    }
}

/// An admission message as an input error naming the line, unless the
/// message already starts with it.
fn admission_error(origin: &str, line: u64, message: String) -> common::Error {
    match message.strip_prefix(origin) {
        Some(rest) => common::Error::Input {
            source_name: "stdin".into(),
            line,
            message: rest.trim_start_matches(':').trim_start().to_string(),
        },
        None => common::Error::Input {
            source_name: "stdin".into(),
            line,
            message,
        },
    }
}

/// The fleet from `CANARY_TENANT_URLS`/`CANARY_ADMIN_TOKENS`: all of it is
/// checked (and every token masked) before the first tenant is sent.
/// Also returns each URL as written, for the drop-in text.
fn from_variables(admission: &mut Admission) -> Result<(Source, Vec<String>), common::Error> {
    let urls = std::env::var(URLS_VAR).ok();
    if urls.is_none() {
        return Err(common::Error::Usage(format!(
            "{URLS_VAR} is not set: give the tenant base URLs (separated by spaces, commas or \
             newlines), or pipe tenant JSON lines into canary-smoke"
        )));
    }
    let tokens = std::env::var(TOKENS_VAR).ok();
    let tenants = tenant::from_env_values(urls.as_deref(), tokens.as_deref())?;
    tenants.iter().for_each(|t| admission.mask(&t.token));
    if tenants.is_empty() {
        return Err(common::Error::Usage(format!(
            "{URLS_VAR} holds no URL: there is nothing to check"
        )));
    }
    let written = tenants.iter().map(|t| t.url.clone()).collect();
    let admitted = tenants
        .into_iter()
        .enumerate()
        .map(|(i, tenant)| {
            admission
                .admit(tenant, &format!("{URLS_VAR} entry {}", i + 1))
                .map_err(common::Error::Usage)
        })
        .collect::<Result<_, _>>()?;
    Ok((Source::Env(admitted), written))
}

/// Reads stdin on a thread of its own, so waiting for it can be bounded:
/// a pipe may stay open without a line for as long as it likes.
/// Reads stdin on a thread of its own into a bounded channel (one line
/// ahead), ending with [`Message::End`]. Returns a sender for a
/// [`Stopper`] and the receiving end.
fn read_stdin() -> (SyncSender<Message>, Receiver<Message>) {
    let (send, lines) = mpsc::sync_channel(1);
    let stop = send.clone();
    // Not scoped: a read blocked on an open pipe must not keep the process
    // alive once the run is over.
    thread::spawn(move || {
        let mut records = Records::<_, Tenant>::new(BufReader::new(io::stdin()), "stdin");
        while let Some(record) = records.next() {
            let bad = record.is_err();
            if send.send(Message::Line((records.line(), record))).is_err() || bad {
                return;
            }
        }
        let _ = send.send(Message::End);
    });
    (stop, lines)
}

enum Received {
    Line(Line),
    End,
    Stopped,
    Deadline,
}

fn receive(lines: &Receiver<Message>, deadline: Option<Instant>) -> Received {
    let result = match deadline {
        None => lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
        Some(at) => lines.recv_timeout(at.saturating_duration_since(Instant::now())),
    };
    match result {
        Ok(Message::Line(line)) => Received::Line(line),
        Ok(Message::End) | Err(RecvTimeoutError::Disconnected) => Received::End,
        Ok(Message::Stop) => Received::Stopped,
        Err(RecvTimeoutError::Timeout) => Received::Deadline,
    }
}

/// The first line, saying on stderr what canary-smoke waits for when
/// stdin stays silent; `None` when stdin ends without one.
fn first_line(lines: &Receiver<Message>, deadline: Option<Instant>) -> Result<Option<Line>, Error> {
    let quiet_until = Instant::now() + QUIET_NOTICE;
    let until = deadline.map_or(quiet_until, |d| d.min(quiet_until));
    match receive(lines, Some(until)) {
        Received::Line(line) => return Ok(Some(line)),
        // No Stopper exists before the first line is in.
        Received::End | Received::Stopped => return Ok(None),
        Received::Deadline if deadline.is_some_and(|d| Instant::now() >= d) => {
            return Err(Error::Deadline)
        }
        Received::Deadline => {}
    }
    // No advice to read the variables instead: behind canary-wait, that
    // would skip the wait.
    let hint = if std::env::var_os(URLS_VAR).is_some() {
        format!("; {URLS_VAR} is not read while stdin is a pipe")
    } else {
        String::new()
    };
    common::term::note(
        "canary-smoke",
        &format!(
            "waiting for tenant records on stdin (JSON lines, as tenant-list and canary-wait \
             write them; none after {}){hint}",
            common::duration::human(QUIET_NOTICE)
        ),
    );
    match receive(lines, deadline) {
        Received::Line(line) => Ok(Some(line)),
        Received::End | Received::Stopped => Ok(None),
        Received::Deadline => Err(Error::Deadline),
    }
}

/// True when stdin cannot carry a record: `/dev/null` or another device, a
/// closed descriptor, a regular file. Pipes and sockets can.
fn no_record_can_arrive() -> bool {
    match std::fs::metadata("/dev/stdin") {
        Ok(meta) => {
            let kind = meta.file_type();
            !(kind.is_fifo() || kind.is_socket())
        }
        Err(_) => true,
    }
}
