//! Sending one check's request to one tenant.

use std::collections::BTreeMap;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use common::Tenant;

use crate::suite::{fill, fill_json, Check};

/// Longest response body read; the rest is not needed to judge a check.
const MAX_BODY_BYTES: u64 = 1 << 20;

/// A response, whatever its status.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub body: String,
    pub ms: u64,
}

/// No response: the tenant could not be reached or did not answer in time.
#[derive(Debug)]
pub struct Unreachable {
    /// `connection refused`, `no answer within 20s (--timeout)`, …
    pub message: String,
    pub ms: u64,
}

/// How requests are sent: per-request timeout and connection retries.
#[derive(Debug)]
pub struct Sender {
    pub agent: ureq::Agent,
    pub timeout: Duration,
    /// Extra attempts after a connection error (never after a timeout or a
    /// response of any status).
    pub retries: u32,
}

impl Sender {
    /// Sends the check's request with placeholders filled from `vars`.
    pub fn send(
        &self,
        tenant: &Tenant,
        check: &Check,
        vars: &BTreeMap<String, String>,
    ) -> Result<Exchange, Unreachable> {
        let started = Instant::now();
        let ms = || started.elapsed().as_millis() as u64;
        let mut attempt = 0;
        loop {
            match self.attempt(tenant, check, vars) {
                Ok((status, body)) => {
                    return Ok(Exchange {
                        status,
                        body,
                        ms: ms(),
                    })
                }
                Err(failure) if failure.connection && attempt < self.retries => {
                    // 250 ms, 500 ms, 1 s, then 2 s between attempts.
                    let backoff = Duration::from_millis(250 << attempt.min(3));
                    thread::sleep(backoff);
                    attempt += 1;
                }
                Err(failure) => {
                    let message = if attempt > 0 {
                        format!("{} (after {} attempts)", failure.message, attempt + 1)
                    } else {
                        failure.message
                    };
                    return Err(Unreachable { message, ms: ms() });
                }
            }
        }
    }

    fn attempt(
        &self,
        tenant: &Tenant,
        check: &Check,
        vars: &BTreeMap<String, String>,
    ) -> Result<(u16, String), Failure> {
        let url = tenant.endpoint(&fill(&check.path, vars, true));
        let mut request = ureq::http::Request::builder()
            .method(check.method.as_str())
            .uri(&url)
            .header("Accept", "application/json");
        for (name, value) in tenant.extra_headers() {
            request = request.header(name, value);
        }
        if check.auth {
            request = request.header("Authorization", format!("Bearer {}", tenant.token.expose()));
        }
        let built = |e: ureq::http::Error| Failure {
            message: format!("cannot build the request for {url}: {e}"),
            connection: false,
        };
        let response = match &check.body {
            Some(body) => {
                let body = fill_json(body, vars).to_string();
                let request = request
                    .header("Content-Type", "application/json")
                    .body(body)
                    .map_err(built)?;
                self.agent.run(request)
            }
            None => self.agent.run(request.body(()).map_err(built)?),
        };
        let mut response = response.map_err(|e| self.failure(&e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec();
        match body {
            Ok(bytes) => Ok((status, String::from_utf8_lossy(&bytes).into_owned())),
            // A body past the limit is judged on its status alone; the
            // shape checks then report it as not JSON.
            Err(ureq::Error::BodyExceedsLimit(_)) => Ok((status, String::new())),
            Err(e) => Err(self.failure(&e)),
        }
    }

    /// Words for a transport error, and whether it is a connection error
    /// (the only kind `--retries` retries).
    fn failure(&self, error: &ureq::Error) -> Failure {
        let timed_out = || Failure {
            message: format!("no answer within {} (--timeout)", words(self.timeout)),
            connection: false,
        };
        let connection = |message: String| Failure {
            message,
            connection: true,
        };
        match error {
            ureq::Error::Timeout(_) => timed_out(),
            ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => timed_out(),
            ureq::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                connection("connection refused".into())
            }
            ureq::Error::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::NotConnected
                ) =>
            {
                connection(format!("connection lost: {e}"))
            }
            ureq::Error::HostNotFound => connection("host not found".into()),
            ureq::Error::ConnectionFailed => connection("connection failed".into()),
            ureq::Error::Protocol(e) => Failure {
                message: format!("the answer is not valid HTTP: {e}"),
                connection: false,
            },
            other => Failure {
                message: other.to_string(),
                connection: false,
            },
        }
    }
}

struct Failure {
    message: String,
    connection: bool,
}

/// `20s`, `1.5s`, `250ms`.
pub fn words(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
