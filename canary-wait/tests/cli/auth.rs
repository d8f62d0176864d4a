//! `--auth`: the token and tenant headers are sent only when asked, and
//! never shown.

use testkit::fleet::{Fault, TenantSpec};

use crate::support::*;

#[test]
fn auth_sends_token_and_headers_only_when_asked() {
    let fleet = fleet(vec![TenantSpec::healthy("saas")
        .with_sha(NEW)
        .with_fault(Fault::OrgHeader("org-7".into()))]);
    let lines = fleet.tenant_lines();
    assert!(lines.contains("X-Molecule-Org-Id"), "{lines}");
    let buildinfo = ["--path", "/buildinfo", "--field", "/git_sha"];
    let common = ["--sha", NEW7, "--interval", "50ms", "--timeout", "500ms"];

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
    assert_eq!(names(&records(&done)), ["saas"]);
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
        "50ms",
        "--timeout",
        "500ms",
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
