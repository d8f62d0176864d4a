//! One tenant's run: the suite's checks against one tenant, each started
//! as soon as the checks it waits for are done (see
//! [`crate::suite::dependencies`]), each record written as soon as it and
//! every earlier check of the suite are judged, so records keep suite order.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use common::ci::neutralize;
use common::redact::{excerpt, scrub};
use common::Tenant;
use serde_json::{Map, Value};

use crate::in_flight::InFlight;
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
    /// `--jobs`: places for requests in flight, shared by every tenant.
    pub in_flight: &'a InFlight,
    /// Makes probes unique to this run: `canary-smoke-<run>-<tenant seq>`.
    pub run_id: String,
    /// `--sha`: stamped into every record.
    pub sha: Option<String>,
}

impl Runner<'_> {
    /// Runs the suite against one tenant (the `seq`-th read).
    pub fn tenant(&self, tenant: &Tenant, seq: u64) -> TenantResult {
        let started = Instant::now();
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
            run.all_checks();
        }
        TenantResult {
            name: run.name,
            url: tenant.url.clone(),
            checks: run.records,
            ms: started.elapsed().as_millis() as u64,
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
    // Upstream text: kept to one short line.
    let text = |key: &str| {
        let value = wait.get(key).and_then(Value::as_str)?;
        Some(neutralize(value, 64))
    };
    let expected = text("expected").unwrap_or_else(|| "the expected sha".into());
    let mut why = format!("never reported {expected}");
    match text("reported") {
        Some(reported) => why.push_str(&format!(" (it reports {reported})")),
        None => match wait.get("reason").and_then(Value::as_str) {
            Some("no-sha") => why.push_str(" (it serves no build sha)"),
            Some("misconfigured") => why.push_str(" (misconfigured: every answer was 401/403/404)"),
            _ => why.push_str(" (canary-wait timed out)"),
        },
    }
    Some(why)
}

/// Stack of a thread sending one request: ureq, the judge and serde_json
/// (recursion limited to 128 levels) need far less than the 2 MiB default,
/// and with up to `--jobs` of them alive a small stack keeps them cheap to
/// start and keeps glibc's stack cache warm.
const REQUEST_STACK: usize = 256 * 1024;

/// The order in which a tenant's ready checks take their places in flight:
/// checks that another check waits for first (they are on the suite's
/// longest chain, e.g. the memory commit the search needs), then suite
/// order. Under the `--jobs` cap this starts every tenant's chain in the
/// first round instead of behind its independent checks.
fn start_order(checks: &[Check]) -> Vec<usize> {
    let mut waited_for = vec![false; checks.len()];
    for check in checks {
        for &d in &check.waits_for {
            waited_for[d] = true;
        }
    }
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| !waited_for[i]);
    order
}

/// One tenant's run: the tenant, and what its records say about it.
#[derive(Debug)]
pub struct TenantRun<'a> {
    runner: &'a Runner<'a>,
    tenant: &'a Tenant,
    name: String,
    /// The tenant record's own extra fields, echoed into every record.
    fields: Map<String, Value>,
    /// The first placeholder values (`{probe}`, `{tenant}`).
    vars: BTreeMap<String, String>,
    /// The records written so far, in suite order.
    records: Vec<CheckRecord>,
}

/// How far a tenant's run has come: placeholder values so far, and why
/// checks not yet started cannot be sent.
#[derive(Debug)]
struct Progress {
    vars: BTreeMap<String, String>,
    /// Set once a request got no answer: the rest are not sent.
    unreachable: Option<String>,
    /// Placeholder → the failed check that should have captured it.
    uncaptured: BTreeMap<String, String>,
}

/// How a check starts: sent with these placeholder values, or settled at
/// once without sending.
#[derive(Debug)]
enum Start {
    Send(CheckRecord, BTreeMap<String, String>),
    NotRun(CheckRecord),
}

/// A check's outcome, from the thread that sent it.
type Done = (usize, CheckRecord, Vec<(String, String)>);

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
        // A field named like a credential is not echoed into results.
        fields.retain(|key, _| !common::redact::is_secret_key(key));
        TenantRun {
            runner,
            tenant,
            name,
            fields,
            vars,
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

    /// Runs every check: each one whose checks to wait for are done starts
    /// at once, on a thread of its own holding one of the run's in-flight
    /// permits; records go out in suite order.
    fn all_checks(&mut self) {
        let checks = &self.runner.suite.checks;
        let mut started = vec![false; checks.len()];
        let mut done: Vec<Option<CheckRecord>> = vec![None; checks.len()];
        let (finished, results) = mpsc::channel::<Done>();
        let mut progress = Progress {
            vars: self.vars.clone(),
            unreachable: None,
            uncaptured: BTreeMap::new(),
        };
        let mut records = Vec::with_capacity(checks.len());
        let order = start_order(checks);
        let this = &*self;
        thread::scope(|scope| {
            let mut running = 0;
            loop {
                // Start (or settle without sending) every check that is ready,
                // those that others wait for first (see `start_order`).
                for &index in &order {
                    let check = &checks[index];
                    let ready = check.waits_for.iter().all(|&d| done[d].is_some());
                    if started[index] || !ready {
                        continue;
                    }
                    started[index] = true;
                    match this.prepare(&progress, check) {
                        Start::NotRun(record) => {
                            progress.settle(check, &record, Vec::new());
                            done[index] = Some(record);
                        }
                        Start::Send(record, vars) => {
                            let permit = this.runner.in_flight.acquire();
                            let finished = finished.clone();
                            running += 1;
                            let sent = thread::Builder::new()
                                .stack_size(REQUEST_STACK)
                                .spawn_scoped(scope, move || {
                                    let (record, captured) = this.send(check, record, &vars);
                                    drop(permit);
                                    let _ = finished.send((index, record, captured));
                                });
                            // As `scope.spawn` would: no thread, no run.
                            sent.expect("cannot start a thread for a request");
                        }
                    }
                }
                // Write the records that are next in suite order.
                while let Some(Some(record)) = done.get(records.len()) {
                    this.runner.reporter.record(record);
                    records.push(record.clone());
                }
                if running == 0 {
                    break;
                }
                let Ok((index, record, captured)) = results.recv() else {
                    break;
                };
                running -= 1;
                progress.settle(&checks[index], &record, captured);
                done[index] = Some(record);
            }
        });
        self.records = records;
    }

    /// The record of a check that is not sent, or the record to fill in and
    /// the placeholder values to send it with. Once a request got no answer
    /// (refused, timed out) the tenant's checks not yet started fail without
    /// being sent, so an unreachable tenant fails within about one request
    /// timeout; a check needing a value an earlier check failed to capture,
    /// or starting after the run's deadline or a closed stdout, is not sent.
    fn prepare(&self, progress: &Progress, check: &Check) -> Start {
        let expected = scrub(&describe(check, &progress.vars)).into_owned();
        let mut record = self.record(&check.name, expected);
        if let Some(description) = &check.description {
            record.description = description.clone();
        }
        let not_run = if let Some(why) = &progress.unreachable {
            Some(format!("not run: {why}"))
        } else if self.runner.requester.past_deadline() {
            Some("not run: the run's --timeout deadline passed".into())
        } else if self.runner.reporter.is_closed() {
            Some("not run: stdout was closed".into())
        } else {
            check.missing(&progress.vars).first().map(|placeholder| {
                let by = progress
                    .uncaptured
                    .get(placeholder)
                    .map_or("an earlier check", String::as_str);
                format!("not run: {{{placeholder}}} was not captured ({by} failed)")
            })
        };
        match not_run {
            Some(reason) => {
                record.got = "not run".into();
                record.reason = Some(reason);
                Start::NotRun(record)
            }
            None => Start::Send(record, progress.vars.clone()),
        }
    }

    /// Sends the check and judges the answer: the record and what it captured.
    fn send(
        &self,
        check: &Check,
        mut record: CheckRecord,
        vars: &BTreeMap<String, String>,
    ) -> (CheckRecord, Vec<(String, String)>) {
        // A tenant may echo its token back, raw or JSON-escaped: secret JSON
        // values masked and every form scrubbed before it is cut or escaped.
        let clean = |text: &str| excerpt(text, EXCERPT_CHARS);
        let requester = self.runner.requester;
        record.sent = true;
        let mut captured = Vec::new();
        match requester.send(self.tenant, check, vars) {
            Err(failure) => {
                record.ms = failure.ms;
                record.got = clean(&failure.message);
                record.reason = Some(record.got.clone());
            }
            Ok(exchange) => {
                let verdict = judge(check, vars, &exchange);
                record.status = Some(exchange.status);
                record.ms = exchange.ms;
                record.got = clean(&exchange.body);
                record.ok = verdict.failure.is_none();
                record.reason = verdict.failure.map(|r| clean(&r));
                captured = verdict.captured;
            }
        }
        if !record.ok {
            let sent = requester.describe(self.tenant, check, vars);
            record.method = Some(sent.method);
            record.request = Some(sent.url);
        }
        (record, captured)
    }
}

impl Progress {
    /// What a finished check means for the checks after it.
    fn settle(&mut self, check: &Check, record: &CheckRecord, captured: Vec<(String, String)>) {
        self.vars.extend(captured);
        if record.sent && record.status.is_none() && self.unreachable.is_none() {
            self.unreachable = Some(format!("{} got no answer", check.name));
        }
        if !record.ok {
            for (placeholder, _) in &check.capture {
                self.uncaptured
                    .insert(placeholder.clone(), format!("check {}", check.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_waited_for_start_first_then_suite_order() {
        let suite = Suite::built_in("default").unwrap();
        let names = |order: Vec<usize>| -> Vec<String> {
            order
                .into_iter()
                .map(|i| suite.checks[i].name.clone())
                .collect()
        };
        let order = names(start_order(&suite.checks));
        let commit = suite
            .checks
            .iter()
            .position(|c| !c.waits_for.is_empty())
            .map(|search| suite.checks[search].waits_for[0])
            .unwrap();
        assert_eq!(order[0], suite.checks[commit].name, "{order:?}");
        let mut rest: Vec<String> = suite.checks.iter().map(|c| c.name.clone()).collect();
        rest.remove(commit);
        assert_eq!(order[1..], rest[..], "the others keep suite order");
    }
}
