//! One fake tenant: its state and its answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Fault, Stop, TenantSpec};
use crate::query;

/// What a tenant is now (changed at runtime) and what it stores.
#[derive(Debug)]
pub(super) struct TenantState {
    pub(super) name: String,
    pub(super) token: String,
    pub(super) workspaces: Vec<String>,
    pub(super) live: Mutex<Live>,
    pub(super) requests: AtomicU64,
    pub(super) store: Mutex<Store>,
}

#[derive(Debug)]
pub(super) struct Live {
    pub(super) sha: String,
    pub(super) fault: Fault,
    pub(super) latency: Duration,
}

#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) next_id: u64,
    pub(super) memories: Vec<Memory>,
}

#[derive(Debug, Clone)]
pub(super) struct Memory {
    pub(super) id: String,
    pub(super) workspace_id: Option<String>,
    pub(super) content: String,
    pub(super) scope: String,
    pub(super) namespace: String,
}

impl Memory {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "workspace_id": self.workspace_id,
            "content": self.content,
            "scope": self.scope,
            "namespace": self.namespace,
            "created_at": "2026-01-01T00:00:00Z",
        })
    }
}

impl TenantState {
    pub(super) fn new(spec: TenantSpec) -> TenantState {
        let slug: String = spec
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        TenantState {
            workspaces: vec![format!("ws-{slug}-1"), format!("ws-{slug}-2")],
            name: spec.name,
            token: spec.token,
            live: Mutex::new(Live {
                sha: spec.sha,
                fault: spec.fault,
                latency: spec.latency,
            }),
            requests: AtomicU64::new(0),
            store: Mutex::new(Store::default()),
        }
    }

    pub(super) fn fault(&self) -> Fault {
        self.live.lock().unwrap().fault.clone()
    }
}

/// A response before it is written.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) content_type: &'static str,
    pub(super) body: String,
}

impl Reply {
    pub(super) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub(super) fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, json!({ "error": message }))
    }

    pub(super) fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: String::new(),
        }
    }
}

/// What the handler needs from a request.
pub(super) struct Incoming {
    pub(super) method: String,
    /// The path within the tenant (prefix removed), without the query.
    pub(super) path: String,
    pub(super) query: String,
    pub(super) authorization: Option<String>,
    pub(super) org_id: Option<String>,
    pub(super) body: String,
}

/// The tenant's answer, or `None` for a tenant that is down.
pub(super) fn serve_tenant(
    tenant: &TenantState,
    all: &[TenantState],
    rq: &Incoming,
    stop: &Stop,
) -> Option<Reply> {
    if rq.path == "/_fleet/requests" {
        let total: u64 = all.iter().map(|t| t.requests.load(Ordering::SeqCst)).sum();
        let mine = tenant.requests.load(Ordering::SeqCst);
        return Some(Reply::json(
            200,
            json!({ "requests": mine, "total": total }),
        ));
    }
    tenant.requests.fetch_add(1, Ordering::SeqCst);
    let (sha, fault, latency) = {
        let live = tenant.live.lock().unwrap();
        (live.sha.clone(), live.fault.clone(), live.latency)
    };
    let delay = match &fault {
        Fault::Slow(d) => latency + *d,
        _ => latency,
    };
    if stop.sleep(delay) {
        return Some(Reply::error(503, "fleet stopping"));
    }
    match &fault {
        Fault::Down => return None,
        Fault::HtmlError => {
            return Some(Reply {
                status: 502,
                content_type: "text/html",
                body: "<html><head><title>502 Bad Gateway</title></head><body>\
                       <h1>502 Bad Gateway</h1><p>upstream [workspace-server] unavailable</p>\
                       </body></html>"
                    .to_string(),
            })
        }
        Fault::OrgHeader(org) if rq.path != "/health" && rq.org_id.as_deref() != Some(org) => {
            return Some(Reply::empty(404));
        }
        Fault::NotJson => {
            return Some(Reply {
                status: 200,
                content_type: "text/plain",
                body: "OK [not json] subsystems workspaces id".to_string(),
            })
        }
        Fault::Respond(status, body) if rq.path != "/health" => {
            return Some(Reply {
                status: *status,
                content_type: "text/plain",
                body: body.clone(),
            })
        }
        Fault::Status500(route) if route_matches(route, &rq.path) => {
            return Some(Reply::error(500, "internal"));
        }
        _ => {}
    }
    Some(route_request(tenant, rq, &sha, &fault))
}

/// `/workspaces/{id}/memories` matches `/workspaces/ws-1/memories`.
pub(super) fn route_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}')))
}

pub(super) fn route_request(
    tenant: &TenantState,
    rq: &Incoming,
    sha: &str,
    fault: &Fault,
) -> Reply {
    let segments: Vec<&str> = rq.path.trim_matches('/').split('/').collect();
    let method = rq.method.as_str();
    match (method, segments.as_slice()) {
        // An empty sha is today's workspace-server: no sha on /health and
        // no /buildinfo at all.
        ("GET", ["health"]) if sha.is_empty() => return Reply::json(200, json!({"status": "ok"})),
        ("GET", ["buildinfo"]) if sha.is_empty() => return Reply::error(404, "not found"),
        ("GET", ["health"]) => return Reply::json(200, json!({"status": "ok", "sha": sha})),
        ("GET", ["buildinfo"]) => return Reply::json(200, json!({ "git_sha": sha })),
        _ => {}
    }
    if *fault != Fault::FailOpen {
        match rq
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
        {
            None => return Reply::error(401, "admin auth required"),
            Some(token) if token.trim() != tenant.token => {
                return Reply::error(401, "invalid admin auth token")
            }
            Some(_) => {}
        }
    }
    let lost = *fault == Fault::MemoryLost;
    match (method, segments.as_slice()) {
        ("GET", ["admin", "liveness"]) => Reply::json(
            200,
            json!({"subsystems": {
                "scheduler": {"last_tick_at": "2026-01-01T00:00:00Z", "seconds_ago": 3},
                "event-pump": {"last_tick_at": "2026-01-01T00:00:01Z", "seconds_ago": 2},
            }}),
        ),
        ("GET", ["workspaces"]) => Reply::json(
            200,
            Value::Array(
                tenant
                    .workspaces
                    .iter()
                    .enumerate()
                    .map(|(n, id)| json!({"id": id, "name": format!("canary-{n}"), "status": "online"}))
                    .collect(),
            ),
        ),
        ("GET", ["events"]) => Reply::json(
            200,
            json!([{
                "id": "evt-1",
                "event_type": "workspace.started",
                "workspace_id": tenant.workspaces[0],
                "payload": {},
                "created_at": "2026-01-01T00:00:00Z",
            }]),
        ),
        ("POST", ["memories", "commit"]) => commit(tenant, None, &rq.body),
        ("GET", ["memories", "search"]) => search(tenant, None, query::param(&rq.query, "query"), lost),
        (_, ["workspaces", id, "memories", ..]) if !tenant.workspaces.iter().any(|w| w == id) => {
            Reply::error(404, "workspace not found")
        }
        ("POST", ["workspaces", id, "memories"]) => commit(tenant, Some(id), &rq.body),
        ("GET", ["workspaces", id, "memories"]) => {
            search(tenant, Some(id), query::param(&rq.query, "q"), lost)
        }
        ("DELETE", ["workspaces", id, "memories", memory_id]) => {
            let mut store = tenant.store.lock().unwrap();
            let before = store.memories.len();
            store
                .memories
                .retain(|m| !(m.id == *memory_id && m.workspace_id.as_deref() == Some(*id)));
            if store.memories.len() < before {
                Reply::json(200, json!({"status": "deleted"}))
            } else {
                Reply::error(404, "memory not found")
            }
        }
        _ => Reply::error(404, "not found"),
    }
}

pub(super) fn commit(tenant: &TenantState, workspace: Option<&str>, body: &str) -> Reply {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else {
        return Reply::error(400, "body must be a JSON object");
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_string);
    let Some(content) = text("content").filter(|c| !c.is_empty()) else {
        return Reply::error(400, "content is required");
    };
    let scope = text("scope").unwrap_or_else(|| "LOCAL".to_string());
    if !["LOCAL", "TEAM", "GLOBAL"].contains(&scope.as_str()) {
        return Reply::error(400, "scope must be LOCAL, TEAM or GLOBAL");
    }
    let namespace = text("namespace").unwrap_or_else(|| "default".to_string());
    let mut store = tenant.store.lock().unwrap();
    store.next_id += 1;
    let memory = Memory {
        id: format!("mem-{}", store.next_id),
        workspace_id: workspace.map(str::to_string),
        content,
        scope,
        namespace,
    };
    let reply = json!({"id": memory.id, "scope": memory.scope, "namespace": memory.namespace});
    store.memories.push(memory);
    Reply::json(201, reply)
}

pub(super) fn search(
    tenant: &TenantState,
    workspace: Option<&str>,
    text: Option<String>,
    lost: bool,
) -> Reply {
    let Some(text) = text else {
        return Reply::error(400, "query parameter is required");
    };
    if lost {
        return Reply::json(200, json!([]));
    }
    let store = tenant.store.lock().unwrap();
    let found = store
        .memories
        .iter()
        .filter(|m| workspace.is_none() || m.workspace_id.as_deref() == workspace)
        .filter(|m| m.content.contains(&text))
        .map(Memory::to_json)
        .collect();
    Reply::json(200, Value::Array(found))
}
