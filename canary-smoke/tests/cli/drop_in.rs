//! canary-smoke as a renamed canary-smoke.sh: the same variables, the same
//! stdin a CI step gives it, the same text on stdout for the same greps.

use std::fs::File;

use crate::support::*;

/// What canary-smoke.sh printed on stdout for tenants that pass every check.
fn script_stdout(urls: &[String]) -> String {
    let mut text = String::new();
    for url in urls {
        text.push_str(&format!("\n── {url} ──\n"));
        for line in [
            "liveness returns a subsystems map",
            "workspace list is JSON array",
            "memory commit accepted",
            "memory search finds the probe",
            "events endpoint returns JSON",
            "unauth'd /admin/liveness returns 401",
        ] {
            text.push_str(&format!("  PASS {line}\n"));
        }
    }
    let checks = urls.len() * 6;
    text + &format!("\n=== CANARY SMOKE RESULTS ===\n  PASS: {checks}\n  FAIL: 0\n")
}

fn variables(fleet: &Fleet, separator: &str) -> (String, String) {
    let urls: Vec<String> = (0..fleet.len()).map(|i| fleet.url(i)).collect();
    let tokens: Vec<String> = (0..fleet.len()).map(|i| fleet.token(i)).collect();
    (urls.join(separator), tokens.join(separator))
}

#[test]
fn from_env_prints_the_script_text_byte_for_byte() {
    let fleet = fleet(vec![
        TenantSpec::healthy("a"),
        TenantSpec::healthy("b"),
        TenantSpec::healthy("c"),
    ]);
    let (urls, tokens) = variables(&fleet, " ");
    let env = [
        ("CANARY_TENANT_URLS", urls.as_str()),
        ("CANARY_ADMIN_TOKENS", tokens.as_str()),
    ];
    let sandbox = sandbox();
    let out = sandbox.run(&["--from-env"], &env, Some(""));
    assert_code(&out, 0);
    let all: Vec<String> = (0..3).map(|i| fleet.url(i)).collect();
    assert_eq!(out.stdout, script_stdout(&all));
    assert_eq!(fleet.total_requests(), 18);

    // The caller's greps keep working.
    assert!(out.stdout.lines().any(|l| l == "  FAIL: 0"));

    // --json: records instead, one per check.
    let json = sandbox.run(&["--from-env", "--json"], &env, None);
    assert_code(&json, 0);
    assert_eq!(records(&json).len(), 18);
    // --records FILE: the text on stdout and the records in the file.
    let file = sandbox.path("records.jsonl");
    let both = sandbox.run(
        &["--from-env", "--records", file.to_str().unwrap()],
        &env,
        None,
    );
    assert_eq!(both.stdout, script_stdout(&all));
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved.lines().count(), 18);
}

#[test]
fn with_the_variables_set_and_no_records_it_reads_the_variables() {
    let fleet = fleet(vec![TenantSpec::healthy("a"), TenantSpec::healthy("b")]);
    let (urls, tokens) = variables(&fleet, ",");
    // The script printed each URL as written, a trailing slash included.
    let urls = urls + "/";
    let env = [
        ("CANARY_TENANT_URLS", urls.as_str()),
        ("CANARY_ADMIN_TOKENS", tokens.as_str()),
    ];
    let sandbox = sandbox();
    let all = vec![fleet.url(0), fleet.url(1) + "/"];
    // stdin on /dev/null, as a CI step may give it.
    let null = sandbox.run(&[], &env, None);
    assert_code(&null, 0);
    assert_eq!(null.stdout, script_stdout(&all));
    assert_stderr_has(&null.stderr, "reading CANARY_TENANT_URLS");
    // stdin an empty file.
    let empty = sandbox.path("empty");
    std::fs::write(&empty, "").unwrap();
    let mut cmd = sandbox.cmd(&[]);
    cmd.envs(env).stdin(File::open(&empty).unwrap());
    let from_file = Output::of(&mut cmd, None);
    assert_code(&from_file, 0);
    assert_eq!(from_file.stdout, script_stdout(&all));
    // A pipe that carries records keeps meaning records.
    let piped = sandbox.run(&[], &env, Some(&fleet.tenant_line(0)));
    assert_code(&piped, 0);
    assert_eq!(records(&piped).len(), 6);
    assert_eq!(fleet.requests(1), 12, "tenant b only in the two env runs");
}

#[test]
fn failures_print_as_the_script_printed_them() {
    let fleet = fleet(vec![
        TenantSpec::healthy("ok"),
        TenantSpec::healthy("open").with_fault(Fault::FailOpen),
    ]);
    let (urls, tokens) = variables(&fleet, " ");
    let out = sandbox().run(
        &["--from-env"],
        &[
            ("CANARY_TENANT_URLS", urls.as_str()),
            ("CANARY_ADMIN_TOKENS", tokens.as_str()),
        ],
        None,
    );
    assert_code(&out, 1);
    // PASS lines on stdout, FAIL lines on stderr: where the script put them.
    let second = format!("\n── {} ──\n", fleet.url(1));
    let (_, tail) = out
        .stdout
        .split_once(&second)
        .expect("the second tenant's header");
    assert!(
        tail.starts_with("  PASS liveness returns a subsystems map\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("FAIL unauth'd"), "{}", out.stdout);
    assert!(out
        .stdout
        .ends_with("\n=== CANARY SMOKE RESULTS ===\n  PASS: 11\n  FAIL: 1\n"));
    assert_stderr_has(&out.stderr, "  FAIL unauth'd /admin/liveness returns 401\n    expected to contain: status 401\n    got: status 200, expected 401\n");
}

#[test]
fn a_variable_missing_is_exit_2_where_the_script_exited_1() {
    let fleet = fleet(vec![TenantSpec::healthy("a")]);
    let sandbox = sandbox();
    let tokens = fleet.token(0);
    let no_urls = sandbox.run(&["--from-env"], &[("CANARY_ADMIN_TOKENS", &tokens)], None);
    assert_refused(&no_urls, |e| {
        e.starts_with("canary-smoke: CANARY_TENANT_URLS is not set")
    });
    let url = fleet.url(0);
    let no_tokens = sandbox.run(&["--from-env"], &[("CANARY_TENANT_URLS", &url)], None);
    assert_refused(&no_tokens, |e| {
        e.starts_with("canary-smoke: CANARY_ADMIN_TOKENS is not set")
    });
    let two = format!("{url} {url}/x");
    let short = sandbox.run(
        &["--from-env"],
        &[
            ("CANARY_TENANT_URLS", &two),
            ("CANARY_ADMIN_TOKENS", &tokens),
        ],
        None,
    );
    assert_refused(&short, |e| {
        e.contains("has 2 URL(s) but CANARY_ADMIN_TOKENS has 1 token(s)")
    });
    let none = sandbox.run(
        &["--from-env"],
        &[("CANARY_TENANT_URLS", " , "), ("CANARY_ADMIN_TOKENS", "")],
        None,
    );
    assert_code(&none, 2);
    for out in [&no_urls, &no_tokens, &short, &none] {
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.contains(&tokens));
    }
    assert_eq!(fleet.total_requests(), 0, "failed setups send nothing");
}
