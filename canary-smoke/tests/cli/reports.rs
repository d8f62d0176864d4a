//! What no output may contain (tokens, injected workflow commands), and the JUnit report.

use crate::support::*;

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
    let sandbox = sandbox();
    let junit = sandbox.path("junit.xml");
    let summary = sandbox.path("summary.md");
    for ci in [false, true] {
        for tenants in [vec![0], vec![0, 1, 2, 3, 4]] {
            let _ = std::fs::remove_file(&summary);
            let input: String = tenants
                .iter()
                .map(|&i| fleet.tenant_line(i) + "\n")
                .collect();
            let mut cmd = sandbox.cmd(&["--junit", junit.to_str().unwrap()]);
            cmd.env("GITHUB_STEP_SUMMARY", &summary);
            if ci {
                cmd.env("GITHUB_ACTIONS", "true");
            }
            let out = Output::of(&mut cmd, Some(&input));
            assert_code(&out, if tenants.len() == 1 { 0 } else { 1 });
            let junit = std::fs::read_to_string(&junit).unwrap();
            let summary = std::fs::read_to_string(&summary).unwrap();
            assert!(junit.contains("<testcase"), "{junit}");
            assert!(summary.contains("canary-smoke"), "{summary}");
            // Under GitHub Actions each token is masked before anything is
            // said about its tenant, and the masks are the only place a token
            // is printed: that is what makes the runner hide it.
            let stderr: Vec<&str> = out.stderr.lines().collect();
            let masks: Vec<usize> = (0..stderr.len())
                .filter(|&n| stderr[n].starts_with("::add-mask::"))
                .collect();
            assert_eq!(
                masks.len(),
                if ci { tenants.len() } else { 0 },
                "{}",
                out.stderr
            );
            for &i in tenants.iter().filter(|_| ci) {
                let mask = format!("::add-mask::{}", fleet.token(i));
                let masked_at = stderr
                    .iter()
                    .position(|l| *l == mask)
                    .expect("a mask per token");
                let name = format!(" {}:", fleet.name(i));
                let first_mention = stderr.iter().position(|l| l.contains(&name));
                assert!(
                    first_mention.is_none_or(|m| masked_at < m),
                    "{}",
                    out.stderr
                );
            }
            if ci && tenants.len() > 1 {
                // One per failing check that was sent: bad 2 (both liveness
                // checks), down 1 (the refused one; the rest were not sent),
                // open 1, echo 6.
                assert_eq!(
                    out.stderr.matches("\n::error title=").count(),
                    10,
                    "{}",
                    out.stderr
                );
            }
            let shown: Vec<&str> = stderr
                .iter()
                .filter(|l| !l.starts_with("::add-mask::"))
                .copied()
                .collect();
            for i in 0..fleet.len() {
                let token = fleet.token(i);
                let shown = shown.join("\n");
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
        let sandbox = sandbox();
        let mut cmd = sandbox.cmd(&[]);
        if ci {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        let out = Output::of(&mut cmd, Some(&fleet.tenant_lines()));
        assert_eq!(out.code, 1);
        assert_stderr_has(&out.stderr, "got oops\\n::error::forged annotation\\n");
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
    let sandbox = sandbox();
    let file = sandbox.path("smoke.xml");
    let out = sandbox.run(
        &["--junit", file.to_str().unwrap(), "--sha", "4C1D56E"],
        &[],
        Some(&fleet.tenant_lines()),
    );
    assert_code(&out, 1);
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
    assert_eq!(
        xml.matches(r#"<property name="sha" value="4c1d56e"/>"#)
            .count(),
        2,
        "the build under test is named in every testsuite: {xml}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.home())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no partial file is left behind");
}

#[test]
fn a_token_echoed_json_escaped_is_scrubbed_from_every_output() {
    let token = "tok/slash+plus-0001";
    let forms = [
        token.to_string(),
        token.replace('/', "\\/"),
        token.replace('/', "\\u002f").replace('+', "\\u002b"),
        token.replace('/', "\\u002F").replace('+', "\\u002B"),
    ];
    let body = format!(
        "{{\"error\":\"bad token {}\",\"hint\":\"{}\",\"upper\":\"{}\"}}",
        forms[1], forms[2], forms[3]
    );
    let stub = Stub::start(Box::new(move |_, _| {
        Reply::Respond(403, vec![], body.clone())
    }));
    let sandbox = sandbox();
    let junit = sandbox.path("junit.xml");
    let summary = sandbox.path("summary.md");
    let outputs = sandbox.path("outputs");
    let line = stub.tenant_line("echo", token, "");
    let out = sandbox.run(
        &["--junit", junit.to_str().unwrap(), "-vv"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ],
        Some(&line),
    );
    assert_code(&out, 1);
    let stderr = without_masks(&out.stderr);
    assert!(stderr.contains("::error title="), "{stderr}");
    let files: Vec<(&str, String)> = vec![
        ("stdout", out.stdout.clone()),
        ("stderr", stderr),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
        ("summary", std::fs::read_to_string(&summary).unwrap()),
        ("outputs", std::fs::read_to_string(&outputs).unwrap()),
    ];
    for (what, text) in &files {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{form} in {what}:\n{text}");
        }
    }
    assert!(out.stdout.contains("bad token ***"), "{}", out.stdout);
}

#[test]
fn tenant_text_cannot_forge_markdown_or_annotation_titles() {
    let fleet = fleet(vec![TenantSpec::healthy(
        "</table><h1>ALL GREEN</h1>\u{1b}[32m",
    )
    .with_fault(Fault::Respond(
        500,
        "<img src=x> | **bold** [link](http://x)".into(),
    ))]);
    let sandbox = sandbox();
    let summary = sandbox.path("summary.md");
    let out = sandbox.run(
        &[],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
        Some(&fleet.tenant_lines()),
    );
    assert_code(&out, 1);
    let summary = std::fs::read_to_string(&summary).unwrap();
    for raw in ["<h1>", "</table>", "<img", "**bold**", "](http"] {
        assert!(
            !summary.contains(raw),
            "{raw} raw in the summary:\n{summary}"
        );
    }
    assert!(summary.starts_with("### canary-smoke: FAILED"), "{summary}");
    for line in out.stderr.lines().filter(|l| l.starts_with("::error")) {
        assert!(!line.contains('\u{1b}'), "ESC in an annotation: {line:?}");
    }
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}
