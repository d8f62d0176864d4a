//! Where registry credentials come from, first match wins:
//! `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`; for ghcr.io `GITHUB_TOKEN` with
//! `GITHUB_ACTOR`; docker's `config.json` (`credHelpers`, `credsStore`,
//! `auths`); otherwise anonymous.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::{
    STANDARD, STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT,
};
use base64::Engine as _;
use common::ci::neutralize;
use common::redact::scrub;
use common::Secret;
use serde::Deserialize;

use crate::reference::DOCKER_HUB;

/// A username and password (or token) for one registry, and where they came from.
#[derive(Debug, Clone)]
pub struct Credential {
    pub username: String,
    pub password: Secret,
    pub source: Source,
}

impl Credential {
    /// Registers the password's Basic form (`base64(user:password)`) for
    /// redaction too: a server may echo the header back.
    pub fn new(username: impl Into<String>, password: Secret, source: Source) -> Credential {
        let username = username.into();
        common::redact::register_basic(&username, &password);
        Credential {
            username,
            password,
            source,
        }
    }

    fn anonymous() -> Credential {
        Credential {
            username: String::new(),
            password: Secret::default(),
            source: Source::Anonymous,
        }
    }

    /// `Basic base64(user:password)`.
    pub fn basic_header(&self) -> Secret {
        let raw = format!("{}:{}", self.username, self.password.expose());
        Secret::new(format!("Basic {}", STANDARD.encode(raw)))
    }
}

impl Source {
    /// How errors name it: `credentials from <source>` or `anonymous: …`.
    pub fn describe(&self) -> String {
        match self {
            Source::Anonymous => "anonymous: no credentials found".to_string(),
            other => format!("credentials from {other}"),
        }
    }
}

/// Which credential source was used: named in errors, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    RegistryEnv,
    GithubToken,
    DockerAuths { config: PathBuf, key: String },
    DockerHelper { helper: String, from: &'static str },
    Anonymous,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::RegistryEnv => f.write_str("REGISTRY_USERNAME/REGISTRY_PASSWORD"),
            Source::GithubToken => f.write_str("GITHUB_TOKEN (user GITHUB_ACTOR)"),
            Source::DockerAuths { config, key } => {
                write!(f, "{} auths[{key:?}]", config.display())
            }
            Source::DockerHelper { helper, from } => {
                write!(f, "docker-credential-{helper} (config.json {from})")
            }
            Source::Anonymous => f.write_str("anonymous (no credentials found)"),
        }
    }
}

/// Credentials could not be read: a configuration error.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct CredentialError {
    pub source_name: String,
    pub message: String,
}

/// The credential inputs, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    registry_username: Option<String>,
    registry_password: Option<Secret>,
    github_token: Option<Secret>,
    github_actor: Option<String>,
    docker_config: Option<PathBuf>,
}

fn non_empty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

impl Credentials {
    /// Reads `REGISTRY_USERNAME`, `REGISTRY_PASSWORD`, `GITHUB_TOKEN`,
    /// `GITHUB_ACTOR`, and locates `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`.
    pub fn from_env() -> Credentials {
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
            .map(|dir| dir.join("config.json"));
        Credentials {
            registry_username: non_empty("REGISTRY_USERNAME"),
            registry_password: non_empty("REGISTRY_PASSWORD").map(Secret::new),
            github_token: non_empty("GITHUB_TOKEN").map(Secret::new),
            github_actor: non_empty("GITHUB_ACTOR"),
            docker_config,
        }
    }

    /// No credentials at all (every registry is accessed anonymously).
    pub fn anonymous() -> Credentials {
        Credentials::default()
    }

    /// Secrets known up front, for `::add-mask::` before any other output.
    pub fn env_secrets(&self) -> Vec<&Secret> {
        self.registry_password
            .iter()
            .chain(&self.github_token)
            .collect()
    }

    /// Half-set variables are a usage error rather than a silent anonymous access.
    pub fn check(&self) -> Result<(), CredentialError> {
        match (&self.registry_username, &self.registry_password) {
            (Some(_), None) => Err(CredentialError {
                source_name: "REGISTRY_USERNAME/REGISTRY_PASSWORD".into(),
                message: "REGISTRY_USERNAME is set but REGISTRY_PASSWORD is not".into(),
            }),
            (None, Some(_)) => Err(CredentialError {
                source_name: "REGISTRY_USERNAME/REGISTRY_PASSWORD".into(),
                message: "REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The credential for `registry` (`host[:port]`), first match wins.
    pub fn for_registry(&self, registry: &str) -> Result<Credential, CredentialError> {
        if let (Some(username), Some(password)) = (&self.registry_username, &self.registry_password)
        {
            return Ok(Credential::new(
                username.clone(),
                password.clone(),
                Source::RegistryEnv,
            ));
        }
        if registry == "ghcr.io" {
            if let Some(token) = &self.github_token {
                return Ok(Credential::new(
                    self.github_actor
                        .clone()
                        .unwrap_or_else(|| "github-actions".into()),
                    token.clone(),
                    Source::GithubToken,
                ));
            }
        }
        if let Some(path) = &self.docker_config {
            if let Some(found) = from_docker_config(path, registry)? {
                return Ok(found);
            }
        }
        Ok(Credential::anonymous())
    }
}

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

fn from_docker_config(
    path: &PathBuf,
    registry: &str,
) -> Result<Option<Credential>, CredentialError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
        if let Some(found) = run_helper(helper, &server, "credHelpers")? {
            return Ok(Some(found));
        }
    } else if let Some(helper) = config.creds_store.as_deref().filter(|h| !h.is_empty()) {
        if let Some(found) = run_helper(helper, &server, "credsStore")? {
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
        config: path.clone(),
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperOutput {
    username: String,
    secret: Secret,
}

/// `docker-credential-<helper> get` with the server on stdin; `None` when the
/// helper has no credentials for it.
fn run_helper(
    helper: &str,
    server: &str,
    from: &'static str,
) -> Result<Option<Credential>, CredentialError> {
    let source = Source::DockerHelper {
        helper: helper.to_string(),
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
        // A failing helper's output should hold no secret; scrub the known
        // ones anyway, then keep it short and on one line.
        return Err(err(format!(
            "{program} get failed ({}): {}",
            out.status,
            neutralize(&scrub(said.trim()), 200)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_then_github_then_anonymous() {
        let mut c = Credentials {
            github_token: Some(Secret::new("gh")),
            github_actor: Some("bot".into()),
            ..Credentials::default()
        };
        let ghcr = c.for_registry("ghcr.io").unwrap();
        assert_eq!(
            (ghcr.username.as_str(), ghcr.source),
            ("bot", Source::GithubToken)
        );
        assert_eq!(c.for_registry("quay.io").unwrap().source, Source::Anonymous);
        c.registry_username = Some("u".into());
        c.registry_password = Some(Secret::new("p"));
        assert_eq!(
            c.for_registry("ghcr.io").unwrap().source,
            Source::RegistryEnv
        );
        assert_eq!(
            c.for_registry("ghcr.io").unwrap().basic_header().expose(),
            "Basic dTpw"
        );
    }

    #[test]
    fn half_set_env_is_an_error() {
        let c = Credentials {
            registry_username: Some("u".into()),
            ..Credentials::default()
        };
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .contains("REGISTRY_PASSWORD is not"));
    }

    fn with_config(json: &str) -> (Credentials, PathBuf) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "registry-tag-creds-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        let creds = Credentials {
            docker_config: Some(path.clone()),
            ..Credentials::default()
        };
        (creds, path)
    }

    #[test]
    fn docker_config_auths_by_host_or_url() {
        let (creds, path) = with_config(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},
                         "https://quay.io":{"username":"q","password":"p"},
                         "ghcr.io":{}}}"#,
        );
        let hub = creds.for_registry(DOCKER_HUB).unwrap();
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
        assert_eq!(creds.for_registry("quay.io").unwrap().username, "q");
        // An empty entry (left by a credsStore login) is no credential.
        assert_eq!(
            creds.for_registry("ghcr.io").unwrap().source,
            Source::Anonymous
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_missing_helper_is_named() {
        let (creds, path) = with_config(r#"{"credHelpers":{"ghcr.io":"no-such-helper-xyz"}}"#);
        let err = creds.for_registry("ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-no-such-helper-xyz"),
            "{err}"
        );
        assert!(err.contains("PATH"), "{err}");
        let (creds, _) = with_config(r#"{"credHelpers":{"ghcr.io":"../evil"}}"#);
        assert!(creds.for_registry("ghcr.io").is_err());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn source_names_never_hold_secrets() {
        let s = Source::DockerAuths {
            config: "/h/.docker/config.json".into(),
            key: "ghcr.io".into(),
        };
        assert_eq!(s.to_string(), "/h/.docker/config.json auths[\"ghcr.io\"]");
    }
}
