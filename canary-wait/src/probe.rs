//! One poll of one tenant's version endpoint, and what it says.

use std::time::Duration;

use common::http::{parse_retry_after, Failure};
use common::redact::excerpt;
use common::{Sha, Tenant};
use serde_json::Value;

use crate::cli::Cli;
use crate::TOOL;

/// Largest response body read from a version endpoint.
const MAX_BODY_BYTES: u64 = 64 * 1024;
/// Characters of a response body shown in progress and error lines.
const SNIPPET_CHARS: usize = 80;
/// Characters of a reported value kept (in lines and in records).
const REPORTED_CHARS: usize = 48;

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

/// The outcome of one poll. Its text is safe to print: untrusted parts are
/// scrubbed of secrets, neutralised and truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub kind: Kind,
    /// What the tenant said, in words: `reports 1a2b3c4`,
    /// `connection refused`, `HTTP 503: …`.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The tenant reports the expected build.
    Ready,
    /// It reports another build (the value, shortened).
    Reports(String),
    /// A JSON answer without the field, or with an empty one: this endpoint
    /// may not serve a build sha at all.
    NoSha,
    /// 401, 403 or 404: the token, the path or the org header may be wrong.
    Refused,
    /// Anything else that is not an answer (transport error, 5xx, 429, not
    /// JSON): try again later, after `retry_after` if the tenant asked.
    Error { retry_after: Option<Duration> },
}

impl Observation {
    fn new(kind: Kind, text: impl Into<String>) -> Observation {
        Observation {
            kind,
            text: text.into(),
        }
    }

    fn error(text: impl Into<String>) -> Observation {
        Observation::new(Kind::Error { retry_after: None }, text)
    }
}

impl Prober {
    /// One agent for the whole run, its timeout the per-poll limit.
    pub fn new(cli: &Cli) -> Prober {
        let request_timeout = cli.poll_timeout();
        let (path, field) = cli.endpoint();
        Prober {
            agent: common::http::agent(TOOL, env!("CARGO_PKG_VERSION"), request_timeout),
            sha: cli.sha.clone(),
            path: path.to_string(),
            field: field.to_string(),
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
        let failed = |error: &ureq::Error| {
            Observation::error(
                Failure::from(error)
                    .with_limit(self.request_timeout)
                    .to_string(),
            )
        };
        let mut response = match request.call() {
            Ok(response) => response,
            Err(error) => return failed(&error),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .lossy_utf8(true)
            .read_to_string()
        {
            Ok(body) => body,
            Err(error) => return failed(&error),
        };
        let text = || format!("HTTP {status}{}", snippet(": ", &body));
        match status {
            200..=299 => self.judge(&body),
            401 | 403 | 404 => Observation::new(Kind::Refused, text()),
            _ => Observation::new(Kind::Error { retry_after }, text()),
        }
    }

    /// Reads the reported value out of a successful response body.
    pub fn judge(&self, body: &str) -> Observation {
        let document: Value = match serde_json::from_str(body) {
            Ok(document) => document,
            Err(_) if body.trim().is_empty() => {
                return Observation::error("empty response, not JSON")
            }
            Err(_) => return Observation::error(format!("not JSON{}", snippet(": ", body))),
        };
        let field = if self.field.is_empty() {
            "the document"
        } else {
            &self.field
        };
        match document.pointer(&self.field) {
            None => Observation::new(Kind::NoSha, format!("no {field} in{}", snippet(" ", body))),
            Some(Value::String(reported)) if self.sha.matches(reported) => {
                Observation::new(Kind::Ready, format!("reports {}", shown(reported)))
            }
            Some(Value::String(reported)) if reported.trim().is_empty() => {
                Observation::new(Kind::NoSha, format!("reports an empty {field}"))
            }
            Some(Value::String(reported)) => {
                let reported = shown(reported);
                Observation::new(
                    Kind::Reports(reported.clone()),
                    format!("reports {reported}"),
                )
            }
            Some(other) => Observation::error(format!(
                "{field} is not a string: {}",
                excerpt(&other.to_string(), SNIPPET_CHARS)
            )),
        }
    }
}

/// A reported value as shown: one line, no secret, at most 48 characters.
fn shown(reported: &str) -> String {
    excerpt(reported.trim(), REPORTED_CHARS)
}

/// `prefix` and the start of `body`, scrubbed and neutralised; nothing for
/// an empty body.
fn snippet(prefix: &str, body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        format!("{prefix}{}", excerpt(body, SNIPPET_CHARS))
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

    fn kind(p: &Prober, body: &str) -> Kind {
        p.judge(body).kind
    }

    #[test]
    fn reads_the_field_through_the_pointer() {
        let p = prober("/sha");
        assert_eq!(
            kind(&p, r#"{"status":"ok","sha":"4C1D56E9F00"}"#),
            Kind::Ready
        );
        assert_eq!(
            p.judge(r#"{"status":"ok","sha":"1a2b3c4"}"#),
            Observation::new(Kind::Reports("1a2b3c4".into()), "reports 1a2b3c4")
        );
        let nested = prober("/build/git_sha");
        assert_eq!(
            kind(&nested, r#"{"build":{"git_sha":"4c1d56e"}}"#),
            Kind::Ready
        );
    }

    #[test]
    fn a_missing_or_empty_field_is_no_sha_not_another_sha() {
        let p = prober("/sha");
        assert_eq!(
            p.judge(r#"{"status":"ok"}"#),
            Observation::new(Kind::NoSha, r#"no /sha in {"status":"ok"}"#)
        );
        assert_eq!(
            p.judge(r#"{"sha":""}"#),
            Observation::new(Kind::NoSha, "reports an empty /sha")
        );
    }

    #[test]
    fn says_what_is_wrong_instead() {
        let p = prober("/sha");
        assert_eq!(
            p.judge("<html>\n::error::forged</html>"),
            Observation::error(r"not JSON: <html>\n::error::forged</html>")
        );
        assert_eq!(
            p.judge(r#"{"sha":7}"#),
            Observation::error("/sha is not a string: 7")
        );
        assert_eq!(p.judge(""), Observation::error("empty response, not JSON"));
        // Too short to be a build, so not a match by prefix either.
        assert_eq!(kind(&p, r#"{"sha":"4c1d"}"#), Kind::Reports("4c1d".into()));
    }

    #[test]
    fn long_reports_are_cut() {
        let p = prober("/sha");
        let observation = p.judge(&format!(r#"{{"sha":"{}"}}"#, "x".repeat(500)));
        assert!(matches!(observation.kind, Kind::Reports(_)));
        assert!(
            observation.text.chars().count() < 80,
            "{}",
            observation.text
        );
    }
}
