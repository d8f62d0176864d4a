//! The end of a wait: each straggler's record, the verdict in words on
//! stderr, as an annotation and as the first line of the step summary.

use std::sync::Arc;
use std::time::Duration;

use common::ci::{code_span, markdown_text, GithubActions};
use common::duration::human;
use common::redact::scrub;
use common::term::{note, Style};
use common::{Code, Sha, Tenant};
use serde_json::json;

use crate::{Error, TOOL};

/// The record field that marks a tenant not confirmed ready.
pub const FIELD: &str = "canary_wait";

/// A tenant that never reported the sha, as it stood at the end.
#[derive(Debug)]
pub struct Straggler {
    pub tenant: Arc<Tenant>,
    /// `canary-2 (reports 9e8d7c6)`, safe to print.
    pub described: String,
    pub expected: Sha,
    /// The last build sha it reported.
    pub reported: Option<String>,
    /// `timeout`, `no-sha` or `misconfigured`.
    pub reason: &'static str,
}

impl Straggler {
    /// Its tenant record, marked: `"canary_wait":{"ready":false,…}`, or when
    /// it goes on unconfirmed `{"ready":true,"confirmed":false,…}`.
    pub fn record(&self, goes_on: bool) -> Tenant {
        let mut mark = json!({
            "ready": goes_on,
            "expected": self.expected,
            // Scrubbed: a tenant may echo a token back as its "sha", and
            // tenant records are the one unscrubbed output.
            "reported": self.reported.as_deref().map(|r| scrub(r).into_owned()),
            "reason": self.reason,
        });
        if goes_on {
            mark["confirmed"] = json!(false);
        }
        let mut record = Tenant::clone(&self.tenant);
        record.extra.insert(FIELD.to_string(), mark);
        record
    }
}

/// How the run ended.
#[derive(Debug)]
pub struct Verdict {
    sha: Sha,
    total: usize,
    ready: usize,
    elapsed: Duration,
    /// `Some(timeout)` when the deadline ended the run.
    timed_out: Option<Duration>,
    /// Tenants written marked not ready.
    pub failed: Vec<Straggler>,
    /// Tenants passed on unconfirmed.
    pub unconfirmed: Vec<Straggler>,
    /// The input that was still open at the end.
    pub still_open: Option<String>,
}

impl Verdict {
    pub fn new(
        sha: Sha,
        total: usize,
        ready: usize,
        elapsed: Duration,
        timed_out: Option<Duration>,
    ) -> Verdict {
        Verdict {
            sha,
            total,
            ready,
            elapsed,
            timed_out,
            failed: Vec::new(),
            unconfirmed: Vec::new(),
            still_open: None,
        }
    }

    /// `1 of 4 canaries never reported 4c1d56e: canary-2 (reports 9e8d7c6)`,
    /// with the sha and the stragglers written by `sha` and `list`.
    fn headline(&self, sha: &str, list: impl Fn(&[Straggler]) -> String) -> String {
        let of = |n: usize| format!("{n} of {}", canaries(self.total));
        if !self.failed.is_empty() {
            let mut line = format!(
                "{} never reported {sha}: {}",
                of(self.failed.len()),
                list(&self.failed)
            );
            if !self.unconfirmed.is_empty() {
                line.push_str(&format!(
                    "; {} went on unconfirmed: {}",
                    self.unconfirmed.len(),
                    list(&self.unconfirmed)
                ));
            }
            line
        } else if !self.unconfirmed.is_empty() {
            format!(
                "{} went on unconfirmed (never reported {sha}): {}",
                of(self.unconfirmed.len()),
                list(&self.unconfirmed)
            )
        } else if self.still_open.is_some() {
            match self.total {
                1 => format!("the 1 canary read so far reports {sha}"),
                n => format!("all {n} canaries read so far report {sha}"),
            }
        } else {
            format!(
                "{} {sha} (after {})",
                all_report(self.total),
                human(self.elapsed)
            )
        }
    }

    /// Says the verdict everywhere it is read (stderr, an annotation, the
    /// first line of the step summary, the step outputs) and gives the exit
    /// code: 1 when a tenant was not confirmed and did not go on anyway, or
    /// the input was still open.
    pub fn report(self, ci: &GithubActions, style: &Style) -> Result<Code, Error> {
        let plain = |s: &[Straggler]| {
            s.iter()
                .map(|s| s.described.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let markdown = |s: &[Straggler]| {
            s.iter()
                .map(|s| markdown_text(&s.described))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let headline = self.headline(self.sha.as_str(), plain);
        let mut summary = format!(
            "**canary-wait**: {}",
            self.headline(&code_span(self.sha.as_str()), markdown)
        );
        let mut message = headline.clone();
        let mut details = format!("{}/{} ready", self.ready, self.total);
        if let Some(timeout) = self.timed_out {
            message = format!("timed out after {}: {message}", human(timeout));
            details = format!("timed out after {}; {details}", human(timeout));
        }
        if let Some(source) = &self.still_open {
            message.push_str(&format!("; {source} was still open"));
            details.push_str(&format!("; {source} was still open"));
        }
        summary.push_str(&format!("\n\n{details}\n"));
        let stragglers: Vec<&str> = self
            .failed
            .iter()
            .chain(&self.unconfirmed)
            .map(|s| s.tenant.label())
            .collect();
        ci.set_output("ready", &self.ready.to_string())?;
        ci.set_output("stragglers", &json!(stragglers).to_string())?;

        if !self.failed.is_empty() || self.still_open.is_some() {
            note(TOOL, &style.bad(&message));
            ci.error(TOOL, &message);
            ci.append_summary(&summary)?;
            return Ok(Code::Failed);
        }
        if !self.unconfirmed.is_empty() {
            let after = self
                .timed_out
                .map(|t| format!("timed out after {}, ", human(t)))
                .unwrap_or_default();
            let warning = format!("warning: {after}proceeding anyway: {headline}");
            note(TOOL, &style.warn(&warning));
            ci.warning(TOOL, &message);
            ci.append_summary(&summary)?;
            return Ok(Code::Ok);
        }
        note(TOOL, &style.good(&message));
        ci.append_summary(&summary)?;
        Ok(Code::Ok)
    }
}

/// `the 1 canary reports`, `all 4 canaries report`.
fn all_report(n: usize) -> String {
    if n == 1 {
        "the 1 canary reports".to_string()
    } else {
        format!("all {n} canaries report")
    }
}

/// `1 canary`, `4 canaries`.
fn canaries(n: usize) -> String {
    if n == 1 {
        "1 canary".to_string()
    } else {
        format!("{n} canaries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn straggler(name: &str, reason: &'static str) -> Straggler {
        let tenant: Tenant = serde_json::from_value(json!({
            "name": name, "url": "https://x.example.com", "token": "verdict-token-1",
            "region": "eu"
        }))
        .unwrap();
        Straggler {
            tenant: Arc::new(tenant),
            described: format!("{name} (reports 9e8d7c6)"),
            expected: "4c1d56e".parse().unwrap(),
            reported: Some("9e8d7c6".into()),
            reason,
        }
    }

    #[test]
    fn straggler_records_keep_the_tenant_and_say_why() {
        let s = straggler("canary-2", "timeout");
        let failed = serde_json::to_value(s.record(false)).unwrap();
        assert_eq!(failed["region"], "eu");
        assert_eq!(failed["token"], "verdict-token-1");
        assert_eq!(
            failed[FIELD],
            json!({"ready": false, "expected": "4c1d56e", "reported": "9e8d7c6", "reason": "timeout"})
        );
        let on = serde_json::to_value(s.record(true)).unwrap();
        assert_eq!(
            on[FIELD],
            json!({"ready": true, "confirmed": false, "expected": "4c1d56e", "reported": "9e8d7c6", "reason": "timeout"})
        );
    }

    #[test]
    fn the_headline_names_the_stragglers() {
        let sha: Sha = "4c1d56e".parse().unwrap();
        let plain = |s: &[Straggler]| {
            s.iter()
                .map(|s| s.described.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut v = Verdict::new(sha.clone(), 4, 3, Duration::from_secs(9), None);
        v.failed.push(straggler("canary-2", "timeout"));
        assert_eq!(
            v.headline(sha.as_str(), plain),
            "1 of 4 canaries never reported 4c1d56e: canary-2 (reports 9e8d7c6)"
        );
        let mut v = Verdict::new(sha.clone(), 2, 1, Duration::from_secs(9), None);
        v.unconfirmed.push(straggler("canary-2", "no-sha"));
        assert_eq!(
            v.headline(sha.as_str(), plain),
            "1 of 2 canaries went on unconfirmed (never reported 4c1d56e): canary-2 (reports 9e8d7c6)"
        );
        let v = Verdict::new(sha.clone(), 1, 1, Duration::from_secs(9), None);
        assert_eq!(
            v.headline(sha.as_str(), plain),
            "the 1 canary reports 4c1d56e (after 9s)"
        );
    }
}
