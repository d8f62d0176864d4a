//! `--timeout` is the whole run's deadline, `--request-timeout` each
//! request's limit; both take 500ms, 30s, 2m or plain seconds.

use std::time::Duration;

use testkit::image::Kind;
use testkit::proxy::Fault;

use crate::support::{assert_code, in_background, request, single_record, Registry, Sandbox};

#[test]
fn durations_take_units_and_the_old_plain_seconds() {
    let registry = Registry::start();
    let pushed = registry.pusher().push("app", "v1", Kind::Oci, "flags");
    let reference = format!("{}/app:v1", registry.host());
    let sandbox = Sandbox::new();
    for args in [
        ["--timeout", "30"],
        ["--timeout", "1m30s"],
        ["--request-timeout", "500ms"],
        ["--request-timeout", "20"],
    ] {
        let out = sandbox.run(&[args[0], args[1], &reference], &[], None);
        assert_code(&out, 0);
        assert_eq!(single_record(&out).digest, pushed.digest, "{args:?}");
    }
    let out = sandbox.run(&["--timeout", "30x", &reference], &[], None);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("\"30x\" is not a duration"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_tag_moves_once_the_whole_run_deadline_has_passed() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("a", "latest", Kind::Oci, "old");
    pusher.push("a", "staging-1", Kind::Oci, "new");
    let proxy = registry.proxy();
    // The plan's reading of a:latest is held until the deadline is past.
    proxy.add_fault(Fault::hold("HEAD", "/a/manifests/latest", 1));
    let stdin = request(&proxy.host(), "a", "staging-1", "latest");
    // (Long enough that the run surely starts its plan before it passes.)
    let run = in_background(&["--atomic", "--timeout", "1s"], stdin);
    assert!(proxy.wait_held(1, Duration::from_secs(20)));
    // Holding the server while the deadline passes (not racing it).
    std::thread::sleep(Duration::from_millis(1100));
    proxy.release();
    let out = run.join().expect("the run");
    assert_code(&out, 1);
    assert!(
        out.stderr
            .contains("--timeout 1s passed before any tag was moved; nothing was changed"),
        "{}",
        out.stderr
    );
    assert_eq!(pusher.digest_of("a", "latest"), Some(old.digest));
    assert!(!proxy.requests().iter().any(|(m, _)| m == "PUT"));
}
