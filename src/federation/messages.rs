//! Everything else a partnership has, as messages of the protocol (FEDERATION.md; SPEC §1):
//! the users each side may see of the other, share requests and their answers, threads and
//! their posts. The engine writes these as it does for a local partner, then calls the hooks
//! here inside the same write transaction: when the other side lives on another instance, the
//! change is queued for it. The receiving side turns each message into the same rows a local
//! partner's action would have written, so the same tools list and answer them.
//!
//! Everything received is the partner's text: stored as is, shown under `partner_supplied`
//! (the MCP layer decides by the author's org), never read as an instruction.

use super::protocol::{Applied, enqueue};
use super::wire::Msg;
use crate::error::{Error, Result};
use crate::model::{PartnershipStatus, Role, ShareRequestStatus, SharingLevel};
use crate::store::{self, fed_refs, federation::Link};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

const USER: &str = "user";
const REQUEST: &str = "request";
const THREAD: &str = "thread";

/// Bounds on what a partner may send (the same as the engine's for its own users' input).
const MAX_USERS: usize = 5000;
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 320;
const MAX_REQUEST_MESSAGE: usize = 2000;
const MAX_FIELDS: usize = 100;
const MAX_FIELD: usize = 200;
const MAX_POST: usize = 10_000;
const MAX_ACCOUNT: usize = 500;
const MAX_OWNERS: usize = 20;

/// One of the sender's users, as its partner may see them (SPEC §1: name, email, role).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireUser {
    /// The sender's user id.
    pub r: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// A user named in a message: one of the sender's (by its id), or one of the receiver's (by
/// the receiver's own id, learned from its users message).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Sender(i64),
    Receiver(i64),
}

/// A share request made by the sender to the receiver.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireRequest {
    /// The sender's request id.
    pub r: i64,
    /// The receiver's population asked for (its own id, as its snapshot named it); None = all
    /// it shows the sender.
    pub population: Option<i64>,
    pub level: Option<SharingLevel>,
    pub fields: Vec<String>,
    pub message: String,
    /// The sender's user who asked.
    pub by: Option<i64>,
}

/// A request changes status: answered by its owner (the id is the receiver's own request) or
/// withdrawn by its requester (the id is the sender's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireRequestStatus {
    pub r: i64,
    /// Whether `r` is the receiver's own request id.
    pub yours: bool,
    pub status: ShareRequestStatus,
}

/// A post to a thread (or owners added to it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WirePost {
    /// The thread: the sender's id (it opened it) or the receiver's (`yours`).
    pub thread: i64,
    pub yours: bool,
    /// The account the thread is about, as its opener names it (sent by the opener).
    pub account: String,
    /// The message, if one was posted.
    pub body: Option<String>,
    pub by: Option<i64>,
    pub owners: Vec<Who>,
}

fn bad(what: &str) -> Error {
    Error::Invalid(format!(
        "The partner sent a malformed message ({what}); it was not applied."
    ))
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// The link of a partner org, if it lives on another instance and the partnership is active.
fn active_link(conn: &Connection, partner_org: i64) -> Result<Option<Link>> {
    let Some(link) = store::federation::link_of_remote_org(conn, partner_org)? else {
        return Ok(None);
    };
    let active = store::partnerships::between(conn, link.local_org, link.remote_org)?
        .is_some_and(|p| p.status == PartnershipStatus::Active);
    Ok(active.then_some(link))
}

// ------------------------------------------------------------------ users

fn our_users(conn: &Connection, link: &Link) -> Result<Vec<WireUser>> {
    Ok(store::orgs::users_of(conn, link.local_org)?
        .into_iter()
        .map(|u| WireUser {
            r: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
        })
        .collect())
}

/// Queues our users for the partner when they changed since the last time (call inside a
/// write transaction, with the partnership active). Returns whether a message was queued.
pub fn refresh_users(conn: &Connection, link: &Link, now: &str) -> Result<bool> {
    let users = our_users(conn, link)?;
    let h: String = Sha256::digest(serde_json::to_vec(&users).expect("serializable"))
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    if fed_refs::users_hash(conn, link.id)?.as_deref() == Some(h.as_str()) {
        return Ok(false);
    }
    enqueue(conn, link.id, &Msg::Users { users }, now)?;
    fed_refs::set_users_hash(conn, link.id, Some(&h))?;
    Ok(true)
}

/// The partner's users, mirrored as users of the org standing for it (no permissions here:
/// they never act on this instance). A user whose email is already taken here is skipped.
pub fn apply_users(
    conn: &Connection,
    link: &Link,
    users: Vec<WireUser>,
    now: &str,
) -> Result<Applied> {
    if users.len() > MAX_USERS {
        return Err(bad("too many users"));
    }
    let mut seen = Vec::with_capacity(users.len());
    for u in users {
        let (name, email) = (u.name.trim(), u.email.trim());
        if email.is_empty() || too_long(name, MAX_NAME) || too_long(email, MAX_EMAIL) {
            continue;
        }
        let existing = fed_refs::local(conn, link.id, USER, u.r)?;
        let taken =
            store::orgs::user_by_email(conn, email)?.is_some_and(|x| Some(x.id) != existing);
        if taken {
            tracing::warn!(
                "federation: a partner user's email is already a user here; that user is not shown"
            );
            continue;
        }
        match existing {
            Some(id) => {
                conn.execute(
                    "UPDATE users SET name = ?2, email = ?3, role = ?4 WHERE id = ?1 AND org_id = ?5",
                    params![id, name, email, u.role.as_str(), link.remote_org],
                )?;
            }
            None => {
                let id =
                    store::orgs::insert_user(conn, link.remote_org, name, email, u.role, &[], now)?;
                fed_refs::set(conn, link.id, USER, u.r, id)?;
            }
        }
        seen.push(u.r);
    }
    // Users the partner no longer has: gone here too (their messages stay, as "a former user").
    for (r, id) in fed_refs::all(conn, link.id, USER)? {
        if !seen.contains(&r) {
            conn.execute(
                "DELETE FROM users WHERE id = ?1 AND org_id = ?2",
                params![id, link.remote_org],
            )?;
            fed_refs::remove(conn, link.id, USER, r)?;
        }
    }
    Ok(Applied::Done)
}

/// A local user id as the partner names it: ours are `Sender`, its mirrored ones `Receiver`.
fn who_of(conn: &Connection, link: &Link, user: i64) -> Result<Option<Who>> {
    match store::orgs::user(conn, user)? {
        Some(u) if u.org_id == link.local_org => Ok(Some(Who::Sender(u.id))),
        Some(u) if u.org_id == link.remote_org => {
            Ok(fed_refs::remote(conn, link.id, USER, u.id)?.map(Who::Receiver))
        }
        _ => Ok(None),
    }
}

/// A user the partner named, as a local user id (None: unknown here).
fn user_of(conn: &Connection, link: &Link, who: Who) -> Result<Option<i64>> {
    match who {
        Who::Sender(r) => Ok(fed_refs::local(conn, link.id, USER, r)?),
        Who::Receiver(id) => Ok(store::orgs::user(conn, id)?
            .filter(|u| u.org_id == link.local_org)
            .map(|u| u.id)),
    }
}

// ------------------------------------------------------------------ share requests

/// The engine wrote share request `id` (made, answered or withdrawn): if the other side lives
/// on another instance, queue the change for it. Call inside the engine's write transaction.
pub fn request_changed(conn: &Connection, id: i64, now: &str) -> Result<()> {
    let Some(r) = store::share_requests::get(conn, id)? else {
        return Ok(());
    };
    // Our side is the one whose org has users here; the other may be remote.
    for (other, ours_is_requester) in [(r.owner_org, true), (r.requester_org, false)] {
        let Some(link) = active_link(conn, other)? else {
            continue;
        };
        refresh_users(conn, &link, now)?;
        let msg = match (ours_is_requester, r.status) {
            (true, ShareRequestStatus::Pending) => {
                let population = match r.population_id {
                    Some(p) => Some(
                        store::federation::mirrored_pops(conn, link.id)?
                            .into_iter()
                            .find(|(_, local)| *local == p)
                            .map(|(remote, _)| remote)
                            .ok_or_else(|| {
                                Error::Conflict(
                                    "That population is no longer shown to you by the partner; sync and try again.".into(),
                                )
                            })?,
                    ),
                    None => None,
                };
                Msg::ShareRequest(WireRequest {
                    r: r.id,
                    population,
                    level: r.level,
                    fields: r.fields.clone(),
                    message: r.message.clone(),
                    by: r.created_by,
                })
            }
            (true, ShareRequestStatus::Withdrawn) => Msg::ShareRequestStatus(WireRequestStatus {
                r: r.id,
                yours: false,
                status: r.status,
            }),
            (false, ShareRequestStatus::Approved | ShareRequestStatus::Declined) => {
                let Some(theirs) = fed_refs::remote(conn, link.id, REQUEST, r.id)? else {
                    continue;
                };
                Msg::ShareRequestStatus(WireRequestStatus {
                    r: theirs,
                    yours: true,
                    status: r.status,
                })
            }
            _ => continue,
        };
        enqueue(conn, link.id, &msg, now)?;
    }
    Ok(())
}

fn audit_received(
    conn: &Connection,
    link: &Link,
    action: &str,
    entity: &str,
    id: i64,
    after: serde_json::Value,
    now: &str,
) -> Result<()> {
    store::audit(
        conn,
        now,
        None,
        Some(link.local_org),
        action,
        entity,
        Some(id),
        None,
        Some(&after),
    )?;
    Ok(())
}

/// The partner asks us to share: an incoming request, as a local partner's would be. A
/// population we do not show it (hidden, or not ours) is answered `declined`, the same
/// answer whatever the reason, so that nothing tells whether it exists.
pub fn apply_request(conn: &Connection, link: &Link, w: WireRequest, now: &str) -> Result<Applied> {
    if fed_refs::local(conn, link.id, REQUEST, w.r)?.is_some() {
        return Ok(Applied::Done);
    }
    if too_long(&w.message, MAX_REQUEST_MESSAGE)
        || w.fields.len() > MAX_FIELDS
        || w.fields.iter().any(|f| too_long(f, MAX_FIELD))
        || w.level == Some(SharingLevel::Hidden)
    {
        return Err(bad("share request"));
    }
    let shown = match w.population {
        None => true,
        Some(p) => {
            store::populations::get(conn, p)?.is_some_and(|pop| pop.org_id == link.local_org)
                && store::sharing::get(conn, link.local_org, link.remote_org, p)?.level
                    != SharingLevel::Hidden
        }
    };
    if !shown {
        enqueue(
            conn,
            link.id,
            &Msg::ShareRequestStatus(WireRequestStatus {
                r: w.r,
                yours: true,
                status: ShareRequestStatus::Declined,
            }),
            now,
        )?;
        return Ok(Applied::Refused(
            "a share request for a population not shown to the partner was declined".into(),
        ));
    }
    let by = match w.by {
        Some(r) => fed_refs::local(conn, link.id, USER, r)?,
        None => None,
    };
    let fields: Vec<String> = w.fields.iter().map(|f| f.trim().to_string()).collect();
    conn.execute(
        "INSERT INTO share_requests (requester_org, owner_org, population_id, level, fields, message,
                                     status, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?8)",
        params![
            link.remote_org,
            link.local_org,
            w.population,
            w.level.map(|l| l.as_str()),
            serde_json::to_string(&fields).expect("serializable"),
            w.message.trim(),
            by,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    fed_refs::set(conn, link.id, REQUEST, w.r, id)?;
    audit_received(
        conn,
        link,
        "share_request_received",
        "share_request",
        id,
        json!({"requester_org": link.remote_org, "population_id": w.population, "level": w.level, "status": "pending"}),
        now,
    )?;
    Ok(Applied::Done)
}

/// The partner answered our request, or withdrew its own: only a pending request changes.
pub fn apply_request_status(
    conn: &Connection,
    link: &Link,
    w: WireRequestStatus,
    now: &str,
) -> Result<Applied> {
    let id = if w.yours {
        Some(w.r)
    } else {
        fed_refs::local(conn, link.id, REQUEST, w.r)?
    };
    let Some(r) = id
        .map(|id| store::share_requests::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(Applied::Refused(
            "a status for an unknown share request".into(),
        ));
    };
    // Answers come from the owner for our requests; withdrawals from the requester for its own.
    let fits = if w.yours {
        r.requester_org == link.local_org
            && r.owner_org == link.remote_org
            && matches!(
                w.status,
                ShareRequestStatus::Approved | ShareRequestStatus::Declined
            )
    } else {
        r.requester_org == link.remote_org
            && r.owner_org == link.local_org
            && w.status == ShareRequestStatus::Withdrawn
    };
    if !fits {
        return Err(bad("share request status"));
    }
    if r.status != ShareRequestStatus::Pending {
        return Ok(Applied::Done);
    }
    store::share_requests::set_status(conn, r.id, w.status, None, now)?;
    audit_received(
        conn,
        link,
        "share_request_status_received",
        "share_request",
        r.id,
        json!({"status": w.status, "by": "partner"}),
        now,
    )?;
    Ok(Applied::Done)
}

// ------------------------------------------------------------------ threads

/// The engine posted to thread `thread` (a message, owners added, or both): if the other org
/// lives on another instance, queue the post for it. Call inside the engine's write transaction.
pub fn thread_posted(
    conn: &Connection,
    thread: i64,
    message: Option<i64>,
    owners: &[i64],
    now: &str,
) -> Result<()> {
    let Some(t) = store::threads::get(conn, thread)? else {
        return Ok(());
    };
    for (other, opened_by_us) in [(t.org_b, true), (t.org_a, false)] {
        let Some(link) = active_link(conn, other)? else {
            continue;
        };
        refresh_users(conn, &link, now)?;
        let thread_ref = if opened_by_us {
            t.id
        } else {
            match fed_refs::remote(conn, link.id, THREAD, t.id)? {
                Some(r) => r,
                None => continue,
            }
        };
        let (body, by) = match message {
            Some(m) => {
                let row = store::threads::messages(conn, t.id)?
                    .into_iter()
                    .find(|x| x.id == m);
                (
                    row.as_ref().map(|x| x.body.clone()),
                    row.and_then(|x| x.user_id),
                )
            }
            None => (None, None),
        };
        let mut who = Vec::new();
        for o in owners {
            if let Some(w) = who_of(conn, &link, *o)? {
                who.push(w);
            }
        }
        let post = WirePost {
            thread: thread_ref,
            yours: !opened_by_us,
            account: if opened_by_us {
                t.account.clone()
            } else {
                String::new()
            },
            body,
            by: by.filter(|u| {
                store::orgs::user(conn, *u)
                    .ok()
                    .flatten()
                    .is_some_and(|x| x.org_id == link.local_org)
            }),
            owners: who,
        };
        enqueue(conn, link.id, &Msg::ThreadPost(post), now)?;
    }
    Ok(())
}

/// A post from the partner: to a thread it opened (made here on its first post) or to one we
/// opened. The author is the partner's user; owners may be users of either side.
pub fn apply_post(conn: &Connection, link: &Link, w: WirePost, now: &str) -> Result<Applied> {
    if w.body
        .as_deref()
        .is_some_and(|b| b.trim().is_empty() || too_long(b, MAX_POST))
        || too_long(&w.account, MAX_ACCOUNT)
        || w.owners.len() > MAX_OWNERS
    {
        return Err(bad("thread post"));
    }
    let by = match w.by {
        Some(r) => fed_refs::local(conn, link.id, USER, r)?,
        None => None,
    };
    let thread = if w.yours {
        match store::threads::get(conn, w.thread)? {
            Some(t) if t.org_a == link.local_org && t.org_b == link.remote_org => t.id,
            _ => return Err(bad("thread")),
        }
    } else {
        match fed_refs::local(conn, link.id, THREAD, w.thread)? {
            Some(id) => id,
            None => {
                if w.account.trim().is_empty() {
                    return Err(bad("thread account"));
                }
                conn.execute(
                    "INSERT INTO threads (org_a, org_b, record_id, account, created_by, created_at, updated_at)
                     VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?5)",
                    params![link.remote_org, link.local_org, w.account.trim(), by, now],
                )?;
                let id = conn.last_insert_rowid();
                fed_refs::set(conn, link.id, THREAD, w.thread, id)?;
                id
            }
        }
    };
    if let Some(body) = &w.body {
        conn.execute(
            "INSERT INTO thread_messages (thread_id, user_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![thread, by, body.trim(), now],
        )?;
    }
    for o in &w.owners {
        if let Some(u) = user_of(conn, link, *o)? {
            store::threads::add_owner(conn, thread, u)?;
        }
    }
    store::threads::touch(conn, thread, now)?;
    audit_received(
        conn,
        link,
        "thread_post_received",
        "thread",
        thread,
        json!({"partner_org": link.remote_org, "message": w.body.is_some(), "owners": w.owners.len()}),
        now,
    )?;
    Ok(Applied::Done)
}
