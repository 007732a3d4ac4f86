//! Populations and their stored key vectors.

use crate::matching::PopKeys;
use crate::model::{Population, PopulationType};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "id, org_id, name, type, source_id, filters, record_count, version";

fn row(r: &Row) -> rusqlite::Result<Population> {
    let t: String = r.get(3)?;
    let filters: String = r.get(5)?;
    Ok(Population {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        pop_type: t.parse().unwrap_or(PopulationType::Custom),
        source_id: r.get(4)?,
        filters: serde_json::from_str(&filters).unwrap_or(serde_json::Value::Array(vec![])),
        record_count: r.get(6)?,
        version: r.get(7)?,
    })
}

pub fn of_org(conn: &Connection, org: i64) -> rusqlite::Result<Vec<Population>> {
    conn.prepare(&format!(
        "SELECT {COLS} FROM populations WHERE org_id = ?1 ORDER BY id"
    ))?
    .query_map([org], row)?
    .collect()
}

pub fn of_source(conn: &Connection, source: i64) -> rusqlite::Result<Vec<Population>> {
    conn.prepare(&format!(
        "SELECT {COLS} FROM populations WHERE source_id = ?1 ORDER BY id"
    ))?
    .query_map([source], row)?
    .collect()
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Population>> {
    conn.query_row(
        &format!("SELECT {COLS} FROM populations WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

pub fn insert(
    conn: &Connection,
    org: i64,
    name: &str,
    pop_type: PopulationType,
    source: i64,
    filters: &serde_json::Value,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO populations (org_id, name, type, source_id, filters, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            org,
            name,
            pop_type.as_str(),
            source,
            filters.to_string(),
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn count_custom(conn: &Connection, org: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM populations WHERE org_id = ?1 AND type = 'custom'",
        [org],
        |r| r.get(0),
    )
}

/// Stores a freshly materialized key vector under a new version (invalidating caches, in this
/// process and in others on the same database). The version comes from one counter for the
/// whole database, never reused: SQLite reuses the highest row id after a delete, so with
/// `version + 1` a population deleted and another created in its place would come back as the
/// same (id, version) and be served from a cache of the old one's keys. A counter (rather than a
/// random number) keeps databases built the same way identical.
pub fn store_members(conn: &Connection, id: i64, keys: &PopKeys) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row(
        "INSERT INTO meta (key, value) VALUES ('population_version', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
         RETURNING CAST(value AS INTEGER)",
        [],
        |r| r.get(0),
    )?;
    conn.execute(
        "UPDATE populations SET record_count = ?2, version = ?3 WHERE id = ?1",
        params![id, keys.len() as i64, version],
    )?;
    conn.execute(
        "INSERT INTO population_members (population_id, members) VALUES (?1, ?2)
         ON CONFLICT (population_id) DO UPDATE SET members = excluded.members",
        params![id, keys.to_blob()],
    )?;
    Ok(())
}

pub fn version(conn: &Connection, id: i64) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT version FROM populations WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

/// The stored key vector and its version, read in one statement.
pub fn members(conn: &Connection, id: i64) -> rusqlite::Result<Option<(i64, PopKeys)>> {
    conn.query_row(
        "SELECT p.version, m.members FROM populations p
         LEFT JOIN population_members m ON m.population_id = p.id WHERE p.id = ?1",
        [id],
        |r| {
            let v: i64 = r.get(0)?;
            let blob = r.get_ref(1)?.as_blob_or_null()?.unwrap_or_default();
            Ok((v, PopKeys::from_blob(blob)))
        },
    )
    .optional()
}
