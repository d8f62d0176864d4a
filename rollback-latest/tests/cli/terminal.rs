//! `--list` and `--dry-run` on a terminal: a table for people, no JSON;
//! `--json` forces records there too.

use crate::support::*;

#[test]
fn dry_run_on_a_terminal_is_a_table_without_records() {
    let fleet = Fleet::new(true);
    let out = run_on_terminal(&fleet, &["--dry-run", SHA]);
    assert_code(&out, 0);
    assert!(
        !out.stdout.contains('{'),
        "no JSON on a terminal:\n{}",
        out.stdout
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("IMAGE "))
        .unwrap_or_else(|| panic!("no table header:\n{}", out.stdout));
    assert!(lines[header].contains("  NOW  "), "{}", lines[header]);
    for (i, repo) in [PLATFORM, TENANT].into_iter().enumerate() {
        let row = lines[header + 1 + i];
        assert!(row.starts_with(&fleet.image(repo)), "{row}");
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells[1..],
            [
                "latest",
                fleet.old[i].as_str(),
                fleet.new[i].as_str(),
                "←",
                &format!("staging-{SHA}")
            ],
            "{row}"
        );
    }
    assert_has(&out.stdout, "=== DRY RUN: nothing was changed ===");
    assert_eq!(fleet.latest(), fleet.old_latest());
}

#[test]
fn list_on_a_terminal_is_a_table_marking_latest() {
    let fleet = Fleet::new(true);
    assert_code(&fleet.run(&[SHA], &[]), 0);
    let out = run_on_terminal(&fleet, &["--list"]);
    assert_code(&out, 0);
    assert!(
        !out.stdout.contains('{'),
        "no JSON on a terminal:\n{}",
        out.stdout
    );
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with('*') && l.contains(&fleet.image(PLATFORM)))
        .unwrap_or_else(|| panic!("no marked row:\n{}", out.stdout));
    assert!(row.contains(&format!("staging-{SHA}")), "{row}");
    assert!(row.contains(&fleet.new[0]), "{row}");
    assert!(row.ends_with("← latest"), "{row}");
}

#[test]
fn json_forces_records_on_a_terminal() {
    let fleet = Fleet::new(true);
    let out = run_on_terminal(&fleet, &["--json", "--dry-run", SHA]);
    assert_code(&out, 0);
    let records: Vec<Tag> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| Tag::parse(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert!(records.iter().all(|r| r.dry_run));
    assert!(
        !out.stdout.contains("DRY RUN"),
        "no table with --json:\n{}",
        out.stdout
    );
}
