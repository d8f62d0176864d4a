//! Synthetic images pushed straight to a registry for tests: config and
//! layer blobs first, then the manifest; for a multi-arch index or list,
//! the per-platform manifests first, by digest. Every call panics on
//! failure, which fails the test that set it up.

use std::time::Duration;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::token_server::{base64_std, Signer};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// All four manifest types, as a careful client asks for them.
pub const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Which kind of manifest to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An OCI image manifest.
    Oci,
    /// A Docker v2 schema 2 manifest.
    DockerV2,
    /// An OCI index of two OCI platform manifests (amd64, arm64).
    OciIndex,
    /// A Docker manifest list of two Docker v2 platform manifests.
    DockerList,
}

/// A pushed manifest.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// For an index or list: its platform manifests' digests.
    pub children: Vec<String>,
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic(String),
    Tokens(Signer),
}

/// Pushes to one registry, with the credentials it needs.
#[derive(Debug, Clone)]
pub struct Pusher {
    base: String,
    agent: ureq::Agent,
    auth: Auth,
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Pusher {
    /// `base` is `http://127.0.0.1:PORT` (no `/v2`).
    pub fn new(base: &str) -> Pusher {
        Pusher {
            base: base.trim_end_matches('/').to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into(),
            auth: Auth::None,
        }
    }

    pub fn basic(mut self, user: &str, password: &str) -> Pusher {
        self.auth = Auth::Basic(format!(
            "Basic {}",
            base64_std(format!("{user}:{password}").as_bytes())
        ));
        self
    }

    pub fn tokens(mut self, signer: Signer) -> Pusher {
        self.auth = Auth::Tokens(signer);
        self
    }

    fn authorization(&self, repo: &str) -> Option<String> {
        match &self.auth {
            Auth::None => None,
            Auth::Basic(header) => Some(header.clone()),
            Auth::Tokens(signer) => {
                Some(format!("Bearer {}", signer.token(repo, &["pull", "push"])))
            }
        }
    }

    /// Pushes an image of `kind` under `repo:tag`. `seed` makes its content
    /// (and so its digest) unique: the same seed and kind give the same digest.
    pub fn push(&self, repo: &str, tag: &str, kind: Kind, seed: &str) -> Pushed {
        match kind {
            Kind::Oci | Kind::DockerV2 => {
                let pushed = self.platform_manifest(repo, kind, seed, "amd64");
                self.put_manifest(repo, tag, pushed.media_type, &pushed.bytes);
                pushed
            }
            Kind::OciIndex | Kind::DockerList => {
                let (child_kind, media_type) = if kind == Kind::OciIndex {
                    (Kind::Oci, OCI_INDEX)
                } else {
                    (Kind::DockerV2, DOCKER_LIST)
                };
                let children: Vec<Pushed> = ["amd64", "arm64"]
                    .iter()
                    .map(|arch| {
                        let child = self.platform_manifest(repo, child_kind, seed, arch);
                        self.put_manifest(repo, &child.digest, child.media_type, &child.bytes);
                        child
                    })
                    .collect();
                let manifests: Vec<_> = children
                    .iter()
                    .zip(["amd64", "arm64"])
                    .map(|(c, arch)| {
                        json!({
                            "mediaType": c.media_type,
                            "digest": c.digest,
                            "size": c.bytes.len(),
                            "platform": {"architecture": arch, "os": "linux"},
                        })
                    })
                    .collect();
                let bytes = serde_json::to_vec_pretty(&json!({
                    "schemaVersion": 2,
                    "mediaType": media_type,
                    "manifests": manifests,
                }))
                .expect("serialize index");
                self.put_manifest(repo, tag, media_type, &bytes);
                Pushed {
                    digest: sha256_digest(&bytes),
                    media_type,
                    bytes,
                    children: children.into_iter().map(|c| c.digest).collect(),
                }
            }
        }
    }

    /// Pushes the blobs of one platform image and returns its manifest
    /// (not yet pushed under any tag).
    fn platform_manifest(&self, repo: &str, kind: Kind, seed: &str, arch: &str) -> Pushed {
        let layer = format!("testkit layer {seed} {arch}\n")
            .repeat(16)
            .into_bytes();
        let layer_digest = self.push_blob(repo, &layer);
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"testkit.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }))
        .expect("serialize config");
        let config_digest = self.push_blob(repo, &config);
        let (media_type, config_type, layer_type) = match kind {
            Kind::Oci => (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
            _ => (DOCKER_V2, DOCKER_CONFIG, DOCKER_LAYER),
        };
        let bytes = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
        }))
        .expect("serialize manifest");
        Pushed {
            digest: sha256_digest(&bytes),
            media_type,
            bytes,
            children: Vec::new(),
        }
    }

    /// Uploads a blob (POST to start, PUT with the digest to finish).
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let mut start = self
            .agent
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base));
        if let Some(auth) = self.authorization(repo) {
            start = start.header("Authorization", auth);
        }
        let resp = start.send_empty().expect("start blob upload");
        assert_eq!(
            resp.status().as_u16(),
            202,
            "start blob upload to {repo}: {}",
            describe(resp)
        );
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("upload Location")
            .to_string();
        let mut url = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let what = format!("finish blob upload to {repo}");
        self.put_created(repo, url, "application/octet-stream", bytes, &what);
        digest
    }

    /// PUTs manifest bytes under a tag or digest.
    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let what = format!("put manifest {repo}:{reference}");
        self.put_created(repo, url, media_type, bytes, &what);
    }

    /// PUTs `bytes` to `url` with `repo`'s credentials; panics, naming
    /// `what`, unless the registry answers 201 Created.
    fn put_created(&self, repo: &str, url: String, content_type: &str, bytes: &[u8], what: &str) {
        let mut put = self.agent.put(url).header("Content-Type", content_type);
        if let Some(auth) = self.authorization(repo) {
            put = put.header("Authorization", auth);
        }
        let resp = put.send(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(resp.status().as_u16(), 201, "{what}: {}", describe(resp));
    }

    /// What `repo:reference` points at now (HEAD with every manifest type
    /// accepted), read independently of the tool under test; `None` if absent.
    pub fn digest_of(&self, repo: &str, reference: &str) -> Option<String> {
        let mut head = self
            .agent
            .head(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("Accept", ACCEPT_ALL);
        if let Some(auth) = self.authorization(repo) {
            head = head.header("Authorization", auth);
        }
        let resp = head.call().expect("head manifest");
        match resp.status().as_u16() {
            200 => Some(
                resp.headers()
                    .get("docker-content-digest")
                    .and_then(|d| d.to_str().ok())
                    .expect("Docker-Content-Digest")
                    .to_string(),
            ),
            404 => None,
            other => panic!("HEAD {repo}:{reference} answered {other}"),
        }
    }
}

fn describe(mut resp: ureq::http::Response<ureq::Body>) -> String {
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    format!("HTTP {status} {body}")
}
