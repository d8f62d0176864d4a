//! Where registry credentials come from, first match wins:
//! `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` (only for the registry named by
//! `REGISTRY_HOST`, or the one registry of this run's images); for ghcr.io
//! only, `GITHUB_TOKEN` with `GITHUB_ACTOR`; docker's `config.json`
//! (`credHelpers`, `credsStore`, `auths`); the auth file of `--authfile` or
//! `REGISTRY_AUTH_FILE`; podman's and skopeo's
//! `$XDG_RUNTIME_DIR/containers/auth.json` and
//! `~/.config/containers/auth.json` (the same `auths` format); otherwise
//! anonymous.

mod auth_file;
mod helper;

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::Secret;

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
    /// An `auths` entry of a docker `config.json` or a containers `auth.json`.
    DockerAuths {
        config: PathBuf,
        key: String,
    },
    /// `docker-credential-<helper>`, named by a file's `credHelpers` or `credsStore`.
    DockerHelper {
        helper: String,
        config: PathBuf,
        from: &'static str,
    },
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
            Source::DockerHelper {
                helper,
                config,
                from,
            } => write!(
                f,
                "docker-credential-{helper} ({} {from})",
                config.display()
            ),
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

/// The variables naming the credential meant for one registry.
const ENV_PAIR: &str = "REGISTRY_USERNAME/REGISTRY_PASSWORD";

/// Which registry `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` are for when
/// `REGISTRY_HOST` does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EnvBinding {
    /// The one registry of this run's images.
    Host(String),
    /// The images are on several registries: none of them.
    Several(Vec<String>),
}

/// The credential inputs, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    registry_username: Option<String>,
    registry_password: Option<Secret>,
    /// `REGISTRY_HOST`, normalised like an image's registry.
    registry_host: Option<String>,
    /// Set once by [`Credentials::bind_env`] when `REGISTRY_HOST` is unset.
    env_binding: OnceLock<EnvBinding>,
    github_token: Option<Secret>,
    github_actor: Option<String>,
    docker_config: Option<PathBuf>,
    /// `--authfile` or `REGISTRY_AUTH_FILE`: must exist.
    authfile: Option<PathBuf>,
    /// The containers auth files, read when they exist.
    containers_auth: Vec<PathBuf>,
}

fn non_empty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

fn non_empty_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A registry as an image reference names it: `https://` and a path
/// dropped, Docker Hub's aliases as `index.docker.io`.
fn normalize_host(host: &str) -> String {
    let host = host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        _ => host,
    }
}

impl Credentials {
    /// Reads `REGISTRY_USERNAME`, `REGISTRY_PASSWORD`, `REGISTRY_HOST`,
    /// `GITHUB_TOKEN`, `GITHUB_ACTOR`, `REGISTRY_AUTH_FILE`, and locates
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` and the
    /// containers auth files.
    pub fn from_env() -> Credentials {
        let home = non_empty_path("HOME");
        let docker_config = non_empty_path("DOCKER_CONFIG")
            .or_else(|| home.as_ref().map(|h| h.join(".docker")))
            .map(|dir| dir.join("config.json"));
        let containers_auth = non_empty_path("XDG_RUNTIME_DIR")
            .into_iter()
            .chain(home.map(|h| h.join(".config")))
            .map(|dir| dir.join("containers").join("auth.json"))
            .collect();
        Credentials {
            registry_username: non_empty("REGISTRY_USERNAME"),
            registry_password: non_empty("REGISTRY_PASSWORD").map(Secret::new),
            registry_host: non_empty("REGISTRY_HOST").map(|h| normalize_host(&h)),
            env_binding: OnceLock::new(),
            github_token: non_empty("GITHUB_TOKEN").map(Secret::new),
            github_actor: non_empty("GITHUB_ACTOR"),
            docker_config,
            authfile: non_empty_path("REGISTRY_AUTH_FILE"),
            containers_auth,
        }
    }

    /// `--authfile FILE`, instead of `REGISTRY_AUTH_FILE`.
    pub fn with_authfile(mut self, path: Option<PathBuf>) -> Credentials {
        if path.is_some() {
            self.authfile = path;
        }
        self
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
                source_name: ENV_PAIR.into(),
                message: "REGISTRY_USERNAME is set but REGISTRY_PASSWORD is not".into(),
            }),
            (None, Some(_)) => Err(CredentialError {
                source_name: ENV_PAIR.into(),
                message: "REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not".into(),
            }),
            _ => Ok(()),
        }
    }

    fn has_env_pair(&self) -> bool {
        self.registry_username.is_some() && self.registry_password.is_some()
    }

    /// Without `REGISTRY_HOST`, `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` are
    /// for the registry of this run's images when they all share one; when
    /// they do not, the pair is used for none of them and the warning to
    /// show is returned. The first call decides; a later one only warns
    /// about registries the pair is not for.
    pub fn bind_env<'a>(&self, registries: impl IntoIterator<Item = &'a str>) -> Option<String> {
        if !self.has_env_pair() || self.registry_host.is_some() {
            return None;
        }
        let mut hosts: Vec<String> = registries.into_iter().map(str::to_string).collect();
        hosts.sort();
        hosts.dedup();
        if hosts.is_empty() {
            return None;
        }
        let binding = self.env_binding.get_or_init(|| match hosts.as_slice() {
            [one] => EnvBinding::Host(one.clone()),
            several => EnvBinding::Several(several.to_vec()),
        });
        match binding {
            EnvBinding::Host(host) if hosts.iter().all(|h| h == host) => None,
            EnvBinding::Host(host) => Some(format!(
                "{ENV_PAIR} are used only for {host}, not for {}: set REGISTRY_HOST to choose",
                hosts
                    .iter()
                    .filter(|h| *h != host)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            EnvBinding::Several(several) if *several == hosts => Some(format!(
                "{ENV_PAIR} are not used: the images are on several registries ({}); \
                 set REGISTRY_HOST to the one they are for",
                several.join(", ")
            )),
            EnvBinding::Several(_) => None,
        }
    }

    /// The registry `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` are for, if any.
    fn env_host(&self) -> Option<&str> {
        match (&self.registry_host, self.env_binding.get()) {
            (Some(host), _) => Some(host),
            (None, Some(EnvBinding::Host(host))) => Some(host),
            _ => None,
        }
    }

    /// Why `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`, though set, were not
    /// used for `registry` (for an error's advice).
    pub fn env_not_used(&self, registry: &str) -> Option<String> {
        if !self.has_env_pair() {
            return None;
        }
        match self.env_host() {
            Some(host) if host == registry => None,
            Some(host) => Some(format!(
                "{ENV_PAIR} are for {host}, not {registry} (set REGISTRY_HOST={registry} if they are meant for it)"
            )),
            None => Some(format!(
                "{ENV_PAIR} are not used without REGISTRY_HOST when the images are on several registries"
            )),
        }
    }

    /// The credential for `registry` (`host[:port]`), first match wins.
    pub fn for_registry(&self, registry: &str) -> Result<Credential, CredentialError> {
        if let (Some(username), Some(password)) = (&self.registry_username, &self.registry_password)
        {
            if self.env_host() == Some(registry) {
                return Ok(Credential::new(
                    username.clone(),
                    password.clone(),
                    Source::RegistryEnv,
                ));
            }
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
        let files = self
            .docker_config
            .iter()
            .map(|p| (p, false))
            .chain(self.authfile.iter().map(|p| (p, true)))
            .chain(self.containers_auth.iter().map(|p| (p, false)));
        for (path, required) in files {
            if let Some(found) = auth_file::read(path, required, registry)? {
                return Ok(found);
            }
        }
        Ok(Credential::anonymous())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_pair(host: Option<&str>) -> Credentials {
        Credentials {
            registry_username: Some("u".into()),
            registry_password: Some(Secret::new("p")),
            registry_host: host.map(normalize_host),
            github_token: Some(Secret::new("gh")),
            github_actor: Some("bot".into()),
            ..Credentials::default()
        }
    }

    #[test]
    fn the_env_pair_is_only_for_registry_host_and_github_token_only_for_ghcr() {
        let c = env_pair(Some("https://Quay.io/"));
        let quay = c.for_registry("quay.io").unwrap();
        assert_eq!(quay.source, Source::RegistryEnv);
        assert_eq!(quay.basic_header().expose(), "Basic dTpw");
        let ghcr = c.for_registry("ghcr.io").unwrap();
        assert_eq!(
            (ghcr.username.as_str(), ghcr.source),
            ("bot", Source::GithubToken)
        );
        assert_eq!(
            c.for_registry(DOCKER_HUB).unwrap().source,
            Source::Anonymous
        );
        assert!(c
            .env_not_used(DOCKER_HUB)
            .unwrap()
            .contains("are for quay.io"));
        assert_eq!(c.bind_env(["ghcr.io"]), None, "REGISTRY_HOST decides");
        assert_eq!(
            env_pair(Some("docker.io"))
                .for_registry(DOCKER_HUB)
                .unwrap()
                .source,
            Source::RegistryEnv
        );
    }

    #[test]
    fn without_registry_host_the_pair_is_for_the_one_registry_of_the_images() {
        let c = env_pair(None);
        assert_eq!(c.for_registry("quay.io").unwrap().source, Source::Anonymous);
        assert_eq!(c.bind_env(["quay.io", "quay.io"]), None);
        assert_eq!(
            c.for_registry("quay.io").unwrap().source,
            Source::RegistryEnv
        );
        assert_eq!(c.for_registry("a.io").unwrap().source, Source::Anonymous);
        let warning = c.bind_env(["a.io", "quay.io"]).unwrap();
        assert!(
            warning.contains("only for quay.io, not for a.io"),
            "{warning}"
        );

        let c = env_pair(None);
        let warning = c.bind_env(["b.io", "a.io"]).unwrap();
        assert!(
            warning.contains("several registries (a.io, b.io)"),
            "{warning}"
        );
        assert_eq!(c.bind_env(["a.io"]), None);
        assert_eq!(c.for_registry("a.io").unwrap().source, Source::Anonymous);
        assert!(c.env_not_used("a.io").unwrap().contains("REGISTRY_HOST"));
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

    #[test]
    fn source_names_never_hold_secrets() {
        let s = Source::DockerAuths {
            config: "/h/.docker/config.json".into(),
            key: "ghcr.io".into(),
        };
        assert_eq!(s.to_string(), "/h/.docker/config.json auths[\"ghcr.io\"]");
    }
}
