//! Under GitHub Actions every error is one `::error` annotation: the one
//! `common::exit::finish` writes. registry-tag itself prints its failures
//! as plain lines, so no error path annotates twice. A move of unknown
//! outcome is counted in races.rs (a PUT that lands after the client gave
//! up), a missing source under `--atomic` in reports.rs.

use testkit::image::Kind;
use testkit::registry::USER;

use crate::support::{to_latest, Registry, Sandbox};

#[test]
fn a_bad_input_line_a_bad_flag_and_a_missing_tag_are_each_annotated_once() {
    let (registry, _) = Registry::holding("app", "latest", Kind::Oci);
    let sandbox = Sandbox::new();
    let bad_line = format!("{}not json\n", to_latest(&registry.host(), &["app"], "v1"));
    let step = sandbox.in_actions(&["--atomic"], &[], Some(&bad_line));
    step.assert_annotated_once(2, "stdin:2: not valid JSON");

    let step = sandbox.in_actions(&["--timeout", "30x", "127.0.0.1:9/app:v1"], &[], None);
    step.assert_annotated_once(2, "\"30x\" is not a duration");

    let step = sandbox.in_actions(&[&registry.image("app:staging-404"), "latest"], &[], None);
    step.assert_annotated_once(1, "tag staging-404 not found in");
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
    step.assert_annotated_once(1, "REGISTRY_USERNAME/REGISTRY_PASSWORD");
}

#[test]
fn failed_independent_moves_are_one_annotation_for_the_run() {
    let (registry, _) = Registry::holding("a", "staging-1", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["missing", "a"], "staging-1");
    let step = Sandbox::new().in_actions(&[], &[], Some(&stdin));
    // The move's own failure is a plain line; the run's error is annotated.
    step.assert_annotated_once(1, "1 of 2 moves failed");
    let plain = step
        .out
        .stderr
        .lines()
        .filter(|l| l.contains("staging-1 not found"));
    assert_eq!(plain.count(), 1, "{}", step.out.stderr);
}
