//! The fake tenant fleet (see DESIGN.md "Tests and real components").
//!
//! N tenants on loopback, each at its own base URL: either one port per
//! tenant ([`Fleet::start`]) or one port with path-prefixed base URLs such as
//! `http://127.0.0.1:PORT/t/3` ([`Fleet::start_path_prefixed`]). Each tenant
//! serves the response shapes of DESIGN.md "Reference: the tenant API as
//! actually served", both the documented memory routes the default smoke
//! suite uses and the real workspace-scoped ones:
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `GET /health` | none | 200 `{"status":"ok","sha":"<sha>"}` (`{"status":"ok"}` when the sha is empty, as today's server) |
//! | `GET /buildinfo` | none | 200 `{"git_sha":"<sha>"}` (404 when the sha is empty) |
//! | `GET /admin/liveness` | admin | 200 `{"subsystems":{…}}` |
//! | `GET /workspaces` | admin | 200 array of `{id,name,status}` |
//! | `GET /events` | admin | 200 array of `{id,event_type,workspace_id,payload,created_at}` |
//! | `POST /memories/commit` | admin | 201 `{"id","scope","namespace"}` |
//! | `GET /memories/search?query=` | admin | 200 array of memories whose content contains the query |
//! | `POST /workspaces/{id}/memories` | admin | 201 `{"id","scope","namespace"}` |
//! | `GET /workspaces/{id}/memories?q=` | admin | 200 array of that workspace's matching memories |
//! | `DELETE /workspaces/{id}/memories/{memoryId}` | admin | 200 `{"status":"deleted"}` |
//! | `GET /_fleet/requests` | none | `{"requests":n,"total":n}`, not counted |
//!
//! Admin auth: no bearer → 401 `{"error":"admin auth required"}`, a wrong
//! one → 401 `{"error":"invalid admin auth token"}`.
//!
//! Every response carries `Connection: close`, so no client holds a
//! kept-alive connection into a tenant that is later switched to
//! [`Fault::Down`]: while down, its port is closed and connections are
//! refused.

mod server;
mod tenant;
#[cfg(test)]
mod tests;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::TcpListener;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use server::{Route, Running};
use tenant::TenantState;

/// The org id header SaaS tenants require on every path but `/health`.
pub const ORG_HEADER: &str = "X-Molecule-Org-Id";

/// How a tenant misbehaves. Parsed from the `fake-fleet --fault I=MODE`
/// spelling by [`FromStr`]: `ok`, `status500:/route`, `not-json`,
/// `html-error`, `fail-open`, `slow:MS`, `memory-lost`, `down`,
/// `org-header:ORG`, `respond:STATUS:BODY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Serves every route correctly.
    Ok,
    /// 500 `{"error":"internal"}` on one route path (`/workspaces`; a
    /// `{name}` segment matches any segment, as in
    /// `/workspaces/{id}/memories`); every other route is served correctly.
    Status500(String),
    /// 200 with a `text/plain` body that is not JSON but contains `[`, on
    /// every route.
    NotJson,
    /// 502 with an HTML error page whose text contains `[`, on every route.
    HtmlError,
    /// Admin routes answer as if authorised, with or without a bearer.
    FailOpen,
    /// Every response is delayed by this long (on top of the latency).
    Slow(Duration),
    /// Commits succeed, but searches never find anything.
    MemoryLost,
    /// Connection refused (in the path-prefixed layout, where the port is
    /// shared, a reply that is not HTTP, so clients see a transport error).
    Down,
    /// This status and `text/plain` body on every route but `/health`: for
    /// bodies no other fault gives, such as one that tries to inject
    /// `::error::` workflow commands into a log.
    Respond(u16, String),
    /// 404 with an empty body on every path but `/health` unless the
    /// `X-Molecule-Org-Id` header carries this org id; [`Fleet::tenant_lines`]
    /// gives such tenants the header.
    OrgHeader(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Ok => f.write_str("ok"),
            Fault::Status500(route) => write!(f, "status500:{route}"),
            Fault::NotJson => f.write_str("not-json"),
            Fault::HtmlError => f.write_str("html-error"),
            Fault::FailOpen => f.write_str("fail-open"),
            Fault::Slow(d) => write!(f, "slow:{}", d.as_millis()),
            Fault::MemoryLost => f.write_str("memory-lost"),
            Fault::Down => f.write_str("down"),
            Fault::OrgHeader(org) => write!(f, "org-header:{org}"),
            Fault::Respond(status, body) => write!(f, "respond:{status}:{body}"),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (mode, arg) = match s.split_once(':') {
            Some((mode, arg)) => (mode, Some(arg)),
            None => (s, None),
        };
        let needs = |what: &str| format!("fault {mode:?} needs {what}, like {mode}:{what}");
        Ok(match (mode, arg) {
            ("ok", None) => Fault::Ok,
            ("not-json", None) => Fault::NotJson,
            ("html-error", None) => Fault::HtmlError,
            ("fail-open", None) => Fault::FailOpen,
            ("memory-lost", None) => Fault::MemoryLost,
            ("down", None) => Fault::Down,
            ("status500", Some(route)) if route.starts_with('/') => {
                Fault::Status500(route.to_string())
            }
            ("status500", _) => return Err(needs("/ROUTE")),
            ("slow", Some(ms)) => Fault::Slow(Duration::from_millis(
                ms.parse().map_err(|_| needs("MILLISECONDS"))?,
            )),
            ("slow", None) => return Err(needs("MILLISECONDS")),
            ("org-header", Some(org)) if !org.is_empty() => Fault::OrgHeader(org.to_string()),
            ("org-header", _) => return Err(needs("ORG")),
            ("respond", Some(rest)) => {
                let (status, body) = rest.split_once(':').unwrap_or((rest, ""));
                match status.parse() {
                    Ok(status @ 100..=599) => Fault::Respond(status, body.to_string()),
                    _ => return Err(needs("STATUS:BODY")),
                }
            }
            ("respond", None) => return Err(needs("STATUS:BODY")),
            _ => {
                return Err(format!(
                    "unknown fault {s:?}: expected ok, status500:/ROUTE, not-json, html-error, \
                     fail-open, slow:MS, memory-lost, down, org-header:ORG or respond:STATUS:BODY"
                ))
            }
        })
    }
}

/// One tenant to serve.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub name: String,
    pub token: String,
    /// The build sha `/health` and `/buildinfo` report; empty for a tenant
    /// that serves none (no sha on `/health`, no `/buildinfo`).
    pub sha: String,
    pub fault: Fault,
    /// Added to every request.
    pub latency: Duration,
}

impl TenantSpec {
    /// A tenant that serves every route correctly, with a token unique to
    /// this process and call, sha `0000000` and no added latency.
    pub fn healthy(name: &str) -> TenantSpec {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let random = RandomState::new().build_hasher().finish();
        TenantSpec {
            name: name.to_string(),
            token: format!("tok-{}-{random:016x}", NEXT.fetch_add(1, Ordering::Relaxed)),
            sha: "0000000".to_string(),
            fault: Fault::Ok,
            latency: Duration::ZERO,
        }
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    pub fn with_sha(mut self, sha: &str) -> Self {
        self.sha = sha.to_string();
        self
    }

    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// A running fleet. Dropping it stops every server and its threads
/// (request handlers asleep in a delay are woken).
#[derive(Debug)]
pub struct Fleet {
    tenants: Arc<Vec<TenantState>>,
    layout: Layout,
}

#[derive(Debug)]
enum Layout {
    /// One port per tenant; `None` while the tenant is down.
    PortPerTenant(Vec<(u16, Mutex<Option<Running>>)>),
    PathPrefixed(Running),
}

impl Fleet {
    /// One loopback port per tenant.
    pub fn start(specs: Vec<TenantSpec>) -> io::Result<Fleet> {
        let tenants = Arc::new(specs.into_iter().map(TenantState::new).collect::<Vec<_>>());
        let mut servers = Vec::with_capacity(tenants.len());
        for (i, tenant) in tenants.iter().enumerate() {
            let (port, running) = if tenant.fault() == Fault::Down {
                (free_port()?, None)
            } else {
                let running = Running::serve(0, Route::Single(i), tenants.clone())?;
                (running.port, Some(running))
            };
            servers.push((port, Mutex::new(running)));
        }
        Ok(Fleet {
            tenants,
            layout: Layout::PortPerTenant(servers),
        })
    }

    /// One loopback port for all; tenant `i` at `http://127.0.0.1:PORT/t/<i>`.
    pub fn start_path_prefixed(specs: Vec<TenantSpec>) -> io::Result<Fleet> {
        let tenants = Arc::new(specs.into_iter().map(TenantState::new).collect::<Vec<_>>());
        let running = Running::serve(0, Route::Prefixed, tenants.clone())?;
        Ok(Fleet {
            tenants,
            layout: Layout::PathPrefixed(running),
        })
    }

    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// Tenant `i`'s base URL, without a trailing slash.
    pub fn url(&self, i: usize) -> String {
        match &self.layout {
            Layout::PortPerTenant(servers) => format!("http://127.0.0.1:{}", servers[i].0),
            Layout::PathPrefixed(running) => {
                assert!(i < self.tenants.len(), "no tenant {i}");
                format!("http://127.0.0.1:{}/t/{i}", running.port)
            }
        }
    }

    pub fn name(&self, i: usize) -> String {
        self.tenants[i].name.clone()
    }

    pub fn token(&self, i: usize) -> String {
        self.tenants[i].token.clone()
    }

    /// One tenant JSON line per tenant, each ending in `\n`:
    /// `{"name","url","token"}`, plus `"headers":{"X-Molecule-Org-Id":ORG}`
    /// for a tenant whose fault is [`Fault::OrgHeader`].
    pub fn tenant_lines(&self) -> String {
        (0..self.len())
            .map(|i| self.tenant_line(i) + "\n")
            .collect()
    }

    /// Tenant `i`'s JSON line, without the newline.
    pub fn tenant_line(&self, i: usize) -> String {
        let tenant = &self.tenants[i];
        let text = |s: &str| serde_json::Value::from(s).to_string();
        let mut line = format!(
            r#"{{"name":{},"url":{},"token":{}"#,
            text(&tenant.name),
            text(&self.url(i)),
            text(&tenant.token)
        );
        if let Fault::OrgHeader(org) = tenant.fault() {
            line += &format!(r#","headers":{{{}:{}}}"#, text(ORG_HEADER), text(&org));
        }
        line + "}"
    }

    /// Changes the sha `/health` and `/buildinfo` report, from the next request.
    pub fn set_sha(&self, i: usize, sha: &str) {
        self.tenants[i].live.lock().unwrap().sha = sha.to_string();
    }

    /// Changes tenant `i`'s fault from the next request. In the port-per-tenant
    /// layout, switching to [`Fault::Down`] closes the tenant's port and
    /// switching away reopens the same port.
    pub fn set_fault(&self, i: usize, fault: Fault) {
        let going_down = fault == Fault::Down;
        self.tenants[i].live.lock().unwrap().fault = fault;
        let Layout::PortPerTenant(servers) = &self.layout else {
            return;
        };
        let (port, slot) = &servers[i];
        let mut slot = slot.lock().unwrap();
        if going_down {
            // Dropping the server closes the port.
            *slot = None;
        } else if slot.is_none() {
            *slot = Some(reopen(*port, i, self.tenants.clone()));
        }
    }

    pub fn set_latency(&self, i: usize, latency: Duration) {
        self.tenants[i].live.lock().unwrap().latency = latency;
    }

    /// Requests tenant `i` has received (the `/_fleet/` routes not counted).
    pub fn requests(&self, i: usize) -> u64 {
        self.tenants[i].requests.load(Ordering::SeqCst)
    }

    pub fn total_requests(&self) -> u64 {
        (0..self.len()).map(|i| self.requests(i)).sum()
    }

    /// The contents of the memories tenant `i` currently holds, in commit order.
    pub fn memories(&self, i: usize) -> Vec<String> {
        let store = self.tenants[i].store.lock().unwrap();
        store.memories.iter().map(|m| m.content.clone()).collect()
    }

    /// The workspace ids `GET /workspaces` lists for tenant `i`.
    pub fn workspace_ids(&self, i: usize) -> Vec<String> {
        self.tenants[i].workspaces.clone()
    }
}

/// A stop signal shared by a server's dispatcher and its request handlers;
/// it wakes handlers asleep in a delay at once.
#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    fn set(&self) {
        *self.stopped.lock().unwrap() = true;
        self.wake.notify_all();
    }

    fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap()
    }

    /// Sleeps for `d` unless stopped first; true if stopped.
    fn sleep(&self, d: Duration) -> bool {
        if d.is_zero() {
            return self.is_stopped();
        }
        let guard = self.stopped.lock().unwrap();
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap();
        *guard
    }
}

/// Binds the port a tenant had before it went down. The kernel may keep it
/// briefly; a port taken by someone else is a broken test environment.
fn reopen(port: u16, tenant: usize, tenants: Arc<Vec<TenantState>>) -> Running {
    let mut last = None;
    for _ in 0..100 {
        match Running::serve(port, Route::Single(tenant), tenants.clone()) {
            Ok(running) => return running,
            Err(e) => last = Some(e),
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("fake fleet: cannot reopen 127.0.0.1:{port} for tenant {tenant}: {last:?}");
}

/// A loopback port that was free a moment ago, for a tenant that starts down.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
