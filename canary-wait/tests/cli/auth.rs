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
    let admin = crate::support::fleet(vec![tenant("admin", NEW)]);
    let admin_lines = admin.tenant_lines();
    let args = |extra: &[&'static str]| {
        [
            &["--sha", NEW7, "--interval", "50ms", "--timeout", "300ms"][..],
            extra,
        ]
        .concat()
    };
    let buildinfo = args(&["--buildinfo"]);
    let buildinfo_auth = args(&["--buildinfo", "--auth"]);
    let liveness = args(&["--path", "/admin/liveness"]);
    let liveness_auth = args(&["--path", "/admin/liveness", "--auth"]);
    let done = run_together(&[
        (&buildinfo, &lines),
        (&buildinfo_auth, &lines),
        (&liveness, &admin_lines),
        (&liveness_auth, &lines),
    ]);

    // Without --auth the org header is not sent: the tenant answers 404.
    assert_eq!(done[0].code, 1, "{}", done[0].stderr);
    assert!(
        line_starting(&done[0].stderr, "timed out").ends_with("saas (HTTP 404)"),
        "{}",
        done[0].stderr
    );
    // With it, the header goes along.
    assert_eq!(done[1].code, 0, "{}", done[1].stderr);
    assert_eq!(names(&records(&done[1])), ["saas"]);
    // An admin route refuses a poll without the bearer…
    assert_eq!(done[2].code, 1, "{}", done[2].stderr);
    assert!(
        done[2]
            .stderr
            .contains(r#"admin (HTTP 401: {"error":"admin auth required"})"#),
        "{}",
        done[2].stderr
    );
    // … and serves it with the bearer; there is no sha there.
    assert_eq!(done[3].code, 1, "{}", done[3].stderr);
    assert!(
        done[3].stderr.contains(r#"saas serves no build sha: GET /admin/liveness answered without one (no /sha in {"subsystems":"#),
        "the bearer was accepted:\n{}",
        done[3].stderr
    );
    for run in &done {
        assert_tokens_hidden(&fleet, &run.stderr);
        assert_tokens_hidden(&admin, &run.stderr);
    }
}

#[test]
fn verbose_traces_each_poll_and_never_the_token() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let done = run(
        &["--sha", NEW7, "--auth", "-vv", "--interval", "50ms"],
        &[],
        &fleet.tenant_lines(),
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    let traced = format!("canary-wait: GET {}/health -> 200", fleet.url(0));
    assert!(done.stderr.contains(&traced), "{}", done.stderr);
    assert!(
        done.stderr.contains("***"),
        "headers shown at -vv:\n{}",
        done.stderr
    );
    assert_tokens_hidden(&fleet, &done.stderr);

    // RUNNER_DEBUG=1 under GitHub Actions is -v.
    let done = run(
        &["--sha", NEW7, "--interval", "50ms"],
        &[("GITHUB_ACTIONS", "true"), ("RUNNER_DEBUG", "1")],
        &fleet.tenant_lines(),
    );
    assert!(done.stderr.contains(&traced), "{}", done.stderr);
}

#[test]
fn a_token_a_tenant_echoes_back_is_never_printed() {
    let spec = |name: &str, token: &str, status: u16, body: String| {
        let mut spec = TenantSpec::healthy(name).with_fault(Fault::Respond(status, body));
        spec.token = token.to_string();
        spec
    };
    // A `/` makes the JSON-escaped form (`\/`) differ from the raw token.
    let (t1, t2) = ("tok/echo-one-5a1b", "tok/echo-two-9c2d");
    let escaped = |t: &str| t.replace('/', "\\/");
    let fleet = fleet(vec![
        // Reports the token as its sha.
        spec("echo-sha", t1, 200, format!(r#"{{"sha":"{t1}"}}"#)),
        // Echoes it, JSON-escaped, in an error body.
        spec(
            "echo-error",
            t2,
            503,
            format!(r#"{{"error":"bad token {}"}}"#, escaped(t2)),
        ),
    ]);
    let step = run_as_step(
        &[
            "--sha",
            NEW7,
            // Traces show headers and body excerpts: scrubbed too.
            "-vv",
            "--auth",
            "--path",
            "/buildinfo",
            "--interval",
            "50ms",
            "--timeout",
            "300ms",
        ],
        &fleet.tenant_lines(),
    );
    let done = &step.done;
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("/buildinfo -> 503"),
        "traced:\n{}",
        done.stderr
    );
    // What each said is shown, with the token blanked out.
    let message = line_starting(&done.stderr, "timed out after 300ms: 2 of 2");
    assert!(message.contains("echo-sha (reports ***)"), "{message}");
    assert!(
        message.contains(r#"echo-error (HTTP 503: {"error":"bad token ***"})"#),
        "{message}"
    );
    assert!(
        done.stderr.contains("— waiting: echo-sha (reports ***)"),
        "{}",
        done.stderr
    );
    // The records carry each token in its own field, and nowhere else.
    let out = records(done);
    for record in &out {
        let verdict = record.canary_wait.as_ref().expect("a straggler");
        assert_ne!(verdict.reported.as_deref(), Some(t1), "{record:?}");
    }
    let mut stdout = done.stdout.join("\n");
    for token in [t1, t2] {
        stdout = stdout.replace(&format!(r#""token":"{token}""#), r#""token":"T""#);
    }
    let stderr = without_masks(&done.stderr);
    let summary = step.summary.clone() + &step.output;
    for token in [t1, t2] {
        for form in [token.to_string(), escaped(token)] {
            for (name, text) in [
                ("stdout", &stdout),
                ("stderr", &stderr),
                ("summary", &summary),
            ] {
                assert!(!text.contains(&form), "{form} in {name}:\n{text}");
            }
        }
    }
}
