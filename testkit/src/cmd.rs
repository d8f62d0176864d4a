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
    "GITHUB_OUTPUT",
    "GITHUB_TOKEN",
    "GITHUB_ACTOR",
    "RUNNER_DEBUG",
    "CANARY_TENANT_URLS",
    "CANARY_ADMIN_TOKENS",
    "REGISTRY_USERNAME",
    "REGISTRY_PASSWORD",
    "REGISTRY_HOST",
    "REGISTRY_AUTH_FILE",
    "DOCKER_CONFIG",
    // $XDG_RUNTIME_DIR/containers/auth.json holds real registry credentials.
    "XDG_RUNTIME_DIR",
    "ROLLBACK_IMAGES",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermetic_commands_drop_every_variable_a_tool_reads() {
        let cmd = hermetic("tool", Path::new("/tmp/home"));
        let removed: Vec<_> = cmd
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for var in [
            "GITHUB_OUTPUT",
            "GITHUB_STEP_SUMMARY",
            "RUNNER_DEBUG",
            "REGISTRY_AUTH_FILE",
            "XDG_RUNTIME_DIR",
            "ROLLBACK_IMAGES",
            "HTTPS_PROXY",
        ] {
            assert!(removed.iter().any(|r| r == var), "{var} is inherited");
        }
        let home = cmd.get_envs().find(|(name, _)| *name == "HOME");
        assert_eq!(
            home.and_then(|(_, v)| v),
            Some(Path::new("/tmp/home").as_os_str())
        );
    }
}
