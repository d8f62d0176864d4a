//! Faults and races around `--atomic`: a manifest PUT that lands after the
//! client gave up on it, and two runs moving the same tags at once. Each
//! race is made deterministic by the proxy holding one run's request at a
//! chosen point, never by sleeping.

use std::time::Duration;

use testkit::image::{Kind, Pushed};
use testkit::proxy::Fault;

use crate::support::{assert_code, in_background, request, tag_records, Registry, Sandbox};

/// `latest` and two candidate builds of images `a` and `b`.
struct Images {
    a: [Pushed; 3],
    b: [Pushed; 3],
}

fn images(registry: &Registry) -> Images {
    let pusher = registry.pusher();
    let push = |repo: &str| {
        [
            pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old")),
            pusher.push(repo, "staging-x", Kind::OciIndex, &format!("{repo}-x")),
            pusher.push(repo, "staging-y", Kind::DockerV2, &format!("{repo}-y")),
        ]
    };
    Images {
        a: push("a"),
        b: push("b"),
    }
}

fn both(host: &str, source: &str) -> String {
    request(host, "a", source, "latest") + &request(host, "b", source, "latest")
}

#[test]
fn a_put_that_lands_after_the_client_gave_up_is_undone_too() {
    let registry = Registry::start();
    let pushed = images(&registry);
    let pusher = registry.pusher();
    let proxy = registry.proxy();
    // b's move times out at the client and lands on the registry later:
    // right after the next PUT of b:latest that reaches it (the restore).
    // The retry is refused (400, not retried), so the outcome stays unknown.
    proxy.add_fault(Fault::late_landing("PUT", "/b/manifests/latest", 1));
    proxy.add_fault(Fault::status("PUT", "/b/manifests/latest", 2, 400).times(1));
    let out = Sandbox::new().run(
        &["--atomic", "--request-timeout", "100ms"],
        &[],
        Some(&both(&proxy.host(), "staging-x")),
    );
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("may have landed") && out.stderr.contains("2 moves undone"),
        "{}",
        out.stderr
    );
    // Nothing is still held back to land after the run: the restore released it.
    proxy.release();
    assert_eq!(
        pusher.digest_of("a", "latest"),
        Some(pushed.a[0].digest.clone())
    );
    assert_eq!(
        pusher.digest_of("b", "latest"),
        Some(pushed.b[0].digest.clone())
    );
    // The late writes did land over the first restore, which was done again.
    let puts_b = proxy
        .requests()
        .iter()
        .filter(|(m, p)| m == "PUT" && p.ends_with("/b/manifests/latest"))
        .count();
    assert_eq!(
        puts_b,
        4,
        "move, its retry, two restores: {:#?}",
        proxy.requests()
    );
    let records = tag_records(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert!(records.iter().all(|r| !r.changed), "{}", out.stdout);
    assert_eq!(records[1].digest, pushed.b[0].digest);
}

#[test]
fn late_writes_that_keep_landing_are_reported_with_each_tags_last_digest() {
    let registry = Registry::start();
    let pushed = images(&registry);
    let proxy = registry.proxy();
    // Every attempt of b's move times out and is held; each later PUT of
    // b:latest (every restore) lets one of them land right after it, so the
    // registry has not settled when the bounded rounds of restores end.
    let attempts = registry_tag::RetryPolicy::default().attempts as usize;
    proxy.add_fault(Fault::late_landing("PUT", "/b/manifests/latest", 1).times(attempts));
    let out = Sandbox::new().run(
        &["--atomic", "--request-timeout", "100ms"],
        &[],
        Some(&both(&proxy.host(), "staging-x")),
    );
    assert_code(&out, 1);
    assert!(out.stderr.contains("NOT fully restored"), "{}", out.stderr);
    assert!(out.stderr.contains("did not settle"), "{}", out.stderr);
    let h = proxy.host();
    assert!(
        out.stderr.contains(&format!(
            "so this is not sure; last seen: {h}/a:latest → {}, {h}/b:latest → {}",
            pushed.a[0].digest, pushed.b[1].digest
        )),
        "{}",
        out.stderr
    );
    // b is named with the digest it was last seen at: a late write's.
    assert!(
        out.stderr.contains(&format!(
            "{}/b:latest could not be restored to {}: right after the restore it points at {}",
            proxy.host(),
            pushed.b[0].digest,
            pushed.b[1].digest
        )),
        "{}",
        out.stderr
    );
    // a was put back; the records say where each tag was last seen.
    assert_eq!(
        registry.pusher().digest_of("a", "latest"),
        Some(pushed.a[0].digest.clone())
    );
    let records = tag_records(&out);
    assert_eq!(records[1].digest, pushed.b[1].digest, "{}", out.stdout);
    assert!(records[1].changed);
    proxy.release();
}

#[test]
fn a_tag_moved_by_another_run_after_our_puts_is_named_and_not_fought() {
    let registry = Registry::start();
    let pushed = images(&registry);
    let pusher = registry.pusher();
    let proxy = registry.proxy();
    // Run 1's read-back of a:latest (its 2nd HEAD there; the 1st is the
    // plan's) waits until run 2 has moved everything.
    proxy.add_fault(Fault::hold("HEAD", "/a/manifests/latest", 2));
    let first = in_background(&["--atomic"], both(&proxy.host(), "staging-x"));
    assert!(
        proxy.wait_held(1, Duration::from_secs(20)),
        "run 1 never got to its read-back"
    );
    assert_eq!(
        pusher.digest_of("b", "latest"),
        Some(pushed.b[1].digest.clone())
    );

    let second = Sandbox::new().run(
        &["--atomic"],
        &[],
        Some(&both(&registry.host(), "staging-y")),
    );
    assert_code(&second, 0);
    proxy.release();
    let first = first.join().expect("run 1");

    assert_code(&first, 1);
    let a = format!("{}/a:latest", proxy.host());
    assert!(
        first.stderr.contains(&format!(
            "{a} changed under this run: it now points at {}",
            pushed.a[2].digest
        )),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains(&format!(
            "every tag now: {a} → {}, {h}/b:latest → {}",
            pushed.a[2].digest,
            pushed.b[2].digest,
            h = proxy.host()
        )),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("nothing was undone"),
        "{}",
        first.stderr
    );
    // Run 2's state stands, whole.
    assert_eq!(
        pusher.digest_of("a", "latest"),
        Some(pushed.a[2].digest.clone())
    );
    assert_eq!(
        pusher.digest_of("b", "latest"),
        Some(pushed.b[2].digest.clone())
    );
    let records = tag_records(&first);
    assert_eq!(records[0].digest, pushed.a[2].digest);
}

#[test]
fn a_racing_run_with_expect_current_is_refused_and_changes_nothing() {
    let registry = Registry::start();
    let pushed = images(&registry);
    let pusher = registry.pusher();
    let proxy = registry.proxy();
    proxy.add_fault(Fault::hold("HEAD", "/a/manifests/latest", 2));
    let first = in_background(&["--atomic"], both(&proxy.host(), "staging-x"));
    assert!(proxy.wait_held(1, Duration::from_secs(20)));

    // Run 2 promotes staging-y only over the latest it saw before run 1.
    let old_a = &pushed.a[0].digest;
    let second = Sandbox::new().run(
        &["--atomic", "--expect-current", old_a],
        &[],
        Some(&request(&registry.host(), "a", "staging-y", "latest")),
    );
    proxy.release();
    let first = first.join().expect("run 1");
    assert_code(&second, 1);
    assert!(
        second.stderr.contains(&format!(
            "points at {}, not the expected {old_a}; nothing was changed",
            pushed.a[1].digest
        )),
        "{}",
        second.stderr
    );
    assert_code(&first, 0);
    assert_eq!(
        pusher.digest_of("a", "latest"),
        Some(pushed.a[1].digest.clone())
    );
    assert_eq!(
        pusher.digest_of("b", "latest"),
        Some(pushed.b[1].digest.clone())
    );
}
