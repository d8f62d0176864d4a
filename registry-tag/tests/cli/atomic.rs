//! `--atomic`: nothing changes when a source is missing; a failed move undoes
//! the moves before it; bad input changes nothing.

use testkit::image::{Kind, Pushed};
use testkit::proxy::Fault;
use testkit::Output;

use crate::support::{
    assert_code, assert_exit, assert_says, call, feed, in_background, request, tag_records,
    to_latest, Proxy, Registry,
};

/// `--atomic` moving `a:latest` and `b:latest` to their `staging-N` (of
/// `kinds`) through a proxy that answers b's manifest PUT with `b_put`.
/// Returns the registry, its proxy, a's and b's (latest, candidate) builds,
/// and the run.
fn b_put_fails(n: u8, kinds: [Kind; 2], b_put: Fault) -> Atomic {
    let registry = Registry::start();
    let tag = format!("staging-{n}");
    let [a, b] = [("a", kinds[0]), ("b", kinds[1])].map(|(r, k)| registry.latest_and(r, &tag, k));
    let proxy = registry.proxy();
    proxy.add_fault(b_put);
    let out = feed(&["--atomic"], &to_latest(&proxy.host(), &["a", "b"], &tag));
    Atomic {
        registry,
        proxy,
        a,
        b,
        out,
    }
}

struct Atomic {
    registry: Registry,
    proxy: Proxy,
    a: (Pushed, Pushed),
    b: (Pushed, Pushed),
    out: Output,
}

impl Atomic {
    /// Both `latest` tags back where they were.
    #[track_caller]
    fn assert_put_back(&self) {
        self.registry.assert_at("a", "latest", &self.a.0.digest);
        self.registry.assert_at("b", "latest", &self.b.0.digest);
    }
}

#[test]
fn a_missing_source_changes_nothing() {
    let (registry, a_old, _) = Registry::promoting("a", "staging-1", Kind::Oci);
    let b_old = registry.push("b", "latest", Kind::Oci, "b-old");
    let h = registry.host();
    let out = feed(&["--atomic"], &to_latest(&h, &["a", "b", "c"], "staging-1"));
    assert_exit(&out, 1, &format!("tag staging-1 not found in {h}/b"));
    assert_says(&out, &format!("tag staging-1 not found in {h}/c"));
    assert_says(&out, "nothing was changed");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    registry.assert_at("a", "latest", &a_old.digest);
    registry.assert_at("b", "latest", &b_old.digest);
}

#[test]
fn a_failed_second_move_undoes_the_first() {
    // b's manifest PUT is refused (a 400 is not retried).
    let refused = Fault::status("PUT", "/b/manifests/latest", 1, 400);
    let run = b_put_fails(2, [Kind::OciIndex, Kind::DockerV2], refused);
    let (out, proxy) = (&run.out, &run.proxy);
    assert_exit(out, 1, &format!("moving {}/b:latest failed", proxy.host()));
    assert_says(out, "every tag is back at its previous digest");
    // The first move did happen (a PUT of a's new manifest), and was undone.
    let puts = proxy.count_of("PUT", "/a/manifests/latest");
    assert_eq!(puts, 2, "{:#?}", proxy.requests());
    run.assert_put_back();
    assert_ne!(run.a.0.digest, run.a.1.digest);
    // The records tell each tag's final state.
    let records = tag_records(out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert_eq!(records[0].digest, run.a.0.digest);
    assert_eq!(records[1].digest, run.b.0.digest);
    assert!(records.iter().all(|r| !r.changed));
}

#[test]
fn a_new_tag_that_cannot_be_deleted_is_reported_honestly() {
    let (registry, a_new) = Registry::holding("a", "staging-3", Kind::Oci);
    let (b_old, _) = registry.latest_and("b", "staging-3", Kind::Oci);
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("PUT", "/b/manifests/latest", 1, 400));
    let out = feed(
        &["--atomic"],
        &to_latest(&proxy.host(), &["a", "b"], "staging-3"),
    );
    assert_exit(&out, 1, "NOT fully restored");
    assert_says(&out, "did not exist before and could not be deleted");
    // distribution 2.8 cannot delete a tag: it still points at the new image.
    registry.assert_at("a", "latest", &a_new.digest);
    registry.assert_at("b", "latest", &b_old.digest);
    let records = tag_records(&out);
    assert_eq!(records[0].digest, a_new.digest);
    assert!(records[0].changed);
}

#[test]
fn a_bad_request_line_changes_nothing() {
    let (registry, old, _) = Registry::promoting("a", "staging-4", Kind::Oci);
    let h = registry.host();
    for (bad, message) in [
        ("{\"image\":\"x\"}\n", "stdin:2: missing field"),
        (
            &request(&h, "UPPER", "staging-4", "latest"),
            "stdin:2: bad reference",
        ),
        ("not json\n", "stdin:2: not valid JSON"),
    ] {
        let stdin = request(&h, "a", "staging-4", "latest") + bad;
        // Without --atomic too: every line is checked before anything moves.
        let out = feed(&[], &stdin);
        assert_code(&out, 2);
        assert!(
            out.stderr.starts_with(&format!("registry-tag: {message}")),
            "{}",
            out.stderr
        );
        registry.assert_at("a", "latest", &old.digest);
    }
}

#[test]
fn a_move_that_landed_despite_an_error_is_undone_too() {
    // b's PUT reaches the registry but is answered 400 (not retried); the
    // restore after it goes through.
    let landed = Fault::status("PUT", "/b/manifests/latest", 1, 400)
        .times(1)
        .after_forwarding();
    let run = b_put_fails(5, [Kind::Oci, Kind::DockerList], landed);
    assert_exit(&run.out, 1, "2 moves undone");
    run.assert_put_back();
}

#[test]
fn a_first_move_that_fails_changes_nothing() {
    let (registry, old, _) = Registry::promoting("a", "staging-6", Kind::Oci);
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("PUT", "/a/manifests/latest", 1, 400));
    let out = call(&[&proxy.image("a:staging-6"), "latest"]);
    assert_code(&out, 1);
    assert!(
        out.stderr.ends_with("; nothing was changed\n"),
        "{}",
        out.stderr
    );
    registry.assert_at("a", "latest", &old.digest);
    // A 400 is not retried.
    assert_eq!(proxy.count_of("PUT", ""), 1);
}

#[test]
fn images_move_and_are_put_back_in_parallel_with_the_same_request_counts() {
    let registry = Registry::start();
    let repos = ["p", "q", "r"];
    let old: Vec<_> = repos
        .iter()
        .map(|repo| registry.latest_and(repo, "staging-8", Kind::Oci).0)
        .collect();
    let proxy = registry.proxy();
    let h = proxy.host();
    let stdin = to_latest(&h, &repos, "staging-8");

    // All three PUTs are in flight at once: each is held until all are.
    for repo in repos {
        proxy.add_fault(Fault::hold("PUT", &format!("/{repo}/manifests/latest"), 1));
    }
    let run = in_background(&["--atomic"], stdin.clone());
    let parallel = proxy.held(3);
    proxy.release();
    let out = run.join().expect("the run");
    assert!(
        parallel,
        "the PUTs were not in flight together: {:#?}",
        proxy.requests()
    );
    assert_code(&out, 0);
    // ping, then per image: GET source, HEAD latest, PUT, HEAD to verify.
    assert_eq!(
        proxy.count(),
        1 + 4 * repos.len(),
        "{:#?}",
        proxy.requests()
    );

    // Back to the old digests by the same path, then a failed move: the
    // two restores are in flight at once too.
    let back: String = repos
        .iter()
        .zip(&old)
        .map(|(repo, pushed)| request(&h, repo, &pushed.digest, "latest"))
        .collect();
    assert_code(&feed(&["--atomic"], &back), 0);
    // (A fault counts the requests it matches from when it is added.)
    proxy.add_fault(Fault::status("PUT", "/r/manifests/latest", 1, 400));
    for repo in ["p", "q"] {
        proxy.add_fault(Fault::hold("PUT", &format!("/{repo}/manifests/latest"), 2));
    }
    let run = in_background(&["--atomic"], stdin);
    let parallel = proxy.held(2);
    proxy.release();
    let out = run.join().expect("the run");
    assert!(parallel, "the restores were not in flight together");
    assert_exit(&out, 1, "2 moves undone");
    for (repo, pushed) in repos.iter().zip(&old) {
        registry.assert_at(repo, "latest", &pushed.digest);
    }
}
