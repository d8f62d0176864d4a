//! The deadline: who never reported the build, what they said instead, and
//! what is written on the way out.

use std::time::Duration;

use testkit::fleet::Fault;

use crate::support::*;

#[test]
fn timeout_names_the_stuck_tenant_and_the_sha_it_reports() {
    let fleet = fleet(vec![tenant("canary-ok", NEW), tenant("canary-stuck", OLD)]);
    let timeout = Duration::from_millis(300);
    let interval = Duration::from_millis(100);
    let step = run_as_step(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "300ms"],
        &fleet.tenant_lines(),
    );
    let (done, summary) = (&step.done, &step.summary);
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(
        step.outputs,
        [("ready", "1"), ("stragglers", r#"["canary-stuck"]"#)]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );
    // The ready tenant as it came, then the straggler marked not ready.
    let out = records(done);
    assert_eq!(names(&out), ["canary-ok", "canary-stuck"]);
    assert_eq!(out[0].canary_wait, None);
    assert_eq!(out[1].canary_wait, Verdict::not_ready(Some(OLD), "timeout"));
    assert_eq!(
        out[1].token,
        fleet.token(1),
        "the token travels down the pipe"
    );
    assert!(
        done.elapsed >= timeout && done.elapsed < timeout + SLACK,
        "took {:?} for a {timeout:?} timeout",
        done.elapsed
    );
    let message = line_starting(&done.stderr, "timed out after 300ms: ");
    assert!(
        message.ends_with("1 of 2 canaries never reported 4c1d56e: canary-stuck (reports 1a2b3c4)"),
        "{message}"
    );
    let annotation = *commands(&done.stderr, "error")
        .first()
        .unwrap_or_else(|| panic!("no ::error:: annotation:\n{}", done.stderr));
    assert!(
        annotation.contains("canary-stuck (reports 1a2b3c4)"),
        "{annotation}"
    );
    // The summary's first line is the verdict.
    let first = summary.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("**canary-wait**: 1 of 2 canaries never reported `4c1d56e`: ")
            && first.contains("stuck")
            && first.contains("reports 1a2b3c4"),
        "{summary}"
    );
    assert!(
        summary.contains("timed out after 300ms; 1/2 ready"),
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
    let step = run_as_step(
        &[
            "--sha",
            NEW7,
            "--interval",
            "100ms",
            "--timeout",
            "300ms",
            "--proceed-on-timeout",
        ],
        &fleet.tenant_lines(),
    );
    let (done, summary) = (&step.done, &step.summary);
    assert_eq!(done.code, 0, "{}", done.stderr);
    // The ready tenant first, then the rest in input order, marked as gone
    // on unconfirmed.
    let out = records(done);
    assert_eq!(names(&out), ["canary-ok", "canary-stuck", "canary-down"]);
    assert_eq!(out[0].canary_wait, None);
    for (record, reported) in out[1..].iter().zip([Some(OLD), None]) {
        assert_eq!(
            record.canary_wait,
            Verdict::unconfirmed(reported, "timeout"),
            "{record:?}"
        );
    }
    let warning = line_starting(
        &done.stderr,
        "warning: timed out after 300ms, proceeding anyway",
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
    assert!(
        summary.starts_with(
            "**canary-wait**: 2 of 3 canaries went on unconfirmed (never reported `4c1d56e`): "
        ),
        "{summary}"
    );
    assert_tokens_hidden(&fleet, &done.stderr);
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
            "100ms",
            "--request-timeout",
            "200ms",
            "--timeout",
            "400ms",
            "--insecure",
        ],
        &[],
        // Plain http to a host that is not loopback needs --insecure. 0.0.0.0
        // is not a loopback address, yet connecting to it stays on this
        // machine (and is refused).
        &(fleet.tenant_lines() + r#"{"name":"far","url":"http://0.0.0.0:1","token":"t"}"#),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    let out = records(&done);
    assert_eq!(out.len(), 5, "every straggler is written, marked");
    assert!(out.iter().all(|r| r
        .canary_wait
        .as_ref()
        .is_some_and(|v| !v.ready && v.reported.is_none())));
    assert!(
        done.elapsed < Duration::from_millis(400) + SLACK,
        "{:?}",
        done.elapsed
    );
    let message = line_starting(&done.stderr, "timed out after 400ms: 5 of 5 canaries");
    for expected in [
        r#"t-500 (HTTP 500: {"error":"internal"})"#,
        "t-text (not JSON: OK [not json] subsystems workspaces id)",
        "t-html (HTTP 502: <html><head><title>502 Bad Gateway</title>",
        "t-slow (timed out after 200ms",
        "far (connection refused)",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    assert_tokens_hidden(&fleet, &done.stderr);
}

#[test]
fn stdin_still_open_at_the_timeout_is_a_timeout() {
    // Every tenant read so far is ready, but the list never ended: more
    // tenants may be missing, so this does not pass.
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let (mut wait, _home) = start(
        &["--sha", NEW7, "--interval", "100ms", "--timeout", "300ms"],
        &[],
    );
    wait.send(&fleet.tenant_lines());
    assert_eq!(next(&wait).name, "canary");
    let done = wait.exit_with_stdin_open();
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.elapsed < Duration::from_millis(300) + SLACK,
        "{:?}",
        done.elapsed
    );
    assert_eq!(
        line_starting(&done.stderr, "timed out"),
        "canary-wait: timed out after 300ms: the 1 canary read so far reports 4c1d56e; stdin was still open"
    );
}
