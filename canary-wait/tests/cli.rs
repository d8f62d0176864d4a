//! End-to-end tests: the built `canary-wait` binary against the fake fleet,
//! with tenants flipped to the new build from the test while it runs.
//!
//! No assertion depends on timing luck: the test waits (within generous
//! bounds) for the state it needs, and only checks orders and counts that
//! the tool itself guarantees.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use serde_json::{json, Value};
use testkit::fleet::{Fault, Fleet, TenantSpec};
use testkit::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_canary-wait");
/// The build being released, in full and as the 7-character short sha.
const NEW: &str = "4c1d56e9f00b5a1c0de0123456789abcdef01234";
const NEW7: &str = "4c1d56e";
/// What a canary runs before it updates.
const OLD: &str = "1a2b3c4";
/// How long anything the tool should do promptly may take on a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(15);
/// How much later than its --timeout a run may end and still count as
/// "within about the timeout" (process start-up included).
const SLACK: Duration = Duration::from_secs(5);

/// A `canary-wait` process whose stdout records and stderr lines are
/// collected as they appear.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    records: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    started: Instant,
    _home: TempDir,
}

/// A finished run: its exit code, the records not already taken with
/// [`Running::next_record`], all of stderr, and how long it took.
#[derive(Debug)]
struct Finished {
    code: i32,
    records: Vec<Value>,
    stderr: String,
    elapsed: Duration,
}

impl Running {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
        let home = TempDir::new("canary-wait").expect("temp dir");
        let mut cmd = testkit::hermetic(BIN, home.path());
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("start canary-wait");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, records) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
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
            records,
            stderr,
            stderr_reader: Some(stderr_reader),
            started,
            _home: home,
        }
    }

    /// Writes to the tool's stdin. A tool that already exited (a usage
    /// error, a bad line) closed it; its exit status tells the rest.
    fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        match stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("write to canary-wait: {e}")
            }
            _ => {}
        }
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next record on stdout, waiting for it promptly.
    fn next_record(&self) -> Value {
        match self.records.recv_timeout(PROMPTLY) {
            Ok(line) => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}")),
            Err(e) => panic!(
                "no record on stdout ({e:?}); stderr so far:\n{}",
                self.stderr_now()
            ),
        }
    }

    /// Fails if a record is already waiting on stdout.
    fn assert_no_record_yet(&self) {
        if let Ok(line) = self.records.try_recv() {
            panic!("unexpected record {line}; stderr:\n{}", self.stderr_now());
        }
    }

    /// Waits until stderr has a line containing `needle`; returns that line.
    fn wait_for_stderr(&self, needle: &str) -> String {
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
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll canary-wait").is_none()
    }

    /// Closes stdin and waits for the process to exit by itself.
    fn finish(mut self) -> Finished {
        self.close_stdin();
        self.exit_with_stdin_open()
    }

    /// Waits for the process to exit by itself, stdin left as it is.
    fn exit_with_stdin_open(mut self) -> Finished {
        let limit = Duration::from_secs(60);
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("poll canary-wait") {
                break status.code().unwrap_or(-1);
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "canary-wait still running after {limit:?}; stderr:\n{}",
                    self.stderr_now()
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let elapsed = self.started.elapsed();
        let mut records = Vec::new();
        loop {
            match self.records.recv_timeout(PROMPTLY) {
                Ok(line) => records.push(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}")),
                ),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout not closed after exit"),
            }
        }
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("stderr reader");
        }
        let stderr = self.stderr_now();
        assert!(
            !stderr.contains("panicked"),
            "canary-wait panicked:\n{stderr}"
        );
        Finished {
            code,
            records,
            stderr,
            elapsed,
        }
    }
}

/// Runs to completion with `stdin` as input.
fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Finished {
    let mut running = Running::start(args, env);
    running.send(stdin);
    running.finish()
}

fn fleet(specs: Vec<TenantSpec>) -> Fleet {
    Fleet::start(specs).expect("start the fake fleet")
}

fn tenant(name: &str, sha: &str) -> TenantSpec {
    TenantSpec::healthy(name).with_sha(sha)
}

/// Waits until `condition` holds; fails naming `what` if it does not promptly.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let until = Instant::now() + PROMPTLY;
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn names(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["name"].as_str().expect("record has a name"))
        .collect()
}

/// The one stderr line that starts with `prefix` (after the tool's name).
fn line_starting<'a>(stderr: &'a str, prefix: &str) -> &'a str {
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
fn assert_tokens_hidden(fleet: &Fleet, stderr: &str) {
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

fn read_file(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn tenants_are_emitted_as_they_become_ready_in_order_of_readiness() {
    let fleet = fleet(vec![
        tenant("canary-a", OLD),
        tenant("canary-b", OLD),
        tenant("canary-c", OLD),
    ]);
    // Each input record carries fields canary-wait does not know; they, the
    // token and the headers must come out untouched.
    let inputs: Vec<Value> = (0..3)
        .map(|i| {
            let mut record: Value = serde_json::from_str(&fleet.tenant_line(i)).unwrap();
            record["headers"] = json!({"X-Trace": format!("trace-{i}")});
            record["team"] = json!("platform");
            record["shard"] = json!({"index": i, "of": 3, "weights": [1.5, -2, null]});
            record
        })
        .collect();
    let mut wait = Running::start(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "60s"],
        &[],
    );
    for record in &inputs {
        wait.send(&format!("{record}\n"));
    }
    wait.close_stdin();

    // Every tenant is polled repeatedly while on the old build, and none is
    // passed through for it.
    eventually("three polls of every tenant", || {
        (0..3).all(|i| fleet.requests(i) >= 3)
    });
    wait.wait_for_stderr("ready 0/3 — waiting: canary-a (reports 1a2b3c4), canary-b (reports 1a2b3c4), canary-c (reports 1a2b3c4)");
    wait.assert_no_record_yet();

    for (step, i) in [2, 0, 1].into_iter().enumerate() {
        fleet.set_sha(i, NEW);
        assert_eq!(wait.next_record(), inputs[i], "step {step}");
        if step < 2 {
            // Passed through while the others still wait: the tool is still running.
            assert!(wait.is_running(), "exited before every tenant was ready");
        }
    }
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.records.is_empty(), "{:?}", done.records);
    line_starting(&done.stderr, "all 3 tenant(s) report 4c1d56e (after ");
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn a_tenant_arriving_late_on_stdin_is_polled_and_emitted_at_once() {
    let fleet = fleet(vec![tenant("early", NEW), tenant("late", NEW)]);
    let mut wait = Running::start(&["--sha", NEW7, "--interval", "100ms"], &[]);
    wait.send(&(fleet.tenant_line(0) + "\n"));
    // Emitted while stdin is still open: the tool does not wait for EOF.
    assert_eq!(names(&[wait.next_record()]), ["early"]);
    assert!(wait.is_running(), "exited while stdin was open");
    assert_eq!(fleet.requests(1), 0, "polled a tenant it was not given");
    wait.wait_for_stderr("ready 1/1 — waiting for more tenants on stdin");

    wait.send(&(fleet.tenant_line(1) + "\n"));
    assert_eq!(names(&[wait.next_record()]), ["late"]);
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.records.is_empty());
    line_starting(&done.stderr, "all 2 tenant(s) report");
}

#[test]
fn tenants_are_polled_concurrently() {
    // 40 tenants that each take 500 ms to answer: one at a time that is at
    // least 20 s; the bounded pool (32 threads) needs about two rounds.
    let latency = Duration::from_millis(500);
    let count = 40;
    let fleet = fleet(
        (0..count)
            .map(|i| tenant(&format!("canary-{i:02}"), NEW).with_latency(latency))
            .collect(),
    );
    let done = run(
        &[
            "--sha",
            NEW7,
            "--interval",
            "100ms",
            "--request-timeout",
            "10s",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.records.len(), count);
    let sequential = latency * count as u32;
    assert!(
        done.elapsed < sequential / 2,
        "took {:?}; one at a time takes {sequential:?}",
        done.elapsed
    );
    assert!(
        (0..count).all(|i| fleet.requests(i) == 1),
        "each polled once"
    );
}

#[test]
fn timeout_names_the_stuck_tenant_and_the_sha_it_reports() {
    let fleet = fleet(vec![tenant("canary-ok", NEW), tenant("canary-stuck", OLD)]);
    let dir = TempDir::new("canary-wait-summary").unwrap();
    let summary = dir.join("summary.md");
    let timeout = Duration::from_secs(2);
    let interval = Duration::from_millis(200);
    let done = run(
        &["--sha", NEW7, "--interval", "200ms", "--timeout", "2s"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(names(&done.records), ["canary-ok"]);
    assert!(
        done.elapsed >= timeout && done.elapsed < timeout + SLACK,
        "took {:?} for a {timeout:?} timeout",
        done.elapsed
    );
    let message = line_starting(&done.stderr, "timed out after 2s: ");
    assert!(
        message
            .ends_with("1 of 2 tenant(s) never reported 4c1d56e: canary-stuck (reports 1a2b3c4)"),
        "{message}"
    );
    let annotation = done
        .stderr
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error:: annotation:\n{}", done.stderr));
    assert!(
        annotation.contains("canary-stuck (reports 1a2b3c4)"),
        "{annotation}"
    );
    let summary = read_file(&summary);
    assert!(summary.contains("timed out after 2s"), "{summary}");
    assert!(summary.contains("1/2 ready"), "{summary}");
    assert!(
        summary.contains("canary-stuck (reports 1a2b3c4)"),
        "{summary}"
    );

    // Each token is masked before anything is said about its tenant; then
    // progress comes at most once per interval.
    let lines: Vec<&str> = done.stderr.lines().collect();
    for (i, name) in ["canary-ok", "canary-stuck"].into_iter().enumerate() {
        let mask = format!("::add-mask::{}", fleet.token(i));
        let masked = lines.iter().position(|l| *l == mask);
        let named = lines.iter().position(|l| l.contains(name));
        assert!(
            masked.is_some() && named.is_none_or(|named| masked < Some(named)),
            "{name} is not masked first:\n{}",
            done.stderr
        );
    }
    assert_tokens_hidden(&fleet, &done.stderr);
    let progress = done
        .stderr
        .lines()
        .filter(|l| l.starts_with("canary-wait: ready "))
        .count();
    let most = (done.elapsed.as_millis() / interval.as_millis()) as usize + 1;
    assert!(
        (1..=most).contains(&progress),
        "{progress} progress lines in {:?}:\n{}",
        done.elapsed,
        done.stderr
    );
}

#[test]
fn proceed_on_timeout_passes_everyone_through_with_a_warning() {
    let fleet = fleet(vec![
        tenant("canary-ok", NEW),
        tenant("canary-stuck", OLD),
        tenant("canary-down", NEW).with_fault(Fault::Down),
    ]);
    let dir = TempDir::new("canary-wait-summary").unwrap();
    let summary = dir.join("summary.md");
    let done = run(
        &[
            "--sha",
            NEW7,
            "--interval",
            "100ms",
            "--timeout",
            "2s",
            "--proceed-on-timeout",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    // The ready tenant first, then the rest in input order.
    assert_eq!(
        names(&done.records),
        ["canary-ok", "canary-stuck", "canary-down"]
    );
    let warning = line_starting(
        &done.stderr,
        "warning: timed out after 2s, proceeding anyway",
    );
    assert!(
        warning.contains("canary-stuck (reports 1a2b3c4), canary-down (connection refused)"),
        "{warning}"
    );
    assert!(
        done.stderr.lines().any(|l| l.starts_with("::warning")),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("::error"), "{}", done.stderr);
    assert!(read_file(&summary).contains("proceeding anyway"));
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn prefixes_match_both_ways_ignoring_case() {
    let fleet = fleet(vec![
        tenant("reports-long", NEW),
        tenant("reports-short", NEW7),
    ]);
    for sha in [NEW7.to_uppercase(), NEW.to_uppercase()] {
        let done = run(
            &["--sha", &sha, "--interval", "100ms", "--timeout", "30s"],
            &[],
            &fleet.tenant_lines(),
        );
        assert_eq!(done.code, 0, "--sha {sha}: {}", done.stderr);
        let mut got = names(&done.records);
        got.sort();
        assert_eq!(got, ["reports-long", "reports-short"], "--sha {sha}");
    }
}

#[test]
fn custom_path_and_field_are_what_is_read() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let done = run(
        &[
            "--sha",
            NEW7,
            "--path",
            "/buildinfo",
            "--field",
            "/git_sha",
            "--interval",
            "100ms",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(names(&done.records), ["canary"]);

    // The same field on the default path (/health) is not there.
    let done = run(
        &[
            "--sha",
            NEW7,
            "--field",
            "/git_sha",
            "--interval",
            "100ms",
            "--timeout",
            "2s",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(done.records.is_empty());
    let message = line_starting(&done.stderr, "timed out after 2s");
    assert!(
        message.contains(&format!(
            r#"canary (no /git_sha in {{"sha":"{NEW}","status":"ok"}})"#
        )) || message.contains(&format!(
            r#"canary (no /git_sha in {{"status":"ok","sha":"{NEW}"}})"#
        )),
        "{message}"
    );
}

#[test]
fn a_tenant_down_at_first_is_emitted_once_it_comes_up() {
    let fleet = fleet(vec![
        tenant("canary-up", NEW),
        tenant("canary-late", NEW).with_fault(Fault::Down),
    ]);
    let mut wait = Running::start(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "60s"],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    assert_eq!(names(&[wait.next_record()]), ["canary-up"]);
    wait.wait_for_stderr("ready 1/2 — waiting: canary-late (connection refused)");
    assert!(wait.is_running());
    wait.assert_no_record_yet();

    fleet.set_fault(1, Fault::Ok);
    assert_eq!(names(&[wait.next_record()]), ["canary-late"]);
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.records.is_empty());
}

#[test]
fn polling_errors_keep_tenants_waiting_and_are_shown() {
    let fleet = fleet(vec![
        tenant("t-500", NEW).with_fault(Fault::Status500("/health".into())),
        tenant("t-text", NEW).with_fault(Fault::NotJson),
        tenant("t-html", NEW).with_fault(Fault::HtmlError),
        tenant("t-slow", NEW).with_fault(Fault::Slow(Duration::from_secs(5))),
    ]);
    let done = run(
        &[
            "--sha",
            NEW7,
            "--interval",
            "200ms",
            "--request-timeout",
            "300ms",
            "--timeout",
            "2s",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(done.records.is_empty());
    assert!(
        done.elapsed < Duration::from_secs(2) + SLACK,
        "{:?}",
        done.elapsed
    );
    let message = line_starting(&done.stderr, "timed out after 2s: 4 of 4 tenant(s)");
    for expected in [
        r#"t-500 (HTTP 500: {"error":"internal"})"#,
        "t-text (not JSON: OK [not json] subsystems workspaces id)",
        "t-html (HTTP 502: <html><head><title>502 Bad Gateway</title>",
        "t-slow (no answer within 300ms)",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn auth_sends_token_and_headers_only_when_asked() {
    let fleet = fleet(vec![TenantSpec::healthy("saas")
        .with_sha(NEW)
        .with_fault(Fault::OrgHeader("org-7".into()))]);
    let lines = fleet.tenant_lines();
    assert!(lines.contains("X-Molecule-Org-Id"), "{lines}");
    let buildinfo = ["--path", "/buildinfo", "--field", "/git_sha"];
    let common = ["--sha", NEW7, "--interval", "100ms", "--timeout", "2s"];

    // Without --auth the org header is not sent: the tenant answers 404.
    let done = run(&[&common[..], &buildinfo].concat(), &[], &lines);
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        line_starting(&done.stderr, "timed out").ends_with("saas (HTTP 404)"),
        "{}",
        done.stderr
    );

    let done = run(
        &[&common[..], &buildinfo, &["--auth"]].concat(),
        &[],
        &lines,
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(names(&done.records), ["saas"]);
    assert_tokens_hidden(&fleet, &done.stderr);

    // The bearer token too: an admin route answers 401 without it (see
    // admin_routes_refuse_polls_without_the_bearer) and serves the poll with
    // it; there is no sha there, so the run times out.
    let liveness = ["--path", "/admin/liveness"];
    let done = run(&[&common[..], &liveness, &["--auth"]].concat(), &[], &lines);
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.stderr.contains(r#"saas (no /sha in {"subsystems":"#),
        "the bearer was accepted:\n{}",
        done.stderr
    );
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn admin_routes_refuse_polls_without_the_bearer() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let args = [
        "--sha",
        NEW7,
        "--path",
        "/admin/liveness",
        "--interval",
        "100ms",
        "--timeout",
        "2s",
    ];
    let done = run(&args, &[], &fleet.tenant_lines());
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.stderr
            .contains(r#"canary (HTTP 401: {"error":"admin auth required"})"#),
        "{}",
        done.stderr
    );
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn path_prefixed_tenants_keep_their_prefix() {
    let fleet = Fleet::start_path_prefixed(vec![tenant("p0", OLD), tenant("p1", NEW)])
        .expect("start the fake fleet");
    assert!(fleet.url(1).ends_with("/t/1"), "{}", fleet.url(1));
    let done = run(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "2s"],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(names(&done.records), ["p1"]);
    assert!(
        line_starting(&done.stderr, "timed out").ends_with("p0 (reports 1a2b3c4)"),
        "{}",
        done.stderr
    );
}

#[test]
fn malformed_input_names_the_line_and_exits_2() {
    let fleet = fleet(vec![tenant("canary", OLD), tenant("other", OLD)]);
    let good = fleet.tenant_line(0);
    let token = fleet.token(0);
    let cases = [
        (format!("{good}\n\nnot json\n"), "stdin:3: not valid JSON"),
        (
            r#"{"name":"x","token":"t"}"#.to_string() + "\n",
            r#"stdin:1: missing field "url""#,
        ),
        (
            "[1,2]\n".to_string(),
            "stdin:1: expected a JSON object, found an array",
        ),
        (
            format!(r#"{{"url":"http://canary.example.com","token":"{token}"}}"#) + "\n",
            "stdin:1: ",
        ),
        (
            format!(r#"{{"url":"not a url","token":"{token}"}}"#) + "\n",
            "stdin:1: ",
        ),
        (format!("{good}\n{good}\n"), "stdin:2: duplicate tenant URL"),
        (
            format!(r#"{{"url":"{}","token":""}}"#, fleet.url(1)) + "\n",
            "stdin:1: ",
        ),
        (
            format!(r#"{{"url":"{}","token":"{token}","#, fleet.url(1)) + "\n",
            "stdin:1: not valid JSON",
        ),
    ];
    for (input, expected) in cases {
        let done = run(&["--sha", NEW7, "--interval", "100ms"], &[], &input);
        assert_eq!(done.code, 2, "{input:?}: {}", done.stderr);
        assert!(done.records.is_empty(), "{input:?}");
        let first = done.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("canary-wait: {expected}")),
            "{input:?}: {}",
            done.stderr
        );
        assert_eq!(done.stderr.lines().count(), 1, "one line: {}", done.stderr);
        assert_tokens_hidden(&fleet, &done.stderr);
    }
    // Plain http to a non-loopback host is allowed with --insecure. 0.0.0.0
    // is not a loopback address, yet connecting to it stays on this machine
    // (and is refused), so the run times out instead.
    let insecure = r#"{"name":"far","url":"http://0.0.0.0:1","token":"t"}"#.to_string() + "\n";
    let done = run(
        &[
            "--sha",
            NEW7,
            "--interval",
            "100ms",
            "--timeout",
            "2s",
            "--insecure",
        ],
        &[],
        &insecure,
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    line_starting(
        &done.stderr,
        "timed out after 2s: 1 of 1 tenant(s) never reported 4c1d56e: far (connection refused)",
    );
}

#[test]
fn bad_flags_are_usage_errors_and_nothing_is_polled() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let forty_one = "a".repeat(41);
    let cases: [&[&str]; 10] = [
        &[],
        &["--sha", ""],
        &["--sha", "latest"],
        &["--sha", "4c1d56"],
        &["--sha", "4c1d56g"],
        &["--sha", &forty_one],
        &["--sha", "staging-4c1d56e"],
        &["--sha", NEW7, "--timeout", "0s"],
        &["--sha", NEW7, "--interval", "soon"],
        &["--sha", NEW7, "--field", "sha"],
    ];
    for args in cases {
        let done = run(args, &[], &fleet.tenant_lines());
        assert_eq!(done.code, 2, "{args:?}: {}", done.stderr);
        assert!(done.records.is_empty(), "{args:?}");
        assert!(done.stderr.contains("--"), "{args:?}: {}", done.stderr);
    }
    assert_eq!(fleet.requests(0), 0, "a usage error polled a tenant");
}

#[test]
fn zero_tenants_is_never_success() {
    for (input, args) in [
        ("", &["--sha", NEW7][..]),
        ("\n\n", &["--sha", NEW7]),
        ("", &["--sha", NEW7, "--proceed-on-timeout"]),
    ] {
        let done = run(args, &[], input);
        assert_eq!(done.code, 2, "{input:?} {args:?}: {}", done.stderr);
        assert!(done.records.is_empty());
        line_starting(
            &done.stderr,
            "no tenants on stdin: there is nothing to wait for",
        );
    }
    // stdin left open with nothing on it: the timeout ends the wait, and
    // still nothing was checked, --proceed-on-timeout or not.
    let wait = Running::start(
        &[
            "--sha",
            NEW7,
            "--interval",
            "100ms",
            "--timeout",
            "1s",
            "--proceed-on-timeout",
        ],
        &[],
    );
    let done = wait.exit_with_stdin_open();
    assert_eq!(done.code, 2, "{}", done.stderr);
    assert!(
        done.elapsed >= Duration::from_secs(1) && done.elapsed < Duration::from_secs(1) + SLACK,
        "{:?}",
        done.elapsed
    );
    line_starting(&done.stderr, "no tenants on stdin within 1s");
}

#[test]
fn stdin_still_open_at_the_timeout_is_a_timeout() {
    // Every tenant read so far is ready, but the list never ended: more
    // tenants may be missing, so this does not pass.
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let mut wait = Running::start(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "2s"],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    assert_eq!(names(&[wait.next_record()]), ["canary"]);
    let done = wait.exit_with_stdin_open();
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.elapsed < Duration::from_secs(2) + SLACK,
        "{:?}",
        done.elapsed
    );
    assert_eq!(
        line_starting(&done.stderr, "timed out"),
        "canary-wait: timed out after 2s: all 1 tenant(s) read so far report 4c1d56e; stdin was still open"
    );
}

#[test]
fn a_closed_stdout_is_a_quiet_stop() {
    let fleet = fleet(vec![tenant("first", NEW), tenant("second", OLD)]);
    let home = TempDir::new("canary-wait").unwrap();
    let mut child = testkit::hermetic(BIN, home.path())
        .args(["--sha", NEW7, "--interval", "100ms", "--timeout", "60s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start canary-wait");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fleet.tenant_lines().as_bytes())
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains(r#""name":"first""#), "{first}");
    drop(stdout); // like `canary-wait | head -1`

    fleet.set_sha(1, NEW);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PROMPTLY {
            let _ = child.kill();
            panic!("still running after its stdout closed");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");
}

#[test]
fn help_documents_every_flag_the_environment_and_exit_codes() {
    let home = TempDir::new("canary-wait").unwrap();
    let out = testkit::Output::of(testkit::hermetic(BIN, home.path()).arg("--help"), None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let help = out.stdout;
    for arg in canary_wait::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(help.contains(&format!("--{long}")), "--{long} undocumented");
        }
    }
    for needle in [
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "NO_COLOR",
        "HTTPS_PROXY",
        "EXIT STATUS",
        "\n  0  ",
        "\n  1  ",
        "\n  2  ",
        "[default: 7m]",
        "[default: 10s]",
        "[default: /health]",
        "[default: /sha]",
    ] {
        assert!(help.contains(needle), "{needle:?} not in --help:\n{help}");
    }
}
