//! `--dry-run` and `--list`: look, change nothing.

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

#[test]
fn list_shows_staging_tags_and_marks_latest() {
    let fleet = Fleet::new(true);
    // Roll forward first so latest matches a staging tag.
    assert_code(&fleet.run(&[SHA], &[]), 0);
    fleet.push(PLATFORM, "staging-1111111", "older");
    let puts = fleet.puts();
    let out = fleet.run(&["--list"], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "--list writes nothing");
    let records = tags(&out);
    let platform: Vec<&Tag> = records
        .iter()
        .filter(|r| r.image == fleet.image(PLATFORM))
        .collect();
    let tags: Vec<&str> = platform.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["staging-1111111", &format!("staging-{SHA}")]);
    assert_eq!(platform[1].latest, Some(true));
    assert_eq!(platform[1].digest, fleet.new[0]);
    assert_eq!(platform[0].latest, Some(false));
    assert!(
        !records.iter().any(|r| r.tag == "latest"),
        "only staging tags are listed"
    );
    assert!(
        !out.stderr.contains("sha256:"),
        "no table on a pipe: {}",
        out.stderr
    );
}
