//! CRM connectors (SPEC §11): HubSpot (CRM v3 API) and Salesforce (REST query API) read into
//! the org's `crm` data source exactly as `import_crm` would make it from an export.
//!
//! Each vendor module turns its API's pages into [`crate::engine::SyncedAccount`]s and
//! [`crate::engine::SyncedDeal`]s; [`sync`] pages through them (checkpointing every page to a
//! file beside the database so an interrupted sync resumes), then hands the whole pull to the
//! engine, which applies it in one write transaction.

pub mod http;
pub mod hubspot;
pub mod salesforce;
pub mod sync;

use crate::engine::{SyncedAccount, SyncedDeal};
use crate::error::Result;
use http::Http;

/// The two passes of a sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Accounts,
    Deals,
}

impl Phase {
    pub const ALL: [Phase; 2] = [Phase::Accounts, Phase::Deals];
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Accounts => "accounts",
            Phase::Deals => "deals",
        }
    }
}

/// One page of one phase.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub accounts: Vec<SyncedAccount>,
    pub deals: Vec<SyncedDeal>,
    /// The cursor of the next page (None: the phase is done).
    pub next: Option<String>,
    /// The latest last-modified time among the page's objects (the vendor's own format).
    pub max_modified: Option<String>,
    /// How many objects the phase holds in all, when the vendor says.
    pub total: Option<u64>,
}

/// A CRM as the sync sees it.
pub trait Vendor {
    /// Reads what pages need (pipelines and owners, currency settings) and checks the token.
    fn prepare(&mut self, http: &mut Http) -> Result<()>;
    /// One page: `cursor` None starts the phase; `since` (a previous high-water mark) makes it
    /// incremental.
    fn page(
        &mut self,
        http: &mut Http,
        phase: Phase,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<Page>;
    /// Whether `a` is later than `b` (both in the vendor's last-modified format).
    fn later(&self, a: &str, b: &str) -> bool;
}

/// Reads environment variables (injectable, so tests need not touch the process environment).
pub type Env = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The process environment, empty values counting as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Text of a JSON value as an export cell would hold it (null → empty).
pub(crate) fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn opt(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

/// A vendor's answer that is not the JSON its API documents.
pub(crate) fn malformed(vendor: &str, url: &str, e: &dyn std::fmt::Display) -> crate::Error {
    crate::Error::Io(format!(
        "{vendor} answered {} with a body that is not the JSON its API documents ({e}). Nothing was changed; run the sync again later (it resumes where it stopped).",
        http::path_of(url)
    ))
}
