//! Share requests: the receiving side asks an owner to share a population.

use crate::model::{ShareRequest, ShareRequestStatus, SharingLevel};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "id, requester_org, owner_org, population_id, level, fields, message, status,
                    created_by, responded_by, created_at, updated_at";

fn row(r: &Row) -> rusqlite::Result<ShareRequest> {
    let level: Option<String> = r.get(4)?;
    let fields: String = r.get(5)?;
    let status: String = r.get(7)?;
    Ok(ShareRequest {
        id: r.get(0)?,
        requester_org: r.get(1)?,
        owner_org: r.get(2)?,
        population_id: r.get(3)?,
        level: level.and_then(|l| l.parse::<SharingLevel>().ok()),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        message: r.get(6)?,
        status: status.parse().unwrap_or(ShareRequestStatus::Withdrawn),
        created_by: r.get(8)?,
        responded_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    requester: i64,
    owner: i64,
    population: Option<i64>,
    level: Option<SharingLevel>,
    fields: &[String],
    message: &str,
    user: i64,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO share_requests (requester_org, owner_org, population_id, level, fields, message,
                                     status, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?8)",
        params![
            requester,
            owner,
            population,
            level.map(|l| l.as_str()),
            serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()),
            message,
            user,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<ShareRequest>> {
    conn.query_row(
        &format!("SELECT {COLS} FROM share_requests WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// Requests where `org` is the requester or the owner, newest first.
pub fn of_org(conn: &Connection, org: i64) -> rusqlite::Result<Vec<ShareRequest>> {
    conn.prepare(&format!(
        "SELECT {COLS} FROM share_requests WHERE requester_org = ?1 OR owner_org = ?1
         ORDER BY id DESC"
    ))?
    .query_map([org], row)?
    .collect()
}

pub fn set_status(
    conn: &Connection,
    id: i64,
    status: ShareRequestStatus,
    responded_by: Option<i64>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE share_requests SET status = ?2, responded_by = coalesce(?3, responded_by), updated_at = ?4
         WHERE id = ?1",
        params![id, status.as_str(), responded_by, now],
    )?;
    Ok(())
}
