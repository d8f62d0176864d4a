use std::path::PathBuf;

use registry_tag::TagRecord;
use serde_json::Value;
use testkit::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_registry-tag");

pub use testkit::sandbox::{assert_code, assert_hidden, path_with};

/// A hermetic home for one `registry-tag` run: no real docker config, no
/// inherited credentials or proxies.
#[derive(Debug)]
pub struct Sandbox(testkit::Sandbox);

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox(testkit::Sandbox::new(BIN))
    }

    /// `~/.docker/config.json` with `content`.
    pub fn docker_config(&self, content: &Value) -> PathBuf {
        let dir = self.home.join(".docker");
        std::fs::create_dir_all(&dir).expect("mkdir .docker");
        let path = dir.join("config.json");
        std::fs::write(&path, content.to_string()).expect("write config.json");
        path
    }
}

impl std::ops::Deref for Sandbox {
    type Target = testkit::Sandbox;

    fn deref(&self) -> &testkit::Sandbox {
        &self.0
    }
}

/// The only record printed, typed.
#[track_caller]
pub fn single_record(out: &Output) -> TagRecord {
    let mut records = tag_records(out);
    assert_eq!(
        records.len(),
        1,
        "expected one record, got:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    records.remove(0)
}

/// Every record printed, typed.
#[track_caller]
pub fn tag_records(out: &Output) -> Vec<TagRecord> {
    out.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("not a tag record ({e}): {line}\nstderr:\n{}", out.stderr)
            })
        })
        .collect()
}

/// A move request line: `{"image","source","tag"}`.
pub fn request(host: &str, repo: &str, source: &str, tag: &str) -> String {
    format!("{{\"image\":\"{host}/{repo}\",\"source\":\"{source}\",\"tag\":\"{tag}\"}}\n")
}
