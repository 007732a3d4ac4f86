//! Threads between two partnered orgs about one account: messages and owners.

use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Debug, Clone)]
pub struct ThreadRow {
    pub id: i64,
    /// The org that opened the thread (whose account it is).
    pub org_a: i64,
    pub org_b: i64,
    pub record_id: Option<i64>,
    pub account: String,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub body: String,
    pub created_at: String,
}

const COLS: &str = "id, org_a, org_b, record_id, account, created_by, created_at, updated_at";

fn row(r: &Row) -> rusqlite::Result<ThreadRow> {
    Ok(ThreadRow {
        id: r.get(0)?,
        org_a: r.get(1)?,
        org_b: r.get(2)?,
        record_id: r.get(3)?,
        account: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn insert(
    conn: &Connection,
    org_a: i64,
    org_b: i64,
    record_id: i64,
    account: &str,
    user: i64,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO threads (org_a, org_b, record_id, account, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![org_a, org_b, record_id, account, user, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<ThreadRow>> {
    conn.query_row(
        &format!("SELECT {COLS} FROM threads WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// The thread `org_a` opened with `org_b` on one of its records, if any.
pub fn on_record(
    conn: &Connection,
    org_a: i64,
    org_b: i64,
    record_id: i64,
) -> rusqlite::Result<Option<ThreadRow>> {
    conn.query_row(
        &format!(
            "SELECT {COLS} FROM threads WHERE org_a = ?1 AND org_b = ?2 AND record_id = ?3
             ORDER BY id LIMIT 1"
        ),
        params![org_a, org_b, record_id],
        row,
    )
    .optional()
}

/// Threads `org` takes part in (either side), optionally only those with `other`; most recent first.
pub fn of_org(conn: &Connection, org: i64, other: Option<i64>) -> rusqlite::Result<Vec<ThreadRow>> {
    conn.prepare(&format!(
        "SELECT {COLS} FROM threads
         WHERE (org_a = ?1 AND (?2 IS NULL OR org_b = ?2)) OR (org_b = ?1 AND (?2 IS NULL OR org_a = ?2))
         ORDER BY updated_at DESC, id DESC"
    ))?
    .query_map(params![org, other], row)?
    .collect()
}

pub fn touch(conn: &Connection, id: i64, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE threads SET updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn add_message(
    conn: &Connection,
    thread: i64,
    user: i64,
    body: &str,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO thread_messages (thread_id, user_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![thread, user, body, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn messages(conn: &Connection, thread: i64) -> rusqlite::Result<Vec<MessageRow>> {
    conn.prepare(
        "SELECT id, user_id, body, created_at FROM thread_messages WHERE thread_id = ?1 ORDER BY id",
    )?
    .query_map([thread], |r| {
        Ok(MessageRow {
            id: r.get(0)?,
            user_id: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?
    .collect()
}

pub fn add_owner(conn: &Connection, thread: i64, user: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO thread_owners (thread_id, user_id) VALUES (?1, ?2)",
        params![thread, user],
    )? > 0)
}

pub fn owners(conn: &Connection, thread: i64) -> rusqlite::Result<Vec<i64>> {
    conn.prepare("SELECT user_id FROM thread_owners WHERE thread_id = ?1 ORDER BY user_id")?
        .query_map([thread], |r| r.get(0))?
        .collect()
}

/// One of `org`'s own records by id, domain key (fingerprint `domain_fp`, through the index),
/// exact (case-insensitive) name among the records with name key fingerprint `name_fp`, or that
/// name key; then records whose name contains `text`. At most `limit` candidates.
pub fn find_own_records(
    conn: &Connection,
    org: i64,
    text: &str,
    domain_fp: Option<u64>,
    name_fp: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, String, String)>> {
    let t = text.trim();
    let q = |sql: &str, p: &dyn rusqlite::ToSql| -> rusqlite::Result<Vec<(i64, String, String)>> {
        conn.prepare(sql)?
            .query_map(params![org, p, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
    };
    if let Ok(id) = t.parse::<i64>() {
        let v = q(
            "SELECT id, name, website FROM records WHERE source_id IN (SELECT id FROM data_sources WHERE org_id = ?1) AND id = ?2 LIMIT ?3",
            &id,
        )?;
        if !v.is_empty() {
            return Ok(v);
        }
    }
    if let Some(fp) = domain_fp {
        let v = q(
            "SELECT id, name, website FROM records WHERE org_id = ?1 AND domain_fp = ?2 ORDER BY id LIMIT ?3",
            &(fp as i64),
        )?;
        if !v.is_empty() {
            return Ok(v);
        }
    }
    if let Some(fp) = name_fp {
        let same: Vec<(i64, String, String)> = conn
            .prepare_cached(
                "SELECT id, name, website FROM records WHERE org_id = ?1 AND name_fp = ?2 ORDER BY id LIMIT 1000",
            )?
            .query_map(params![org, fp as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let exact: Vec<_> = same
            .iter()
            .filter(|(_, n, _)| n.eq_ignore_ascii_case(t))
            .take(limit)
            .cloned()
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        if !same.is_empty() {
            return Ok(same.into_iter().take(limit).collect());
        }
    }
    let like = format!(
        "%{}%",
        t.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    q(
        "SELECT id, name, website FROM records
         WHERE source_id IN (SELECT id FROM data_sources WHERE org_id = ?1) AND name LIKE ?2 ESCAPE '\\' ORDER BY name, id LIMIT ?3",
        &like,
    )
}
