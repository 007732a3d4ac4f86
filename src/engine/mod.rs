//! The product. One module per capability; every public operation takes the acting user
//! ([`Actor`]) and decides what it may read or write through [`access`], the one privacy gate.

pub mod access;
mod atomic;
mod columns;
mod crm;
mod crm_sync;
mod exports;
mod filters;
mod fx;
mod imports;
mod influence;
mod new_accounts;
mod orgs;
mod overlaps;
mod partnerships;
mod populations;
mod recommendations;
mod remote;
mod reports;
mod score;
mod search;
mod share_requests;
mod sharing;
mod suggestions;
mod threads;
pub mod tokens;

pub use crm::CrmImportReport;
pub use crm_sync::{
    CrmConnection, CrmKind, CrmSyncReport, NewCrmConnection, SyncChanges, SyncPull, SyncRowError,
    SyncedAccount, SyncedDeal, default_token_env,
};
pub use exports::ExportResult;
pub use filters::{Filter, FilterOp};
pub use fx::{FxRate, FxTable, FxUpdate};
pub use imports::{DataSourceRef, ImportReport, ImportSpec};
pub use influence::{Influence, InfluenceGroup, InfluenceRow, InfluenceTotals, Measures, Period};
pub use new_accounts::{NewAccount, NewAccountPartner, NewAccounts};
pub use orgs::{InitOrg, NewUser};
pub use overlaps::{OverlapCell, PopRef};
pub use partnerships::{Deleted, PartnerDetail, PartnerSummary, PartnershipView, SideSharing};
pub use populations::{NewPopulation, PopulationSummary};
pub use recommendations::{
    AccountLookup, AccountRef, DealNavigator, DealQuery, DealRecommendation, DealSort, DealSummary,
    LookupPartner, LookupPopulation, NavigatorItem, OpportunityView, PartnerBrief, Pipeline,
    PipelineAccount, PipelinePartner, PipelineQuery, PipelineSort, Signal, TopPartner, TopSort,
    as_of_arg, parse_label,
};
pub use remote::RemoteStatus;
pub use reports::{
    DEFAULT_LIMIT as REPORT_DEFAULT_LIMIT, MAX_LIMIT as REPORT_MAX_LIMIT, Report, ReportColumns,
    ReportQuery, ReportRow, encode_cursor as report_cursor,
};
pub use score::{PartnerId, PartnerScore, PendingRequest, Reason, SideMetrics, parse_as_of};
pub use search::SearchResult;
pub use share_requests::{NewShareRequest, RequestSides, RequestText, ShareRequestView};
pub use sharing::SharingView;
pub use suggestions::{SuggestedOrg, Suggestion, SuggestionSignal, SuggestionStatus, Suggestions};
pub use threads::{MessageView, NewThread, Person, ThreadView};
pub use tokens::{NewToken, TokenView};

use crate::error::Result;
use crate::matching::{Keyer, PopKeys};
use crate::store;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// One network in one SQLite file.
pub struct Engine {
    conn: Connection,
    keyer: Keyer,
    /// Population key vectors by population id, with the version they were read at.
    keys_cache: RefCell<HashMap<i64, (i64, Arc<PopKeys>)>>,
    /// The last set of Partner Scores computed, with what it was computed for.
    score_cache: RefCell<Option<(score::ScoreCacheKey, Arc<Vec<score::PartnerScore>>)>>,
    /// A fixed "now" (from `PARTNERMAP_NOW`), for reproducible runs and tests.
    now_override: Option<DateTime<Utc>>,
    /// Inside [`Engine::atomic`] (its transaction is open).
    in_atomic: bool,
}

impl Engine {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Engine> {
        let mut conn = store::open(path)?;
        populations::refresh_if_stale(&mut conn)?;
        let keyer = Keyer::new(store::fingerprint_seed(&conn)?);
        let now_override = env_now();
        Ok(Engine {
            conn,
            keyer,
            keys_cache: RefCell::new(HashMap::new()),
            score_cache: RefCell::new(None),
            now_override,
            in_atomic: false,
        })
    }

    /// Fixes the clock (tests, reproducible demos).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now_override = Some(now);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now_override.unwrap_or_else(Utc::now)
    }

    pub(crate) fn now_str(&self) -> String {
        self.now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// The raw connection, for tests and tools that inspect the database (never for policy).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection for writes by the federation layer (its own tables and what remote
    /// partners released); policy stays in the engine.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn keyer(&self) -> Keyer {
        self.keyer
    }

    /// Runs `f` inside one read transaction: every statement sees the same snapshot and the
    /// database lock is taken once. For read-only operations (a write inside would fail).
    pub fn snapshot<T>(&self, f: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            // Left open by an operation that panicked: nothing of it is kept.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.conn.execute_batch("BEGIN")?;
        let r = f(self);
        self.conn.execute_batch("COMMIT")?;
        r
    }

    /// A dump of every row, to compare before and after a failed write.
    pub fn dump(&self) -> Result<String> {
        Ok(store::dump(&self.conn)?)
    }
}

/// `PARTNERMAP_NOW`, a fixed clock for tests and reproducible runs: read only by debug builds
/// (what `cargo test` runs) or with the `test-clock` feature. A release build ignores it (with a
/// warning): a clock the environment sets would move export terms and score periods.
fn env_now() -> Option<DateTime<Utc>> {
    let v = std::env::var("PARTNERMAP_NOW").ok()?;
    if cfg!(any(debug_assertions, feature = "test-clock")) {
        parse_now(&v)
    } else {
        tracing::warn!("PARTNERMAP_NOW is ignored: this build uses the real clock");
        None
    }
}

/// Accepts `2026-11-23` or an RFC 3339 timestamp.
pub fn parse_now(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc())
}
