//! `--timeout` is the whole run's deadline, `--request-timeout` each
//! request's limit; both take 500ms, 30s, 2m or plain seconds.

use std::time::Duration;

use testkit::image::Kind;
use testkit::proxy::Fault;

use crate::support::{
    assert_code, assert_exit, in_background, single_record, to_latest, Registry, Sandbox,
};

#[test]
fn durations_take_units_and_the_old_plain_seconds() {
    let (registry, pushed) = Registry::holding("app", "v1", Kind::Oci);
    let reference = registry.image("app:v1");
    let sandbox = Sandbox::new();
    for [flag, value] in [
        ["--timeout", "30"],
        ["--timeout", "1m30s"],
        ["--request-timeout", "500ms"],
        ["--request-timeout", "20"],
    ] {
        let out = sandbox.call(&[flag, value, &reference]);
        assert_code(&out, 0);
        assert_eq!(single_record(&out).digest, pushed.digest, "{flag} {value}");
    }
    let out = sandbox.call(&["--timeout", "30x", &reference]);
    assert_exit(&out, 2, "\"30x\" is not a duration");
}

#[test]
fn no_tag_moves_once_the_whole_run_deadline_has_passed() {
    let (registry, old, _) = Registry::promoting("a", "staging-1", Kind::Oci);
    let proxy = registry.proxy();
    // The plan's reading of a:latest is held until the deadline is past.
    proxy.add_fault(Fault::hold("HEAD", "/a/manifests/latest", 1));
    let stdin = to_latest(&proxy.host(), &["a"], "staging-1");
    // (Long enough that the run surely starts its plan before it passes.)
    let run = in_background(&["--atomic", "--timeout", "1s"], stdin);
    assert!(proxy.held(1));
    // Holding the server while the deadline passes (not racing it).
    std::thread::sleep(Duration::from_millis(1100));
    proxy.release();
    let out = run.join().expect("the run");
    assert_exit(
        &out,
        1,
        "--timeout 1s passed before any tag was moved; nothing was changed",
    );
    registry.assert_at("a", "latest", &old.digest);
    assert_eq!(proxy.count_of("PUT", ""), 0);
}
