//! The library as rollback-latest uses it (plan, steps, apply, outcomes),
//! against the real registry.

use std::time::Duration;

use registry_tag::{plan, Client, Credentials, Image, Intent, Move, Options, Outcome, FRESH};
use testkit::image::Kind;

use crate::support::Registry;
use testkit::proxy::Fault;

fn client() -> Client {
    Client::new(Options::default(), Credentials::anonymous())
}

#[test]
fn a_plan_held_longer_than_fresh_is_read_again_before_any_put() {
    let (registry, old) = Registry::holding("a", "latest", Kind::Oci);
    registry.push("a", "staging-1", Kind::Oci, "new");
    let image = Image::parse(&registry.image("a")).unwrap();
    let client = client();
    let moves = vec![Move::new(image, "staging-1", "latest").unwrap()];
    let planned = plan(&client, moves, Intent::Move).unwrap();
    assert_eq!(planned.steps()[0].current(), Some(old.digest.as_str()));
    assert!(!planned.is_noop());

    // Another writer moves latest while the plan is held (a prompt, say).
    let other = registry.push("a", "latest", Kind::Oci, "other");
    std::thread::sleep(FRESH + Duration::from_millis(100));
    let error = planned.apply(&client).unwrap_err();
    assert!(!error.attempted, "{error}");
    assert!(
        error.to_string().contains(&format!(
            "moved since it was read: it points at {}, not {}",
            other.digest, old.digest
        )),
        "{error}"
    );
    assert_eq!(registry.digest_of("a", "latest"), Some(other.digest));
}

#[test]
fn a_failed_apply_tells_each_steps_outcome() {
    let registry = Registry::start();
    let proxy = registry.proxy();
    let mut moves = Vec::new();
    for repo in ["a", "b"] {
        registry.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
        registry.push(repo, "staging-2", Kind::Oci, &format!("{repo}-new"));
        let image = Image::parse(&proxy.image(repo)).unwrap();
        moves.push(Move::new(image, "staging-2", "latest").unwrap());
    }
    proxy.add_fault(Fault::status("PUT", "/b/manifests/latest", 1, 400));
    let client = client();
    let planned = plan(&client, moves, Intent::Move).unwrap();
    let error = planned.apply(&client).unwrap_err();
    assert!(error.attempted && !error.interfered);
    assert_eq!(error.undone, 1, "{error}");
    assert_eq!(error.outcomes, [Outcome::AsBefore, Outcome::AsBefore]);
    assert_eq!(error.records.len(), 2);
    assert!(error.records.iter().all(|r| !r.changed));
}
