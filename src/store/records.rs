//! Data sources and records.

use crate::matching::{Member, RecordKeys};
use crate::model::{DataSource, Record, SourceKind};
use rusqlite::{Connection, OptionalExtension, Row, params};

const SOURCE_COLS: &str = "id, org_id, name, kind, name_column, website_column";

fn source_row(r: &Row) -> rusqlite::Result<DataSource> {
    let kind: String = r.get(3)?;
    Ok(DataSource {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        kind: kind.parse().unwrap_or(SourceKind::Csv),
        name_column: r.get(4)?,
        website_column: r.get(5)?,
    })
}

pub fn sources_of(conn: &Connection, org: i64) -> rusqlite::Result<Vec<DataSource>> {
    conn.prepare(&format!(
        "SELECT {SOURCE_COLS} FROM data_sources WHERE org_id = ?1 ORDER BY id"
    ))?
    .query_map([org], source_row)?
    .collect()
}

pub fn source(conn: &Connection, id: i64) -> rusqlite::Result<Option<DataSource>> {
    conn.query_row(
        &format!("SELECT {SOURCE_COLS} FROM data_sources WHERE id = ?1"),
        [id],
        source_row,
    )
    .optional()
}

pub fn source_by_name(
    conn: &Connection,
    org: i64,
    name: &str,
) -> rusqlite::Result<Option<DataSource>> {
    conn.query_row(
        &format!(
            "SELECT {SOURCE_COLS} FROM data_sources WHERE org_id = ?1 AND name = ?2 COLLATE NOCASE"
        ),
        params![org, name],
        source_row,
    )
    .optional()
}

pub fn insert_source(
    conn: &Connection,
    org: i64,
    name: &str,
    kind: SourceKind,
    name_column: Option<&str>,
    website_column: Option<&str>,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO data_sources (org_id, name, kind, name_column, website_column, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![org, name, kind.as_str(), name_column, website_column, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn touch_source(
    conn: &Connection,
    id: i64,
    name_column: Option<&str>,
    website_column: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE data_sources SET name_column = ?2, website_column = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, name_column, website_column, now],
    )?;
    Ok(())
}

/// Removes a source's records (and, by cascade, their opportunities) before a re-import.
pub fn clear_source(conn: &Connection, source: i64) -> rusqlite::Result<usize> {
    super::columns::clear(conn, source)?;
    conn.execute("DELETE FROM records WHERE source_id = ?1", [source])
}

pub fn record_count(conn: &Connection, org: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM records WHERE source_id IN (SELECT id FROM data_sources WHERE org_id = ?1)",
        [org],
        |r| r.get(0),
    )
}

/// A prepared inserter for one import (one statement, reused for every row).
pub struct RecordInserter<'c> {
    conn: &'c Connection,
    stmt: rusqlite::Statement<'c>,
    org: i64,
    source: i64,
}

impl<'c> RecordInserter<'c> {
    pub fn new(conn: &'c Connection, org: i64, source: i64) -> rusqlite::Result<Self> {
        Ok(RecordInserter {
            conn,
            stmt: conn.prepare(
                "INSERT INTO records (org_id, source_id, external_id, name, website, domain_key, domain_fp, name_key, name_fp, fields)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            org,
            source,
        })
    }

    pub fn insert(
        &mut self,
        external_id: Option<&str>,
        name: &str,
        website: &str,
        keys: &RecordKeys,
        fields_json: &str,
    ) -> rusqlite::Result<i64> {
        self.stmt.execute(params![
            self.org,
            self.source,
            external_id,
            name,
            website,
            keys.domain.as_ref().map(|k| k.text.as_str()),
            keys.domain.as_ref().map(|k| k.fp as i64),
            keys.name.as_ref().map(|k| k.text.as_str()),
            keys.name.as_ref().map(|k| k.fp as i64),
            fields_json
        ])?;
        Ok(self.conn.last_insert_rowid())
    }
}

const RECORD_COLS: &str = "id, org_id, source_id, external_id, name, website, domain_key, name_key, fields, domain_fp, name_fp";

fn record_row(r: &Row) -> rusqlite::Result<Record> {
    let fields: String = r.get(8)?;
    Ok(Record {
        id: r.get(0)?,
        org_id: r.get(1)?,
        source_id: r.get(2)?,
        external_id: r.get(3)?,
        name: r.get(4)?,
        website: r.get(5)?,
        domain_key: r.get(6)?,
        name_key: r.get(7)?,
        domain_fp: r.get::<_, Option<i64>>(9)?.map_or(0, |v| v as u64),
        name_fp: r.get::<_, Option<i64>>(10)?.map_or(0, |v| v as u64),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
    })
}

pub fn record(conn: &Connection, id: i64) -> rusqlite::Result<Option<Record>> {
    conn.query_row(
        &format!("SELECT {RECORD_COLS} FROM records WHERE id = ?1"),
        [id],
        record_row,
    )
    .optional()
}

/// Records by id, in the order asked (missing ids are skipped).
pub fn records_by_ids(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Record>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {RECORD_COLS} FROM records WHERE id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = stmt.query_row([id], record_row).optional()? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Every record of a source, streamed to `f`.
pub fn for_each_in_source(
    conn: &Connection,
    source: i64,
    mut f: impl FnMut(Record),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECORD_COLS} FROM records WHERE source_id = ?1"
    ))?;
    let mut rows = stmt.query([source])?;
    while let Some(r) = rows.next()? {
        f(record_row(r)?);
    }
    Ok(())
}

fn member_row(r: &Row) -> rusqlite::Result<Member> {
    Ok(Member {
        record_id: r.get(0)?,
        domain: r.get::<_, Option<i64>>(1)?.map_or(0, |v| v as u64),
        name: r.get::<_, Option<i64>>(2)?.map_or(0, |v| v as u64),
    })
}

/// Only ids and key fingerprints of a source (the fast path for a population without filters).
pub fn keys_of_source(conn: &Connection, source: i64) -> rusqlite::Result<Vec<Member>> {
    conn.prepare("SELECT id, domain_fp, name_fp FROM records WHERE source_id = ?1 ORDER BY id")?
        .query_map([source], member_row)?
        .collect()
}

/// The org's records carrying this domain fingerprint (through the index), by id.
pub fn by_domain_fp(
    conn: &Connection,
    org: i64,
    fp: u64,
    limit: usize,
) -> rusqlite::Result<Vec<Record>> {
    conn.prepare_cached(&format!(
        "SELECT {RECORD_COLS} FROM records WHERE org_id = ?1 AND domain_fp = ?2 ORDER BY id LIMIT ?3"
    ))?
    .query_map(params![org, fp as i64, limit as i64], record_row)?
    .collect()
}

/// The org's records carrying this name fingerprint (through the index), by id.
pub fn by_name_fp(
    conn: &Connection,
    org: i64,
    fp: u64,
    limit: usize,
) -> rusqlite::Result<Vec<Record>> {
    conn.prepare_cached(&format!(
        "SELECT {RECORD_COLS} FROM records WHERE org_id = ?1 AND name_fp = ?2 ORDER BY id LIMIT ?3"
    ))?
    .query_map(params![org, fp as i64, limit as i64], record_row)?
    .collect()
}

/// Whether the org's records carry this name with two or more different domains (SPEC §2:
/// the name is ambiguous there), through the name index.
pub fn name_ambiguous_in_org(conn: &Connection, org: i64, name_fp: u64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        // INDEXED BY: for the DISTINCT the planner would otherwise walk the domain index of
        // the whole org (tens of ms at 1M records) instead of the few rows of this name.
        "SELECT count(DISTINCT domain_fp) FROM records INDEXED BY records_org_name
         WHERE org_id = ?1 AND name_fp = ?2",
    )?
    .query_row(params![org, name_fp as i64], |r| r.get::<_, i64>(0))
    .map(|n| n >= 2)
}

/// The acting org's own records whose name, website or key contains `q` (case-insensitive).
pub fn search_own(
    conn: &Connection,
    org: i64,
    q: &str,
    limit: usize,
) -> rusqlite::Result<Vec<Record>> {
    let like = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    conn.prepare(&format!(
        "SELECT {RECORD_COLS} FROM records
         WHERE source_id IN (SELECT id FROM data_sources WHERE org_id = ?1) AND (name LIKE ?2 ESCAPE '\\' OR website LIKE ?2 ESCAPE '\\' OR domain_key LIKE ?2 ESCAPE '\\')
         ORDER BY name LIMIT ?3"
    ))?
    .query_map(params![org, like, limit as i64], record_row)?
    .collect()
}
