//! canary-smoke end to end: the built binary against the fake fleet, as a
//! user or a CI job runs it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::fleet::{Fault, Fleet, TenantSpec};
use testkit::{hermetic, Output, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_canary-smoke");

const DEFAULT_CHECKS: [&str; 6] = [
    "liveness",
    "workspaces",
    "memory-commit",
    "memory-search",
    "events",
    "auth-required",
];

fn command(home: &TempDir, args: &[&str]) -> Command {
    let mut cmd = hermetic(BIN, home.path());
    cmd.args(args);
    cmd
}

/// Runs canary-smoke with `stdin` as its input.
fn smoke(args: &[&str], stdin: &str) -> Output {
    let home = TempDir::new("smoke").unwrap();
    Output::of(&mut command(&home, args), Some(stdin))
}

fn fleet(specs: Vec<TenantSpec>) -> Fleet {
    Fleet::start(specs).expect("start the fake fleet")
}

/// The (tenant, check) pairs whose record says `ok: false`.
fn failing(out: &Output) -> BTreeSet<(String, String)> {
    pairs(out, false)
}

fn pairs(out: &Output, ok: bool) -> BTreeSet<(String, String)> {
    out.records()
        .iter()
        .filter(|r| r["ok"].as_bool().expect("ok is a boolean") == ok)
        .map(|r| (text(r, "tenant"), text(r, "check")))
        .collect()
}

fn text(record: &Value, field: &str) -> String {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {record}"))
        .to_string()
}

fn record<'a>(records: &'a [Value], tenant: &str, check: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["tenant"] == tenant && r["check"] == check)
        .unwrap_or_else(|| panic!("no record for {tenant}/{check}"))
}

fn every_check_of(tenant: &str, checks: &[&str]) -> BTreeSet<(String, String)> {
    checks
        .iter()
        .map(|c| (tenant.to_string(), c.to_string()))
        .collect()
}

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

#[test]
fn env_mode_is_a_drop_in_for_the_script() {
    let fleet = fleet(vec![
        TenantSpec::healthy("a"),
        TenantSpec::healthy("b"),
        TenantSpec::healthy("c"),
    ]);
    let home = TempDir::new("smoke").unwrap();
    let env_run = |urls: Option<&str>, tokens: Option<&str>| {
        let mut cmd = command(&home, &["--from-env"]);
        if let Some(urls) = urls {
            cmd.env("CANARY_TENANT_URLS", urls);
        }
        if let Some(tokens) = tokens {
            cmd.env("CANARY_ADMIN_TOKENS", tokens);
        }
        Output::of(&mut cmd, None)
    };
    let urls = format!("{} {}\n{}/", fleet.url(0), fleet.url(1), fleet.url(2));
    let tokens = format!("{},{}, {}", fleet.token(0), fleet.token(1), fleet.token(2));
    let out = env_run(Some(&urls), Some(&tokens));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tenants: BTreeSet<String> = out.records().iter().map(|r| text(r, "url")).collect();
    assert_eq!(tenants, (0..3).map(|i| fleet.url(i)).collect());
    assert_eq!(out.records().len(), 18);

    let no_urls = env_run(None, Some(&tokens));
    assert_eq!(no_urls.code, 2);
    assert!(
        no_urls
            .stderr
            .starts_with("canary-smoke: CANARY_TENANT_URLS is not set"),
        "{}",
        no_urls.stderr
    );
    assert!(!no_urls.stderr.contains(&fleet.token(0)));
    let missing = env_run(Some(&urls), None);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .starts_with("canary-smoke: CANARY_ADMIN_TOKENS is not set"),
        "{}",
        missing.stderr
    );
    assert!(missing.stdout.is_empty());
    let short = env_run(Some(&urls), Some(&fleet.token(0)));
    assert_eq!(short.code, 2);
    assert!(
        short
            .stderr
            .contains("has 3 URL(s) but CANARY_ADMIN_TOKENS has 1 token(s)"),
        "{}",
        short.stderr
    );
    assert!(!short.stderr.contains(&fleet.token(0)));
    let none = env_run(Some(" , "), Some(""));
    assert_eq!(
        none.code, 2,
        "zero tenants is never a pass: {}",
        none.stderr
    );
    assert_eq!(fleet.total_requests(), 18, "failed setups send nothing");
}

#[test]
fn zero_tenants_or_a_bad_tenant_line_is_exit_2() {
    let empty = smoke(&[], "");
    assert_eq!(empty.code, 2);
    assert_eq!(
        empty.stderr,
        "canary-smoke: no tenants on stdin: there is nothing to check\n"
    );

    let home = TempDir::new("smoke").unwrap();
    let mut cmd = command(&home, &[]);
    cmd.env("CANARY_TENANT_URLS", "http://127.0.0.1:9");
    let hinted = Output::of(&mut cmd, Some("\n"));
    assert_eq!(hinted.code, 2);
    assert!(
        hinted.stderr.contains("pass --from-env"),
        "{}",
        hinted.stderr
    );

    let bad = smoke(
        &[],
        "{\"url\":\"http://127.0.0.1:9\",\"token\":\"t\"}\n{\"token\":\"t\"}\n",
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .ends_with("canary-smoke: stdin:2: missing field \"url\"\n"),
        "{}",
        bad.stderr
    );
    let plain = smoke(
        &[],
        "{\"url\":\"http://canary.example.com\",\"token\":\"t\"}\n",
    );
    assert_eq!(plain.code, 2);
    assert!(
        plain.stderr.contains("stdin:1: ") && plain.stderr.contains("--insecure"),
        "{}",
        plain.stderr
    );
    let bad_flag = smoke(&["--jobs", "0"], "");
    assert_eq!(bad_flag.code, 2);
}

#[test]
fn tenants_stream_in_and_results_stream_out() {
    let fleet = fleet(vec![
        TenantSpec::healthy("first"),
        TenantSpec::healthy("second"),
    ]);
    let home = TempDir::new("smoke").unwrap();
    let mut child = command(&home, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{}", fleet.tenant_line(0)).unwrap();
    stdin.flush().unwrap();
    // stdin stays open: the first result must come anyway.
    let first = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a result before stdin closes");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["tenant"], "first");
    assert_eq!(fleet.requests(1), 0);

    writeln!(stdin, "{}", fleet.tenant_line(1)).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert_eq!(status.code(), Some(0));
    assert_eq!(rest.len(), 11);
    assert!(rest.iter().any(|l| l.contains("\"tenant\":\"second\"")));
}

#[test]
fn a_custom_suite_with_captures_and_placeholders_works() {
    let fleet = fleet(vec![TenantSpec::healthy("team one")]);
    let dir = TempDir::new("suite").unwrap();
    let suite = dir.join("suite.jsonl");
    std::fs::write(
        &suite,
        r##"# a custom suite
{"name":"second-workspace","path":"/workspaces","expect":{"json":"array"},"capture":{"ws":"/1/id"}}

{"name":"commit","method":"post","path":"/workspaces/{ws}/memories","body":{"content":"{probe} on {tenant}","scope":"TEAM"},"expect":{"status":201},"capture":{"mid":"/id"}}
{"name":"find","path":"/workspaces/{ws}/memories?q={tenant}","expect":{"status":200,"match":[{"id":"{mid}","workspace_id":"{ws}","scope":"TEAM"}]}}
"##,
    )
    .unwrap();
    let out = smoke(&["--suite", suite.to_str().unwrap()], &fleet.tenant_lines());
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, out.stdout);
    assert_eq!(
        pairs(&out, true),
        every_check_of("team one", &["second-workspace", "commit", "find"])
    );
    let memories = fleet.memories(0);
    assert_eq!(memories.len(), 1);
    assert!(memories[0].ends_with(" on team one"), "{memories:?}");
    let expected = text(&out.records()[2], "expected");
    assert!(expected.contains(&fleet.workspace_ids(0)[1]), "{expected}");

    // Placeholders in a path are percent-encoded: the space in the name
    // survived the query.
    // The first check fails to capture: the others are not sent.
    std::fs::write(
        &suite,
        r#"{"name":"third-workspace","path":"/workspaces","capture":{"ws":"/2/id"}}
{"name":"commit","method":"POST","path":"/workspaces/{ws}/memories","body":{"content":"x"}}
"#,
    )
    .unwrap();
    let before = fleet.requests(0);
    let out = smoke(&["--suite", suite.to_str().unwrap()], &fleet.tenant_lines());
    assert_eq!(out.code, 1);
    let records = out.records();
    assert_eq!(
        records[0]["reason"],
        "cannot capture {ws}: nothing at \"/2/id\" in the response"
    );
    assert_eq!(
        records[1]["reason"],
        "not run: {ws} was not captured (check third-workspace failed)"
    );
    assert_eq!(fleet.requests(0), before + 1);
}

#[test]
fn a_malformed_suite_line_is_exit_2_with_its_line_number() {
    let fleet = fleet(vec![TenantSpec::healthy("t1")]);
    let dir = TempDir::new("suite").unwrap();
    let suite = dir.join("bad.jsonl");
    let name = suite.to_str().unwrap();
    let cases = [
        (
            "{\"name\":\"a\",\"path\":\"/a\"}\n\n{\"name\":\"b\",\"path\":\"/b\",\"expect\":{\"status\":\"200\"}}\n",
            "3: ",
        ),
        ("{\"name\":\"a\",\"path\":\"/w/{ws}\"}\n", "1: check a uses {ws}, which no earlier check captures"),
        ("# c\n{\"name\":\"a\",\"path\":\"/a\"\n", "2: not valid JSON"),
    ];
    for (text, message) in cases {
        std::fs::write(&suite, text).unwrap();
        let out = smoke(&["--suite", name], &fleet.tenant_lines());
        assert_eq!(out.code, 2, "{text}: {}", out.stderr);
        let prefix = format!("canary-smoke: {name}:{message}");
        assert!(
            out.stderr.starts_with(&prefix),
            "want {prefix:?}, got {:?}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let missing = smoke(&["--suite", "no-such-suite.jsonl"], &fleet.tenant_lines());
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .starts_with("canary-smoke: cannot read suite no-such-suite.jsonl: "),
        "{}",
        missing.stderr
    );
    assert_eq!(fleet.total_requests(), 0, "a bad suite touches no tenant");
}

#[test]
fn print_suite_prints_a_built_in_suite_that_runs_as_a_file() {
    let out = smoke(&["--print-suite"], "");
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, include_str!("../suites/default.jsonl"));
    let ws = smoke(&["--print-suite", "workspace-server"], "");
    let chosen = smoke(&["--suite", "workspace-server", "--print-suite"], "");
    assert_eq!(chosen.stdout, ws.stdout);
    assert_eq!(ws.stdout, include_str!("../suites/workspace-server.jsonl"));
    let unknown = smoke(&["--print-suite", "nope"], "");
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("default, workspace-server"),
        "{}",
        unknown.stderr
    );

    let fleet = fleet(vec![TenantSpec::healthy("t1")]);
    let dir = TempDir::new("suite").unwrap();
    let file = dir.join("printed.jsonl");
    std::fs::write(&file, &ws.stdout).unwrap();
    let run = smoke(&["--suite", file.to_str().unwrap()], &fleet.tenant_lines());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.records().len(), 7);

    // Without a name it prints the --suite file, once the file checks out.
    let path = file.to_str().unwrap();
    let printed = smoke(&["--suite", path, "--print-suite"], "");
    assert_eq!(
        (printed.code, printed.stdout.as_str()),
        (0, ws.stdout.as_str())
    );
    std::fs::write(&file, "{\"name\":\"x\"}\n").unwrap();
    let invalid = smoke(&["--suite", path, "--print-suite"], "");
    assert_eq!(invalid.code, 2);
    assert_eq!(
        invalid.stderr,
        format!("canary-smoke: {path}:1: missing field \"path\"\n")
    );
    assert!(invalid.stdout.is_empty());
}

#[test]
fn the_workspace_server_suite_cleans_up_and_sends_tenant_headers() {
    let fleet = fleet(vec![
        TenantSpec::healthy("plain"),
        TenantSpec::healthy("saas").with_fault(Fault::OrgHeader("org-42".into())),
    ]);
    let checks = [
        "liveness",
        "workspaces",
        "events",
        "memory-commit",
        "memory-search",
        "memory-delete",
        "auth-required",
    ];
    let out = smoke(&["--suite", "workspace-server"], &fleet.tenant_lines());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut passed = every_check_of("plain", &checks);
    passed.extend(every_check_of("saas", &checks));
    assert_eq!(pairs(&out, true), passed);
    assert!(
        fleet.memories(0).is_empty(),
        "the probe is deleted: {:?}",
        fleet.memories(0)
    );
    assert!(fleet.memories(1).is_empty());
    assert!(fleet.requests(0) >= 7);

    // Without its org header a SaaS tenant answers 404 with an empty body.
    let line: Value = serde_json::from_str(&fleet.tenant_line(1)).unwrap();
    let mut bare = line.clone();
    bare.as_object_mut().unwrap().remove("headers");
    let out = smoke(&["--suite", "workspace-server"], &format!("{bare}\n"));
    assert_eq!(out.code, 1);
    assert_eq!(failing(&out), every_check_of("saas", &checks));
    let records = out.records();
    let liveness = record(&records, "saas", "liveness");
    assert_eq!(
        (liveness["status"].as_u64(), liveness["reason"].as_str()),
        (Some(404), Some("status 404, expected 200"))
    );
    assert_eq!(
        record(&records, "saas", "memory-commit")["reason"],
        "not run: {workspace_id} was not captured (check workspaces failed)"
    );
}

/// A tenant whose error pages quote the bearer they were sent.
fn echoing_its_token() -> TenantSpec {
    let spec = TenantSpec::healthy("echo");
    let body = format!("{{\"error\":\"bad token {}\"}}", spec.token);
    spec.with_fault(Fault::Respond(403, body))
}

#[test]
fn tokens_never_appear_in_any_output() {
    let fleet = fleet(vec![
        TenantSpec::healthy("good"),
        TenantSpec::healthy("bad").with_fault(Fault::Status500("/admin/liveness".into())),
        TenantSpec::healthy("down").with_fault(Fault::Down),
        TenantSpec::healthy("open").with_fault(Fault::FailOpen),
        echoing_its_token(),
    ]);
    let dir = TempDir::new("reports").unwrap();
    let junit = dir.join("junit.xml");
    let summary = dir.join("summary.md");
    for ci in [false, true] {
        for tenants in [vec![0], vec![0, 1, 2, 3, 4]] {
            let _ = std::fs::remove_file(&summary);
            let input: String = tenants
                .iter()
                .map(|&i| fleet.tenant_line(i) + "\n")
                .collect();
            let mut cmd = command(&dir, &["--junit", junit.to_str().unwrap()]);
            cmd.env("GITHUB_STEP_SUMMARY", &summary);
            if ci {
                cmd.env("GITHUB_ACTIONS", "true");
            }
            let out = Output::of(&mut cmd, Some(&input));
            assert_eq!(
                out.code,
                if tenants.len() == 1 { 0 } else { 1 },
                "{}",
                out.stderr
            );
            let junit = std::fs::read_to_string(&junit).unwrap();
            let summary = std::fs::read_to_string(&summary).unwrap();
            assert!(junit.contains("<testcase"), "{junit}");
            assert!(summary.contains("canary-smoke"), "{summary}");
            // Under GitHub Actions the masks come first and are the only
            // place a token is printed: that is what makes the runner hide it.
            let masks = if ci { tenants.len() } else { 0 };
            let stderr: Vec<&str> = out.stderr.lines().collect();
            for (n, line) in stderr.iter().enumerate() {
                assert_eq!(
                    line.starts_with("::add-mask::"),
                    n < masks,
                    "{}",
                    out.stderr
                );
            }
            for i in 0..fleet.len() {
                let token = fleet.token(i);
                let shown = stderr[masks..].join("\n");
                for (what, text) in [
                    ("stdout", &out.stdout),
                    ("stderr", &shown),
                    ("junit", &junit),
                    ("summary", &summary),
                ] {
                    assert!(
                        !text.contains(&token),
                        "token of tenant {i} in {what}:\n{text}"
                    );
                }
            }
        }
    }
}

#[test]
fn hostile_response_bodies_cannot_inject_workflow_commands() {
    let body = "oops\n::error::forged annotation\n::add-mask::x\r\n::set-output name=x::y";
    let fleet = fleet(vec![
        TenantSpec::healthy("hostile").with_fault(Fault::Respond(500, body.into()))
    ]);
    for ci in [false, true] {
        let dir = TempDir::new("smoke").unwrap();
        let mut cmd = command(&dir, &[]);
        if ci {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        let out = Output::of(&mut cmd, Some(&fleet.tenant_lines()));
        assert_eq!(out.code, 1);
        assert!(
            out.stderr
                .contains("got oops\\n::error::forged annotation\\n"),
            "{}",
            out.stderr
        );
        for line in out.stderr.lines() {
            let ours = line.starts_with(&format!("::add-mask::{}", fleet.token(0)))
                || line.starts_with("::error title=canary-smoke%3A hostile::");
            assert!(
                !line.starts_with("::") || ours,
                "injected line {line:?} in:\n{}",
                out.stderr
            );
        }
        if ci {
            assert_eq!(
                out.stderr.matches("::error title=").count(),
                6,
                "{}",
                out.stderr
            );
        }
    }
}

#[test]
fn the_junit_report_has_a_testcase_per_tenant_and_check() {
    let fleet = fleet(vec![
        TenantSpec::healthy("good"),
        TenantSpec::healthy("html").with_fault(Fault::HtmlError),
    ]);
    let dir = TempDir::new("junit").unwrap();
    let file = dir.join("smoke.xml");
    let out = smoke(&["--junit", file.to_str().unwrap()], &fleet.tenant_lines());
    assert_eq!(out.code, 1);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"canary-smoke\" tests=\"12\" failures=\"6\""), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 12);
    assert_eq!(xml.matches("<failure ").count(), 6);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(
        xml.contains(r#"<testsuite name="html" tests="6" failures="6""#),
        "{xml}"
    );
    assert!(
        xml.contains("&lt;html&gt;") && !xml.contains("<html>"),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</testsuites>"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no partial file is left behind");
}

#[test]
fn a_closed_stdout_stops_quietly() {
    let specs = (0..20)
        .map(|i| TenantSpec::healthy(&format!("t{i}")))
        .collect();
    let fleet = fleet(specs);
    let home = TempDir::new("smoke").unwrap();
    let mut child = command(&home, &["--jobs", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = fleet.tenant_lines();
    let mut stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(lines.as_bytes());
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, like `canary-smoke | head -1`.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(first.contains("\"check\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("canary-smoke: cannot write"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(fleet.total_requests() < 20 * 6, "it stopped early");
}
