//! Running a built tool the way a user would, without the caller's
//! environment leaking in.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Variables that would change a tool's behaviour if inherited from the
/// developer's or CI's shell.
const INHERITED: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "GITHUB_ACTOR",
    "CANARY_TENANT_URLS",
    "CANARY_ADMIN_TOKENS",
    "REGISTRY_USERNAME",
    "REGISTRY_PASSWORD",
    "DOCKER_CONFIG",
    "IMAGE_NAME",
    "TENANT_IMAGE_NAME",
    "NO_COLOR",
];

/// A command for `binary` with proxy, CI, credential and tool variables
/// removed, and `HOME` pointed at `home` so no real `~/.docker/config.json`
/// is read.
pub fn hermetic(binary: &str, home: &Path) -> Command {
    let mut cmd = Command::new(binary);
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home);
    cmd.stdin(Stdio::null());
    cmd
}

/// What a finished tool printed, with stdout parsed as JSON lines.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Runs `cmd` to completion, feeding `stdin` if given.
    pub fn of(cmd: &mut Command, stdin: Option<&str>) -> Output {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn the tool under test");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let input = input.to_string();
            // A separate thread, so a tool that writes before reading all of
            // its input cannot deadlock the test.
            std::thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        let out = child
            .wait_with_output()
            .expect("wait for the tool under test");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout parsed as JSON lines; panics (failing the test) on a bad line.
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad record {l:?}: {e}")))
            .collect()
    }
}
