//! Moving tags: every manifest type keeps its digest; guards; dry runs;
//! the request budget, counted through the proxy.

use testkit::image::Kind;
use testkit::proxy::Fault;
use testkit::token_server::{TokenField, TokenServer};

use crate::support::{
    assert_code, assert_exit, assert_says, call, feed, single_record, tag_records, to_latest,
    Registry, Sandbox,
};

#[test]
fn retag_keeps_the_source_digest_for_every_manifest_type() {
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    for (repo, kind) in [
        ("oci", Kind::Oci),
        ("docker", Kind::DockerV2),
        ("oci-index", Kind::OciIndex),
        ("docker-list", Kind::DockerList),
    ] {
        let (old, new) = registry.latest_and(repo, "staging-1234567", kind);
        let image = registry.image(repo);
        let out = sandbox.call(&[&format!("{image}:staging-1234567"), "latest"]);
        assert_code(&out, 0);
        let record = single_record(&out);
        assert_eq!(record.image, image, "{repo}");
        assert_eq!(record.tag, "latest");
        assert_eq!(record.digest, new.digest, "{repo}: the source's own digest");
        assert_eq!(record.previous, Some(old.digest.clone()));
        assert_eq!(record.source.as_deref(), Some("staging-1234567"));
        assert!(record.changed);
        // Read back independently: the tag holds the index, not a child.
        registry.assert_at(repo, "latest", &new.digest);
        assert!(!new.children.contains(&new.digest));
        assert_says(
            &out,
            &format!("moved {image}:latest → {}", &new.digest[..19]),
        );
    }
}

#[test]
fn several_new_tags_and_a_digest_source() {
    let (registry, pushed) = Registry::holding("app", "build", Kind::OciIndex);
    let source = registry.image(&format!("app@{}", pushed.digest));
    let out = call(&[&source, "latest", "stable"]);
    assert_code(&out, 0);
    let records = tag_records(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    for (record, tag) in records.iter().zip(["latest", "stable"]) {
        assert_eq!(record.tag, tag);
        assert_eq!(record.digest, pushed.digest);
        assert_eq!(record.source.as_ref(), Some(&pushed.digest));
        assert!(
            record.previous.is_none(),
            "a new tag has no previous digest"
        );
        registry.assert_at("app", tag, &pushed.digest);
    }
}

#[test]
fn a_tag_already_in_place_is_unchanged() {
    let (registry, pushed) = Registry::holding("app", "staging-1", Kind::Oci);
    registry.put_manifest("app", "latest", pushed.media_type, &pushed.bytes);
    let out = call(&[&registry.image("app:staging-1"), "latest"]);
    assert_code(&out, 0);
    let record = single_record(&out);
    assert!(!record.changed);
    assert_eq!(record.digest, pushed.digest);
    assert_says(&out, "unchanged");
}

#[test]
fn expect_current_guards_the_move() {
    let (registry, old, new) = Registry::promoting("app", "staging-2", Kind::Oci);
    let source = registry.image("app:staging-2");
    let sandbox = Sandbox::new();

    let wrong = format!("sha256:{}", "1".repeat(64));
    let out = sandbox.call(&["--expect-current", &wrong, &source, "latest"]);
    assert_exit(&out, 1, "not the expected");
    assert_says(&out, "nothing was changed");
    registry.assert_at("app", "latest", &old.digest);

    let out = sandbox.call(&["--expect-current", &old.digest, &source, "latest"]);
    assert_code(&out, 0);
    assert_eq!(single_record(&out).previous, Some(old.digest));
    registry.assert_at("app", "latest", &new.digest);
}

#[test]
fn dry_run_changes_nothing() {
    let (registry, old, new) = Registry::promoting("app", "staging-3", Kind::DockerV2);
    let source = registry.image("app:staging-3");
    let out = call(&["--dry-run", &source, "latest", "brand-new"]);
    assert_code(&out, 0);
    let records = tag_records(&out);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].digest, new.digest);
    assert_eq!(records[0].previous, Some(old.digest.clone()));
    assert!(records.iter().all(|r| r.dry_run && !r.changed));
    assert_says(&out, "would move");
    registry.assert_at("app", "latest", &old.digest);
    registry.assert_absent("app", "brand-new");
}

#[test]
fn one_retag_takes_at_most_six_requests() {
    // Plain registry: ping, HEAD destination, GET source, PUT, HEAD verify.
    let (registry, _) = Registry::holding("app", "staging-4", Kind::OciIndex);
    let proxy = registry.proxy();
    assert_code(&call(&[&proxy.image("app:staging-4"), "latest"]), 0);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 5, "{seen:#?}");

    // Bearer registry: the same plus one token request (pull,push asked
    // once). Its own token service: the test counts every token it grants.
    let tokens = TokenServer::start(&[("ci", "token-pass-1")], TokenField::Token);
    let registry = Registry::token(&tokens);
    registry.push("app", "staging-4", Kind::Oci, "count");
    let proxy = registry.proxy();
    let out = Sandbox::new().run(
        &[&proxy.image("app:staging-4"), "latest"],
        &[
            ("REGISTRY_USERNAME", "ci"),
            ("REGISTRY_PASSWORD", "token-pass-1"),
        ],
        None,
    );
    assert_code(&out, 0);
    let total = proxy.count() + tokens.requests();
    assert!(
        total <= 6,
        "{total} requests: {:#?} + {:?}",
        proxy.requests(),
        tokens.grants()
    );
    assert_eq!(tokens.requests(), 1, "{:?}", tokens.grants());
}

#[test]
fn a_two_image_rollback_takes_at_most_twelve_requests() {
    let tokens = TokenServer::start(&[("ci", "token-pass-2")], TokenField::Both);
    let registry = Registry::token(&tokens);
    let repos = ["platform", "platform-tenant"];
    for repo in repos {
        registry.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
        registry.push(repo, "staging-5", Kind::DockerList, &format!("{repo}-new"));
    }
    let proxy = registry.proxy();
    let out = Sandbox::new().run(
        &["--atomic"],
        &[
            ("REGISTRY_USERNAME", "ci"),
            ("REGISTRY_PASSWORD", "token-pass-2"),
        ],
        Some(&to_latest(&proxy.host(), &repos, "staging-5")),
    );
    assert_code(&out, 0);
    assert_eq!(tag_records(&out).len(), 2);
    let total = proxy.count() + tokens.requests();
    assert!(total <= 12, "{total} requests: {:#?}", proxy.requests());
}

#[test]
fn transient_failures_are_retried_honouring_retry_after() {
    let (registry, pushed) = Registry::holding("app", "staging-6", Kind::Oci);
    let proxy = registry.proxy();
    // The source GET fails once (503, Retry-After: 1), then goes through.
    proxy.add_fault(
        Fault::status("GET", "/app/manifests/staging-6", 1, 503)
            .times(1)
            .retry_after(1),
    );
    let started = std::time::Instant::now();
    let out = call(&[&proxy.image("app:staging-6"), "latest"]);
    assert_code(&out, 0);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(proxy.count_of("GET", "/manifests/staging-6"), 2);
    registry.assert_at("app", "latest", &pushed.digest);
}

#[test]
fn retries_are_bounded() {
    let (registry, _) = Registry::holding("app", "v1", Kind::Oci);
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("HEAD", "/app/manifests/v1", 1, 502));
    let out = call(&[&proxy.image("app:v1")]);
    assert_exit(&out, 1, "502");
    assert_eq!(
        proxy.count_of("HEAD", ""),
        4,
        "four attempts, then give up: {:#?}",
        proxy.requests()
    );
}

#[test]
fn independent_moves_go_on_after_a_failure() {
    let (registry, a) = Registry::holding("a", "staging-7", Kind::Oci);
    let out = feed(
        &[],
        &to_latest(&registry.host(), &["missing", "a"], "staging-7"),
    );
    assert_exit(&out, 1, "tag staging-7 not found in");
    assert_says(&out, "1 of 2 moves failed");
    assert_eq!(single_record(&out).digest, a.digest.as_str());
    registry.assert_at("a", "latest", &a.digest);
}
