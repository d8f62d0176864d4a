//! The tenant record that flows `tenant-list → canary-wait → canary-smoke`,
//! and the two ways to build a fleet of them (environment or JSON lines).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::parse_base_url;
use crate::{Error, Secret};

/// The variable holding tenant base URLs, as in `canary-smoke.sh`.
pub const URLS_VAR: &str = "CANARY_TENANT_URLS";
/// The variable holding admin tokens, paired by position with the URLs.
pub const TOKENS_VAR: &str = "CANARY_ADMIN_TOKENS";

/// One canary tenant. Unknown fields are kept and passed through untouched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub url: String,
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tenant {
    /// The name when there is one, else the URL: how people see the tenant.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }

    /// The URL of `path` on this tenant, keeping any base path prefix.
    pub fn endpoint(&self, path: &str) -> String {
        let base = self.url.trim_end_matches('/');
        if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            format!("{base}/{path}")
        }
    }

    /// Extra headers to send with every request (for example `X-Molecule-Org-Id`).
    pub fn extra_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks and normalises the tenant: trims trailing slashes, applies the
    /// plain-http rule, rejects an empty token, and derives a name from the
    /// host when none is given.
    pub fn normalize(&mut self, insecure: bool) -> Result<(), String> {
        let base = parse_base_url(&self.url, insecure)?;
        if self.token.expose().trim().is_empty() {
            return Err(format!("tenant {} has an empty token", base.url));
        }
        if let Some(headers) = &self.headers {
            for (name, value) in headers {
                let valid_name = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
                if !valid_name || value.contains(['\r', '\n']) {
                    return Err(format!(
                        "tenant {} has an invalid header {name:?}",
                        base.url
                    ));
                }
            }
        }
        if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            self.name = Some(derived_name(&base));
        }
        self.url = base.url;
        Ok(())
    }
}

/// `canary-pm` for `https://canary-pm.staging.example.com`; the whole
/// `host:port` for IP addresses and localhost; a path prefix is appended.
fn derived_name(base: &crate::http::BaseUrl) -> String {
    let is_ip = base.host.starts_with('[') || base.host.parse::<std::net::IpAddr>().is_ok();
    let head = if is_ip || base.host.eq_ignore_ascii_case("localhost") {
        base.authority.clone()
    } else {
        base.host
            .split('.')
            .next()
            .unwrap_or(&base.host)
            .to_string()
    };
    format!("{head}{}", base.path)
}

/// Splits a list variable on any mix of spaces, commas and newlines (the old
/// scripts disagreed on the separator, so all are accepted).
pub fn split_list(value: &str) -> Vec<&str> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Builds tenants from the two variables' values, paired by position.
pub fn from_env_values(urls: Option<&str>, tokens: Option<&str>) -> Result<Vec<Tenant>, Error> {
    let urls = urls.ok_or_else(|| {
        Error::Usage(format!(
            "{URLS_VAR} is not set: give the tenant base URLs (separated by spaces, commas or newlines), or use --file"
        ))
    })?;
    let tokens = tokens.ok_or_else(|| {
        Error::Usage(format!(
            "{TOKENS_VAR} is not set: give one admin token per URL in {URLS_VAR}, in the same order"
        ))
    })?;
    let urls = split_list(urls);
    let tokens = split_list(tokens);
    if urls.len() != tokens.len() {
        return Err(Error::Usage(format!(
            "{URLS_VAR} has {} URL(s) but {TOKENS_VAR} has {} token(s); they are paired by position",
            urls.len(),
            tokens.len()
        )));
    }
    Ok(urls
        .into_iter()
        .zip(tokens)
        .map(|(url, token)| Tenant {
            name: None,
            url: url.to_string(),
            token: Secret::new(token),
            headers: None,
            extra: Map::new(),
        })
        .collect())
}

/// Reads the fleet from `CANARY_TENANT_URLS` and `CANARY_ADMIN_TOKENS`.
pub fn from_env() -> Result<Vec<Tenant>, Error> {
    let urls = std::env::var(URLS_VAR).ok();
    let tokens = std::env::var(TOKENS_VAR).ok();
    from_env_values(urls.as_deref(), tokens.as_deref())
}

/// Where a tenant came from, for messages: a line of a JSON-lines source, or
/// a position in the environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Line(u64),
    Entry(usize),
}

/// Normalises every tenant and checks the fleet as a whole: at least one
/// tenant and no URL twice. `origins[i]` says where tenant `i` came from;
/// `source_name` names the file, `stdin`, or the variables.
pub fn validate_fleet(
    tenants: &mut [Tenant],
    source_name: &str,
    origins: &[Origin],
    insecure: bool,
) -> Result<(), Error> {
    if tenants.is_empty() {
        return Err(Error::Usage(format!(
            "no tenants in {source_name}: there is nothing to check"
        )));
    }
    let fail = |i: usize, message: String| match origins.get(i) {
        Some(Origin::Line(line)) => Error::Input {
            source_name: source_name.to_string(),
            line: *line,
            message,
        },
        Some(Origin::Entry(n)) => Error::Usage(format!("{URLS_VAR} entry {n}: {message}")),
        None => Error::Usage(message),
    };
    let describe = |i: usize| match origins.get(i) {
        Some(Origin::Line(line)) => format!("line {line}"),
        Some(Origin::Entry(n)) => format!("entry {n}"),
        None => format!("tenant {}", i + 1),
    };
    let mut seen = HashMap::new();
    for (i, tenant) in tenants.iter_mut().enumerate() {
        tenant.normalize(insecure).map_err(|m| fail(i, m))?;
        if let Some(first) = seen.insert(tenant.url.to_ascii_lowercase(), i) {
            return Err(fail(
                i,
                format!(
                    "duplicate tenant URL {} (same as {})",
                    tenant.url,
                    describe(first)
                ),
            ));
        }
    }
    Ok(())
}

/// Origins for tenants built by [`from_env_values`].
pub fn env_origins(count: usize) -> Vec<Origin> {
    (1..=count).map(Origin::Entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_separator_mix_splits_alike() {
        for s in ["a b c", "a,b,c", "a\nb\nc", " a ,\n b,,c\n", "a\r\nb\tc"] {
            assert_eq!(split_list(s), ["a", "b", "c"], "{s:?}");
        }
    }

    #[test]
    fn names_come_from_hosts() {
        let mut t = from_env_values(Some("https://canary-pm.staging.example.com/"), Some("t"))
            .unwrap()
            .remove(0);
        t.normalize(false).unwrap();
        assert_eq!(t.name.as_deref(), Some("canary-pm"));
        assert_eq!(t.url, "https://canary-pm.staging.example.com");
        let mut t = from_env_values(Some("http://127.0.0.1:9/t/3"), Some("t"))
            .unwrap()
            .remove(0);
        t.normalize(false).unwrap();
        assert_eq!(t.name.as_deref(), Some("127.0.0.1:9/t/3"));
        assert_eq!(t.endpoint("/health"), "http://127.0.0.1:9/t/3/health");
    }
}
