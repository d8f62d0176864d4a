//! Move requests round-trip: tag records come back in as requests, with a
//! `digest` target, a per-request `expect_current`, output-only fields
//! ignored and unknown fields passed through; bad combinations change
//! nothing.

use serde_json::{json, Value};
use testkit::image::Kind;

use crate::support::{assert_code, assert_exit, feed, tag_records, Registry, Sandbox};

fn lines(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn a_resolved_record_retagged_latest_moves_latest_to_that_digest() {
    let (registry, old) = Registry::holding("app", "latest", Kind::Oci);
    let tested = registry.push("app", "staging-abc", Kind::OciIndex, "tested");
    let sandbox = Sandbox::new();
    // registry-tag IMG:staging-abc | jq -c '.tag="latest" | .region="eu"' | registry-tag --atomic
    let out = sandbox.call(&[&registry.image("app:staging-abc")]);
    assert_code(&out, 0);
    let mut record: Value = serde_json::from_str(out.stdout.trim()).expect("one record");
    record["tag"] = json!("latest");
    record["region"] = json!("eu");
    // staging-abc moves on before the promotion: the record's digest wins.
    registry.push("app", "staging-abc", Kind::Oci, "untested");

    let out = sandbox.feed(&["--atomic"], &lines(&[record]));
    assert_code(&out, 0);
    registry.assert_at("app", "latest", &tested.digest);
    let records = tag_records(&out);
    assert_eq!(records.len(), 1, "{}", out.stdout);
    let moved = &records[0];
    assert_eq!(moved.digest, tested.digest);
    assert_eq!(moved.previous.as_deref(), Some(old.digest.as_str()));
    assert_eq!(moved.source.as_deref(), Some(tested.digest.as_str()));
    assert!(moved.changed);
    assert_eq!(
        moved.extra.get("region"),
        Some(&json!("eu")),
        "{}",
        out.stdout
    );

    // The move's own record, fed back, is a request that is already done.
    let again = sandbox.feed(&["--atomic"], &out.stdout);
    assert_code(&again, 0);
    let records = tag_records(&again);
    assert!(!records[0].changed, "{}", again.stdout);
    assert_eq!(records[0].digest, tested.digest);
    assert_eq!(records[0].extra.get("region"), Some(&json!("eu")));
}

#[test]
fn a_pinned_record_moves_to_its_digest_and_names_its_tag() {
    let (registry, tested) = Registry::holding("app", "staging-def", Kind::Oci);
    registry.push("app", "staging-def", Kind::Oci, "re-pushed");
    let request = json!({
        "image": registry.image("app"),
        "tag": "latest",
        "digest": tested.digest,
        "source": "staging-def",
        "expect_current": null,
    });
    let out = feed(&["--atomic"], &lines(&[request]));
    assert_code(&out, 0);
    registry.assert_at("app", "latest", &tested.digest);
    let records = tag_records(&out);
    assert_eq!(records[0].source.as_deref(), Some("staging-def"));
    assert!(records[0].previous.is_none());
}

#[test]
fn each_request_carries_its_own_expect_current() {
    let registry = Registry::start();
    let h = registry.host();
    let (a_old, a_new) = registry.latest_and("a", "staging-1", Kind::Oci);
    let b_new = registry.push("b", "staging-1", Kind::Oci, "b-new");
    let requests = |a_expect: &str| {
        lines(&[
            json!({"image": format!("{h}/a"), "source": "staging-1", "tag": "latest", "expect_current": a_expect}),
            // b has no latest yet: null = it must not exist.
            json!({"image": format!("{h}/b"), "source": "staging-1", "tag": "latest", "expect_current": null}),
        ])
    };
    let sandbox = Sandbox::new();
    // a is not where the request expects it: nothing moves, b included.
    let (old, new) = (&a_old.digest, &a_new.digest);
    let out = sandbox.feed(&["--atomic"], &requests(new));
    assert_exit(
        &out,
        1,
        &format!("{h}/a:latest points at {old}, not the expected {new}; nothing was changed"),
    );
    registry.assert_at("a", "latest", old);
    registry.assert_absent("b", "latest");

    let out = sandbox.feed(&["--atomic"], &requests(old));
    assert_code(&out, 0);
    registry.assert_at("a", "latest", new);
    registry.assert_at("b", "latest", &b_new.digest);

    // b exists now: the same compare-and-swap is refused.
    let out = sandbox.feed(&["--atomic"], &requests(new));
    assert_exit(&out, 1, "not the expected no tag at all");
}

#[test]
fn a_request_overrides_the_expect_current_flag() {
    let (registry, old, new) = Registry::promoting("a", "staging-2", Kind::Oci);
    let request = json!({"image": registry.image("a"), "source": "staging-2",
                         "tag": "latest", "expect_current": old.digest});
    let wrong = format!("sha256:{}", "e".repeat(64));
    let out = feed(
        &["--atomic", "--expect-current", &wrong],
        &lines(&[request]),
    );
    assert_code(&out, 0);
    registry.assert_at("a", "latest", &new.digest);
}

#[test]
fn bad_combinations_are_exit_2_naming_the_line_and_change_nothing() {
    let (registry, old, new) = Registry::promoting("a", "staging-3", Kind::Oci);
    let image = registry.image("a");
    let other = format!("sha256:{}", "0".repeat(64));
    let good = json!({"image": image, "source": "staging-3", "tag": "latest"});
    let cases: [(Value, &str); 4] = [
        (
            json!({"image": image, "tag": "v2", "source": other, "digest": new.digest}),
            "stdin:2: \"source\" sha256:0000",
        ),
        (
            json!({"image": image, "tag": "v2", "digest": "sha256:abc"}),
            "stdin:2: \"digest\": digest \"sha256:abc\"",
        ),
        (
            json!({"image": image, "tag": "v2", "source": null}),
            &format!("stdin:2: {image}:v2 has no target"),
        ),
        (
            json!({"image": image, "tag": "v2", "source": "staging-3", "expect_current": "latest"}),
            "stdin:2: \"expect_current\"",
        ),
    ];
    for (bad, message) in cases {
        for atomic in [true, false] {
            let args: &[&str] = if atomic { &["--atomic"] } else { &[] };
            let out = feed(args, &lines(&[good.clone(), bad.clone()]));
            assert_code(&out, 2);
            assert!(
                out.stderr.starts_with(&format!("registry-tag: {message}")),
                "{bad}: {}",
                out.stderr
            );
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            registry.assert_at("a", "latest", &old.digest);
            registry.assert_absent("a", "v2");
        }
    }
}
