//! A local registry for benchmarks and demos: docker-registry on loopback
//! with a counting proxy in front (optionally slowed), a few images pushed.
//!
//!   registry-sandbox [--latency-ms N] [--auth none|htpasswd|token] [--images N]
//!
//! The proxy's address is fronted by a plain TCP relay that closes TLS
//! handshakes at once, as a plain-http registry does, so clients that probe
//! https first (skopeo) fall back to http without waiting out a handshake
//! timeout. The relay spreads connections over PROXIES identical proxies:
//! one tiny_http server queues part of a burst of new connections behind
//! busy ones (a race in its connection pool), which would make the sandbox,
//! not the client, set the time of moves made in parallel.
//!
//! Prints `REGISTRY=host:port`, `PROXY=host:port` and, with auth,
//! `USERNAME=` and `PASSWORD=` lines, then `READY`. Then reads commands on
//! stdin, one per line:
//!
//!   count   prints `COUNT <requests through the proxy (+ token requests)>` and resets it
//!   quit    (or end of input) stops everything
//!
//! Images: `bench/app:staging-1111111`, `bench/app:staging-2222222` (OCI
//! indexes, two platforms each, tagged like builds of commits 1111111 and
//! 2222222), `bench/app:latest` (= staging-2222222), and the same under
//! `bench/tenant`; with `--images N` (default 2), also under `bench/img-2`
//! to `bench/img-<N-1>`.

use std::io::{BufRead, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use testkit::image::Kind;
use testkit::proxy::Proxy;
use testkit::registry::{Registry, PASSWORD, USER};
use testkit::token_server::{TokenField, TokenServer};

fn main() {
    let mut latency_ms = 0u64;
    let mut auth = String::from("none");
    let mut images = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--latency-ms" => {
                latency_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--latency-ms needs a number"))
            }
            "--auth" => auth = args.next().unwrap_or_else(|| usage("--auth needs a value")),
            "--images" => {
                images = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n >= 1)
                    .unwrap_or_else(|| usage("--images needs a number of at least 1"))
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let tokens =
        (auth == "token").then(|| TokenServer::start(&[(USER, PASSWORD)], TokenField::Both));
    let registry = match (auth.as_str(), &tokens) {
        ("none", _) => Registry::start(),
        ("htpasswd", _) => Registry::start_htpasswd(),
        ("token", Some(tokens)) => Registry::start_token(tokens),
        _ => usage("--auth is none, htpasswd or token"),
    };
    let pusher = registry.pusher();
    let repos = ["bench/app".to_string(), "bench/tenant".to_string()]
        .into_iter()
        .chain((2..images).map(|i| format!("bench/img-{i}")))
        .take(images);
    for repo in repos {
        pusher.push(
            &repo,
            "staging-1111111",
            Kind::OciIndex,
            &format!("{repo}-1"),
        );
        let two = pusher.push(
            &repo,
            "staging-2222222",
            Kind::OciIndex,
            &format!("{repo}-2"),
        );
        pusher.put_manifest(&repo, "latest", two.media_type, &two.bytes);
    }
    let proxies: Vec<Proxy> = (0..PROXIES)
        .map(|_| {
            let proxy = Proxy::start(&registry.url());
            proxy.set_latency(Duration::from_millis(latency_ms));
            proxy
        })
        .collect();

    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "REGISTRY={}", registry.host());
    let targets = proxies
        .iter()
        .map(|p| p.host().parse().expect("proxy address"))
        .collect();
    let front = tls_refusing_relay(targets);
    let _ = writeln!(out, "PROXY={front}");
    if auth != "none" {
        let _ = writeln!(out, "USERNAME={USER}");
        let _ = writeln!(out, "PASSWORD={PASSWORD}");
    }
    let _ = writeln!(out, "READY");
    let _ = out.flush();

    let token_count = || tokens.as_ref().map_or(0, |t| t.requests());
    let mut tokens_before = token_count();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "count" => {
                let now = token_count();
                let through: usize = proxies.iter().map(Proxy::count).sum();
                let _ = writeln!(out, "COUNT {}", through + now - tokens_before);
                let _ = out.flush();
                proxies.iter().for_each(Proxy::reset_counts);
                tokens_before = now;
            }
            "quit" => break,
            "" => {}
            other => {
                let _ = writeln!(out, "ERROR unknown command {other:?}");
                let _ = out.flush();
            }
        }
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("registry-sandbox: {problem}");
    }
    eprintln!("usage: registry-sandbox [--latency-ms N] [--auth none|htpasswd|token] [--images N]");
    std::process::exit(2)
}

/// Proxies behind the relay: more than the connections a client opens at once.
const PROXIES: usize = 16;

/// Relays loopback TCP connections to the `targets` in turn, closing any
/// that opens with a TLS handshake record (first byte 0x16) instead of an
/// HTTP request.
fn tls_refusing_relay(targets: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let addr = listener.local_addr().expect("relay address");
    std::thread::spawn(move || {
        for (client, target) in listener.incoming().flatten().zip(targets.iter().cycle()) {
            let target = *target;
            std::thread::spawn(move || relay(client, target));
        }
    });
    addr
}

fn relay(client: TcpStream, target: SocketAddr) {
    let mut first = [0u8; 1];
    if client.peek(&mut first).ok() != Some(1) || first[0] == 0x16 {
        return;
    }
    let Ok(upstream) = TcpStream::connect(target) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(mut client_read), Ok(mut upstream_write)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}
