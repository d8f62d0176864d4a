//! `tenant-list`: the fleet as validated tenant JSON lines.

mod cli;

use common::ci::GithubActions;
use common::jsonl::{self, RecordWriter, Records};
use common::tenant::{self, Admission, Origin, Tenant, TOKENS_VAR, URLS_VAR};
use common::{exit, trace, Code, HasCode};

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
    cli.pipe.verbosity.init();
    let ci = GithubActions::from_env();
    let mut admission = Admission::new(cli.pipe.insecure.allowed);
    let (mut tenants, source_name) = load(&cli, &mut admission)?;
    trace::step(&format!("{} tenant(s) from {source_name}", tenants.len()));

    if let Some(pattern) = &cli.pattern {
        tenants.retain(|t| matches(pattern, t));
        if tenants.is_empty() {
            return Err(usage(format!(
                "no tenant in {source_name} matches --match {pattern:?}"
            )));
        }
        trace::step(&format!("{} tenant(s) match {pattern:?}", tenants.len()));
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
        trace::step(&format!(
            "shard {}/{}: {} of {total} tenant(s)",
            shard.index,
            shard.count,
            tenants.len()
        ));
    }

    let mut out = RecordWriter::stdout().show_tokens(cli.pipe.show_tokens);
    for (written, tenant) in tenants.iter().enumerate() {
        match out.write_tenant(tenant) {
            Ok(()) => {}
            // The reader went away: the tenants not yet written were not
            // delivered, so this is not success (see EXIT STATUS).
            Err(e) if e.is_broken_pipe() => {
                let undone = format!(
                    "{} of {} tenant(s) not written",
                    tenants.len() - written,
                    tenants.len()
                );
                return Ok(exit::stdout_closed(TOOL, Some(&undone), Code::Ok));
            }
            Err(e) => return Err(e.into()),
        }
    }
    ci.set_output("count", &tenants.len().to_string())?;
    Ok(Code::Ok)
}

/// The name in messages.
pub const TOOL: &str = "tenant-list";

fn usage(message: String) -> Error {
    Error::Common(common::Error::Usage(message))
}

/// Reads the whole fleet through one [`Admission`]: every token is masked
/// under GitHub Actions as soon as it is known, before any other output
/// (including a later line's error); errors name `FILE:LINE` or
/// `CANARY_TENANT_URLS entry N`. Nothing is written before all is read.
fn load(cli: &Cli, admission: &mut Admission) -> Result<(Vec<Tenant>, String), Error> {
    let (tenants, source_name) = match &cli.file {
        None => {
            let tenants = tenant::from_env()?;
            tenants.iter().for_each(|t| admission.mask(&t.token));
            let mut admitted = Vec::with_capacity(tenants.len());
            for (i, tenant) in tenants.into_iter().enumerate() {
                let origin = Origin::Entry(i + 1).describe(URLS_VAR);
                admitted.push(admission.admit(tenant, &origin).map_err(usage)?);
            }
            (admitted, format!("{URLS_VAR}/{TOKENS_VAR}"))
        }
        Some(path) => {
            let (reader, source_name) = jsonl::open(Some(path))?;
            let mut records = Records::<_, Tenant>::new(reader, source_name.clone());
            let mut admitted = Vec::new();
            while let Some(record) = records.next() {
                let origin = Origin::Line(records.line()).describe(&source_name);
                admitted.push(admission.admit(record?, &origin).map_err(usage)?);
            }
            (admitted, source_name)
        }
    };
    if tenants.is_empty() {
        return Err(usage(format!(
            "no tenants in {source_name}: there is nothing to check"
        )));
    }
    Ok((tenants, source_name))
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
