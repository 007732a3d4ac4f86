//! Sharing settings (absent row = the default, `counts`).

use crate::model::{Sharing, SharingLevel};
use rusqlite::{Connection, OptionalExtension, params};

pub fn get(
    conn: &Connection,
    owner: i64,
    partner: i64,
    population: i64,
) -> rusqlite::Result<Sharing> {
    Ok(conn
        .query_row(
            "SELECT level, fields FROM sharing_settings
             WHERE owner_org = ?1 AND partner_org = ?2 AND population_id = ?3",
            params![owner, partner, population],
            |r| {
                let level: String = r.get(0)?;
                let fields: String = r.get(1)?;
                Ok(Sharing {
                    level: level.parse().unwrap_or(SharingLevel::Hidden),
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

pub fn set(
    conn: &Connection,
    owner: i64,
    partner: i64,
    population: i64,
    sharing: &Sharing,
    user: i64,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sharing_settings (owner_org, partner_org, population_id, level, fields, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (owner_org, partner_org, population_id) DO UPDATE
           SET level = excluded.level, fields = excluded.fields,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![
            owner,
            partner,
            population,
            sharing.level.as_str(),
            serde_json::to_string(&sharing.fields).unwrap_or_else(|_| "[]".into()),
            user,
            now
        ],
    )?;
    Ok(())
}

/// Every setting an owner has made for one partner: (population id, sharing, updated_at).
pub fn of_owner_for(
    conn: &Connection,
    owner: i64,
    partner: i64,
) -> rusqlite::Result<Vec<(i64, Sharing, String)>> {
    conn.prepare(
        "SELECT population_id, level, fields, updated_at FROM sharing_settings
         WHERE owner_org = ?1 AND partner_org = ?2 ORDER BY population_id",
    )?
    .query_map(params![owner, partner], |r| {
        let level: String = r.get(1)?;
        let fields: String = r.get(2)?;
        Ok((
            r.get(0)?,
            Sharing {
                level: level.parse().unwrap_or(SharingLevel::Hidden),
                fields: serde_json::from_str(&fields).unwrap_or_default(),
            },
            r.get(3)?,
        ))
    })?
    .collect()
}

/// The field names the records of a data source carry (from a sample of its records), sorted.
pub fn source_field_names(conn: &Connection, source: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare(
        "SELECT DISTINCT j.key FROM
           (SELECT fields FROM records WHERE source_id = ?1 LIMIT 500) AS r, json_each(r.fields) AS j
         ORDER BY j.key COLLATE NOCASE",
    )?
    .query_map([source], |r| r.get(0))?
    .collect()
}
