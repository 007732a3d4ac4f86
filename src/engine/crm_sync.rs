//! CRM connections and syncs (SPEC §11): the connection state of an org, and applying what a
//! connector fetched to the org's `crm` data source — the same records, fields, derived fields
//! and deals as `import_crm` makes from an export (SPEC §8), but updated in place: records and
//! deals keep their ids, so threads and what a partner was told stay attached.
//!
//! A sync is applied in one write transaction (with the connection's new high-water marks), so
//! a failed sync changes nothing. The connector (src/connectors) does the fetching.

use super::Engine;
use super::imports::{DataSourceRef, RecordWriter, existing_source};
use super::populations::refresh_source;
use crate::error::{Result, invalid, not_found};
use crate::ingest::crm::parse_amount;
use crate::model::{Actor, Permission, SourceKind};
use crate::store;
use crate::store::crm_sync::{self as sql, ConnectionRow};
use crate::store::opportunities::{NewOpportunity, OpportunityInserter};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which CRM an org is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrmKind {
    Hubspot,
    Salesforce,
}

impl CrmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CrmKind::Hubspot => "hubspot",
            CrmKind::Salesforce => "salesforce",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CrmKind::Hubspot => "HubSpot",
            CrmKind::Salesforce => "Salesforce",
        }
    }
    pub fn parse(s: &str) -> Option<CrmKind> {
        match s.to_ascii_lowercase().as_str() {
            "hubspot" => Some(CrmKind::Hubspot),
            "salesforce" => Some(CrmKind::Salesforce),
            _ => None,
        }
    }
}

/// What `connect` stores.
#[derive(Debug, Clone)]
pub struct NewCrmConnection {
    pub kind: CrmKind,
    /// Salesforce's instance URL (HubSpot: None; its base URL comes from PARTNERMAP_HUBSPOT_API).
    pub instance_url: Option<String>,
    /// The environment variable holding the token (None: the CRM's default variable).
    pub token_env: Option<String>,
    /// The crm data source to fill (default `crm`).
    pub source_name: String,
    /// Extra record fields: partnermap field name → CRM property (or field) name.
    pub field_map: BTreeMap<String, String>,
}

/// An org's CRM connection and where its syncs stand.
#[derive(Debug, Clone, Serialize)]
pub struct CrmConnection {
    pub kind: CrmKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// The environment variable the token is read from.
    pub token_env: String,
    pub data_source: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub field_map: BTreeMap<String, String>,
    /// Last-modified high-water marks per object (`accounts`, `deals`) of the last sync.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cursors: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_full_sync_at: Option<String>,
    /// Accounts and deals in the data source after the last sync.
    pub accounts: i64,
    pub opportunities: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<Value>,
}

impl CrmConnection {
    fn from_row(r: ConnectionRow) -> Self {
        let kind = CrmKind::parse(&r.kind).unwrap_or(CrmKind::Hubspot);
        CrmConnection {
            kind,
            instance_url: r.instance_url,
            token_env: r
                .token_env
                .unwrap_or_else(|| default_token_env(kind).to_string()),
            data_source: r.source_name,
            field_map: serde_json::from_str(&r.field_map).unwrap_or_default(),
            cursors: serde_json::from_str(&r.cursors).unwrap_or_default(),
            last_sync_at: r.last_sync_at,
            last_full_sync_at: r.last_full_sync_at,
            accounts: r.accounts,
            opportunities: r.opportunities,
            last_sync: r.last_sync.and_then(|s| serde_json::from_str(&s).ok()),
        }
    }
}

pub fn default_token_env(kind: CrmKind) -> &'static str {
    match kind {
        CrmKind::Hubspot => "PARTNERMAP_HUBSPOT_TOKEN",
        CrmKind::Salesforce => "PARTNERMAP_SALESFORCE_TOKEN",
    }
}

/// One account (company) as a connector read it, already mapped to partnermap's fields:
/// `fields` holds `type, owner, industry, country, employees` (empty text when the CRM has no
/// value, as an export's empty cell) and the mapped custom fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncedAccount {
    pub id: String,
    pub name: String,
    pub website: String,
    pub fields: Map<String, Value>,
}

/// One deal as a connector read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncedDeal {
    pub id: String,
    /// The associated company / account (None: the deal has none, and is skipped).
    pub account_id: Option<String>,
    pub name: Option<String>,
    pub stage: Option<String>,
    /// The amount as the CRM gave it (text), checked as an export's cell is.
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub open_date: Option<NaiveDate>,
    pub close_date: Option<NaiveDate>,
    pub is_won: Option<bool>,
    pub is_closed: Option<bool>,
}

/// Everything one sync fetched.
#[derive(Debug, Clone, Default)]
pub struct SyncPull {
    /// A full sync: every account and deal of the CRM (what is missing was deleted there).
    pub full: bool,
    pub accounts: Vec<SyncedAccount>,
    pub deals: Vec<SyncedDeal>,
    /// New high-water marks per object kind, stored with the data.
    pub cursors: BTreeMap<String, String>,
    /// HTTP requests the fetch made.
    pub requests: u64,
}

/// An account or deal the sync left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRowError {
    /// `account` or `deal`.
    pub object: &'static str,
    pub id: String,
    pub reason: String,
}

/// What changed in the data source, by record id (for a federation republish).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncChanges {
    pub added: Vec<i64>,
    pub updated: Vec<i64>,
    pub removed: Vec<i64>,
}

impl SyncChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct CrmSyncReport {
    pub crm: CrmKind,
    pub data_source: DataSourceRef,
    pub full: bool,
    /// Accounts and deals read from the CRM.
    pub accounts_fetched: usize,
    pub deals_fetched: usize,
    pub accounts_added: usize,
    pub accounts_updated: usize,
    pub accounts_removed: usize,
    pub deals_added: usize,
    pub deals_updated: usize,
    pub deals_removed: usize,
    /// Rows left out (no name, a deal without a company, a currency without a rate, …).
    pub rows_rejected: usize,
    pub errors: Vec<SyncRowError>,
    /// Accounts and deals in the data source now.
    pub accounts: i64,
    pub opportunities: i64,
    pub populations_refreshed: usize,
    pub requests: u64,
    pub synced_at: String,
    /// Record ids added, updated and removed (not printed; for a federation republish).
    #[serde(skip)]
    pub changes: SyncChanges,
}

/// Fields an import derives from an account's deals (see engine/crm.rs).
const DERIVED: &[&str] = &[
    "has_open_opportunity",
    "open_opportunities",
    "won_opportunities",
    "opportunities",
];

fn with_derived(base: &Map<String, Value>, counts: (i64, i64, i64)) -> Map<String, Value> {
    let (total, open, won) = counts;
    let mut f = base.clone();
    f.insert(
        "has_open_opportunity".into(),
        Value::String((open > 0).to_string()),
    );
    f.insert("open_opportunities".into(), Value::String(open.to_string()));
    f.insert("won_opportunities".into(), Value::String(won.to_string()));
    f.insert("opportunities".into(), Value::String(total.to_string()));
    f
}

fn without_derived(fields: &str) -> Map<String, Value> {
    let mut m: Map<String, Value> = serde_json::from_str(fields).unwrap_or_default();
    for k in DERIVED {
        m.remove(*k);
    }
    m
}

/// The checks `import_crm` makes on an account row.
fn check_account(a: &SyncedAccount) -> std::result::Result<(), String> {
    if a.id.is_empty() {
        return Err("the account id is empty".into());
    }
    if a.name.trim().is_empty() {
        return Err(format!("account '{}' has no name", a.id));
    }
    if let Some(Value::String(e)) = a.fields.get("employees")
        && !e.is_empty()
        && e.replace([',', '_'], "").parse::<u64>().is_err()
    {
        return Err(format!("employees '{e}' is not a whole number"));
    }
    Ok(())
}

/// A deal checked as `import_crm` checks an opportunity row.
struct CheckedDeal {
    amount: Option<f64>,
    currency: Option<String>,
}

fn check_deal(
    d: &SyncedDeal,
    known_currency: &impl Fn(&str) -> bool,
) -> std::result::Result<CheckedDeal, String> {
    if d.id.is_empty() {
        return Err("the deal id is empty".into());
    }
    let amount = parse_amount(d.amount.as_deref().unwrap_or(""))?;
    let currency = match d.currency.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => {
            let code = crate::ingest::fx::currency_code(c)
                .ok_or_else(|| format!("currency '{c}' is not a three-letter code such as USD"))?;
            if !known_currency(&code) {
                return Err(format!(
                    "currency '{code}' is not in the exchange-rate table; add it with 'fx set {code} RATE' or 'fx update', then sync again with --full"
                ));
            }
            Some(code)
        }
    };
    if let (Some(o), Some(c)) = (d.open_date, d.close_date)
        && c < o
    {
        return Err(format!("close date {c} is before create date {o}"));
    }
    if d.is_won == Some(true) && d.is_closed == Some(false) {
        return Err("the deal is won but not closed: a won deal is closed".into());
    }
    Ok(CheckedDeal { amount, currency })
}

impl Engine {
    /// Stores the org's CRM connection (one per org; connecting again replaces it and the next
    /// sync is a full one). No token is stored: only the name of its environment variable.
    pub fn crm_connect(&mut self, actor: &Actor, c: &NewCrmConnection) -> Result<CrmConnection> {
        self.require(actor, Permission::ManageDataSources, "connect a CRM")?;
        let (source_name, existing) =
            existing_source(&self.conn, actor.org.id, &c.source_name, SourceKind::Crm)?;
        if let Some(env) = &c.token_env
            && (env.is_empty()
                || !env
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(invalid(format!(
                "--token-env names an environment variable (letters, digits, _), such as {}; the token itself is never passed on the command line.",
                default_token_env(c.kind)
            )));
        }
        if c.kind == CrmKind::Salesforce {
            let url = c.instance_url.as_deref().unwrap_or("");
            let ok = url::Url::parse(url)
                .map(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(invalid(format!(
                    "Salesforce needs --instance-url, your org's https URL such as https://acme.my.salesforce.com ('{url}' is not one)."
                )));
            }
        }
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let before = sql::connection(&tx, actor.org.id)?;
        let same_target = before.as_ref().is_some_and(|b| {
            b.kind == c.kind.as_str()
                && b.instance_url.as_deref() == c.instance_url.as_deref()
                && b.source_name.eq_ignore_ascii_case(&source_name)
        });
        let row = ConnectionRow {
            org_id: actor.org.id,
            kind: c.kind.as_str().into(),
            instance_url: c
                .instance_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            token_env: c.token_env.clone(),
            source_name: existing.map(|s| s.name).unwrap_or(source_name),
            field_map: serde_json::to_string(&c.field_map).unwrap_or_else(|_| "{}".into()),
            // Same CRM and source: the marks stay valid; otherwise the next sync is full.
            cursors: match (&before, same_target) {
                (Some(b), true) => b.cursors.clone(),
                _ => "{}".into(),
            },
            last_sync_at: before
                .as_ref()
                .filter(|_| same_target)
                .and_then(|b| b.last_sync_at.clone()),
            last_full_sync_at: before
                .as_ref()
                .filter(|_| same_target)
                .and_then(|b| b.last_full_sync_at.clone()),
            last_sync: before
                .as_ref()
                .filter(|_| same_target)
                .and_then(|b| b.last_sync.clone()),
            accounts: before.as_ref().map_or(0, |b| b.accounts),
            opportunities: before.as_ref().map_or(0, |b| b.opportunities),
        };
        sql::upsert_connection(&tx, &row, &now)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "crm_connect",
            "crm_connection",
            Some(actor.org.id),
            before
                .as_ref()
                .map(|b| json!({"kind": b.kind, "instance_url": b.instance_url}))
                .as_ref(),
            Some(&json!({
                "kind": row.kind,
                "instance_url": row.instance_url,
                "token_env": row.token_env,
                "data_source": row.source_name,
            })),
        )?;
        tx.commit()?;
        Ok(CrmConnection::from_row(row))
    }

    /// The acting org's CRM connection, if any.
    pub fn crm_connection(&self, actor: &Actor) -> Result<Option<CrmConnection>> {
        Ok(sql::connection(&self.conn, actor.org.id)?.map(CrmConnection::from_row))
    }

    /// Checks that the actor may sync and that a connection exists; returns it.
    pub fn crm_sync_target(&self, actor: &Actor) -> Result<CrmConnection> {
        self.require(actor, Permission::ManageDataSources, "sync the CRM")?;
        self.crm_connection(actor)?.ok_or_else(|| {
            not_found(format!(
                "{} has no CRM connection. Run 'partnermap connect hubspot' (or 'connect salesforce --instance-url URL') first.",
                actor.org.name
            ))
        })
    }

    /// Applies a connector's pull to the org's `crm` data source in one write transaction.
    /// `expected` is the connection the pull was made for: if it changed meanwhile (another
    /// sync, a new connect), nothing is written.
    pub fn apply_crm_sync(
        &mut self,
        actor: &Actor,
        expected: &CrmConnection,
        pull: SyncPull,
    ) -> Result<CrmSyncReport> {
        self.require(actor, Permission::ManageDataSources, "sync the CRM")?;
        let owner = actor.org.id;
        let fx = self.fx_table()?;
        let keyer = self.keyer;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let Some(row) = sql::connection(&tx, owner)? else {
            return Err(not_found(
                "The CRM connection was removed while syncing; nothing was changed. Connect again, then sync.",
            ));
        };
        let current = CrmConnection::from_row(row.clone());
        if current.kind != expected.kind
            || current.cursors != expected.cursors
            || current.data_source != expected.data_source
            || current.instance_url != expected.instance_url
        {
            return Err(crate::error::conflict(
                "Another sync or a new connection changed the CRM state while this sync ran; nothing was changed. Run the sync again.",
            ));
        }
        let (source_name, existing) =
            existing_source(&tx, owner, &current.data_source, SourceKind::Crm)?;
        let source_id = match &existing {
            Some(s) => s.id,
            None => store::records::insert_source(
                &tx,
                owner,
                &source_name,
                SourceKind::Crm,
                Some("name"),
                Some("website"),
                &now,
            )?,
        };
        let full = pull.full || existing.is_none();
        let mut errors = Vec::new();

        // Accounts: the last copy of an id wins (incremental pages may repeat an object).
        let mut accounts: Vec<SyncedAccount> = Vec::with_capacity(pull.accounts.len());
        {
            let mut at: HashMap<String, usize> = HashMap::with_capacity(pull.accounts.len());
            for a in pull.accounts {
                if let Err(reason) = check_account(&a) {
                    errors.push(SyncRowError {
                        object: "account",
                        id: a.id.clone(),
                        reason,
                    });
                    if let Some(i) = at.remove(&a.id) {
                        accounts[i].id.clear(); // an earlier good copy is superseded
                    }
                    continue;
                }
                match at.get(&a.id) {
                    Some(&i) => accounts[i] = a,
                    None => {
                        at.insert(a.id.clone(), accounts.len());
                        accounts.push(a);
                    }
                }
            }
            accounts.retain(|a| !a.id.is_empty());
        }
        let deals_fetched = pull.deals.len();
        let accounts_fetched = accounts.len() + errors.len();

        let stored = sql::records_by_external_id(&tx, source_id)?;
        let mut record_of: HashMap<String, i64> = HashMap::with_capacity(stored.len());
        let mut base_of: HashMap<i64, (Map<String, Value>, String)> =
            HashMap::with_capacity(stored.len());
        let mut stored_by_ext: HashMap<String, sql::StoredRecord> =
            HashMap::with_capacity(stored.len());
        for (ext, r) in stored {
            record_of.insert(ext.clone(), r.id);
            base_of.insert(r.id, (without_derived(&r.fields), r.fields.clone()));
            stored_by_ext.insert(ext, r);
        }
        // Read before deletions: deals of removed records go by cascade and are counted.
        let stored_deals: HashMap<String, sql::StoredDeal> =
            sql::deals_by_external_id(&tx, source_id)?
                .into_iter()
                .collect();
        let mut changes = SyncChanges::default();
        let (mut a_added, mut a_updated, mut a_removed) = (0, 0, 0);
        let seen: HashSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        // Full sync: what the CRM no longer has goes (its deals by cascade).
        if full {
            for (ext, r) in &stored_by_ext {
                if !seen.contains(ext.as_str()) {
                    sql::delete_record(&tx, r.id)?;
                    record_of.remove(ext);
                    base_of.remove(&r.id);
                    changes.removed.push(r.id);
                    a_removed += 1;
                }
            }
        }
        {
            let mut writer = RecordWriter::new(&tx, keyer, owner, source_id)?;
            for a in &accounts {
                match stored_by_ext
                    .get(&a.id)
                    .filter(|_| record_of.contains_key(&a.id))
                {
                    Some(r) => {
                        let (base, _) = &base_of[&r.id];
                        if r.name != a.name || r.website != a.website || *base != a.fields {
                            let keys = keyer.keys(&a.name, &a.website);
                            // Fields are rewritten with the derived ones below.
                            sql::update_record(&tx, r.id, &a.name, &a.website, &keys, &r.fields)?;
                            base_of.insert(r.id, (a.fields.clone(), r.fields.clone()));
                            changes.updated.push(r.id);
                            a_updated += 1;
                        }
                    }
                    None => {
                        let fields = with_derived(&a.fields, (0, 0, 0));
                        let id = writer.write(Some(&a.id), &a.name, &a.website, &fields)?;
                        record_of.insert(a.id.clone(), id);
                        base_of.insert(
                            id,
                            (
                                a.fields.clone(),
                                serde_json::to_string(&fields).unwrap_or_default(),
                            ),
                        );
                        changes.added.push(id);
                        a_added += 1;
                    }
                }
            }
        }

        // Deals.
        let live: HashSet<i64> = record_of.values().copied().collect();
        let (mut d_added, mut d_updated, mut d_removed) = (0, 0, 0);
        let mut kept: HashSet<String> = HashSet::new();
        let mut deal_at: HashMap<String, usize> = HashMap::new();
        let mut deals: Vec<SyncedDeal> = Vec::with_capacity(pull.deals.len());
        for d in pull.deals {
            match deal_at.get(&d.id) {
                Some(&i) => deals[i] = d,
                None => {
                    deal_at.insert(d.id.clone(), deals.len());
                    deals.push(d);
                }
            }
        }
        {
            let mut ins = OpportunityInserter::new(&tx, owner, source_id)?;
            for d in &deals {
                let checked = check_deal(d, &|c| fx.knows(c)).and_then(|c| {
                    let acc = d
                        .account_id
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| {
                            format!("deal '{}' has no associated company or account", d.id)
                        })?;
                    let rec = record_of.get(acc).copied().ok_or_else(|| {
                        format!(
                            "deal '{}' belongs to account '{acc}', which was not synced (deleted, or left out above)",
                            d.id
                        )
                    })?;
                    Ok((c, rec))
                });
                let (c, record_id) = match checked {
                    Ok(x) => x,
                    Err(reason) => {
                        errors.push(SyncRowError {
                            object: "deal",
                            id: d.id.clone(),
                            reason,
                        });
                        continue;
                    }
                };
                kept.insert(d.id.clone());
                let o = NewOpportunity {
                    record_id,
                    external_id: &d.id,
                    name: d.name.as_deref(),
                    stage: d.stage.as_deref(),
                    amount: c.amount,
                    currency: c.currency.as_deref(),
                    open_date: d.open_date.map(|x| x.to_string()),
                    close_date: d.close_date.map(|x| x.to_string()),
                    is_won: d.is_won,
                    is_closed: d.is_closed,
                };
                match stored_deals.get(&d.id) {
                    Some(s) if live.contains(&s.record_id) => {
                        if !s.same_as(&o) {
                            sql::update_deal(&tx, s.id, &o)?;
                            d_updated += 1;
                        }
                    }
                    _ => {
                        ins.insert(&o)?;
                        d_added += 1;
                    }
                }
            }
        }
        // A deal that is now rejected, or (full sync) gone from the CRM, goes; deals of removed
        // records went by cascade.
        let rejected_deals: HashSet<&str> = errors
            .iter()
            .filter(|e| e.object == "deal")
            .map(|e| e.id.as_str())
            .collect();
        for (ext, s) in &stored_deals {
            if !live.contains(&s.record_id) {
                d_removed += 1;
                continue;
            }
            let gone = if full {
                !kept.contains(ext)
            } else {
                rejected_deals.contains(ext.as_str())
            };
            if gone {
                sql::delete_deal(&tx, s.id)?;
                d_removed += 1;
            }
        }

        // Derived fields, as an import computes them, for every record whose deals or fields
        // may have changed.
        let counts: HashMap<i64, (i64, i64, i64)> = sql::deal_counts(&tx, source_id)?
            .into_iter()
            .map(|(r, t, o, w)| (r, (t, o, w)))
            .collect();
        let updated: HashSet<i64> = changes.updated.iter().copied().collect();
        let added: HashSet<i64> = changes.added.iter().copied().collect();
        for (id, (base, stored_json)) in &base_of {
            let fields = with_derived(base, counts.get(id).copied().unwrap_or((0, 0, 0)));
            let json = serde_json::to_string(&fields).unwrap_or_default();
            if json != *stored_json {
                sql::update_record_fields(&tx, *id, &json)?;
                if !updated.contains(id) && !added.contains(id) {
                    changes.updated.push(*id);
                    a_updated += 1;
                }
            }
        }
        changes.added.sort_unstable();
        changes.updated.sort_unstable();
        changes.removed.sort_unstable();

        let populations_refreshed = store::populations::of_source(&tx, source_id)?.len();
        if full || !changes.is_empty() {
            // Records changed in place: the source's column side tables are rebuilt from them.
            store::columns::clear(&tx, source_id)?;
            refresh_source(&tx, source_id)?;
            store::records::touch_source(&tx, source_id, Some("name"), Some("website"), &now)?;
        }
        let (n_accounts, n_deals) = sql::source_counts(&tx, source_id)?;
        let mut cursors = current.cursors.clone();
        cursors.extend(pull.cursors);
        let report = CrmSyncReport {
            crm: current.kind,
            data_source: DataSourceRef {
                id: source_id,
                name: source_name.clone(),
            },
            full,
            accounts_fetched,
            deals_fetched,
            accounts_added: a_added,
            accounts_updated: a_updated,
            accounts_removed: a_removed,
            deals_added: d_added,
            deals_updated: d_updated,
            deals_removed: d_removed,
            rows_rejected: errors.len(),
            errors,
            accounts: n_accounts,
            opportunities: n_deals,
            populations_refreshed,
            requests: pull.requests,
            synced_at: now.clone(),
            changes,
        };
        let summary = json!({
            "full": full,
            "accounts_added": a_added, "accounts_updated": a_updated, "accounts_removed": a_removed,
            "deals_added": d_added, "deals_updated": d_updated, "deals_removed": d_removed,
            "rows_rejected": report.rows_rejected, "requests": pull.requests,
        });
        sql::upsert_connection(
            &tx,
            &ConnectionRow {
                cursors: serde_json::to_string(&cursors).unwrap_or_else(|_| "{}".into()),
                last_sync_at: Some(now.clone()),
                last_full_sync_at: if full {
                    Some(now.clone())
                } else {
                    row.last_full_sync_at.clone()
                },
                last_sync: Some(summary.to_string()),
                accounts: n_accounts,
                opportunities: n_deals,
                source_name: source_name.clone(),
                ..row
            },
            &now,
        )?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(owner),
            "crm_sync",
            "data_source",
            Some(source_id),
            None,
            Some(&json!({"crm": current.kind.as_str(), "name": source_name, "sync": summary})),
        )?;
        tx.commit()?;
        Ok(report)
    }
}
