//! A Bearer token server for `docker-registry`'s token auth, like the ones
//! in front of ghcr.io and Docker Hub: `GET /token?service=…&scope=…`,
//! anonymous requests get pull-only tokens, Basic-authenticated users get
//! what they ask for, wrong passwords get 401.
//!
//! Tokens are real RS256 JWTs that the registry verifies against the
//! server's certificate (`auth.token.rootcertbundle`). The key and the
//! self-signed certificate are made with the `openssl` command when the
//! server starts, and each token is signed with `openssl dgst -sign`: no
//! crypto crate, and the registry checks exactly what it checks in production.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;

use crate::TempDir;

const ISSUER: &str = "testkit-token-server";
const SERVICE: &str = "testkit-registry";
/// Token requests answered at once.
const WORKERS: usize = 8;

/// Which field(s) the token response carries; registries in the wild send
/// `token`, `access_token` or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    Token,
    AccessToken,
    Both,
}

/// One token request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The Basic user, `None` for an anonymous request.
    pub user: Option<String>,
    /// The `scope` parameters asked for.
    pub scopes: Vec<String>,
    /// HTTP status answered.
    pub status: u16,
}

/// Signs registry tokens; cheap to clone, shared with the registry config
/// and with [`crate::image::Pusher`].
#[derive(Debug, Clone)]
pub struct Signer {
    key: PathBuf,
    cert: PathBuf,
    cert_der_b64: String,
    realm: String,
    next_id: Arc<AtomicU64>,
}

impl Signer {
    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn service(&self) -> &str {
        SERVICE
    }

    pub fn issuer(&self) -> &str {
        ISSUER
    }

    /// The PEM certificate the registry trusts.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// A token granting `actions` on `repository`, valid for five minutes.
    pub fn token(&self, repository: &str, actions: &[&str]) -> String {
        self.token_for(
            None,
            &[(
                repository.to_string(),
                actions.iter().map(|a| a.to_string()).collect(),
            )],
        )
    }

    fn token_for(&self, subject: Option<&str>, access: &[(String, Vec<String>)]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]});
        let access: Vec<_> = access
            .iter()
            .map(|(name, actions)| json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        let claims = json!({
            "iss": ISSUER,
            "sub": subject.unwrap_or(""),
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("testkit-{}", self.next_id.fetch_add(1, Ordering::Relaxed)),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let signature = openssl(
            &["dgst", "-sha256", "-sign", &self.key.display().to_string()],
            signing_input.as_bytes(),
        );
        format!("{signing_input}.{}", base64url(&signature))
    }
}

/// The running token server.
pub struct TokenServer {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    signer: Signer,
    requests: Arc<AtomicUsize>,
    grants: Arc<Mutex<Vec<Grant>>>,
    _dir: TempDir,
}

impl TokenServer {
    /// A token server knowing `users` (name, password), answering with `field`.
    pub fn start(users: &[(&str, &str)], field: TokenField) -> TokenServer {
        let dir = TempDir::new("token-server").expect("create the token server's temp dir");
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/CN=testkit-token-server",
                "-keyout",
                &key.display().to_string(),
                "-out",
                &cert.display().to_string(),
            ],
            b"",
        );
        let der = openssl(
            &[
                "x509",
                "-in",
                &cert.display().to_string(),
                "-outform",
                "DER",
            ],
            b"",
        );
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the token server"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let signer = Signer {
            key,
            cert,
            cert_der_b64: base64_std(&der),
            realm: format!("http://127.0.0.1:{port}/token"),
            next_id: Arc::new(AtomicU64::new(1)),
        };
        let users: HashMap<String, String> = users
            .iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect();
        let requests = Arc::new(AtomicUsize::new(0));
        let grants = Arc::new(Mutex::new(Vec::new()));
        // Several workers: a client moving images in parallel asks for one
        // token per repository at once, and each is signed by an openssl
        // process, so one worker would serialise them.
        let users = Arc::new(users);
        let workers = (0..WORKERS)
            .map(|_| {
                let (server, signer, requests, grants, users) = (
                    server.clone(),
                    signer.clone(),
                    requests.clone(),
                    grants.clone(),
                    users.clone(),
                );
                std::thread::spawn(move || {
                    for request in server.incoming_requests() {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let (status, body, grant) = answer(&request, &users, &signer, field);
                        grants.lock().expect("lock").push(grant);
                        let response = tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", "application/json")
                                    .expect("header"),
                            );
                        let _ = request.respond(response);
                    }
                })
            })
            .collect();
        TokenServer {
            server,
            workers,
            signer,
            requests,
            grants,
            _dir: dir,
        }
    }

    pub fn signer(&self) -> Signer {
        self.signer.clone()
    }

    /// Token requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Every token request so far, in the order they were answered.
    pub fn grants(&self) -> Vec<Grant> {
        self.grants.lock().expect("lock").clone()
    }
}

impl std::fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer")
            .field("realm", &self.signer.realm)
            .finish_non_exhaustive()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        // Each unblock ends one worker's loop.
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn answer(
    request: &tiny_http::Request,
    users: &HashMap<String, String>,
    signer: &Signer,
    field: TokenField,
) -> (u16, String, Grant) {
    let url = request.url();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: Vec<(String, String)> = crate::query::pairs(query).collect();
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let mut grant = Grant {
        user: None,
        scopes: scopes.clone(),
        status: 200,
    };
    let error = |status: u16, code: &str, message: &str, mut grant: Grant| {
        grant.status = status;
        let body = json!({"errors": [{"code": code, "message": message}]}).to_string();
        (status, body, grant)
    };
    if path != "/token" || request.method() != &tiny_http::Method::Get {
        return error(404, "NOT_FOUND", "no such endpoint", grant);
    }
    if params.iter().any(|(k, v)| k == "service" && v != SERVICE) {
        return error(400, "INVALID_SERVICE", "unknown service", grant);
    }
    let basic = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Basic ").map(str::to_string));
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return error(401, "UNAUTHORIZED", "malformed Basic credentials", grant);
        };
        grant.user = Some(user.to_string());
        if users.get(user).map(String::as_str) != Some(password) {
            return error(401, "UNAUTHORIZED", "authentication failed", grant);
        }
    }
    let mut access = Vec::new();
    for scope in &scopes {
        let mut parts = scope.splitn(3, ':');
        let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let actions: Vec<String> = actions
            .split(',')
            .filter(|a| grant.user.is_some() || *a == "pull")
            .map(str::to_string)
            .collect();
        access.push((name.to_string(), actions));
    }
    let token = signer.token_for(grant.user.as_deref(), &access);
    let mut body = serde_json::Map::new();
    if matches!(field, TokenField::Token | TokenField::Both) {
        body.insert("token".into(), token.clone().into());
    }
    if matches!(field, TokenField::AccessToken | TokenField::Both) {
        body.insert("access_token".into(), token.into());
    }
    body.insert("expires_in".into(), 300.into());
    (200, serde_json::Value::Object(body).to_string(), grant)
}

/// Runs `openssl ARGS` with `stdin`, returning stdout; panics with advice
/// when the command is missing or fails.
fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = match Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("openssl not found: the token server signs tokens with it (apt-get install openssl)")
        }
        Err(e) => panic!("cannot run openssl: {e}"),
    };
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut out)
        .expect("read openssl output");
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut err);
    let status = child.wait().expect("wait for openssl");
    let _ = writer.join();
    assert!(status.success(), "openssl {} failed: {err}", args[0]);
    out
}

/// Standard base64 with padding (`Authorization: Basic`, `x5c`).
pub fn base64_std(input: &[u8]) -> String {
    STANDARD.encode(input)
}

/// Base64url without padding, as JWTs use.
fn base64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(base64_std(b"fo"), "Zm8=");
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }
}
