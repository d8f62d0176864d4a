//! A closed stdout stops the tool quietly, but never as success when work
//! was left undone or unreported (issue 11.1).

use testkit::image::Kind;

use crate::support::{assert_code, request, run_with_closed_stdout, Registry};

#[test]
fn a_resolve_whose_digest_was_not_printed_is_not_success() {
    let registry = Registry::start();
    registry.pusher().push("app", "v1", Kind::Oci, "pipe");
    let out = run_with_closed_stdout(&[&format!("{}/app:v1", registry.host())], None);
    assert_code(&out, 1);
    assert_eq!(
        out.stderr,
        "registry-tag: stdout closed: the digest was not printed\n"
    );
}

#[test]
fn a_list_cut_short_is_not_success() {
    let registry = Registry::start();
    registry.pusher().push("app", "v1", Kind::Oci, "pipe");
    let image = format!("{}/app", registry.host());
    let out = run_with_closed_stdout(&["--list", &image], None);
    assert_code(&out, 1);
    assert!(
        out.stderr.contains(&format!(
            "stdout closed: the listing of {image} stopped after 0 tags"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn moves_whose_records_were_not_written_are_not_success_but_stay_made() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let new = pusher.push("a", "staging-1", Kind::Oci, "new");
    let h = registry.host();
    let stdin = request(&h, "a", "staging-1", "latest");
    let out = run_with_closed_stdout(&["--atomic"], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr
            .contains("stdout closed: the records were not all written (the moves were made)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("stdout closed").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(pusher.digest_of("a", "latest"), Some(new.digest));
}

#[test]
fn independent_moves_stop_at_a_closed_stdout_and_say_what_was_not_made() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a = pusher.push("a", "staging-2", Kind::Oci, "a");
    pusher.push("b", "staging-2", Kind::Oci, "b");
    let h = registry.host();
    let stdin = request(&h, "a", "staging-2", "latest") + &request(&h, "b", "staging-2", "latest");
    let out = run_with_closed_stdout(&[], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("stdout closed: 1 of 2 moves not made"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("stdout closed").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(pusher.digest_of("a", "latest"), Some(a.digest));
    assert_eq!(pusher.digest_of("b", "latest"), None);
}

#[test]
fn a_failed_move_into_a_closed_pipe_is_still_a_failure() {
    let registry = Registry::start();
    registry.pusher().push("a", "latest", Kind::Oci, "old");
    let h = registry.host();
    let stdin = request(&h, "a", "staging-404", "latest");
    let out = run_with_closed_stdout(&["--atomic"], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("staging-404 not found"),
        "{}",
        out.stderr
    );
}
