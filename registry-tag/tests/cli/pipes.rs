//! A closed stdout stops the tool quietly, but never as success when work
//! was left undone or unreported (issue 11.1).

use testkit::image::Kind;
use testkit::Output;

use crate::support::{assert_exit, run_with_closed_stdout, to_latest, Registry};

/// Exit 1 saying `text`, in the one "stdout closed" line.
#[track_caller]
fn assert_stopped(out: &Output, text: &str) {
    assert_exit(out, 1, text);
    let said = out.stderr.matches("stdout closed").count();
    assert_eq!(said, 1, "{}", out.stderr);
}

#[test]
fn a_resolve_whose_digest_was_not_printed_is_not_success() {
    let (registry, _) = Registry::holding("app", "v1", Kind::Oci);
    let out = run_with_closed_stdout(&[&registry.image("app:v1")], None);
    assert_stopped(&out, "stdout closed: the digest was not printed");
    assert_eq!(
        out.stderr,
        "registry-tag: stdout closed: the digest was not printed\n"
    );
}

#[test]
fn a_list_cut_short_is_not_success() {
    let (registry, _) = Registry::holding("app", "v1", Kind::Oci);
    let image = registry.image("app");
    let out = run_with_closed_stdout(&["--list", &image], None);
    assert_exit(
        &out,
        1,
        &format!("stdout closed: the listing of {image} stopped after 0 tags"),
    );
}

#[test]
fn moves_whose_records_were_not_written_are_not_success_but_stay_made() {
    let (registry, new) = Registry::holding("a", "staging-1", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["a"], "staging-1");
    let out = run_with_closed_stdout(&["--atomic"], Some(&stdin));
    assert_stopped(
        &out,
        "stdout closed: the records were not all written (the moves were made)",
    );
    registry.assert_at("a", "latest", &new.digest);
}

#[test]
fn independent_moves_stop_at_a_closed_stdout_and_say_what_was_not_made() {
    let (registry, a) = Registry::holding("a", "staging-2", Kind::Oci);
    registry.push("b", "staging-2", Kind::Oci, "b");
    let stdin = to_latest(&registry.host(), &["a", "b"], "staging-2");
    let out = run_with_closed_stdout(&[], Some(&stdin));
    assert_stopped(&out, "stdout closed: 1 of 2 moves not made");
    // The first move was made; the second was not.
    let latest = ["a", "b"].map(|repo| registry.digest_of(repo, "latest"));
    assert_eq!(latest, [Some(a.digest), None]);
}

#[test]
fn a_failed_move_into_a_closed_pipe_is_still_a_failure() {
    let (registry, _) = Registry::holding("a", "latest", Kind::Oci);
    let stdin = to_latest(&registry.host(), &["a"], "staging-404");
    let out = run_with_closed_stdout(&["--atomic"], Some(&stdin));
    assert_exit(&out, 1, "staging-404 not found");
}
