//! Whether a response meets a check's expectations, and in words why not.

use std::collections::BTreeMap;

use common::jsonl::kind_of;
use serde_json::Value;

use crate::request::Exchange;
use crate::suite::{fill_json, Check, Expect, JsonKind};

/// The verdict on one response.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `None` when the check passed; otherwise the first unmet expectation.
    pub failure: Option<String>,
    /// Placeholder values captured from the body (only when it passed).
    pub captured: Vec<(String, String)>,
}

/// What the check expects, in words, for the `expected` field of a record:
/// `status 200, a JSON object with "/subsystems"`.
pub fn describe(check: &Check, vars: &BTreeMap<String, String>) -> String {
    let expect = &check.expect;
    let mut parts = vec![match expect.status.as_slice() {
        [] => "a 2xx status".to_string(),
        [one] => format!("status {one}"),
        many => {
            let codes: Vec<String> = many.iter().map(u16::to_string).collect();
            format!("status {}", codes.join(" or "))
        }
    }];
    let mut body = match expect.json {
        Some(JsonKind::Object) => "a JSON object".to_string(),
        Some(JsonKind::Array) => "a JSON array".to_string(),
        Some(JsonKind::Any) => "JSON".to_string(),
        None if needs_json(check) => "JSON".to_string(),
        None => String::new(),
    };
    let mut with: Vec<String> = expect.has.iter().map(|p| key_words(p)).collect();
    with.extend(check.capture.iter().map(|(_, p)| key_words(p)));
    with.dedup();
    if !with.is_empty() {
        body.push_str(&format!(" with {}", with.join(" and ")));
    }
    if let Some(pattern) = &expect.matches {
        body.push_str(&format!(" containing {}", fill_json(pattern, vars)));
    }
    let body = body.trim().to_string();
    if !body.is_empty() {
        parts.push(body);
    }
    parts.join(", ")
}

/// `key "subsystems"` for `/subsystems`, the pointer itself otherwise.
fn key_words(pointer: &str) -> String {
    match pointer.strip_prefix('/') {
        Some(key) if !key.contains('/') && !key.is_empty() => format!("key {key:?}"),
        _ => format!("{pointer:?}"),
    }
}

fn needs_json(check: &Check) -> bool {
    let e = &check.expect;
    e.json.is_some() || !e.has.is_empty() || e.matches.is_some() || !check.capture.is_empty()
}

/// Judges a response: the status, then the JSON shape (a body that merely
/// contains `[` is not an array: it must parse), then the required keys,
/// the pattern, and the captures.
pub fn judge(check: &Check, vars: &BTreeMap<String, String>, exchange: &Exchange) -> Verdict {
    let (status, body) = (exchange.status, exchange.body.as_str());
    let fail = |message: String| Verdict {
        failure: Some(message),
        captured: Vec::new(),
    };
    let expect: &Expect = &check.expect;
    let status_ok = if expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.status.contains(&status)
    };
    if !status_ok {
        return fail(format!(
            "status {status}, expected {}",
            status_words(expect)
        ));
    }
    if !needs_json(check) {
        return Verdict {
            failure: None,
            captured: Vec::new(),
        };
    }
    if let Some(limit) = exchange.too_large {
        return fail(format!(
            "the body is too large: over the {} limit (raise it with --max-body or the check's max_body)",
            size_words(limit)
        ));
    }
    let json: Value = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(_) if body.trim().is_empty() => return fail("the body is empty, expected JSON".into()),
        Err(_) => return fail("the body is not JSON".into()),
    };
    match (expect.json, &json) {
        (Some(JsonKind::Object), Value::Object(_)) | (Some(JsonKind::Array), Value::Array(_)) => {}
        (Some(JsonKind::Object), other) => {
            return fail(format!("expected a JSON object, got {}", kind_of(other)))
        }
        (Some(JsonKind::Array), other) => {
            return fail(format!("expected a JSON array, got {}", kind_of(other)))
        }
        _ => {}
    }
    for pointer in &expect.has {
        if json.pointer(pointer).is_none_or(Value::is_null) {
            return fail(format!(
                "{} is missing from the response",
                key_words(pointer)
            ));
        }
    }
    if let Some(pattern) = &expect.matches {
        let pattern = fill_json(pattern, vars);
        if !contains(&json, &pattern) {
            return fail(format!("the response does not contain {pattern}"));
        }
    }
    let mut captured = Vec::new();
    for (name, pointer) in &check.capture {
        match json.pointer(pointer) {
            Some(Value::String(s)) if !s.is_empty() => captured.push((name.clone(), s.clone())),
            Some(Value::Number(n)) => captured.push((name.clone(), n.to_string())),
            Some(other) if !other.is_null() => {
                return fail(format!(
                    "cannot capture {{{name}}}: {pointer:?} is {}, not a string or number",
                    kind_of(other)
                ))
            }
            _ => {
                return fail(format!(
                    "cannot capture {{{name}}}: nothing at {pointer:?} in the response"
                ))
            }
        }
    }
    Verdict {
        failure: None,
        captured,
    }
}

/// `1 MiB`, `512 KiB`, `300 bytes`.
pub fn size_words(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

fn status_words(expect: &Expect) -> String {
    match expect.status.as_slice() {
        [] => "2xx".to_string(),
        codes => codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// Whether `value` contains `pattern`: an object pattern needs each of its
/// keys, with a value that contains the pattern's; an array pattern needs
/// each of its elements to be contained by some element of the array; any
/// other pattern must be equal. So `[{"content":"p"}]` is "an array with an
/// element whose content is p", and `{"subsystems":{}}` is "an object whose
/// subsystems is an object".
pub fn contains(value: &Value, pattern: &Value) -> bool {
    match (pattern, value) {
        (Value::Object(want), Value::Object(have)) => want
            .iter()
            .all(|(k, w)| have.get(k).is_some_and(|h| contains(h, w))),
        (Value::Array(want), Value::Array(have)) => {
            want.iter().all(|w| have.iter().any(|h| contains(h, w)))
        }
        (Value::Object(_) | Value::Array(_), _) => false,
        (want, have) => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Suite;
    use serde_json::json;

    fn check(line: &str) -> Check {
        Suite::parse(line, "t").unwrap().checks.remove(0)
    }

    fn vars() -> BTreeMap<String, String> {
        [("probe".to_string(), "p-1".to_string())].into()
    }

    fn exchange(status: u16, body: &str) -> Exchange {
        Exchange {
            status,
            body: body.to_string(),
            too_large: None,
            ms: 0,
        }
    }

    fn failure(check: &Check, status: u16, body: &str) -> Option<String> {
        judge(check, &vars(), &exchange(status, body)).failure
    }

    #[test]
    fn an_array_must_parse_as_one() {
        let c = check(r#"{"name":"w","path":"/w","expect":{"status":200,"json":"array"}}"#);
        assert_eq!(failure(&c, 200, "[]"), None);
        assert_eq!(
            failure(&c, 200, "OK [not json]").as_deref(),
            Some("the body is not JSON")
        );
        assert_eq!(
            failure(&c, 200, "<html>[502]</html>").as_deref(),
            Some("the body is not JSON")
        );
        assert_eq!(
            failure(&c, 200, r#"{"items":[]}"#).as_deref(),
            Some("expected a JSON array, got an object")
        );
        assert_eq!(
            failure(&c, 502, "[]").as_deref(),
            Some("status 502, expected 200")
        );
        assert_eq!(describe(&c, &vars()), "status 200, a JSON array");
    }

    #[test]
    fn keys_patterns_and_captures() {
        let c = check(
            r#"{"name":"l","path":"/l","expect":{"json":"object","has":["/subsystems"]},"capture":{"id":"/id"}}"#,
        );
        assert_eq!(
            describe(&c, &vars()),
            r#"a 2xx status, a JSON object with key "subsystems" and key "id""#
        );
        assert_eq!(
            failure(&c, 200, r#"{"id":"x"}"#).as_deref(),
            Some(r#"key "subsystems" is missing from the response"#)
        );
        let v = judge(&c, &vars(), &exchange(201, r#"{"subsystems":{},"id":7}"#));
        assert_eq!(v.failure, None);
        assert_eq!(v.captured, [("id".to_string(), "7".to_string())]);
        assert!(failure(&c, 200, r#"{"subsystems":{}}"#)
            .unwrap()
            .contains("cannot capture {id}"));

        let s = check(r#"{"name":"s","path":"/s","expect":{"match":[{"content":"{probe}"}]}}"#);
        assert_eq!(failure(&s, 200, r#"[{"content":"p-1","id":"m"}]"#), None);
        assert_eq!(
            failure(&s, 200, "[]").as_deref(),
            Some(r#"the response does not contain [{"content":"p-1"}]"#)
        );
    }

    #[test]
    fn a_body_over_the_limit_is_too_large_not_empty() {
        let c = check(r#"{"name":"w","path":"/w","expect":{"json":"array"}}"#);
        let mut big = exchange(200, "");
        big.too_large = Some(1 << 20);
        let why = judge(&c, &vars(), &big).failure.unwrap();
        assert!(
            why.starts_with("the body is too large: over the 1 MiB limit"),
            "{why}"
        );
        assert_eq!(size_words(512 << 10), "512 KiB");
        assert_eq!(size_words(1000), "1000 bytes");
    }

    #[test]
    fn containment() {
        assert!(contains(&json!({"a":{"b":1},"c":2}), &json!({"a":{}})));
        assert!(!contains(&json!({"a":1}), &json!({"a":{}})));
        assert!(contains(&json!([1, {"x":"y","z":1}]), &json!([{"x":"y"}])));
        assert!(!contains(&json!([]), &json!([{"x":"y"}])));
        assert!(contains(&json!([]), &json!([])));
        assert!(!contains(&json!("[]"), &json!([])));
    }

    #[test]
    fn a_check_without_json_expectations_reads_only_the_status() {
        let c = check(r#"{"name":"a","path":"/a","auth":false,"expect":{"status":401}}"#);
        assert_eq!(failure(&c, 401, "<html>"), None);
        assert_eq!(
            failure(&c, 200, "{}").as_deref(),
            Some("status 200, expected 401")
        );
        assert_eq!(describe(&c, &vars()), "status 401");
    }
}
