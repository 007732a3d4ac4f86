//! What a remote partner's messages made here (its users, share requests, threads), by the
//! partner's own reference, so that later messages find the same rows. No policy here.

use rusqlite::{Connection, OptionalExtension, params};

/// The local row standing for the partner's `remote_ref` of `kind` (user, request, thread).
pub fn local(
    conn: &Connection,
    link: i64,
    kind: &str,
    remote_ref: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT local_id FROM fed_refs WHERE link_id = ?1 AND kind = ?2 AND remote_ref = ?3",
        params![link, kind, remote_ref],
        |r| r.get(0),
    )
    .optional()
}

/// The partner's reference of a local row that stands for one of its own.
pub fn remote(
    conn: &Connection,
    link: i64,
    kind: &str,
    local_id: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT remote_ref FROM fed_refs WHERE link_id = ?1 AND kind = ?2 AND local_id = ?3",
        params![link, kind, local_id],
        |r| r.get(0),
    )
    .optional()
}

pub fn set(
    conn: &Connection,
    link: i64,
    kind: &str,
    remote_ref: i64,
    local_id: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO fed_refs (link_id, kind, remote_ref, local_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (link_id, kind, remote_ref) DO UPDATE SET local_id = excluded.local_id",
        params![link, kind, remote_ref, local_id],
    )?;
    Ok(())
}

/// Every (remote_ref, local_id) of one kind.
pub fn all(conn: &Connection, link: i64, kind: &str) -> rusqlite::Result<Vec<(i64, i64)>> {
    conn.prepare(
        "SELECT remote_ref, local_id FROM fed_refs WHERE link_id = ?1 AND kind = ?2 ORDER BY remote_ref",
    )?
    .query_map(params![link, kind], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

pub fn remove(conn: &Connection, link: i64, kind: &str, remote_ref: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM fed_refs WHERE link_id = ?1 AND kind = ?2 AND remote_ref = ?3",
        params![link, kind, remote_ref],
    )?;
    Ok(())
}

pub fn users_hash(conn: &Connection, link: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT users_hash FROM fed_links WHERE id = ?1",
        [link],
        |r| r.get(0),
    )
}

pub fn set_users_hash(conn: &Connection, link: i64, hash: Option<&str>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET users_hash = ?2 WHERE id = ?1",
        params![link, hash],
    )?;
    Ok(())
}

/// Revocation: the partner's users mirrored here lose their names, emails and roles (the
/// rows stay, so that threads and requests keep their history as in one database: "a user of
/// the partner"); what we last sent is forgotten, so a re-invitation sends it again.
pub fn scrub_users(conn: &Connection, link: i64, remote_org: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET name = '', email = 'revoked-' || id || '@partner.invalid', role = 'member',
            manage_data_sources = 0, manage_partnerships = 0, manage_sharing = 0
         WHERE org_id = ?1",
        [remote_org],
    )?;
    set_users_hash(conn, link, None)
}
