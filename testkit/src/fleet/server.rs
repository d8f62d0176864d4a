//! Listening sockets, request workers, and writing replies.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use serde_json::json;

use super::tenant::{serve_tenant, Incoming, Reply, TenantState};
use super::{Stop, ORG_HEADER};

/// Which tenant a server's requests are for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Route {
    Single(usize),
    Prefixed,
}

/// One listening server. Worker threads take requests from tiny_http and
/// answer them; a worker that takes a request while no other is idle starts
/// another first, so a slow (delayed) request never holds up the next one,
/// and no thread is started per request once the pool has grown to the
/// server's peak concurrency.
pub(super) struct Running {
    pub(super) port: u16,
    pool: Arc<Pool>,
}

/// What a server's workers share.
struct Pool {
    server: tiny_http::Server,
    stop: Stop,
    route: Route,
    tenants: Arc<Vec<TenantState>>,
    /// Workers waiting for a request.
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
        let server = tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?;
        let pool = Arc::new(Pool {
            server,
            stop: Stop::default(),
            route,
            tenants,
            idle: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
        });
        add_worker(&pool, port)?;
        Ok(Running { port, pool })
    }
}

/// Starts one more worker, unless the server is stopping.
fn add_worker(pool: &Arc<Pool>, port: u16) -> io::Result<()> {
    let mut workers = pool.workers.lock().unwrap();
    if pool.stop.is_stopped() {
        return Ok(());
    }
    pool.idle.fetch_add(1, Ordering::SeqCst);
    let shared = pool.clone();
    match thread::Builder::new()
        .name(format!("fleet-{port}"))
        .spawn(move || work(&shared, port))
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

fn work(pool: &Arc<Pool>, port: u16) {
    loop {
        let request = match pool.server.recv() {
            Ok(request) => request,
            Err(_) if pool.stop.is_stopped() => return,
            Err(_) => continue,
        };
        if pool.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last idle worker: keep one waiting for the next request.
            // (A worker that cannot be started only costs concurrency.)
            let _ = add_worker(pool, port);
        }
        if !pool.stop.is_stopped() {
            handle(request, pool.route, &pool.tenants, &pool.stop);
        }
        pool.idle.fetch_add(1, Ordering::SeqCst);
    }
}

/// Stops the workers (waking any asleep in a delay); the port closes when
/// the `Server` goes with the pool.
impl Drop for Running {
    fn drop(&mut self) {
        self.pool.stop.set();
        // No worker is added once stopped, so this is every one of them;
        // each wakes from one unblock, sees the stop and ends.
        let workers = std::mem::take(&mut *self.pool.workers.lock().unwrap());
        for _ in &workers {
            self.pool.server.unblock();
        }
        for worker in workers {
            let _ = worker.join();
        }
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

pub(super) fn handle(
    mut request: tiny_http::Request,
    route: Route,
    tenants: &[TenantState],
    stop: &Stop,
) {
    let url = request.url().to_string();
    let (raw_path, query) = url.split_once('?').unwrap_or((&url, ""));
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (authorization, org_id) = (header("Authorization"), header(ORG_HEADER));
    let mut body = String::new();
    let _ = request.as_reader().take(1 << 20).read_to_string(&mut body);

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
                method: request.method().as_str().to_string(),
                path,
                query: query.to_string(),
                authorization,
                org_id,
                body,
            };
            match serve_tenant(&tenants[i], tenants, &incoming, stop) {
                Some(reply) => reply,
                None => {
                    // Down in the shared-port layout: a reply that is not
                    // HTTP, so the client sees a transport error.
                    let mut writer = request.into_writer();
                    let _ = writer.write_all(b"down\r\n\r\n");
                    let _ = writer.flush();
                    return;
                }
            }
        }
    };
    if stop.is_stopped() {
        return;
    }
    let mut raw = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        tiny_http::StatusCode(reply.status).default_reason_phrase(),
        reply.content_type,
        reply.body.len()
    );
    raw.push_str(&reply.body);
    let mut writer = request.into_writer();
    let _ = writer.write_all(raw.as_bytes());
    let _ = writer.flush();
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
