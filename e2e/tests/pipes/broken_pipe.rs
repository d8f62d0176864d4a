//! Issue 11.1: `tool | (head -c0)` — stdout closed before the tool wrote
//! anything. Never exit 0 for work left undone, never a panic, and a tool
//! that stops says on stderr what it left.

use std::io::Write;
use std::process::Stdio;

use testkit::fleet::{Fleet, TenantSpec};
use testkit::image::Kind;
use testkit::process::closed_stdout;
use testkit::registry::Registry;

use super::serial;
use super::support::*;

/// Runs the step with stdout already closed by its reader
/// ([`closed_stdout`]), stdin `/dev/null` or a pipe fed `stdin`.
fn with_stdout_closed(mut step: Step, stdin: Option<&str>) -> (i32, String) {
    step.cmd.stdout(closed_stdout()).stderr(Stdio::piped());
    step.cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = step.cmd.spawn().expect("spawn the tool");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_string();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let out = child.wait_with_output().expect("wait for the tool");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Nothing was delivered, so the run cannot be a success.
fn undone(tool: &str, (code, stderr): (i32, String), problems: &mut Vec<String>) {
    if code == 0 {
        problems.push(format!(
            "{tool}: exit 0 with stdout closed and nothing delivered"
        ));
    }
    told(tool, code, &stderr, problems);
}

/// Whatever the exit status, a closed stdout is no reason to panic, and a
/// failure says why on stderr.
fn told(what: &str, code: i32, stderr: &str, problems: &mut Vec<String>) {
    if stderr.contains("panicked") {
        problems.push(format!("{what}: panic on a closed stdout:\n{stderr}"));
    }
    if code != 0 && stderr.trim().is_empty() {
        problems.push(format!("{what}: exit {code} without saying why on stderr"));
    }
}

#[test]
fn tenant_tools_never_exit_0_with_stdout_closed() {
    let _serial = serial();
    let fleet = Fleet::start(vec![
        TenantSpec::healthy("pipe-a").with_sha(SHA),
        TenantSpec::healthy("pipe-b").with_sha(SHA),
    ])
    .unwrap();
    let mut problems = Vec::new();
    let list = Step::new("tenant-list", &[])
        .env(
            "CANARY_TENANT_URLS",
            &format!("{} {}", fleet.url(0), fleet.url(1)),
        )
        .env(
            "CANARY_ADMIN_TOKENS",
            &format!("{} {}", fleet.token(0), fleet.token(1)),
        );
    undone("tenant-list", with_stdout_closed(list, None), &mut problems);
    let wait = Step::new(
        "canary-wait",
        &["--sha", SHA, "--timeout", "5s", "--interval", "100ms"],
    );
    undone(
        "canary-wait",
        with_stdout_closed(wait, Some(&fleet.tenant_lines())),
        &mut problems,
    );
    assert_none(&problems);
}

/// canary-smoke's product is its verdict: with stdout closed it may exit 0
/// only if every tenant was checked in full (each got as many requests as
/// in a run whose stdout stays open) and all passed.
#[test]
fn canary_smoke_exits_0_with_stdout_closed_only_after_checking_everything() {
    let _serial = serial();
    let fleet = Fleet::start(vec![
        TenantSpec::healthy("pipe-a"),
        TenantSpec::healthy("pipe-b"),
        TenantSpec::healthy("pipe-c"),
    ])
    .unwrap();
    let requests = |fleet: &Fleet| {
        (0..fleet.len())
            .map(|i| fleet.requests(i))
            .collect::<Vec<_>>()
    };
    let full =
        Step::new("canary-smoke", &["--request-timeout", "2s"]).run(Some(&fleet.tenant_lines()));
    assert_eq!(full.out.code, 0, "{}", full.out.stderr);
    let per_tenant = requests(&fleet);
    assert!(
        per_tenant.iter().all(|&n| n > 0 && n == per_tenant[0]),
        "{per_tenant:?}"
    );

    let urls: Vec<String> = (0..fleet.len()).map(|i| fleet.url(i)).collect();
    let tokens: Vec<String> = (0..fleet.len()).map(|i| fleet.token(i)).collect();
    let runs = [
        (
            "canary-smoke",
            Step::new("canary-smoke", &["--request-timeout", "2s"]),
            true,
        ),
        (
            "canary-smoke --from-env (the script's text on stdout)",
            Step::new("canary-smoke", &["--from-env", "--request-timeout", "2s"])
                .env("CANARY_TENANT_URLS", &urls.join(" "))
                .env("CANARY_ADMIN_TOKENS", &tokens.join(" ")),
            false,
        ),
    ];
    let mut problems = Vec::new();
    for (what, step, records) in runs {
        let before = requests(&fleet);
        let stdin = records.then(|| fleet.tenant_lines());
        let (code, stderr) = with_stdout_closed(step, stdin.as_deref());
        let sent: Vec<u64> = requests(&fleet)
            .iter()
            .zip(&before)
            .map(|(a, b)| a - b)
            .collect();
        if code == 0 && sent != per_tenant {
            problems.push(format!(
                "{what}: exit 0 with stdout closed, but tenants got {sent:?} requests, a full run {per_tenant:?}\n{stderr}"
            ));
        }
        told(what, code, &stderr, &mut problems);
    }
    assert_none(&problems);
}

#[test]
fn registry_tools_never_claim_undone_work_with_stdout_closed() {
    let _serial = serial();
    let registry = Registry::start();
    let pusher = registry.pusher();
    let mut staging = Vec::new();
    for repo in ["pipe/platform", "pipe/platform-tenant"] {
        staging.push(
            pusher
                .push(repo, &format!("staging-{SHA}"), Kind::Oci, repo)
                .digest,
        );
        pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
    }
    let platform = format!("{}/pipe/platform", registry.host());
    let tenant = format!("{}/pipe/platform-tenant", registry.host());
    let mut problems = Vec::new();

    // Resolving is only its output: closed stdout, nothing delivered.
    let resolve = Step::new("registry-tag", &[&format!("{platform}:staging-{SHA}")]);
    undone(
        "registry-tag (resolve)",
        with_stdout_closed(resolve, None),
        &mut problems,
    );

    // Listings and plans are only their output too.
    let listings = [
        (
            "registry-tag --list",
            Step::new("registry-tag", &["--list", &platform]),
        ),
        (
            "rollback-latest --list",
            Step::new("rollback-latest", &["--list", "--image", &platform]),
        ),
        (
            "rollback-latest --dry-run",
            Step::new("rollback-latest", &[SHA, "--dry-run", "--image", &platform]),
        ),
    ];
    for (what, step) in listings {
        undone(what, with_stdout_closed(step, None), &mut problems);
    }

    // Two move requests: exit 0 only if both tags moved.
    let requests = format!(
        "{{\"image\":\"{platform}\",\"source\":\"staging-{SHA}\",\"tag\":\"pipe-1\"}}\n\
         {{\"image\":\"{tenant}\",\"source\":\"staging-{SHA}\",\"tag\":\"pipe-1\"}}\n"
    );
    let (code, stderr) = with_stdout_closed(Step::new("registry-tag", &[]), Some(&requests));
    let moved = [
        pusher.digest_of("pipe/platform", "pipe-1"),
        pusher.digest_of("pipe/platform-tenant", "pipe-1"),
    ];
    if code == 0 && moved.iter().any(Option::is_none) {
        problems.push(format!(
            "registry-tag (moves): exit 0 with a tag left unmoved: {moved:?}\n{stderr}"
        ));
    }
    told("registry-tag (moves)", code, &stderr, &mut problems);

    // rollback-latest: exit 0 only if every latest moved; never half-moved.
    let rollback = Step::new(
        "rollback-latest",
        &[SHA, "--image", &platform, "--image", &tenant],
    );
    let (code, stderr) = with_stdout_closed(rollback, None);
    let latest = [
        pusher.digest_of("pipe/platform", "latest"),
        pusher.digest_of("pipe/platform-tenant", "latest"),
    ];
    let at_staging = latest
        .iter()
        .zip(&staging)
        .filter(|(l, s)| l.as_deref() == Some(s.as_str()))
        .count();
    if code == 0 && at_staging != 2 {
        problems.push(format!(
            "rollback-latest: exit 0 with latest not moved everywhere ({at_staging} of 2)\n{stderr}"
        ));
    }
    if at_staging == 1 {
        problems.push(format!(
            "rollback-latest: latest left half-moved after a closed stdout (exit {code})\n{stderr}"
        ));
    }
    told("rollback-latest", code, &stderr, &mut problems);
    assert_none(&problems);
}

#[test]
fn a_failure_seen_before_the_pipe_closed_is_exit_1() {
    let _serial = serial();
    // `tenant-list | canary-smoke | head -n1` with a failing tenant, and a
    // failed move piped into `| true`: exit 1, and stderr says what failed.
    let fleet = Fleet::start(vec![
        TenantSpec::healthy("pipe-bad")
            .with_fault(testkit::fleet::Fault::Status500("/admin/liveness".into())),
        TenantSpec::healthy("pipe-good"),
    ])
    .unwrap();
    let mut problems = Vec::new();
    let smoke = Step::new("canary-smoke", &["--request-timeout", "2s", "--jobs", "1"]);
    let (code, stderr) = with_stdout_closed(smoke, Some(&fleet.tenant_lines()));
    if code != 1 {
        problems.push(format!(
            "canary-smoke: exit {code} with a failing tenant and stdout closed\n{stderr}"
        ));
    }

    let registry = Registry::start();
    let image = format!("{}/pipe/platform", registry.host());
    let missing = Step::new(
        "registry-tag",
        &[&format!("{image}:staging-0000000"), "pipe-x"],
    );
    let (code, stderr) = with_stdout_closed(missing, None);
    if code != 1 || stderr.trim().is_empty() {
        problems.push(format!(
            "registry-tag: a failed move with stdout closed gave exit {code}, stderr {stderr:?}"
        ));
    }
    assert_none(&problems);
}
