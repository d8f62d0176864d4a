use super::support::*;

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
fn tokens_are_hidden_on_a_terminal_unless_asked() {
    let home = TempDir::new("tenant-list").unwrap();
    let hidden = on_a_terminal(&home, "");
    assert!(hidden.contains("\"token\":\"***\""), "{hidden:?}");
    assert!(!hidden.contains("visible-token-123"), "{hidden:?}");
    let shown = on_a_terminal(&home, "--show-tokens");
    assert!(shown.contains("visible-token-123"), "{shown:?}");
}

#[test]
fn credentials_in_a_url_are_refused_without_repeating_them() {
    for url in [
        "https://bob:pa55-w0rd@canary.example.com",
        "https://bob:pa55/w0rd@canary.example.com/t/1",
        "https://pa55-w0rd@canary.example.com",
    ] {
        let out = from_env(&format!("https://a.example.com {url}"), "tok-a tok-b", &[]);
        assert_usage_error(&out, &["CANARY_TENANT_URLS entry 2", "credentials"]);
        assert!(!out.stderr.contains("pa55"), "{url}: {}", out.stderr);
        let out = from_file(&format!("{{\"url\":\"{url}\",\"token\":\"tok-a\"}}\n"), &[]);
        assert_usage_error(&out, &["tenants.jsonl:1", "credentials"]);
        assert!(!out.stderr.contains("pa55"), "{url}: {}", out.stderr);
    }
}
