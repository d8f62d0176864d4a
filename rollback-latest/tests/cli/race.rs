//! Two rollbacks racing to different builds: at most one says it is
//! complete, and `latest` ends the same build on every image. The race is
//! made deterministic by holding one request of the first run in the proxy.

use std::time::Duration;

use testkit::proxy::Fault;
use testkit::{Output, Sandbox};

use crate::support::*;

const OTHER: &str = "2222222";

#[test]
fn racing_rollbacks_end_consistent_with_at_most_one_complete() {
    let fleet = Fleet::new(true);
    let other_tag = format!("staging-{OTHER}");
    let other = [
        fleet.push(PLATFORM, &other_tag, "other-platform"),
        fleet.push(TENANT, &other_tag, "other-tenant"),
    ];
    // The first run's second look at platform's latest (its re-read before
    // writing, or its read-back after writing) waits for the test.
    fleet.proxy.add_fault(Fault::hold(
        "HEAD",
        "/molecule-ai/platform/manifests/latest",
        2,
    ));
    let sandbox = Sandbox::new(BIN);
    let mut first = fleet.cmd(&sandbox, &[SHA]);
    let first = std::thread::spawn(move || Output::of(&mut first, None));
    assert!(
        fleet.proxy.wait_held(1, Duration::from_secs(60)),
        "the first rollback never reached its second look at latest"
    );
    // Meanwhile a second rollback, to another build, runs to the end.
    let second = Output::of(&mut fleet.cmd(&sandbox, &[OTHER]), None);
    fleet.proxy.release();
    let first = first.join().expect("the first rollback's output");

    assert_code(&second, 0);
    assert_has(&second.stdout, "=== ROLLBACK COMPLETE ===");
    assert_code(&first, 1);
    assert!(
        !first.stdout.contains("ROLLBACK COMPLETE") && !first.stderr.contains("ROLLBACK COMPLETE"),
        "only one run may say it is complete:\n{}\n{}",
        first.stdout,
        first.stderr
    );
    assert_has(&first.stderr, "moved");
    assert_eq!(
        fleet.latest(),
        other.map(Some),
        "latest is the second run's build on every image"
    );
}
