//! The registry client: one per process. It holds the HTTP agent, resolves
//! credentials per registry, remembers each registry's auth challenge and
//! caches tokens per repository scope, retries what can be retried, and
//! counts every HTTP request it makes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::ci::{neutralize, GithubActions};
use common::http::is_loopback_host;
use common::Secret;
use ureq::http::{HeaderMap, Response};

use crate::challenge::{self, Challenge};
use crate::credentials::{Credential, Credentials, Source};
use crate::manifest::{Manifest, Resolved, ACCEPT, MAX_MANIFEST_BYTES};
use crate::reference::{Image, Reference, Target, DOCKER_HUB};
use crate::Error;

/// Limits on retrying 408/429/500/502/503/504 and dropped connections.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// First backoff; doubled after each retry.
    pub backoff: Duration,
    /// No retry starts once this much time has gone by since the first attempt.
    pub budget: Duration,
    /// A longer `Retry-After` than this is not waited for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(250),
            budget: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct Options {
    /// Plain http to non-loopback registries (loopback always uses http).
    pub insecure: bool,
    /// Overall timeout of one HTTP request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// `User-Agent: tool/version`.
    pub tool: String,
    pub version: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure: false,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            tool: "registry-tag".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What a request needs from a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Pull => "pulling from",
            Access::Push => "pushing to",
        }
    }
}

#[derive(Debug)]
struct RegistryState {
    challenge: Challenge,
    credential: Credential,
    /// Bearer tokens by repository, with whether push was asked for.
    tokens: HashMap<String, (bool, Secret)>,
}

/// One response, body read (within a limit).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The registry client. Share one per process (`&Client` is enough: state is
/// behind a lock).
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    options: Options,
    credentials: Credentials,
    ci: GithubActions,
    registries: Mutex<HashMap<String, RegistryState>>,
    push_intent: Mutex<HashSet<(String, String)>>,
    requests: AtomicU64,
}

impl Client {
    pub fn new(options: Options, credentials: Credentials) -> Client {
        Client {
            agent: common::http::agent(&options.tool, &options.version, options.timeout),
            options,
            credentials,
            ci: GithubActions::default(),
            registries: Mutex::new(HashMap::new()),
            push_intent: Mutex::new(HashSet::new()),
            requests: AtomicU64::new(0),
        }
    }

    /// Masks every secret (credentials, tokens) with `::add-mask::` as soon as
    /// it is known, when GitHub Actions is enabled.
    pub fn with_ci(mut self, ci: GithubActions) -> Client {
        for secret in self.credentials.env_secrets() {
            ci.mask(secret);
        }
        self.ci = ci;
        self
    }

    /// HTTP requests made so far, retries and token requests included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Declares that tags of `image` will be moved, so the one token fetched
    /// for it carries `pull,push` instead of a pull token now and a push token later.
    pub fn intend_push(&self, image: &Image) {
        self.push_intent
            .lock()
            .expect("lock")
            .insert((image.registry.clone(), image.repository.clone()));
    }

    /// Pings `image`'s registry and fetches its token now (if it needs one),
    /// so that requests made afterwards in parallel share them.
    pub fn authenticate(&self, image: &Image) -> Result<(), Error> {
        self.authorization(image, Access::Pull).map(drop)
    }

    /// The digest, media type and size `reference` points at: a HEAD, or a
    /// GET when the registry's HEAD does not tell the digest.
    pub fn resolve(&self, reference: &Reference) -> Result<Resolved, Error> {
        let reply = self.manifest_request("HEAD", reference)?;
        match reply.header("docker-content-digest") {
            Some(digest) if crate::reference::check_digest(digest).is_ok() => {
                if let Some(wanted) = reference.digest() {
                    if wanted != digest {
                        return Err(Error::DigestMismatch {
                            reference: reference.to_string(),
                            detail: format!("the registry answered with {digest}"),
                        });
                    }
                }
                let size = reply
                    .header("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_default();
                Ok(Resolved {
                    digest: digest.to_string(),
                    media_type: media_type_of(&reply).unwrap_or_default(),
                    size,
                })
            }
            _ => self.fetch_manifest(reference).map(|m| Resolved::from(&m)),
        }
    }

    /// Like [`Client::resolve`], but a missing tag is `Ok(None)`.
    pub fn resolve_optional(&self, reference: &Reference) -> Result<Option<Resolved>, Error> {
        match self.resolve(reference) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The exact manifest bytes `reference` points at, checked against the
    /// registry's `Docker-Content-Digest` and a requested digest.
    pub fn fetch_manifest(&self, reference: &Reference) -> Result<Manifest, Error> {
        let reply = self.manifest_request("GET", reference)?;
        let said = reply.header("docker-content-digest").map(str::to_string);
        let media_type = media_type_of(&reply);
        let manifest = Manifest::new(reply.body, media_type.as_deref());
        if let Some(said) = said {
            if said.starts_with("sha256:") && said != manifest.digest {
                return Err(Error::DigestMismatch {
                    reference: reference.to_string(),
                    detail: format!(
                        "the registry says {said} but the bytes hash to {}",
                        manifest.digest
                    ),
                });
            }
        }
        if let Some(wanted) = reference.digest() {
            if wanted != manifest.digest {
                return Err(Error::DigestMismatch {
                    reference: reference.to_string(),
                    detail: format!("the bytes served hash to {}", manifest.digest),
                });
            }
        }
        Ok(manifest)
    }

    /// PUTs the exact bytes under `tag` with their media type; returns the
    /// digest the registry stored.
    pub fn put_manifest(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<String, Error> {
        let reference = image.tag(tag)?;
        if manifest.size() > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                reference: reference.to_string(),
                size: format!("{} bytes", manifest.size()),
            });
        }
        let path = format!("{}/manifests/{tag}", image.repository);
        let reply = self.call(
            image,
            Access::Push,
            "PUT",
            &path,
            &[("Content-Type", &manifest.media_type)],
            Some(&manifest.bytes),
            64 << 10,
        )?;
        if !(200..300).contains(&reply.status) {
            return Err(self.status_error(image, &reference.to_string(), "push manifest", &reply));
        }
        match reply.header("docker-content-digest") {
            Some(stored) if stored != manifest.digest => Err(Error::DigestMismatch {
                reference: reference.to_string(),
                detail: format!(
                    "pushed {} but the registry stored {stored}",
                    manifest.digest
                ),
            }),
            _ => Ok(manifest.digest.clone()),
        }
    }

    /// Deletes a tag. Distribution 2.8 cannot delete a tag (only a manifest
    /// with every tag on it), so on it this fails with the registry's reason.
    pub fn delete_tag(&self, image: &Image, tag: &str) -> Result<(), Error> {
        let reference = image.tag(tag)?;
        let path = format!("{}/manifests/{tag}", image.repository);
        let reply = self.call(image, Access::Push, "DELETE", &path, &[], None, 64 << 10)?;
        if (200..300).contains(&reply.status) {
            Ok(())
        } else {
            Err(self.status_error(image, &reference.to_string(), "delete tag", &reply))
        }
    }

    /// Every tag of `image`, following `Link` pagination, in the registry's order.
    pub fn list_tags(&self, image: &Image) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut path = format!("{}/tags/list?n=1000", image.repository);
        for _page in 0..1000 {
            let reply = self.call(image, Access::Pull, "GET", &path, &[], None, 32 << 20)?;
            if reply.status == 404 {
                return Err(Error::NotFound {
                    what: "repository".into(),
                    image: image.canonical(),
                });
            }
            if reply.status != 200 {
                return Err(self.status_error(image, &image.name, "list tags", &reply));
            }
            let page: TagList =
                serde_json::from_slice(&reply.body).map_err(|e| Error::Registry {
                    registry: image.registry.clone(),
                    context: format!("list tags of {}", image.name),
                    detail: format!("the tag list is not valid JSON: {e}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match reply.header("link").and_then(next_link) {
                Some(next) => path = next.trim_start_matches("/v2/").to_string(),
                None => return Ok(tags),
            }
        }
        Err(Error::Registry {
            registry: image.registry.clone(),
            context: format!("list tags of {}", image.name),
            detail: "more than 1000 pages of tags".into(),
        })
    }

    fn manifest_request(&self, method: &str, reference: &Reference) -> Result<Reply, Error> {
        let image = &reference.image;
        let path = format!("{}/manifests/{}", image.repository, reference.target_str());
        let reply = self
            .call(
                image,
                Access::Pull,
                method,
                &path,
                &[("Accept", ACCEPT)],
                None,
                MAX_MANIFEST_BYTES,
            )
            .map_err(|e| match e {
                Error::TooLarge { size, .. } => Error::TooLarge {
                    reference: reference.to_string(),
                    size,
                },
                e => e,
            })?;
        match reply.status {
            200 => Ok(reply),
            404 => Err(Error::NotFound {
                what: match &reference.target {
                    Target::Tag(t) => format!("tag {t}"),
                    Target::Digest(d) => format!("manifest {d}"),
                },
                image: image.canonical(),
            }),
            _ => Err(self.status_error(image, &reference.to_string(), "fetch manifest", &reply)),
        }
    }

    fn status_error(&self, image: &Image, what: &str, action: &str, reply: &Reply) -> Error {
        Error::Registry {
            registry: image.registry.clone(),
            context: format!("{action} {what}"),
            detail: describe_failure(reply),
        }
    }

    /// The URL prefix of a registry's API: `https://host/v2/`.
    fn base(&self, registry: &str) -> String {
        let host = if registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            registry
        };
        let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let scheme = if is_loopback_host(bare) || self.options.insecure {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/")
    }

    /// One request to a repository's API, authenticated as the registry asks.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        image: &Image,
        access: Access,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        limit: u64,
    ) -> Result<Reply, Error> {
        let url = format!("{}{path}", self.base(&image.registry));
        let context = format!("{method} {}", image.name);
        for attempt in 0..2 {
            let authorization = self.authorization(image, access)?;
            let mut all: Vec<(&str, &str)> = headers.to_vec();
            if let Some(auth) = &authorization {
                all.push(("Authorization", auth.expose()));
            }
            let reply = self.send(&image.registry, &context, method, &url, &all, body, limit)?;
            if reply.status != 401 {
                return Ok(reply);
            }
            // A Bearer token may have expired: fetch a fresh one once. A
            // token that lacks the scope would only be issued again.
            let insufficient = reply
                .headers
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(challenge::parse)
                .any(|c| {
                    c.params
                        .get("error")
                        .is_some_and(|e| e == "insufficient_scope")
                });
            let had_token = self.forget_token(image);
            if !(had_token && attempt == 0 && !insufficient) {
                return Err(self.unauthorized(image, access, &reply));
            }
        }
        unreachable!("the loop returns on its second pass")
    }

    fn unauthorized(&self, image: &Image, access: Access, reply: &Reply) -> Error {
        let credential = self.credential_source(&image.registry);
        let detail = if credential == Source::Anonymous.describe() {
            format!(
                "{}; set REGISTRY_USERNAME/REGISTRY_PASSWORD or log in with docker",
                describe_failure(reply)
            )
        } else {
            describe_failure(reply)
        };
        Error::Unauthorized {
            registry: image.registry.clone(),
            image: image.canonical(),
            action: access.verb(),
            credential,
            detail,
        }
    }

    fn credential_source(&self, registry: &str) -> String {
        self.registries
            .lock()
            .expect("lock")
            .get(registry)
            .map(|s| s.credential.source.describe())
            .unwrap_or_else(|| Source::Anonymous.describe())
    }

    fn forget_token(&self, image: &Image) -> bool {
        let mut registries = self.registries.lock().expect("lock");
        registries
            .get_mut(&image.registry)
            .is_some_and(|s| s.tokens.remove(&image.repository).is_some())
    }

    /// The `Authorization` value for a request to `image`, pinging the
    /// registry and fetching a token the first time each is needed.
    fn authorization(&self, image: &Image, access: Access) -> Result<Option<Secret>, Error> {
        self.ensure_pinged(&image.registry)?;
        let push = access == Access::Push
            || self
                .push_intent
                .lock()
                .expect("lock")
                .contains(&(image.registry.clone(), image.repository.clone()));
        let (challenge, credential) = {
            let registries = self.registries.lock().expect("lock");
            let state = registries.get(&image.registry).expect("pinged above");
            if let Some((has_push, token)) = state.tokens.get(&image.repository) {
                if *has_push || !push {
                    return Ok(Some(Secret::new(format!("Bearer {}", token.expose()))));
                }
            }
            (state.challenge.clone(), state.credential.clone())
        };
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic if credential.source == Source::Anonymous => Ok(None),
            Challenge::Basic => Ok(Some(credential.basic_header())),
            Challenge::Bearer { realm, service } => {
                let token =
                    self.fetch_token(image, &realm, service.as_deref(), &credential, push)?;
                self.ci.mask(&token);
                let header = Secret::new(format!("Bearer {}", token.expose()));
                self.registries
                    .lock()
                    .expect("lock")
                    .get_mut(&image.registry)
                    .expect("pinged above")
                    .tokens
                    .insert(image.repository.clone(), (push, token));
                Ok(Some(header))
            }
        }
    }

    fn ensure_pinged(&self, registry: &str) -> Result<(), Error> {
        if self.registries.lock().expect("lock").contains_key(registry) {
            return Ok(());
        }
        let credential = self.credentials.for_registry(registry)?;
        self.ci.mask(&credential.password);
        let url = self.base(registry);
        let reply = self.send(registry, "ping", "GET", &url, &[], None, 64 << 10)?;
        let challenge = match reply.status {
            200..=299 => Challenge::None,
            401 => challenge::from_headers(
                reply
                    .headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
            .ok_or_else(|| Error::Registry {
                registry: registry.to_string(),
                context: "ping /v2/".into(),
                detail: "401 without a Basic or Bearer challenge".into(),
            })?,
            404 => {
                return Err(Error::Registry {
                    registry: registry.to_string(),
                    context: "ping /v2/".into(),
                    detail: "404: this host does not serve the registry API".into(),
                })
            }
            _ => {
                return Err(Error::Registry {
                    registry: registry.to_string(),
                    context: "ping /v2/".into(),
                    detail: describe_failure(&reply),
                })
            }
        };
        self.registries.lock().expect("lock").insert(
            registry.to_string(),
            RegistryState {
                challenge,
                credential,
                tokens: HashMap::new(),
            },
        );
        Ok(())
    }

    fn fetch_token(
        &self,
        image: &Image,
        realm: &str,
        service: Option<&str>,
        credential: &Credential,
        push: bool,
    ) -> Result<Secret, Error> {
        let realm_url =
            common::http::parse_base_url(realm, self.options.insecure).map_err(|e| {
                if e.contains("--insecure") {
                    Error::Insecure {
                        url: realm.to_string(),
                    }
                } else {
                    Error::Registry {
                        registry: image.registry.clone(),
                        context: "token realm".into(),
                        detail: e,
                    }
                }
            })?;
        let actions = if push { "pull,push" } else { "pull" };
        let scope = format!("repository:{}:{actions}", image.repository);
        let mut url = format!("{}?scope={}", realm_url.url, encode_query(&scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", encode_query(service)));
        }
        let basic = (credential.source != Source::Anonymous).then(|| credential.basic_header());
        let mut headers = vec![("Accept", "application/json")];
        if let Some(b) = &basic {
            headers.push(("Authorization", b.expose()));
        }
        let context = format!("token for {}", image.name);
        let reply = self.send(
            &realm_url.authority,
            &context,
            "GET",
            &url,
            &headers,
            None,
            1 << 20,
        )?;
        if reply.status == 401 || reply.status == 403 {
            return Err(Error::Unauthorized {
                registry: image.registry.clone(),
                image: image.canonical(),
                action: if push { Access::Push } else { Access::Pull }.verb(),
                credential: credential.source.describe(),
                detail: format!(
                    "the token service at {} answered {}",
                    realm_url.url,
                    describe_failure(&reply)
                ),
            });
        }
        if reply.status != 200 {
            return Err(Error::Registry {
                registry: image.registry.clone(),
                context,
                detail: describe_failure(&reply),
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            token: Option<Secret>,
            access_token: Option<Secret>,
        }
        let parsed: TokenReply =
            serde_json::from_slice(&reply.body).map_err(|_| Error::Registry {
                registry: image.registry.clone(),
                context: context.clone(),
                detail: "the token service did not answer with JSON".into(),
            })?;
        parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| Error::Registry {
                registry: image.registry.clone(),
                context,
                detail: "the token service answered without \"token\" or \"access_token\"".into(),
            })
    }

    /// Sends one request, retrying (with backoff, honouring `Retry-After`,
    /// bounded in attempts and time) on 408/429/5xx and dropped connections.
    /// Every request this client makes (GET, HEAD, manifest PUT, DELETE) is
    /// idempotent, so each may be retried.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        registry: &str,
        context: &str,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        limit: u64,
    ) -> Result<Reply, Error> {
        let policy = self.options.retry;
        let started = Instant::now();
        let mut backoff = policy.backoff;
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = self.send_once(method, url, headers, body);
            let wait = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 408 | 429 | 500 | 502 | 503 | 504) => {
                    Some(retry_after(resp.headers()).unwrap_or(backoff))
                }
                Err(e) if is_dropped_connection(e) => Some(backoff),
                _ => None,
            };
            let retry = wait.filter(|w| {
                attempt < policy.attempts
                    && *w <= policy.max_retry_after
                    && started.elapsed() + *w <= policy.budget
            });
            match (retry, result) {
                (Some(wait), _) => {
                    std::thread::sleep(wait);
                    backoff *= 2;
                    attempt += 1;
                }
                (None, Ok(mut resp)) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let declared: Option<u64> = headers
                        .get("content-length")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok());
                    let too_large = |size: String| Error::TooLarge {
                        reference: format!("{context} ({url})"),
                        size,
                    };
                    if method == "HEAD" {
                        return Ok(Reply {
                            status,
                            headers,
                            body: Vec::new(),
                        });
                    }
                    if let Some(size) = declared.filter(|s| *s > limit) {
                        return Err(too_large(format!("{size} bytes")));
                    }
                    let body = resp
                        .body_mut()
                        .with_config()
                        .limit(limit)
                        .read_to_vec()
                        .map_err(|e| match e {
                            ureq::Error::BodyExceedsLimit(_) => {
                                too_large("more than the limit".into())
                            }
                            e => Error::Transport {
                                registry: registry.to_string(),
                                context: context.to_string(),
                                detail: format!("reading the response: {e}"),
                            },
                        })?;
                    return Ok(Reply {
                        status,
                        headers,
                        body,
                    });
                }
                (None, Err(e)) => {
                    return Err(Error::Transport {
                        registry: registry.to_string(),
                        context: context.to_string(),
                        detail: if attempt > 1 {
                            format!("{e} (after {attempt} attempts)")
                        } else {
                            e.to_string()
                        },
                    })
                }
            }
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        macro_rules! with_headers {
            ($builder:expr) => {{
                let mut b = $builder;
                for (k, v) in headers {
                    b = b.header(*k, *v);
                }
                b
            }};
        }
        match method {
            "GET" => with_headers!(self.agent.get(url)).call(),
            "HEAD" => with_headers!(self.agent.head(url)).call(),
            "DELETE" => with_headers!(self.agent.delete(url)).call(),
            "PUT" => with_headers!(self.agent.put(url)).send(body.unwrap_or_default()),
            other => unreachable!("registry-tag never sends {other}"),
        }
    }
}

fn media_type_of(reply: &Reply) -> Option<String> {
    reply
        .header("content-type")
        .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
}

/// A registry error body (`{"errors":[{"code","message"}]}`) or the status
/// and a short, neutralised excerpt of the body.
fn describe_failure(reply: &Reply) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(&reply.body) {
        if !parsed.errors.is_empty() {
            let parts: Vec<String> = parsed
                .errors
                .iter()
                .map(|e| neutralize(&format!("{} ({})", e.message, e.code), 200))
                .collect();
            return format!("HTTP {}: {}", reply.status, parts.join("; "));
        }
    }
    let text = String::from_utf8_lossy(&reply.body);
    if text.trim().is_empty() {
        format!("HTTP {}", reply.status)
    } else {
        format!("HTTP {}: {}", reply.status, neutralize(text.trim(), 200))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn is_dropped_connection(error: &ureq::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(error, ureq::Error::Io(e) if matches!(e.kind(), ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe))
}

/// `<url>; rel="next"` from a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .contains("rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|u| u.starts_with('/'))
    })
}

fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_relative_only() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=x&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=x&n=2")
        );
        // An absolute link could send our Authorization elsewhere.
        assert_eq!(
            next_link(r#"<https://evil.example/v2/x>; rel="next""#),
            None
        );
    }

    #[test]
    fn bases() {
        let c = Client::new(Options::default(), Credentials::anonymous());
        assert_eq!(c.base("127.0.0.1:5000"), "http://127.0.0.1:5000/v2/");
        assert_eq!(c.base("localhost"), "http://localhost/v2/");
        assert_eq!(c.base("[::1]:5000"), "http://[::1]:5000/v2/");
        assert_eq!(c.base("ghcr.io"), "https://ghcr.io/v2/");
        assert_eq!(c.base(DOCKER_HUB), "https://registry-1.docker.io/v2/");
    }

    /// A loopback server that drops the first `drops` connections after
    /// reading the request, then answers every request on a new connection.
    fn flaky_server(drops: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate().take(drops + 2) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                if i < drops {
                    continue; // dropped without an answer
                }
                let digest = format!("sha256:{}", "a".repeat(64));
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest}\r\nContent-Type: {}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n",
                    crate::manifest::OCI_MANIFEST
                );
            }
        });
        (addr, handle)
    }

    fn fast_retries() -> Options {
        Options {
            retry: RetryPolicy {
                backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..Options::default()
        }
    }

    #[test]
    fn dropped_connections_are_retried() {
        let (addr, server) = flaky_server(1);
        let client = Client::new(fast_retries(), Credentials::anonymous());
        let reference = Reference::parse(&format!("{addr}/app:v1")).unwrap();
        let resolved = client.resolve(&reference).unwrap();
        assert_eq!(resolved.digest, format!("sha256:{}", "a".repeat(64)));
        assert_eq!(client.requests(), 3, "dropped ping, ping, HEAD");
        server.join().unwrap();
    }

    #[test]
    fn retries_of_dropped_connections_are_bounded() {
        let (addr, _server) = flaky_server(usize::MAX - 2);
        let client = Client::new(fast_retries(), Credentials::anonymous());
        let reference = Reference::parse(&format!("{addr}/app:v1")).unwrap();
        let err = client.resolve(&reference).unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err}");
        assert!(err.to_string().contains("after 4 attempts"), "{err}");
        assert_eq!(client.requests(), 4);
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode_query("repository:a/b:pull,push"),
            "repository:a/b:pull%2Cpush"
        );
    }
}
