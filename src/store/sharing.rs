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
