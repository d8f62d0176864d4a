//! Moving tags: every manifest type keeps its digest; guards; dry runs;
//! the request budget, counted through the proxy.

use testkit::image::Kind;
use testkit::proxy::Fault;
use testkit::token_server::{TokenField, TokenServer};

use crate::support::{assert_code, single_record, tag_records, Registry, Sandbox};

#[test]
fn retag_keeps_the_source_digest_for_every_manifest_type() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let sandbox = Sandbox::new();
    for (repo, kind) in [
        ("oci", Kind::Oci),
        ("docker", Kind::DockerV2),
        ("oci-index", Kind::OciIndex),
        ("docker-list", Kind::DockerList),
    ] {
        let old = pusher.push(repo, "latest", kind, &format!("{repo}-old"));
        let new = pusher.push(repo, "staging-1234567", kind, &format!("{repo}-new"));
        let image = format!("{}/{repo}", registry.host());
        let out = sandbox.run(&[&format!("{image}:staging-1234567"), "latest"], &[], None);
        assert_code(&out, 0);
        let record = single_record(&out);
        assert_eq!(record.image, image, "{repo}");
        assert_eq!(record.tag, "latest");
        assert_eq!(record.digest, new.digest, "{repo}: the source's own digest");
        assert_eq!(record.previous, Some(old.digest.clone()));
        assert_eq!(record.source.as_deref(), Some("staging-1234567"));
        assert!(record.changed);
        // Read back independently: the tag holds the index, not a child.
        assert_eq!(
            pusher.digest_of(repo, "latest"),
            Some(new.digest.clone()),
            "{repo}"
        );
        assert!(!new.children.contains(&new.digest));
        assert!(
            out.stderr
                .contains(&format!("moved {image}:latest → {}", &new.digest[..19])),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn several_new_tags_and_a_digest_source() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let pushed = pusher.push("app", "build", Kind::OciIndex, "digest-src");
    let source = format!("{}/app@{}", registry.host(), pushed.digest);
    let out = Sandbox::new().run(&[&source, "latest", "stable"], &[], None);
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
        assert_eq!(pusher.digest_of("app", tag), Some(pushed.digest.clone()));
    }
}

#[test]
fn a_tag_already_in_place_is_unchanged() {
    let registry = Registry::start();
    let pushed = registry
        .pusher()
        .push("app", "staging-1", Kind::Oci, "same");
    registry
        .pusher()
        .put_manifest("app", "latest", pushed.media_type, &pushed.bytes);
    let out = Sandbox::new().run(
        &[&format!("{}/app:staging-1", registry.host()), "latest"],
        &[],
        None,
    );
    assert_code(&out, 0);
    let record = single_record(&out);
    assert!(!record.changed);
    assert_eq!(record.digest, pushed.digest);
    assert!(out.stderr.contains("unchanged"), "{}", out.stderr);
}

#[test]
fn expect_current_guards_the_move() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("app", "latest", Kind::Oci, "old");
    let new = pusher.push("app", "staging-2", Kind::Oci, "new");
    let source = format!("{}/app:staging-2", registry.host());
    let sandbox = Sandbox::new();

    let wrong = format!("sha256:{}", "1".repeat(64));
    let out = sandbox.run(&["--expect-current", &wrong, &source, "latest"], &[], None);
    assert_code(&out, 1);
    assert!(out.stderr.contains("not the expected"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(pusher.digest_of("app", "latest"), Some(old.digest.clone()));

    let out = sandbox.run(
        &["--expect-current", &old.digest, &source, "latest"],
        &[],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(single_record(&out).previous, Some(old.digest));
    assert_eq!(pusher.digest_of("app", "latest"), Some(new.digest.clone()));
}

#[test]
fn dry_run_changes_nothing() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("app", "latest", Kind::DockerV2, "old");
    let new = pusher.push("app", "staging-3", Kind::DockerV2, "new");
    let out = Sandbox::new().run(
        &[
            "--dry-run",
            &format!("{}/app:staging-3", registry.host()),
            "latest",
            "brand-new",
        ],
        &[],
        None,
    );
    assert_code(&out, 0);
    let records = tag_records(&out);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].digest, new.digest);
    assert_eq!(records[0].previous, Some(old.digest.clone()));
    assert!(records.iter().all(|r| r.dry_run && !r.changed));
    assert!(out.stderr.contains("would move"), "{}", out.stderr);
    assert_eq!(pusher.digest_of("app", "latest"), Some(old.digest));
    assert_eq!(pusher.digest_of("app", "brand-new"), None);
}

#[test]
fn one_retag_takes_at_most_six_requests() {
    // Plain registry: ping, HEAD destination, GET source, PUT, HEAD verify.
    let registry = Registry::start();
    registry
        .pusher()
        .push("app", "staging-4", Kind::OciIndex, "count");
    let proxy = registry.proxy();
    let out = Sandbox::new().run(
        &[&format!("{}/app:staging-4", proxy.host()), "latest"],
        &[],
        None,
    );
    assert_code(&out, 0);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 5, "{seen:#?}");

    // Bearer registry: the same plus one token request (pull,push asked once).
    let tokens = TokenServer::start(&[("ci", "token-pass-1")], TokenField::Token);
    let registry = testkit::registry::Registry::start_token(&tokens);
    registry
        .pusher()
        .push("app", "staging-4", Kind::Oci, "count");
    let proxy = testkit::proxy::Proxy::start(&registry.url());
    let out = Sandbox::new().run(
        &[&format!("{}/app:staging-4", proxy.host()), "latest"],
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
    let registry = testkit::registry::Registry::start_token(&tokens);
    let pusher = registry.pusher();
    for repo in ["platform", "platform-tenant"] {
        pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
        pusher.push(repo, "staging-5", Kind::DockerList, &format!("{repo}-new"));
    }
    let proxy = testkit::proxy::Proxy::start(&registry.url());
    let stdin = format!(
        "{{\"image\":\"{h}/platform\",\"source\":\"staging-5\",\"tag\":\"latest\"}}\n\
         {{\"image\":\"{h}/platform-tenant\",\"source\":\"staging-5\",\"tag\":\"latest\"}}\n",
        h = proxy.host()
    );
    let out = Sandbox::new().run(
        &["--atomic"],
        &[
            ("REGISTRY_USERNAME", "ci"),
            ("REGISTRY_PASSWORD", "token-pass-2"),
        ],
        Some(&stdin),
    );
    assert_code(&out, 0);
    assert_eq!(tag_records(&out).len(), 2);
    let total = proxy.count() + tokens.requests();
    assert!(total <= 12, "{total} requests: {:#?}", proxy.requests());
}

#[test]
fn transient_failures_are_retried_honouring_retry_after() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let pushed = pusher.push("app", "staging-6", Kind::Oci, "retry");
    let proxy = registry.proxy();
    // The source GET fails once (503, Retry-After: 1), then goes through.
    proxy.add_fault(
        Fault::status("GET", "/app/manifests/staging-6", 1, 503)
            .times(1)
            .retry_after(1),
    );
    let started = std::time::Instant::now();
    let out = Sandbox::new().run(
        &[&format!("{}/app:staging-6", proxy.host()), "latest"],
        &[],
        None,
    );
    assert_code(&out, 0);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let gets = proxy
        .requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/manifests/staging-6"))
        .count();
    assert_eq!(gets, 2);
    assert_eq!(pusher.digest_of("app", "latest"), Some(pushed.digest));
}

#[test]
fn retries_are_bounded() {
    let registry = Registry::start();
    registry.pusher().push("app", "v1", Kind::Oci, "bounded");
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("HEAD", "/app/manifests/v1", 1, 502));
    let out = Sandbox::new().run(&[&format!("{}/app:v1", proxy.host())], &[], None);
    assert_code(&out, 1);
    assert!(out.stderr.contains("502"), "{}", out.stderr);
    let heads = proxy.requests().iter().filter(|(m, _)| m == "HEAD").count();
    assert_eq!(
        heads,
        4,
        "four attempts, then give up: {:#?}",
        proxy.requests()
    );
}

#[test]
fn independent_moves_go_on_after_a_failure() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a = pusher.push("a", "staging-7", Kind::Oci, "a");
    let h = registry.host();
    let stdin = format!(
        "{{\"image\":\"{h}/missing\",\"source\":\"staging-7\",\"tag\":\"latest\"}}\n\
         {{\"image\":\"{h}/a\",\"source\":\"staging-7\",\"tag\":\"latest\"}}\n"
    );
    let out = Sandbox::new().run(&[], &[], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("tag staging-7 not found in"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("1 of 2 moves failed"), "{}", out.stderr);
    assert_eq!(single_record(&out).digest, a.digest.as_str());
    assert_eq!(pusher.digest_of("a", "latest"), Some(a.digest));
}
