//! A counting, slowing, failing HTTP proxy in front of a registry (or any
//! loopback server): every request is recorded by method and path, may be
//! delayed, and chosen requests can be failed deterministically ("the 1st
//! and later PUTs to `/v2/app/manifests/b` answer 500"), held until the
//! test releases them (a race made deterministic), or made to land after
//! the client has given up on them (a write of unknown outcome).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Worker threads: enough for parallel moves while some requests are held.
const THREADS: usize = 32;

/// How a held request is let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Forwarded and answered when the test calls [`Proxy::release`].
    UntilReleased,
    /// Never answered in time: forwarded upstream (it lands) only once the
    /// client has given up on it and sent another request with the same
    /// method and path that is not held itself: right after that one has
    /// been forwarded, before it is answered. Each such request lets the
    /// oldest held write land (or [`Proxy::release`] lets all of them).
    LateLanding,
}

/// A failure injected into matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `GET`, `HEAD`, `PUT`, …
    pub method: String,
    /// The request path (without query) must end with this.
    pub path_suffix: String,
    /// The first matching request that fails (1-based).
    pub nth: usize,
    /// How many matching requests fail from `nth` on; `None` for all of them.
    pub times: Option<usize>,
    /// Status answered instead of forwarding (the request never reaches upstream).
    pub status: u16,
    /// A `Retry-After` (seconds) to send with it.
    pub retry_after: Option<u32>,
    /// A `Location` to send with it (a redirect, with a 3xx status).
    pub location: Option<String>,
    /// A body (and its content type) instead of the default JSON error.
    pub body: Option<(String, Vec<u8>)>,
    /// Forward the request first (it takes effect upstream), then answer
    /// with the fault instead of upstream's response: a lost success.
    pub forward: bool,
    /// Hold the request instead of answering `status`.
    pub hold: Option<Hold>,
    /// Headers added to the answer the fault gives.
    pub headers: Vec<(String, String)>,
}

impl Fault {
    /// Every matching request from the `nth` on answers `status`.
    pub fn status(method: &str, path_suffix: &str, nth: usize, status: u16) -> Fault {
        Fault {
            method: method.to_string(),
            path_suffix: path_suffix.to_string(),
            nth,
            times: None,
            status,
            retry_after: None,
            location: None,
            body: None,
            forward: false,
            hold: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header to the answer this fault gives (say a `Link` to a
    /// next page on a forged tag list).
    pub fn header(mut self, name: &str, value: &str) -> Fault {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The `nth` matching request (only that one; widen with
    /// [`Fault::times`]) waits, before it is forwarded, until the test calls
    /// [`Proxy::release`]; then it goes through as usual (or, with
    /// [`Fault::body`], is answered with that body instead). With
    /// [`Proxy::wait_held`] a test can let another client act at exactly
    /// that point of this client's run.
    pub fn hold(method: &str, path_suffix: &str, nth: usize) -> Fault {
        Fault {
            hold: Some(Hold::UntilReleased),
            times: Some(1),
            ..Fault::status(method, path_suffix, nth, 200)
        }
    }

    /// The `nth` matching request (only that one; widen with
    /// [`Fault::times`]) is a write that lands after the client has given
    /// up: it gets no answer (the client times out), and it is forwarded
    /// upstream when the next request to the same path arrives (see
    /// [`Hold::LateLanding`]). So a client that puts a tag back after a
    /// timed-out PUT finds the timed-out PUT landed over its restore.
    pub fn late_landing(method: &str, path_suffix: &str, nth: usize) -> Fault {
        Fault {
            hold: Some(Hold::LateLanding),
            times: Some(1),
            ..Fault::status(method, path_suffix, nth, 200)
        }
    }

    /// The request still reaches upstream; only its answer is replaced.
    pub fn after_forwarding(mut self) -> Fault {
        self.forward = true;
        self
    }

    /// Answers with this body and content type instead of the JSON error
    /// (with status 200: a forged response, such as an oversized manifest).
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Fault {
        self.body = Some((content_type.to_string(), body));
        self
    }

    /// Every matching request from the `nth` on is redirected (307) to `url`.
    pub fn redirect(method: &str, path_suffix: &str, nth: usize, url: &str) -> Fault {
        Fault {
            location: Some(url.to_string()),
            ..Fault::status(method, path_suffix, nth, 307)
        }
    }

    /// Only `times` matching requests fail.
    pub fn times(mut self, times: usize) -> Fault {
        self.times = Some(times);
        self
    }

    pub fn retry_after(mut self, seconds: u32) -> Fault {
        self.retry_after = Some(seconds);
        self
    }
}

/// A request held by a [`Hold`] fault.
#[derive(Debug)]
struct Held {
    id: u64,
    kind: Hold,
    method: String,
    path: String,
    released: bool,
    /// Forwarded upstream (it took effect there).
    landed: bool,
}

#[derive(Debug, Default)]
struct State {
    log: Vec<(String, String)>,
    held: Vec<Held>,
    next_id: u64,
    /// Set on drop: held requests give up without forwarding.
    closing: bool,
    /// The requests that carried an `Authorization` header.
    authorized: Vec<(String, String)>,
    faults: Vec<(Fault, usize)>,
    /// Response headers removed before answering (lower case).
    strip: Vec<String>,
}

/// The state and the condition held requests wait on.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The running proxy; stops on drop.
pub struct Proxy {
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    latency_ms: Arc<AtomicU64>,
    port: u16,
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Proxy {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the proxy"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let shared = Arc::new(Shared::default());
        let latency_ms = Arc::new(AtomicU64::new(0));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let threads = (0..THREADS)
            .map(|_| {
                let (server, shared, latency_ms, agent) = (
                    server.clone(),
                    shared.clone(),
                    latency_ms.clone(),
                    agent.clone(),
                );
                let upstream = upstream.trim_end_matches('/').to_string();
                std::thread::spawn(move || {
                    while let Ok(request) = server.recv() {
                        handle(request, &upstream, &agent, &shared, &latency_ms);
                    }
                })
            })
            .collect();
        Proxy {
            server,
            threads,
            shared,
            latency_ms,
            port,
        }
    }

    /// Adds `latency` before each request is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared
            .state
            .lock()
            .expect("lock")
            .faults
            .push((fault, 0));
    }

    /// `127.0.0.1:PORT`, to use as the registry part of a reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// Removes header `name` from every upstream response (to imitate
    /// registries that, say, send no `Docker-Content-Digest` on HEAD).
    pub fn strip_response_header(&self, name: &str) {
        self.shared
            .state
            .lock()
            .expect("lock")
            .strip
            .push(name.to_ascii_lowercase());
    }

    /// The requests so far that carried an `Authorization` header.
    pub fn authorized_requests(&self) -> Vec<(String, String)> {
        self.shared.state.lock().expect("lock").authorized.clone()
    }

    /// Every request so far as (method, path with query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.state.lock().expect("lock").log.clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.shared.state.lock().expect("lock").log.len()
    }

    /// How many requests so far were `method` on a path ending with
    /// `path_suffix` (`""`: any path).
    pub fn count_of(&self, method: &str, path_suffix: &str) -> usize {
        let state = self.shared.state.lock().expect("lock");
        state
            .log
            .iter()
            .filter(|(m, path)| m == method && path.ends_with(path_suffix))
            .count()
    }

    /// The methods of the requests so far on a path ending with
    /// `path_suffix`, in order.
    pub fn methods_at(&self, path_suffix: &str) -> Vec<String> {
        let state = self.shared.state.lock().expect("lock");
        let at = state.log.iter().filter(|(_, p)| p.ends_with(path_suffix));
        at.map(|(method, _)| method.clone()).collect()
    }

    /// Waits (at most `limit`) until `n` requests are held by [`Fault::hold`]
    /// or [`Fault::late_landing`] faults at once; false if they never were.
    pub fn wait_held(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.state.lock().expect("lock");
        loop {
            if state.held.iter().filter(|h| !h.released).count() >= n {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .expect("lock")
                .0;
        }
    }

    /// Lets every held request go (forwarded upstream, then answered) and
    /// waits until each has landed upstream.
    pub fn release(&self) {
        let mut state = self.shared.state.lock().expect("lock");
        let ids: Vec<u64> = state
            .held
            .iter_mut()
            .map(|h| {
                h.released = true;
                h.id
            })
            .collect();
        self.shared.changed.notify_all();
        let _ = wait_landed(&self.shared, state, &ids);
    }

    /// Forgets the requests seen so far (faults and their counts stay).
    pub fn reset_counts(&self) {
        self.shared.state.lock().expect("lock").log.clear();
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.state.lock().expect("lock").closing = true;
        self.shared.changed.notify_all();
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

const HOP_BY_HOP: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
];

fn handle(
    mut request: tiny_http::Request,
    upstream: &str,
    agent: &ureq::Agent,
    shared: &Shared,
    latency_ms: &AtomicU64,
) {
    let state = &shared.state;
    let method = request.method().as_str().to_ascii_uppercase();
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap_or(&url).to_string();
    let fault = {
        let mut state = state.lock().expect("lock");
        state.log.push((method.clone(), url.clone()));
        if request
            .headers()
            .iter()
            .any(|h| h.field.equiv("Authorization"))
        {
            state.authorized.push((method.clone(), url.clone()));
        }
        let mut chosen = None;
        for (fault, seen) in state.faults.iter_mut() {
            if fault.method == method && path.ends_with(&fault.path_suffix) {
                *seen += 1;
                let active =
                    *seen >= fault.nth && fault.times.is_none_or(|t| *seen - fault.nth < t);
                if active && chosen.is_none() {
                    chosen = Some(fault.clone());
                }
            }
        }
        chosen
    };
    let latency = latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        std::thread::sleep(Duration::from_millis(latency));
    }
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    if let Some(kind) = fault.as_ref().and_then(|f| f.hold) {
        let Some(id) = wait_for_release(shared, kind, &method, &path) else {
            return; // the proxy is closing
        };
        let forged = fault.filter(|f| f.body.is_some());
        let response = match &forged {
            Some(_) => Err(String::new()),
            None => forward(&request, &method, upstream, &url, agent, body),
        };
        if let Some(h) = state
            .lock()
            .expect("lock")
            .held
            .iter_mut()
            .find(|h| h.id == id)
        {
            h.landed = true;
        }
        shared.changed.notify_all();
        match (forged, response) {
            (Some(fault), _) => answer(request, &fault),
            (None, Ok(response)) => respond(request, &method, state, response),
            (None, Err(e)) => {
                let _ = request.respond(
                    tiny_http::Response::from_string(format!("testkit proxy: {e}"))
                        .with_status_code(502),
                );
            }
        }
        return;
    }
    let fault = match fault {
        Some(fault) if fault.forward => {
            let _ = forward(&request, &method, upstream, &url, agent, body.clone());
            Some(fault)
        }
        other => other,
    };
    if let Some(fault) = fault {
        answer(request, &fault);
        return;
    }
    let upstream_response = match forward(&request, &method, upstream, &url, agent, body) {
        Ok(r) => r,
        Err(e) => {
            let _ = request.respond(
                tiny_http::Response::from_string(format!("testkit proxy: {e}"))
                    .with_status_code(502),
            );
            return;
        }
    };
    // The oldest write held to land late on this path lands now, after
    // this one.
    let late: Vec<u64> = {
        let mut guard = state.lock().expect("lock");
        guard
            .held
            .iter_mut()
            .find(|h| {
                h.kind == Hold::LateLanding && !h.released && h.method == method && h.path == path
            })
            .map(|h| {
                h.released = true;
                h.id
            })
            .into_iter()
            .collect()
    };
    if !late.is_empty() {
        shared.changed.notify_all();
        let guard = state.lock().expect("lock");
        let _ = wait_landed(shared, guard, &late);
    }
    respond(request, &method, state, upstream_response);
}

/// Answers `request` as `fault` says: its status, body, and headers.
fn answer(request: tiny_http::Request, fault: &Fault) {
    let (content_type, body) = fault.body.clone().unwrap_or_else(|| {
        let error = format!(
            r#"{{"errors":[{{"code":"UNKNOWN","message":"testkit proxy: injected {}"}}]}}"#,
            fault.status
        );
        ("application/json".to_string(), error.into_bytes())
    });
    let mut response = tiny_http::Response::from_data(body)
        .with_status_code(fault.status)
        .with_header(header("Content-Type", &content_type));
    if let Some(seconds) = fault.retry_after {
        response.add_header(header("Retry-After", &seconds.to_string()));
    }
    if let Some(location) = &fault.location {
        response.add_header(header("Location", location));
    }
    for (name, value) in &fault.headers {
        response.add_header(header(name, value));
    }
    let _ = request.respond(response);
}

/// Parks a held request until it is released: its id, or `None` when the
/// proxy closes first.
fn wait_for_release(shared: &Shared, kind: Hold, method: &str, path: &str) -> Option<u64> {
    let mut state = shared.state.lock().expect("lock");
    let id = state.next_id;
    state.next_id += 1;
    state.held.push(Held {
        id,
        kind,
        method: method.to_string(),
        path: path.to_string(),
        released: false,
        landed: false,
    });
    shared.changed.notify_all();
    loop {
        if state.closing {
            return None;
        }
        if state.held.iter().any(|h| h.id == id && h.released) {
            return Some(id);
        }
        state = shared.changed.wait(state).expect("lock");
    }
}

/// Waits (bounded) until the held requests `ids` have been forwarded.
fn wait_landed(shared: &Shared, mut state: std::sync::MutexGuard<'_, State>, ids: &[u64]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if state.closing {
            return false;
        }
        if state
            .held
            .iter()
            .filter(|h| ids.contains(&h.id))
            .all(|h| h.landed)
        {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        state = shared.changed.wait_timeout(state, left).expect("lock").0;
    }
}

/// Answers `request` with upstream's response (headers filtered).
fn respond(
    request: tiny_http::Request,
    method: &str,
    state: &Mutex<State>,
    mut upstream_response: ureq::http::Response<ureq::Body>,
) {
    let status = upstream_response.status().as_u16();
    let strip = state.lock().expect("lock").strip.clone();
    let headers: Vec<tiny_http::Header> = upstream_response
        .headers()
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            (n == "content-length" || !HOP_BY_HOP.contains(&n)) && !strip.iter().any(|s| s == n)
        })
        .filter_map(|(name, value)| {
            tiny_http::Header::from_bytes(name.as_str(), value.as_bytes()).ok()
        })
        .collect();
    let data = if method == "HEAD" {
        Vec::new()
    } else {
        upstream_response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_default()
    };
    let length = data.len();
    let mut response = tiny_http::Response::new(
        tiny_http::StatusCode(status),
        Vec::new(),
        std::io::Cursor::new(data),
        Some(length),
        None,
    );
    // Content-Length from upstream sets the length (a HEAD's is the manifest's size).
    for h in headers {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// Sends `request` on to `upstream`, headers and body as received.
fn forward(
    request: &tiny_http::Request,
    method: &str,
    upstream: &str,
    url: &str,
    agent: &ureq::Agent,
    body: Vec<u8>,
) -> Result<ureq::http::Response<ureq::Body>, String> {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{upstream}{url}"));
    for h in request.headers() {
        let name = h.field.as_str().as_str();
        if !HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            builder = builder.header(name, h.value.as_str());
        }
    }
    builder
        .body(body)
        .map_err(|e| e.to_string())
        .and_then(|req| agent.run(req).map_err(|e| e.to_string()))
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name, value).expect("valid header")
}
