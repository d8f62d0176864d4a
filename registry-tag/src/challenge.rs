//! `WWW-Authenticate` challenges from a registry's `/v2/` ping.

use std::collections::HashMap;

/// How a registry wants to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `/v2/` answered 200: no authentication.
    None,
    /// `Basic realm=…`: send the credential on every request.
    Basic,
    /// `Bearer realm=…,service=…`: fetch a token from `realm` per scope.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// A parsed challenge header, with its parameters (`error`, `scope`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub scheme: String,
    pub params: HashMap<String, String>,
}

/// Parses one `WWW-Authenticate` value: `Scheme k="v", k2=v2`.
pub fn parse(header: &str) -> Option<Parsed> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some(Parsed {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// The challenge a ping's `WWW-Authenticate` values ask for (Bearer preferred).
pub fn from_headers<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let parsed: Vec<Parsed> = values.filter_map(parse).collect();
    if let Some(bearer) = parsed.iter().find(|p| p.scheme == "bearer") {
        let realm = bearer.params.get("realm").filter(|r| !r.is_empty())?;
        return Some(Challenge::Bearer {
            realm: realm.clone(),
            service: bearer.params.get("service").cloned(),
        });
    }
    parsed
        .iter()
        .any(|p| p.scheme == "basic")
        .then_some(Challenge::Basic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_quoted_commas() {
        let p = parse(r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push",error="insufficient_scope""#).unwrap();
        assert_eq!(p.scheme, "bearer");
        assert_eq!(p.params["realm"], "https://ghcr.io/token");
        assert_eq!(p.params["scope"], "repository:a/b:pull,push");
        assert_eq!(p.params["error"], "insufficient_scope");
    }

    #[test]
    fn prefers_bearer_and_handles_basic() {
        let c = from_headers(
            [
                r#"Basic realm="x""#,
                r#"Bearer realm="http://127.0.0.1:1/token", service=reg"#,
            ]
            .into_iter(),
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(
            from_headers([r#"Basic realm="Registry Realm""#].into_iter()),
            Some(Challenge::Basic)
        );
        assert_eq!(from_headers(["Bearer service=x"].into_iter()), None);
        assert_eq!(from_headers(std::iter::empty()), None);
    }
}
