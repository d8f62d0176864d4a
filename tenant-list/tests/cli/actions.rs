//! Under GitHub Actions: step outputs, error annotations and summary lines,
//! traces, and no token anywhere but the records.

use testkit::actions::{commands, step_outputs as outputs};

use super::support::*;

struct Run {
    out: Output,
    summary: String,
    output: String,
}

/// Runs tenant-list as a GitHub Actions step with the given variables.
fn as_a_step(env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = TempDir::new("tenant-list").unwrap();
    let summary = home.join("summary.md");
    let output = home.join("output");
    let mut cmd = tool(&home);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env_remove("RUNNER_DEBUG")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = Output::of(&mut cmd, None);
    Run {
        out,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        output: std::fs::read_to_string(&output).unwrap_or_default(),
    }
}

const TOKEN: &str = "tl-s3cret/+=\"x";

#[test]
fn count_is_a_step_output() {
    let urls = "https://a.example.com https://b.example.com https://c.example.com";
    let tokens = format!("{TOKEN}1 {TOKEN}2 {TOKEN}3");
    let run = as_a_step(
        &[
            ("CANARY_TENANT_URLS", urls),
            ("CANARY_ADMIN_TOKENS", &tokens),
        ],
        &[],
    );
    assert_eq!(run.out.code, 0, "{}", run.out.stderr);
    assert_eq!(tenants(&run.out).len(), 3);
    assert_eq!(
        outputs(&run.output),
        [("count".to_string(), "3".to_string())]
    );

    let run = as_a_step(
        &[
            ("CANARY_TENANT_URLS", urls),
            ("CANARY_ADMIN_TOKENS", &tokens),
        ],
        &["--shard", "2/2"],
    );
    assert_eq!(run.out.code, 0, "{}", run.out.stderr);
    assert_eq!(
        outputs(&run.output),
        [("count".to_string(), "1".to_string())]
    );
    assert_eq!(run.summary, "", "success writes no summary");
}

#[test]
fn an_input_error_is_one_annotation_and_one_summary_line() {
    // CANARY_TENANT_URLS missing: exit 2, named in stderr, one ::error
    // annotation, one summary line; the token appears nowhere.
    let run = as_a_step(&[("CANARY_ADMIN_TOKENS", TOKEN)], &[]);
    assert_eq!(run.out.code, 2, "{}", run.out.stderr);
    assert_eq!(run.out.stdout, "");
    let annotations = commands(&run.out.stderr, "error");
    assert_eq!(annotations.len(), 1, "{}", run.out.stderr);
    assert!(
        annotations[0].starts_with("::error title=tenant-list::CANARY_TENANT_URLS is not set"),
        "{}",
        annotations[0]
    );
    assert!(run
        .out
        .stderr
        .lines()
        .any(|l| l.starts_with("tenant-list: CANARY_TENANT_URLS is not set")));
    let summary: Vec<&str> = run.summary.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(summary.len(), 1, "{}", run.summary);
    assert!(
        summary[0].contains("tenant-list") && summary[0].contains("CANARY\\_TENANT\\_URLS"),
        "{}",
        summary[0]
    );
    assert_eq!(run.output, "", "no count after an error");
    for text in [&run.out.stderr, &run.summary, &run.output] {
        assert!(!text.contains("tl-s3cret"), "token leaked: {text}");
    }
}

#[test]
fn a_bad_entry_names_it_without_leaking_any_token() {
    let tokens = format!("{TOKEN}1 {TOKEN}2");
    let run = as_a_step(
        &[
            (
                "CANARY_TENANT_URLS",
                "https://a.example.com http://b.example.com",
            ),
            ("CANARY_ADMIN_TOKENS", &tokens),
        ],
        &[],
    );
    assert_eq!(run.out.code, 2, "{}", run.out.stderr);
    let masks = run
        .out
        .stderr
        .lines()
        .take_while(|l| l.starts_with("::add-mask::"))
        .count();
    assert_eq!(masks, 2, "masks first: {}", run.out.stderr);
    let after_masks: Vec<&str> = run.out.stderr.lines().skip(masks).collect();
    let after_masks = after_masks.join("\n");
    assert!(
        after_masks.contains("::error title=tenant-list::CANARY_TENANT_URLS entry 2"),
        "{after_masks}"
    );
    for text in [&after_masks, &run.summary, &run.output, &run.out.stdout] {
        assert!(!text.contains("tl-s3cret"), "token leaked: {text}");
    }
}

#[test]
fn verbose_is_accepted_and_runner_debug_means_v() {
    let env = [
        (
            "CANARY_TENANT_URLS",
            "https://a.example.com https://b.example.com",
        ),
        ("CANARY_ADMIN_TOKENS", "tok-v-1 tok-v-2"),
    ];
    for args in [
        &["-v"][..],
        &["--verbose", "--match", "a"][..],
        &["-vv"][..],
    ] {
        let out = from_env(env[0].1, env[1].1, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("tenant-list: 2 tenant(s) from CANARY_TENANT_URLS/CANARY_ADMIN_TOKENS"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("tok-v"), "{}", out.stderr);
    }
    let quiet = from_env(env[0].1, env[1].1, &[]);
    assert_eq!(quiet.stderr, "");

    let run = as_a_step(&[env[0], env[1], ("RUNNER_DEBUG", "1")], &[]);
    assert_eq!(run.out.code, 0, "{}", run.out.stderr);
    assert!(
        run.out.stderr.contains("tenant-list: 2 tenant(s) from"),
        "{}",
        run.out.stderr
    );
}
