//! Client unit tests, with a raw-TCP server for what no real registry does
//! on demand: dropping connections after reading the request.

use super::tags::next_link;
use super::*;

#[test]
fn next_link_stays_in_the_repository() {
    assert_eq!(
        next_link(r#"</v2/a/b/tags/list?last=x&n=2>; rel="next""#, "a/b").as_deref(),
        Some("tags/list?last=x&n=2")
    );
    // An absolute link could send our Authorization elsewhere.
    assert_eq!(
        next_link(
            r#"<https://evil.example/v2/a/b/tags/list>; rel="next""#,
            "a/b"
        ),
        None
    );
    assert_eq!(
        next_link(r#"</v2/other/tags/list?last=x>; rel="next""#, "a/b"),
        None
    );
    assert_eq!(
        next_link(r#"</v2/a/b/manifests/x>; rel="next""#, "a/b"),
        None
    );
    assert_eq!(next_link(r#"</v2/a/b/tags/list>; rel="prev""#, "a/b"), None);
}

#[test]
fn api_bases() {
    assert_eq!(
        api_base("127.0.0.1:5000", false),
        "http://127.0.0.1:5000/v2/"
    );
    assert_eq!(api_base("localhost", false), "http://localhost/v2/");
    assert_eq!(api_base("[::1]:5000", false), "http://[::1]:5000/v2/");
    assert_eq!(api_base("ghcr.io", false), "https://ghcr.io/v2/");
    assert_eq!(api_base("ghcr.io", true), "http://ghcr.io/v2/");
    assert_eq!(
        api_base(DOCKER_HUB, false),
        "https://registry-1.docker.io/v2/"
    );
}

/// A loopback server for `connections` connections: it reads each request
/// head and answers with `answer(request line, index)`, or drops the
/// connection without an answer when that is `None`.
fn raw_server(
    connections: usize,
    answer: impl Fn(&str, usize) -> Option<String> + Send + 'static,
) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate().take(connections) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            if let Some(reply) = answer(&request_line, i) {
                let _ = stream.write_all(reply.as_bytes());
            }
        }
    });
    (addr, handle)
}

/// An empty answer with a manifest digest; the connection closes after it.
fn ok_reply() -> String {
    format!(
        "HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:{}\r\nContent-Type: {}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        "a".repeat(64),
        crate::manifest::OCI_MANIFEST
    )
}

/// Drops the first `drops` connections after reading the request, then
/// answers (at most two more) with [`ok_reply`].
fn flaky_server(drops: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    raw_server(drops.saturating_add(2), move |_, i| {
        (i >= drops).then(ok_reply)
    })
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
fn a_put_that_loses_its_connection_may_have_landed() {
    // The ping is answered; every PUT is read and then dropped unanswered.
    let (addr, _server) = raw_server(5, |line, _| (!line.starts_with("PUT")).then(ok_reply));
    let client = Client::new(fast_retries(), Credentials::anonymous());
    let image = Image::parse(&format!("{addr}/app")).unwrap();
    let manifest = Manifest::new(b"{}".to_vec(), Some(crate::manifest::OCI_MANIFEST));
    let err = client
        .put_manifest(&image, "latest", &manifest)
        .unwrap_err();
    assert!(err.is_unknown_outcome(), "{err:?}");
    let words = err.to_string();
    assert!(words.contains("may have landed"), "{words}");
    assert!(
        words.contains("PUT") && words.contains("app:latest"),
        "{words}"
    );
    assert_eq!(client.requests(), 5, "ping and four PUT attempts");
}

#[test]
fn a_refused_connection_is_not_an_unknown_outcome() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(fast_retries(), Credentials::anonymous());
    let image = Image::parse(&format!("{addr}/app")).unwrap();
    let manifest = Manifest::new(b"{}".to_vec(), None);
    let err = client
        .put_manifest(&image, "latest", &manifest)
        .unwrap_err();
    assert!(!err.is_unknown_outcome(), "{err:?}");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

/// Pushes an OCI image whose config says `created` (none if `None`) under
/// its digest, and returns that digest and its manifest bytes' length.
fn push_image(
    pusher: &testkit::image::Pusher,
    repo: &str,
    created: Option<&str>,
) -> (String, usize) {
    use testkit::image::{OCI_CONFIG, OCI_LAYER, OCI_MANIFEST};
    let layer = pusher.push_blob(repo, format!("layer of {created:?}").as_bytes());
    let mut config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer]},
    });
    if let Some(created) = created {
        config["created"] = created.into();
    }
    let config = config.to_string().into_bytes();
    let config_digest = pusher.push_blob(repo, &config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": 1}],
    })
    .to_string()
    .into_bytes();
    let digest = testkit::image::sha256_digest(&manifest);
    pusher.put_manifest(repo, &digest, OCI_MANIFEST, &manifest);
    (digest, manifest.len())
}

#[test]
fn created_comes_from_the_config_or_the_first_platform_of_an_index() {
    use testkit::image::{Kind, OCI_INDEX, OCI_MANIFEST};
    let registry = testkit::registry::Registry::start();
    let pusher = registry.pusher();
    let (image_digest, _) = push_image(&pusher, "app", Some("2026-11-20T10:00:00Z"));
    let (attestation, size) = push_image(&pusher, "app", None);
    let (platform, platform_size) = push_image(&pusher, "app", Some("2026-11-21T08:30:00Z"));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": attestation, "size": size,
             "platform": {"os": "unknown", "architecture": "unknown"}},
            {"mediaType": OCI_MANIFEST, "digest": platform, "size": platform_size,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    })
    .to_string()
    .into_bytes();
    let index_digest = testkit::image::sha256_digest(&index);
    pusher.put_manifest("app", "multi", OCI_INDEX, &index);
    let undated = pusher.push("app", "undated", Kind::DockerList, "undated");

    let client = Client::new(fast_retries(), Credentials::anonymous());
    let image = Image::parse(&format!("{}/app", registry.host())).unwrap();
    assert_eq!(
        client.created(&image, &image_digest).unwrap().as_deref(),
        Some("2026-11-20T10:00:00Z")
    );
    assert_eq!(
        client.created(&image, &index_digest).unwrap().as_deref(),
        Some("2026-11-21T08:30:00Z")
    );
    assert_eq!(client.created(&image, &undated.digest).unwrap(), None);
    let missing = format!("sha256:{}", "0".repeat(64));
    assert!(client.created(&image, &missing).unwrap_err().is_not_found());
}

#[test]
fn tag_pages_are_fetched_one_at_a_time() {
    let (addr, _server) = raw_server(3, |line, _| {
        let (body, link) = match line.split(' ').nth(1).unwrap_or_default() {
            "/v2/" => ("{}", None),
            "/v2/org/app/tags/list?n=1000" => (
                r#"{"tags":["a","b"]}"#,
                Some("</v2/org/app/tags/list?last=b&n=1000>; rel=\"next\""),
            ),
            "/v2/org/app/tags/list?last=b&n=1000" => (r#"{"tags":["c"]}"#, None),
            _ => return Some("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()),
        };
        let link = link.map(|l| format!("Link: {l}\r\n")).unwrap_or_default();
        Some(format!(
            "HTTP/1.1 200 OK\r\n{link}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    });
    let client = Client::new(fast_retries(), Credentials::anonymous());
    let image = Image::parse(&format!("{addr}/org/app")).unwrap();
    let mut pages = client.tag_pages(&image);
    assert_eq!(pages.next().unwrap().unwrap(), ["a", "b"]);
    assert_eq!(client.requests(), 2, "ping and the first page only");
    assert_eq!(pages.next().unwrap().unwrap(), ["c"]);
    assert!(pages.next().is_none());
    assert_eq!(client.requests(), 3);
}

/// A registry whose Bearer token service is itself: the ping is challenged,
/// tokens are handed out, and manifests answer `manifest(nth)` in turn.
fn bearer_server(
    connections: usize,
    manifest: impl Fn(usize) -> String + Send + 'static,
) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let port_in = port.clone();
    let (addr, handle) = raw_server(connections, move |line, _| {
        let port = port_in.get().copied().unwrap_or_default();
        let path = line.split(' ').nth(1).unwrap_or_default();
        Some(if path == "/v2/" {
            format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\"\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        } else if path.starts_with("/token") {
            let body = r#"{"token":"t0ken-for-tests"}"#;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
        } else {
            manifest(seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        })
    });
    port.set(addr.port()).unwrap();
    (addr, handle)
}

fn unauthorized(challenge_error: &str) -> String {
    format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\"{challenge_error}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn a_refused_cached_token_is_fetched_again_once() {
    // ping, token, HEAD refused, token again, HEAD answered.
    let (addr, _server) = bearer_server(5, |nth| match nth {
        0 => unauthorized(""),
        _ => ok_reply(),
    });
    let client = Client::new(fast_retries(), Credentials::anonymous());
    let reference = Reference::parse(&format!("{addr}/app:v1")).unwrap();
    client.resolve(&reference).unwrap();
    assert_eq!(client.requests(), 5);
}

#[test]
fn a_token_without_the_scope_is_not_fetched_again() {
    let (addr, _server) = bearer_server(3, |_| unauthorized(",error=\"insufficient_scope\""));
    let client = Client::new(fast_retries(), Credentials::anonymous());
    let reference = Reference::parse(&format!("{addr}/app:v1")).unwrap();
    let err = client.resolve(&reference).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("anonymous"), "{err}");
    assert_eq!(client.requests(), 3, "ping, token, HEAD");
}
