//! Where results go: records on stdout as each check finishes, a PASS/FAIL
//! line per tenant on stderr, annotations and a step summary under GitHub
//! Actions, and the JUnit file.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use common::ci::{markdown_cell, neutralize, GithubActions};
use common::jsonl::RecordWriter;
use common::term::Style;
use serde::Serialize;

use crate::junit::Junit;

/// Longest excerpt of a response body kept in records, logs and reports.
pub const EXCERPT_CHARS: usize = 300;

/// Failing checks listed in the step summary; the rest are counted.
const SUMMARY_ROWS: usize = 50;

/// One check-result record, as written on stdout.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub tenant: String,
    pub url: String,
    pub check: String,
    pub ok: bool,
    /// The response status; `null` when there was no response.
    pub status: Option<u16>,
    /// Time for the request (all attempts); 0 for a check not run.
    pub ms: u64,
    /// What the check expects, in words.
    pub expected: String,
    /// What came back: an excerpt of the body, or why nothing did.
    pub got: String,
    /// Why the check failed; absent when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// False for a check failed without sending it (the tenant was
    /// unreachable, or a capture it needs is missing).
    #[serde(skip)]
    pub sent: bool,
}

/// Every check of one tenant, once it is done.
#[derive(Debug)]
pub struct TenantOutcome {
    pub name: String,
    pub url: String,
    pub checks: Vec<CheckOutcome>,
}

impl TenantOutcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// Counts over the whole run.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub tenants_passed: u64,
    pub tenants_failed: u64,
    pub checks_passed: u64,
    pub checks_failed: u64,
    /// The first failing checks, for the step summary.
    failures: Vec<CheckOutcome>,
}

impl Totals {
    pub fn tenants(&self) -> u64 {
        self.tenants_passed + self.tenants_failed
    }
}

/// Shared by the workers; every method may be called from any thread.
#[derive(Debug)]
pub struct Reporter {
    out: Mutex<RecordWriter<Stdout>>,
    /// The first error writing stdout (a closed pipe stops the run).
    out_error: Mutex<Option<common::Error>>,
    closed: AtomicBool,
    style: Style,
    ci: GithubActions,
    totals: Mutex<Totals>,
    junit: Option<Mutex<(Junit, Option<common::Error>)>>,
}

impl Reporter {
    pub fn new(ci: GithubActions, junit: Option<Junit>) -> Reporter {
        Reporter {
            out: Mutex::new(RecordWriter::stdout()),
            out_error: Mutex::new(None),
            closed: AtomicBool::new(false),
            style: Style::for_stderr(),
            ci,
            totals: Mutex::new(Totals::default()),
            junit: junit.map(|j| Mutex::new((j, None))),
        }
    }

    /// True once stdout is gone: there is no one left to tell, so stop.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// How many tenants have been fully checked so far.
    pub fn tenants_done(&self) -> u64 {
        self.totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tenants()
    }

    /// Writes one record at once, so the next tool in the pipe sees it.
    pub fn record(&self, outcome: &CheckOutcome) {
        if self.is_closed() {
            return;
        }
        let written = self
            .out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write(outcome);
        if let Err(error) = written {
            self.closed.store(true, Ordering::Relaxed);
            self.out_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(error);
        }
    }

    /// A tenant's PASS/FAIL lines, annotations, totals and JUnit entry.
    pub fn tenant_done(&self, tenant: TenantOutcome) {
        let passed = tenant.checks.iter().filter(|c| c.ok).count();
        let ms: u64 = tenant.checks.iter().map(|c| c.ms).sum();
        let mut text = if tenant.passed() {
            format!(
                "{} {}: {passed}/{} checks ({ms} ms)\n",
                self.style.good("PASS"),
                neutralize(&tenant.name, 200),
                tenant.checks.len()
            )
        } else {
            format!(
                "{} {}: {passed}/{} checks passed ({ms} ms)\n",
                self.style.bad("FAIL"),
                neutralize(&tenant.name, 200),
                tenant.checks.len()
            )
        };
        for check in tenant.checks.iter().filter(|c| !c.ok) {
            let reason = neutralize(check.reason.as_deref().unwrap_or_default(), EXCERPT_CHARS);
            // The body only when there was one: otherwise the reason says it all.
            let got = match check.status {
                Some(_) if !check.got.is_empty() => {
                    format!(" — got {}", neutralize(&check.got, EXCERPT_CHARS))
                }
                _ => String::new(),
            };
            text.push_str(&format!(
                "  {} {}: {reason}{got}\n",
                self.style.bad("FAIL"),
                check.check,
            ));
        }
        // One write, so lines of tenants finishing together do not interleave.
        let _ = io::stderr().lock().write_all(text.as_bytes());
        // Checks not sent follow from the failure that stopped them: one
        // annotation for that is enough.
        for check in tenant.checks.iter().filter(|c| !c.ok && c.sent) {
            self.ci.error(
                &format!("canary-smoke: {}", tenant.name),
                &format!(
                    "{} failed: {}",
                    check.check,
                    neutralize(check.reason.as_deref().unwrap_or_default(), EXCERPT_CHARS)
                ),
            );
        }
        {
            let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            if tenant.passed() {
                totals.tenants_passed += 1;
            } else {
                totals.tenants_failed += 1;
            }
            totals.checks_passed += passed as u64;
            totals.checks_failed += (tenant.checks.len() - passed) as u64;
            for check in tenant.checks.iter().filter(|c| !c.ok) {
                if totals.failures.len() < SUMMARY_ROWS {
                    totals.failures.push(check.clone());
                }
            }
        }
        if let Some(junit) = &self.junit {
            let mut junit = junit.lock().unwrap_or_else(|e| e.into_inner());
            if junit.1.is_none() {
                if let Err(error) = junit.0.add(&tenant) {
                    junit.1 = Some(error);
                }
            }
        }
    }

    /// Prints the totals, writes the step summary and the JUnit file.
    /// Returns the totals, or the first error writing stdout or a report.
    pub fn finish(self, suite: &str, wall_ms: u64) -> Result<Totals, common::Error> {
        if let Some(error) = self
            .out_error
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
        {
            return Err(error);
        }
        let totals = self.totals.into_inner().unwrap_or_else(|e| e.into_inner());
        let text = format!(
            "\n{}\nPASS: {}\nFAIL: {}\ntenants: {} passed, {} failed (suite {suite}, {wall_ms} ms)\n",
            self.style.bold("=== CANARY SMOKE RESULTS ==="),
            totals.checks_passed,
            totals.checks_failed,
            totals.tenants_passed,
            totals.tenants_failed,
        );
        let _ = io::stderr().lock().write_all(text.as_bytes());

        let mut first_error = None;
        if let Err(error) = self.ci.append_summary(&summary(&totals, suite)) {
            first_error = Some(error);
        }
        if let Some(junit) = self.junit {
            let (junit, error) = junit.into_inner().unwrap_or_else(|e| e.into_inner());
            let result = match error {
                Some(error) => Err(error),
                None => junit.finish(
                    totals.checks_passed + totals.checks_failed,
                    totals.checks_failed,
                    wall_ms,
                ),
            };
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(totals),
        }
    }
}

/// The Markdown step summary: the verdict, the counts, and a table of the
/// failing checks.
fn summary(totals: &Totals, suite: &str) -> String {
    let checks = totals.checks_passed + totals.checks_failed;
    let mut md = if totals.checks_failed == 0 {
        format!(
            "### canary-smoke: passed\n\nAll {checks} checks of suite `{}` passed on {} tenant(s).\n",
            markdown_cell(suite),
            totals.tenants()
        )
    } else {
        format!(
            "### canary-smoke: FAILED\n\n{} of {} tenant(s) failed; {} of {checks} checks of suite `{}` failed.\n\n\
             | tenant | check | status | reason |\n|---|---|---|---|\n",
            totals.tenants_failed,
            totals.tenants(),
            totals.checks_failed,
            markdown_cell(suite)
        )
    };
    for check in &totals.failures {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            markdown_cell(&check.tenant),
            markdown_cell(&check.check),
            check.status.map_or("—".to_string(), |s| s.to_string()),
            markdown_cell(check.reason.as_deref().unwrap_or_default())
        ));
    }
    let unlisted = totals
        .checks_failed
        .saturating_sub(totals.failures.len() as u64);
    if unlisted > 0 {
        md.push_str(&format!("\n… and {unlisted} more failing check(s).\n"));
    }
    md
}
