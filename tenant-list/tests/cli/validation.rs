use super::support::*;

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
            "same as CANARY_TENANT_URLS entry 1",
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
fn bad_or_empty_shards_are_usage_errors() {
    let out = from_env("https://a.example.com", "t", &["--shard", "4/3"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("I/N"), "{}", out.stderr);
    let out = from_env("https://a.example.com", "t", &["--shard", "2/2"]);
    assert_usage_error(&out, &["shard 2/2 is empty"]);
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
fn ports_out_of_range_are_input_errors_naming_the_entry() {
    let out = from_env(
        "https://a.example.com https://b.example.com:99999",
        "tok-a tok-b",
        &[],
    );
    assert_usage_error(
        &out,
        &["CANARY_TENANT_URLS entry 2", "99999", "not a port number"],
    );
    let out = from_file(
        "{\"url\":\"https://a.example.com:0\",\"token\":\"tok-a\"}\n",
        &[],
    );
    assert_usage_error(&out, &["tenants.jsonl:1", "not a port number"]);
}

#[test]
fn tokens_with_line_breaks_or_control_characters_are_input_errors() {
    for token in ["tok-first\\nsecond", "tok-first\\rx", "tok-first\\u001bx"] {
        let out = from_file(
            &format!(
                "{{\"url\":\"https://a.example.com\",\"token\":\"ok-token\"}}\n\
                 {{\"url\":\"https://b.example.com\",\"token\":\"{token}\"}}\n"
            ),
            &[],
        );
        assert_usage_error(
            &out,
            &["tenants.jsonl:2", "line break or control character"],
        );
        assert!(!out.stderr.contains("tok-first"), "{}", out.stderr);
    }
    let out = from_file(
        "{\"url\":\"https://a.example.com\",\"token\":\"  \"}\n",
        &[],
    );
    assert_usage_error(&out, &["tenants.jsonl:1", "empty token"]);
}
