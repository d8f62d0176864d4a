//! Where tenants come from: JSON lines on stdin, streamed, or the two
//! variables `canary-smoke.sh` read.

use std::collections::HashSet;
use std::io::{self, BufReader};

use common::ci::GithubActions;
use common::jsonl::Records;
use common::tenant::{self, Tenant, TOKENS_VAR, URLS_VAR};

use crate::runner::Feed;

/// Reads the fleet from `CANARY_TENANT_URLS`/`CANARY_ADMIN_TOKENS`: all of
/// it is checked (and every token masked) before the first tenant is sent.
pub fn from_env(feed: &mut Feed, ci: &GithubActions, insecure: bool) -> Result<(), common::Error> {
    let urls = std::env::var(URLS_VAR).ok();
    if urls.is_none() {
        return Err(common::Error::Usage(format!(
            "{URLS_VAR} is not set: give the tenant base URLs (separated by spaces, commas or \
             newlines), or pipe tenant JSON lines into canary-smoke"
        )));
    }
    let tokens = std::env::var(TOKENS_VAR).ok();
    let mut tenants = tenant::from_env_values(urls.as_deref(), tokens.as_deref())?;
    tenants.iter().for_each(|t| ci.mask(&t.token));
    let origins = tenant::env_origins(tenants.len());
    tenant::validate_fleet(
        &mut tenants,
        &format!("{URLS_VAR}/{TOKENS_VAR}"),
        &origins,
        insecure,
    )?;
    for tenant in tenants {
        if !feed.send(tenant) {
            break;
        }
    }
    Ok(())
}

/// Streams tenant JSON lines from stdin, sending each to the workers as
/// soon as its line arrives. A bad line stops the reading with an error
/// naming it; tenants already sent are still checked.
pub fn from_stdin(
    feed: &mut Feed,
    ci: &GithubActions,
    insecure: bool,
) -> Result<(), common::Error> {
    let mut records = Records::<_, Tenant>::new(BufReader::new(io::stdin()), "stdin");
    let mut seen = HashSet::new();
    while let Some(record) = records.next() {
        let mut tenant = record?;
        ci.mask(&tenant.token);
        let line = records.line();
        let bad = |message: String| common::Error::Input {
            source_name: "stdin".into(),
            line,
            message,
        };
        tenant.normalize(insecure).map_err(bad)?;
        if !seen.insert(tenant.url.to_ascii_lowercase()) {
            return Err(bad(format!("duplicate tenant URL {}", tenant.url)));
        }
        if !feed.send(tenant) {
            break;
        }
    }
    if feed.sent == 0 && !feed.reporter.is_closed() {
        let hint = if std::env::var_os(URLS_VAR).is_some() {
            format!("; {URLS_VAR} is set: pass --from-env to read the fleet from it")
        } else {
            String::new()
        };
        return Err(common::Error::Usage(format!(
            "no tenants on stdin: there is nothing to check{hint}"
        )));
    }
    Ok(())
}
