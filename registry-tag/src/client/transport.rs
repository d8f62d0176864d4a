//! One request on the wire: a [`Request`] value built into an
//! `http::Request`, sent with the agent, retried with backoff where that is
//! safe, its reply read within a limit, and the words for what went wrong.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::http::{parse_retry_after, Backoff, Failure};
use common::redact::excerpt;
use common::{trace, Secret};
use ureq::http::{HeaderMap, Method, Response};

use crate::Error;

/// Limits on retrying 408/429/500/502/503/504 and transport failures that
/// may pass ([`Failure::is_retryable`]: refused, reset, dropped, timed out).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// First backoff; doubled after each retry (with jitter).
    pub backoff: Duration,
    /// No retry starts once this much time has gone by since the first attempt.
    pub budget: Duration,
    /// The longest wait between attempts, a server's `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(250),
            budget: Duration::from_secs(30),
            max_delay: Duration::from_secs(10),
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

    /// The `http::Request` of attempt `retry` (0 for the first), which the
    /// agent's trace middleware shows at `-v`.
    fn http(&self, retry: u32) -> ureq::http::request::Builder {
        let mut builder = ureq::http::Request::builder()
            .method(self.method.clone())
            .uri(&self.url)
            .extension(trace::Attempt(retry));
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        if let Some(auth) = &self.authorization {
            builder = builder.header("Authorization", auth.expose());
        }
        builder
    }

    /// The error of a request that got no (complete) answer: for a write
    /// that may have reached the server, [`Error::UnknownOutcome`].
    fn transport_error(&self, detail: String, may_have_landed: bool) -> Error {
        let (registry, context) = (self.host.to_string(), self.context.clone());
        if may_have_landed && self.writes() {
            Error::UnknownOutcome {
                registry,
                context,
                detail,
            }
        } else {
            Error::Transport {
                registry,
                context,
                detail,
            }
        }
    }

    /// True for a request that changes something on the server.
    fn writes(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// One response, its body read (within the request's limit).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// A write answered with a failure after an earlier attempt that may
    /// have reached the server: the failure does not mean nothing changed.
    pub may_have_landed: bool,
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
    /// status and a short excerpt of the body: secret JSON values masked and
    /// every known secret scrubbed
    /// (a server may echo a token or Basic credential back) before it is
    /// cut short and neutralised.
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
                    .map(|e| excerpt(&format!("{} ({})", e.message, e.code), 200))
                    .collect();
                return format!("HTTP {}: {}", self.status, parts.join("; "));
            }
        }
        let text = String::from_utf8_lossy(&self.body);
        if text.trim().is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {}", self.status, excerpt(text.trim(), 200))
        }
    }

    /// An unexpected status as an error: `registry: action what: HTTP …`,
    /// or [`Error::UnknownOutcome`] when an earlier attempt of this write
    /// may have landed.
    pub fn error(&self, registry: &str, context: String) -> Error {
        if self.may_have_landed {
            return Error::UnknownOutcome {
                registry: registry.to_string(),
                context,
                detail: format!(
                    "{} after an earlier attempt that may have reached it",
                    self.describe()
                ),
            };
        }
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
    /// Named in the words of a timeout.
    timeout: Duration,
    requests: AtomicU64,
}

impl Transport {
    pub fn new(agent: ureq::Agent, retry: RetryPolicy, timeout: Duration) -> Transport {
        Transport {
            agent,
            retry,
            timeout,
            requests: AtomicU64::new(0),
        }
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends `request`, retrying (with backoff, honouring `Retry-After`,
    /// bounded in attempts and time) on 408/429/5xx and retryable transport
    /// failures. Every request this client makes (GET, HEAD, manifest PUT,
    /// DELETE) is idempotent, so each may be retried.
    pub fn send(&self, request: &Request) -> Result<Reply, Error> {
        let policy = self.retry;
        let backoff = Backoff::new(policy.backoff, policy.max_delay);
        let started = Instant::now();
        let mut attempt = 1;
        // Whether an attempt of this write may have reached the server.
        let mut may_have_landed = false;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = self
                .send_once(request, attempt - 1)
                .map_err(|e| Failure::from(&e).with_limit(self.timeout));
            let wait = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 408 | 429 | 500 | 502 | 503 | 504) => {
                    let asked = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    Some(backoff.delay(attempt - 1, asked))
                }
                Err(failure) => {
                    may_have_landed |= request.writes() && failure.may_have_landed();
                    failure
                        .is_retryable()
                        .then(|| backoff.delay(attempt - 1, None))
                }
                Ok(_) => None,
            };
            let retry = wait
                .filter(|w| attempt < policy.attempts && started.elapsed() + *w <= policy.budget);
            match (retry, result) {
                (Some(wait), _) => {
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                (None, Ok(resp)) => {
                    let mut reply = self.read(request, resp)?;
                    reply.may_have_landed = may_have_landed && !reply.is_success();
                    return Ok(reply);
                }
                (None, Err(failure)) => {
                    let detail = if attempt > 1 {
                        format!("{failure} (after {attempt} attempts)")
                    } else {
                        failure.to_string()
                    };
                    return Err(request.transport_error(detail, may_have_landed));
                }
            }
        }
    }

    fn send_once(
        &self,
        request: &Request,
        retry: u32,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        let builder = request.http(retry);
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
                may_have_landed: false,
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
                // A write answered with a status but a broken body: the
                // status was not a failure we could read, so it may have landed.
                e => request.transport_error(
                    format!(
                        "reading the response: {}",
                        Failure::from(&e).with_limit(self.timeout)
                    ),
                    true,
                ),
            })?;
        Ok(Reply {
            status,
            headers,
            body,
            may_have_landed: false,
        })
    }
}
