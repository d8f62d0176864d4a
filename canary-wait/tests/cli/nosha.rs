//! A tenant that serves no build sha at all (today's workspace-server:
//! `GET /health` → `{"status":"ok"}`) is told apart from one that serves
//! another sha, at once, and `--if-no-sha` says what it means.

use std::time::Duration;

use crate::support::*;

/// What today's server serves: no sha on /health, no /buildinfo.
const SHA_LESS: &str = "";

#[test]
fn a_tenant_without_a_sha_is_named_at_once_and_fails_by_default() {
    let fleet = fleet(vec![
        tenant("new", NEW),
        tenant("plain", SHA_LESS),
        tenant("old", OLD),
    ]);
    let (mut wait, _home) = start(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "60s"],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    // Named at once, and told apart from a tenant on another build.
    let said = wait.wait_for_stderr("plain serves no build sha");
    assert!(
        said.contains(r#"GET /health answered without one (no /sha in {"status":"ok"})"#)
            && said.contains("--buildinfo")
            && said.contains("--if-no-sha"),
        "{said}"
    );
    let mut early = vec![next(&wait), next(&wait)];
    early.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(names(&early), ["new", "plain"]);
    assert_eq!(early[0].canary_wait, None);
    assert_eq!(early[1].canary_wait, Verdict::not_ready(None, "no-sha"));
    wait.wait_for_stderr("ready 1/3 — waiting: old (reports 1a2b3c4)");
    assert!(
        wait.is_running(),
        "the tenant on the old build is still waited for"
    );
    fleet.set_sha(2, NEW);
    assert_eq!(next(&wait).name, "old");
    let done = wait.finish();
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(
        line_starting(&done.stderr, "1 of 3"),
        "canary-wait: 1 of 3 canaries never reported 4c1d56e: \
         plain (no /sha in {\"status\":\"ok\"})"
    );
    assert!(!done.stderr.contains("timed out"), "{}", done.stderr);
}

#[test]
fn a_fleet_without_shas_fails_in_moments_not_at_the_deadline() {
    let fleet = fleet(vec![tenant("a", SHA_LESS), tenant("b", SHA_LESS)]);
    let done = run(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "1h"],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(done.elapsed < Duration::from_secs(60), "{:?}", done.elapsed);
    let out = records(&done);
    let mut got = names(&out);
    got.sort();
    assert_eq!(got, ["a", "b"]);
    assert!(out.iter().all(|r| r
        .canary_wait
        .as_ref()
        .is_some_and(|v| v.reason == "no-sha" && !v.ready)));
    // Each polled once: there was nothing to wait for.
    assert_eq!((fleet.requests(0), fleet.requests(1)), (1, 1));
}

#[test]
fn if_no_sha_proceed_keeps_polling_then_passes_it_on_unconfirmed() {
    let fleet = fleet(vec![tenant("plain", SHA_LESS), tenant("updates", SHA_LESS)]);
    let (mut wait, _home) = start(
        &[
            "--sha",
            NEW7,
            "--interval",
            "50ms",
            "--timeout",
            "400ms",
            "--if-no-sha",
            "proceed",
        ],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    let said = wait.wait_for_stderr("updates serves no build sha");
    assert!(said.contains("--if-no-sha proceed"), "{said}");
    wait.wait_for_stderr("plain serves no build sha");
    wait.assert_no_line_yet();
    // A tenant whose new build starts to serve the sha is confirmed.
    fleet.set_sha(1, NEW);
    let confirmed = next(&wait);
    assert_eq!(
        (confirmed.name.as_str(), confirmed.canary_wait),
        ("updates", None)
    );
    let done = wait.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let out = records(&done);
    assert_eq!(names(&out), ["plain"]);
    assert_eq!(out[0].canary_wait, Verdict::unconfirmed(None, "no-sha"));
    line_starting(
        &done.stderr,
        "warning: timed out after 400ms, proceeding anyway: 1 of 2 canaries went on unconfirmed",
    );
}

#[test]
fn buildinfo_reads_the_git_sha_of_newer_servers() {
    let fleet = fleet(vec![tenant("newer", NEW)]);
    let done = run(
        &["--sha", NEW7, "--buildinfo", "--interval", "50ms"],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(names(&records(&done)), ["newer"]);
    assert!(
        done.stderr.contains("(GET /buildinfo, field /git_sha)"),
        "{}",
        done.stderr
    );
}
