//! Running the built `canary-wait` against the fake fleet, and reading what
//! it wrote back as typed records.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value};
pub use testkit::actions::{commands, without_masks};
use testkit::fleet::{Fleet, TenantSpec};
use testkit::process::{Finished, Running, PROMPTLY};
use testkit::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_canary-wait");
/// The build being released, in full and as the 7-character short sha.
pub const NEW: &str = "4c1d56e9f00b5a1c0de0123456789abcdef01234";
pub const NEW7: &str = "4c1d56e";
/// What a canary runs before it updates.
pub const OLD: &str = "1a2b3c4";
/// How much later than its --timeout a run may end and still count as
/// "within about the timeout" (process start-up included).
pub const SLACK: Duration = Duration::from_secs(5);

/// A tenant record as canary-wait writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    pub name: String,
    pub url: String,
    pub token: String,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub canary_wait: Option<Verdict>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `canary_wait` field of a tenant that was not confirmed ready.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub ready: bool,
    #[serde(default)]
    pub confirmed: Option<bool>,
    pub expected: String,
    pub reported: Option<String>,
    pub reason: String,
}

impl Verdict {
    /// A straggler without `--proceed-on-timeout`: not ready for [`NEW7`].
    pub fn not_ready(reported: Option<&str>, reason: &str) -> Option<Verdict> {
        Some(Verdict {
            ready: false,
            confirmed: None,
            expected: NEW7.into(),
            reported: reported.map(str::to_string),
            reason: reason.into(),
        })
    }

    /// A straggler let through by `--proceed-on-timeout`: ready, unconfirmed.
    pub fn unconfirmed(reported: Option<&str>, reason: &str) -> Option<Verdict> {
        Some(Verdict {
            ready: true,
            confirmed: Some(false),
            ..Verdict::not_ready(reported, reason)?
        })
    }
}

pub fn parse(line: &str) -> Record {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a tenant record ({e}): {line}"))
}

/// A `canary-wait` command with `args` and extra `env`, its home a fresh
/// temp dir (kept alive as long as the returned guard).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> (Command, TempDir) {
    let home = TempDir::new("canary-wait").expect("temp dir");
    let mut cmd = testkit::hermetic(BIN, home.path());
    cmd.args(args).envs(env.iter().copied());
    (cmd, home)
}

/// [`command`] started, all three streams piped.
pub fn start(args: &[&str], env: &[(&str, &str)]) -> (Running, TempDir) {
    let (cmd, home) = command(args, env);
    (Running::start(cmd), home)
}

/// Runs to completion with `stdin` as input.
pub fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Finished {
    let (mut running, _home) = start(args, env);
    running.send(stdin);
    running.finish()
}

/// What a run as a GitHub Actions step left: the run, its step summary and
/// its step outputs.
#[derive(Debug)]
pub struct Step {
    pub done: Finished,
    pub summary: String,
    /// The `GITHUB_OUTPUT` file as written, and read as the runner does.
    pub output: String,
    pub outputs: BTreeMap<String, String>,
}

/// Runs to completion with `stdin` as input, as a GitHub Actions step
/// (`GITHUB_ACTIONS=true`, a step summary and a `GITHUB_OUTPUT` file).
pub fn run_as_step(args: &[&str], stdin: &str) -> Step {
    let dir = TempDir::new("canary-wait-step").expect("temp dir");
    let (summary, output) = (dir.join("summary.md"), dir.join("output"));
    let done = run(
        args,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ],
        stdin,
    );
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let output = read(&output);
    Step {
        done,
        summary: read(&summary),
        outputs: testkit::actions::step_outputs(&output)
            .into_iter()
            .collect(),
        output,
    }
}

/// Runs each `(args, stdin)` to completion, all at the same time: for
/// tests whose runs each wait out a deadline.
pub fn run_together(runs: &[(&[&str], &str)]) -> Vec<Finished> {
    let started: Vec<_> = runs
        .iter()
        .map(|(args, stdin)| {
            let (mut running, home) = start(args, &[]);
            running.send(stdin);
            running.close_stdin();
            (running, home)
        })
        .collect();
    started
        .into_iter()
        .map(|(running, _home)| running.finish())
        .collect()
}

/// The next record on stdout, waiting for it promptly.
pub fn next(running: &Running) -> Record {
    parse(&running.next_line())
}

pub fn records(done: &Finished) -> Vec<Record> {
    done.stdout.iter().map(|l| parse(l)).collect()
}

pub fn names(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.name.as_str()).collect()
}

pub fn fleet(specs: Vec<TenantSpec>) -> Fleet {
    Fleet::start(specs).expect("start the fake fleet")
}

pub fn tenant(name: &str, sha: &str) -> TenantSpec {
    TenantSpec::healthy(name).with_sha(sha)
}

/// Waits until `condition` holds; fails naming `what` if it does not promptly.
pub fn eventually(what: &str, condition: impl Fn() -> bool) {
    let until = Instant::now() + PROMPTLY;
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The one stderr line that starts with `prefix` (after the tool's name).
#[track_caller]
pub fn line_starting<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    let wanted = format!("canary-wait: {prefix}");
    let found: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&wanted)).collect();
    assert_eq!(
        found.len(),
        1,
        "one {wanted:?} line expected; stderr:\n{stderr}"
    );
    found[0]
}

/// No fleet token on stderr, except in the `::add-mask::` lines GitHub
/// Actions needs to hide it everywhere else.
#[track_caller]
pub fn assert_tokens_hidden(fleet: &Fleet, stderr: &str) {
    for i in 0..fleet.len() {
        let token = fleet.token(i);
        for line in stderr.lines() {
            if line.contains(&token) {
                assert_eq!(
                    line,
                    format!("::add-mask::{token}"),
                    "token of tenant {i} on stderr:\n{stderr}"
                );
            }
        }
    }
}
