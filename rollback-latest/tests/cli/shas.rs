//! The sha argument: checked before any request.

use testkit::Sandbox;

use crate::support::*;

#[test]
fn a_forty_character_sha_selects_the_short_staging_tag() {
    let fleet = Fleet::new(true);
    let platform = fleet.image(PLATFORM);
    let tenant = fleet.image(TENANT);
    // --image replaces the variable (which points nowhere here).
    let out = Sandbox::new(BIN).run(
        &["--image", &platform, "--image", &tenant, FULL_SHA],
        &[("ROLLBACK_IMAGES", "127.0.0.1:1/nowhere")],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.new_latest());
}

#[test]
fn invalid_shas_are_usage_errors_before_any_request() {
    let fleet = Fleet::new(true);
    fleet.proxy.reset_counts();
    let forty_one = "a".repeat(41);
    for bad in [
        "latest",
        "staging-abc1234",
        "",
        "4c1d56",
        forty_one.as_str(),
        "4c1d56g",
    ] {
        let out = fleet.run(&[bad], &[]);
        assert_code(&out, 2);
        assert_eq!(out.stdout, "", "{bad:?}");
        assert!(
            out.stderr.starts_with("rollback-latest: "),
            "{bad:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("like 4c1d56e") || out.stderr.contains("staging- is added"),
            "{bad:?} should show the expected form: {}",
            out.stderr
        );
    }
    assert_eq!(fleet.proxy.count(), 0, "no request for a bad sha");
    assert_eq!(fleet.latest(), fleet.old_latest());
}

#[test]
fn an_uppercase_sha_is_read_as_the_lowercase_staging_tag() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&["--json", &FULL_SHA.to_uppercase()], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.new_latest());
    let records = tags(&out);
    assert!(
        records
            .iter()
            .all(|r| r.source.as_deref() == Some(&*format!("staging-{SHA}"))),
        "{records:#?}"
    );
}
