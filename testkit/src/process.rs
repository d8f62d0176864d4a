//! A tool running in the background of a test: write its stdin a line at a
//! time, read each stdout record the moment it appears, watch stderr grow,
//! and wait for it to exit by itself.
//!
//! For tools that stream (canary-wait passes tenants on while others are
//! still updating): the test changes the world (flips a tenant's sha) and
//! then waits, within generous bounds, for the state it expects. Nothing
//! here sleeps to let something happen; the bounds only end a test that
//! would otherwise hang.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long anything a tool should do promptly may take on a loaded machine.
pub const PROMPTLY: Duration = Duration::from_secs(15);
/// The longest a tool may run before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A started tool whose stdout lines and stderr text are collected as they
/// appear.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    started: Instant,
}

/// A tool that exited: its code, the stdout lines not already taken with
/// [`Running::next_line`], all of stderr, and how long it ran.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: Vec<String>,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A stdout whose reader is gone before the tool starts: a socket whose
/// other end is already closed, so the tool's first write meets a broken
/// pipe (`tool | head -c0` lets a fast tool win the race and deliver all).
pub fn closed_stdout() -> Stdio {
    let (writer, reader) = UnixStream::pair().expect("a socket pair");
    drop(reader);
    Stdio::from(OwnedFd::from(writer))
}

impl Finished {
    /// A run cut short by a closed stdout (issue 11.1): exit 1, exactly one
    /// `TOOL: stdout closed: …` line on stderr, holding `undone` (what was
    /// left), and no write error.
    #[track_caller]
    pub fn assert_stopped_by_closed_stdout(&self, tool: &str, undone: &str) {
        assert_eq!(
            self.code, 1,
            "undone work is never a pass:\n{}",
            self.stderr
        );
        let prefix = format!("{tool}: stdout closed: ");
        let said: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert!(
            said.len() == 1 && said[0].contains(undone),
            "one {prefix:?} line with {undone:?} expected; stderr:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("cannot write"), "{}", self.stderr);
    }
}

impl Running {
    /// Starts `cmd` (usually [`crate::hermetic`]) with all three streams piped.
    pub fn start(cmd: Command) -> Running {
        Running::start_head(cmd, usize::MAX)
    }

    /// Like `tool | head -n LINES`: stdout is closed after `lines` lines,
    /// so the tool's next write meets a broken pipe.
    pub fn start_head(mut cmd: Command, head: usize) -> Running {
        cmd.stdout(Stdio::piped());
        let (started, mut child) = Running::spawn(cmd);
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            // Dropping the reader at the end closes the pipe.
            for line in BufReader::new(stdout).lines().take(head) {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running::collect(started, child, lines)
    }

    /// Like `tool | true` where `true` is gone before the tool starts:
    /// stdout is a socket whose reading end is already closed, so the
    /// tool's first write meets a broken pipe (no race with a fast tool).
    /// stdin is piped and stays open until [`Running::close_stdin`].
    pub fn start_stdout_closed(mut cmd: Command) -> Running {
        cmd.stdout(closed_stdout());
        let (started, child) = Running::spawn(cmd);
        // No stdout lines will ever come: the channel is closed at once.
        let (_, lines) = mpsc::channel();
        Running::collect(started, child, lines)
    }

    /// Spawns `cmd` with stdin and stderr piped (stdout set by the caller).
    fn spawn(mut cmd: Command) -> (Instant, Child) {
        cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let child = cmd.spawn().expect("start the tool under test");
        (started, child)
    }

    /// Starts collecting stderr; stdout lines arrive on `lines`.
    fn collect(started: Instant, mut child: Child, lines: Receiver<String>) -> Running {
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let err = child.stderr.take().expect("stderr is piped");
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Running {
            stdin: child.stdin.take(),
            child,
            stdout: lines,
            stderr,
            stderr_reader: Some(stderr_reader),
            started,
        }
    }

    /// Writes to the tool's stdin. A tool that already exited (a usage
    /// error, a bad line) closed it; its exit status tells the rest.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        match stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
        {
            Err(e) if e.kind() != ErrorKind::BrokenPipe => panic!("write to the tool: {e}"),
            _ => {}
        }
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Everything on stderr so far.
    pub fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next stdout line, waiting for it promptly.
    pub fn next_line(&self) -> String {
        match self.stdout.recv_timeout(PROMPTLY) {
            Ok(line) => line,
            Err(e) => panic!(
                "no line on stdout ({e:?}); stderr so far:\n{}",
                self.stderr_now()
            ),
        }
    }

    /// Fails if a line is already waiting on stdout.
    pub fn assert_no_line_yet(&self) {
        if let Ok(line) = self.stdout.try_recv() {
            panic!(
                "unexpected stdout line {line}; stderr:\n{}",
                self.stderr_now()
            );
        }
    }

    /// Waits until stderr has a line containing `needle`; returns that line.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let until = Instant::now() + PROMPTLY;
        loop {
            if let Some(line) = self.stderr_now().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < until,
                "no stderr line with {needle:?}; stderr:\n{}",
                self.stderr_now()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the tool").is_none()
    }

    /// Closes stdin and waits for the tool to exit by itself.
    pub fn finish(mut self) -> Finished {
        self.close_stdin();
        self.exit_with_stdin_open()
    }

    /// Waits for the tool to exit by itself, stdin left as it is.
    pub fn exit_with_stdin_open(self) -> Finished {
        self.exit_within(RUN_LIMIT, "still running")
    }

    /// Waits for the tool to exit by itself, stdin left as it is, failing
    /// the test if it does not do so [`PROMPTLY`] (counted from now): for a
    /// tool that should stop without waiting for more input.
    pub fn exits_promptly_with_stdin_open(self) -> Finished {
        let limit = self.started.elapsed() + PROMPTLY;
        self.exit_within(limit, "did not stop promptly, still running")
    }

    fn exit_within(mut self, limit: Duration, failure: &str) -> Finished {
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("poll the tool") {
                break status.code().unwrap_or(-1);
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "{failure} after {:?}; stderr:\n{}",
                    self.started.elapsed(),
                    self.stderr_now()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.started.elapsed();
        let mut stdout = Vec::new();
        loop {
            match self.stdout.recv_timeout(PROMPTLY) {
                Ok(line) => stdout.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout not closed after exit"),
            }
        }
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("stderr reader");
        }
        let stderr = self.stderr_now();
        assert!(!stderr.contains("panicked"), "the tool panicked:\n{stderr}");
        Finished {
            code,
            stdout,
            stderr,
            elapsed,
        }
    }
}

impl Drop for Running {
    /// A test that fails half-way leaves no tool running behind it.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
