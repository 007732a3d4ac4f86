//! Partnerships: one row per pair of orgs.

use crate::model::{Partnership, PartnershipStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "id, org_lo, org_hi, inviter_org, status, updated_at";

fn row(r: &Row) -> rusqlite::Result<Partnership> {
    let status: String = r.get(4)?;
    Ok(Partnership {
        id: r.get(0)?,
        org_lo: r.get(1)?,
        org_hi: r.get(2)?,
        inviter_org: r.get(3)?,
        status: status.parse().unwrap_or(PartnershipStatus::Revoked),
        updated_at: r.get(5)?,
    })
}

pub fn between(conn: &Connection, a: i64, b: i64) -> rusqlite::Result<Option<Partnership>> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    conn.query_row(
        &format!("SELECT {COLS} FROM partnerships WHERE org_lo = ?1 AND org_hi = ?2"),
        [lo, hi],
        row,
    )
    .optional()
}

pub fn of_org(conn: &Connection, org: i64) -> rusqlite::Result<Vec<Partnership>> {
    conn.prepare(&format!(
        "SELECT {COLS} FROM partnerships WHERE org_lo = ?1 OR org_hi = ?1 ORDER BY id"
    ))?
    .query_map([org], row)?
    .collect()
}

/// Creates the partnership or, for a pair that had one, sets it back to `status`.
pub fn upsert(
    conn: &Connection,
    a: i64,
    b: i64,
    inviter: i64,
    status: PartnershipStatus,
    now: &str,
) -> rusqlite::Result<i64> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    conn.execute(
        "INSERT INTO partnerships (org_lo, org_hi, inviter_org, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (org_lo, org_hi) DO UPDATE
           SET inviter_org = excluded.inviter_org, status = excluded.status, updated_at = excluded.updated_at",
        params![lo, hi, inviter, status.as_str(), now],
    )?;
    conn.query_row(
        "SELECT id FROM partnerships WHERE org_lo = ?1 AND org_hi = ?2",
        [lo, hi],
        |r| r.get(0),
    )
}

pub fn set_status(
    conn: &Connection,
    id: i64,
    status: PartnershipStatus,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE partnerships SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now],
    )?;
    Ok(())
}
