//! Exported partner records, for the per-term export allowance.

use rusqlite::{Connection, params};

/// Distinct partner records `org` exported in [from, to).
pub fn distinct_in_window(
    conn: &Connection,
    org: i64,
    from: &str,
    to: &str,
) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(DISTINCT record_id) FROM exports
         WHERE org_id = ?1 AND exported_at >= ?2 AND exported_at < ?3",
        params![org, from, to],
        |r| r.get(0),
    )
}

/// Which of `ids` `org` already exported in [from, to) (one indexed scan of the term).
pub fn already_exported(
    conn: &Connection,
    org: i64,
    from: &str,
    to: &str,
    ids: &[i64],
) -> rusqlite::Result<std::collections::HashSet<i64>> {
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT record_id FROM exports
         WHERE org_id = ?1 AND exported_at >= ?2 AND exported_at < ?3",
    )?;
    let mut out = std::collections::HashSet::new();
    for id in stmt.query_map(params![org, from, to], |r| r.get::<_, i64>(0))? {
        let id = id?;
        if wanted.contains(&id) {
            out.insert(id);
        }
    }
    Ok(out)
}

pub fn record(
    conn: &Connection,
    org: i64,
    partner: i64,
    ids: &[i64],
    user: i64,
    now: &str,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO exports (org_id, partner_org, record_id, exported_at, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for &id in ids {
        stmt.execute(params![org, partner, id, now, user])?;
    }
    Ok(())
}
