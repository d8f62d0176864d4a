//! The registry client, one per process: the registry operations (resolve,
//! fetch, put, delete, list) on top of [`auth`] (ping, challenges, tokens
//! per scope) and [`transport`] (one request, retried, its reply and error
//! words), with [`tags`] for paged tag lists. The operations never see a
//! header other than their own.

mod auth;
mod tags;
#[cfg(test)]
mod tests;
mod transport;

use std::time::Duration;

use common::ci::GithubActions;
use common::http::is_loopback_host;
use ureq::http::Method;

pub use auth::Access;
pub use tags::TagPages;
pub use transport::RetryPolicy;

use crate::manifest::{
    sha256_digest, Manifest, Resolved, ACCEPT, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES,
};
use crate::reference::{Image, Reference, Target, DOCKER_HUB};
use crate::{Credentials, Error};
use auth::Auth;
use transport::{Reply, Request, Transport};

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

/// The registry client. Share one per process (`&Client` is enough: state is
/// behind a lock).
#[derive(Debug)]
pub struct Client {
    transport: Transport,
    auth: Auth,
    /// Names the tool in warnings.
    tool: String,
    timeout: Duration,
}

impl Client {
    pub fn new(options: Options, credentials: Credentials) -> Client {
        let agent = common::http::agent(&options.tool, &options.version, options.timeout);
        Client {
            transport: Transport::new(agent, options.retry, options.timeout),
            auth: Auth::new(credentials, options.insecure),
            tool: options.tool.clone(),
            timeout: options.timeout,
        }
    }

    /// The limit on one HTTP request: a write given up on may still land
    /// on the registry within about this long.
    pub fn request_timeout(&self) -> Duration {
        self.timeout
    }

    /// Masks every secret (credentials, tokens) with `::add-mask::` as soon as
    /// it is known, when GitHub Actions is enabled.
    pub fn with_ci(mut self, ci: GithubActions) -> Client {
        for secret in self.auth.credentials.env_secrets() {
            ci.mask(secret);
        }
        self.auth.ci = ci;
        self
    }

    /// Names the images of this run before the first request, so that
    /// `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` without `REGISTRY_HOST` go to
    /// their registry when they all share one; when they do not, the pair
    /// goes to none of them and a warning says so. [`crate::plan`] calls it
    /// for its moves.
    pub fn bind_env_credentials<'a>(&self, images: impl IntoIterator<Item = &'a Image>) {
        let registries = images.into_iter().map(|i| i.registry.as_str());
        if let Some(warning) = self.auth.credentials.bind_env(registries) {
            common::term::note(&self.tool, &warning);
        }
    }

    /// HTTP requests made so far, retries and token requests included.
    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    /// Pings `image`'s registry and fetches its token for `access` now (if it
    /// needs one), so that requests made afterwards in parallel share them.
    /// With [`Access::Push`] one `pull,push` token serves a whole move.
    pub fn authenticate(&self, image: &Image, access: Access) -> Result<(), Error> {
        self.auth
            .authorization(&self.transport, image, access)
            .map(drop)
    }

    /// The digest, media type and size `reference` points at: a HEAD, or a
    /// GET when the registry's HEAD does not tell the digest.
    pub fn resolve(&self, reference: &Reference) -> Result<Resolved, Error> {
        let reply = self.manifest_request(Method::HEAD, reference)?;
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
                    media_type: reply.media_type().unwrap_or_default(),
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
        let reply = self.manifest_request(Method::GET, reference)?;
        let said = reply.header("docker-content-digest").map(str::to_string);
        let media_type = reply.media_type();
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
    /// digest the registry stored. A PUT that timed out or lost its
    /// connection after it was sent fails with an error whose
    /// [`Error::is_unknown_outcome`] is true: the tag may have moved.
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
        let request = self
            .request(Method::PUT, image, &format!("manifests/{tag}"), &reference)
            .header("Content-Type", manifest.media_type.clone())
            .body(&manifest.bytes);
        let reply = self
            .auth
            .send(&self.transport, image, Access::Push, request)?;
        if !reply.is_success() {
            return Err(reply.error(&image.registry, format!("push manifest {reference}")));
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
        let request = self.request(
            Method::DELETE,
            image,
            &format!("manifests/{tag}"),
            &reference,
        );
        let reply = self
            .auth
            .send(&self.transport, image, Access::Push, request)?;
        if reply.is_success() {
            Ok(())
        } else {
            Err(reply.error(&image.registry, format!("delete tag {reference}")))
        }
    }

    /// The tags of `image` page by page, following `Link` pagination in
    /// the registry's order: each page is fetched only when the iterator is
    /// advanced, so a caller can print it before the next arrives and memory
    /// stays at one page. At most 1000 pages.
    pub fn tag_pages<'a>(&'a self, image: &'a Image) -> TagPages<'a> {
        TagPages::new(self, image)
    }

    /// Every tag of `image` at once (see [`Client::tag_pages`]).
    pub fn list_tags(&self, image: &Image) -> Result<Vec<String>, Error> {
        let mut tags = Vec::new();
        for page in self.tag_pages(image) {
            tags.extend(page?);
        }
        Ok(tags)
    }

    /// When the image at `digest` in `image` was built: the `created` field
    /// of its config blob; for an index or manifest list, that of its first
    /// platform manifest. `Ok(None)` when the image says nothing (no config,
    /// no `created`). Two or three GETs: the manifest, the platform manifest
    /// of an index, the config blob.
    pub fn created(&self, image: &Image, digest: &str) -> Result<Option<String>, Error> {
        let mut manifest = self.fetch_manifest(&image.digest(digest)?)?;
        if manifest.is_index() {
            let Some(platform) = manifest.first_platform_digest() else {
                return Ok(None);
            };
            manifest = self.fetch_manifest(&image.digest(&platform)?)?;
        }
        let Some(config) = manifest.config_digest() else {
            return Ok(None);
        };
        #[derive(serde::Deserialize)]
        struct Config {
            #[serde(default)]
            created: Option<String>,
        }
        let blob = self.fetch_blob(image, &config, MAX_CONFIG_BYTES)?;
        let parsed: Config = serde_json::from_slice(&blob).map_err(|e| Error::Registry {
            registry: image.registry.clone(),
            context: format!("read config {config} of {}", image.name),
            detail: format!("not a JSON image config: {e}"),
        })?;
        Ok(parsed.created.filter(|c| !c.trim().is_empty()))
    }

    /// The bytes of blob `digest`, checked against it.
    fn fetch_blob(&self, image: &Image, digest: &str, limit: u64) -> Result<Vec<u8>, Error> {
        crate::reference::check_digest(digest).map_err(|reason| Error::Registry {
            registry: image.registry.clone(),
            context: format!("blob of {}", image.name),
            detail: format!("{digest:?}: {reason}"),
        })?;
        let what = format!("{}@{digest}", image.name);
        let request = self
            .request(Method::GET, image, &format!("blobs/{digest}"), &what)
            .limit(limit);
        let reply = self.read(
            image,
            request,
            format!("blob {digest}"),
            format!("fetch blob {what}"),
        )?;
        let actual = sha256_digest(&reply.body);
        if actual != digest {
            return Err(Error::DigestMismatch {
                reference: what,
                detail: format!("the bytes served hash to {actual}"),
            });
        }
        Ok(reply.body)
    }

    /// A request to `path` under `image`'s repository API, called
    /// `METHOD what` in errors.
    fn request<'a>(
        &self,
        method: Method,
        image: &'a Image,
        path: &str,
        what: &dyn std::fmt::Display,
    ) -> Request<'a> {
        let url = format!(
            "{}{}/{path}",
            api_base(&image.registry, self.auth.insecure),
            image.repository
        );
        let context = format!("{method} {what}");
        Request::new(method, url, &image.registry, context)
    }

    fn manifest_request(&self, method: Method, reference: &Reference) -> Result<Reply, Error> {
        let image = &reference.image;
        let request = self
            .request(
                method,
                image,
                &format!("manifests/{}", reference.target_str()),
                reference,
            )
            .header("Accept", ACCEPT)
            .limit(MAX_MANIFEST_BYTES);
        let missing = match &reference.target {
            Target::Tag(t) => format!("tag {t}"),
            Target::Digest(d) => format!("manifest {d}"),
        };
        self.read(
            image,
            request,
            missing,
            format!("fetch manifest {reference}"),
        )
        .map_err(|e| match e {
            Error::TooLarge { size, .. } => Error::TooLarge {
                reference: reference.to_string(),
                size,
            },
            e => e,
        })
    }

    /// Sends a read of `image` and accepts only `200 OK`: a `404` is
    /// [`Error::NotFound`] naming `missing` (`tag v1`, `repository`), any
    /// other status the registry's error while `doing` it (`list tags x`).
    fn read(
        &self,
        image: &Image,
        request: Request<'_>,
        missing: String,
        doing: String,
    ) -> Result<Reply, Error> {
        let reply = self
            .auth
            .send(&self.transport, image, Access::Pull, request)?;
        match reply.status {
            200 => Ok(reply),
            404 => Err(Error::NotFound {
                what: missing,
                image: image.canonical(),
            }),
            _ => Err(reply.error(&image.registry, doing)),
        }
    }
}

/// The URL prefix of a registry's API: `https://host/v2/` (plain http for
/// loopback registries, or any with `insecure`).
fn api_base(registry: &str, insecure: bool) -> String {
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
    let scheme = if is_loopback_host(bare) || insecure {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}/v2/")
}
