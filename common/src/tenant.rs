//! The tenant record that flows `tenant-list → canary-wait → canary-smoke`,
//! and the two ways to build a fleet of them (environment or JSON lines).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ci::GithubActions;
use crate::http::parse_base_url;
use crate::{redact, Error, Secret};

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
    /// plain-http rule and the URL checks of [`parse_base_url`], rejects an
    /// empty token or one with a line break or other control character, and
    /// derives a name from the host when none is given.
    pub fn normalize(&mut self, insecure: bool) -> Result<(), String> {
        let base = parse_base_url(&self.url, insecure)?;
        let token = self.token.expose();
        if token.trim().is_empty() {
            return Err(format!("tenant {} has an empty token", base.url));
        }
        if token.chars().any(char::is_control) {
            return Err(format!(
                "tenant {} has a token with a line break or control character in it (check how the token was pasted)",
                base.url
            ));
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

/// The one admission rule for tenant records from any source (environment,
/// `--file`, stdin): each tenant is checked and normalised
/// ([`Tenant::normalize`]: URL, port, no credentials in the URL, token,
/// headers), its token registered for redaction and, under GitHub Actions,
/// masked (`::add-mask::`) before anything else is printed; a URL seen
/// before is refused, naming where it was first seen.
#[derive(Debug)]
pub struct Admission {
    insecure: bool,
    ci: GithubActions,
    /// Lowercased URL → the origin that brought it first.
    seen: HashMap<String, String>,
    masked: HashSet<String>,
}

impl Admission {
    pub fn new(insecure: bool) -> Self {
        Admission {
            insecure,
            ci: GithubActions::from_env(),
            seen: HashMap::new(),
            masked: HashSet::new(),
        }
    }

    /// Masks a token now (for sources that know every token before checking
    /// any); each token is masked once however often this is called.
    pub fn mask(&mut self, token: &Secret) {
        redact::register(token.expose());
        if self.ci.is_enabled() && self.masked.insert(token.expose().to_string()) {
            self.ci.mask(token);
        }
    }

    /// Checks one tenant from `origin` (`stdin:3`, `CANARY_TENANT_URLS entry
    /// 2`). The error is one line starting with the origin; it never repeats
    /// a token or a password written in the URL.
    pub fn admit(&mut self, mut tenant: Tenant, origin: &str) -> Result<Tenant, String> {
        self.mask(&tenant.token);
        tenant
            .normalize(self.insecure)
            .map_err(|m| format!("{origin}: {m}"))?;
        let key = tenant.url.to_ascii_lowercase();
        if let Some(first) = self.seen.get(&key) {
            return Err(format!(
                "{origin}: duplicate tenant URL {} (same as {first})",
                tenant.url
            ));
        }
        self.seen.insert(key, origin.to_string());
        Ok(tenant)
    }

    /// How many tenants were admitted.
    pub fn count(&self) -> usize {
        self.seen.len()
    }
}

/// Where a tenant came from, for messages: a line of a JSON-lines source, or
/// a position in the environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Line(u64),
    Entry(usize),
}

impl Origin {
    /// `FILE:LINE` or `CANARY_TENANT_URLS entry N`.
    pub fn describe(&self, source_name: &str) -> String {
        match self {
            Origin::Line(line) => format!("{source_name}:{line}"),
            Origin::Entry(n) => format!("{URLS_VAR} entry {n}"),
        }
    }
}

/// Normalises every tenant and checks the fleet as a whole with one
/// [`Admission`]: at least one tenant and no URL twice. `origins[i]` says
/// where tenant `i` came from; `source_name` names the file, `stdin`, or the
/// variables.
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
    let mut admission = Admission::new(insecure);
    tenants.iter().for_each(|t| admission.mask(&t.token));
    for (i, tenant) in tenants.iter_mut().enumerate() {
        let origin = origins
            .get(i)
            .map_or_else(|| format!("tenant {}", i + 1), |o| o.describe(source_name));
        let placeholder = Tenant {
            name: None,
            url: String::new(),
            token: Secret::default(),
            headers: None,
            extra: Map::new(),
        };
        let taken = std::mem::replace(tenant, placeholder);
        *tenant = admission.admit(taken, &origin).map_err(Error::Usage)?;
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

    fn tenant(url: &str, token: &str) -> Tenant {
        from_env_values(Some(url), Some(token)).unwrap().remove(0)
    }

    #[test]
    fn admission_names_the_origin_and_the_first_duplicate() {
        let mut admission = Admission::new(false);
        let t = admission
            .admit(tenant("https://a.example.com/", "adm-tok-1"), "stdin:1")
            .unwrap();
        assert_eq!(t.url, "https://a.example.com");
        let err = admission
            .admit(tenant("https://A.example.com", "adm-tok-2"), "stdin:3")
            .unwrap_err();
        assert_eq!(
            err,
            "stdin:3: duplicate tenant URL https://A.example.com (same as stdin:1)"
        );
        assert_eq!(admission.count(), 1);
    }

    #[test]
    fn admission_refuses_bad_tenants_without_repeating_secrets() {
        let mut admission = Admission::new(false);
        let cases = [
            (
                "https://u:pa55/w0rd@h.example.com",
                "adm-tok-3",
                "credentials",
            ),
            (
                "https://h.example.com:99999",
                "adm-tok-4",
                "not a port number",
            ),
            ("http://h.example.com", "adm-tok-5", "--insecure"),
        ];
        for (url, token, want) in cases {
            let err = admission
                .admit(tenant(url, token), "CANARY_TENANT_URLS entry 2")
                .unwrap_err();
            assert!(err.starts_with("CANARY_TENANT_URLS entry 2: "), "{err}");
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("pa55") && !err.contains(token), "{err}");
        }
        let mut t = tenant("https://h.example.com", "x");
        t.token = Secret::new("adm-tok\nline2");
        let err = admission.admit(t, "stdin:7").unwrap_err();
        assert!(err.contains("line break"), "{err}");
        let mut t = tenant("https://h.example.com", "x");
        t.token = Secret::new("  ");
        assert!(admission
            .admit(t, "stdin:8")
            .unwrap_err()
            .contains("empty token"));
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
