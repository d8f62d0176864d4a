//! Running the built `tenant-list` as a user would.

pub use std::io::{BufRead, BufReader};
pub use std::process::{Command, Stdio};

pub use common::Tenant;
pub use serde_json::json;
pub use testkit::{hermetic, Output, TempDir};

pub const BIN: &str = env!("CARGO_BIN_EXE_tenant-list");

pub fn tool(home: &TempDir) -> Command {
    hermetic(BIN, home.path())
}

pub fn from_env(urls: &str, tokens: &str, args: &[&str]) -> Output {
    let home = TempDir::new("tenant-list").unwrap();
    Output::of(
        tool(&home)
            .env("CANARY_TENANT_URLS", urls)
            .env("CANARY_ADMIN_TOKENS", tokens)
            .args(args),
        None,
    )
}

/// The tenants listed from the environment with `args`; any exit but 0
/// fails the test, showing stderr.
#[track_caller]
pub fn listed(urls: &str, tokens: &str, args: &[&str]) -> Vec<Tenant> {
    let out = from_env(urls, tokens, args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    tenants(&out)
}

pub fn from_file(lines: &str, args: &[&str]) -> Output {
    let home = TempDir::new("tenant-list").unwrap();
    let file = home.join("tenants.jsonl");
    std::fs::write(&file, lines).unwrap();
    Output::of(tool(&home).arg("--file").arg(&file).args(args), None)
}

/// stdout parsed as tenant records; any other line fails the test.
pub fn tenants(out: &Output) -> Vec<Tenant> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a tenant {l:?}: {e}")))
        .collect()
}

pub fn urls_and_tokens(out: &Output) -> Vec<(String, String)> {
    tenants(out)
        .into_iter()
        .map(|t| (t.url, t.token.expose().to_string()))
        .collect()
}

pub fn assert_usage_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "", "nothing may be emitted on error");
    let line = out.stderr.trim_end();
    assert!(!line.contains('\n'), "one-line error, got {line:?}");
    assert!(line.starts_with("tenant-list: "), "{line}");
    for needle in needles {
        assert!(line.contains(needle), "{line:?} should mention {needle:?}");
    }
}

/// Runs the tool with a real terminal as stdout (util-linux `script`).
pub fn on_a_terminal(home: &TempDir, args: &str) -> String {
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
