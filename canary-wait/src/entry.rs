//! One waiting tenant and what its polls said so far: small, as a fleet of
//! thousands waits at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ci::neutralize;
use common::Tenant;

use crate::probe::{Kind, Observation};

/// Where a tenant is in its wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In the timers, or with a poll in flight.
    Waiting,
    /// Reported the sha and was written to stdout.
    Ready,
    /// Failed before the end (it serves no sha, `--if-no-sha fail`) and was
    /// written to stdout marked not ready.
    Failed,
}

#[derive(Debug)]
pub struct Entry {
    /// The admitted record, written to stdout when the tenant is done.
    pub tenant: Arc<Tenant>,
    pub stage: Stage,
    /// What the last poll said, for progress and the final verdict.
    last: Box<str>,
    /// The last build sha it reported, if any.
    reported: Option<Box<str>>,
    /// Polls in a row without a usable answer, for the backoff.
    pub failures: u32,
    /// When it first answered 401/403/404, while every answer has been one.
    refused_since: Option<Instant>,
    /// Whether it gave an answer that was not 401/403/404 (a transport
    /// error or a 5xx is no evidence either way).
    answered: bool,
    /// Whether some answer carried the field.
    seen_sha: bool,
    /// Known to serve no build sha: answers came, none carried one.
    pub no_sha: bool,
    pub misconfigured: bool,
}

/// What one poll changed about a tenant, for the fleet's counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub ready: bool,
    /// Its first answer without the field, and no earlier one had it.
    pub no_sha: bool,
    /// It was misconfigured and has now answered otherwise.
    pub recovered: bool,
    /// How long the tenant asked to be left alone (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Entry {
    pub fn new(tenant: Tenant) -> Entry {
        Entry {
            tenant: Arc::new(tenant),
            stage: Stage::Waiting,
            last: "no answer yet".into(),
            reported: None,
            failures: 0,
            refused_since: None,
            answered: false,
            seen_sha: false,
            no_sha: false,
            misconfigured: false,
        }
    }

    /// Takes in what one poll observed at `now`.
    pub fn observe(&mut self, observation: Observation, now: Instant) -> Change {
        let mut change = Change::default();
        self.last = observation.text.into_boxed_str();
        match observation.kind {
            Kind::Ready => {
                self.stage = Stage::Ready;
                change.ready = true;
            }
            Kind::Reports(sha) => {
                self.reported = Some(sha.into_boxed_str());
                self.seen_sha = true;
                self.no_sha = false;
            }
            Kind::NoSha => {
                change.no_sha = !self.seen_sha && !self.no_sha;
                self.no_sha |= change.no_sha;
            }
            Kind::Refused => {
                self.refused_since.get_or_insert(now);
                self.failures += 1;
                return change;
            }
            Kind::Error { retry_after } => {
                change.retry_after = retry_after;
                self.failures += 1;
                return change;
            }
        }
        // An answer, and not a refusal.
        self.failures = 0;
        self.answered = true;
        self.refused_since = None;
        change.recovered = self.misconfigured;
        self.misconfigured = false;
        change
    }

    pub fn label(&self) -> String {
        neutralize(self.tenant.label(), 60)
    }

    /// `canary-2 (reports 9e8d7c6)`, `canary-3 (misconfigured: HTTP 404)`.
    pub fn described(&self) -> String {
        let misconfigured = if self.misconfigured {
            "misconfigured: "
        } else {
            ""
        };
        format!("{} ({misconfigured}{})", self.label(), self.last)
    }

    /// What the last poll said.
    pub fn last(&self) -> &str {
        &self.last
    }

    /// The last build sha it reported.
    pub fn reported(&self) -> Option<&str> {
        self.reported.as_deref()
    }

    /// Whether every answer it gave, for at least `grace`, was 401/403/404.
    pub fn refused_throughout(&self, grace: Duration, now: Instant) -> bool {
        !self.answered
            && self
                .refused_since
                .is_some_and(|since| now.duration_since(since) >= grace)
    }

    /// Why it is not ready, for its record: `no-sha`, `misconfigured` or
    /// `timeout`.
    pub fn reason(&self) -> &'static str {
        if self.no_sha {
            "no-sha"
        } else if self.misconfigured {
            "misconfigured"
        } else {
            "timeout"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        let tenant: Tenant = serde_json::from_value(serde_json::json!({
            "name": "canary", "url": "https://canary.example.com", "token": "entry-token"
        }))
        .unwrap();
        Entry::new(tenant)
    }

    fn seen(kind: Kind, text: &str) -> Observation {
        Observation {
            kind,
            text: text.to_string(),
        }
    }

    fn error() -> Observation {
        seen(Kind::Error { retry_after: None }, "connection refused")
    }

    #[test]
    fn no_sha_only_when_no_answer_carried_one() {
        let t0 = Instant::now();
        let mut e = entry();
        assert!(e.observe(seen(Kind::NoSha, "no /sha"), t0).no_sha);
        assert_eq!(e.reason(), "no-sha");
        // Said once.
        assert!(!e.observe(seen(Kind::NoSha, "no /sha"), t0).no_sha);
        // A sha later: it is waited on as usual.
        e.observe(seen(Kind::Reports("1a2b3c4".into()), "reports 1a2b3c4"), t0);
        assert_eq!((e.reason(), e.reported()), ("timeout", Some("1a2b3c4")));
        assert!(!e.observe(seen(Kind::NoSha, "no /sha"), t0).no_sha);
        assert_eq!(e.described(), "canary (no /sha)");
    }

    #[test]
    fn misconfigured_only_when_every_answer_was_refused_for_the_grace() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(60);
        let mut e = entry();
        e.observe(error(), t0);
        assert!(
            !e.refused_throughout(grace, t0 + grace),
            "errors are no answers"
        );
        e.observe(seen(Kind::Refused, "HTTP 404"), t0 + Duration::from_secs(1));
        e.observe(error(), t0 + Duration::from_secs(30));
        assert!(!e.refused_throughout(grace, t0 + Duration::from_secs(60)));
        assert!(e.refused_throughout(grace, t0 + Duration::from_secs(61)));
        e.observe(
            seen(Kind::Refused, "HTTP 404"),
            t0 + Duration::from_secs(61),
        );
        assert_eq!(e.failures, 4, "every poll so far failed");
        e.misconfigured = true;
        assert_eq!(e.described(), "canary (misconfigured: HTTP 404)");
        // Any other answer ends it for good.
        let change = e.observe(seen(Kind::NoSha, "no /sha"), t0 + Duration::from_secs(62));
        assert!(change.recovered && !e.misconfigured && e.failures == 0);
        e.observe(
            seen(Kind::Refused, "HTTP 404"),
            t0 + Duration::from_secs(63),
        );
        assert!(!e.refused_throughout(grace, t0 + Duration::from_secs(999)));
    }

    #[test]
    fn ready_and_retry_after_are_passed_on() {
        let t0 = Instant::now();
        let mut e = entry();
        let asked = Some(Duration::from_secs(5));
        let change = e.observe(seen(Kind::Error { retry_after: asked }, "HTTP 429"), t0);
        assert_eq!(change.retry_after, asked);
        assert!(e.observe(seen(Kind::Ready, "reports 4c1d56e"), t0).ready);
        assert_eq!(e.stage, Stage::Ready);
    }
}
