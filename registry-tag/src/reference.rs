//! Image references, parsed by the distribution grammar
//! (`[registry/]path[:tag][@sha256:hex]`).

use std::fmt;

/// Docker Hub's canonical registry name (the API lives at `registry-1.docker.io`).
pub const DOCKER_HUB: &str = "index.docker.io";

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A reference that does not follow the grammar: exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

fn bad(input: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// A repository in a registry, without tag or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Image {
    /// Registry host with optional port: `ghcr.io`, `localhost:5000`, `index.docker.io`.
    pub registry: String,
    /// Repository path inside the registry: `molecule-ai/platform`, `library/nginx`.
    pub repository: String,
    /// The image as the user wrote it (without tag or digest), used in records.
    pub name: String,
}

/// What a reference points at inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Tag(String),
    /// `sha256:<64 hex>`.
    Digest(String),
}

/// `image:tag` or `image@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub image: Image,
    pub target: Target,
}

impl Image {
    /// Parses an image name without tag or digest.
    pub fn parse(input: &str) -> Result<Image, ReferenceError> {
        let reference = Reference::parse_with_default(input, None)?;
        if reference.target != Target::Tag(String::new()) {
            return Err(bad(input, "expected an image name without tag or digest"));
        }
        Ok(reference.image)
    }

    /// `registry/repository`, the canonical name used in messages.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The reference to `tag` (validated) in this image.
    pub fn tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        check_tag(tag).map_err(|reason| bad(tag, reason))?;
        Ok(Reference {
            image: self.clone(),
            target: Target::Tag(tag.to_string()),
        })
    }

    /// The reference to `digest` (validated) in this image.
    pub fn digest(&self, digest: &str) -> Result<Reference, ReferenceError> {
        check_digest(digest).map_err(|reason| bad(digest, reason))?;
        Ok(Reference {
            image: self.clone(),
            target: Target::Digest(digest.to_string()),
        })
    }

    /// A tag (`staging-abc`) or digest (`sha256:…`, also written `@sha256:…`) in this image.
    pub fn target(&self, tag_or_digest: &str) -> Result<Reference, ReferenceError> {
        let t = tag_or_digest.strip_prefix('@').unwrap_or(tag_or_digest);
        if t.contains(':') {
            self.digest(t)
        } else {
            self.tag(t)
        }
    }
}

impl Reference {
    /// Parses `[registry/]path[:tag][@digest]`; without tag or digest the tag is `latest`.
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        Reference::parse_with_default(input, Some("latest"))
    }

    fn parse_with_default(
        input: &str,
        default_tag: Option<&str>,
    ) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(bad(input, "empty reference"));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(input, "contains whitespace"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest).map_err(|r| bad(input, r))?;
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/' (a ':' before
        // it is a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag = &rest[at + 1..];
                check_tag(tag).map_err(|r| bad(input, r))?;
                (&rest[..at], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad(input, "missing repository name"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
            {
                check_registry(first).map_err(|r| bad(input, r))?;
                (first.to_string(), path)
            }
            _ => (DOCKER_HUB.to_string(), name),
        };
        let registry = match registry.as_str() {
            "docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        if path.len() > MAX_NAME_LEN {
            return Err(bad(
                input,
                format!("repository name is longer than {MAX_NAME_LEN} characters"),
            ));
        }
        for component in path.split('/') {
            check_component(component).map_err(|r| bad(input, r))?;
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        let target = match (digest, tag) {
            (Some(d), _) => Target::Digest(d),
            (None, Some(t)) => Target::Tag(t),
            (None, None) => Target::Tag(default_tag.unwrap_or_default().to_string()),
        };
        Ok(Reference {
            image: Image {
                registry,
                repository,
                name: name.to_string(),
            },
            target,
        })
    }

    /// The tag or digest, as used in a `/manifests/` URL.
    pub fn target_str(&self) -> &str {
        match &self.target {
            Target::Tag(t) | Target::Digest(t) => t,
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match &self.target {
            Target::Tag(t) => Some(t),
            Target::Digest(_) => None,
        }
    }

    pub fn digest(&self) -> Option<&str> {
        match &self.target {
            Target::Digest(d) => Some(d),
            Target::Tag(_) => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Tag(t) => write!(f, "{}:{t}", self.image.name),
            Target::Digest(d) => write!(f, "{}@{d}", self.image.name),
        }
    }
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("empty tag".into());
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(format!("tag is longer than {MAX_TAG_LEN} characters"));
    }
    let mut chars = tag.chars();
    let first = chars.next().unwrap_or_default();
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(format!(
            "tag {tag:?} must start with a letter, digit or '_'"
        ));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(format!(
            "tag {tag:?} may only contain letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// `sha256:` and 64 lowercase hex digits (the only algorithm registries use).
pub fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "digest {digest:?} must look like sha256:<64 hex digits>"
        ));
    };
    if algorithm != "sha256" {
        return Err(format!(
            "digest algorithm {algorithm:?} is not supported; use sha256"
        ));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "digest {digest:?} must be sha256: and 64 lowercase hex digits"
        ));
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err("empty path component in repository name".into());
    }
    if component.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("repository name {component:?} must be lowercase"));
    }
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let err = || {
        format!(
            "repository name component {component:?} must be lowercase letters and digits \
             separated by '.', '_', '__' or dashes"
        )
    };
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(err());
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return Err(err());
        }
    }
    Ok(())
}

/// `host[:port]` where host is DNS labels or a bracketed IPv6 address.
fn check_registry(registry: &str) -> Result<(), String> {
    let err = || format!("registry {registry:?} is not a valid host[:port]");
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or_else(err)?;
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(err());
        }
        match after {
            "" => (inner, None),
            p => (inner, Some(p.strip_prefix(':').ok_or_else(err)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
    }
    if !registry.starts_with('[') {
        for label in host.split('.') {
            let b = label.as_bytes();
            let ok = !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-';
            if !ok {
                return Err(err());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (String, String, String) {
        let r = Reference::parse(s).unwrap_or_else(|e| panic!("{e}"));
        (
            r.image.registry.clone(),
            r.image.repository.clone(),
            r.target_str().to_string(),
        )
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(
            parse("nginx"),
            (
                "index.docker.io".into(),
                "library/nginx".into(),
                "latest".into()
            )
        );
        assert_eq!(
            parse("docker.io/nginx:1.25"),
            (
                "index.docker.io".into(),
                "library/nginx".into(),
                "1.25".into()
            )
        );
        assert_eq!(
            parse("user/app:v1"),
            ("index.docker.io".into(), "user/app".into(), "v1".into())
        );
        assert_eq!(
            parse("localhost:5000/x"),
            ("localhost:5000".into(), "x".into(), "latest".into())
        );
        assert_eq!(
            parse("localhost/x:t"),
            ("localhost".into(), "x".into(), "t".into())
        );
        assert_eq!(
            parse("ghcr.io/molecule-ai/platform:staging-4c1d56e"),
            (
                "ghcr.io".into(),
                "molecule-ai/platform".into(),
                "staging-4c1d56e".into()
            )
        );
        assert_eq!(
            parse("[::1]:5000/a/b:c"),
            ("[::1]:5000".into(), "a/b".into(), "c".into())
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("127.0.0.1:5000/a/b:t@{d}")).unwrap();
        assert_eq!(r.target, Target::Digest(d.clone()));
        assert_eq!(r.image.name, "127.0.0.1:5000/a/b");
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b@{d}"));
    }

    #[test]
    fn rejects_bad_references() {
        let long_tag = format!("x:{}", "a".repeat(129));
        for input in [
            "",
            "UPPER/case",
            "x:",
            "x:-bad",
            "a//b",
            "a/-b",
            "x@sha256:abc",
            "x@md5:abc",
            "ghcr.io/",
            ":tag",
            "a b",
            "a..b",
            "host:port/x",
            &long_tag,
            "x@sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                Reference::parse(input).is_err(),
                "{input:?} should be rejected"
            );
        }
        assert!(Reference::parse(&format!("x:{}", "a".repeat(128))).is_ok());
        assert!(Reference::parse("a__b/c-d--e.f_g").is_ok());
    }

    #[test]
    fn image_and_targets() {
        let image = Image::parse("ghcr.io/o/p").unwrap();
        assert!(Image::parse("ghcr.io/o/p:tag").is_err());
        assert_eq!(image.canonical(), "ghcr.io/o/p");
        assert!(image.target("staging-1").unwrap().tag().is_some());
        let d = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            image.target(&format!("@{d}")).unwrap().digest(),
            Some(d.as_str())
        );
        assert!(image.target("sha256:1").is_err());
        assert!(image.target("bad tag").is_err());
    }
}
