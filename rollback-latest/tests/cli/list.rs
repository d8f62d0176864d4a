//! `--list`: staging tags newest first by the image's creation time, the one
//! `latest` points at marked, `--limit`, and a bounded number of requests.

use testkit::Sandbox;

use crate::support::*;

#[test]
fn list_is_newest_first_by_creation_time_and_limited() {
    let fleet = Fleet::new(true);
    // Fleet's own staging-4c1d56e says nothing about its age: listed last.
    fleet.push_built(PLATFORM, "staging-aaaaaaa", "2026-01-01T00:00:00Z", false);
    // 08:00Z, from the index's first platform (the second says 2030).
    let b = fleet.push_built(
        PLATFORM,
        "staging-bbbbbbb",
        "2026-03-01T10:00:00+02:00",
        true,
    );
    let c = fleet.push_built(PLATFORM, "staging-ccccccc", "2026-02-01T00:00:00Z", false);
    fleet.put_manifest(PLATFORM, "latest", &c);
    fleet.proxy.reset_counts();

    let platform = fleet.image(PLATFORM);
    let out = Sandbox::new(BIN).run(&["--list", "--image", &platform, "--limit", "3"], &[], None);
    assert_code(&out, 0);
    let records = tags(&out);
    let shown: Vec<(&str, Option<&str>, Option<bool>)> = records
        .iter()
        .map(|r| (r.tag.as_str(), r.created.as_deref(), r.latest))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "staging-bbbbbbb",
                Some("2026-03-01T10:00:00+02:00"),
                Some(false)
            ),
            ("staging-ccccccc", Some("2026-02-01T00:00:00Z"), Some(true)),
            ("staging-aaaaaaa", Some("2026-01-01T00:00:00Z"), Some(false)),
        ]
    );
    assert_eq!(records[0].digest, b.digest);
    assert_has(
        &out.stderr,
        &format!("{platform}: 1 older staging-* tag not shown (--limit 3)"),
    );

    // Requests: one /v2/ ping, a HEAD of latest and the tag list; a HEAD per
    // staging tag (4); per digest its manifest, for an index also its first
    // platform manifest, and the config blob (2 + 3 + 2 + 3 for the fleet's
    // index): 17 in all — none of them a write.
    let requests = fleet.proxy.requests();
    assert_eq!(requests.len(), 17, "{requests:#?}");
    assert!(requests.iter().all(|(m, _)| m == "GET" || m == "HEAD"));
    let blobs = requests
        .iter()
        .filter(|(_, p)| p.contains("/blobs/"))
        .count();
    assert_eq!(
        blobs, 4,
        "one config blob per distinct image: {requests:#?}"
    );
}

#[test]
fn list_marks_latest_on_every_image_and_flags_a_latest_no_tag_has() {
    let fleet = Fleet::new(true);
    // Roll forward platform only, so the tenant's latest is an untagged build.
    let platform = fleet.image(PLATFORM);
    assert_code(
        &Sandbox::new(BIN).run(&["--image", &platform, SHA], &[], None),
        0,
    );
    fleet.push(PLATFORM, "staging-1111111", "older");
    let puts = fleet.puts();
    let out = fleet.run(&["--list"], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "--list writes nothing");
    let records = tags(&out);
    assert!(
        !records.iter().any(|r| r.tag == "latest"),
        "only staging tags are listed"
    );
    let marked: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r.latest == Some(true))
        .map(|r| (r.image.as_str(), r.tag.as_str()))
        .collect();
    assert_eq!(marked, [(platform.as_str(), &*format!("staging-{SHA}"))]);
    assert_has(
        &out.stderr,
        &format!(
            "{}:latest is at {}, which no staging-* tag has",
            fleet.image(TENANT),
            fleet.old[1]
        ),
    );
}
