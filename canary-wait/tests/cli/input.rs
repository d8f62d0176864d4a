//! Input and usage: bad lines, bad flags, no tenants, a closed stdout, --help.

use std::time::Duration;

use clap::CommandFactory;
use testkit::process::Running;
use testkit::TempDir;

use crate::support::*;

#[test]
fn malformed_input_names_the_line_and_exits_2() {
    let fleet = fleet(vec![tenant("canary", OLD), tenant("other", OLD)]);
    let good = fleet.tenant_line(0);
    let token = fleet.token(0);
    let cases = [
        (format!("{good}\n\nnot json\n"), "stdin:3: not valid JSON"),
        (
            r#"{"name":"x","token":"t"}"#.to_string() + "\n",
            r#"stdin:1: missing field "url""#,
        ),
        (
            "[1,2]\n".to_string(),
            "stdin:1: expected a JSON object, found an array",
        ),
        (
            format!(r#"{{"url":"http://canary.example.com","token":"{token}"}}"#) + "\n",
            "stdin:1: ",
        ),
        (
            format!(r#"{{"url":"not a url","token":"{token}"}}"#) + "\n",
            "stdin:1: ",
        ),
        (format!("{good}\n{good}\n"), "stdin:2: duplicate tenant URL"),
        (
            format!(r#"{{"url":"{}","token":""}}"#, fleet.url(1)) + "\n",
            "stdin:1: ",
        ),
        (
            format!(r#"{{"url":"{}","token":"{token}","#, fleet.url(1)) + "\n",
            "stdin:1: not valid JSON",
        ),
        // Credentials in the URL are refused without repeating them.
        (
            format!(
                r#"{{"url":"{}","token":"{token}"}}"#,
                fleet.url(1).replace("//", "//deploy:hunter22-pw@")
            ) + "\n",
            "stdin:1: ",
        ),
    ];
    for (input, expected) in cases {
        let done = run(&["--sha", NEW7, "--interval", "50ms"], &[], &input);
        assert_eq!(done.code, 2, "{input:?}: {}", done.stderr);
        assert!(done.stdout.is_empty(), "{input:?}");
        // One line says what went wrong, after the one saying what it waits for.
        let said: Vec<&str> = done
            .stderr
            .lines()
            .filter(|l| !l.starts_with("canary-wait: waiting up to "))
            .collect();
        assert_eq!(said.len(), 1, "one line: {}", done.stderr);
        assert!(
            said[0].starts_with(&format!("canary-wait: {expected}")),
            "{input:?}: {}",
            done.stderr
        );
        assert_tokens_hidden(&fleet, &done.stderr);
        assert!(!done.stderr.contains("hunter22-pw"), "{}", done.stderr);
    }
}

#[test]
fn bad_flags_are_usage_errors_and_nothing_is_polled() {
    let fleet = fleet(vec![tenant("canary", NEW)]);
    let forty_one = "a".repeat(41);
    let cases: [&[&str]; 10] = [
        &[],
        &["--sha", ""],
        &["--sha", "latest"],
        &["--sha", "4c1d56"],
        &["--sha", "4c1d56g"],
        &["--sha", &forty_one],
        &["--sha", "staging-4c1d56e"],
        &["--sha", NEW7, "--timeout", "0s"],
        &["--sha", NEW7, "--interval", "soon"],
        &["--sha", NEW7, "--field", "sha"],
    ];
    for args in cases {
        let done = run(args, &[], &fleet.tenant_lines());
        assert_eq!(done.code, 2, "{args:?}: {}", done.stderr);
        assert!(done.stdout.is_empty(), "{args:?}");
        assert!(done.stderr.contains("--"), "{args:?}: {}", done.stderr);
        // A gate's next step must not be told to skip the wait.
        assert!(
            !done.stderr.contains("--from-env"),
            "{args:?}: {}",
            done.stderr
        );
    }
    let done = run(&["--sha", "4c1d56x"], &[], "");
    assert!(
        done.stderr
            .contains(r#""4c1d56x" is not a commit sha: use 7 to 40 hex characters"#),
        "{}",
        done.stderr
    );
    assert_eq!(fleet.requests(0), 0, "a usage error polled a tenant");
}

#[test]
fn zero_tenants_is_never_success() {
    for (input, args) in [
        ("", &["--sha", NEW7][..]),
        ("\n\n", &["--sha", NEW7]),
        ("", &["--sha", NEW7, "--proceed-on-timeout"]),
    ] {
        let done = run(args, &[], input);
        assert_eq!(done.code, 2, "{input:?} {args:?}: {}", done.stderr);
        assert!(done.stdout.is_empty());
        line_starting(
            &done.stderr,
            "no tenants on stdin: there is nothing to wait for",
        );
    }
    // stdin left open with nothing on it: the timeout ends the wait, and
    // still nothing was checked, --proceed-on-timeout or not.
    let (wait, _home) = start(
        &[
            "--sha",
            NEW7,
            "--interval",
            "50ms",
            "--timeout",
            "300ms",
            "--proceed-on-timeout",
        ],
        &[],
    );
    let done = wait.exit_with_stdin_open();
    assert_eq!(done.code, 2, "{}", done.stderr);
    assert!(
        done.elapsed >= Duration::from_millis(300)
            && done.elapsed < Duration::from_millis(300) + SLACK,
        "{:?}",
        done.elapsed
    );
    line_starting(&done.stderr, "no tenants on stdin within 300ms");
}

#[test]
fn a_closed_stdout_stops_quietly_saying_what_was_not_passed_on() {
    let fleet = fleet(vec![tenant("first", NEW), tenant("second", OLD)]);
    let (cmd, _home) = command(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "60s"],
        &[],
    );
    // Like `canary-wait | head -1`.
    let mut wait = Running::start_head(cmd, 1);
    wait.send(&fleet.tenant_lines());
    wait.close_stdin();
    assert_eq!(next(&wait).name, "first");
    fleet.set_sha(1, NEW);
    // The second tenant was never passed on: that is not success.
    wait.exit_with_stdin_open()
        .assert_stopped_by_closed_stdout("canary-wait", "1 of 2 tenant(s) not passed on");
}

#[test]
fn a_closed_stdout_ends_the_wait_while_stdin_stays_open() {
    // `slow-upstream | canary-wait | true`: more tenants may come later,
    // but nobody reads what canary-wait passes on, so it stops at once.
    let fleet = fleet(vec![tenant("first", NEW)]);
    let (cmd, _home) = command(
        &["--sha", NEW7, "--interval", "50ms", "--timeout", "60s"],
        &[],
    );
    let mut wait = Running::start_stdout_closed(cmd);
    wait.send(&fleet.tenant_lines());
    wait.exits_promptly_with_stdin_open()
        .assert_stopped_by_closed_stdout("canary-wait", "not passed on");
}

#[test]
fn help_documents_every_flag_the_environment_and_exit_codes() {
    let home = TempDir::new("canary-wait").unwrap();
    let out = testkit::Output::of(testkit::hermetic(BIN, home.path()).arg("--help"), None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let help = out.stdout;
    for arg in canary_wait::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(help.contains(&format!("--{long}")), "--{long} undocumented");
        }
    }
    for needle in [
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "NO_COLOR",
        "HTTPS_PROXY",
        "EXIT STATUS",
        "\n  0  ",
        "\n  1  ",
        "\n  2  ",
        "[default: 7m]",
        "[default: 1s]",
        "[default: 60s]",
        "[default: fail]",
        "GITHUB_OUTPUT",
        "[default: /health]",
        "[default: /sha]",
    ] {
        assert!(help.contains(needle), "{needle:?} not in --help:\n{help}");
    }
}
