//! Under GitHub Actions: step outputs, a summary whose first line is the
//! verdict, and `-v` traces.

use std::collections::HashMap;

use testkit::{Output, Sandbox};

use crate::support::*;

/// A run under Actions; returns its output, `GITHUB_OUTPUT` parsed, and
/// the step summary.
fn run_in_actions(fleet: &Fleet, args: &[&str]) -> (Output, HashMap<String, String>, String) {
    let sandbox = Sandbox::new(BIN);
    let outputs = sandbox.path("outputs");
    let summary = sandbox.path("summary.md");
    let mut cmd = fleet.cmd(&sandbox, args);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = Output::of(&mut cmd, None);
    let text = std::fs::read_to_string(&outputs).unwrap_or_default();
    let md = std::fs::read_to_string(&summary).unwrap_or_default();
    let outputs = testkit::actions::step_outputs(&text);
    (out, outputs.into_iter().collect(), md)
}

#[test]
fn outputs_name_where_latest_points_and_whether_it_changed() {
    let fleet = Fleet::new(true);
    let (out, outputs, md) = run_in_actions(&fleet, &[SHA]);
    assert_code(&out, 0);
    let digests: HashMap<String, String> =
        serde_json::from_str(&outputs["digests"]).expect("digests is a JSON object");
    assert_eq!(
        digests,
        HashMap::from([
            (fleet.image(PLATFORM), fleet.new[0].clone()),
            (fleet.image(TENANT), fleet.new[1].clone()),
        ])
    );
    assert_eq!(outputs["changed"], "true");
    assert!(!outputs.contains_key("digest"), "{outputs:?}");

    assert_eq!(
        md.lines().next(),
        Some(format!("### rollback-latest: latest → `staging-{SHA}` on 2 images").as_str())
    );
    for i in 0..2 {
        assert_has(&md, &format!("`{}` | `{}` |", fleet.old[i], fleet.new[i]));
    }

    // Again, with one image: `digest`, and nothing changed.
    let platform = fleet.image(PLATFORM);
    let (out, outputs, md) = run_in_actions(&fleet, &["--image", &platform, SHA]);
    assert_code(&out, 0);
    assert_eq!(outputs["digest"], fleet.new[0]);
    assert_eq!(outputs["changed"], "false");
    assert!(!outputs.contains_key("digests"));
    assert_eq!(
        md.lines().next(),
        Some(format!("### rollback-latest: latest already at `staging-{SHA}` on 1 image").as_str())
    );
}

#[test]
fn a_failed_rollback_says_so_first_and_outputs_where_latest_is() {
    let fleet = Fleet::new(true);
    fleet.refuse_tenant_move();
    let (out, outputs, md) = run_in_actions(&fleet, &[SHA]);
    assert_code(&out, 1);
    assert_eq!(
        md.lines().next(),
        Some(
            format!("### rollback-latest: FAILED: latest → `staging-{SHA}` not done; every image as before")
                .as_str()
        ),
        "{md}"
    );
    assert_eq!(outputs["changed"], "false");
    let digests: HashMap<String, String> = serde_json::from_str(&outputs["digests"]).unwrap();
    assert_eq!(digests[&fleet.image(PLATFORM)], fleet.old[0]);
    assert_eq!(digests[&fleet.image(TENANT)], fleet.old[1]);
    assert_has(&out.stderr, "::error title=rollback-latest::");
}

#[test]
fn verbose_traces_every_request() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&["-v", "--dry-run", SHA], &[]);
    assert_code(&out, 0);
    let image = fleet.image(PLATFORM);
    let (host, repo) = image.split_once('/').unwrap();
    let url = format!("http://{host}/v2/{repo}/manifests/latest");
    assert_has(
        &out.stderr,
        &format!("rollback-latest: HEAD {url} -> 200 in "),
    );
    let traced = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("rollback-latest: ") && l.contains(" -> "))
        .count();
    assert_eq!(
        traced,
        fleet.proxy.count(),
        "one line per request:\n{}",
        out.stderr
    );
}
