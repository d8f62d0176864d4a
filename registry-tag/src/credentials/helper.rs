//! `docker-credential-<name> get`, as docker runs credential helpers.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::redact::excerpt;
use common::Secret;
use serde::Deserialize;

use super::{Credential, CredentialError, Source};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperOutput {
    username: String,
    secret: Secret,
}

/// `docker-credential-<helper> get` with the server on stdin; `None` when the
/// helper has no credentials for it.
pub(super) fn run(
    helper: &str,
    server: &str,
    config: &Path,
    from: &'static str,
) -> Result<Option<Credential>, CredentialError> {
    let source = Source::DockerHelper {
        helper: helper.to_string(),
        config: config.to_path_buf(),
        from,
    };
    let err = |message: String| CredentialError {
        source_name: source.to_string(),
        message,
    };
    if helper.contains(['/', '\\']) || helper.is_empty() {
        return Err(err(format!("helper name {helper:?} is not a plain name")));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run {program}: {e} (is it on PATH?)")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| err(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        // A failing helper's output should hold no secret; mask a "Secret"
        // and scrub the known ones anyway, then keep it short and on one line.
        return Err(err(format!(
            "{program} get failed ({}): {}",
            out.status,
            excerpt(said.trim(), 200)
        )));
    }
    let parsed: HelperOutput = serde_json::from_slice(&out.stdout).map_err(|_| {
        err(format!(
            "{program} get printed something other than {{\"Username\",\"Secret\"}}"
        ))
    })?;
    if parsed.username == "<token>" {
        return Err(err(
            "identity tokens are not supported; store a username and password or token".into(),
        ));
    }
    Ok(Some(Credential::new(
        parsed.username,
        parsed.secret,
        source,
    )))
}
