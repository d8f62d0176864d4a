//! Tenants are passed on, unchanged, the moment each reports the build.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::fleet::{Fault, Fleet};
use testkit::TempDir;

use crate::support::*;

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
    let (mut wait, _home) = start(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "60s"],
        &[],
    );
    for record in &inputs {
        wait.send(&format!("{record}\n"));
    }
    wait.close_stdin();

    // Every tenant is polled repeatedly while on the old build, and none is
    // passed through for it.
    eventually("two polls of every tenant", || {
        (0..3).all(|i| fleet.requests(i) >= 2)
    });
    wait.wait_for_stderr("ready 0/3 — waiting: canary-a (reports 1a2b3c4), canary-b (reports 1a2b3c4), canary-c (reports 1a2b3c4)");
    wait.assert_no_line_yet();

    for (step, i) in [2, 0, 1].into_iter().enumerate() {
        fleet.set_sha(i, NEW);
        let line: Value = serde_json::from_str(&wait.next_line()).unwrap();
        assert_eq!(line, inputs[i], "step {step}");
        if step < 2 {
            // Passed through while the others still wait: the tool is still running.
            assert!(wait.is_running(), "exited before every tenant was ready");
        }
    }
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.is_empty(), "{:?}", done.stdout);
    line_starting(&done.stderr, "all 3 canaries report 4c1d56e (after ");
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn all_ready_is_the_verdict_and_the_step_outputs() {
    let fleet = fleet(vec![tenant("a", NEW), tenant("b", NEW)]);
    let step = run_as_step(
        &["--sha", NEW7, "--interval", "50ms"],
        &fleet.tenant_lines(),
    );
    let (done, summary) = (&step.done, &step.summary);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        step.outputs,
        [("ready", "2"), ("stragglers", "[]")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );
    assert!(
        summary.starts_with("**canary-wait**: all 2 canaries report `4c1d56e` (after "),
        "{summary}"
    );
    assert!(!done.stderr.contains("::error"), "{}", done.stderr);
}

#[test]
fn tenant_records_on_a_terminal_hide_tokens_unless_asked() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let dir = TempDir::new("canary-wait-terminal").unwrap();
    let input = dir.join("tenants.jsonl");
    std::fs::write(&input, fleet.tenant_lines()).unwrap();
    let token = fleet.token(0);
    for (flag, shown) in [("", "***"), ("--show-tokens", token.as_str())] {
        // `script` gives the tool a terminal on stdout.
        let mut cmd = std::process::Command::new("script");
        let line = format!("{BIN} --sha {NEW7} {flag} < {}", input.display());
        cmd.args(["-qec", &line, "/dev/null"]);
        cmd.env("HOME", dir.path());
        let out = testkit::Output::of(&mut cmd, None);
        assert_eq!(out.code, 0, "{flag}: {}{}", out.stdout, out.stderr);
        let record = out
            .stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no record on the terminal:\n{}", out.stdout));
        assert!(
            record.contains(&format!(r#""token":"{shown}""#)),
            "{flag}: {record}"
        );
        if flag.is_empty() {
            assert!(!out.stdout.contains(&token), "{}", out.stdout);
        }
    }
}

#[test]
fn a_tenant_arriving_late_on_stdin_is_polled_and_emitted_at_once() {
    let fleet = fleet(vec![tenant("early", NEW), tenant("late", NEW)]);
    let (mut wait, _home) = start(&["--sha", NEW7, "--interval", "50ms"], &[]);
    wait.send(&(fleet.tenant_line(0) + "\n"));
    // Emitted while stdin is still open: the tool does not wait for EOF.
    assert_eq!(next(&wait).name, "early");
    assert!(wait.is_running(), "exited while stdin was open");
    assert_eq!(fleet.requests(1), 0, "polled a tenant it was not given");
    wait.wait_for_stderr("ready 1/1 — waiting for more tenants on stdin");

    wait.send(&(fleet.tenant_line(1) + "\n"));
    assert_eq!(next(&wait).name, "late");
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.is_empty());
    line_starting(&done.stderr, "all 2 canaries report");
}

#[test]
fn tenants_are_polled_concurrently() {
    // 40 tenants that each take 100 ms to answer: one at a time that is at
    // least 4 s; the bounded pool needs about two rounds.
    let latency = Duration::from_millis(100);
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
            "50ms",
            "--request-timeout",
            "10s",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.stdout.len(), count);
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
fn prefixes_match_both_ways_ignoring_case() {
    let fleet = fleet(vec![
        tenant("reports-long", NEW),
        tenant("reports-short", NEW7),
    ]);
    for sha in [NEW7.to_uppercase(), NEW.to_uppercase()] {
        let done = run(
            &["--sha", &sha, "--interval", "50ms", "--timeout", "30s"],
            &[],
            &fleet.tenant_lines(),
        );
        assert_eq!(done.code, 0, "--sha {sha}: {}", done.stderr);
        let records = records(&done);
        let mut got = names(&records);
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
            "50ms",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(names(&records(&done)), ["canary"]);
}

#[test]
fn a_tenant_down_at_first_is_emitted_once_it_comes_up() {
    let fleet = fleet(vec![
        tenant("canary-up", NEW),
        tenant("canary-late", NEW).with_fault(Fault::Down),
    ]);
    let (mut wait, _home) = start(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "60s"],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    assert_eq!(next(&wait).name, "canary-up");
    wait.wait_for_stderr("ready 1/2 — waiting: canary-late (connection refused)");
    assert!(wait.is_running());
    wait.assert_no_line_yet();

    fleet.set_fault(1, Fault::Ok);
    assert_eq!(next(&wait).name, "canary-late");
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.is_empty());
}

#[test]
fn path_prefixed_tenants_keep_their_prefix() {
    let fleet = Fleet::start_path_prefixed(vec![tenant("p0", OLD), tenant("p1", NEW)])
        .expect("start the fake fleet");
    assert!(fleet.url(1).ends_with("/t/1"), "{}", fleet.url(1));
    let (mut wait, _home) = start(&["--sha", NEW7, "--interval", "50ms"], &[]);
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    assert_eq!(next(&wait).name, "p1");
    wait.wait_for_stderr("ready 1/2 — waiting: p0 (reports 1a2b3c4)");
    fleet.set_sha(0, NEW);
    assert_eq!(next(&wait).name, "p0");
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
}
