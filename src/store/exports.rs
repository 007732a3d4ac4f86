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

/// Which of `ids` `org` already exported in [from, to).
pub fn already_exported(
    conn: &Connection,
    org: i64,
    from: &str,
    to: &str,
    ids: &[i64],
) -> rusqlite::Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM exports
         WHERE org_id = ?1 AND record_id = ?2 AND exported_at >= ?3 AND exported_at < ?4 LIMIT 1",
    )?;
    let mut out = std::collections::HashSet::new();
    for &id in ids {
        if stmt.exists(params![org, id, from, to])? {
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
