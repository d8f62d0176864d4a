//! A hermetic place to run one tool in a test: its own `HOME`, no inherited
//! credentials, proxies or CI variables.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{hermetic, Output, TempDir};

#[derive(Debug)]
pub struct Sandbox {
    binary: String,
    pub home: TempDir,
}

impl Sandbox {
    /// A sandbox for `binary` (usually `env!("CARGO_BIN_EXE_<tool>")`).
    pub fn new(binary: &str) -> Sandbox {
        Sandbox {
            binary: binary.to_string(),
            home: TempDir::new("home").expect("create a temp HOME"),
        }
    }

    /// The tool with `args`, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = hermetic(&self.binary, self.home.path());
        cmd.args(args);
        cmd
    }

    /// Runs the tool with `args`, extra `env`, and `stdin`.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = self.cmd(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Output::of(&mut cmd, stdin)
    }

    /// A file under the sandbox's home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// An executable script `name` in `<home>/bin` (a credential helper, say);
    /// returns that directory, to put first on `PATH`.
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

/// Fails with everything the tool printed when its exit code is not `code`.
#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.code, code,
        "expected exit {code}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.stdout, out.stderr
    );
}

/// `secret` appears in neither output stream.
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
