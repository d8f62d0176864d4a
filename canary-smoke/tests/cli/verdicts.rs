//! The verdict of every check against each fault; exit codes, timeouts, retries.

use super::*;

#[test]
fn a_healthy_tenant_passes_every_check() {
    let fleet = fleet(vec![TenantSpec::healthy("canary-a")]);
    let out = smoke(&[], &fleet.tenant_lines());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        pairs(&out, true),
        every_check_of("canary-a", &DEFAULT_CHECKS)
    );
    assert!(failing(&out).is_empty());
    let records = out.records();
    let r = record(&records, "canary-a", "workspaces");
    assert_eq!(r["status"], 200);
    assert_eq!(r["url"], fleet.url(0).as_str());
    assert_eq!(r["expected"], "status 200, a JSON array");
    assert!(r["ms"].is_u64());
    assert!(r.get("reason").is_none(), "{r}");
    assert!(
        out.stderr.contains("PASS canary-a: 6/6 checks"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("=== CANARY SMOKE RESULTS ===\nPASS: 6\nFAIL: 0\n"),
        "{}",
        out.stderr
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
    assert_eq!(out.code, 1, "{}", out.stderr);

    let mut expected = BTreeSet::new();
    expected.insert(("status500".to_string(), "workspaces".to_string()));
    expected.extend(every_check_of("not-json", &DEFAULT_CHECKS));
    expected.extend(every_check_of("html-error", &DEFAULT_CHECKS));
    expected.insert(("fail-open".to_string(), "auth-required".to_string()));
    expected.insert(("memory-lost".to_string(), "memory-search".to_string()));
    expected.extend(every_check_of("down", &DEFAULT_CHECKS));
    assert_eq!(failing(&out), expected);
    assert_eq!(
        out.records().len(),
        8 * 6,
        "one record per tenant and check"
    );

    let records = out.records();
    let reason = |tenant: &str, check: &str| text(record(&records, tenant, check), "reason");
    // A body that merely contains `[` is not an array.
    assert_eq!(reason("not-json", "workspaces"), "the body is not JSON");
    assert_eq!(reason("not-json", "events"), "the body is not JSON");
    assert_eq!(
        reason("html-error", "workspaces"),
        "status 502, expected 200"
    );
    assert_eq!(
        reason("status500", "workspaces"),
        "status 500, expected 200"
    );
    assert_eq!(
        reason("fail-open", "auth-required"),
        "status 200, expected 401"
    );
    assert!(reason("memory-lost", "memory-search")
        .starts_with("the response does not contain [{\"content\":\"canary-smoke-"));
    assert_eq!(reason("down", "liveness"), "connection refused");
    assert_eq!(record(&records, "down", "liveness")["status"], Value::Null);
    assert_eq!(reason("down", "events"), "not run: liveness got no answer");

    assert!(
        out.stderr.contains("FAIL down: 0/6 checks passed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("  FAIL liveness: connection refused\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("PASS org-ok: 6/6 checks"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("PASS: 27\nFAIL: 21\ntenants: 2 passed, 6 failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_slow_tenant_fails_within_about_the_timeout_without_holding_up_others() {
    let fleet = fleet(vec![
        TenantSpec::healthy("slow").with_fault(Fault::Slow(Duration::from_secs(20))),
        TenantSpec::healthy("quick"),
    ]);
    let started = Instant::now();
    let out = smoke(&["--timeout", "1s"], &fleet.tenant_lines());
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        took < Duration::from_secs(8),
        "took {took:?} with --timeout 1s"
    );
    assert_eq!(failing(&out), every_check_of("slow", &DEFAULT_CHECKS));
    let records = out.records();
    let first = record(&records, "slow", "liveness");
    assert_eq!(first["reason"], "no answer within 1s (--timeout)");
    assert!(first["ms"].as_u64().unwrap() >= 900, "{first}");
    assert_eq!(
        fleet.requests(0),
        1,
        "no further request to an unreachable tenant"
    );
}

#[test]
fn connection_errors_are_retried_only_when_asked_and_only_them() {
    let fleet = fleet(vec![
        TenantSpec::healthy("flaky").with_fault(Fault::Down),
        TenantSpec::healthy("broken").with_fault(Fault::Status500("/events".into())),
    ]);
    let lines = fleet.tenant_lines();
    let out = smoke(&["--retries", "1", "--timeout", "5s"], &lines);
    let records = out.records();
    assert_eq!(
        record(&records, "flaky", "liveness")["reason"],
        "connection refused (after 2 attempts)"
    );
    assert_eq!(fleet.requests(1), 6, "a 500 is an answer, not retried");

    // The tenant comes up while canary-smoke backs off between attempts.
    let home = TempDir::new("smoke").unwrap();
    let mut cmd = command(&home, &["--retries", "4"]);
    let up = thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(100));
            fleet.set_fault(0, Fault::Ok);
        });
        Output::of(&mut cmd, Some(&lines))
    });
    assert!(
        pairs(&up, true).contains(&("flaky".into(), "liveness".into())),
        "{}",
        up.stderr
    );
}
