//! `--atomic`: nothing changes when a source is missing; a failed move undoes
//! the moves before it; bad input changes nothing.

use testkit::image::Kind;
use testkit::proxy::Fault;

use crate::support::{assert_code, in_background, request, tag_records, Registry, Sandbox};

#[test]
fn a_missing_source_changes_nothing() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a_old = pusher.push("a", "latest", Kind::Oci, "a-old");
    pusher.push("a", "staging-1", Kind::Oci, "a-new");
    let b_old = pusher.push("b", "latest", Kind::Oci, "b-old");
    let h = registry.host();
    let stdin = request(&h, "a", "staging-1", "latest")
        + &request(&h, "b", "staging-1", "latest")
        + &request(&h, "c", "staging-1", "latest");
    let out = Sandbox::new().run(&["--atomic"], &[], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr
            .contains(&format!("tag staging-1 not found in {h}/b")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("tag staging-1 not found in {h}/c")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(pusher.digest_of("a", "latest"), Some(a_old.digest));
    assert_eq!(pusher.digest_of("b", "latest"), Some(b_old.digest));
}

#[test]
fn a_failed_second_move_undoes_the_first() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a_old = pusher.push("a", "latest", Kind::OciIndex, "a-old");
    let a_new = pusher.push("a", "staging-2", Kind::OciIndex, "a-new");
    let b_old = pusher.push("b", "latest", Kind::DockerV2, "b-old");
    pusher.push("b", "staging-2", Kind::DockerV2, "b-new");
    let proxy = registry.proxy();
    // b's manifest PUT is refused (a 400 is not retried).
    proxy.add_fault(Fault::status("PUT", "/b/manifests/latest", 1, 400));
    let h = proxy.host();
    let stdin = request(&h, "a", "staging-2", "latest") + &request(&h, "b", "staging-2", "latest");
    let out = Sandbox::new().run(&["--atomic"], &[], Some(&stdin));
    assert_code(&out, 1);
    assert!(
        out.stderr.contains(&format!("moving {h}/b:latest failed")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("every tag is back at its previous digest"),
        "{}",
        out.stderr
    );
    // The first move did happen (a PUT of a's new manifest), and was undone.
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(m, _)| m == "PUT")
        .collect();
    assert!(
        puts.iter()
            .filter(|(_, p)| p.ends_with("/a/manifests/latest"))
            .count()
            == 2,
        "{puts:?}"
    );
    assert_eq!(pusher.digest_of("a", "latest"), Some(a_old.digest.clone()));
    assert_eq!(pusher.digest_of("b", "latest"), Some(b_old.digest.clone()));
    assert_ne!(a_old.digest, a_new.digest);
    // The records tell each tag's final state.
    let records = tag_records(&out);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert_eq!(records[0].digest, a_old.digest);
    assert_eq!(records[1].digest, b_old.digest);
    assert!(records.iter().all(|r| !r.changed));
}

#[test]
fn a_new_tag_that_cannot_be_deleted_is_reported_honestly() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a_new = pusher.push("a", "staging-3", Kind::Oci, "a-new");
    pusher.push("b", "staging-3", Kind::Oci, "b-new");
    let b_old = pusher.push("b", "latest", Kind::Oci, "b-old");
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("PUT", "/b/manifests/latest", 1, 400));
    let h = proxy.host();
    let stdin = request(&h, "a", "staging-3", "latest") + &request(&h, "b", "staging-3", "latest");
    let out = Sandbox::new().run(&["--atomic"], &[], Some(&stdin));
    assert_code(&out, 1);
    assert!(out.stderr.contains("NOT fully restored"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("did not exist before and could not be deleted"),
        "{}",
        out.stderr
    );
    // distribution 2.8 cannot delete a tag: it still points at the new image.
    assert_eq!(pusher.digest_of("a", "latest"), Some(a_new.digest.clone()));
    assert_eq!(pusher.digest_of("b", "latest"), Some(b_old.digest));
    let records = tag_records(&out);
    assert_eq!(records[0].digest, a_new.digest);
    assert!(records[0].changed);
}

#[test]
fn a_bad_request_line_changes_nothing() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("a", "latest", Kind::Oci, "old");
    pusher.push("a", "staging-4", Kind::Oci, "new");
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
        let out = Sandbox::new().run(&[], &[], Some(&stdin));
        assert_code(&out, 2);
        assert!(
            out.stderr.starts_with(&format!("registry-tag: {message}")),
            "{}",
            out.stderr
        );
        assert_eq!(pusher.digest_of("a", "latest"), Some(old.digest.clone()));
    }
}

#[test]
fn a_move_that_landed_despite_an_error_is_undone_too() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a_old = pusher.push("a", "latest", Kind::Oci, "a-old");
    pusher.push("a", "staging-5", Kind::Oci, "a-new");
    let b_old = pusher.push("b", "latest", Kind::DockerList, "b-old");
    pusher.push("b", "staging-5", Kind::DockerList, "b-new");
    let proxy = registry.proxy();
    // b's PUT reaches the registry but is answered 400 (not retried); the
    // restore after it goes through.
    proxy.add_fault(
        Fault::status("PUT", "/b/manifests/latest", 1, 400)
            .times(1)
            .after_forwarding(),
    );
    let h = proxy.host();
    let stdin = request(&h, "a", "staging-5", "latest") + &request(&h, "b", "staging-5", "latest");
    let out = Sandbox::new().run(&["--atomic"], &[], Some(&stdin));
    assert_code(&out, 1);
    assert!(out.stderr.contains("2 moves undone"), "{}", out.stderr);
    assert_eq!(pusher.digest_of("a", "latest"), Some(a_old.digest));
    assert_eq!(pusher.digest_of("b", "latest"), Some(b_old.digest));
}

#[test]
fn a_first_move_that_fails_changes_nothing() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("a", "latest", Kind::Oci, "old");
    pusher.push("a", "staging-6", Kind::Oci, "new");
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("PUT", "/a/manifests/latest", 1, 400));
    let out = Sandbox::new().run(
        &[&format!("{}/a:staging-6", proxy.host()), "latest"],
        &[],
        None,
    );
    assert_code(&out, 1);
    assert!(
        out.stderr.ends_with("; nothing was changed\n"),
        "{}",
        out.stderr
    );
    assert_eq!(pusher.digest_of("a", "latest"), Some(old.digest));
    // A 400 is not retried.
    let puts = proxy.requests().iter().filter(|(m, _)| m == "PUT").count();
    assert_eq!(puts, 1);
}

#[test]
fn images_move_and_are_put_back_in_parallel_with_the_same_request_counts() {
    use std::time::Duration;
    let registry = Registry::start();
    let pusher = registry.pusher();
    let repos = ["p", "q", "r"];
    let old: Vec<_> = repos
        .iter()
        .map(|repo| {
            pusher.push(repo, "staging-8", Kind::Oci, &format!("{repo}-new"));
            pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old"))
        })
        .collect();
    let proxy = registry.proxy();
    let h = proxy.host();
    let stdin: String = repos
        .iter()
        .map(|repo| request(&h, repo, "staging-8", "latest"))
        .collect();

    // All three PUTs are in flight at once: each is held until all are.
    for repo in repos {
        proxy.add_fault(Fault::hold("PUT", &format!("/{repo}/manifests/latest"), 1));
    }
    let run = in_background(&["--atomic"], stdin.clone());
    let parallel = proxy.wait_held(3, Duration::from_secs(20));
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
    assert_code(&Sandbox::new().run(&["--atomic"], &[], Some(&back)), 0);
    // (A fault counts the requests it matches from when it is added.)
    proxy.add_fault(Fault::status("PUT", "/r/manifests/latest", 1, 400));
    for repo in ["p", "q"] {
        proxy.add_fault(Fault::hold("PUT", &format!("/{repo}/manifests/latest"), 2));
    }
    let run = in_background(&["--atomic"], stdin);
    let parallel = proxy.wait_held(2, Duration::from_secs(20));
    proxy.release();
    let out = run.join().expect("the run");
    assert!(parallel, "the restores were not in flight together");
    assert_code(&out, 1);
    assert!(out.stderr.contains("2 moves undone"), "{}", out.stderr);
    for (repo, pushed) in repos.iter().zip(&old) {
        assert_eq!(
            pusher.digest_of(repo, "latest"),
            Some(pushed.digest.clone())
        );
    }
}
