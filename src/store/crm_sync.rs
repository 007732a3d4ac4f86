//! CRM connectors: the connection state of an org, and the row-level upserts a sync makes on
//! its `crm` data source (records and deals keep their ids across syncs).

use crate::matching::RecordKeys;
use crate::store::opportunities::NewOpportunity;
use rusqlite::{Connection, OptionalExtension, params};

/// One org's CRM connection as stored (never a token: only the name of its variable).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRow {
    pub org_id: i64,
    pub kind: String,
    pub instance_url: Option<String>,
    pub token_env: Option<String>,
    pub source_name: String,
    /// JSON object: partnermap field → CRM property name.
    pub field_map: String,
    /// JSON object: object kind → last-modified high-water mark.
    pub cursors: String,
    pub last_sync_at: Option<String>,
    pub last_full_sync_at: Option<String>,
    /// JSON summary of the last sync.
    pub last_sync: Option<String>,
    pub accounts: i64,
    pub opportunities: i64,
}

const COLS: &str = "org_id, kind, instance_url, token_env, source_name, field_map, cursors,
    last_sync_at, last_full_sync_at, last_sync, accounts, opportunities";

pub fn connection(conn: &Connection, org: i64) -> rusqlite::Result<Option<ConnectionRow>> {
    conn.query_row(
        &format!("SELECT {COLS} FROM crm_connections WHERE org_id = ?1"),
        [org],
        |r| {
            Ok(ConnectionRow {
                org_id: r.get(0)?,
                kind: r.get(1)?,
                instance_url: r.get(2)?,
                token_env: r.get(3)?,
                source_name: r.get(4)?,
                field_map: r.get(5)?,
                cursors: r.get(6)?,
                last_sync_at: r.get(7)?,
                last_full_sync_at: r.get(8)?,
                last_sync: r.get(9)?,
                accounts: r.get(10)?,
                opportunities: r.get(11)?,
            })
        },
    )
    .optional()
}

/// Creates or replaces the org's connection. A new kind or instance starts over (no cursors).
pub fn upsert_connection(conn: &Connection, c: &ConnectionRow, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO crm_connections (org_id, kind, instance_url, token_env, source_name, field_map,
             cursors, last_sync_at, last_full_sync_at, last_sync, accounts, opportunities, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
         ON CONFLICT (org_id) DO UPDATE SET kind = excluded.kind, instance_url = excluded.instance_url,
             token_env = excluded.token_env, source_name = excluded.source_name,
             field_map = excluded.field_map, cursors = excluded.cursors,
             last_sync_at = excluded.last_sync_at, last_full_sync_at = excluded.last_full_sync_at,
             last_sync = excluded.last_sync, accounts = excluded.accounts,
             opportunities = excluded.opportunities, updated_at = excluded.updated_at",
        params![
            c.org_id,
            c.kind,
            c.instance_url,
            c.token_env,
            c.source_name,
            c.field_map,
            c.cursors,
            c.last_sync_at,
            c.last_full_sync_at,
            c.last_sync,
            c.accounts,
            c.opportunities,
            now
        ],
    )?;
    Ok(())
}

/// A record of the source as a sync compares it.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: i64,
    pub name: String,
    pub website: String,
    pub fields: String,
}

/// The source's records by external id (records without one are left alone by syncs).
pub fn records_by_external_id(
    conn: &Connection,
    source: i64,
) -> rusqlite::Result<Vec<(String, StoredRecord)>> {
    conn.prepare(
        "SELECT external_id, id, name, website, fields FROM records
         WHERE source_id = ?1 AND external_id IS NOT NULL",
    )?
    .query_map([source], |r| {
        Ok((
            r.get(0)?,
            StoredRecord {
                id: r.get(1)?,
                name: r.get(2)?,
                website: r.get(3)?,
                fields: r.get(4)?,
            },
        ))
    })?
    .collect()
}

pub fn update_record(
    conn: &Connection,
    id: i64,
    name: &str,
    website: &str,
    keys: &RecordKeys,
    fields_json: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE records SET name = ?2, website = ?3, domain_key = ?4, domain_fp = ?5,
                name_key = ?6, name_fp = ?7, fields = ?8
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        name,
        website,
        keys.domain.as_ref().map(|k| k.text.as_str()),
        keys.domain.as_ref().map(|k| k.fp as i64),
        keys.name.as_ref().map(|k| k.text.as_str()),
        keys.name.as_ref().map(|k| k.fp as i64),
        fields_json
    ])?;
    Ok(())
}

pub fn update_record_fields(conn: &Connection, id: i64, fields_json: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE records SET fields = ?2 WHERE id = ?1")?
        .execute(params![id, fields_json])?;
    Ok(())
}

/// Deletes a record (its deals go by cascade).
pub fn delete_record(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM records WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A deal of the source as a sync compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDeal {
    pub id: i64,
    pub record_id: i64,
    pub name: Option<String>,
    pub stage: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub open_date: Option<String>,
    pub close_date: Option<String>,
    pub is_won: Option<bool>,
    pub is_closed: Option<bool>,
}

impl StoredDeal {
    /// Whether the stored deal already says what `o` says.
    pub fn same_as(&self, o: &NewOpportunity) -> bool {
        self.record_id == o.record_id
            && self.name.as_deref() == o.name
            && self.stage.as_deref() == o.stage
            && self.amount == o.amount
            && self.currency.as_deref() == o.currency
            && self.open_date == o.open_date
            && self.close_date == o.close_date
            && self.is_won == o.is_won
            && self.is_closed == o.is_closed
    }
}

pub fn deals_by_external_id(
    conn: &Connection,
    source: i64,
) -> rusqlite::Result<Vec<(String, StoredDeal)>> {
    conn.prepare(
        "SELECT external_id, id, record_id, name, stage, amount, currency, open_date, close_date,
                is_won, is_closed
         FROM opportunities WHERE source_id = ?1 AND external_id IS NOT NULL",
    )?
    .query_map([source], |r| {
        Ok((
            r.get(0)?,
            StoredDeal {
                id: r.get(1)?,
                record_id: r.get(2)?,
                name: r.get(3)?,
                stage: r.get(4)?,
                amount: r.get(5)?,
                currency: r.get(6)?,
                open_date: r.get(7)?,
                close_date: r.get(8)?,
                is_won: r.get(9)?,
                is_closed: r.get(10)?,
            },
        ))
    })?
    .collect()
}

pub fn update_deal(conn: &Connection, id: i64, o: &NewOpportunity) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE opportunities SET record_id = ?2, name = ?3, stage = ?4, amount = ?5, currency = ?6,
             open_date = ?7, close_date = ?8, is_won = ?9, is_closed = ?10
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        o.record_id,
        o.name,
        o.stage,
        o.amount,
        o.currency,
        o.open_date,
        o.close_date,
        o.is_won,
        o.is_closed
    ])?;
    Ok(())
}

pub fn delete_deal(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM opportunities WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Per record of the source: (deals, open deals, won deals), as an import derives them.
pub fn deal_counts(conn: &Connection, source: i64) -> rusqlite::Result<Vec<(i64, i64, i64, i64)>> {
    conn.prepare(
        "SELECT record_id, count(*),
                coalesce(sum(CASE WHEN is_closed = 0 THEN 1 ELSE 0 END), 0),
                coalesce(sum(CASE WHEN is_won = 1 THEN 1 ELSE 0 END), 0)
         FROM opportunities WHERE source_id = ?1 GROUP BY record_id",
    )?
    .query_map([source], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?
    .collect()
}

/// How many records and deals the source holds.
pub fn source_counts(conn: &Connection, source: i64) -> rusqlite::Result<(i64, i64)> {
    Ok((
        conn.query_row(
            "SELECT count(*) FROM records WHERE source_id = ?1",
            [source],
            |r| r.get(0),
        )?,
        conn.query_row(
            "SELECT count(*) FROM opportunities WHERE source_id = ?1",
            [source],
            |r| r.get(0),
        )?,
    ))
}
