//! One tenant's run: the suite's checks against one tenant, each record
//! written as soon as it is judged.

use std::collections::BTreeMap;

use common::ci::neutralize;
use common::Tenant;
use serde_json::{Map, Value};

use crate::judge::{describe, judge};
use crate::record::{CheckRecord, TenantResult};
use crate::report::{Reporter, EXCERPT_CHARS};
use crate::request::Requester;
use crate::suite::{Check, Suite};

/// What every tenant's run shares, by reference.
#[derive(Debug)]
pub struct Runner<'a> {
    pub suite: &'a Suite,
    pub requester: &'a Requester,
    pub reporter: &'a Reporter,
    /// Makes probes unique to this run: `canary-smoke-<run>-<tenant seq>`.
    pub run_id: String,
    /// `--sha`: stamped into every record.
    pub sha: Option<String>,
}

impl Runner<'_> {
    /// Runs the suite against one tenant (the `seq`-th read).
    pub fn tenant(&self, tenant: &Tenant, seq: u64) -> TenantResult {
        let mut run = TenantRun::new(self, tenant, seq);
        if let Some(why) = never_ready(tenant) {
            // canary-wait gave up on this tenant: probing it would test
            // whatever build it runs, not the one under test.
            let mut record = run.record("canary-wait", "the build under test".into());
            record.got = why.clone();
            record.reason = Some(why);
            self.reporter.record(&record);
            run.records.push(record);
        } else {
            for check in &self.suite.checks {
                if self.reporter.is_closed() {
                    break;
                }
                let record = run.check(check);
                self.reporter.record(&record);
                run.records.push(record);
            }
        }
        TenantResult {
            name: run.name,
            url: tenant.url.clone(),
            checks: run.records,
        }
    }
}

/// `never reported 4c1d56e (it reports 9e8d7c6)` for a tenant record that
/// canary-wait passed on as not ready (see docs/records.md).
fn never_ready(tenant: &Tenant) -> Option<String> {
    let wait = tenant.extra.get("canary_wait")?;
    if wait.get("ready") != Some(&Value::Bool(false)) {
        return None;
    }
    let expected = wait
        .get("expected")
        .and_then(Value::as_str)
        .unwrap_or("the expected sha");
    let mut why = format!("never reported {expected}");
    match wait.get("reported").and_then(Value::as_str) {
        Some(reported) => why.push_str(&format!(" (it reports {reported})")),
        None => match wait.get("reason").and_then(Value::as_str) {
            Some("no-sha") => why.push_str(" (it serves no build sha)"),
            Some("misconfigured") => why.push_str(" (misconfigured: every answer was 401/403/404)"),
            _ => why.push_str(" (canary-wait timed out)"),
        },
    }
    Some(why)
}

/// The state of one tenant's run: placeholder values so far, and why later
/// checks cannot be sent.
#[derive(Debug)]
pub struct TenantRun<'a> {
    runner: &'a Runner<'a>,
    tenant: &'a Tenant,
    name: String,
    /// The tenant record's own extra fields, echoed into every record.
    fields: Map<String, Value>,
    vars: BTreeMap<String, String>,
    /// Set once a request got no answer: the rest are not sent.
    unreachable: Option<String>,
    /// Placeholder → the failed check that should have captured it.
    uncaptured: BTreeMap<String, String>,
    records: Vec<CheckRecord>,
}

impl<'a> TenantRun<'a> {
    fn new(runner: &'a Runner<'a>, tenant: &'a Tenant, seq: u64) -> TenantRun<'a> {
        let name = tenant.label().to_string();
        let vars = BTreeMap::from([
            (
                "probe".to_string(),
                format!("canary-smoke-{}-{seq}", runner.run_id),
            ),
            ("tenant".to_string(), name.clone()),
        ]);
        let mut fields = tenant.extra.clone();
        fields.remove("canary_wait");
        TenantRun {
            runner,
            tenant,
            name,
            fields,
            vars,
            unreachable: None,
            uncaptured: BTreeMap::new(),
            records: Vec::with_capacity(runner.suite.checks.len()),
        }
    }

    /// A failing, unsent record for `check`, to be filled in.
    fn record(&self, check: &str, expected: String) -> CheckRecord {
        CheckRecord {
            tenant: self.name.clone(),
            url: self.tenant.url.clone(),
            check: check.to_string(),
            ok: false,
            status: None,
            ms: 0,
            expected,
            got: String::new(),
            reason: None,
            method: None,
            request: None,
            sha: self.runner.sha.clone(),
            tenant_fields: self.fields.clone(),
            sent: false,
            description: check.to_string(),
        }
    }

    /// Runs one check. Once a request gets no answer (refused, timed out),
    /// the tenant's remaining checks fail without being sent, so an
    /// unreachable tenant fails within about one request timeout. A check
    /// that needs a value an earlier check failed to capture is failed
    /// without sending it.
    fn check(&mut self, check: &Check) -> CheckRecord {
        let clean = |text: &str| neutralize(text, EXCERPT_CHARS);
        let mut record = self.record(&check.name, describe(check, &self.vars));
        if let Some(description) = &check.description {
            record.description = description.clone();
        }
        let missing = check.missing(&self.vars);
        if let Some(why) = &self.unreachable {
            record.got = "not run".into();
            record.reason = Some(format!("not run: {why}"));
        } else if self.runner.requester.past_deadline() {
            record.got = "not run".into();
            record.reason = Some("not run: the run's --timeout deadline passed".into());
        } else if let Some(placeholder) = missing.first() {
            let by = self
                .uncaptured
                .get(placeholder)
                .map_or("an earlier check", String::as_str);
            record.got = "not run".into();
            record.reason = Some(format!(
                "not run: {{{placeholder}}} was not captured ({by} failed)"
            ));
        } else {
            record.sent = true;
            let requester = self.runner.requester;
            match requester.send(self.tenant, check, &self.vars) {
                Err(failure) => {
                    record.ms = failure.ms;
                    record.got = clean(&failure.message);
                    record.reason = Some(record.got.clone());
                    self.unreachable = Some(format!("{} got no answer", check.name));
                }
                Ok(exchange) => {
                    let verdict = judge(check, &self.vars, &exchange);
                    record.status = Some(exchange.status);
                    record.ms = exchange.ms;
                    record.got = clean(&exchange.body);
                    record.ok = verdict.failure.is_none();
                    record.reason = verdict.failure.map(|r| clean(&r));
                    self.vars.extend(verdict.captured);
                }
            }
            if !record.ok {
                let sent = requester.describe(self.tenant, check, &self.vars);
                record.method = Some(sent.method);
                record.request = Some(sent.url);
            }
        }
        if !record.ok {
            for (placeholder, _) in &check.capture {
                self.uncaptured
                    .insert(placeholder.clone(), format!("check {}", check.name));
            }
        }
        record
    }
}
