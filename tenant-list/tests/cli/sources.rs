use super::support::*;

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
    let recs = listed(
        "https://a.example.com\nhttps://b.example.com\nhttps://c.example.com",
        "first\nsecond\nthird\n",
        &[],
    );
    let tokens: Vec<_> = recs.iter().map(|t| t.token.expose()).collect();
    assert_eq!(tokens, ["first", "second", "third"]);
}

#[test]
fn names_are_derived_and_path_prefixes_kept() {
    let recs = listed(
        "https://canary-pm.staging.example.com/ http://127.0.0.1:8080/t/3/",
        "a b",
        &[],
    );
    assert_eq!(recs[0].name.as_deref(), Some("canary-pm"));
    assert_eq!(recs[0].url, "https://canary-pm.staging.example.com");
    assert_eq!(recs[1].name.as_deref(), Some("127.0.0.1:8080/t/3"));
    assert_eq!(recs[1].url, "http://127.0.0.1:8080/t/3");
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
        let got = listed(&urls, &tokens, &["--shard", shard]);
        assert!(
            (3..=4).contains(&got.len()),
            "{shard}: balanced, got {}",
            got.len()
        );
        seen.extend(got.into_iter().map(|t| t.url));
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
fn match_filters_by_name_or_url() {
    let urls =
        "https://canary-pm.example.com https://canary-eu.example.com https://prod-x.example.com";
    let out = from_env(urls, "a b c", &["--match", "canary-*"]);
    let names: Vec<_> = tenants(&out).into_iter().filter_map(|t| t.name).collect();
    assert_eq!(names, ["canary-pm", "canary-eu"]);
    let out = from_env(urls, "a b c", &["--match", "prod-x.example"]);
    assert_eq!(tenants(&out).len(), 1);
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
fn reads_file_from_stdin_with_dash() {
    let home = TempDir::new("tenant-list").unwrap();
    let out = Output::of(
        tool(&home).args(["--file", "-"]),
        Some("{\"url\":\"https://a.example.com\",\"token\":\"t\"}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tenants(&out)[0].url, "https://a.example.com");
}
