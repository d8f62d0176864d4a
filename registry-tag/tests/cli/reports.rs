//! What a workflow reads: the step summary (verdict first, full digests)
//! and the step outputs (`digest`, `digests`, `changed`).

use std::collections::BTreeMap;

use testkit::image::Kind;

use crate::support::{assert_code, request, Registry, Sandbox};

/// Runs with GitHub Actions variables; returns (output, summary, outputs file).
fn run_in_actions(args: &[&str], stdin: Option<&str>) -> (testkit::Output, String, String) {
    let sandbox = Sandbox::new();
    let summary = sandbox.path("summary.md");
    let outputs = sandbox.path("outputs");
    let out = sandbox.run(
        args,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ],
        stdin,
    );
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    (out, read(summary), read(outputs))
}

/// `name<<DELIM\nvalue\nDELIM` entries of a `GITHUB_OUTPUT` file.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line.split_once("<<").expect("the delimiter form");
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        outputs.insert(name.to_string(), value.join("\n"));
    }
    outputs
}

#[test]
fn a_move_summary_states_the_verdict_first_with_full_digests_and_sets_outputs() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("app", "latest", Kind::Oci, "old");
    let new = pusher.push("app", "staging-8", Kind::Oci, "new");
    let image = format!("{}/app", registry.host());
    let (out, summary, outputs) = run_in_actions(&[&format!("{image}:staging-8"), "latest"], None);
    assert_code(&out, 0);
    assert_eq!(
        summary.lines().next(),
        Some("### registry-tag: moved 1 of 1 tag"),
        "{summary}"
    );
    assert!(summary.contains(&format!("`{}`", new.digest)), "{summary}");
    assert!(summary.contains(&format!("`{}`", old.digest)), "{summary}");
    let outputs = parse_outputs(&outputs);
    assert_eq!(outputs.get("digest"), Some(&new.digest), "{outputs:?}");
    assert_eq!(outputs.get("changed").map(String::as_str), Some("true"));
    assert!(!outputs.contains_key("digests"));

    // Again: nothing to move, and it says so first.
    let (out, summary, outputs) = run_in_actions(&[&format!("{image}:staging-8"), "latest"], None);
    assert_code(&out, 0);
    assert!(
        summary.starts_with("### registry-tag: every one of 1 tag already in place"),
        "{summary}"
    );
    assert_eq!(
        parse_outputs(&outputs).get("changed").map(String::as_str),
        Some("false")
    );
}

#[test]
fn several_images_set_digests_as_json() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a = pusher.push("a", "staging-9", Kind::Oci, "a");
    let b = pusher.push("b", "staging-9", Kind::OciIndex, "b");
    let h = registry.host();
    let stdin = request(&h, "a", "staging-9", "latest") + &request(&h, "b", "staging-9", "latest");
    let (out, _, outputs) = run_in_actions(&["--atomic"], Some(&stdin));
    assert_code(&out, 0);
    let outputs = parse_outputs(&outputs);
    let digests: BTreeMap<String, String> =
        serde_json::from_str(&outputs["digests"]).expect("digests is a JSON object");
    assert_eq!(digests[&format!("{h}/a")], a.digest);
    assert_eq!(digests[&format!("{h}/b")], b.digest);
    assert!(!outputs.contains_key("digest"));
}

#[test]
fn a_resolve_sets_the_digest_output() {
    let registry = Registry::start();
    let pushed = registry.pusher().push("app", "v1", Kind::Oci, "resolve");
    let (out, _, outputs) = run_in_actions(&[&format!("{}/app:v1", registry.host())], None);
    assert_code(&out, 0);
    assert_eq!(parse_outputs(&outputs).get("digest"), Some(&pushed.digest));
}

#[test]
fn a_failure_is_one_annotation_and_a_verdict_and_sets_no_outputs() {
    let registry = Registry::start();
    registry
        .pusher()
        .push("app", "latest", Kind::Oci, "annotate");
    let h = registry.host();
    let stdin = request(&h, "app", "staging-404", "latest");
    let (out, summary, outputs) = run_in_actions(&["--atomic"], Some(&stdin));
    assert_code(&out, 1);
    let annotations: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 1, "{}", out.stderr);
    assert!(
        annotations[0].starts_with("::error title=registry-tag::tag staging-404 not found in"),
        "{}",
        out.stderr
    );
    assert!(
        summary.starts_with("### registry-tag: FAILED: nothing was changed"),
        "{summary}"
    );
    assert!(summary.contains("tag staging-404 not found"), "{summary}");
    assert!(outputs.is_empty(), "{outputs}");
}

#[test]
fn independent_moves_summarise_each_failure_after_the_verdict() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a = pusher.push("a", "staging-7", Kind::Oci, "a");
    let h = registry.host();
    let stdin =
        request(&h, "missing", "staging-7", "latest") + &request(&h, "a", "staging-7", "latest");
    let (out, summary, outputs) = run_in_actions(&[], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        summary.starts_with("### registry-tag: FAILED: 1 of 2 moves failed (1 moved)"),
        "{summary}"
    );
    assert!(summary.contains(&format!("`{}`", a.digest)), "{summary}");
    // The move's failure once in the list, the run's error once at the end.
    assert_eq!(
        summary.matches("staging-7 not found").count(),
        1,
        "{summary}"
    );
    assert!(
        summary.contains("failed (exit 1):** 1 of 2 moves failed"),
        "{summary}"
    );
    assert!(outputs.is_empty(), "{outputs}");
}

#[test]
fn one_images_tags_at_different_digests_are_keyed_by_tag() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let x = pusher.push("app", "x", Kind::Oci, "x");
    let y = pusher.push("app", "y", Kind::Oci, "y");
    let h = registry.host();
    let stdin = request(&h, "app", "x", "latest") + &request(&h, "app", "y", "stable");
    let (out, _, outputs) = run_in_actions(&["--atomic"], Some(&stdin));
    assert_code(&out, 0);
    let outputs = parse_outputs(&outputs);
    let digests: BTreeMap<String, String> =
        serde_json::from_str(&outputs["digests"]).expect("digests is a JSON object");
    assert_eq!(digests[&format!("{h}/app:latest")], x.digest);
    assert_eq!(digests[&format!("{h}/app:stable")], y.digest);
}
