use super::support::*;

#[test]
fn a_closed_pipe_before_the_end_is_exit_1_saying_what_was_left() {
    let home = TempDir::new("tenant-list").unwrap();
    let file = home.join("big.jsonl");
    let mut big = String::new();
    for i in 0..10_000 {
        big.push_str(&format!(
            "{{\"url\":\"https://tenant-{i}.example.com\",\"token\":\"token-{i}\"}}\n"
        ));
    }
    std::fs::write(&file, big).unwrap();
    let mut child = tool(&home)
        .arg("--file")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `head -n 1`: read one record, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let first: Tenant = serde_json::from_str(&first).unwrap();
    assert_eq!(first.url, "https://tenant-0.example.com");
    let out = child.wait_with_output().unwrap();
    // The reader left with tenants undelivered: not success, and stderr
    // says how much was left, in one line, without a panic.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {stderr:?}");
    assert!(
        line.starts_with("tenant-list: stdout closed: ")
            && line.ends_with(" of 10000 tenant(s) not written"),
        "{stderr:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn help_documents_sources_flags_variables_and_exit_codes() {
    let home = TempDir::new("tenant-list").unwrap();
    let out = Output::of(tool(&home).arg("--help"), None);
    assert_eq!(out.code, 0);
    for needle in [
        "CANARY_TENANT_URLS",
        "CANARY_ADMIN_TOKENS",
        "GITHUB_ACTIONS",
        "--file",
        "--match",
        "--shard",
        "--insecure",
        "--show-tokens",
        "EXIT STATUS",
    ] {
        assert!(out.stdout.contains(needle), "--help lacks {needle}");
    }
}
