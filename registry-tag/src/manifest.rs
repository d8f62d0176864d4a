//! Manifests as exact bytes: their media types, digests and size limit.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type, so multi-arch tags keep their index digest and OCI
/// images are not answered with 404.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Manifests larger than this are refused (distribution's own limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Image config blobs larger than this are not read.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// A manifest exactly as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    /// The `Content-Type` it was served with; a PUT must send the same.
    pub media_type: String,
    /// `sha256:` of `bytes`.
    pub digest: String,
}

impl Manifest {
    /// Wraps bytes, computing their digest; `media_type` falls back to the
    /// document's own `mediaType` field, then to its shape.
    pub fn new(bytes: Vec<u8>, media_type: Option<&str>) -> Manifest {
        let media_type = media_type
            .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
            .filter(|m| !m.is_empty() && m != "application/json" && m != "text/plain")
            .unwrap_or_else(|| sniff_media_type(&bytes));
        Manifest {
            digest: sha256_digest(&bytes),
            bytes,
            media_type,
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// True for an OCI index or Docker manifest list.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// For an index or list: the digest of its first platform manifest
    /// (attestation entries, whose platform is `unknown`, are skipped).
    pub fn first_platform_digest(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Index {
            #[serde(default)]
            manifests: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            digest: String,
            #[serde(default)]
            platform: Option<Platform>,
        }
        #[derive(Deserialize)]
        struct Platform {
            #[serde(default)]
            os: String,
        }
        let index: Index = serde_json::from_slice(&self.bytes).ok()?;
        index
            .manifests
            .into_iter()
            .find(|m| !matches!(&m.platform, Some(p) if p.os == "unknown"))
            .map(|m| m.digest)
    }

    /// For an image manifest: the digest of its config blob.
    pub fn config_digest(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Image {
            config: Descriptor,
        }
        #[derive(Deserialize)]
        struct Descriptor {
            digest: String,
        }
        let image: Image = serde_json::from_slice(&self.bytes).ok()?;
        Some(image.config.digest)
    }
}

/// What a tag or digest points at, as told by a HEAD (or GET).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

impl From<&Manifest> for Resolved {
    fn from(m: &Manifest) -> Resolved {
        Resolved {
            digest: m.digest.clone(),
            media_type: m.media_type.clone(),
            size: m.size(),
        }
    }
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn sniff_media_type(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(m) = value.get("mediaType").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    if value.get("manifests").is_some() {
        OCI_INDEX.to_string()
    } else {
        OCI_MANIFEST.to_string()
    }
}

/// Short form for human lines: `sha256:0123456789ab`.
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_exact_bytes() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn media_type_from_header_then_document() {
        let m = Manifest::new(
            b"{}".to_vec(),
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        );
        assert_eq!(m.media_type, OCI_MANIFEST);
        let m = Manifest::new(
            format!(r#"{{"mediaType":"{DOCKER_LIST}"}}"#).into_bytes(),
            None,
        );
        assert!(m.is_index());
        let m = Manifest::new(br#"{"manifests":[]}"#.to_vec(), Some("application/json"));
        assert_eq!(m.media_type, OCI_INDEX);
    }

    #[test]
    fn platform_and_config_digests() {
        let index = Manifest::new(
            br#"{"manifests":[
                {"digest":"sha256:att","platform":{"os":"unknown","architecture":"unknown"}},
                {"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#
                .to_vec(),
            Some(OCI_INDEX),
        );
        assert_eq!(index.first_platform_digest().as_deref(), Some("sha256:amd"));
        assert_eq!(index.config_digest(), None);
        let image = Manifest::new(
            br#"{"config":{"digest":"sha256:cfg","size":2},"layers":[]}"#.to_vec(),
            Some(OCI_MANIFEST),
        );
        assert_eq!(image.config_digest().as_deref(), Some("sha256:cfg"));
        assert_eq!(image.first_platform_digest(), None);
    }
}
