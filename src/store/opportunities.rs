//! CRM deals (opportunities) of an org's records.

use rusqlite::{Connection, params};

/// A prepared inserter for one CRM import.
pub struct OpportunityInserter<'c> {
    stmt: rusqlite::Statement<'c>,
    org: i64,
    source: i64,
}

/// One deal as written by an import.
#[derive(Debug, Clone, Default)]
pub struct NewOpportunity<'a> {
    pub record_id: i64,
    pub external_id: &'a str,
    pub name: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub amount: Option<f64>,
    pub currency: Option<&'a str>,
    pub open_date: Option<String>,
    pub close_date: Option<String>,
    pub is_won: Option<bool>,
    pub is_closed: Option<bool>,
}

impl<'c> OpportunityInserter<'c> {
    pub fn new(conn: &'c Connection, org: i64, source: i64) -> rusqlite::Result<Self> {
        Ok(OpportunityInserter {
            stmt: conn.prepare(
                "INSERT INTO opportunities (org_id, source_id, record_id, external_id, name, stage,
                   amount, currency, open_date, close_date, is_won, is_closed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?,
            org,
            source,
        })
    }

    pub fn insert(&mut self, o: &NewOpportunity) -> rusqlite::Result<()> {
        self.stmt.execute(params![
            self.org,
            self.source,
            o.record_id,
            o.external_id,
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
}

/// A stored deal with its record's key fingerprint (for joins against population keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: i64,
    pub record_id: i64,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub stage: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub open_date: Option<String>,
    pub close_date: Option<String>,
    pub is_won: Option<bool>,
    pub is_closed: Option<bool>,
    /// The record's key fingerprints (0: no such key).
    pub domain_fp: u64,
    pub name_fp: u64,
}

/// Every deal of an org, in one query.
pub fn of_org(conn: &Connection, org: i64) -> rusqlite::Result<Vec<Deal>> {
    conn.prepare(
        "SELECT o.id, o.record_id, o.external_id, o.name, o.stage, o.amount, o.currency,
                o.open_date, o.close_date, o.is_won, o.is_closed, r.domain_fp, r.name_fp
         FROM opportunities o JOIN records r ON r.id = o.record_id
         WHERE o.org_id = ?1 ORDER BY o.id",
    )?
    .query_map([org], |r| {
        Ok(Deal {
            id: r.get(0)?,
            record_id: r.get(1)?,
            external_id: r.get(2)?,
            name: r.get(3)?,
            stage: r.get(4)?,
            amount: r.get(5)?,
            currency: r.get(6)?,
            open_date: r.get(7)?,
            close_date: r.get(8)?,
            is_won: r.get(9)?,
            is_closed: r.get(10)?,
            domain_fp: r.get::<_, Option<i64>>(11)?.map_or(0, |v| v as u64),
            name_fp: r.get::<_, Option<i64>>(12)?.map_or(0, |v| v as u64),
        })
    })?
    .collect()
}

/// For each (record, partner org) with a thread between `org` and that partner about the record:
/// the time of its latest message (RFC 3339 text).
pub fn last_thread_messages(
    conn: &Connection,
    org: i64,
) -> rusqlite::Result<Vec<(i64, i64, String)>> {
    conn.prepare(
        "SELECT t.record_id, CASE WHEN t.org_a = ?1 THEN t.org_b ELSE t.org_a END, max(m.created_at)
         FROM threads t JOIN thread_messages m ON m.thread_id = t.id
         WHERE (t.org_a = ?1 OR t.org_b = ?1) AND t.record_id IS NOT NULL
         GROUP BY 1, 2",
    )?
    .query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
    .collect()
}
