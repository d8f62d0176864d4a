//! Where tenants come from (the script's variables, streamed stdin), and a closed stdout.

use super::*;

#[test]
fn env_mode_is_a_drop_in_for_the_script() {
    let fleet = fleet(vec![
        TenantSpec::healthy("a"),
        TenantSpec::healthy("b"),
        TenantSpec::healthy("c"),
    ]);
    let home = TempDir::new("smoke").unwrap();
    let env_run = |urls: Option<&str>, tokens: Option<&str>| {
        let mut cmd = command(&home, &["--from-env"]);
        if let Some(urls) = urls {
            cmd.env("CANARY_TENANT_URLS", urls);
        }
        if let Some(tokens) = tokens {
            cmd.env("CANARY_ADMIN_TOKENS", tokens);
        }
        Output::of(&mut cmd, None)
    };
    let urls = format!("{} {}\n{}/", fleet.url(0), fleet.url(1), fleet.url(2));
    let tokens = format!("{},{}, {}", fleet.token(0), fleet.token(1), fleet.token(2));
    let out = env_run(Some(&urls), Some(&tokens));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tenants: BTreeSet<String> = out.records().iter().map(|r| text(r, "url")).collect();
    assert_eq!(tenants, (0..3).map(|i| fleet.url(i)).collect());
    assert_eq!(out.records().len(), 18);

    let no_urls = env_run(None, Some(&tokens));
    assert_eq!(no_urls.code, 2);
    assert!(
        no_urls
            .stderr
            .starts_with("canary-smoke: CANARY_TENANT_URLS is not set"),
        "{}",
        no_urls.stderr
    );
    assert!(!no_urls.stderr.contains(&fleet.token(0)));
    let missing = env_run(Some(&urls), None);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .starts_with("canary-smoke: CANARY_ADMIN_TOKENS is not set"),
        "{}",
        missing.stderr
    );
    assert!(missing.stdout.is_empty());
    let short = env_run(Some(&urls), Some(&fleet.token(0)));
    assert_eq!(short.code, 2);
    assert!(
        short
            .stderr
            .contains("has 3 URL(s) but CANARY_ADMIN_TOKENS has 1 token(s)"),
        "{}",
        short.stderr
    );
    assert!(!short.stderr.contains(&fleet.token(0)));
    let none = env_run(Some(" , "), Some(""));
    assert_eq!(
        none.code, 2,
        "zero tenants is never a pass: {}",
        none.stderr
    );
    assert_eq!(fleet.total_requests(), 18, "failed setups send nothing");
}

#[test]
fn zero_tenants_or_a_bad_tenant_line_is_exit_2() {
    let empty = smoke(&[], "");
    assert_eq!(empty.code, 2);
    assert_eq!(
        empty.stderr,
        "canary-smoke: no tenants on stdin: there is nothing to check\n"
    );

    let home = TempDir::new("smoke").unwrap();
    let mut cmd = command(&home, &[]);
    cmd.env("CANARY_TENANT_URLS", "http://127.0.0.1:9");
    let hinted = Output::of(&mut cmd, Some("\n"));
    assert_eq!(hinted.code, 2);
    assert!(
        hinted.stderr.contains("pass --from-env"),
        "{}",
        hinted.stderr
    );

    let bad = smoke(
        &[],
        "{\"url\":\"http://127.0.0.1:9\",\"token\":\"t\"}\n{\"token\":\"t\"}\n",
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .ends_with("canary-smoke: stdin:2: missing field \"url\"\n"),
        "{}",
        bad.stderr
    );
    let plain = smoke(
        &[],
        "{\"url\":\"http://canary.example.com\",\"token\":\"t\"}\n",
    );
    assert_eq!(plain.code, 2);
    assert!(
        plain.stderr.contains("stdin:1: ") && plain.stderr.contains("--insecure"),
        "{}",
        plain.stderr
    );
    let bad_flag = smoke(&["--jobs", "0"], "");
    assert_eq!(bad_flag.code, 2);
}

#[test]
fn tenants_stream_in_and_results_stream_out() {
    let fleet = fleet(vec![
        TenantSpec::healthy("first"),
        TenantSpec::healthy("second"),
    ]);
    let home = TempDir::new("smoke").unwrap();
    let mut child = command(&home, &[])
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
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["tenant"], "first");
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
fn a_closed_stdout_stops_quietly() {
    let specs = (0..20)
        .map(|i| TenantSpec::healthy(&format!("t{i}")))
        .collect();
    let fleet = fleet(specs);
    let home = TempDir::new("smoke").unwrap();
    let mut child = command(&home, &["--jobs", "2"])
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
    // The reader is dropped here, like `canary-smoke | head -1`.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(first.contains("\"check\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("canary-smoke: cannot write"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(fleet.total_requests() < 20 * 6, "it stopped early");
}
