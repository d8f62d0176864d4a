//! Running the suite: tenants concurrently on a bounded pool of workers as
//! they stream in, the checks of one tenant in suite order.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Mutex;

use common::ci::neutralize;
use common::Tenant;

use crate::judge::{describe, judge};
use crate::report::{CheckOutcome, Reporter, TenantOutcome, EXCERPT_CHARS};
use crate::request::Sender;
use crate::suite::Suite;

/// Everything a worker needs, shared by reference.
#[derive(Debug)]
pub struct Smoke<'a> {
    pub suite: &'a Suite,
    pub sender: &'a Sender,
    pub reporter: &'a Reporter,
    /// Makes probes unique to this run: `canary-smoke-<run>-<tenant seq>`.
    pub run_id: String,
}

impl Smoke<'_> {
    /// A worker: takes tenants until the feed closes.
    pub fn work(&self, queue: &Mutex<Receiver<(u64, Tenant)>>) {
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok((seq, tenant)) = next else {
                return;
            };
            if self.reporter.is_closed() {
                continue;
            }
            let outcome = self.tenant(&tenant, seq);
            self.reporter.tenant_done(outcome);
        }
    }

    /// Runs every check against one tenant, writing each record as soon as
    /// the check is judged.
    ///
    /// Once a request gets no answer (refused, timed out), the tenant's
    /// remaining checks are failed without sending them, so an unreachable
    /// tenant fails within about one --timeout. A check that needs a value
    /// an earlier check failed to capture is failed without sending it.
    pub fn tenant(&self, tenant: &Tenant, seq: u64) -> TenantOutcome {
        let name = tenant.label().to_string();
        let mut vars = BTreeMap::from([
            (
                "probe".to_string(),
                format!("canary-smoke-{}-{seq}", self.run_id),
            ),
            ("tenant".to_string(), name.clone()),
        ]);
        let mut unreachable: Option<String> = None;
        let mut uncaptured: BTreeMap<String, String> = BTreeMap::new();
        let mut checks = Vec::with_capacity(self.suite.checks.len());
        let clean = |text: &str| neutralize(&redact(text, tenant), EXCERPT_CHARS);
        for check in &self.suite.checks {
            if self.reporter.is_closed() {
                break;
            }
            let mut outcome = CheckOutcome {
                tenant: name.clone(),
                url: tenant.url.clone(),
                check: check.name.clone(),
                ok: false,
                status: None,
                ms: 0,
                expected: redact(&describe(check, &vars), tenant),
                got: String::new(),
                reason: None,
                sent: false,
            };
            let missing = check.missing(&vars);
            if let Some(why) = &unreachable {
                outcome.got = "not run".into();
                outcome.reason = Some(format!("not run: {why}"));
            } else if let Some(placeholder) = missing.first() {
                let by = uncaptured
                    .get(placeholder)
                    .map_or("an earlier check", String::as_str);
                outcome.got = "not run".into();
                outcome.reason = Some(format!(
                    "not run: {{{placeholder}}} was not captured ({by} failed)"
                ));
            } else {
                outcome.sent = true;
                match self.sender.send(tenant, check, &vars) {
                    Err(failure) => {
                        outcome.ms = failure.ms;
                        outcome.got = clean(&failure.message);
                        outcome.reason = Some(outcome.got.clone());
                        unreachable = Some(format!("{} got no answer", check.name));
                    }
                    Ok(exchange) => {
                        let verdict = judge(check, &vars, exchange.status, &exchange.body);
                        outcome.status = Some(exchange.status);
                        outcome.ms = exchange.ms;
                        outcome.got = clean(&exchange.body);
                        outcome.ok = verdict.failure.is_none();
                        outcome.reason = verdict.failure.map(|r| clean(&r));
                        vars.extend(verdict.captured);
                    }
                }
            }
            if !outcome.ok {
                for (placeholder, _) in &check.capture {
                    uncaptured.insert(placeholder.clone(), format!("check {}", check.name));
                }
            }
            self.reporter.record(&outcome);
            checks.push(outcome);
        }
        TenantOutcome {
            name,
            url: tenant.url.clone(),
            checks,
        }
    }
}

/// A tenant that echoes its token back must not put it in our output.
fn redact(text: &str, tenant: &Tenant) -> String {
    let token = tenant.token.expose();
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "***")
    }
}

/// The sending half of the work queue, with a stop when stdout is gone.
#[derive(Debug)]
pub struct Feed<'a> {
    pub queue: SyncSender<(u64, Tenant)>,
    pub reporter: &'a Reporter,
    pub sent: u64,
}

impl Feed<'_> {
    /// Hands a tenant to the next free worker (blocking while all are busy
    /// and the queue is full, which keeps memory flat). False when the run
    /// is stopping.
    pub fn send(&mut self, tenant: Tenant) -> bool {
        if self.reporter.is_closed() {
            return false;
        }
        self.sent += 1;
        self.queue.send((self.sent, tenant)).is_ok()
    }
}
