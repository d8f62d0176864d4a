//! Listening sockets, connection workers, reading requests and writing
//! replies.
//!
//! The fleet speaks just enough HTTP/1.1 itself rather than through
//! tiny_http: tiny_http hands each connection to a thread pool that, under a
//! burst of new connections, can queue one behind a busy thread (a race in
//! its idle-thread count), so with injected latency five checks started at
//! once on one tenant took two round trips instead of one, and the fake
//! fleet, not the tool, set the benchmark's figure. Here each worker accepts
//! a connection, reads one request (request line, headers, a
//! `Content-Length` body), answers it and closes the connection.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::json;

use super::tenant::{serve_tenant, Incoming, Reply, TenantState};
use super::{Stop, ORG_HEADER};

/// Which tenant a server's requests are for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Route {
    Single(usize),
    Prefixed,
}

/// One listening server. Its workers each accept a connection and serve it;
/// a worker that accepts while no other is waiting starts another first, so
/// a slow (delayed) request never holds up the next one, and no thread is
/// started per request once the pool has grown to the server's peak
/// concurrency.
pub(super) struct Running {
    pub(super) port: u16,
    pool: Arc<Pool>,
}

/// What a server's workers share.
struct Pool {
    listener: TcpListener,
    port: u16,
    stop: Stop,
    route: Route,
    tenants: Arc<Vec<TenantState>>,
    /// Workers waiting in `accept`.
    idle: AtomicUsize,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running").field("port", &self.port).finish()
    }
}

impl Running {
    pub(super) fn serve(
        port: u16,
        route: Route,
        tenants: Arc<Vec<TenantState>>,
    ) -> io::Result<Running> {
        let listener = listen(port)?;
        let port = listener.local_addr()?.port();
        let pool = Arc::new(Pool {
            listener,
            port,
            stop: Stop::default(),
            route,
            tenants,
            idle: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
        });
        add_worker(&pool)?;
        Ok(Running { port, pool })
    }
}

/// How many connections may wait to be accepted. std listens with 128; a
/// benchmark opening a few hundred connections at once into one port would
/// overflow that and see SYNs dropped and retried a second later. The kernel
/// caps it at `net.core.somaxconn`.
const ACCEPT_BACKLOG: i32 = 4096;

/// A loopback listener on `port` (0 = any) with a deep accept backlog and
/// `TCP_NODELAY`, which accepted sockets inherit on Linux: a reply written
/// in two pieces is never held back waiting for the client's ACK.
pub(super) fn listen(port: u16) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    rustix::net::listen(&listener, ACCEPT_BACKLOG)?;
    rustix::net::sockopt::set_tcp_nodelay(&listener, true)?;
    Ok(listener)
}

/// Starts one more worker, unless the server is stopping.
fn add_worker(pool: &Arc<Pool>) -> io::Result<()> {
    let mut workers = pool.workers.lock().unwrap();
    if pool.stop.is_stopped() {
        return Ok(());
    }
    pool.idle.fetch_add(1, Ordering::SeqCst);
    let shared = pool.clone();
    match thread::Builder::new()
        .name(format!("fleet-{}", pool.port))
        .spawn(move || work(&shared))
    {
        Ok(worker) => {
            workers.push(worker);
            Ok(())
        }
        Err(e) => {
            pool.idle.fetch_sub(1, Ordering::SeqCst);
            Err(e)
        }
    }
}

fn work(pool: &Arc<Pool>) {
    loop {
        let accepted = pool.listener.accept();
        if pool.stop.is_stopped() {
            return;
        }
        let Ok((stream, _)) = accepted else { continue };
        if pool.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last waiting worker: keep one waiting for the next
            // connection. (One that cannot be started only costs concurrency.)
            let _ = add_worker(pool);
        }
        serve_connection(stream, pool);
        pool.idle.fetch_add(1, Ordering::SeqCst);
    }
}

/// Stops the workers (waking any asleep in a delay) and closes the port.
impl Drop for Running {
    fn drop(&mut self) {
        self.pool.stop.set();
        // Shutting a listening socket down wakes every thread blocked in
        // accept (Linux) and refuses new connections at once.
        let _ = rustix::net::shutdown(&self.pool.listener, rustix::net::Shutdown::Read);
        // No worker is added once stopped, so this is every one of them.
        let workers = std::mem::take(&mut *self.pool.workers.lock().unwrap());
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// A request as read from the connection.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Longest request head or body read.
const MAX_READ: u64 = 1 << 20;

/// Reads one request: request line, headers up to the empty line, and a
/// body of `Content-Length` bytes. `None` for a connection that closes or
/// stalls first, or sends what is not an HTTP/1.x request.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut reader = reader.take(MAX_READ);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: String::new(),
    };
    let length: u64 = request
        .header("Content-Length")
        .map_or(Some(0), |v| v.parse().ok())?;
    let mut body = Vec::new();
    reader
        .into_inner()
        .take(length.min(MAX_READ))
        .read_to_end(&mut body)
        .ok()?;
    request.body = String::from_utf8_lossy(&body).into_owned();
    Some(request)
}

/// Serves the one request on `stream`, then closes it (every reply says
/// `Connection: close`).
fn serve_connection(stream: TcpStream, pool: &Pool) {
    // A client that stalls mid-request gives up its worker after this.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let Some(raw) = respond(&request, pool.route, &pool.tenants, &pool.stop) else {
        return;
    };
    let mut writer = &stream;
    let _ = writer.write_all(&raw);
    let _ = writer.flush();
}

/// The bytes to send for `request`; `None` to send nothing (stopping).
fn respond(
    request: &Request,
    route: Route,
    tenants: &[TenantState],
    stop: &Stop,
) -> Option<Vec<u8>> {
    let (raw_path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let located = match route {
        Route::Single(i) => Some((Some(i), raw_path.to_string())),
        Route::Prefixed => locate_prefixed(raw_path, tenants.len()),
    };
    let reply = match located {
        None => Reply::error(404, "no such tenant"),
        Some((None, path)) if path == "/_fleet/requests" => {
            let total: u64 = tenants
                .iter()
                .map(|t| t.requests.load(Ordering::SeqCst))
                .sum();
            Reply::json(200, json!({ "total": total }))
        }
        Some((None, _)) => Reply::error(404, "no such tenant"),
        Some((Some(i), path)) => {
            let incoming = Incoming {
                method: request.method.clone(),
                path,
                query: query.to_string(),
                authorization: request.header("Authorization"),
                org_id: request.header(ORG_HEADER),
                body: request.body.clone(),
            };
            match serve_tenant(&tenants[i], tenants, &incoming, stop) {
                Some(reply) => reply,
                // Down in the shared-port layout: a reply that is not HTTP,
                // so the client sees a transport error.
                None => return Some(b"down\r\n\r\n".to_vec()),
            }
        }
    };
    if stop.is_stopped() {
        return None;
    }
    let mut raw = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        tiny_http::StatusCode(reply.status).default_reason_phrase(),
        reply.content_type,
        reply.body.len()
    );
    raw.push_str(&reply.body);
    Some(raw.into_bytes())
}

/// `/t/3/workspaces` → tenant 3, `/workspaces`; a path outside `/t/` is
/// for the fleet itself.
pub(super) fn locate_prefixed(path: &str, count: usize) -> Option<(Option<usize>, String)> {
    let Some(rest) = path.strip_prefix("/t/") else {
        return Some((None, path.to_string()));
    };
    let (index, tail) = rest.split_once('/').map_or((rest, ""), |(i, t)| (i, t));
    let index: usize = index.parse().ok().filter(|&i| i < count)?;
    Some((Some(index), format!("/{tail}")))
}
