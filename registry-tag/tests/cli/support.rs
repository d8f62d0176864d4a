use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testkit::{Output, TempDir};

pub const BIN: &str = env!("CARGO_BIN_EXE_registry-tag");

/// A hermetic home for one test: no real docker config, no inherited
/// credentials or proxies.
#[derive(Debug)]
pub struct Sandbox {
    pub home: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            home: TempDir::new("registry-tag-home").expect("temp home"),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = testkit::hermetic(BIN, self.home.path());
        cmd.args(args);
        cmd
    }

    /// Runs with `args`, extra `env`, and `stdin`.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = self.cmd(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Output::of(&mut cmd, stdin)
    }

    /// `~/.docker/config.json` with `content`.
    pub fn docker_config(&self, content: &Value) -> PathBuf {
        let dir = self.home.join(".docker");
        std::fs::create_dir_all(&dir).expect("mkdir .docker");
        let path = dir.join("config.json");
        std::fs::write(&path, content.to_string()).expect("write config.json");
        path
    }

    /// An executable script `name` in `<home>/bin`; returns that directory.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.home.join("bin");
        std::fs::create_dir_all(&dir).expect("mkdir bin");
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Fails with everything the tool printed when the exit code is not `code`.
#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.code, code,
        "expected exit {code}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.stdout, out.stderr
    );
}

/// The secret appears in neither stream.
#[track_caller]
pub fn assert_hidden(out: &Output, secret: &str) {
    assert!(
        !out.stdout.contains(secret),
        "secret leaked to stdout:\n{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains(secret),
        "secret leaked to stderr:\n{}",
        out.stderr
    );
}

/// The only record printed.
#[track_caller]
pub fn single_record(out: &Output) -> Value {
    let records = out.records();
    assert_eq!(
        records.len(),
        1,
        "expected one record, got:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    records.into_iter().next().expect("one record")
}
