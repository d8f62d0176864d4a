//! Faults and races around `--atomic`: a manifest PUT that lands after the
//! client gave up on it, and two runs moving the same tags at once. Each
//! race is made deterministic by the proxy holding one run's request at a
//! chosen point, never by sleeping.

use std::thread::JoinHandle;
use testkit::image::{Kind, Pushed};

use testkit::proxy::Fault;
use testkit::Output;

use crate::support::{
    assert_code, assert_exit, assert_says, feed, in_background, request, tag_records, to_latest,
    Proxy, Registry, Sandbox,
};

/// A race's ground: `latest` and two candidate builds of images `a` and
/// `b`, and a proxy of the test's own in front of the registry.
struct Race {
    registry: Registry,
    proxy: Proxy,
    a: [Pushed; 3],
    b: [Pushed; 3],
}

impl Race {
    fn start() -> Race {
        let registry = Registry::start();
        let push = |repo: &str| {
            let build =
                |tag, kind, seed: &str| registry.push(repo, tag, kind, &format!("{repo}-{seed}"));
            let old = build("latest", Kind::Oci, "old");
            [
                old,
                build("staging-x", Kind::OciIndex, "x"),
                build("staging-y", Kind::DockerV2, "y"),
            ]
        };
        let (a, b) = (push("a"), push("b"));
        let proxy = registry.proxy();
        Race {
            registry,
            proxy,
            a,
            b,
        }
    }

    /// Both images' `latest` to `source`, through the race.proxy.
    fn both(&self, source: &str) -> String {
        to_latest(&self.proxy.host(), &["a", "b"], source)
    }

    /// Run 1, moving both to staging-x, in the background and held at its
    /// read-back of a:latest (its 2nd HEAD there; the 1st is the plan's),
    /// after both its PUTs; join it once the proxy is released.
    fn first_run_at_its_read_back(&self) -> JoinHandle<Output> {
        let proxy = &self.proxy;
        proxy.add_fault(Fault::hold("HEAD", "/a/manifests/latest", 2));
        let first = in_background(&["--atomic"], self.both("staging-x"));
        assert!(proxy.held(1), "run 1 never got to its read-back");
        first
    }

    /// `a:latest` and `b:latest` point at build `a` and `b` (0 = the old
    /// latest, 1 = staging-x, 2 = staging-y).
    #[track_caller]
    fn assert_latest(&self, a: usize, b: usize) {
        self.registry.assert_at("a", "latest", &self.a[a].digest);
        self.registry.assert_at("b", "latest", &self.b[b].digest);
    }
}

#[test]
fn a_put_that_lands_after_the_client_gave_up_is_undone_too() {
    let race = Race::start();
    // b's move times out at the client and lands on the registry later:
    // right after the next PUT of b:latest that reaches it (the restore).
    // The retry is refused (400, not retried), so the outcome stays unknown.
    race.proxy
        .add_fault(Fault::late_landing("PUT", "/b/manifests/latest", 1));
    race.proxy
        .add_fault(Fault::status("PUT", "/b/manifests/latest", 2, 400).times(1));
    let args = ["--atomic", "--request-timeout", "100ms"];
    // Under GitHub Actions: the error is one annotation.
    let step = Sandbox::new().in_actions(&args, &[], Some(&race.both("staging-x")));
    step.assert_annotated_once(1, "may have landed");
    let out = step.out;
    assert_says(&out, "2 moves undone");
    // Nothing is still held back to land after the run: the restore released it.
    race.proxy.release();
    race.assert_latest(0, 0);
    // The late writes did land over the first restore, which was done again.
    assert_eq!(
        race.proxy.count_of("PUT", "/b/manifests/latest"),
        4,
        "move, its retry, two restores: {:#?}",
        race.proxy.requests()
    );
    let records = tag_records(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert!(records.iter().all(|r| !r.changed), "{}", out.stdout);
    assert_eq!(records[1].digest, race.b[0].digest);
}

#[test]
fn late_writes_that_keep_landing_are_reported_with_each_tags_last_digest() {
    let race = Race::start();
    // Every attempt of b's move times out and is held; each later PUT of
    // b:latest (every restore) lets one of them land right after it, so the
    // registry has not settled when the bounded rounds of restores end.
    let attempts = registry_tag::RetryPolicy::default().attempts as usize;
    race.proxy
        .add_fault(Fault::late_landing("PUT", "/b/manifests/latest", 1).times(attempts));
    let args = ["--atomic", "--request-timeout", "100ms"];
    let out = feed(&args, &race.both("staging-x"));
    assert_exit(&out, 1, "NOT fully restored");
    assert_says(&out, "did not settle");
    let h = race.proxy.host();
    let (a_old, b_old, b_late) = (&race.a[0].digest, &race.b[0].digest, &race.b[1].digest);
    assert_says(
        &out,
        &format!("so this is not sure; last seen: {h}/a:latest → {a_old}, {h}/b:latest → {b_late}"),
    );
    // b is named with the digest it was last seen at: a late write's.
    assert_says(
        &out,
        &format!("{h}/b:latest could not be restored to {b_old}: right after the restore it points at {b_late}"),
    );
    // a was put back; the records say where each tag was last seen.
    race.registry.assert_at("a", "latest", a_old);
    let records = tag_records(&out);
    assert_eq!(&records[1].digest, b_late, "{}", out.stdout);
    assert!(records[1].changed);
    race.proxy.release();
}

#[test]
fn a_tag_moved_by_another_run_after_our_puts_is_named_and_not_fought() {
    let race = Race::start();
    // Run 1's read-back waits until run 2 has moved everything.
    let first = race.first_run_at_its_read_back();
    race.registry.assert_at("b", "latest", &race.b[1].digest);

    let second = feed(
        &["--atomic"],
        &to_latest(&race.registry.host(), &["a", "b"], "staging-y"),
    );
    assert_code(&second, 0);
    race.proxy.release();
    let first = first.join().expect("run 1");

    let (h, a_now, b_now) = (race.proxy.host(), &race.a[2].digest, &race.b[2].digest);
    let a = format!("{h}/a:latest");
    assert_exit(
        &first,
        1,
        &format!("{a} changed under this run: it now points at {a_now}"),
    );
    assert_says(
        &first,
        &format!("every tag now: {a} → {a_now}, {h}/b:latest → {b_now}"),
    );
    assert_says(&first, "nothing was undone");
    // Run 2's state stands, whole.
    race.assert_latest(2, 2);
    assert_eq!(&tag_records(&first)[0].digest, a_now);
}

#[test]
fn a_racing_run_with_expect_current_is_refused_and_changes_nothing() {
    let race = Race::start();
    let first = race.first_run_at_its_read_back();

    // Run 2 promotes staging-y only over the latest it saw before run 1.
    let old_a = &race.a[0].digest;
    let second = feed(
        &["--atomic", "--expect-current", old_a],
        &request(&race.registry.host(), "a", "staging-y", "latest"),
    );
    race.proxy.release();
    let first = first.join().expect("run 1");
    let a_x = &race.a[1].digest;
    assert_exit(
        &second,
        1,
        &format!("points at {a_x}, not the expected {old_a}; nothing was changed"),
    );
    assert_code(&first, 0);
    race.assert_latest(1, 1);
}
