//! The federation's operations: remote invitations (invite, accept, decline), the exchange of
//! the outbox (client and server side), revocation, and the status shown for remote partners.

use super::identity::{self, Identity, InstanceId};
use super::net::{self, Handled, PostError, UNKNOWN};
use super::protocol;
use super::psi;
use super::wire::{
    self, AcceptReq, AcceptResp, B64, CODE_PREFIX, Envelope, Exchange, InviteCode, Msg, PROTOCOL,
    matching_version,
};
use crate::engine::{Engine, PartnershipView};
use crate::error::{Error, Result, conflict, forbidden, invalid};
use crate::model::{Actor, PartnershipStatus, Permission, Plan};
use crate::store::{self, federation::Link};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;

const PUBLIC_URL: &str = "fed_public_url";

/// Whether a text is a remote invitation code (`pmi1.…`) rather than a partner name.
pub fn is_code(text: &str) -> bool {
    text.trim().starts_with(CODE_PREFIX)
}

/// This instance's identity (made on first use).
pub fn identity(engine: &Engine) -> Result<Identity> {
    identity::load_or_create(engine.conn(), &engine.now_str())
}

/// Records where partners reach this instance (set by `serve --peer-listen`).
pub fn set_public_url(engine: &Engine, url: &str) -> Result<()> {
    Ok(store::meta_set(engine.conn(), PUBLIC_URL, url)?)
}

pub fn public_url(engine: &Engine) -> Result<Option<String>> {
    Ok(store::meta_get(engine.conn(), PUBLIC_URL)?)
}

/// Parses `7d`, `12h`, `30m`, `45s` (a bare number is days).
pub fn parse_expiry(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| invalid(format!("'{t}' is not a duration; use e.g. 7d, 12h or 30m.")))?;
    let d = match unit {
        "" | "d" => Duration::days(n),
        "h" => Duration::hours(n),
        "m" => Duration::minutes(n),
        "s" => Duration::seconds(n),
        _ => {
            return Err(invalid(format!(
                "'{t}' is not a duration; use e.g. 7d, 12h or 30m."
            )));
        }
    };
    if n <= 0 || d > Duration::days(90) {
        return Err(invalid("An invitation expires after 1 second to 90 days."));
    }
    Ok(d)
}

/// A remote invitation code to send to the partner.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct RemoteInvite {
    /// The one-time code (pmi1.…): the partner accepts it with respond_to_invitation `code`
    /// or `partnermap accept CODE` on their instance.
    pub code: String,
    pub expires_at: String,
    /// The address the code tells the partner to connect to.
    pub url: String,
    /// This instance's ID, for the partner to compare out of band.
    pub instance_id: String,
}

/// `invite --remote`: a one-time code carrying our address, ID, org and a 256-bit secret
/// (stored only as its SHA-256).
pub fn invite_remote(
    engine: &mut Engine,
    actor: &Actor,
    expires: Duration,
    url: Option<&str>,
) -> Result<RemoteInvite> {
    engine.require(actor, Permission::ManagePartnerships, "invite partners")?;
    let url = match url.map(str::to_string).or(public_url(engine)?) {
        Some(u) => u,
        None => {
            return Err(conflict(
                "This instance has no address partners can reach yet: start the peer endpoint with `partnermap serve --peer-listen ADDR --public-url https://HOST:PORT` first (the invitation carries the address).",
            ));
        }
    };
    let me = identity(engine)?;
    let secret: [u8; 32] = rand::random();
    let now = engine.now();
    let expires_at = (now + expires).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let now_s = engine.now_str();
    let tx = store::write_tx(engine.conn_mut())?;
    let id = store::federation::insert_invite(
        &tx,
        actor.org.id,
        &Sha256::digest(secret),
        &expires_at,
        actor.user.id,
        &now_s,
    )?;
    store::audit(
        &tx,
        &now_s,
        Some(actor.user.id),
        Some(actor.org.id),
        "invite_partner_remote",
        "invitation",
        Some(id),
        None,
        Some(&json!({"expires_at": expires_at, "url": url})),
    )?;
    tx.commit()?;
    let code = InviteCode {
        url: url.clone(),
        instance: B64(me.id.0.to_vec()),
        org: actor.org.name.clone(),
        domain: actor.org.domain.clone(),
        secret: B64(secret.to_vec()),
        expires: expires_at.clone(),
    }
    .encode();
    Ok(RemoteInvite {
        code,
        expires_at,
        url,
        instance_id: me.id.display(),
    })
}

fn decode_code(code: &str) -> Result<InviteCode> {
    InviteCode::decode(code).ok_or_else(|| {
        invalid("That invitation code is damaged or incomplete: copy the whole code (it starts with pmi1.) and try again.")
    })
}

fn expired(expires: &str, now: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(expires).map_or(true, |t| t.with_timezone(&Utc) <= now)
}

/// Runs a request on its own thread and runtime (callers may be inside another runtime).
fn post_blocking(
    me: &Identity,
    pinned: InstanceId,
    url: &str,
    path: &str,
    body: Vec<u8>,
) -> std::result::Result<Vec<u8>, PostError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| PostError::Unreachable(e.to_string()))?;
            rt.block_on(net::post(me, pinned, url, path, body))
        })
        .join()
        .unwrap_or_else(|_| Err(PostError::Unreachable("request thread failed".into())))
    })
}

fn refused_sentence(e: PostError, who: &str) -> Error {
    match e {
        PostError::Unreachable(m) => Error::Io(format!(
            "Could not reach {who} ({m}). Check the address in the code and that their `partnermap serve --peer-listen` is running; nothing was changed."
        )),
        PostError::Status(_, body) => {
            let msg = serde_json::from_slice::<serde_json::Value>(body.as_bytes())
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(body);
            Error::Conflict(format!("{who} refused: {msg} Nothing was changed."))
        }
    }
}

/// `accept CODE`: proves the secret to the inviter (whose certificate must match the ID in the
/// code), pins its ID, and makes the partnership active on both sides.
pub fn accept_code(engine: &mut Engine, actor: &Actor, code: &str) -> Result<PartnershipView> {
    engine.require(actor, Permission::ManagePartnerships, "answer invitations")?;
    let c = decode_code(code)?;
    if expired(&c.expires, engine.now()) {
        return Err(conflict(format!(
            "This invitation code expired at {}; ask {} for a new one. Nothing was changed.",
            c.expires, c.org
        )));
    }
    let pinned = InstanceId::from_slice(&c.instance.0).ok_or_else(decode_err)?;
    let me = identity(engine)?;
    if pinned == me.id {
        return Err(invalid(
            "That invitation code was made by this instance: send it to your partner, who accepts it on theirs.",
        ));
    }
    let now = engine.now_str();
    // Our side first (invited, not active), so that the inviter can name our link; undone if
    // the inviter refuses.
    let existing = store::federation::link_by_instance(engine.conn(), actor.org.id, &pinned.0)?;
    if let Some(l) = &existing
        && store::partnerships::between(engine.conn(), l.local_org, l.remote_org)?
            .is_some_and(|p| p.status == PartnershipStatus::Active)
    {
        return Err(conflict(format!(
            "You are already partnered with {} on that instance.",
            c.org
        )));
    }
    let (link_id, created_org) = match &existing {
        Some(l) => (l.id, None),
        None => {
            let tx = store::write_tx(engine.conn_mut())?;
            let org = store::orgs::insert_org(
                &tx,
                &c.org,
                c.domain.as_deref(),
                Plan::Connector,
                None,
                &now,
            )?;
            store::partnerships::upsert(
                &tx,
                actor.org.id,
                org,
                org,
                PartnershipStatus::Invited,
                &now,
            )?;
            let id = store::federation::insert_link(
                &tx,
                actor.org.id,
                org,
                &pinned.0,
                Some(&c.url),
                0,
                &[],
                &[],
                "",
                &now,
            )?;
            tx.commit()?;
            (id, Some(org))
        }
    };
    let undo = |engine: &mut Engine| -> Result<()> {
        if let Some(org) = created_org {
            let tx = store::write_tx(engine.conn_mut())?;
            store::orgs::delete_org(&tx, org)?;
            tx.commit()?;
        }
        Ok(())
    };
    let req = AcceptReq {
        protocol: PROTOCOL,
        secret: c.secret.clone(),
        org: actor.org.name.clone(),
        domain: actor.org.domain.clone(),
        link: link_id,
        url: public_url(engine)?,
        matching_version: matching_version(),
    };
    let body = serde_json::to_vec(&req).expect("serializable");
    let resp = match post_blocking(&me, pinned, &c.url, "/v1/accept", body) {
        Ok(b) => b,
        Err(e) => {
            undo(engine)?;
            return Err(refused_sentence(e, &c.org));
        }
    };
    if let Some(m) = wire::version_mismatch_in(&resp) {
        undo(engine)?;
        return Err(Error::Conflict(format!("{}: {m}.", c.org)));
    }
    let resp: AcceptResp = match serde_json::from_slice(&resp) {
        Ok(r) => r,
        Err(_) => {
            undo(engine)?;
            return Err(Error::Io(format!(
                "{} answered with something that is not a partnermap acceptance; nothing was changed.",
                c.org
            )));
        }
    };
    let (ab, s) = (psi::random_scalar(), psi::random_scalar());
    let tx = store::write_tx(engine.conn_mut())?;
    let link = store::federation::link(&tx, link_id)?.expect("ours");
    store::federation::renew_link(
        &tx,
        link_id,
        Some(&c.url),
        resp.link,
        ab.as_bytes(),
        s.as_bytes(),
        &resp.matching_version,
    )?;
    conn_org_update(&tx, link.remote_org, &resp.org, resp.domain.as_deref())?;
    store::partnerships::upsert(
        &tx,
        actor.org.id,
        link.remote_org,
        link.remote_org,
        PartnershipStatus::Active,
        &now,
    )?;
    let ps = store::partnerships::between(&tx, actor.org.id, link.remote_org)?.expect("just set");
    store::audit(
        &tx,
        &now,
        Some(actor.user.id),
        Some(actor.org.id),
        "respond_to_invitation",
        "partnership",
        Some(ps.id),
        Some(&json!({"status": "invited", "remote": true})),
        Some(
            &json!({"status": "active", "remote_instance": pinned.display(), "matching_version": resp.matching_version}),
        ),
    )?;
    tx.commit()?;
    if resp.matching_version != matching_version() {
        tracing::warn!(
            "{} computes match keys with {}, this instance with {}: overlaps may differ.",
            resp.org,
            resp.matching_version,
            matching_version()
        );
    }
    Ok(PartnershipView {
        id: ps.id,
        status: ps.status,
        partner: resp.org,
        partner_id: link.remote_org,
    })
}

fn decode_err() -> Error {
    invalid(
        "That invitation code is damaged or incomplete: copy the whole code (it starts with pmi1.) and try again.",
    )
}

fn conn_org_update(
    conn: &rusqlite::Connection,
    org: i64,
    name: &str,
    domain: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE orgs SET name = ?2, domain = ?3 WHERE id = ?1",
        rusqlite::params![org, name, domain],
    )?;
    Ok(())
}

/// `decline CODE`: tells the inviter (proving the secret) and changes nothing here.
pub fn decline_code(engine: &mut Engine, actor: &Actor, code: &str) -> Result<String> {
    engine.require(actor, Permission::ManagePartnerships, "answer invitations")?;
    let c = decode_code(code)?;
    if expired(&c.expires, engine.now()) {
        return Err(conflict(format!(
            "This invitation code expired at {}; there is nothing to decline.",
            c.expires
        )));
    }
    let pinned = InstanceId::from_slice(&c.instance.0).ok_or_else(decode_err)?;
    let me = identity(engine)?;
    let req = AcceptReq {
        protocol: PROTOCOL,
        secret: c.secret.clone(),
        org: actor.org.name.clone(),
        domain: actor.org.domain.clone(),
        link: 0,
        url: None,
        matching_version: matching_version(),
    };
    post_blocking(
        &me,
        pinned,
        &c.url,
        "/v1/decline",
        serde_json::to_vec(&req).expect("serializable"),
    )
    .map_err(|e| refused_sentence(e, &c.org))?;
    Ok(c.org)
}

fn err_body(msg: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"error": msg})).expect("serializable")
}

/// Serves one request of the peer endpoint (on the blocking pool): opens the database,
/// answers, closes it.
pub fn handle(db: &Path, path: &str, peer: InstanceId, body: Vec<u8>) -> Handled {
    let mut engine = match Engine::open(db) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot open the database: {e}");
            return (503, err_body("the instance is not available right now"));
        }
    };
    let r = match path {
        "/v1/accept" => handle_accept(&mut engine, peer, &body, true),
        "/v1/decline" => handle_accept(&mut engine, peer, &body, false),
        "/v1/exchange" => handle_exchange(&mut engine, peer, &body),
        _ => Err((404, UNKNOWN.to_string())),
    };
    match r {
        Ok(b) => (200, b),
        Err((status, msg)) => (status, err_body(&msg)),
    }
}

type HResult = std::result::Result<Vec<u8>, (u16, String)>;

fn internal(e: impl std::fmt::Display) -> (u16, String) {
    tracing::error!("peer request failed: {e}");
    (
        500,
        "the instance could not process the request; try again later".to_string(),
    )
}

fn handle_accept(engine: &mut Engine, peer: InstanceId, body: &[u8], accept: bool) -> HResult {
    if let Some(m) = wire::version_mismatch_in(body) {
        return Err((409, m));
    }
    let req: AcceptReq =
        serde_json::from_slice(body).map_err(|_| (400, "malformed request".to_string()))?;
    let hash = Sha256::digest(&req.secret.0);
    let now = engine.now_str();
    let now_t = engine.now();
    let tx = store::write_tx(engine.conn_mut()).map_err(internal)?;
    let inv = store::federation::invite_by_hash(&tx, &hash).map_err(internal)?;
    let inv = match inv {
        None => {
            return Err((
                404,
                "that invitation code is not valid here (check that you copied all of it)."
                    .to_string(),
            ));
        }
        Some(i) if i.status == "used" => {
            return Err((
                409,
                "that invitation code was already used; ask for a new one.".into(),
            ));
        }
        Some(i) if i.status == "declined" => {
            return Err((
                409,
                "that invitation code was declined; ask for a new one.".into(),
            ));
        }
        Some(i) if expired(&i.expires_at, now_t) => {
            return Err((
                410,
                format!(
                    "that invitation code expired at {}; ask for a new one.",
                    i.expires_at
                ),
            ));
        }
        Some(i) => i,
    };
    if !accept {
        store::federation::set_invite_status(&tx, inv.id, "declined", Some(&peer.0))
            .map_err(internal)?;
        store::audit(
            &tx,
            &now,
            None,
            Some(inv.org_id),
            "invitation_declined",
            "invitation",
            Some(inv.id),
            None,
            Some(&json!({"by": req.org})),
        )
        .map_err(internal)?;
        tx.commit().map_err(internal)?;
        return Ok(b"{}".to_vec());
    }
    let org = store::orgs::org(&tx, inv.org_id)
        .map_err(internal)?
        .ok_or_else(|| (404, UNKNOWN.to_string()))?;
    let existing =
        store::federation::link_by_instance(&tx, inv.org_id, &peer.0).map_err(internal)?;
    let (ab, s) = (psi::random_scalar(), psi::random_scalar());
    let link_id = match existing {
        Some(l) => {
            if store::partnerships::between(&tx, l.local_org, l.remote_org)
                .map_err(internal)?
                .is_some_and(|p| p.status == PartnershipStatus::Active)
            {
                return Err((409, format!("you are already partnered with {}.", org.name)));
            }
            store::federation::renew_link(
                &tx,
                l.id,
                req.url.as_deref(),
                req.link,
                ab.as_bytes(),
                s.as_bytes(),
                &req.matching_version,
            )
            .map_err(internal)?;
            conn_org_update(&tx, l.remote_org, &req.org, req.domain.as_deref())
                .map_err(internal)?;
            l.id
        }
        None => {
            let remote = store::orgs::insert_org(
                &tx,
                &req.org,
                req.domain.as_deref(),
                Plan::Connector,
                None,
                &now,
            )
            .map_err(internal)?;
            store::federation::insert_link(
                &tx,
                inv.org_id,
                remote,
                &peer.0,
                req.url.as_deref(),
                req.link,
                ab.as_bytes(),
                s.as_bytes(),
                &req.matching_version,
                &now,
            )
            .map_err(internal)?
        }
    };
    let link = store::federation::link(&tx, link_id)
        .map_err(internal)?
        .expect("just written");
    let ps = store::partnerships::upsert(
        &tx,
        inv.org_id,
        link.remote_org,
        inv.org_id,
        PartnershipStatus::Active,
        &now,
    )
    .map_err(internal)?;
    store::federation::set_invite_status(&tx, inv.id, "used", Some(&peer.0)).map_err(internal)?;
    store::audit(
        &tx,
        &now,
        None,
        Some(inv.org_id),
        "invitation_accepted",
        "partnership",
        Some(ps),
        None,
        Some(&json!({"status": "active", "partner": req.org, "remote_instance": peer.display(), "matching_version": req.matching_version})),
    )
    .map_err(internal)?;
    tx.commit().map_err(internal)?;
    if req.matching_version != matching_version() {
        tracing::warn!(
            "{} computes match keys with {}, this instance with {}: overlaps may differ.",
            req.org,
            req.matching_version,
            matching_version()
        );
    }
    let resp = AcceptResp {
        protocol: PROTOCOL,
        link: link_id,
        org: org.name,
        domain: org.domain,
        matching_version: matching_version(),
    };
    Ok(serde_json::to_vec(&resp).expect("serializable"))
}

/// Applies the messages of an exchange in order, skipping those already processed (by
/// sequence number), each inside a savepoint, then turns what they brought into rows once.
/// Returns the new `in_seq`.
fn apply_all(
    conn: &rusqlite::Connection,
    keyer: crate::matching::Keyer,
    link_id: i64,
    messages: Vec<Envelope>,
    now: &str,
) -> Result<i64> {
    let mut link = store::federation::link(conn, link_id)?.expect("exists");
    let mut rebuild = false;
    for env in messages {
        if env.seq <= link.in_seq {
            continue; // already processed: a retry
        }
        conn.execute_batch("SAVEPOINT fed_msg")?;
        match protocol::apply(conn, &link, env.msg, now) {
            Ok(protocol::Applied::Done) => {}
            Ok(protocol::Applied::Rebuild) => rebuild = true,
            Ok(protocol::Applied::Refused(r)) => tracing::warn!("federation: {r}"),
            Err(e) => {
                conn.execute_batch("ROLLBACK TO fed_msg")?;
                tracing::warn!("federation: message {} not applied: {e}", env.seq);
            }
        }
        conn.execute_batch("RELEASE fed_msg")?;
        store::federation::set_in_seq(conn, link_id, env.seq)?;
        link = store::federation::link(conn, link_id)?.expect("exists");
    }
    // What the batch brought becomes rows once. If that fails, the messages stay applied (their
    // content is kept) and the rows as they were; the next batch rebuilds again.
    if rebuild && is_active(conn, &link)? {
        conn.execute_batch("SAVEPOINT fed_rebuild")?;
        if let Err(e) = protocol::rebuild(conn, keyer, &link, now) {
            conn.execute_batch("ROLLBACK TO fed_rebuild")?;
            tracing::warn!("federation: what the partner sent could not be turned into rows: {e}");
        }
        conn.execute_batch("RELEASE fed_rebuild")?;
    }
    Ok(link.in_seq)
}

fn pending_envelopes(conn: &rusqlite::Connection, link: i64) -> Result<Vec<Envelope>> {
    store::federation::pending(conn, link)?
        .into_iter()
        .map(|(seq, body)| {
            let msg: Msg = serde_json::from_slice(&body)
                .map_err(|e| Error::Io(format!("outbox message {seq} unreadable: {e}")))?;
            Ok(Envelope { seq, msg })
        })
        .collect()
}

fn is_active(conn: &rusqlite::Connection, link: &Link) -> Result<bool> {
    Ok(
        store::partnerships::between(conn, link.local_org, link.remote_org)?
            .is_some_and(|p| p.status == PartnershipStatus::Active),
    )
}

fn handle_exchange(engine: &mut Engine, peer: InstanceId, body: &[u8]) -> HResult {
    let unknown = || (404, UNKNOWN.to_string());
    let head: wire::Head = serde_json::from_slice(body).map_err(|_| unknown())?;
    let link = store::federation::link(engine.conn(), head.link)
        .map_err(internal)?
        .ok_or_else(unknown)?;
    if link.remote_instance != peer.0 {
        return Err(unknown()); // the same answer as a partnership that does not exist
    }
    if let Some(m) = wire::version_mismatch(head.protocol) {
        return Err((409, m));
    }
    let req: Exchange = serde_json::from_slice(body)
        .map_err(|_| (400, "malformed exchange (nothing was applied)".to_string()))?;
    let now = engine.now_str();
    let keyer = engine.keyer();
    let tx = store::write_tx(engine.conn_mut()).map_err(internal)?;
    store::federation::ack(&tx, link.id, req.ack).map_err(internal)?;
    let in_seq = apply_all(&tx, keyer, link.id, req.messages, &now).map_err(internal)?;
    let link = store::federation::link(&tx, link.id)
        .map_err(internal)?
        .expect("exists");
    if is_active(&tx, &link).map_err(internal)? {
        protocol::refresh(&tx, &link, &now).map_err(internal)?;
        super::messages::refresh_users(&tx, &link, &now).map_err(internal)?;
    }
    store::federation::set_synced(&tx, link.id, &now).map_err(internal)?;
    let messages = pending_envelopes(&tx, link.id).map_err(internal)?;
    tx.commit().map_err(internal)?;
    // Test mode: hold the answer after committing, so a test can kill the process in between.
    if let Some(ms) = std::env::var("PARTNERMAP_FED_TEST_HOLD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let resp = Exchange {
        protocol: PROTOCOL,
        link: link.remote_link,
        ack: in_seq,
        messages,
    };
    Ok(serde_json::to_vec(&resp).expect("serializable"))
}

/// The result of syncing with one remote partner.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct SyncOutcome {
    /// The partner (its name as it wrote it).
    pub partner: crate::text::Ref,
    pub reachable: bool,
    /// Messages delivered and received in this exchange.
    pub sent: usize,
    pub received: usize,
    /// Messages still queued for the partner (retried later).
    pub pending: i64,
    /// Why the exchange failed (it may quote the partner's answer: data, not instructions).
    #[serde(serialize_with = "crate::shape::as_clean_opt")]
    pub error: Option<String>,
}

/// Backoff after `failures` failed attempts: 5 s doubling, at most 1 h.
fn backoff(failures: i64) -> Duration {
    Duration::seconds((5i64 << failures.clamp(0, 10)).min(3600))
}

/// Exchanges now with one remote partner: delivers what is pending, collects what it queued,
/// repeats while either side had something (answers produce answers), at most a few rounds.
pub fn sync_link(engine: &mut Engine, link_id: i64) -> Result<SyncOutcome> {
    let me = identity(engine)?;
    let keyer = engine.keyer();
    let (mut sent, mut received) = (0, 0);
    let mut error = None;
    for _round in 0..8 {
        let now = engine.now_str();
        let tx = store::write_tx(engine.conn_mut())?;
        let link = store::federation::link(&tx, link_id)?.expect("exists");
        if is_active(&tx, &link)? {
            protocol::refresh(&tx, &link, &now)?;
            super::messages::refresh_users(&tx, &link, &now)?;
        }
        let messages = pending_envelopes(&tx, link_id)?;
        tx.commit()?;
        let n_out = messages.len();
        let pinned = InstanceId::from_slice(&link.remote_instance)
            .ok_or_else(|| Error::Io("the partner's pinned instance ID is damaged".to_string()))?;
        let Some(url) = link.remote_url.clone().filter(|u| !u.is_empty()) else {
            error = Some(
                "the partner has no reachable address: it collects what is queued when it connects"
                    .to_string(),
            );
            break;
        };
        let req = Exchange {
            protocol: PROTOCOL,
            link: link.remote_link,
            ack: link.in_seq,
            messages,
        };
        let body = serde_json::to_vec(&req).expect("serializable");
        match post_blocking(&me, pinned, &url, "/v1/exchange", body) {
            Err(e) => {
                let msg = e.to_string();
                let tx = store::write_tx(engine.conn_mut())?;
                let next = (engine_now(&now) + backoff(link.failures))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                store::federation::set_attempt(&tx, link_id, &now, Some(&msg), Some(&next))?;
                tx.commit()?;
                error = Some(msg);
                break;
            }
            Ok(resp) => {
                // Test mode: hold the partner's answer before applying it, so a test can kill
                // this side of the exchange in between.
                if let Some(ms) = std::env::var("PARTNERMAP_FED_TEST_CLIENT_HOLD_MS")
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
                if let Some(m) = wire::version_mismatch_in(&resp) {
                    return Err(Error::Conflict(format!("{m}.")));
                }
                let resp: Exchange = serde_json::from_slice(&resp)
                    .map_err(|e| Error::Io(format!("the partner's answer is unreadable: {e}")))?;
                let n_in = resp.messages.len();
                let tx = store::write_tx(engine.conn_mut())?;
                store::federation::ack(&tx, link_id, resp.ack)?;
                apply_all(&tx, keyer, link_id, resp.messages, &now)?;
                store::federation::set_attempt(&tx, link_id, &now, None, None)?;
                tx.commit()?;
                sent += n_out;
                received += n_in;
                if n_out == 0 && n_in == 0 {
                    break;
                }
            }
        }
    }
    let link = store::federation::link(engine.conn(), link_id)?.expect("exists");
    let partner = store::orgs::org(engine.conn(), link.remote_org)?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(SyncOutcome {
        partner: crate::text::Ref::new(link.remote_org, &partner),
        reachable: error.is_none(),
        sent,
        received,
        pending: store::federation::pending_count(engine.conn(), link_id)?,
        error,
    })
}

fn engine_now(s: &str) -> DateTime<Utc> {
    crate::engine::parse_now(s).unwrap_or_else(Utc::now)
}

/// `sync [PARTNER]`: exchanges now with one remote partner, or all of the actor's.
pub fn sync(engine: &mut Engine, actor: &Actor, partner: Option<&str>) -> Result<Vec<SyncOutcome>> {
    let links: Vec<Link> = match partner {
        Some(p) => {
            let p = engine.resolve_partner(actor, p)?;
            match store::federation::link_of_remote_org(engine.conn(), p.org.id)? {
                Some(l) => vec![l],
                None => {
                    return Err(invalid(format!(
                        "{} is a partner in this database, not on another instance: there is nothing to sync.",
                        p.org.name
                    )));
                }
            }
        }
        None => store::federation::links_of(engine.conn(), Some(actor.org.id))?,
    };
    links.iter().map(|l| sync_link(engine, l.id)).collect()
}

/// Syncs every link of every org whose retry time has come (the schedule of `serve`).
pub fn sync_due(engine: &mut Engine) -> Result<()> {
    let now = engine.now();
    for l in store::federation::links_of(engine.conn(), None)? {
        let due = l
            .next_attempt
            .as_deref()
            .and_then(crate::engine::parse_now)
            .is_none_or(|t| t <= now);
        if due
            && l.remote_url.as_deref().is_some_and(|u| !u.is_empty())
            && let Err(e) = sync_link(engine, l.id)
        {
            tracing::warn!("sync with link {} failed: {e}", l.id);
        }
    }
    Ok(())
}

/// After the engine revoked a partnership: if the partner is remote, delete everything it
/// released here and the partnership's secrets, queue the revocation, and try to deliver it.
pub fn after_revoke(engine: &mut Engine, partner_org: i64) -> Result<Option<SyncOutcome>> {
    let Some(link) = store::federation::link_of_remote_org(engine.conn(), partner_org)? else {
        return Ok(None);
    };
    let now = engine.now_str();
    let tx = store::write_tx(engine.conn_mut())?;
    store::federation::purge(&tx, &link)?;
    protocol::enqueue(&tx, link.id, &Msg::Revoke, &now)?;
    tx.commit()?;
    Ok(Some(sync_link(engine, link.id)?))
}

/// Refuses an operation that needs a local partner (e.g. `invite ORG` for an org that is on
/// another instance).
pub fn require_not_remote(engine: &Engine, org: i64, doing: &str) -> Result<()> {
    if store::federation::link_of_remote_org(engine.conn(), org)?.is_some() {
        return Err(forbidden(format!(
            "That partner is on another instance: {doing} is not possible across instances."
        )));
    }
    Ok(())
}
