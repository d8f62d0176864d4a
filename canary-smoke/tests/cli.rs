//! canary-smoke end to end: the built binary against the fake fleet, as a
//! user or a CI job runs it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::fleet::{Fault, Fleet, TenantSpec};
use testkit::{hermetic, Output, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_canary-smoke");

const DEFAULT_CHECKS: [&str; 6] = [
    "liveness",
    "workspaces",
    "memory-commit",
    "memory-search",
    "events",
    "auth-required",
];

fn command(home: &TempDir, args: &[&str]) -> Command {
    let mut cmd = hermetic(BIN, home.path());
    cmd.args(args);
    cmd
}

/// Runs canary-smoke with `stdin` as its input.
fn smoke(args: &[&str], stdin: &str) -> Output {
    let home = TempDir::new("smoke").unwrap();
    Output::of(&mut command(&home, args), Some(stdin))
}

fn fleet(specs: Vec<TenantSpec>) -> Fleet {
    Fleet::start(specs).expect("start the fake fleet")
}

/// The (tenant, check) pairs whose record says `ok: false`.
fn failing(out: &Output) -> BTreeSet<(String, String)> {
    pairs(out, false)
}

fn pairs(out: &Output, ok: bool) -> BTreeSet<(String, String)> {
    out.records()
        .iter()
        .filter(|r| r["ok"].as_bool().expect("ok is a boolean") == ok)
        .map(|r| (text(r, "tenant"), text(r, "check")))
        .collect()
}

fn text(record: &Value, field: &str) -> String {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {record}"))
        .to_string()
}

fn record<'a>(records: &'a [Value], tenant: &str, check: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["tenant"] == tenant && r["check"] == check)
        .unwrap_or_else(|| panic!("no record for {tenant}/{check}"))
}

fn every_check_of(tenant: &str, checks: &[&str]) -> BTreeSet<(String, String)> {
    checks
        .iter()
        .map(|c| (tenant.to_string(), c.to_string()))
        .collect()
}

#[path = "cli/input.rs"]
mod input;
#[path = "cli/reports.rs"]
mod reports;
#[path = "cli/suites.rs"]
mod suites;
#[path = "cli/verdicts.rs"]
mod verdicts;
