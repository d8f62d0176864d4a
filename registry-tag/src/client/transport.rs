//! One request on the wire: a [`Request`] value built into an
//! `http::Request`, sent with the agent, retried with backoff where that is
//! safe, its reply read within a limit, and the words for what went wrong.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::ci::neutralize;
use common::Secret;
use ureq::http::{HeaderMap, Method, Response};

use crate::Error;

/// Limits on retrying 408/429/500/502/503/504 and dropped connections.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// First backoff; doubled after each retry.
    pub backoff: Duration,
    /// No retry starts once this much time has gone by since the first attempt.
    pub budget: Duration,
    /// A longer `Retry-After` than this is not waited for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(250),
            budget: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// One request to a registry or its token service, and what to call it in
/// errors.
#[derive(Debug, Clone)]
pub(super) struct Request<'a> {
    method: Method,
    url: String,
    /// `host[:port]` named in errors.
    host: &'a str,
    /// What the request is for, named in errors (`GET org/app`, `ping`).
    context: String,
    headers: Vec<(&'static str, String)>,
    authorization: Option<Secret>,
    body: Option<&'a [u8]>,
    /// Longest response body read.
    limit: u64,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, url: String, host: &'a str, context: impl Into<String>) -> Self {
        Request {
            method,
            url,
            host,
            context: context.into(),
            headers: Vec::new(),
            authorization: None,
            body: None,
            limit: 64 << 10,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn authorization(mut self, value: Option<Secret>) -> Self {
        self.authorization = value;
        self
    }

    pub fn body(mut self, bytes: &'a [u8]) -> Self {
        self.body = Some(bytes);
        self
    }

    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    fn http(&self) -> ureq::http::request::Builder {
        let mut builder = ureq::http::Request::builder()
            .method(self.method.clone())
            .uri(&self.url);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        if let Some(auth) = &self.authorization {
            builder = builder.header("Authorization", auth.expose());
        }
        builder
    }

    fn transport_error(&self, detail: String) -> Error {
        Error::Transport {
            registry: self.host.to_string(),
            context: self.context.clone(),
            detail,
        }
    }
}

/// One response, its body read (within the request's limit).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Content-Type` without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type")
            .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
    }

    /// A registry error body (`{"errors":[{"code","message"}]}`) or the
    /// status and a short, neutralised excerpt of the body.
    pub fn describe(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<ErrorItem>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorItem {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        if let Ok(parsed) = serde_json::from_slice::<Errors>(&self.body) {
            if !parsed.errors.is_empty() {
                let parts: Vec<String> = parsed
                    .errors
                    .iter()
                    .map(|e| neutralize(&format!("{} ({})", e.message, e.code), 200))
                    .collect();
                return format!("HTTP {}: {}", self.status, parts.join("; "));
            }
        }
        let text = String::from_utf8_lossy(&self.body);
        if text.trim().is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {}", self.status, neutralize(text.trim(), 200))
        }
    }

    /// An unexpected status as an error: `registry: action what: HTTP …`.
    pub fn error(&self, registry: &str, context: String) -> Error {
        Error::Registry {
            registry: registry.to_string(),
            context,
            detail: self.describe(),
        }
    }
}

/// The agent, the retry policy and a count of every request sent.
#[derive(Debug)]
pub(super) struct Transport {
    agent: ureq::Agent,
    retry: RetryPolicy,
    requests: AtomicU64,
}

impl Transport {
    pub fn new(agent: ureq::Agent, retry: RetryPolicy) -> Transport {
        Transport {
            agent,
            retry,
            requests: AtomicU64::new(0),
        }
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends `request`, retrying (with backoff, honouring `Retry-After`,
    /// bounded in attempts and time) on 408/429/5xx and dropped connections.
    /// Every request this client makes (GET, HEAD, manifest PUT, DELETE) is
    /// idempotent, so each may be retried.
    pub fn send(&self, request: &Request) -> Result<Reply, Error> {
        let policy = self.retry;
        let started = Instant::now();
        let mut backoff = policy.backoff;
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = self.send_once(request);
            let wait = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 408 | 429 | 500 | 502 | 503 | 504) => {
                    Some(retry_after(resp.headers()).unwrap_or(backoff))
                }
                Err(e) if is_dropped_connection(e) => Some(backoff),
                _ => None,
            };
            let retry = wait.filter(|w| {
                attempt < policy.attempts
                    && *w <= policy.max_retry_after
                    && started.elapsed() + *w <= policy.budget
            });
            match (retry, result) {
                (Some(wait), _) => {
                    std::thread::sleep(wait);
                    backoff *= 2;
                    attempt += 1;
                }
                (None, Ok(resp)) => return self.read(request, resp),
                (None, Err(e)) => {
                    return Err(request.transport_error(if attempt > 1 {
                        format!("{e} (after {attempt} attempts)")
                    } else {
                        e.to_string()
                    }))
                }
            }
        }
    }

    fn send_once(&self, request: &Request) -> Result<Response<ureq::Body>, ureq::Error> {
        let builder = request.http();
        match request.body {
            Some(bytes) => self.agent.run(builder.body(bytes)?),
            None => self.agent.run(builder.body(())?),
        }
    }

    /// The reply with its body, refusing one over the request's limit.
    fn read(&self, request: &Request, mut resp: Response<ureq::Body>) -> Result<Reply, Error> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if request.method == Method::HEAD {
            return Ok(Reply {
                status,
                headers,
                body: Vec::new(),
            });
        }
        let too_large = |size: String| Error::TooLarge {
            reference: format!("{} ({})", request.context, request.url),
            size,
        };
        let declared: Option<u64> = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        if let Some(size) = declared.filter(|s| *s > request.limit) {
            return Err(too_large(format!("{size} bytes")));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(request.limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => too_large("more than the limit".into()),
                e => request.transport_error(format!("reading the response: {e}")),
            })?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn is_dropped_connection(error: &ureq::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(error, ureq::Error::Io(e) if matches!(e.kind(), ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe))
}
