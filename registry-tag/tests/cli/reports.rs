//! What a workflow reads: the step summary (verdict first, full digests)
//! and the step outputs (`digest`, `digests`, `changed`).

use testkit::actions::commands;
use testkit::image::Kind;

use crate::support::{assert_code, in_actions, request, to_latest, Registry};

#[test]
fn a_move_summary_states_the_verdict_first_with_full_digests_and_sets_outputs() {
    let (registry, old, new) = Registry::promoting("app", "staging-8", Kind::Oci);
    let source = registry.image("app:staging-8");
    let step = in_actions(&[&source, "latest"], None);
    assert_code(&step.out, 0);
    assert_eq!(
        step.summary.lines().next(),
        Some("### registry-tag: moved 1 of 1 tag"),
        "{}",
        step.summary
    );
    step.assert_shows(&new.digest);
    step.assert_shows(&old.digest);
    assert_eq!(step.output("digest"), Some(new.digest.as_str()), "{step:?}");
    assert_eq!(step.output("changed"), Some("true"));
    assert_eq!(step.output("digests"), None);

    // Again: nothing to move, and it says so first.
    let step = in_actions(&[&source, "latest"], None);
    assert_code(&step.out, 0);
    step.assert_verdict("### registry-tag: every one of 1 tag already in place");
    assert_eq!(step.output("changed"), Some("false"));
}

#[test]
fn several_images_set_digests_as_json() {
    let (registry, a) = Registry::holding("a", "staging-9", Kind::Oci);
    let b = registry.push("b", "staging-9", Kind::OciIndex, "b");
    let h = registry.host();
    let step = in_actions(
        &["--atomic"],
        Some(&to_latest(&h, &["a", "b"], "staging-9")),
    );
    assert_code(&step.out, 0);
    let digests = step.digests();
    assert_eq!(digests[&format!("{h}/a")], a.digest);
    assert_eq!(digests[&format!("{h}/b")], b.digest);
    assert_eq!(step.output("digest"), None);
}

#[test]
fn a_resolve_sets_the_digest_output() {
    let (registry, pushed) = Registry::holding("app", "v1", Kind::Oci);
    let step = in_actions(&[&registry.image("app:v1")], None);
    assert_code(&step.out, 0);
    assert_eq!(step.output("digest"), Some(pushed.digest.as_str()));
}

#[test]
fn a_failure_is_one_annotation_and_a_verdict_and_sets_no_outputs() {
    let (registry, _) = Registry::holding("app", "latest", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["app"], "staging-404");
    let step = in_actions(&["--atomic"], Some(&stdin));
    assert_code(&step.out, 1);
    let annotations = commands(&step.out.stderr, "error");
    assert_eq!(annotations.len(), 1, "{}", step.out.stderr);
    assert!(
        annotations[0].starts_with("::error title=registry-tag::tag staging-404 not found in"),
        "{}",
        step.out.stderr
    );
    step.assert_verdict("### registry-tag: FAILED: nothing was changed");
    assert!(
        step.summary.contains("tag staging-404 not found"),
        "{step:?}"
    );
    assert!(step.outputs.is_empty(), "{step:?}");
}

#[test]
fn independent_moves_summarise_each_failure_after_the_verdict() {
    let (registry, a) = Registry::holding("a", "staging-7", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["missing", "a"], "staging-7");
    let step = in_actions(&[], Some(&stdin));
    assert_code(&step.out, 1);
    step.assert_verdict("### registry-tag: FAILED: 1 of 2 moves failed (1 moved)");
    step.assert_shows(&a.digest);
    // The move's failure once in the list, the run's error once at the end.
    let summary = &step.summary;
    assert_eq!(
        summary.matches("staging-7 not found").count(),
        1,
        "{summary}"
    );
    assert!(
        summary.contains("failed (exit 1):** 1 of 2 moves failed"),
        "{summary}"
    );
    assert!(step.outputs.is_empty(), "{step:?}");
}

#[test]
fn one_images_tags_at_different_digests_are_keyed_by_tag() {
    let (registry, x) = Registry::holding("app", "x", Kind::Oci);
    let y = registry.push("app", "y", Kind::Oci, "y");
    let h = registry.host();
    let stdin = request(&h, "app", "x", "latest") + &request(&h, "app", "y", "stable");
    let step = in_actions(&["--atomic"], Some(&stdin));
    assert_code(&step.out, 0);
    let digests = step.digests();
    assert_eq!(digests[&format!("{h}/app:latest")], x.digest);
    assert_eq!(digests[&format!("{h}/app:stable")], y.digest);
}
