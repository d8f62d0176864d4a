//! Under GitHub Actions every error is one `::error` annotation: the one
//! `common::exit::finish` writes. registry-tag itself prints its failures
//! as plain lines, so no path annotates twice (or not at all).

use testkit::actions::commands;
use testkit::image::Kind;
use testkit::proxy::Fault;
use testkit::registry::USER;

use crate::support::{assert_exit, to_latest, Registry, Sandbox, Step};

/// Exit `code`, and exactly one `::error` annotation, saying `text`.
#[track_caller]
fn assert_annotated_once(step: &Step, code: i32, text: &str) {
    assert_exit(&step.out, code, text);
    let stderr = &step.out.stderr;
    let annotations = commands(stderr, "error");
    assert_eq!(annotations.len(), 1, "one annotation:\n{stderr}");
    let annotation = annotations[0];
    assert!(
        annotation.starts_with("::error title=registry-tag::") && annotation.contains(text),
        "{text:?} in {annotation:?}"
    );
}

#[test]
fn a_bad_input_line_a_bad_flag_and_a_missing_tag_are_each_annotated_once() {
    let (registry, _) = Registry::holding("app", "latest", Kind::Oci);
    let sandbox = Sandbox::new();
    let bad_line = format!("{}not json\n", to_latest(&registry.host(), &["app"], "v1"));
    let step = sandbox.in_actions(&["--atomic"], &[], Some(&bad_line));
    assert_annotated_once(&step, 2, "stdin:2: not valid JSON");

    let step = sandbox.in_actions(&["--timeout", "30x", "127.0.0.1:9/app:v1"], &[], None);
    assert_annotated_once(&step, 2, "\"30x\" is not a duration");

    let step = sandbox.in_actions(&[&registry.image("app:staging-404"), "latest"], &[], None);
    assert_annotated_once(&step, 1, "tag staging-404 not found in");
}

#[test]
fn a_refused_login_is_annotated_once() {
    let registry = Registry::htpasswd();
    registry.push("app", "v1", Kind::Oci, "login");
    let env = [
        ("REGISTRY_USERNAME", USER),
        ("REGISTRY_PASSWORD", "Wr0ng-Annotated-Pass"),
    ];
    let step = Sandbox::new().in_actions(&[&registry.image("app:v1"), "latest"], &env, None);
    assert_annotated_once(&step, 1, "REGISTRY_USERNAME/REGISTRY_PASSWORD");
}

#[test]
fn failed_independent_moves_are_one_annotation_for_the_run() {
    let (registry, _) = Registry::holding("a", "staging-1", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["missing", "a"], "staging-1");
    let step = Sandbox::new().in_actions(&[], &[], Some(&stdin));
    // The move's own failure is a plain line; the run's error is annotated.
    assert_annotated_once(&step, 1, "1 of 2 moves failed");
    let plain = step
        .out
        .stderr
        .lines()
        .filter(|l| l.contains("staging-1 not found"));
    assert_eq!(plain.count(), 1, "{}", step.out.stderr);
}

#[test]
fn a_move_of_unknown_outcome_is_annotated_once() {
    let (registry, old, _) = Registry::promoting("app", "staging-2", Kind::Oci);
    let proxy = registry.proxy();
    // The PUT times out at the client and lands later; its retry is refused.
    proxy.add_fault(Fault::late_landing("PUT", "/app/manifests/latest", 1));
    proxy.add_fault(Fault::status("PUT", "/app/manifests/latest", 2, 400).times(1));
    let args = [
        "--request-timeout",
        "100ms",
        &proxy.image("app:staging-2"),
        "latest",
    ];
    let step = Sandbox::new().in_actions(&args, &[], None);
    proxy.release();
    assert_annotated_once(&step, 1, "may have landed");
    registry.assert_at("app", "latest", &old.digest);
}
