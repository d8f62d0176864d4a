//! A closed stdout never turns into exit 0 when the output was not delivered.

use crate::support::*;

#[test]
fn a_move_whose_report_was_cut_short_is_not_success() {
    let fleet = Fleet::new(true);
    let out = run_with_closed_stdout(&fleet, &[SHA], &[]);
    assert_code(&out, 1);
    assert_eq!(
        fleet.latest(),
        fleet.new_latest(),
        "the move itself was made"
    );
    assert_has(
        &out.stderr,
        &format!(
            "rollback-latest: stdout closed: latest points at staging-{SHA} on 2 images, but the report was cut short"
        ),
    );
}

#[test]
fn a_failed_move_into_a_closed_pipe_is_still_a_failure() {
    let fleet = Fleet::new(true);
    fleet.refuse_tenant_move();
    for args in [&[SHA][..], &["--json", SHA][..]] {
        let out = run_with_closed_stdout(&fleet, args, &[]);
        assert_code(&out, 1);
        assert_has(&out.stderr, "=== ROLLBACK FAILED ===");
        assert_eq!(fleet.latest(), fleet.old_latest());
    }
}

#[test]
fn a_list_cut_short_is_not_success() {
    let fleet = Fleet::new(true);
    let out = run_with_closed_stdout(&fleet, &["--list"], &[]);
    assert_code(&out, 1);
    assert_has(
        &out.stderr,
        "stdout closed: the output was cut short; nothing was changed",
    );
}
