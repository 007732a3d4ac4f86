//! Bearer tokens for remote MCP: rows of `api_tokens` (only the token's SHA-256 is stored).

use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

const COLS: &str = "t.id, t.user_id, u.email, t.name, t.created_at, t.expires_at, t.revoked_at, \
                    t.last_used_at";

fn row(r: &Row) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        last_used_at: r.get(7)?,
    })
}

pub fn insert(
    conn: &Connection,
    user_id: i64,
    name: &str,
    token_hash: &str,
    created_at: &str,
    expires_at: Option<&str>,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, name, token_hash, created_at, expires_at],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn name_taken(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// Every token, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC"
    ))?;
    st.query_map([], row)?.collect()
}

/// One token by id or by name.
pub fn find(conn: &Connection, id_or_name: &str) -> rusqlite::Result<Option<TokenRow>> {
    conn.query_row(
        &format!(
            "SELECT {COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.name = ?1 OR CAST(t.id AS TEXT) = ?1 ORDER BY t.name = ?1 DESC LIMIT 1"
        ),
        [id_or_name],
        row,
    )
    .optional()
}

pub fn by_hash(conn: &Connection, token_hash: &str) -> rusqlite::Result<Option<TokenRow>> {
    conn.query_row(
        &format!(
            "SELECT {COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1"
        ),
        [token_hash],
        row,
    )
    .optional()
}

pub fn revoke(conn: &Connection, id: i64, at: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, at],
    )? == 1)
}

pub fn touch(conn: &Connection, id: i64, at: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, at],
    )?;
    Ok(())
}
