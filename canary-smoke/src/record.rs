//! What a run produces: one record per check (written on stdout as soon as
//! the check is judged), and every check of one tenant once it is done.
//! The report, the JUnit file and the drop-in text are all built from these.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One check-result record, as written on stdout (see docs/records.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub tenant: String,
    pub url: String,
    pub check: String,
    pub ok: bool,
    /// The response status; `null` when there was no response.
    pub status: Option<u16>,
    /// Time for the request (all attempts); 0 for a check not run.
    pub ms: u64,
    /// What the check expects, in words.
    pub expected: String,
    /// What came back: an excerpt of the body, or why nothing did.
    pub got: String,
    /// Why the check failed; absent when it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request method, on failing checks that were sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The full request URL, on failing checks that were sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The build under test, with `--sha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The tenant record's other fields (never `token` or `headers`), so a
    /// failing result still says which region or owner it belongs to.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tenant_fields: Map<String, Value>,
    /// False for a check failed without sending it (the tenant was
    /// unreachable, or a capture it needs is missing).
    #[serde(skip)]
    pub sent: bool,
    /// The check's description for the drop-in text (its name if none).
    #[serde(skip)]
    pub description: String,
}

/// Every check of one tenant, in suite order, once the last is judged.
#[derive(Debug, Clone)]
pub struct TenantResult {
    pub name: String,
    pub url: String,
    pub checks: Vec<CheckRecord>,
    /// Wall time of the tenant's run, in milliseconds (its checks overlap).
    pub ms: u64,
}

impl TenantResult {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn checks_passed(&self) -> usize {
        self.checks.iter().filter(|c| c.ok).count()
    }
}
