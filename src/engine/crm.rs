//! CRM imports (SPEC §8): accounts with their deals, as a `crm` data source, in one transaction.
//! Each account becomes a record (keyed like a CSV import) with derived fields, so standard
//! populations can be defined on CRM data:
//! `has_open_opportunity` ("true"/"false"), `open_opportunities`, `won_opportunities`,
//! `opportunities` (counts).

use super::Engine;
use super::imports::{DataSourceRef, RecordWriter, existing_source, open_source};
use super::populations::refresh_source;
use crate::error::{Result, invalid};
use crate::ingest::crm::{self, CrmRowError};
use crate::ingest::csv_file;
use crate::model::{Actor, Permission, SourceKind};
use crate::store;
use crate::store::opportunities::{NewOpportunity, OpportunityInserter};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// What a CRM import did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CrmImportReport {
    pub data_source: DataSourceRef,
    /// Accounts imported (each becomes a record of yours, matched like a CSV row).
    pub accounts: usize,
    /// Opportunities (deals) imported.
    pub opportunities: usize,
    pub rows_rejected: usize,
    /// Rejected rows with the file, line and reason (at most 200 listed).
    #[serde(serialize_with = "crate::shape::as_first")]
    pub errors: Vec<CrmRowError>,
    /// Whether more rejected rows exist than are listed.
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub errors_truncated: bool,
    /// Accounts kept without a match key (no usable website or name): they never overlap.
    pub accounts_without_key: usize,
    /// Columns opportunities.csv lacks that Partner Score needs (its score stays Unknown until they are filled in).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::shape::as_clean_all"
    )]
    pub missing_columns: Vec<String>,
    /// Populations defined on this data source, recomputed.
    pub populations_refreshed: usize,
    /// Whether an existing CRM data source of that name was replaced.
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub replaced: bool,
}

impl Engine {
    /// Imports a CRM export (accounts.csv + opportunities.csv) as the actor's `crm` data source
    /// named `name`; importing again under the same name replaces it.
    pub fn import_crm(
        &mut self,
        actor: &Actor,
        accounts_path: &Path,
        opportunities_path: &Path,
        name: &str,
    ) -> Result<CrmImportReport> {
        self.atomic(|e| e.import_crm_checked(actor, accounts_path, opportunities_path, name))
    }

    /// [`Self::import_crm`], inside its write transaction (state read here is current).
    fn import_crm_checked(
        &mut self,
        actor: &Actor,
        accounts_path: &Path,
        opportunities_path: &Path,
        name: &str,
    ) -> Result<CrmImportReport> {
        self.require(actor, Permission::ManageDataSources, "import CRM data")?;
        let owner = actor.org.id;
        let (source_name, existing) = existing_source(&self.conn, owner, name, SourceKind::Crm)?;
        // Everything that can make a file unreadable is checked before any write.
        let accounts = csv_file::read(accounts_path)?;
        let opportunities = csv_file::read(opportunities_path)?;
        let fx = self.fx_table()?;
        let mut export = crm::parse(
            &accounts,
            accounts_path,
            &opportunities,
            opportunities_path,
            |c| fx.knows(c),
        )?;
        accounts.finish()?;
        opportunities.finish()?;
        export
            .errors
            .sort_by_key(|e| (e.file != "accounts", e.line));
        if export.accounts.is_empty() {
            return Err(invalid(format!(
                "{} has no importable account; nothing was imported.{}",
                accounts_path.display(),
                export
                    .errors
                    .iter()
                    .take(5)
                    .map(|e| format!(" {} line {}: {}.", e.file, e.line, e.reason))
                    .collect::<String>()
            )));
        }
        // Derived fields per account.
        #[derive(Default)]
        struct Counts {
            total: usize,
            open: usize,
            won: usize,
        }
        let mut counts: HashMap<&str, Counts> = HashMap::new();
        for o in &export.opportunities {
            let c = counts.entry(o.account_id.as_str()).or_default();
            c.total += 1;
            c.open += (o.is_closed == Some(false)) as usize;
            c.won += (o.is_won == Some(true)) as usize;
        }
        let keyer = self.keyer;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let source_id = open_source(
            &tx,
            owner,
            existing.as_ref(),
            &source_name,
            SourceKind::Crm,
            Some("name"),
            Some("website"),
            &now,
        )?;
        let mut record_of: HashMap<&str, i64> = HashMap::with_capacity(export.accounts.len());
        let without_key = {
            let mut writer = RecordWriter::new(&tx, keyer, owner, source_id)?;
            for a in &export.accounts {
                let c = counts.get(a.id.as_str());
                let mut fields = a.fields.clone();
                let (total, open, won) = c.map_or((0, 0, 0), |c| (c.total, c.open, c.won));
                fields.insert(
                    "has_open_opportunity".into(),
                    Value::String((open > 0).to_string()),
                );
                fields.insert("open_opportunities".into(), Value::String(open.to_string()));
                fields.insert("won_opportunities".into(), Value::String(won.to_string()));
                fields.insert("opportunities".into(), Value::String(total.to_string()));
                let id = writer.write(Some(&a.id), &a.name, &a.website, &fields)?;
                record_of.insert(a.id.as_str(), id);
            }
            writer.finish()?.1
        };
        {
            let mut ins = OpportunityInserter::new(&tx, owner, source_id)?;
            for o in &export.opportunities {
                ins.insert(&NewOpportunity {
                    record_id: record_of[o.account_id.as_str()],
                    external_id: &o.id,
                    name: o.name.as_deref(),
                    stage: o.stage.as_deref(),
                    amount: o.amount,
                    currency: o.currency.as_deref(),
                    open_date: o.open_date.map(|d| d.to_string()),
                    close_date: o.close_date.map(|d| d.to_string()),
                    is_won: o.is_won,
                    is_closed: o.is_closed,
                })?;
            }
        }
        let populations_refreshed = store::populations::of_source(&tx, source_id)?.len();
        refresh_source(&tx, source_id)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(owner),
            if existing.is_some() {
                "reimport_crm"
            } else {
                "import_crm"
            },
            "data_source",
            Some(source_id),
            None,
            Some(&json!({
                "name": source_name,
                "accounts_path": accounts_path.display().to_string(),
                "opportunities_path": opportunities_path.display().to_string(),
                "accounts": export.accounts.len(),
                "opportunities": export.opportunities.len(),
                "rows_rejected": export.errors.len(),
            })),
        )?;
        tx.commit()?;
        Ok(CrmImportReport {
            data_source: DataSourceRef {
                id: source_id,
                name: source_name,
            },
            accounts: export.accounts.len(),
            opportunities: export.opportunities.len(),
            rows_rejected: export.errors.len(),
            errors_truncated: export.errors.len() > crate::shape::MAX_LIST,
            errors: export.errors,
            accounts_without_key: without_key,
            missing_columns: export.missing_columns,
            populations_refreshed,
            replaced: existing.is_some(),
        })
    }
}
