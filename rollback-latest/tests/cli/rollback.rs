//! Moving `latest`: every image or none, verified, with the old script's lines.

use testkit::registry::{Registry, PASSWORD, USER};
use testkit::{Output, Sandbox};

use crate::support::*;

#[test]
fn the_drop_in_prints_the_scripts_lines_on_stdout_byte_for_byte() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.new_latest());
    let (p, t) = (fleet.image(PLATFORM), fleet.image(TENANT));
    let [new_p, new_t] = &fleet.new;
    assert_eq!(
        out.stdout,
        format!(
            "→ {p}\n  OK   {p}:latest → {new_p}\n→ {t}\n  OK   {t}:latest → {new_t}\n\n=== ROLLBACK COMPLETE ===\n"
        )
    );
    // What the script never printed goes to stderr: where each tag was.
    assert_has(&out.stderr, &format!("{p}:latest was {}", fleet.old[0]));
}

#[test]
fn json_puts_records_on_stdout_and_the_lines_on_stderr() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&["--json", SHA], &[]);
    assert_code(&out, 0);
    let [new_p, new_t] = fleet.new.clone();
    assert_eq!(fleet.latest(), fleet.new_latest());

    let records = tags(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    let p = by_image(&records, &fleet.image(PLATFORM));
    assert_eq!(p.tag, "latest");
    assert_eq!(p.digest, new_p);
    assert_eq!(p.previous.as_deref(), Some(fleet.old[0].as_str()));
    assert_eq!(p.source.as_deref(), Some(format!("staging-{SHA}").as_str()));
    assert!(p.changed);
    assert_eq!(by_image(&records, &fleet.image(TENANT)).digest, new_t);

    for line in [
        format!("→ {}\n", fleet.image(PLATFORM)),
        format!("  OK   {}:latest → {new_p}\n", fleet.image(PLATFORM)),
        format!("  OK   {}:latest → {new_t}\n", fleet.image(TENANT)),
        "\n=== ROLLBACK COMPLETE ===\n".to_string(),
    ] {
        assert_has(&out.stderr, &line);
    }
}

#[test]
fn an_extra_argument_is_refused_before_anything_moves() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&[SHA, "extra"], &[]);
    assert_code(&out, 2);
    assert_has(&out.stderr, "unexpected argument 'extra'");
    assert_eq!(fleet.proxy.count(), 0);
    assert_eq!(fleet.latest(), fleet.old_latest());
}

#[test]
fn a_missing_staging_tag_changes_nothing() {
    let fleet = Fleet::new(false);
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 1);
    assert_eq!(
        fleet.latest(),
        fleet.old_latest(),
        "latest must not move on either image"
    );
    assert_eq!(fleet.puts(), 0, "nothing may be written");
    assert_eq!(out.stdout, "");
    let tenant = fleet.image(TENANT);
    assert_has(&out.stderr, &format!("staging-{SHA} not found in {tenant}"));
    assert_has(&out.stderr, "did you type the wrong sha?");
    assert_has(&out.stderr, "nothing was changed");
}

#[test]
fn a_failed_second_move_restores_the_first() {
    let fleet = Fleet::new(true);
    assert_eq!(fleet.latest(), fleet.old_latest());
    fleet.refuse_tenant_move();
    let out = fleet.run(&["--json", SHA], &[]);
    assert_code(&out, 1);
    assert_eq!(
        fleet.latest(),
        fleet.old_latest(),
        "both latest tags read back at their old digests"
    );
    assert!(
        fleet
            .proxy
            .requests()
            .iter()
            .any(|(m, p)| m == "PUT" && p.ends_with("/molecule-ai/platform/manifests/latest")),
        "the first image was moved before the failure"
    );
    assert_has(&out.stderr, "=== ROLLBACK FAILED ===");
    assert_has(&out.stderr, "every tag is back at its previous digest");
    assert!(!out.stderr.contains("ROLLBACK COMPLETE"), "{}", out.stderr);
    // The records state where each image's latest is now: where it was.
    let records = tags(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    for record in records {
        assert!(!record.changed, "{record:?}");
    }
}

#[test]
fn already_at_the_target_is_success_without_writing() {
    let fleet = Fleet::new(true);
    assert_code(&fleet.run(&[SHA], &[]), 0);
    let puts = fleet.puts();
    let out = fleet.run(&["--json", SHA], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "no PUT when latest is already there");
    assert_has(&out.stderr, "nothing to do");
    let records = tags(&out);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| !r.changed));
}

#[test]
fn a_two_image_rollback_makes_at_most_twelve_requests() {
    let fleet = Fleet::new(true);
    fleet.proxy.reset_counts();
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 0);
    let requests = fleet.proxy.requests();
    assert!(
        requests.len() <= 12,
        "{} requests: {requests:#?}",
        requests.len()
    );
    assert_eq!(fleet.puts(), 2, "one PUT per image");
}

#[test]
fn credentials_work_and_never_show() {
    let fleet = Fleet::with(Registry::start_htpasswd(), true);
    let wrong = "Wr0ng-Passw0rd-91f2";
    let out = fleet.run(
        &[SHA],
        &[
            ("REGISTRY_USERNAME", USER),
            ("REGISTRY_PASSWORD", wrong),
            ("GITHUB_ACTIONS", "true"),
        ],
    );
    assert_code(&out, 1);
    // The mask comes before any line about the registry (the only ones
    // that could carry the password), and no other line carries it.
    let mask = format!("::add-mask::{wrong}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == mask)
        .unwrap_or_else(|| panic!("the password is not masked:\n{}", out.stderr));
    assert!(
        lines[..at]
            .iter()
            .all(|l| !l.contains("127.0.0.1") || l.starts_with("rollback-latest: 2 images from")),
        "the mask comes first:\n{}",
        out.stderr
    );
    let after_mask = lines[at..]
        .iter()
        .filter(|l| **l != mask)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !after_mask.contains(wrong),
        "password leaked:\n{after_mask}"
    );
    assert!(!out.stdout.contains(wrong));
    assert_has(&after_mask, "REGISTRY_USERNAME");
    assert_eq!(fleet.latest(), fleet.old_latest());

    let out = fleet.run(
        &[SHA],
        &[("REGISTRY_USERNAME", USER), ("REGISTRY_PASSWORD", PASSWORD)],
    );
    assert_code(&out, 0);
    assert_hidden(&out, PASSWORD);
    assert_eq!(fleet.latest(), fleet.new_latest());
}

#[test]
fn the_step_summary_tables_every_image() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let summary = sandbox.path("summary.md");
    let mut cmd = fleet.cmd(&sandbox, &[SHA]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    assert_code(&Output::of(&mut cmd, None), 0);
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert_has(&md, &format!("staging-{SHA}"));
    assert_has(&md, &fleet.image(PLATFORM));
    assert_has(&md, &fleet.image(TENANT));
    assert_has(&md, "| image | before | now |");
}
