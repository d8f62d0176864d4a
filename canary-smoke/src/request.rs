//! Sending one check's request to one tenant: placeholders filled, the
//! tenant's headers and bearer attached, redirects followed by hand so that
//! nothing the tenant supplied (its token, its `headers`) reaches another
//! host, connection errors retried with backoff when `--retries` asks.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use common::http::{Backoff, Failure};
use common::Tenant;
use ureq::http::{self, Uri};

use crate::suite::{fill, fill_json, Check};

/// Redirects followed before a check fails.
const MAX_REDIRECTS: u32 = 5;

/// A response, whatever its status.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    /// The body, or empty when it was larger than the limit.
    pub body: String,
    /// `Some(limit)` when the body was larger than `limit` bytes.
    pub too_large: Option<u64>,
    pub ms: u64,
}

/// No response: the tenant could not be reached or did not answer in time.
#[derive(Debug)]
pub struct Unreachable {
    /// `connection refused`, `no answer within 20s`, …
    pub message: String,
    pub ms: u64,
}

/// What was sent, for failing records and traces.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    /// The first URL (before any redirect), in full.
    pub url: String,
}

/// How requests are sent: the agent, per-request limit, retries, body limit.
#[derive(Debug)]
pub struct Requester {
    pub agent: ureq::Agent,
    /// The whole budget of one request, redirects included.
    pub timeout: Duration,
    /// Extra attempts after a connection error (never after a timeout or a
    /// response of any status).
    pub retries: u32,
    /// Longest body read, unless a check sets its own `max_body`.
    pub max_body: u64,
    /// `--timeout`: no request outlives the run's deadline.
    pub deadline: Option<Instant>,
}

impl Requester {
    /// True once the run's `--timeout` has passed.
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// What the check will send to this tenant, with `vars` filled in.
    pub fn describe(
        &self,
        tenant: &Tenant,
        check: &Check,
        vars: &BTreeMap<String, String>,
    ) -> Sent {
        Sent {
            method: check.method.clone(),
            url: tenant.endpoint(&fill(&check.path, vars, true)),
        }
    }

    /// Sends the check's request with placeholders filled from `vars`.
    pub fn send(
        &self,
        tenant: &Tenant,
        check: &Check,
        vars: &BTreeMap<String, String>,
    ) -> Result<Exchange, Unreachable> {
        let started = Instant::now();
        let ms = || started.elapsed().as_millis() as u64;
        let sent = self.describe(tenant, check, vars);
        let body = check.body.as_ref().map(|b| fill_json(b, vars).to_string());
        let limit = check.max_body.unwrap_or(self.max_body);
        let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
        let mut attempt = 0;
        loop {
            match self.attempt(tenant, check, &sent, body.as_deref(), limit, attempt) {
                Ok((status, body, too_large)) => {
                    return Ok(Exchange {
                        status,
                        body,
                        too_large,
                        ms: ms(),
                    })
                }
                // A timeout is not retried: a slow tenant would only be
                // waited for again.
                Err(Attempt::Transport(failure))
                    if failure.is_retryable()
                        && !failure.is_timeout()
                        && attempt < self.retries =>
                {
                    thread::sleep(backoff.delay(attempt, None));
                    attempt += 1;
                }
                Err(failure) => {
                    let message = failure.to_string();
                    let message = if attempt > 0 {
                        format!("{message} (after {} attempts)", attempt + 1)
                    } else {
                        message
                    };
                    return Err(Unreachable { message, ms: ms() });
                }
            }
        }
    }

    /// One attempt: the request and any redirects, within one `timeout`.
    fn attempt(
        &self,
        tenant: &Tenant,
        check: &Check,
        sent: &Sent,
        body: Option<&str>,
        limit: u64,
        attempt: u32,
    ) -> Result<(u16, String, Option<u64>), Attempt> {
        let started = Instant::now();
        let first: Uri = sent.url.parse().map_err(|e| {
            Attempt::Other(format!("cannot build the request for {}: {e}", sent.url))
        })?;
        let mut uri = first.clone();
        let mut method = sent.method.clone();
        let mut body = body.map(str::to_string);
        let mut hops = 0;
        loop {
            let mut remaining = self.timeout.saturating_sub(started.elapsed());
            if let Some(deadline) = self.deadline {
                remaining = remaining.min(deadline.saturating_duration_since(Instant::now()));
            }
            if remaining.is_zero() {
                return Err(Attempt::Other(format!(
                    "no answer within {} (--request-timeout)",
                    common::duration::human(self.timeout)
                )));
            }
            // Only the tenant's own origin gets what the tenant supplied.
            let trusted = same_origin(&uri, &first).then_some((tenant, check.auth));
            let hop = Hop {
                method: &method,
                uri: &uri,
                trusted,
                body: body.as_deref(),
                attempt,
            };
            let response = self.hop(hop, remaining);
            let failure =
                |e: &ureq::Error| Attempt::Transport(Failure::from(e).with_limit(self.timeout));
            let mut response = response.map_err(|e| failure(&e))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            if let (true, Some(location)) = ((300..400).contains(&status), location) {
                if hops == MAX_REDIRECTS {
                    return Err(Attempt::Other(format!(
                        "more than {MAX_REDIRECTS} redirects (last to {location})"
                    )));
                }
                hops += 1;
                uri = resolve(&uri, &location).ok_or_else(|| {
                    Attempt::Other(format!(
                        "status {status} redirects to {location:?}, not a URL"
                    ))
                })?;
                // As browsers and curl do: 303 (and 301/302 after a POST)
                // become a GET without a body; 307/308 repeat the request.
                if status == 303 || (matches!(status, 301 | 302) && method == "POST") {
                    if method != "HEAD" {
                        method = "GET".into();
                    }
                    body = None;
                }
                continue;
            }
            let read = response.body_mut().with_config().limit(limit).read_to_vec();
            return match read {
                Ok(bytes) => Ok((status, String::from_utf8_lossy(&bytes).into_owned(), None)),
                Err(ureq::Error::BodyExceedsLimit(_)) => Ok((status, String::new(), Some(limit))),
                Err(e) => Err(failure(&e)),
            };
        }
    }
}

/// One request of an attempt (the first, or one after a redirect).
#[derive(Debug)]
struct Hop<'a> {
    method: &'a str,
    uri: &'a Uri,
    /// The tenant, and whether to send its bearer, when `uri` is on its
    /// own origin; `None` elsewhere, where neither its token nor its
    /// `headers` go.
    trusted: Option<(&'a Tenant, bool)>,
    body: Option<&'a str>,
    attempt: u32,
}

impl Requester {
    /// Sends one hop, following no redirect, within `limit`.
    fn hop(
        &self,
        hop: Hop<'_>,
        limit: Duration,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let mut request = http::Request::builder()
            .method(hop.method)
            .uri(hop.uri.clone())
            .header("Accept", "application/json")
            .extension(common::trace::Attempt(hop.attempt));
        if let Some((tenant, auth)) = hop.trusted {
            for (name, value) in tenant.extra_headers() {
                request = request.header(name, value);
            }
            if auth {
                request =
                    request.header("Authorization", format!("Bearer {}", tenant.token.expose()));
            }
        }
        let bad = |e: http::Error| ureq::Error::BadUri(e.to_string());
        match hop.body {
            Some(body) => {
                let request = request.header("Content-Type", "application/json");
                self.run(request.body(body.to_string()).map_err(bad)?, limit)
            }
            None => self.run(request.body(()).map_err(bad)?, limit),
        }
    }

    fn run<B: ureq::AsSendBody>(
        &self,
        request: http::Request<B>,
        limit: Duration,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let request = self
            .agent
            .configure_request(request)
            .max_redirects(0)
            .timeout_global(Some(limit))
            .build();
        self.agent.run(request)
    }
}

/// Why an attempt got no usable answer.
#[derive(Debug)]
enum Attempt {
    Transport(Failure),
    Other(String),
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Transport(failure) => failure.fmt(f),
            Attempt::Other(message) => f.write_str(message),
        }
    }
}

/// Scheme, host and port all equal (a port left out is the scheme's).
fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().unwrap_or(match u.scheme_str() {
            Some("https") => 443,
            _ => 80,
        })
    };
    a.scheme_str() == b.scheme_str()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// A `Location` value resolved against the URL that answered with it.
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    if location.contains("://") {
        return location.parse().ok();
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let target = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    target.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = uri("http://127.0.0.1:80/a");
        assert!(same_origin(&a, &uri("http://127.0.0.1/b")));
        assert!(!same_origin(&a, &uri("http://localhost:80/a")));
        assert!(!same_origin(&a, &uri("https://127.0.0.1:80/a")));
        assert!(!same_origin(&a, &uri("http://127.0.0.1:81/a")));
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = uri("http://h:1/t/3/admin/liveness?x=1");
        let r = |l: &str| resolve(&base, l).unwrap().to_string();
        assert_eq!(r("https://o.example/x"), "https://o.example/x");
        assert_eq!(r("//o.example/x"), "http://o.example/x");
        assert_eq!(r("/root"), "http://h:1/root");
        assert_eq!(r("other?y=2"), "http://h:1/t/3/admin/other?y=2");
    }
}
