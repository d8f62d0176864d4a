//! Client unit tests, with a raw-TCP server for what no real registry does
//! on demand: dropping connections after reading the request.

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

/// A loopback server that drops the first `drops` connections after
/// reading the request head, then answers every request on a new
/// connection with an empty manifest reply.
pub(super) fn flaky_server(drops: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        for (i, stream) in listener
            .incoming()
            .enumerate()
            .take(drops.saturating_add(2))
        {
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

pub(super) fn fast_retries() -> Options {
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
