//! Which images move: `--image`, else `ROLLBACK_IMAGES`, else the defaults;
//! never the generic `IMAGE_NAME`/`TENANT_IMAGE_NAME`.

use testkit::Sandbox;

use crate::support::*;

#[test]
fn image_name_pointing_at_another_image_is_ignored() {
    let fleet = Fleet::new(true);
    // Another project in the same registry, with its own staging build.
    let other = "acme/other";
    let other_latest = fleet.push(other, "latest", "other-old");
    fleet.push(other, &format!("staging-{SHA}"), "other-new");
    let out = fleet.run(
        &[SHA],
        &[
            ("IMAGE_NAME", &fleet.image(other)),
            ("TENANT_IMAGE_NAME", &fleet.image(other)),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        fleet.digest_of(other, "latest"),
        Some(other_latest),
        "IMAGE_NAME's image must not move"
    );
    assert_eq!(fleet.latest(), fleet.new_latest());
    assert!(!out.stderr.contains(other), "{}", out.stderr);
}

#[test]
fn rollback_images_is_split_on_spaces_commas_and_newlines() {
    let fleet = Fleet::new(true);
    let list = format!("\n {},\n{}\n", fleet.image(PLATFORM), fleet.image(TENANT));
    let out = Sandbox::new(BIN).run(&[SHA], &[("ROLLBACK_IMAGES", &list)], None);
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.new_latest());
    assert_has(
        &out.stderr,
        &format!(
            "rollback-latest: 2 images from ROLLBACK_IMAGES: {}, {}\n",
            fleet.image(PLATFORM),
            fleet.image(TENANT)
        ),
    );
}

#[test]
fn the_image_flag_wins_over_rollback_images() {
    let fleet = Fleet::new(true);
    let platform = fleet.image(PLATFORM);
    let out = Sandbox::new(BIN).run(
        &["--image", &platform, SHA],
        &[("ROLLBACK_IMAGES", &fleet.image(TENANT))],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(
        fleet.latest(),
        [Some(fleet.new[0].clone()), Some(fleet.old[1].clone())],
        "only --image's image moves"
    );
    assert_has(
        &out.stderr,
        &format!("rollback-latest: 1 image from --image: {platform}\n"),
    );
}

#[test]
fn an_empty_rollback_images_is_an_error_not_the_defaults() {
    for (value, message) in [
        (" , \n", "ROLLBACK_IMAGES is set but names no image"),
        ("ok/image Bad/Image", "ROLLBACK_IMAGES entry 2: "),
    ] {
        let out = Sandbox::new(BIN).run(&[SHA], &[("ROLLBACK_IMAGES", value)], None);
        assert_code(&out, 2);
        assert_has(&out.stderr, message);
        assert_eq!(out.stdout, "");
    }
}
