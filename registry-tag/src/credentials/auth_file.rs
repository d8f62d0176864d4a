//! Credentials in a docker `config.json` or a containers `auth.json`: the
//! `auths` entries, and the credential helper a file names.

use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
use base64::Engine as _;
use common::Secret;
use serde::Deserialize;

use super::{helper, Credential, CredentialError, Source};
use crate::reference::DOCKER_HUB;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<Secret>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    identitytoken: Option<Secret>,
}

/// The keys docker uses for a registry in `auths`/`credHelpers`.
fn config_keys(registry: &str) -> Vec<String> {
    let mut keys = vec![registry.to_string()];
    if registry == DOCKER_HUB {
        keys.extend(["https://index.docker.io/v1/".into(), "docker.io".into()]);
    }
    keys.extend([format!("https://{registry}"), format!("http://{registry}")]);
    keys
}

/// The credential for `registry` in a docker `config.json` or containers
/// `auth.json`; a missing file is skipped unless it was asked for by name.
pub(super) fn read(
    path: &Path,
    required: bool,
    registry: &str,
) -> Result<Option<Credential>, CredentialError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(CredentialError {
                source_name: path.display().to_string(),
                message: format!("cannot read: {e}"),
            })
        }
    };
    // serde's message may quote a value (an `auth` credential where an
    // object was expected): say only where and what kind of mistake.
    let config: DockerConfig = serde_json::from_str(&text).map_err(|e| CredentialError {
        source_name: path.display().to_string(),
        message: format!(
            "not a valid docker config: {} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Data => "a value of the wrong type",
                serde_json::error::Category::Eof => "unexpected end of file",
                _ => "not valid JSON",
            },
            e.line(),
            e.column()
        ),
    })?;
    let keys = config_keys(registry);
    let server = if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    if let Some(helper) = keys.iter().find_map(|k| config.cred_helpers.get(k)) {
        if let Some(found) = helper::run(helper, &server, path, "credHelpers")? {
            return Ok(Some(found));
        }
    } else if let Some(helper) = config.creds_store.as_deref().filter(|h| !h.is_empty()) {
        if let Some(found) = helper::run(helper, &server, path, "credsStore")? {
            return Ok(Some(found));
        }
    }
    let Some((key, entry)) = keys
        .iter()
        .find_map(|k| config.auths.get_key_value(k))
        .or_else(|| {
            // `https://host/v1/` and other URL-shaped keys.
            config.auths.iter().find(|(k, _)| {
                let host = k
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                host.split('/').next() == Some(registry)
            })
        })
    else {
        return Ok(None);
    };
    let source = Source::DockerAuths {
        config: path.to_path_buf(),
        key: key.clone(),
    };
    let err = |message: &str| CredentialError {
        source_name: source.to_string(),
        message: message.to_string(),
    };
    if entry.identitytoken.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(err(
            "identity tokens are not supported; use a username and password or token",
        ));
    }
    let (username, password) = match (&entry.auth, &entry.username, &entry.password) {
        (Some(auth), _, _) if !auth.is_empty() => {
            let encoded = auth.expose().trim();
            let raw = STANDARD_PAD_INDIFFERENT
                .decode(encoded)
                .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(encoded))
                .map_err(|_| err("\"auth\" is not valid base64"))?;
            let raw = String::from_utf8(raw).map_err(|_| err("\"auth\" is not UTF-8"))?;
            let (u, p) = raw
                .split_once(':')
                .ok_or_else(|| err("\"auth\" must encode username:password"))?;
            (u.to_string(), Secret::new(p))
        }
        (_, Some(u), Some(p)) => (u.clone(), p.clone()),
        // An empty entry is what `docker login` leaves behind with a credsStore.
        _ => return Ok(None),
    };
    Ok(Some(Credential::new(username, password, source)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn with_config(json: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "registry-tag-creds-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn docker_config_auths_by_host_or_url() {
        let path = with_config(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},
                         "https://quay.io":{"username":"q","password":"p"},
                         "ghcr.io":{}}}"#,
        );
        let hub = read(&path, false, DOCKER_HUB).unwrap().unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.expose()),
            ("hub", "pw")
        );
        assert_eq!(
            hub.source,
            Source::DockerAuths {
                config: path.clone(),
                key: "https://index.docker.io/v1/".into()
            }
        );
        assert_eq!(
            read(&path, false, "quay.io").unwrap().unwrap().username,
            "q"
        );
        // An empty entry (left by a credsStore login) is no credential.
        assert!(read(&path, false, "ghcr.io").unwrap().is_none());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_missing_helper_is_named() {
        let path = with_config(r#"{"credHelpers":{"ghcr.io":"no-such-helper-xyz"}}"#);
        let err = read(&path, false, "ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-no-such-helper-xyz"),
            "{err}"
        );
        assert!(err.contains("PATH"), "{err}");
        let evil = with_config(r#"{"credHelpers":{"ghcr.io":"../evil"}}"#);
        assert!(read(&evil, false, "ghcr.io").is_err());
        let _ = std::fs::remove_dir_all(evil.parent().unwrap());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_missing_file_is_skipped_unless_asked_for() {
        let path = std::env::temp_dir().join("registry-tag-no-such-auth.json");
        assert!(read(&path, false, "ghcr.io").unwrap().is_none());
        let err = read(&path, true, "ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("registry-tag-no-such-auth.json: cannot read"),
            "{err}"
        );
    }
}
