//! What a person watching sees: a line at once, progress with the time
//! left, a hint when stdin is a terminal, and mistakes named early.

use std::process::Command;
use std::time::Duration;

use testkit::fleet::Fault;
use testkit::TempDir;

use crate::support::*;

#[test]
fn the_first_line_comes_at_once_and_progress_shows_the_time_left() {
    let fleet = fleet(vec![tenant("canary", OLD)]);
    let (mut wait, _home) = start(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "1m"],
        &[],
    );
    // Before any input: it says what it waits for, and for how long.
    let first = wait.wait_for_stderr("canary-wait: waiting up to 1m");
    assert_eq!(
        first,
        "canary-wait: waiting up to 1m for the tenants on stdin to report 4c1d56e \
         (GET /health, field /sha) — 0ms elapsed, 1m left"
    );
    wait.send(&fleet.tenant_lines());
    let line = wait
        .wait_for_stderr("ready 0/1 — waiting: canary (reports 1a2b3c4); still reading stdin — ");
    let times = line.rsplit(" — ").next().unwrap();
    assert!(
        times.contains(" elapsed, ") && times.ends_with("s left") && !times.ends_with(" 1m left"),
        "{line}"
    );
    // Many polls, one state: no line per poll.
    eventually("five polls", || fleet.requests(0) >= 5);
    let progress = wait
        .stderr_now()
        .matches("ready 0/1 — waiting: canary (reports")
        .count();
    assert_eq!(progress, 1, "{}", wait.stderr_now());
}

#[test]
fn a_terminal_on_stdin_is_told_what_to_type() {
    let home = TempDir::new("canary-wait").unwrap();
    // `script` gives the tool a terminal on stdin; its own stdin is at EOF,
    // which reaches the tool as Ctrl-D.
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{BIN} --sha {NEW7} --timeout 5s"),
        "/dev/null",
    ]);
    cmd.env("HOME", home.path());
    let out = testkit::Output::of(&mut cmd, None);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(
            "canary-wait: reading tenant records from the terminal: one JSON object per line"
        ) && text.contains("tenant-list | canary-wait --sha SHA"),
        "{text}"
    );
    assert!(text.contains("no tenants on stdin"), "{text}");

    // From a pipe, no such hint.
    let done = run(&["--sha", NEW7], &[], "");
    assert!(
        !done.stderr.contains("from the terminal"),
        "{}",
        done.stderr
    );
}

#[test]
fn every_tenant_misconfigured_ends_the_run_early() {
    // An admin route polled without --auth: every answer is 401.
    let fleet = fleet(vec![tenant("a", NEW), tenant("b", NEW)]);
    let done = run(
        &[
            "--sha",
            NEW7,
            "--path",
            "/workspaces",
            "--interval",
            "50ms",
            "--misconfigured-after",
            "100ms",
            "--timeout",
            "1h",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(done.elapsed < Duration::from_secs(60), "{:?}", done.elapsed);
    for name in ["a", "b"] {
        let said = line_starting(&done.stderr, &format!("{name} looks misconfigured"));
        assert!(
            said.contains(
                r#"every answer for 100ms was HTTP 401: {"error":"admin auth required"}"#
            ) && said.contains("token, --path (/workspaces) and org header"),
            "{said}"
        );
    }
    let verdict = line_starting(&done.stderr, "2 of 2 canaries never reported 4c1d56e: ");
    assert!(verdict.contains("a (misconfigured: HTTP 401"), "{verdict}");
    assert!(!done.stderr.contains("timed out"), "{}", done.stderr);
    let out = records(&done);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| r
        .canary_wait
        .as_ref()
        .is_some_and(|v| v.reason == "misconfigured")));
}

#[test]
fn a_misconfigured_tenant_fails_at_the_deadline_with_that_reason() {
    // Without --auth the org header is not sent: 404 on every path but /health.
    let fleet = fleet(vec![
        tenant("good", NEW),
        tenant("saas", NEW).with_fault(Fault::OrgHeader("org-7".into())),
        tenant("old", OLD),
    ]);
    let done = run(
        &[
            "--sha",
            NEW7,
            "--buildinfo",
            "--interval",
            "50ms",
            "--misconfigured-after",
            "100ms",
            "--timeout",
            "300ms",
        ],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    line_starting(
        &done.stderr,
        "saas looks misconfigured: every answer for 100ms was HTTP 404",
    );
    let out = records(&done);
    assert_eq!(names(&out), ["good", "saas", "old"]);
    let reasons: Vec<Option<&str>> = out
        .iter()
        .map(|r| r.canary_wait.as_ref().map(|v| v.reason.as_str()))
        .collect();
    assert_eq!(reasons, [None, Some("misconfigured"), Some("timeout")]);
    let verdict = line_starting(&done.stderr, "timed out after 300ms: 2 of 3 canaries");
    assert!(
        verdict.ends_with("saas (misconfigured: HTTP 404), old (reports 1a2b3c4)"),
        "{verdict}"
    );
}
