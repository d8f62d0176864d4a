//! `--dry-run`: look, change nothing.

use crate::support::*;

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&["--dry-run", SHA], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.old_latest());
    assert_eq!(fleet.puts(), 0);
    // On a pipe: records only, no table on either stream.
    let records = tags(&out);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.dry_run && !r.changed));
    for (i, repo) in [PLATFORM, TENANT].into_iter().enumerate() {
        let r = by_image(&records, &fleet.image(repo));
        assert_eq!(r.previous.as_deref(), Some(fleet.old[i].as_str()));
        assert_eq!(r.digest, fleet.new[i]);
    }
    assert!(!out.stderr.contains("sha256:"), "{}", out.stderr);
}
