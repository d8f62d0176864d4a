//! One poll of one tenant's version endpoint, and what it says in words.

use std::io;
use std::time::Duration;

use common::ci::neutralize;
use common::Tenant;
use serde_json::Value;

use crate::cli::{Cli, Sha};
use common::duration;

use crate::TOOL;

/// Largest response body read from a version endpoint.
const MAX_BODY_BYTES: u64 = 64 * 1024;
/// Characters of a response body shown in progress and error lines.
const SNIPPET_CHARS: usize = 80;

/// How to poll: the same for every tenant.
#[derive(Debug)]
pub struct Prober {
    agent: ureq::Agent,
    sha: Sha,
    path: String,
    field: String,
    auth: bool,
    request_timeout: Duration,
}

/// The outcome of one poll. The text is safe to print: untrusted parts are
/// neutralised and truncated, and it never holds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The tenant reports the expected build.
    Ready,
    /// Not yet; the text says what it reported instead (`reports 1a2b3c4`,
    /// `connection refused`, `HTTP 503: …`).
    Waiting(String),
}

impl Prober {
    /// One agent for the whole run, its timeout the per-poll limit.
    pub fn new(cli: &Cli) -> Prober {
        let request_timeout = cli.poll_timeout();
        Prober {
            agent: common::http::agent(TOOL, env!("CARGO_PKG_VERSION"), request_timeout),
            sha: cli.sha.clone(),
            path: cli.path.clone(),
            field: cli.field.clone(),
            auth: cli.auth,
            request_timeout,
        }
    }

    pub fn poll(&self, tenant: &Tenant) -> Observation {
        let mut request = self
            .agent
            .get(tenant.endpoint(&self.path))
            .header("Accept", "application/json");
        if self.auth {
            request = request.header("Authorization", format!("Bearer {}", tenant.token.expose()));
            for (name, value) in tenant.extra_headers() {
                request = request.header(name, value);
            }
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(error) => return Observation::Waiting(self.describe(&error)),
        };
        let status = response.status();
        let body = match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .lossy_utf8(true)
            .read_to_string()
        {
            Ok(body) => body,
            Err(error) => return Observation::Waiting(self.describe(&error)),
        };
        if !status.is_success() {
            return Observation::Waiting(format!(
                "HTTP {}{}",
                status.as_u16(),
                snippet(": ", &body)
            ));
        }
        self.judge(&body)
    }

    /// Reads the reported value out of a successful response body.
    pub fn judge(&self, body: &str) -> Observation {
        let document: Value = match serde_json::from_str(body) {
            Ok(document) => document,
            Err(_) if body.trim().is_empty() => {
                return Observation::Waiting("empty response, not JSON".to_string())
            }
            Err(_) => return Observation::Waiting(format!("not JSON{}", snippet(": ", body))),
        };
        let field = if self.field.is_empty() {
            "the document"
        } else {
            &self.field
        };
        match document.pointer(&self.field) {
            None => Observation::Waiting(format!("no {field} in{}", snippet(" ", body))),
            Some(Value::String(reported)) if self.sha.is_reported_by(reported) => {
                Observation::Ready
            }
            Some(Value::String(reported)) if reported.trim().is_empty() => {
                Observation::Waiting(format!("reports an empty {field}"))
            }
            Some(Value::String(reported)) => {
                Observation::Waiting(format!("reports {}", shown(reported)))
            }
            Some(other) => Observation::Waiting(format!(
                "{field} is not a string: {}",
                neutralize(&other.to_string(), SNIPPET_CHARS)
            )),
        }
    }

    fn describe(&self, error: &ureq::Error) -> String {
        match error {
            ureq::Error::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                io::ErrorKind::TimedOut => self.timed_out(),
                _ => neutralize(&e.to_string(), SNIPPET_CHARS),
            },
            ureq::Error::Timeout(_) => self.timed_out(),
            ureq::Error::HostNotFound => "host not found".to_string(),
            other => neutralize(&other.to_string(), SNIPPET_CHARS),
        }
    }

    fn timed_out(&self) -> String {
        format!("no answer within {}", duration::human(self.request_timeout))
    }
}

/// A reported value as shown in a line: one line, at most 48 characters.
fn shown(reported: &str) -> String {
    neutralize(reported.trim(), 48)
}

/// `prefix` and the start of `body`, neutralised; nothing for an empty body.
fn snippet(prefix: &str, body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        format!("{prefix}{}", neutralize(body, SNIPPET_CHARS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn prober(field: &str) -> Prober {
        let cli = Cli::try_parse_from(["canary-wait", "--sha", "4c1d56e", "--field", field]);
        Prober::new(&cli.expect("valid flags"))
    }

    #[test]
    fn reads_the_field_through_the_pointer() {
        let p = prober("/sha");
        assert_eq!(
            p.judge(r#"{"status":"ok","sha":"4C1D56E9F00"}"#),
            Observation::Ready
        );
        assert_eq!(
            p.judge(r#"{"status":"ok","sha":"1a2b3c4"}"#),
            Observation::Waiting("reports 1a2b3c4".into())
        );
        let nested = prober("/build/git_sha");
        assert_eq!(
            nested.judge(r#"{"build":{"git_sha":"4c1d56e"}}"#),
            Observation::Ready
        );
    }

    #[test]
    fn says_what_is_wrong_instead() {
        let p = prober("/sha");
        assert_eq!(
            p.judge(r#"{"status":"ok"}"#),
            Observation::Waiting(r#"no /sha in {"status":"ok"}"#.into())
        );
        assert_eq!(
            p.judge("<html>\n::error::forged</html>"),
            Observation::Waiting(r"not JSON: <html>\n::error::forged</html>".into())
        );
        assert_eq!(
            p.judge(r#"{"sha":7}"#),
            Observation::Waiting("/sha is not a string: 7".into())
        );
        assert_eq!(
            p.judge(r#"{"sha":""}"#),
            Observation::Waiting("reports an empty /sha".into())
        );
        assert_eq!(
            p.judge(""),
            Observation::Waiting("empty response, not JSON".into())
        );
    }

    #[test]
    fn long_reports_are_cut() {
        let p = prober("/sha");
        let Observation::Waiting(text) = p.judge(&format!(r#"{{"sha":"{}"}}"#, "x".repeat(500)))
        else {
            panic!("a long junk value is not ready");
        };
        assert!(text.chars().count() < 80, "{text}");
    }
}
