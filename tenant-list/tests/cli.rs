//! End-to-end tests: the built `tenant-list` binary, run as a user would.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use testkit::{hermetic, Output, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_tenant-list");

fn tool(home: &TempDir) -> Command {
    hermetic(BIN, home.path())
}

fn from_env(urls: &str, tokens: &str, args: &[&str]) -> Output {
    let home = TempDir::new("tenant-list").unwrap();
    Output::of(
        tool(&home)
            .env("CANARY_TENANT_URLS", urls)
            .env("CANARY_ADMIN_TOKENS", tokens)
            .args(args),
        None,
    )
}

fn from_file(lines: &str, args: &[&str]) -> Output {
    let home = TempDir::new("tenant-list").unwrap();
    let file = home.join("tenants.jsonl");
    std::fs::write(&file, lines).unwrap();
    Output::of(tool(&home).arg("--file").arg(&file).args(args), None)
}

fn urls_and_tokens(out: &Output) -> Vec<(String, String)> {
    out.records()
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().to_string(),
                r["token"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_separator_mix_gives_the_same_fleet() {
    let expected = vec![
        (
            "https://canary-a.example.com".to_string(),
            "tok-a".to_string(),
        ),
        (
            "https://canary-b.example.com".to_string(),
            "tok-b".to_string(),
        ),
        (
            "https://canary-c.example.com".to_string(),
            "tok-c".to_string(),
        ),
    ];
    let urls = [
        "https://canary-a.example.com https://canary-b.example.com https://canary-c.example.com",
        "https://canary-a.example.com,https://canary-b.example.com,https://canary-c.example.com",
        "https://canary-a.example.com\nhttps://canary-b.example.com\nhttps://canary-c.example.com\n",
        " https://canary-a.example.com/ ,\n https://canary-b.example.com,,https://canary-c.example.com// ",
    ];
    let tokens = [
        "tok-a tok-b tok-c",
        "tok-a,tok-b,tok-c",
        "tok-a, tok-b\ntok-c",
    ];
    for u in urls {
        for t in tokens {
            let out = from_env(u, t, &[]);
            assert_eq!(out.code, 0, "{u:?} {t:?}: {}", out.stderr);
            assert_eq!(urls_and_tokens(&out), expected, "{u:?} {t:?}");
            assert_eq!(out.stderr, "");
        }
    }
}

#[test]
fn a_newline_separated_secret_keeps_every_token() {
    // The old scripts read a multi-line secret with `read`, keeping only the
    // first line and silently checking one tenant.
    let out = from_env(
        "https://a.example.com\nhttps://b.example.com\nhttps://c.example.com",
        "first\nsecond\nthird\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tokens: Vec<_> = urls_and_tokens(&out).into_iter().map(|(_, t)| t).collect();
    assert_eq!(tokens, ["first", "second", "third"]);
}

#[test]
fn names_are_derived_and_path_prefixes_kept() {
    let out = from_env(
        "https://canary-pm.staging.example.com/ http://127.0.0.1:8080/t/3/",
        "a b",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let recs = out.records();
    assert_eq!(recs[0]["name"], "canary-pm");
    assert_eq!(recs[0]["url"], "https://canary-pm.staging.example.com");
    assert_eq!(recs[1]["name"], "127.0.0.1:8080/t/3");
    assert_eq!(recs[1]["url"], "http://127.0.0.1:8080/t/3");
}

fn assert_usage_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "", "nothing may be emitted on error");
    let line = out.stderr.trim_end();
    assert!(!line.contains('\n'), "one-line error, got {line:?}");
    assert!(line.starts_with("tenant-list: "), "{line}");
    for needle in needles {
        assert!(line.contains(needle), "{line:?} should mention {needle:?}");
    }
}

#[test]
fn count_mismatch_names_both_counts() {
    let out = from_env(
        "https://a.example.com https://b.example.com",
        "only-one",
        &[],
    );
    assert_usage_error(
        &out,
        &["CANARY_TENANT_URLS has 2", "CANARY_ADMIN_TOKENS has 1"],
    );
}

#[test]
fn missing_variables_are_named() {
    let home = TempDir::new("tenant-list").unwrap();
    let out = Output::of(&mut tool(&home), None);
    assert_usage_error(&out, &["CANARY_TENANT_URLS is not set"]);
    let out = Output::of(
        tool(&home).env("CANARY_TENANT_URLS", "https://a.example.com"),
        None,
    );
    assert_usage_error(&out, &["CANARY_ADMIN_TOKENS is not set"]);
}

#[test]
fn an_empty_fleet_is_an_error_not_success() {
    assert_usage_error(&from_env(" , \n", "", &[]), &["no tenants"]);
    assert_usage_error(&from_file("\n\n", &[]), &["no tenants"]);
}

#[test]
fn duplicate_urls_are_rejected_even_with_different_slashes() {
    let out = from_env("https://a.example.com https://A.example.com/", "x y", &[]);
    assert_usage_error(
        &out,
        &[
            "CANARY_TENANT_URLS entry 2",
            "duplicate tenant URL https://A.example.com",
            "same as entry 1",
        ],
    );
}

#[test]
fn bad_urls_are_rejected() {
    for bad in [
        "canary.example.com",
        "ftp://canary.example.com",
        "https://",
        "https://a b.example.com",
    ] {
        let out = from_env(bad, "tok", &[]);
        assert_usage_error(&out, &[]);
        assert!(
            out.stderr.contains("URL")
                || out.stderr.contains("scheme")
                || out.stderr.contains("host"),
            "{bad}: {}",
            out.stderr
        );
    }
}

#[test]
fn plain_http_needs_loopback_or_insecure() {
    let out = from_env("http://canary.example.com", "tok", &[]);
    assert_usage_error(&out, &["plain http", "--insecure"]);
    let out = from_env("http://canary.example.com", "tok", &["--insecure"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for loopback in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
        let out = from_env(loopback, "tok", &[]);
        assert_eq!(out.code, 0, "{loopback}: {}", out.stderr);
    }
}

#[test]
fn errors_never_show_tokens() {
    let out = from_env(
        "http://canary.example.com https://b.example.com",
        "s3cr3t-a s3cr3t-b",
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
}

#[test]
fn shards_partition_the_fleet_exactly() {
    let urls: Vec<String> = (0..10)
        .map(|i| format!("https://t{i}.example.com"))
        .collect();
    let tokens: Vec<String> = (0..10).map(|i| format!("tok{i}")).collect();
    let (urls, tokens) = (urls.join(" "), tokens.join(" "));
    let mut seen = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = from_env(&urls, &tokens, &["--shard", shard]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let got = urls_and_tokens(&out);
        assert!(
            (3..=4).contains(&got.len()),
            "{shard}: balanced, got {}",
            got.len()
        );
        seen.extend(got.into_iter().map(|(u, _)| u));
    }
    seen.sort();
    let mut all: Vec<String> = (0..10)
        .map(|i| format!("https://t{i}.example.com"))
        .collect();
    all.sort();
    assert_eq!(seen, all, "every tenant exactly once");
    // The same shard twice gives the same tenants.
    let a = from_env(&urls, &tokens, &["--shard", "2/3"]).stdout;
    assert_eq!(a, from_env(&urls, &tokens, &["--shard", "2/3"]).stdout);
}

#[test]
fn bad_or_empty_shards_are_usage_errors() {
    let out = from_env("https://a.example.com", "t", &["--shard", "4/3"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("I/N"), "{}", out.stderr);
    let out = from_env("https://a.example.com", "t", &["--shard", "2/2"]);
    assert_usage_error(&out, &["shard 2/2 is empty"]);
}

#[test]
fn match_filters_by_name_or_url() {
    let urls =
        "https://canary-pm.example.com https://canary-eu.example.com https://prod-x.example.com";
    let out = from_env(urls, "a b c", &["--match", "canary-*"]);
    let names: Vec<_> = out.records().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, [json!("canary-pm"), json!("canary-eu")]);
    let out = from_env(urls, "a b c", &["--match", "prod-x.example"]);
    assert_eq!(out.records().len(), 1);
    let out = from_env(urls, "a b c", &["--match", "nothing"]);
    assert_usage_error(&out, &["no tenant", "nothing"]);
}

#[test]
fn file_input_passes_headers_and_unknown_fields_through() {
    let input = concat!(
        r#"{"name":"canary-pm","url":"https://canary-pm.example.com/","token":"t1","headers":{"X-Molecule-Org-Id":"org-7"},"region":"eu","meta":{"owner":["a",1]}}"#,
        "\n\n",
        r#"{"url":"https://b.example.com","token":"t2","headers":{}}"#,
        "\n"
    );
    let out = from_file(input, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let recs = out.records();
    assert_eq!(
        recs[0],
        json!({"name":"canary-pm","url":"https://canary-pm.example.com","token":"t1",
               "headers":{"X-Molecule-Org-Id":"org-7"},"region":"eu","meta":{"owner":["a",1]}})
    );
    assert_eq!(
        recs[1],
        json!({"name":"b","url":"https://b.example.com","token":"t2","headers":{}})
    );
}

#[test]
fn malformed_file_lines_name_file_and_line() {
    let home = TempDir::new("tenant-list").unwrap();
    let file = home.join("fleet.jsonl");
    std::fs::write(
        &file,
        "{\"url\":\"https://a.example.com\",\"token\":\"t\"}\n\n{\"token\":\"t\"}\n",
    )
    .unwrap();
    let out = Output::of(tool(&home).arg("--file").arg(&file), None);
    let where_ = format!("{}:3: missing field \"url\"", file.display());
    assert_usage_error(&out, &[&where_]);

    std::fs::write(&file, "[\"https://a.example.com\"]\n").unwrap();
    let out = Output::of(tool(&home).arg("--file").arg(&file), None);
    assert_usage_error(&out, &[":1: expected a JSON object"]);

    let out = Output::of(
        tool(&home).args(["--file", "/nonexistent/fleet.jsonl"]),
        None,
    );
    assert_usage_error(&out, &["cannot read /nonexistent/fleet.jsonl"]);
}

#[test]
fn reads_file_from_stdin_with_dash() {
    let home = TempDir::new("tenant-list").unwrap();
    let out = Output::of(
        tool(&home).args(["--file", "-"]),
        Some("{\"url\":\"https://a.example.com\",\"token\":\"t\"}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.records()[0]["url"], "https://a.example.com");
}

#[test]
fn github_actions_masks_every_token_before_anything_else() {
    let home = TempDir::new("tenant-list").unwrap();
    let tokens = ["tok-alpha-1", "tok-beta-2", "tok-gamma-3"];
    // A failing run (plain http to a remote host) still masks first and
    // never prints a token outside the mask lines.
    let out = Output::of(
        tool(&home)
            .env("GITHUB_ACTIONS", "true")
            .env(
                "CANARY_TENANT_URLS",
                "https://a.example.com https://b.example.com http://c.example.com",
            )
            .env("CANARY_ADMIN_TOKENS", tokens.join(",")),
        None,
    );
    assert_eq!(out.code, 2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines.len() > tokens.len(),
        "an error follows the masks: {lines:?}"
    );
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(lines[i], format!("::add-mask::{token}"));
    }
    for line in &lines[tokens.len()..] {
        assert!(
            tokens.iter().all(|t| !line.contains(t)),
            "token leaked: {line}"
        );
    }

    // A successful run: masks, then nothing else on stderr.
    let out = Output::of(
        tool(&home)
            .env("GITHUB_ACTIONS", "true")
            .env(
                "CANARY_TENANT_URLS",
                "https://a.example.com https://b.example.com",
            )
            .env("CANARY_ADMIN_TOKENS", "tok-alpha-1 tok-beta-2"),
        None,
    );
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "::add-mask::tok-alpha-1\n::add-mask::tok-beta-2\n"
    );
}

#[test]
fn no_masks_outside_github_actions() {
    let out = from_env("https://a.example.com", "tok", &[]);
    assert!(!out.stderr.contains("add-mask"));
}

#[test]
fn a_closed_pipe_stops_quietly() {
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
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["url"], "https://tenant-0.example.com");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, "", "no panic or error text on a closed pipe");
    assert_eq!(out.status.code(), Some(0));
}

/// Runs the tool with a real terminal as stdout (util-linux `script`).
fn on_a_terminal(home: &TempDir, args: &str) -> String {
    let mut script = hermetic("script", home.path());
    script
        .env("CANARY_TENANT_URLS", "https://a.example.com")
        .env("CANARY_ADMIN_TOKENS", "visible-token-123")
        .args(["-qec", &format!("{BIN} {args}"), "/dev/null"]);
    let out = script
        .output()
        .expect("this test needs util-linux `script` on PATH");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tokens_are_hidden_on_a_terminal_unless_asked() {
    let home = TempDir::new("tenant-list").unwrap();
    let hidden = on_a_terminal(&home, "");
    assert!(hidden.contains("\"token\":\"***\""), "{hidden:?}");
    assert!(!hidden.contains("visible-token-123"), "{hidden:?}");
    let shown = on_a_terminal(&home, "--show-tokens");
    assert!(shown.contains("visible-token-123"), "{shown:?}");
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
