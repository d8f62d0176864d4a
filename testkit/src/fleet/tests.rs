//! The fleet over real HTTP, as the tools see it.

use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::fleet::server::{listen, locate_prefixed};
use crate::fleet::tenant::route_matches;

#[test]
fn faults_round_trip_through_their_spelling() {
    for fault in [
        Fault::Ok,
        Fault::Status500("/workspaces".into()),
        Fault::NotJson,
        Fault::HtmlError,
        Fault::FailOpen,
        Fault::Slow(Duration::from_millis(1500)),
        Fault::MemoryLost,
        Fault::Down,
        Fault::OrgHeader("org-1".into()),
        Fault::Respond(418, "tea: [x]".into()),
    ] {
        assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
    }
    for bad in [
        "slow",
        "slow:x",
        "status500",
        "status500:workspaces",
        "org-header",
        "respond:abc",
        "nope",
    ] {
        assert!(bad.parse::<Fault>().is_err(), "{bad}");
    }
}

#[test]
fn routes_and_prefixes() {
    assert!(route_matches(
        "/workspaces/{id}/memories",
        "/workspaces/ws-1/memories"
    ));
    assert!(!route_matches("/workspaces", "/workspaces/ws-1/memories"));
    assert_eq!(
        locate_prefixed("/t/2/memories/search", 3),
        Some((Some(2), "/memories/search".to_string()))
    );
    assert_eq!(locate_prefixed("/t/3/health", 3), None);
    assert_eq!(
        locate_prefixed("/_fleet/requests", 3),
        Some((None, "/_fleet/requests".into()))
    );
}

/// More connections than std's backlog of 128 arrive at once, none accepted
/// yet: each completes its handshake at once instead of waiting for a SYN
/// retry (which would time out here, since nothing accepts). Accepted
/// sockets inherit `TCP_NODELAY`.
#[test]
fn listeners_take_a_burst_of_connections_and_never_delay_replies() {
    let listener = listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let burst = somaxconn.min(300);
    let clients: Vec<_> = (0..burst)
        .map(|i| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
                .unwrap_or_else(|e| panic!("connection {i} of {burst} not taken: {e}"))
        })
        .collect();
    let (accepted, _) = listener.accept().unwrap();
    assert!(accepted.nodelay().unwrap(), "TCP_NODELAY not inherited");
    drop(clients);
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, body) of a request to tenant `i`, with its bearer when `auth`.
fn call(
    fleet: &Fleet,
    i: usize,
    method: &str,
    path: &str,
    auth: bool,
    body: Option<&str>,
) -> (u16, String) {
    let url = format!("{}{path}", fleet.url(i));
    let bearer = format!("Bearer {}", fleet.token(i));
    let agent = agent();
    let result = match (method, body) {
        ("GET", _) => {
            let rq = agent.get(&url);
            let rq = if auth {
                rq.header("Authorization", &bearer)
            } else {
                rq
            };
            rq.call()
        }
        ("DELETE", _) => {
            let rq = agent.delete(&url);
            let rq = if auth {
                rq.header("Authorization", &bearer)
            } else {
                rq
            };
            rq.call()
        }
        (_, body) => {
            let rq = agent.post(&url).header("Content-Type", "application/json");
            let rq = if auth {
                rq.header("Authorization", &bearer)
            } else {
                rq
            };
            rq.send(body.unwrap_or(""))
        }
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"))
}

#[test]
fn a_healthy_tenant_serves_every_route() {
    let fleet = Fleet::start(vec![TenantSpec::healthy("a").with_sha("abc1234")]).unwrap();
    assert_eq!(
        json_of(&call(&fleet, 0, "GET", "/health", false, None).1)["sha"],
        "abc1234"
    );
    assert_eq!(
        json_of(&call(&fleet, 0, "GET", "/buildinfo", false, None).1)["git_sha"],
        "abc1234"
    );
    let (status, body) = call(&fleet, 0, "GET", "/admin/liveness", false, None);
    assert_eq!(
        (status, json_of(&body)["error"].as_str()),
        (401, Some("admin auth required"))
    );
    let (status, body) = call(&fleet, 0, "GET", "/admin/liveness", true, None);
    assert_eq!(status, 200);
    assert!(json_of(&body)["subsystems"].is_object());
    assert!(json_of(&call(&fleet, 0, "GET", "/events", true, None).1).is_array());
    let workspaces = json_of(&call(&fleet, 0, "GET", "/workspaces", true, None).1);
    let ws = workspaces[0]["id"].as_str().unwrap().to_string();

    let (status, body) = call(
        &fleet,
        0,
        "POST",
        "/memories/commit",
        true,
        Some(r#"{"scope":"LOCAL","namespace":"n","content":"probe-1"}"#),
    );
    assert_eq!(status, 201);
    assert!(json_of(&body)["id"].is_string());
    let found = json_of(
        &call(
            &fleet,
            0,
            "GET",
            "/memories/search?query=probe-1",
            true,
            None,
        )
        .1,
    );
    assert_eq!(found[0]["content"], "probe-1");

    let path = format!("/workspaces/{ws}/memories");
    let (status, body) = call(
        &fleet,
        0,
        "POST",
        &path,
        true,
        Some(r#"{"scope":"TEAM","content":"probe-2"}"#),
    );
    assert_eq!(status, 201);
    let id = json_of(&body)["id"].as_str().unwrap().to_string();
    let found = json_of(&call(&fleet, 0, "GET", &format!("{path}?q=probe-2"), true, None).1);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(fleet.memories(0), ["probe-1", "probe-2"]);
    let (status, body) = call(&fleet, 0, "DELETE", &format!("{path}/{id}"), true, None);
    assert_eq!(
        (status, json_of(&body)["status"].as_str()),
        (200, Some("deleted"))
    );
    assert_eq!(fleet.memories(0), ["probe-1"]);
    assert_eq!(fleet.requests(0), 11);
}

#[test]
fn faults_change_answers_at_runtime() {
    let fleet = Fleet::start(vec![TenantSpec::healthy("a"), TenantSpec::healthy("b")]).unwrap();
    let wrong = {
        let url = format!("{}/workspaces", fleet.url(0));
        agent()
            .get(&url)
            .header("Authorization", "Bearer nope")
            .call()
            .unwrap()
    };
    assert_eq!(wrong.status().as_u16(), 401);

    fleet.set_fault(0, Fault::FailOpen);
    assert_eq!(
        call(&fleet, 0, "GET", "/admin/liveness", false, None).0,
        200
    );
    fleet.set_fault(0, Fault::HtmlError);
    let (status, body) = call(&fleet, 0, "GET", "/workspaces", true, None);
    assert!(
        status == 502 && body.contains('[') && body.contains("<html>"),
        "{body}"
    );
    fleet.set_fault(0, Fault::NotJson);
    let (status, body) = call(&fleet, 0, "GET", "/workspaces", true, None);
    assert!(status == 200 && body.contains('[') && serde_json::from_str::<Value>(&body).is_err());
    fleet.set_fault(0, Fault::Status500("/events".into()));
    assert_eq!(call(&fleet, 0, "GET", "/events", true, None).0, 500);
    assert_eq!(call(&fleet, 0, "GET", "/workspaces", true, None).0, 200);
    fleet.set_fault(0, Fault::MemoryLost);
    call(
        &fleet,
        0,
        "POST",
        "/memories/commit",
        true,
        Some(r#"{"content":"p"}"#),
    );
    assert_eq!(
        call(&fleet, 0, "GET", "/memories/search?query=p", true, None).1,
        "[]"
    );
    fleet.set_fault(0, Fault::OrgHeader("org-7".into()));
    assert_eq!(
        call(&fleet, 0, "GET", "/workspaces", true, None),
        (404, String::new())
    );
    assert_eq!(call(&fleet, 0, "GET", "/health", false, None).0, 200);
    assert!(fleet
        .tenant_lines()
        .lines()
        .next()
        .unwrap()
        .contains(r#""X-Molecule-Org-Id":"org-7""#));
    let with_org = agent()
        .get(&format!("{}/workspaces", fleet.url(0)))
        .header("Authorization", &format!("Bearer {}", fleet.token(0)))
        .header(ORG_HEADER, "org-7")
        .call()
        .unwrap();
    assert_eq!(with_org.status().as_u16(), 200);

    fleet.set_fault(0, Fault::Down);
    let refused = agent().get(&format!("{}/health", fleet.url(0))).call();
    assert!(refused.is_err(), "a down tenant refuses connections");
    assert_eq!(
        call(&fleet, 1, "GET", "/health", false, None).0,
        200,
        "others stay up"
    );
    fleet.set_fault(0, Fault::Ok);
    fleet.set_sha(0, "fedcba9");
    assert_eq!(
        json_of(&call(&fleet, 0, "GET", "/health", false, None).1)["sha"],
        "fedcba9"
    );
}

#[test]
fn path_prefixed_tenants_share_one_port() {
    let specs = vec![
        TenantSpec::healthy("a"),
        TenantSpec::healthy("b").with_fault(Fault::Down),
    ];
    let fleet = Fleet::start_path_prefixed(specs).unwrap();
    assert!(fleet.url(1).ends_with("/t/1"));
    assert_eq!(call(&fleet, 0, "GET", "/workspaces", true, None).0, 200);
    let other_token = agent()
        .get(&format!("{}/workspaces", fleet.url(0)))
        .header("Authorization", &format!("Bearer {}", fleet.token(1)))
        .call()
        .unwrap();
    assert_eq!(other_token.status().as_u16(), 401, "tokens are per tenant");
    assert!(agent()
        .get(&format!("{}/health", fleet.url(1)))
        .call()
        .is_err());
    let counter = fleet.url(0) + "/_fleet/requests";
    let counted = agent()
        .get(&counter)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(json_of(&counted)["requests"], 2);
    assert_eq!(fleet.total_requests(), 3);
}

/// Waits (bounded) until `done()`; fails naming `what` otherwise.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A burst of requests into one server, each held by a long delay: all of
/// them reach the tenant at once (its request counter goes up before the
/// delay), so a delayed request never holds up the next one. Serialised, the
/// counter would stop at one; tiny_http's connection pool stopped it at four.
#[test]
fn delayed_requests_are_served_concurrently() {
    for (layout, fleet) in [
        ("port per tenant", Fleet::start(vec![held()]).unwrap()),
        (
            "path-prefixed",
            Fleet::start_path_prefixed(vec![held()]).unwrap(),
        ),
    ] {
        let url = fleet.url(0) + "/health";
        let clients: Vec<_> = (0..12)
            .map(|_| {
                let url = url.clone();
                // No client gives up before the wait below does: a request
                // queued behind a held one would be read once it gave up.
                let patient: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build()
                    .into();
                thread::spawn(move || patient.get(&url).call().map(|r| r.status().as_u16()))
            })
            .collect();
        wait_until(&format!("12 requests in flight ({layout})"), || {
            fleet.requests(0) == 12
        });
        drop(fleet);
        for client in clients {
            assert_ne!(client.join().unwrap().ok(), Some(200), "{layout}");
        }
    }
}

fn held() -> TenantSpec {
    TenantSpec::healthy("held").with_latency(Duration::from_secs(60))
}

#[test]
fn dropping_the_fleet_does_not_wait_for_slow_requests() {
    let spec = TenantSpec::healthy("slow").with_fault(Fault::Slow(Duration::from_secs(30)));
    let fleet = Fleet::start(vec![spec]).unwrap();
    let url = fleet.url(0) + "/health";
    let client = thread::spawn(move || agent().get(&url).call().map(|r| r.status().as_u16()));
    wait_until("the request reached the tenant", || fleet.requests(0) == 1);
    let started = std::time::Instant::now();
    drop(fleet);
    // The handler sleeps 30 s unless the drop wakes it.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_ne!(client.join().unwrap().ok(), Some(200));
}
