//! Where tenants come from (streamed stdin, bad lines, nothing at all), and
//! a closed stdout.

use testkit::process::{Finished, Running};

use crate::support::*;

#[test]
fn zero_tenants_or_a_bad_tenant_line_is_exit_2() {
    let empty = smoke(&[], "");
    assert_refused(&empty, |e| {
        e.starts_with("canary-smoke: no tenants on stdin: ")
    });

    let bad = smoke(
        &[],
        "{\"url\":\"http://127.0.0.1:9\",\"token\":\"tok-first-0001\"}\n{\"token\":\"t\"}\n",
    );
    assert_refused(&bad, |e| {
        e.ends_with("canary-smoke: stdin:2: missing field \"url\"\n")
    });
    let plain = smoke(
        &[],
        "{\"url\":\"http://canary.example.com\",\"token\":\"tok-plain-0001\"}\n",
    );
    assert_refused(&plain, |e| {
        e.contains("stdin:1: ") && e.contains("--insecure")
    });
    let with_password = smoke(
        &[],
        "{\"url\":\"http://user:pa55word-x@127.0.0.1:9\",\"token\":\"tok-pw-0001\"}\n",
    );
    assert_refused(&with_password, |e| {
        e.contains("stdin:1: ") && !e.contains("pa55word-x")
    });
    let bad_flag = smoke(&["--jobs", "0"], "");
    assert_code(&bad_flag, 2);
}

#[test]
fn an_empty_pipe_is_an_upstream_failure_not_a_reason_to_read_the_variables() {
    // As after `canary-wait --sha BAD | canary-smoke`: canary-wait refused
    // its sha and wrote nothing; the variables would skip the wait.
    let fleet = fleet(vec![TenantSpec::healthy("a")]);
    let out = sandbox().run(
        &[],
        &[
            ("CANARY_TENANT_URLS", &fleet.url(0)),
            ("CANARY_ADMIN_TOKENS", &fleet.token(0)),
        ],
        Some(""),
    );
    assert_code(&out, 2);
    assert_stderr_has(&out.stderr, "did the command before canary-smoke fail?");
    assert!(!out.stderr.contains("--from-env"), "{}", out.stderr);
    assert_eq!(fleet.total_requests(), 0);
}

#[test]
fn tenants_stream_in_and_results_stream_out() {
    let fleet = fleet(vec![
        TenantSpec::healthy("first"),
        TenantSpec::healthy("second"),
    ]);
    let mut smoke = Running::start(sandbox().cmd(&[]));
    smoke.send(&(fleet.tenant_line(0) + "\n"));
    // stdin stays open: the first result must come anyway.
    let first: CheckRecord = serde_json::from_str(&smoke.next_line()).unwrap();
    assert_eq!(first.tenant, "first");
    assert_eq!(fleet.requests(1), 0);

    smoke.send(&(fleet.tenant_line(1) + "\n"));
    let done = smoke.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.stdout.len(), 11);
    assert!(done
        .stdout
        .iter()
        .any(|l| l.contains("\"tenant\":\"second\"")));
}

#[test]
fn a_silent_pipe_is_never_a_silent_hang() {
    let mut cmd = sandbox().cmd(&[]);
    cmd.env("CANARY_TENANT_URLS", "http://127.0.0.1:9");
    let smoke = Running::start(cmd);
    // Nothing is written; stderr must say what it waits for.
    let line = smoke.wait_for_stderr("canary-smoke: waiting for tenant records on stdin");
    assert!(
        line.contains("CANARY_TENANT_URLS is not read while stdin is a pipe"),
        "{line}"
    );
    // Behind canary-wait, reading the variables would skip the wait.
    assert!(!line.contains("--from-env"), "{line}");
    let done = smoke.finish();
    assert_eq!(
        done.code, 2,
        "an empty pipe checks nothing: {}",
        done.stderr
    );
}

#[test]
fn a_closed_stdout_stops_and_says_what_was_left_unchecked() {
    // More records than a pipe buffers (64 KiB), so the run cannot finish
    // before it meets the closed pipe.
    let fleet = fleet(
        (0..60)
            .map(|i| TenantSpec::healthy(&format!("t{i}")))
            .collect(),
    );
    // `tenant-list | canary-smoke | head -n1`
    let mut smoke = Running::start_head(sandbox().cmd(&["--jobs", "2"]), 1);
    smoke.send(&fleet.tenant_lines());
    let done = smoke.finish();
    assert_eq!(done.stdout.len(), 1);
    done.assert_stopped_by_closed_stdout("canary-smoke", "left unchecked");
    assert!(fleet.total_requests() < 60 * 6, "it stopped early");
}

#[test]
fn a_closed_stdout_ends_the_run_while_stdin_stays_open() {
    // `slow-upstream | canary-smoke | true`: the upstream may send more
    // later (its pipe stays open), but nobody reads canary-smoke's results
    // any more, so it stops at once instead of waiting for the next line.
    let done = one_tenant_then_silence(Running::start_stdout_closed(sandbox().cmd(&[])));
    // The one tenant read was checked; what may still come was not read.
    done.assert_stopped_by_closed_stdout(
        "canary-smoke",
        "0 tenant(s) left unchecked, and the rest of the input was not read",
    );
}

/// One healthy tenant sent to `smoke`, whose stdin then stays open and
/// silent: something else (a deadline, a closed stdout) must end the run,
/// and promptly.
fn one_tenant_then_silence(mut smoke: Running) -> Finished {
    let fleet = fleet(vec![TenantSpec::healthy("only")]);
    smoke.send(&(fleet.tenant_line(0) + "\n"));
    smoke.exits_promptly_with_stdin_open()
}

#[test]
fn the_timeout_deadline_ends_a_run_whose_stdin_stays_open() {
    // stdin stays open: only the deadline can end the run.
    let done = one_tenant_then_silence(Running::start(sandbox().cmd(&["--timeout", "500ms"])));
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_stderr_has(
        &done.stderr,
        "canary-smoke: the --timeout deadline passed while waiting for tenant records",
    );
    assert_eq!(done.stdout.len(), 6, "the tenant read was checked");
}
