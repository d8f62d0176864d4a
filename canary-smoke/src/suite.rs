//! Suites as data: one check per JSON line, parsed and checked up front so
//! that a bad suite is exit 2 with its line number before any tenant is
//! touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::Value;

/// The suites compiled into the binary, by name; the first is the default.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../suites/default.jsonl")),
    (
        "workspace-server",
        include_str!("../suites/workspace-server.jsonl"),
    ),
];

/// Placeholders every check may use without capturing them first.
pub const BUILT_IN_PLACEHOLDERS: &[&str] = &["probe", "tenant"];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// A checked suite: checks in the order they run against each tenant.
#[derive(Debug, Clone)]
pub struct Suite {
    /// `default`, `workspace-server`, or the file it came from.
    pub name: String,
    pub checks: Vec<Check>,
}

/// One check, as a suite line describes it.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub method: String,
    /// Path and query relative to the tenant's base URL, with placeholders.
    pub path: String,
    /// Whether the tenant's bearer token is sent.
    pub auth: bool,
    /// JSON request body, with placeholders in its strings.
    pub body: Option<Value>,
    pub expect: Expect,
    /// Placeholder name → JSON pointer into the response body.
    pub capture: Vec<(String, String)>,
    /// Longest body read for this check, overriding `--max-body`.
    pub max_body: Option<u64>,
    /// How the check is described in the drop-in text (`canary-smoke.sh`'s
    /// wording for the default suite); the name when absent.
    pub description: Option<String>,
    /// Indices of the earlier checks this one waits for (see
    /// [`dependencies`]); the others run at the same time.
    pub waits_for: Vec<usize>,
    /// The suite line it came from.
    pub line: u64,
}

/// What a response must be for the check to pass.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Acceptable status codes; empty means any 2xx.
    pub status: Vec<u16>,
    pub json: Option<JsonKind>,
    /// JSON pointers that must be present (and not null).
    pub has: Vec<String>,
    /// A pattern the body must contain (see [`crate::judge::contains`]).
    pub matches: Option<Value>,
}

/// The kind of JSON body `expect.json` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonKind {
    Object,
    Array,
    Any,
}

/// A suite line as written; checked into a [`Check`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckLine {
    name: String,
    #[serde(default)]
    method: Option<String>,
    path: String,
    #[serde(default)]
    auth: Option<bool>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    expect: ExpectLine,
    #[serde(default)]
    capture: BTreeMap<String, String>,
    #[serde(default)]
    max_body: Option<u64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    after: Option<After>,
}

/// `"after": "name"` or `"after": ["a", "b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum After {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectLine {
    #[serde(default)]
    status: Option<StatusLine>,
    #[serde(default)]
    json: Option<JsonKind>,
    #[serde(default)]
    has: Vec<String>,
    #[serde(default, rename = "match")]
    matches: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StatusLine {
    One(u16),
    Any(Vec<u16>),
}

impl Suite {
    /// A built-in suite by name.
    pub fn built_in(name: &str) -> Option<Suite> {
        let (name, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        Some(Suite::parse(text, name).expect("built-in suites are valid"))
    }

    /// The text of a built-in suite, for `--print-suite`.
    pub fn built_in_text(name: &str) -> Option<&'static str> {
        BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// `--suite VALUE`: a built-in suite's name, else a file path. A file
    /// named like a built-in suite is reached as `./NAME`.
    pub fn load(value: &str) -> Result<Suite, common::Error> {
        if let Some(suite) = Suite::built_in(value) {
            return Ok(suite);
        }
        let path = Path::new(value);
        let text = std::fs::read_to_string(path).map_err(|error| common::Error::Read {
            source_name: format!("suite {}", path.display()),
            error,
        })?;
        Suite::parse(&text, &path.display().to_string())
    }

    /// Parses suite text; errors name `source_name` and the line.
    pub fn parse(text: &str, source_name: &str) -> Result<Suite, common::Error> {
        let mut checks: Vec<Check> = Vec::new();
        let mut known: BTreeSet<String> = BUILT_IN_PLACEHOLDERS
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (index, raw) in text.lines().enumerate() {
            let line = index as u64 + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let error = |message: String| common::Error::Input {
                source_name: source_name.to_string(),
                line,
                message,
            };
            let parsed: CheckLine = common::jsonl::parse_record(trimmed).map_err(error)?;
            let after = match &parsed.after {
                None => Vec::new(),
                Some(After::One(name)) => vec![name.clone()],
                Some(After::Many(names)) => names.clone(),
            };
            let mut check = check_line(parsed, line, &known).map_err(error)?;
            for name in after {
                let Some(index) = checks.iter().position(|c| c.name == name) else {
                    return Err(error(format!(
                        "check {} runs after {name:?}, which is not an earlier check",
                        check.name
                    )));
                };
                check.waits_for.push(index);
            }
            let derived = dependencies(&checks, &check);
            check.waits_for.extend(derived);
            check.waits_for.sort_unstable();
            check.waits_for.dedup();
            if let Some(first) = checks.iter().find(|c| c.name == check.name) {
                return Err(error(format!(
                    "check name {:?} is already used on line {}",
                    check.name, first.line
                )));
            }
            known.extend(check.capture.iter().map(|(name, _)| name.clone()));
            checks.push(check);
        }
        if checks.is_empty() {
            return Err(common::Error::Usage(format!(
                "suite {source_name} has no checks: give one JSON object per line"
            )));
        }
        Ok(Suite {
            name: source_name.to_string(),
            checks,
        })
    }
}

/// Turns a parsed line into a check, or says what is wrong with it.
fn check_line(line: CheckLine, number: u64, known: &BTreeSet<String>) -> Result<Check, String> {
    let name = line.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "check name {name:?} must be letters, digits, '-', '_' or '.'"
        ));
    }
    let method = line
        .method
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "check {name}: method {method:?} is not one of {}",
            METHODS.join(", ")
        ));
    }
    if !line.path.starts_with('/')
        || line
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "check {name}: path {:?} must start with '/' and contain no spaces",
            line.path
        ));
    }
    if line.max_body == Some(0) {
        return Err(format!("check {name}: max_body must be at least 1 byte"));
    }
    if line.body.is_some() && matches!(method.as_str(), "GET" | "HEAD") {
        return Err(format!(
            "check {name}: a {method} request cannot have a body"
        ));
    }
    let status = match line.expect.status {
        None => Vec::new(),
        Some(StatusLine::One(code)) => vec![code],
        Some(StatusLine::Any(codes)) if !codes.is_empty() => codes,
        Some(StatusLine::Any(_)) => {
            return Err(format!(
                "check {name}: expect.status must not be an empty list"
            ))
        }
    };
    if let Some(bad) = status.iter().find(|c| !(100..=599).contains(*c)) {
        return Err(format!("check {name}: {bad} is not an HTTP status code"));
    }
    for pointer in line.expect.has.iter().chain(line.capture.values()) {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "check {name}: {pointer:?} is not a JSON pointer (write \"/{pointer}\")"
            ));
        }
    }
    for capture in line.capture.keys() {
        if !is_placeholder_name(capture) {
            return Err(format!(
                "check {name}: capture name {capture:?} must be lower-case letters, digits and '_'"
            ));
        }
        if BUILT_IN_PLACEHOLDERS.contains(&capture.as_str()) {
            return Err(format!(
                "check {name}: {{{capture}}} is built in and cannot be captured"
            ));
        }
    }
    let (sent, expected) = used(&line.path, line.body.as_ref(), line.expect.matches.as_ref());
    if let Some(unknown) = sent.iter().chain(&expected).find(|p| !known.contains(*p)) {
        let known: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
        return Err(format!(
            "check {name} uses {{{unknown}}}, which no earlier check captures (known: {})",
            known.join(", ")
        ));
    }
    Ok(Check {
        name,
        method,
        path: line.path,
        auth: line.auth.unwrap_or(true),
        body: line.body,
        expect: Expect {
            status,
            json: line.expect.json,
            has: line.expect.has,
            matches: line.expect.matches,
        },
        capture: line.capture.into_iter().collect(),
        max_body: line.max_body,
        description: line.description,
        waits_for: Vec::new(),
        line: number,
    })
}

fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The `{name}` placeholders in a template, in order. Braces around
/// anything that is not a placeholder name are left alone.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            if is_placeholder_name(&rest[..close]) {
                found.push(rest[..close].to_string());
            }
        }
    }
    found
}

/// Replaces each `{name}` found in `vars`; `encode` percent-encodes the
/// values (for paths and queries).
pub fn fill(template: &str, vars: &BTreeMap<String, String>, encode: bool) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .filter(|&close| is_placeholder_name(&after[..close]))
            .and_then(|close| Some((close, vars.get(&after[..close])?)));
        match value {
            Some((close, value)) => {
                if encode {
                    percent_encode(value, &mut out);
                } else {
                    out.push_str(value);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A JSON value with placeholders filled in every string (keys included).
pub fn fill_json(value: &Value, vars: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s, vars, false)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (fill(k, vars, false), fill_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn each_string(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| each_string(v, f)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            f(k);
            each_string(v, f)
        }),
        _ => {}
    }
}

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(value: &str, out: &mut String) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}

/// The earlier checks `check` must wait for, derived from what each sends
/// and captures. Placeholders other than `{tenant}` stand for state on the
/// tenant: a check *writes* one it captures, or sends in a request that is
/// not a GET or HEAD (a POST of `{probe}` writes the probe); it *reads* one
/// it sends in a GET or HEAD, or expects in the body. Two checks touching
/// the same placeholder, at least one of them writing it, run in suite
/// order: so a search for the probe waits for the commit of the probe, a
/// check using `{workspace_id}` waits for the check that captures it, and
/// a DELETE of the probe waits for the search that reads it. Everything
/// else may run at once; `after` forces more order where a suite needs it.
pub fn dependencies(earlier: &[Check], check: &Check) -> Vec<usize> {
    let (reads, writes) = check.touches();
    earlier
        .iter()
        .enumerate()
        .filter(|(_, other)| {
            let (other_reads, other_writes) = other.touches();
            writes
                .iter()
                .any(|p| other_reads.contains(p) || other_writes.contains(p))
                || reads.iter().any(|p| other_writes.contains(p))
        })
        .map(|(index, _)| index)
        .collect()
}

impl Check {
    /// The placeholders this check reads and writes (see [`dependencies`]).
    fn touches(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let (sent, expected) = self.used();
        let state = |p: &String| p != "tenant";
        let reading = matches!(self.method.as_str(), "GET" | "HEAD");
        let mut reads: BTreeSet<String> = expected.into_iter().filter(state).collect();
        let mut writes: BTreeSet<String> =
            self.capture.iter().map(|(name, _)| name.clone()).collect();
        if reading {
            reads.extend(sent.into_iter().filter(state));
        } else {
            writes.extend(sent.into_iter().filter(state));
        }
        (reads, writes)
    }

    /// The placeholders this check needs that `vars` does not hold.
    pub fn missing(&self, vars: &BTreeMap<String, String>) -> Vec<String> {
        let (mut used, expected) = self.used();
        used.extend(expected);
        used.retain(|p| !vars.contains_key(p));
        used.dedup();
        used
    }

    fn used(&self) -> (Vec<String>, Vec<String>) {
        used(&self.path, self.body.as_ref(), self.expect.matches.as_ref())
    }
}

/// The placeholders a check sends (in its path and body) and expects (in
/// its `expect.match` pattern), in order.
fn used(path: &str, body: Option<&Value>, pattern: Option<&Value>) -> (Vec<String>, Vec<String>) {
    let mut sent = placeholders(path);
    if let Some(body) = body {
        each_string(body, &mut |s| sent.extend(placeholders(s)));
    }
    let mut expected = Vec::new();
    if let Some(pattern) = pattern {
        each_string(pattern, &mut |s| expected.extend(placeholders(s)));
    }
    (sent, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn built_in_suites_parse() {
        let default = Suite::built_in("default").unwrap();
        let names: Vec<&str> = default.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "liveness",
                "workspaces",
                "memory-commit",
                "memory-search",
                "events",
                "auth-required"
            ]
        );
        assert!(!default.checks[5].auth);
        assert_eq!(default.checks[2].expect.status, [200, 201]);
        let ws = Suite::built_in("workspace-server").unwrap();
        assert_eq!(
            ws.checks[1].capture,
            [("workspace_id".to_string(), "/0/id".to_string())]
        );
        assert!(Suite::built_in("nope").is_none());
    }

    #[test]
    fn placeholders_fill_and_encode() {
        let v = vars(&[("probe", "p 1&x"), ("id", "ws-1")]);
        assert_eq!(
            fill("/w/{id}/m?q={probe}", &v, true),
            "/w/ws-1/m?q=p%201%26x"
        );
        assert_eq!(fill("{probe}", &v, false), "p 1&x");
        assert_eq!(
            fill("{ not } {Caps} {unknown} {", &v, false),
            "{ not } {Caps} {unknown} {"
        );
        assert_eq!(placeholders("/a/{id}/{probe}?{x y}"), ["id", "probe"]);
        let body = serde_json::json!({"content": "{probe}", "n": 1, "list": ["{id}"]});
        assert_eq!(
            fill_json(&body, &v),
            serde_json::json!({"content": "p 1&x", "n": 1, "list": ["ws-1"]})
        );
    }

    fn error_of(text: &str) -> String {
        Suite::parse(text, "s.jsonl").unwrap_err().to_string()
    }

    #[test]
    fn bad_lines_are_named_with_their_number() {
        let ok = r#"{"name":"a","path":"/a"}"#;
        assert_eq!(
            error_of(&format!("{ok}\n\n{{\"name\":\"b\"}}\n")),
            "s.jsonl:3: missing field \"path\""
        );
        assert!(error_of(&format!(
            "# c\n{ok}\n{{\"name\":\"c\",\"path\":\"/c\",\"expct\":{{}}}}"
        ))
        .starts_with("s.jsonl:3: unknown field \"expct\""));
        assert_eq!(
            error_of(&format!("{ok}\n{ok}")),
            "s.jsonl:2: check name \"a\" is already used on line 1"
        );
        assert!(
            error_of(r#"{"name":"a","path":"/w/{workspace_id}"}"#).starts_with(
                "s.jsonl:1: check a uses {workspace_id}, which no earlier check captures"
            )
        );
        assert!(error_of(r#"{"name":"a","path":"/a","method":"FETCH"}"#).contains("FETCH"));
        assert!(error_of(r#"{"name":"a","path":"a"}"#).contains("must start with '/'"));
        assert!(error_of(r#"{"name":"a","path":"/a","body":{}}"#).contains("cannot have a body"));
        assert!(error_of(r#"{"name":"a","path":"/a","expect":{"status":42}}"#).contains("42"));
        assert!(error_of(r#"{"name":"a","path":"/a","capture":{"x":"id"}}"#).contains("\"/id\""));
        assert!(
            error_of(r#"{"name":"a","path":"/a","capture":{"probe":"/id"}}"#).contains("built in")
        );
        assert!(error_of("not json").starts_with("s.jsonl:1: not valid JSON"));
        assert_eq!(
            error_of("# only a comment\n"),
            "suite s.jsonl has no checks: give one JSON object per line"
        );
    }

    /// The checks that wait for others, with what they wait for (every
    /// other check starts at once).
    fn waits(suite: &Suite) -> Vec<(&str, Vec<&str>)> {
        suite
            .checks
            .iter()
            .filter(|c| !c.waits_for.is_empty())
            .map(|c| {
                let names = c.waits_for.iter().map(|&i| suite.checks[i].name.as_str());
                (c.name.as_str(), names.collect())
            })
            .collect()
    }

    #[test]
    fn the_default_suite_runs_in_two_rounds() {
        let suite = Suite::built_in("default").unwrap();
        assert_eq!(suite.checks.len(), 6);
        assert_eq!(waits(&suite), [("memory-search", vec!["memory-commit"])]);
    }

    #[test]
    fn the_workspace_server_suite_orders_its_probe_and_cleanup() {
        let suite = Suite::built_in("workspace-server").unwrap();
        assert_eq!(suite.checks.len(), 7);
        assert_eq!(
            waits(&suite),
            [
                ("memory-commit", vec!["workspaces"]),
                ("memory-search", vec!["workspaces", "memory-commit"]),
                (
                    "memory-delete",
                    vec!["workspaces", "memory-commit", "memory-search"]
                ),
            ]
        );
    }

    #[test]
    fn reads_run_together_writes_wait_and_after_forces_order() {
        let text = r#"{"name":"a","path":"/a/{probe}"}
{"name":"b","path":"/b?q={probe}&t={tenant}"}
{"name":"c","method":"PUT","path":"/c","body":{"t":"{tenant}"}}
{"name":"d","path":"/d","after":["c","a"]}
{"name":"e","method":"DELETE","path":"/e/{probe}"}
{"name":"f","path":"/f","expect":{"match":{"p":"{probe}"}}}"#;
        let suite = Suite::parse(text, "s").unwrap();
        assert_eq!(
            waits(&suite),
            [
                ("d", vec!["a", "c"]),
                ("e", vec!["a", "b"]),
                ("f", vec!["e"]),
            ]
        );
        assert_eq!(
            error_of(r#"{"name":"a","path":"/a","after":"b"}"#),
            "s.jsonl:1: check a runs after \"b\", which is not an earlier check"
        );
    }

    #[test]
    fn captures_become_known_to_later_lines() {
        let text = r#"{"name":"a","path":"/a","capture":{"id":"/0/id"}}
{"name":"b","method":"post","path":"/b/{id}","body":{"x":"{id}-{probe}"}}"#;
        let suite = Suite::parse(text, "s").unwrap();
        assert_eq!(suite.checks[1].method, "POST");
        assert_eq!(suite.checks[1].missing(&vars(&[("probe", "p")])), ["id"]);
        assert!(suite.checks[1]
            .missing(&vars(&[("probe", "p"), ("id", "1")]))
            .is_empty());
    }
}
