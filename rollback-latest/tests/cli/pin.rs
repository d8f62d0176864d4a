//! Pinned promote: `--pin` records what the gate tests, `--pinned` moves
//! `latest` to exactly that, or refuses.

use serde::Deserialize;
use testkit::registry::{Registry, PASSWORD, USER};
use testkit::{Output, Sandbox};

use crate::support::*;

/// One line of a pin file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pin {
    image: String,
    tag: String,
    digest: String,
    source: String,
    expect_current: Option<String>,
}

/// Runs `--pin SHA` and saves its stdout as `pinned.jsonl` in `sandbox`.
fn pin(fleet: &Fleet, sandbox: &Sandbox) -> (Vec<Pin>, std::path::PathBuf) {
    let out = Output::of(&mut fleet.cmd(sandbox, &["--pin", SHA]), None);
    assert_code(&out, 0);
    let pins: Vec<Pin> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let path = sandbox.path("pinned.jsonl");
    std::fs::write(&path, &out.stdout).expect("write the pin file");
    (pins, path)
}

fn pinned(fleet: &Fleet, sandbox: &Sandbox, args: &[&str]) -> Output {
    // The images come from the file: ROLLBACK_IMAGES (set by `cmd`) is not read.
    Output::of(&mut fleet.cmd(sandbox, args), None)
}

#[test]
fn pin_changes_nothing_and_names_the_tested_manifests() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let (pins, _) = pin(&fleet, &sandbox);
    assert_eq!(fleet.puts(), 0);
    assert_eq!(fleet.latest(), fleet.old_latest());
    let expected: Vec<Pin> = [PLATFORM, TENANT]
        .iter()
        .enumerate()
        .map(|(i, repo)| Pin {
            image: fleet.image(repo),
            tag: "latest".into(),
            digest: fleet.new[i].clone(),
            source: format!("staging-{SHA}"),
            expect_current: Some(fleet.old[i].clone()),
        })
        .collect();
    assert_eq!(pins, expected);
}

#[test]
fn a_staging_tag_re_pushed_after_the_pin_cannot_slip_in() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let (_, file) = pin(&fleet, &sandbox);
    // The publish job re-runs: staging-<sha> now names untested manifests.
    let staging = format!("staging-{SHA}");
    let untested = [
        fleet.push(PLATFORM, &staging, "untested-platform"),
        fleet.push(TENANT, &staging, "untested-tenant"),
    ];
    assert_ne!(untested, fleet.new);

    let out = pinned(&fleet, &sandbox, &["--pinned", file.to_str().unwrap()]);
    assert_code(&out, 0);
    assert_eq!(
        fleet.latest(),
        fleet.new_latest(),
        "latest is at the pinned (tested) digests, not the re-pushed ones"
    );
    let records = tags(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    for (i, repo) in [PLATFORM, TENANT].into_iter().enumerate() {
        let r = by_image(&records, &fleet.image(repo));
        assert_eq!(r.digest, fleet.new[i]);
        assert_eq!(r.previous.as_deref(), Some(fleet.old[i].as_str()));
        assert_eq!(r.source.as_deref(), Some(staging.as_str()));
        assert!(r.changed);
    }
    assert_has(&out.stderr, "=== ROLLBACK COMPLETE ===");

    // The promote job re-runs: latest is already at the pinned digests, so
    // the pin (whose expect_current no longer holds) is a no-op, not a refusal.
    // (The pin names the images: a blank ROLLBACK_IMAGES is not even read.)
    let puts = fleet.puts();
    let mut cmd = fleet.cmd(&sandbox, &["--pinned", file.to_str().unwrap()]);
    let out = Output::of(cmd.env("ROLLBACK_IMAGES", ","), None);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "nothing written again");
    assert!(tags(&out).iter().all(|r| !r.changed));
    assert_eq!(fleet.latest(), fleet.new_latest());
}

#[test]
fn latest_moved_after_the_pin_is_refused_and_nothing_changes() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let (_, file) = pin(&fleet, &sandbox);
    // Another promotion (or a rollback) moved platform's latest meanwhile.
    let hotfix = fleet.push(PLATFORM, "latest", "hotfix");
    fleet.proxy.reset_counts();

    let out = pinned(&fleet, &sandbox, &["--pinned", file.to_str().unwrap()]);
    assert_code(&out, 1);
    assert_eq!(fleet.puts(), 0, "nothing may be written");
    assert_eq!(
        fleet.latest(),
        [Some(hotfix.clone()), Some(fleet.old[1].clone())]
    );
    let platform = fleet.image(PLATFORM);
    assert_has(
        &out.stderr,
        &format!(
            "{platform}:latest points at {hotfix}, not the expected {}; nothing was changed",
            fleet.old[0]
        ),
    );
    assert_has(&out.stderr, "another promotion or rollback moved it");
    assert_has(&out.stderr, "=== ROLLBACK REFUSED: nothing was changed ===");
    assert!(!out.stderr.contains("ROLLBACK COMPLETE"), "{}", out.stderr);

    // A dry run of the same file says so too, and also changes nothing.
    let out = pinned(
        &fleet,
        &sandbox,
        &["--pinned", file.to_str().unwrap(), "--dry-run"],
    );
    assert_code(&out, 1);
    assert_has(&out.stderr, "moved it since the pin");
    assert_has(&out.stderr, "=== ROLLBACK REFUSED: nothing was changed ===");
    assert_eq!(fleet.puts(), 0);
}

#[test]
fn a_bad_pin_file_is_refused_by_line_before_any_request() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let (_, file) = pin(&fleet, &sandbox);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cases = [
        (
            format!(
                "{}\n{}\n",
                lines[0],
                lines[1].replace("\"latest\"", "\"stable\"")
            ),
            "pinned.jsonl:2: tag \"stable\" is not \"latest\"",
        ),
        (
            format!("{}\n{}\n", lines[0], lines[0]),
            "is pinned twice (also on line 1)",
        ),
        (
            format!("{}\n", lines[0].replace(",\"expect_current\"", ",\"x\"")),
            "pinned.jsonl:1: missing field \"expect_current\"",
        ),
        (String::new(), "no pinned moves"),
    ];
    fleet.proxy.reset_counts();
    for (content, says) in cases {
        std::fs::write(&file, &content).unwrap();
        let out = pinned(&fleet, &sandbox, &["--pinned", file.to_str().unwrap()]);
        assert_code(&out, 2);
        assert_has(&out.stderr, says);
    }
    assert_eq!(fleet.proxy.count(), 0, "no request for a bad file");
    assert_eq!(fleet.latest(), fleet.old_latest());
}

#[test]
fn a_pinned_promote_logs_in_to_the_registry_of_the_pinned_images() {
    let fleet = Fleet::with(Registry::start_htpasswd(), true);
    let sandbox = Sandbox::new(BIN);
    let login = [("REGISTRY_USERNAME", USER), ("REGISTRY_PASSWORD", PASSWORD)];
    let mut cmd = fleet.cmd(&sandbox, &["--pin", SHA]);
    let out = Output::of(cmd.envs(login), None);
    assert_code(&out, 0);
    let file = sandbox.path("pinned.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();

    let mut cmd = sandbox.cmd(&["--pinned", file.to_str().unwrap()]);
    let out = Output::of(cmd.envs(login), None);
    assert_code(&out, 0);
    assert_hidden(&out, PASSWORD);
    assert_eq!(fleet.latest(), fleet.new_latest());
}
