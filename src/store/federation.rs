//! Storage of partnerships across instances: links, invitations, the outbox and what remote
//! partners released (FEDERATION.md). No policy here.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// One remote partner of one local org.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub local_org: i64,
    pub remote_org: i64,
    pub remote_instance: Vec<u8>,
    pub remote_url: Option<String>,
    pub remote_link: i64,
    pub psi_scalar: Option<Vec<u8>>,
    pub oprf_key: Option<Vec<u8>>,
    pub out_seq: i64,
    pub out_acked: i64,
    pub in_seq: i64,
    pub snapshot_hash: Option<String>,
    pub query_hash: Option<String>,
    pub oprf_hash: Option<String>,
    pub last_sync: Option<String>,
    pub last_attempt: Option<String>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_attempt: Option<String>,
    pub evals_day: Option<String>,
    pub evals_used: i64,
    pub declared_records: i64,
    pub remote_version: Option<String>,
}

const LINK_COLS: &str = "id, local_org, remote_org, remote_instance, remote_url, remote_link, \
     psi_scalar, oprf_key, out_seq, out_acked, in_seq, snapshot_hash, query_hash, oprf_hash, \
     last_sync, last_attempt, last_error, failures, next_attempt, evals_day, evals_used, \
     declared_records, remote_version";

fn link_row(r: &Row) -> rusqlite::Result<Link> {
    Ok(Link {
        id: r.get(0)?,
        local_org: r.get(1)?,
        remote_org: r.get(2)?,
        remote_instance: r.get(3)?,
        remote_url: r.get(4)?,
        remote_link: r.get(5)?,
        psi_scalar: r.get(6)?,
        oprf_key: r.get(7)?,
        out_seq: r.get(8)?,
        out_acked: r.get(9)?,
        in_seq: r.get(10)?,
        snapshot_hash: r.get(11)?,
        query_hash: r.get(12)?,
        oprf_hash: r.get(13)?,
        last_sync: r.get(14)?,
        last_attempt: r.get(15)?,
        last_error: r.get(16)?,
        failures: r.get(17)?,
        next_attempt: r.get(18)?,
        evals_day: r.get(19)?,
        evals_used: r.get(20)?,
        declared_records: r.get(21)?,
        remote_version: r.get(22)?,
    })
}

pub fn link(conn: &Connection, id: i64) -> rusqlite::Result<Option<Link>> {
    conn.query_row(
        &format!("SELECT {LINK_COLS} FROM fed_links WHERE id = ?1"),
        [id],
        link_row,
    )
    .optional()
}

pub fn link_of_remote_org(conn: &Connection, org: i64) -> rusqlite::Result<Option<Link>> {
    conn.query_row(
        &format!("SELECT {LINK_COLS} FROM fed_links WHERE remote_org = ?1"),
        [org],
        link_row,
    )
    .optional()
}

pub fn link_by_instance(
    conn: &Connection,
    local_org: i64,
    instance: &[u8],
) -> rusqlite::Result<Option<Link>> {
    conn.query_row(
        &format!("SELECT {LINK_COLS} FROM fed_links WHERE local_org = ?1 AND remote_instance = ?2"),
        params![local_org, instance],
        link_row,
    )
    .optional()
}

pub fn links_of(conn: &Connection, local_org: Option<i64>) -> rusqlite::Result<Vec<Link>> {
    conn.prepare(&format!(
        "SELECT {LINK_COLS} FROM fed_links WHERE ?1 IS NULL OR local_org = ?1 ORDER BY id"
    ))?
    .query_map([local_org], link_row)?
    .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn insert_link(
    conn: &Connection,
    local_org: i64,
    remote_org: i64,
    remote_instance: &[u8],
    remote_url: Option<&str>,
    remote_link: i64,
    psi_scalar: &[u8],
    oprf_key: &[u8],
    remote_version: &str,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO fed_links (local_org, remote_org, remote_instance, remote_url, remote_link,
            psi_scalar, oprf_key, remote_version, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            local_org,
            remote_org,
            remote_instance,
            remote_url,
            remote_link,
            psi_scalar,
            oprf_key,
            remote_version,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A re-invitation over an existing link: fresh secrets, fresh streams.
#[allow(clippy::too_many_arguments)]
pub fn renew_link(
    conn: &Connection,
    id: i64,
    remote_url: Option<&str>,
    remote_link: i64,
    psi_scalar: &[u8],
    oprf_key: &[u8],
    remote_version: &str,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM fed_outbox WHERE link_id = ?1", [id])?;
    conn.execute(
        "UPDATE fed_links SET remote_url = ?2, remote_link = ?3, psi_scalar = ?4, oprf_key = ?5,
            remote_version = ?6, out_seq = 0, out_acked = 0, in_seq = 0, snapshot_hash = NULL,
            query_hash = NULL, oprf_hash = NULL, last_error = NULL, failures = 0,
            next_attempt = NULL, evals_used = 0
         WHERE id = ?1",
        params![
            id,
            remote_url,
            remote_link,
            psi_scalar,
            oprf_key,
            remote_version
        ],
    )?;
    Ok(())
}

pub fn set_hashes(
    conn: &Connection,
    id: i64,
    snapshot: Option<&str>,
    query: Option<&str>,
    oprf: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET snapshot_hash = coalesce(?2, snapshot_hash),
            query_hash = coalesce(?3, query_hash), oprf_hash = coalesce(?4, oprf_hash)
         WHERE id = ?1",
        params![id, snapshot, query, oprf],
    )?;
    Ok(())
}

pub fn set_attempt(
    conn: &Connection,
    id: i64,
    now: &str,
    error: Option<&str>,
    next_attempt: Option<&str>,
) -> rusqlite::Result<()> {
    match error {
        None => conn.execute(
            "UPDATE fed_links SET last_attempt = ?2, last_sync = ?2, last_error = NULL,
                failures = 0, next_attempt = NULL WHERE id = ?1",
            params![id, now],
        )?,
        Some(e) => conn.execute(
            "UPDATE fed_links SET last_attempt = ?2, last_error = ?3, failures = failures + 1,
                next_attempt = ?4 WHERE id = ?1",
            params![id, now, e, next_attempt],
        )?,
    };
    Ok(())
}

/// Marks that the partner reached us (an inbound exchange): in sync as of now.
pub fn set_synced(conn: &Connection, id: i64, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET last_sync = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn set_evals(conn: &Connection, id: i64, day: &str, used: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET evals_day = ?2, evals_used = ?3 WHERE id = ?1",
        params![id, day, used],
    )?;
    Ok(())
}

pub fn set_declared(conn: &Connection, id: i64, n: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET declared_records = ?2 WHERE id = ?1",
        params![id, n],
    )?;
    Ok(())
}

pub fn set_in_seq(conn: &Connection, id: i64, seq: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_links SET in_seq = ?2 WHERE id = ?1",
        params![id, seq],
    )?;
    Ok(())
}

/// Queues a message; returns its sequence number.
pub fn enqueue(
    conn: &Connection,
    link: i64,
    kind: &str,
    body: &[u8],
    now: &str,
) -> rusqlite::Result<i64> {
    let seq: i64 = conn.query_row(
        "UPDATE fed_links SET out_seq = out_seq + 1 WHERE id = ?1 RETURNING out_seq",
        [link],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO fed_outbox (link_id, seq, kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![link, seq, kind, body, now],
    )?;
    Ok(seq)
}

/// Messages not yet acknowledged, in order: (seq, body).
pub fn pending(conn: &Connection, link: i64) -> rusqlite::Result<Vec<(i64, Vec<u8>)>> {
    conn.prepare("SELECT seq, body FROM fed_outbox WHERE link_id = ?1 ORDER BY seq")?
        .query_map([link], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

pub fn pending_count(conn: &Connection, link: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM fed_outbox WHERE link_id = ?1",
        [link],
        |r| r.get(0),
    )
}

/// The partner has everything up to `seq`: drop it from the outbox.
pub fn ack(conn: &Connection, link: i64, seq: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM fed_outbox WHERE link_id = ?1 AND seq <= ?2",
        params![link, seq],
    )?;
    conn.execute(
        "UPDATE fed_links SET out_acked = max(out_acked, ?2) WHERE id = ?1",
        params![link, seq],
    )?;
    Ok(())
}

pub fn set_blob(
    conn: &Connection,
    link: i64,
    column: &str,
    v: Option<&[u8]>,
) -> rusqlite::Result<()> {
    debug_assert!(matches!(column, "last_snapshot" | "last_oprf"));
    conn.execute(
        &format!("UPDATE fed_links SET {column} = ?2 WHERE id = ?1"),
        params![link, v],
    )?;
    Ok(())
}

pub fn get_blob(conn: &Connection, link: i64, column: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    debug_assert!(matches!(column, "last_snapshot" | "last_oprf"));
    conn.query_row(
        &format!("SELECT {column} FROM fed_links WHERE id = ?1"),
        [link],
        |r| r.get(0),
    )
}

// ---- invitations

pub struct Invite {
    pub id: i64,
    pub org_id: i64,
    pub expires_at: String,
    pub status: String,
}

pub fn insert_invite(
    conn: &Connection,
    org: i64,
    secret_hash: &[u8],
    expires_at: &str,
    user: i64,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO fed_invites (org_id, secret_hash, expires_at, status, created_by, created_at)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5)",
        params![org, secret_hash, expires_at, user, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn invite_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<Invite>> {
    conn.query_row(
        "SELECT id, org_id, expires_at, status FROM fed_invites WHERE secret_hash = ?1",
        [hash],
        |r| {
            Ok(Invite {
                id: r.get(0)?,
                org_id: r.get(1)?,
                expires_at: r.get(2)?,
                status: r.get(3)?,
            })
        },
    )
    .optional()
}

pub fn set_invite_status(
    conn: &Connection,
    id: i64,
    status: &str,
    used_by: Option<&[u8]>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE fed_invites SET status = ?2, used_by = ?3 WHERE id = ?1",
        params![id, status, used_by],
    )?;
    Ok(())
}

// ---- what the partner released

/// The mirrored population for a partner's population reference.
pub fn mirrored_pops(conn: &Connection, link: i64) -> rusqlite::Result<Vec<(i64, i64)>> {
    conn.prepare(
        "SELECT remote_ref, population_id FROM fed_pops WHERE link_id = ?1 ORDER BY remote_ref",
    )?
    .query_map([link], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

pub fn set_mirrored_pop(
    conn: &Connection,
    link: i64,
    remote_ref: i64,
    population: i64,
    points: &[u8],
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO fed_pops (link_id, remote_ref, population_id, points) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (link_id, remote_ref) DO UPDATE SET population_id = excluded.population_id,
            points = excluded.points",
        params![link, remote_ref, population, points],
    )?;
    Ok(())
}

pub fn mirrored_points(conn: &Connection, population: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row(
        "SELECT points FROM fed_pops WHERE population_id = ?1",
        [population],
        |r| r.get(0),
    )
    .optional()
}

pub fn set_answer(
    conn: &Connection,
    link: i64,
    population: i64,
    points: &[u8],
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO fed_answers (link_id, population_id, points) VALUES (?1, ?2, ?3)
         ON CONFLICT (link_id, population_id) DO UPDATE SET points = excluded.points",
        params![link, population, points],
    )?;
    Ok(())
}

pub fn answers(conn: &Connection, link: i64) -> rusqlite::Result<Vec<(i64, Vec<u8>)>> {
    conn.prepare(
        "SELECT population_id, points FROM fed_answers WHERE link_id = ?1 ORDER BY population_id",
    )?
    .query_map([link], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

pub fn clear_counts(conn: &Connection, link: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM fed_counts WHERE link_id = ?1", [link])?;
    Ok(())
}

pub fn set_count(
    conn: &Connection,
    link: i64,
    my_pop: i64,
    their_pop: i64,
    count: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO fed_counts (link_id, my_pop, their_pop, count) VALUES (?1, ?2, ?3, ?4)",
        params![link, my_pop, their_pop, count],
    )?;
    Ok(())
}

/// The overlap count PSI cardinality gave for a cell, if any (the engine's remote `counts`).
pub fn cell_count(conn: &Connection, my_pop: i64, their_pop: i64) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT count FROM fed_counts WHERE my_pop = ?1 AND their_pop = ?2",
        params![my_pop, their_pop],
        |r| r.get(0),
    )
    .optional()
}

pub fn insert_pending_oprf(
    conn: &Connection,
    link: i64,
    qid: i64,
    blind: &[u8],
    keys: &str,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM fed_oprf_pending WHERE link_id = ?1", [link])?;
    conn.execute(
        "INSERT INTO fed_oprf_pending (link_id, qid, blind, keys) VALUES (?1, ?2, ?3, ?4)",
        params![link, qid, blind, keys],
    )?;
    Ok(())
}

pub fn take_pending_oprf(
    conn: &Connection,
    link: i64,
    qid: i64,
) -> rusqlite::Result<Option<(Vec<u8>, String)>> {
    let r = conn
        .query_row(
            "SELECT blind, keys FROM fed_oprf_pending WHERE link_id = ?1 AND qid = ?2",
            params![link, qid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    conn.execute(
        "DELETE FROM fed_oprf_pending WHERE link_id = ?1 AND qid = ?2",
        params![link, qid],
    )?;
    Ok(r)
}

/// Deletes everything received from the partner and the partnership's secrets (revocation).
/// The link row stays (pinned ID, streams) so that the revocation itself can be delivered.
pub fn purge(conn: &Connection, link: &Link) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM fed_counts WHERE link_id = ?1", [link.id])?;
    conn.execute("DELETE FROM fed_answers WHERE link_id = ?1", [link.id])?;
    conn.execute("DELETE FROM fed_oprf_pending WHERE link_id = ?1", [link.id])?;
    conn.execute(
        "DELETE FROM sharing_settings WHERE owner_org = ?1",
        [link.remote_org],
    )?;
    // A population a share request names stays as an empty shell (its name only), so that the
    // request keeps its history as in one database; the others go (their fed_pops with them).
    conn.execute(
        "DELETE FROM populations WHERE org_id = ?1 AND id NOT IN
            (SELECT population_id FROM share_requests WHERE population_id IS NOT NULL)",
        [link.remote_org],
    )?;
    conn.execute(
        "DELETE FROM population_members WHERE population_id IN
            (SELECT id FROM populations WHERE org_id = ?1)",
        [link.remote_org],
    )?;
    conn.execute(
        "UPDATE populations SET record_count = 0, filters = '[]' WHERE org_id = ?1",
        [link.remote_org],
    )?;
    conn.execute(
        "UPDATE fed_pops SET points = x'' WHERE link_id = ?1",
        [link.id],
    )?;
    conn.execute("DELETE FROM records WHERE org_id = ?1", [link.remote_org])?;
    conn.execute(
        "DELETE FROM data_sources WHERE org_id = ?1 AND id NOT IN (SELECT source_id FROM populations)",
        [link.remote_org],
    )?;
    conn.execute(
        "UPDATE fed_links SET psi_scalar = NULL, oprf_key = NULL, last_snapshot = NULL,
            last_oprf = NULL, snapshot_hash = NULL, query_hash = NULL, oprf_hash = NULL
         WHERE id = ?1",
        [link.id],
    )?;
    // The partner's users: nameless from now on (threads and requests keep their history).
    super::fed_refs::scrub_users(conn, link.id, link.remote_org)?;
    // Messages carrying our data that were not delivered yet are withdrawn too.
    conn.execute(
        "DELETE FROM fed_outbox WHERE link_id = ?1 AND kind <> 'revoke'",
        [link.id],
    )?;
    Ok(())
}
