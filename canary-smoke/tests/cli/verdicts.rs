//! The verdict of every check against each fault; exit codes, timeouts,
//! retries, body limits.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_healthy_tenant_passes_every_check() {
    let fleet = fleet(vec![TenantSpec::healthy("canary-a")]);
    let out = smoke(&[], &fleet.tenant_lines());
    assert_code(&out, 0);
    assert_eq!(
        pairs(&out, true),
        every_check_of("canary-a", &DEFAULT_CHECKS)
    );
    let records = records(&out);
    let names: Vec<&str> = records.iter().map(|r| r.check.as_str()).collect();
    assert_eq!(names, DEFAULT_CHECKS, "records keep suite order");
    let r = record(&records, "canary-a", "workspaces");
    assert_eq!(r.status, Some(200));
    assert_eq!(r.url, fleet.url(0));
    assert_eq!(r.expected, "status 200, a JSON array");
    assert_eq!((&r.reason, &r.method, &r.request), (&None, &None, &None));
    assert_stderr_has(&out.stderr, "PASS canary-a: 6/6 checks");
    assert_stderr_has(
        &out.stderr,
        "=== CANARY SMOKE RESULTS ===\n  PASS: 6\n  FAIL: 0\n",
    );
    // The probe committed by the suite is this tenant's own.
    let probe = fleet.memories(0);
    assert_eq!(probe.len(), 1);
    assert!(probe[0].starts_with("canary-smoke-"), "{probe:?}");
}

#[test]
fn each_fault_fails_exactly_its_checks_and_the_fleet_exits_1() {
    let specs = vec![
        TenantSpec::healthy("ok"),
        TenantSpec::healthy("status500").with_fault(Fault::Status500("/workspaces".into())),
        TenantSpec::healthy("not-json").with_fault(Fault::NotJson),
        TenantSpec::healthy("html-error").with_fault(Fault::HtmlError),
        TenantSpec::healthy("fail-open").with_fault(Fault::FailOpen),
        TenantSpec::healthy("memory-lost").with_fault(Fault::MemoryLost),
        TenantSpec::healthy("down").with_fault(Fault::Down),
        TenantSpec::healthy("org-ok").with_fault(Fault::OrgHeader("org-7".into())),
    ];
    let fleet = fleet(specs);
    let out = smoke(&["--jobs", "3"], &fleet.tenant_lines());
    assert_code(&out, 1);

    let mut expected = BTreeSet::new();
    expected.insert(("status500".to_string(), "workspaces".to_string()));
    expected.extend(every_check_of("not-json", &DEFAULT_CHECKS));
    expected.extend(every_check_of("html-error", &DEFAULT_CHECKS));
    expected.insert(("fail-open".to_string(), "auth-required".to_string()));
    expected.insert(("memory-lost".to_string(), "memory-search".to_string()));
    expected.extend(every_check_of("down", &DEFAULT_CHECKS));
    assert_eq!(failing(&out), expected);
    let records = records(&out);
    assert_eq!(records.len(), 8 * 6, "one record per tenant and check");

    // A body that merely contains `[` is not an array.
    assert_eq!(
        reason(&records, "not-json", "workspaces"),
        "the body is not JSON"
    );
    assert_eq!(
        reason(&records, "not-json", "events"),
        "the body is not JSON"
    );
    assert_eq!(
        reason(&records, "html-error", "workspaces"),
        "status 502, expected 200"
    );
    let status500 = record(&records, "status500", "workspaces");
    assert_eq!(
        status500.reason.as_deref(),
        Some("status 500, expected 200")
    );
    // A failing record says what was sent, in full.
    assert_eq!(status500.method.as_deref(), Some("GET"));
    assert_eq!(
        status500.request.as_deref(),
        Some(format!("{}/workspaces", fleet.url(1)).as_str())
    );
    assert_eq!(
        reason(&records, "fail-open", "auth-required"),
        "status 200, expected 401"
    );
    assert!(reason(&records, "memory-lost", "memory-search")
        .starts_with("the response does not contain [{\"content\":\"canary-smoke-"));
    assert_eq!(reason(&records, "down", "liveness"), "connection refused");
    assert_eq!(record(&records, "down", "liveness").status, None);

    assert_stderr_has(&out.stderr, "FAIL down: 0/6 checks passed");
    assert_stderr_has(
        &out.stderr,
        &format!(
            "  FAIL liveness: connection refused (GET {}/admin/liveness)\n",
            fleet.url(6)
        ),
    );
    assert_stderr_has(&out.stderr, "PASS org-ok: 6/6 checks");
    assert_stderr_has(
        &out.stderr,
        "  PASS: 27\n  FAIL: 21\ntenants: 2 passed, 6 failed",
    );
}

#[test]
fn a_slow_tenant_fails_within_about_the_request_timeout_without_holding_up_others() {
    let fleet = fleet(vec![
        TenantSpec::healthy("slow").with_fault(Fault::Slow(Duration::from_secs(20))),
        TenantSpec::healthy("quick"),
    ]);
    let started = Instant::now();
    let out = smoke(&["--request-timeout", "500ms"], &fleet.tenant_lines());
    let took = started.elapsed();
    assert_code(&out, 1);
    assert!(
        took < Duration::from_secs(8),
        "took {took:?} with --request-timeout 500ms"
    );
    assert_eq!(failing(&out), every_check_of("slow", &DEFAULT_CHECKS));
    let records = records(&out);
    let first = record(&records, "slow", "liveness");
    assert!(
        first
            .reason
            .as_deref()
            .unwrap()
            .starts_with("timed out after 500ms"),
        "{first:?}"
    );
    assert!(first.ms >= 450, "{first:?}");
    // The search waits for the commit, which got no answer: it is not sent.
    let search = reason(&records, "slow", "memory-search");
    assert!(
        search.starts_with("not run: ") && search.ends_with(" got no answer"),
        "{search}"
    );
    assert!(
        fleet.requests(0) <= 5,
        "nothing sent after a request got no answer"
    );
}

#[test]
fn the_whole_run_timeout_fails_what_it_cut_short() {
    let fleet = fleet(vec![
        TenantSpec::healthy("slow").with_fault(Fault::Slow(Duration::from_secs(20)))
    ]);
    let started = Instant::now();
    let out = smoke(&["--timeout", "500ms"], &fleet.tenant_lines());
    assert_code(&out, 1);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(failing(&out), every_check_of("slow", &DEFAULT_CHECKS));
}

/// A one-check suite against a stub that closes the first connection
/// without a word and answers every later one.
fn dropping_stub() -> Stub {
    Stub::start(Box::new(|n, _| {
        if n == 0 {
            Reply::Drop
        } else {
            Reply::Respond(200, vec![], "{}".into())
        }
    }))
}

#[test]
fn a_dropped_connection_is_retried_only_when_asked() {
    let sandbox = sandbox();
    let suite = suite_file(
        &sandbox,
        r#"{"name":"ping","path":"/ping","expect":{"json":"object"}}"#,
    );

    let stub = dropping_stub();
    let line = stub.tenant_line("flaky", "tok-flaky-0001", "");
    let out = sandbox.run(&["--suite", &suite], &[], Some(&line));
    assert_code(&out, 1);
    assert_eq!(
        reason(&records(&out), "flaky", "ping"),
        "connection closed before the answer was complete"
    );
    assert_eq!(stub.heads().len(), 1, "no retry without --retries");

    let stub = dropping_stub();
    let line = stub.tenant_line("flaky", "tok-flaky-0001", "");
    let out = sandbox.run(&["--suite", &suite, "--retries", "2"], &[], Some(&line));
    assert_code(&out, 0);
    assert_eq!(stub.heads().len(), 2, "the retry is the second request");
    assert!(
        stub.heads()[1].starts_with("GET /ping "),
        "{:?}",
        stub.heads()
    );
}

#[test]
fn answers_of_any_status_are_not_retried() {
    let broken = fleet(vec![
        TenantSpec::healthy("broken").with_fault(Fault::Status500("/events".into()))
    ]);
    let out = smoke(&["--retries", "2"], &broken.tenant_lines());
    assert_code(&out, 1);
    assert_eq!(broken.requests(0), 6, "a 500 is an answer, not retried");
    // One retry is enough to see it (each waits out a real backoff).
    let down = fleet(vec![TenantSpec::healthy("down").with_fault(Fault::Down)]);
    let out = smoke(&["--retries", "1"], &down.tenant_lines());
    assert_eq!(
        reason(&records(&out), "down", "liveness"),
        "connection refused (after 2 attempts)",
        "refused connections are retried"
    );
}

#[test]
fn a_body_over_the_limit_is_too_large_and_the_limit_is_settable() {
    let big = format!("[{}]", vec!["1"; 3000].join(","));
    let body = big.clone();
    let stub = Stub::start(Box::new(move |_, _| {
        Reply::Respond(200, vec![], body.clone())
    }));
    let sandbox = sandbox();
    let line = stub.tenant_line("big", "tok-big-00001", "");
    let suite = suite_file(
        &sandbox,
        r#"{"name":"list","path":"/list","expect":{"json":"array"}}"#,
    );
    let out = sandbox.run(&["--suite", &suite, "--max-body", "4KiB"], &[], Some(&line));
    assert_code(&out, 1);
    let why = reason(&records(&out), "big", "list");
    assert!(
        why.starts_with("the body is too large: over the 4 KiB limit"),
        "{why}"
    );
    let out = sandbox.run(&["--suite", &suite, "--max-body", "8KiB"], &[], Some(&line));
    assert_code(&out, 0);
    // A check's own max_body overrides the flag.
    let suite = suite_file(
        &sandbox,
        r#"{"name":"list","path":"/list","max_body":8192,"expect":{"json":"array"}}"#,
    );
    let out = sandbox.run(&["--suite", &suite, "--max-body", "4KiB"], &[], Some(&line));
    assert_code(&out, 0);
}

#[test]
fn tenant_headers_stay_with_the_tenant_across_redirects() {
    let elsewhere = Stub::start(Box::new(|_, _| Reply::Respond(200, vec![], "{}".into())));
    // Another port is another origin, as another host is.
    let target = format!("{}/landed", elsewhere.url());
    let tenant = Stub::start(Box::new(move |_, head| {
        if head.starts_with("GET /same ") {
            Reply::Respond(
                302,
                vec![("Location".into(), "/here".into())],
                String::new(),
            )
        } else if head.starts_with("GET /here ") {
            Reply::Respond(200, vec![], "{}".into())
        } else {
            Reply::Respond(
                302,
                vec![("Location".into(), target.clone())],
                String::new(),
            )
        }
    }));
    let sandbox = sandbox();
    let suite = suite_file(
        &sandbox,
        "{\"name\":\"same-host\",\"path\":\"/same\",\"expect\":{\"json\":\"object\"}}\n\
         {\"name\":\"other-host\",\"path\":\"/away\",\"expect\":{\"json\":\"object\"}}\n",
    );
    let line = tenant.tenant_line(
        "redirecting",
        "tok-redirect-0001",
        ",\"headers\":{\"X-Api-Key\":\"key-not-for-others\"}",
    );
    let out = sandbox.run(&["--suite", &suite], &[], Some(&line));
    assert_code(&out, 0);
    let heads = tenant.heads();
    let here = heads
        .iter()
        .find(|h| h.starts_with("GET /here "))
        .unwrap()
        .to_ascii_lowercase();
    assert!(here.contains("x-api-key: key-not-for-others"), "{here}");
    assert!(here.contains("bearer tok-redirect-0001"), "{here}");
    assert!(
        !here.contains("content-length"),
        "a GET has no body: {here}"
    );
    let landed = elsewhere.heads();
    assert_eq!(landed.len(), 1, "{landed:?}");
    assert!(landed[0].starts_with("GET /landed "), "{landed:?}");
    let lower = landed[0].to_ascii_lowercase();
    assert!(!lower.contains("x-api-key"), "{}", landed[0]);
    assert!(!lower.contains("authorization"), "{}", landed[0]);
}
