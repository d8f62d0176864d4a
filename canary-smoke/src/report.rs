//! Where results go: records as each check is judged (stdout, or a file in
//! drop-in mode), the PASS/FAIL text per tenant, annotations, the step
//! summary and outputs under GitHub Actions, and the JUnit file. Every
//! piece of text passes through `common::redact::scrub` on its way out.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use common::ci::{code_span, markdown_text, neutralize, GithubActions};
use common::jsonl::RecordWriter;
use common::redact::scrub;
use common::term::Style;

use crate::record::{CheckRecord, TenantResult};

/// Longest excerpt of a response body kept in records, logs and reports.
pub const EXCERPT_CHARS: usize = 300;

/// Failing checks listed in the step summary; the rest are counted.
const SUMMARY_ROWS: usize = 50;

/// Where records and people's text go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Records on stdout; PASS/FAIL lines per tenant and totals on stderr.
    Records,
    /// `canary-smoke.sh`'s text, byte for byte: its PASS lines and totals
    /// on stdout, its FAIL lines on stderr. Records only to a file.
    Script,
}

/// Counts over the whole run.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub tenants_passed: u64,
    pub tenants_failed: u64,
    pub checks_passed: u64,
    pub checks_failed: u64,
    /// Names of the tenants that failed, for `failed_tenants`.
    pub failed_tenants: Vec<String>,
    /// The first failing checks, for the step summary.
    failures: Vec<CheckRecord>,
    /// Why the run stopped before the end of its input, if it did.
    stopped: Option<String>,
}

impl Totals {
    pub fn tenants(&self) -> u64 {
        self.tenants_passed + self.tenants_failed
    }

    /// Every tenant of the input checked, and every check passed.
    pub fn passed(&self) -> bool {
        self.checks_failed == 0 && self.tenants() > 0 && self.stopped.is_none()
    }
}

/// Shared by the workers; every method may be called from any thread.
#[derive(Debug)]
pub struct Reporter {
    records: Option<Mutex<RecordWriter<Sink>>>,
    layout: Layout,
    /// The first error writing stdout or the records file.
    out_error: Mutex<Option<common::Error>>,
    closed: AtomicBool,
    style: Style,
    ci: GithubActions,
    totals: Mutex<Totals>,
    /// Script layout: finished tenants' text waiting for earlier tenants,
    /// so tenants print in input order as the script printed them.
    script: Mutex<InOrder>,
    /// Script layout: each tenant's URL as the variable spells it.
    written_urls: Vec<String>,
    sha: Option<String>,
}

impl Reporter {
    /// `records`: where records go (`None`: nowhere, in the script layout
    /// without a records file).
    /// `written_urls`: the script layout's tenant headers, by input order.
    pub fn new(
        layout: Layout,
        records: Option<Box<dyn Write + Send>>,
        ci: GithubActions,
        sha: Option<String>,
        written_urls: Vec<String>,
    ) -> Reporter {
        Reporter {
            records: records.map(|out| Mutex::new(RecordWriter::new(Sink(out)))),
            layout,
            out_error: Mutex::new(None),
            closed: AtomicBool::new(false),
            style: Style::for_stderr(),
            ci,
            totals: Mutex::new(Totals::default()),
            script: Mutex::new(InOrder {
                next: 1,
                waiting: BTreeMap::new(),
            }),
            written_urls,
            sha,
        }
    }

    /// True once stdout is gone: there is no one left to tell, so stop.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn output_failed(&self, error: common::Error) {
        self.closed.store(true, Ordering::Relaxed);
        lock(&self.out_error).get_or_insert(error);
    }

    /// Writes one record at once, so the next tool in the pipe sees it.
    pub fn record(&self, record: &CheckRecord) {
        let Some(out) = &self.records else {
            return;
        };
        if self.is_closed() {
            return;
        }
        if let Err(error) = lock(out).write(record) {
            self.output_failed(error);
        }
    }

    /// A tenant's PASS/FAIL text, annotations and totals.
    pub fn tenant_done(&self, tenant: &TenantResult, seq: u64) {
        match self.layout {
            Layout::Records => self.tenant_lines(tenant),
            Layout::Script => self.script_text(tenant, seq),
        }
        // Checks not sent follow from the failure that stopped them, and
        // checks sent at once to a tenant that does not answer fail alike:
        // one annotation for that is enough.
        let mut unanswered = false;
        let annotated = tenant
            .checks
            .iter()
            .filter(|c| !c.ok && c.sent)
            .filter(|c| {
                let repeat = c.status.is_none() && unanswered;
                unanswered |= c.status.is_none();
                !repeat
            });
        for check in annotated {
            self.ci.error(
                &format!("canary-smoke: {}", tenant.name),
                &format!(
                    "{} failed: {}",
                    check.check,
                    check.reason.as_deref().unwrap_or_default()
                ),
            );
        }
        {
            let mut totals = lock(&self.totals);
            let passed = tenant.checks_passed() as u64;
            if tenant.passed() {
                totals.tenants_passed += 1;
            } else {
                totals.tenants_failed += 1;
                totals.failed_tenants.push(tenant.name.clone());
            }
            totals.checks_passed += passed;
            totals.checks_failed += tenant.checks.len() as u64 - passed;
            for check in tenant.checks.iter().filter(|c| !c.ok) {
                if totals.failures.len() < SUMMARY_ROWS {
                    totals.failures.push(check.clone());
                }
            }
        }
    }

    /// `PASS name: 6/6 checks (41 ms)`, or `FAIL …` and a line per failing check.
    fn tenant_lines(&self, tenant: &TenantResult) {
        let passed = tenant.checks_passed();
        let name = neutralize(&tenant.name, 200);
        let (total, ms) = (tenant.checks.len(), tenant.ms);
        let mut text = if tenant.passed() {
            format!(
                "{} {name}: {passed}/{total} checks ({ms} ms)\n",
                self.style.good("PASS")
            )
        } else {
            format!(
                "{} {name}: {passed}/{total} checks passed ({ms} ms)\n",
                self.style.bad("FAIL")
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
            let request = match (&check.method, &check.request) {
                (Some(method), Some(url)) => format!(" ({method} {})", neutralize(url, 500)),
                _ => String::new(),
            };
            text.push_str(&format!(
                "  {} {}: {reason}{got}{request}\n",
                self.style.bad("FAIL"),
                check.check,
            ));
        }
        // One write, so lines of tenants finishing together do not interleave.
        stderr(&text);
    }

    /// The script's text for one tenant, printed once every earlier tenant's is.
    fn script_text(&self, tenant: &TenantResult, seq: u64) {
        let url = usize::try_from(seq - 1)
            .ok()
            .and_then(|i| self.written_urls.get(i))
            .unwrap_or(&tenant.url);
        let mut text = vec![Line::Out(format!("\n── {} ──\n", neutralize(url, 500)))];
        for check in &tenant.checks {
            let description = neutralize(&check.description, 200);
            text.push(if check.ok {
                Line::Out(format!("  PASS {description}\n"))
            } else {
                Line::Err(format!(
                    "  FAIL {description}\n    expected to contain: {}\n    got: {}\n",
                    neutralize(&check.expected, EXCERPT_CHARS),
                    neutralize(check.reason.as_deref().unwrap_or(&check.got), EXCERPT_CHARS)
                ))
            });
        }
        let mut script = lock(&self.script);
        script.waiting.insert(seq, text);
        while let Some(text) = script.pop() {
            for line in text {
                match line {
                    Line::Out(line) => self.stdout_text(&line),
                    Line::Err(line) => stderr(&line),
                }
            }
        }
    }

    fn stdout_text(&self, text: &str) {
        if self.is_closed() {
            return;
        }
        let mut out = io::stdout().lock();
        let written = out
            .write_all(scrub(text).as_bytes())
            .and_then(|()| out.flush());
        if let Err(error) = written {
            self.output_failed(common::Error::Output(error));
        }
    }

    /// Prints the totals and writes the step summary and outputs. Returns
    /// the totals, and the first error writing stdout or a report (a closed
    /// stdout is the caller's to explain). `stopped` says why the run ended before its input did (a bad line,
    /// a closed stdout, the deadline): the verdict is then never "passed".
    pub fn finish(
        self,
        suite: &str,
        wall_ms: u64,
        stopped: Option<String>,
    ) -> (Totals, Option<common::Error>) {
        let mut totals = self.totals.into_inner().unwrap_or_else(|e| e.into_inner());
        totals.stopped = stopped;
        let block = format!(
            "\n=== CANARY SMOKE RESULTS ===\n  PASS: {}\n  FAIL: {}\n",
            totals.checks_passed, totals.checks_failed
        );
        let out_error = self
            .out_error
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut first_error = out_error;
        match self.layout {
            Layout::Script => {
                if first_error.is_none() {
                    let mut out = io::stdout().lock();
                    if let Err(e) = out.write_all(block.as_bytes()).and_then(|()| out.flush()) {
                        first_error = Some(common::Error::Output(e));
                    }
                }
            }
            Layout::Records => stderr(&format!(
                "{block}tenants: {} passed, {} failed (suite {suite}{}, {wall_ms} ms)\n",
                totals.tenants_passed,
                totals.tenants_failed,
                self.sha
                    .as_deref()
                    .map(|s| format!(", sha {s}"))
                    .unwrap_or_default(),
            )),
        }
        let reports = [
            self.ci
                .append_summary(&summary(&totals, suite, self.sha.as_deref())),
            outputs(&self.ci, &totals),
        ];
        for result in reports {
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        (totals, first_error)
    }
}

/// Tenants' script text by input sequence number, released in order.
#[derive(Debug)]
struct InOrder {
    next: u64,
    waiting: BTreeMap<u64, Vec<Line>>,
}

/// A piece of the script's text and the stream the script printed it on.
#[derive(Debug)]
enum Line {
    Out(String),
    Err(String),
}

impl InOrder {
    fn pop(&mut self) -> Option<Vec<Line>> {
        let text = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some(text)
    }
}

/// Where records go: stdout or a `--records` file.
struct Sink(Box<dyn Write + Send>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// One write of people's text on stderr, scrubbed; a closed stderr is ignored.
fn stderr(text: &str) {
    let _ = io::stderr().lock().write_all(scrub(text).as_bytes());
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The verdict in words: the first line of the summary and the `verdict` output.
pub fn verdict(totals: &Totals) -> String {
    let tenants = totals.tenants();
    let checks = totals.checks_passed + totals.checks_failed;
    let counts = format!(
        "{} of {tenants} tenant(s) failed ({} of {checks} checks)",
        totals.tenants_failed, totals.checks_failed
    );
    match &totals.stopped {
        _ if tenants == 0 => "FAILED: no tenant was checked".to_string(),
        Some(why) => format!("FAILED: stopped early ({why}); {counts}"),
        None if totals.passed() => format!("passed: all {checks} checks on {tenants} tenant(s)"),
        None => format!("FAILED: {counts}"),
    }
}

/// `passed`, `failed` (tenant counts), `failed_tenants` (a JSON array of
/// names) and `verdict` (`passed` or `failed`) in `$GITHUB_OUTPUT`.
fn outputs(ci: &GithubActions, totals: &Totals) -> Result<(), common::Error> {
    let failed_tenants =
        serde_json::to_string(&totals.failed_tenants).unwrap_or_else(|_| "[]".into());
    let verdict = if totals.passed() { "passed" } else { "failed" };
    ci.set_output("passed", &totals.tenants_passed.to_string())?;
    ci.set_output("failed", &totals.tenants_failed.to_string())?;
    ci.set_output("failed_tenants", &failed_tenants)?;
    ci.set_output("verdict", verdict)
}

/// The Markdown step summary: the verdict first, then the counts and a
/// table of the failing checks. Everything a tenant wrote is escaped.
fn summary(totals: &Totals, suite: &str, sha: Option<&str>) -> String {
    let checks = totals.checks_passed + totals.checks_failed;
    let build = sha
        .map(|s| format!(" for {}", code_span(s)))
        .unwrap_or_default();
    let mut md = format!("### canary-smoke{build}: {}\n\n", verdict(totals));
    md.push_str(&format!(
        "Suite {}: {} of {checks} checks passed; {} tenant(s) passed, {} failed.\n",
        code_span(suite),
        totals.checks_passed,
        totals.tenants_passed,
        totals.tenants_failed
    ));
    if totals.failures.is_empty() {
        return md;
    }
    md.push_str("\n| tenant | check | status | reason |\n|---|---|---|---|\n");
    for check in &totals.failures {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            markdown_text(&neutralize(&check.tenant, 200)),
            markdown_text(&check.check),
            check.status.map_or("—".to_string(), |s| s.to_string()),
            markdown_text(&neutralize(
                check.reason.as_deref().unwrap_or_default(),
                200
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: usize, failing: usize) -> TenantResult {
        let name = format!("canary-{n}");
        let check = |i: usize| CheckRecord {
            tenant: name.clone(),
            url: format!("http://127.0.0.1:1/t/{n}"),
            check: format!("check-{i}"),
            ok: i >= failing,
            status: Some(if i >= failing { 200 } else { 500 }),
            ms: 1,
            expected: "200".into(),
            got: String::new(),
            reason: (i < failing).then(|| "expected 200, got 500".into()),
            method: None,
            request: None,
            sha: None,
            tenant_fields: Default::default(),
            sent: true,
            description: format!("check {i}"),
        };
        TenantResult {
            url: format!("http://127.0.0.1:1/t/{n}"),
            checks: (0..6).map(check).collect(),
            name,
            ms: 1,
        }
    }

    /// Memory stays flat however many tenants stream through: a passing
    /// tenant leaves only counts behind, a failing one its name, and the
    /// step summary's table stops at SUMMARY_ROWS, counting the rest.
    #[test]
    fn totals_keep_counts_failed_names_and_a_bounded_table() {
        let reporter = Reporter::new(
            Layout::Records,
            None,
            GithubActions::default(),
            None,
            Vec::new(),
        );
        let (tenants, failing) = (3000, 20);
        for n in 0..tenants {
            // Every 150th tenant fails three of its six checks.
            let failed = if n % (tenants / failing) == 0 { 3 } else { 0 };
            reporter.tenant_done(&tenant(n, failed), n as u64 + 1);
        }
        let (totals, error) = reporter.finish("default", 1, None);
        assert!(error.is_none());
        assert_eq!(totals.tenants_passed, (tenants - failing) as u64);
        assert_eq!(totals.tenants_failed, failing as u64);
        assert_eq!(totals.checks_failed, 3 * failing as u64);
        assert_eq!(totals.failed_tenants.len(), failing, "only failed names");
        assert_eq!(totals.failed_tenants[1], "canary-150");
        assert_eq!(totals.failures.len(), SUMMARY_ROWS, "a bounded table");
        let md = summary(&totals, "default", None);
        assert_eq!(md.matches("\n| canary-").count(), SUMMARY_ROWS);
        assert!(md.contains("… and 10 more failing check(s)."), "{md}");
    }
}
