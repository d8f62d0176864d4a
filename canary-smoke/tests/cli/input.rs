//! Where tenants come from (streamed stdin, bad lines, nothing at all), and
//! a closed stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::*;

#[test]
fn zero_tenants_or_a_bad_tenant_line_is_exit_2() {
    let empty = smoke(&[], "");
    assert_code(&empty, 2);
    assert!(
        empty
            .stderr
            .starts_with("canary-smoke: no tenants on stdin: "),
        "{}",
        empty.stderr
    );

    let bad = smoke(
        &[],
        "{\"url\":\"http://127.0.0.1:9\",\"token\":\"tok-first-0001\"}\n{\"token\":\"t\"}\n",
    );
    assert_code(&bad, 2);
    assert!(
        bad.stderr
            .ends_with("canary-smoke: stdin:2: missing field \"url\"\n"),
        "{}",
        bad.stderr
    );
    let plain = smoke(
        &[],
        "{\"url\":\"http://canary.example.com\",\"token\":\"tok-plain-0001\"}\n",
    );
    assert_code(&plain, 2);
    assert!(
        plain.stderr.contains("stdin:1: ") && plain.stderr.contains("--insecure"),
        "{}",
        plain.stderr
    );
    let with_password = smoke(
        &[],
        "{\"url\":\"http://user:pa55word-x@127.0.0.1:9\",\"token\":\"tok-pw-0001\"}\n",
    );
    assert_code(&with_password, 2);
    assert!(
        with_password.stderr.contains("stdin:1: "),
        "{}",
        with_password.stderr
    );
    assert!(
        !with_password.stderr.contains("pa55word-x"),
        "{}",
        with_password.stderr
    );
    let bad_flag = smoke(&["--jobs", "0"], "");
    assert_code(&bad_flag, 2);
}

#[test]
fn an_empty_pipe_is_an_upstream_failure_not_a_reason_to_read_the_variables() {
    // As after `canary-wait --sha BAD | canary-smoke`: canary-wait refused
    // its sha and wrote nothing; the variables would skip the wait.
    let fleet = fleet(vec![TenantSpec::healthy("a")]);
    let out = sandbox().run(
        &[],
        &[
            ("CANARY_TENANT_URLS", &fleet.url(0)),
            ("CANARY_ADMIN_TOKENS", &fleet.token(0)),
        ],
        Some(""),
    );
    assert_code(&out, 2);
    assert!(
        out.stderr
            .contains("did the command before canary-smoke fail?"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("--from-env"), "{}", out.stderr);
    assert_eq!(fleet.total_requests(), 0);
}

#[test]
fn tenants_stream_in_and_results_stream_out() {
    let fleet = fleet(vec![
        TenantSpec::healthy("first"),
        TenantSpec::healthy("second"),
    ]);
    let sandbox = sandbox();
    let mut child = sandbox
        .cmd(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{}", fleet.tenant_line(0)).unwrap();
    stdin.flush().unwrap();
    // stdin stays open: the first result must come anyway.
    let first = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a result before stdin closes");
    let first: CheckRecord = serde_json::from_str(&first).unwrap();
    assert_eq!(first.tenant, "first");
    assert_eq!(fleet.requests(1), 0);

    writeln!(stdin, "{}", fleet.tenant_line(1)).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert_eq!(status.code(), Some(0));
    assert_eq!(rest.len(), 11);
    assert!(rest.iter().any(|l| l.contains("\"tenant\":\"second\"")));
}

#[test]
fn a_silent_pipe_is_never_a_silent_hang() {
    let sandbox = sandbox();
    let mut child = sandbox
        .cmd(&[])
        .env("CANARY_TENANT_URLS", "http://127.0.0.1:9")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Nothing is written; the first stderr line must say what it waits for.
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("canary-smoke: waiting for tenant records on stdin"),
        "{line}"
    );
    assert!(
        line.contains("CANARY_TENANT_URLS is not read while stdin is a pipe"),
        "{line}"
    );
    // Behind canary-wait, reading the variables would skip the wait.
    assert!(!line.contains("--from-env"), "{line}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "an empty pipe checks nothing");
}

/// `tenant-list | canary-smoke | head -n1`: returns what canary-smoke says
/// after head has gone.
fn closed_after_the_first_record(specs: Vec<TenantSpec>) -> (Fleet, i32, String) {
    let fleet = fleet(specs);
    let sandbox = sandbox();
    let mut child = sandbox
        .cmd(&["--jobs", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = fleet.tenant_lines();
    let mut stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(lines.as_bytes());
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"check\""), "{first}");
    // The reader is dropped here, like `head -n1` exiting.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (fleet, out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_closed_stdout_stops_and_says_what_was_left_unchecked() {
    // More records than a pipe buffers (64 KiB), so the run cannot finish
    // before it meets the closed pipe.
    let specs = (0..60)
        .map(|i| TenantSpec::healthy(&format!("t{i}")))
        .collect();
    let (fleet, code, stderr) = closed_after_the_first_record(specs);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");
    assert_eq!(code, 1, "work left undone is never a pass: {stderr}");
    assert!(
        stderr.contains("canary-smoke: stdout closed: ") && stderr.contains("left unchecked"),
        "{stderr}"
    );
    assert!(fleet.total_requests() < 60 * 6, "it stopped early");
}

#[test]
fn the_timeout_deadline_ends_a_run_whose_stdin_stays_open() {
    let fleet = fleet(vec![TenantSpec::healthy("only")]);
    let sandbox = sandbox();
    let mut child = sandbox
        .cmd(&["--timeout", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", fleet.tenant_line(0)).unwrap();
    // stdin stays open (held until the end of the test): only the deadline
    // can end the run.
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "canary-smoke: the --timeout deadline passed while waiting for tenant records"
        ),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        6,
        "the tenant read was checked: {stdout}"
    );
}
