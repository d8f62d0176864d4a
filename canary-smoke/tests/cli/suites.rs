//! Suites as data: files with captures and placeholders, bad lines, the built-in suites.

use crate::support::*;
use serde_json::Value;

#[test]
fn a_custom_suite_with_captures_and_placeholders_works() {
    let fleet = fleet(vec![TenantSpec::healthy("team one")]);
    let sandbox = sandbox();
    let suite = sandbox.path("suite.jsonl");
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
    let expected = records(&out)[2].expected.clone();
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
    let records = records(&out);
    assert_eq!(
        records[0].reason.as_deref(),
        Some("cannot capture {ws}: nothing at \"/2/id\" in the response")
    );
    assert_eq!(
        records[1].reason.as_deref(),
        Some("not run: {ws} was not captured (check third-workspace failed)")
    );
    assert_eq!(fleet.requests(0), before + 1);
}

#[test]
fn a_malformed_suite_line_is_exit_2_with_its_line_number() {
    let fleet = fleet(vec![TenantSpec::healthy("t1")]);
    let sandbox = sandbox();
    let suite = sandbox.path("bad.jsonl");
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
    assert_eq!(out.stdout, include_str!("../../suites/default.jsonl"));
    let ws = smoke(&["--print-suite", "workspace-server"], "");
    let chosen = smoke(&["--suite", "workspace-server", "--print-suite"], "");
    assert_eq!(chosen.stdout, ws.stdout);
    assert_eq!(
        ws.stdout,
        include_str!("../../suites/workspace-server.jsonl")
    );
    let unknown = smoke(&["--print-suite", "nope"], "");
    assert_eq!(unknown.code, 2);
    assert_stderr_has(&unknown.stderr, "default, workspace-server");

    let fleet = fleet(vec![TenantSpec::healthy("t1")]);
    let sandbox = sandbox();
    let file = sandbox.path("printed.jsonl");
    std::fs::write(&file, &ws.stdout).unwrap();
    let run = smoke(&["--suite", file.to_str().unwrap()], &fleet.tenant_lines());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(records(&run).len(), 7);

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
    let records = records(&out);
    let liveness = record(&records, "saas", "liveness");
    assert_eq!(
        (liveness.status, liveness.reason.as_deref()),
        (Some(404), Some("status 404, expected 200"))
    );
    assert_eq!(
        reason(&records, "saas", "memory-commit"),
        "not run: {workspace_id} was not captured (check workspaces failed)"
    );
}
