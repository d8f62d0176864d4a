//! `tenant-list`: the fleet as validated tenant JSON lines.

mod cli;

use common::ci::GithubActions;
use common::jsonl::{self, RecordWriter, Records};
use common::tenant::{self, Origin, Tenant, TOKENS_VAR, URLS_VAR};
use common::{Code, HasCode};

pub use cli::{Cli, Shard};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
        }
    }
}

pub fn run(cli: Cli) -> Result<Code, Error> {
    let ci = GithubActions::from_env();
    let (mut tenants, source_name, origins) = load(&cli, &ci)?;
    tenant::validate_fleet(&mut tenants, &source_name, &origins, cli.insecure)?;

    if let Some(pattern) = &cli.pattern {
        tenants.retain(|t| matches(pattern, t));
        if tenants.is_empty() {
            return Err(usage(format!(
                "no tenant in {source_name} matches --match {pattern:?}"
            )));
        }
    }
    if let Some(shard) = cli.shard {
        let total = tenants.len();
        tenants = tenants
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| shard.holds(i).then_some(t))
            .collect();
        if tenants.is_empty() {
            return Err(usage(format!(
                "shard {}/{} is empty: only {total} tenant(s) to split",
                shard.index, shard.count
            )));
        }
    }

    let mut out = RecordWriter::stdout().show_tokens(cli.show_tokens);
    for tenant in &tenants {
        out.write_tenant(tenant)?;
    }
    Ok(Code::Ok)
}

fn usage(message: String) -> Error {
    Error::Common(common::Error::Usage(message))
}

/// Reads the fleet and masks each token under GitHub Actions as soon as it is
/// known, before any other output (including a later line's error).
fn load(cli: &Cli, ci: &GithubActions) -> Result<(Vec<Tenant>, String, Vec<Origin>), Error> {
    match &cli.file {
        None => {
            let tenants = tenant::from_env()?;
            tenants.iter().for_each(|t| ci.mask(&t.token));
            let origins = tenant::env_origins(tenants.len());
            Ok((tenants, format!("{URLS_VAR}/{TOKENS_VAR}"), origins))
        }
        Some(path) => {
            let (reader, source_name) = jsonl::open(Some(path))?;
            let mut records = Records::<_, Tenant>::new(reader, source_name.clone());
            let mut tenants = Vec::new();
            let mut origins = Vec::new();
            while let Some(record) = records.next() {
                let tenant = record?;
                ci.mask(&tenant.token);
                origins.push(Origin::Line(records.line()));
                tenants.push(tenant);
            }
            Ok((tenants, source_name, origins))
        }
    }
}

fn matches(pattern: &str, tenant: &Tenant) -> bool {
    let name = tenant.name.as_deref().unwrap_or_default();
    if pattern.contains(['*', '?']) {
        glob(pattern.as_bytes(), name.as_bytes()) || glob(pattern.as_bytes(), tenant.url.as_bytes())
    } else {
        name.contains(pattern) || tenant.url.contains(pattern)
    }
}

/// `*` matches any run of characters, `?` any one; the whole text must match.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob(b"canary-*", b"canary-pm"));
        assert!(glob(b"*-pm", b"canary-pm"));
        assert!(glob(b"c?nary*", b"canary"));
        assert!(!glob(b"canary-*", b"prod-pm"));
        assert!(glob(b"*a*b*", b"xxaxxbxx"));
        assert!(!glob(b"*a*b", b"xxaxxbxx"));
    }
}
