//! The messages' meaning: what an owner releases to a remote partner (built through the same
//! sharing settings and projection the engine's gate uses for local partners), what a viewer
//! asks, and how a viewer turns what it received into the rows the engine reads (mirrored
//! populations and sharing settings, released records, per-cell counts).

use super::psi::{self, Pt};
use super::wire::{B64, FullRow, Msg, PopPoints, Released, SealedEntry, SnapPop, Snapshot};
use crate::engine::access::VisiblePopulation;
use crate::error::{Error, Result};
use crate::matching::{KeyKind, Keyer, Member, PopKeys, RecordKeys};
use crate::model::{Record, SharingLevel, SourceKind};
use crate::store::{self, federation::Link};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The name of the data source that holds what a remote partner released.
pub const REMOTE_SOURCE: &str = "released by the partner's instance";

fn bad(what: &str) -> Error {
    Error::Invalid(format!(
        "The partner sent a malformed message ({what}); it was not applied."
    ))
}

fn scalar(v: &Option<Vec<u8>>) -> Result<Scalar> {
    v.as_deref()
        .and_then(psi::scalar_from_bytes)
        .ok_or_else(|| Error::Conflict("This partnership has no secrets (it was revoked).".into()))
}

fn hash_json<T: Serialize>(v: &T) -> String {
    let b = serde_json::to_vec(v).expect("serializable");
    Sha256::digest(&b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Every record of an org, by id.
fn records_of_org(conn: &Connection, org: i64) -> Result<HashMap<i64, Record>> {
    let mut out = HashMap::new();
    for s in store::records::sources_of(conn, org)? {
        store::records::for_each_in_source(conn, s.id, |r| {
            out.insert(r.id, r);
        })?;
    }
    Ok(out)
}

/// The record's key on the wire: its domain key, else its name key (SPEC §2's cross rule,
/// where a record without a domain matches on name, is not yet carried across instances).
fn key_of(r: &Record) -> Option<(KeyKind, String)> {
    r.domain_key
        .clone()
        .map(|d| (KeyKind::Domain, d))
        .or_else(|| r.name_key.clone().map(|n| (KeyKind::Name, n)))
}

/// An opaque per-partnership reference of an owner's record, stable across re-imports.
fn record_ref(link_key: &[u8], r: &Record) -> String {
    let mut h = Sha256::new();
    h.update(b"partnermap/record-ref\0");
    h.update(link_key);
    let key = key_of(r);
    h.update(key.as_ref().map_or(0u8, |k| k.0 as u8).to_le_bytes());
    h.update(key.as_ref().map_or("", |k| k.1.as_str()).as_bytes());
    h.update([0]);
    h.update(r.name.as_bytes());
    h.update([0]);
    h.update(r.website.as_bytes());
    h.update([0]);
    h.update(r.external_id.as_deref().unwrap_or("").as_bytes());
    h.finalize()[..12]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A match key as it is hashed: kind and text.
type Key = (KeyKind, String);
/// A released record: content, key, and the highest level that releases it.
type ReleasedRec = (Released, Option<Key>, SharingLevel);

/// What an owner releases to a partner before any sealing: deterministic, so that its hash
/// says whether anything changed since the last snapshot sent.
#[derive(Serialize)]
struct Plain {
    pops: Vec<PlainPop>,
    /// Released records by reference: content, key, the highest level that releases it.
    released: BTreeMap<String, ReleasedRec>,
}

#[derive(Serialize)]
struct PlainPop {
    r: i64,
    name: String,
    pop_type: crate::model::PopulationType,
    level: SharingLevel,
    fields: Vec<String>,
    record_count: i64,
    /// Distinct keys, sorted (at `counts` only).
    keys: Vec<(KeyKind, String)>,
}

fn plain_snapshot(conn: &Connection, link: &Link, records: &HashMap<i64, Record>) -> Result<Plain> {
    let link_key = link.oprf_key.clone().unwrap_or_default();
    let mut pops = Vec::new();
    let mut released: BTreeMap<String, ReleasedRec> = BTreeMap::new();
    let mut owner_ids: HashMap<String, i64> = HashMap::new();
    // References: content-derived (stable across re-imports), numbered among identical records.
    let mut refs: HashMap<i64, String> = HashMap::new();
    {
        let mut ids: Vec<i64> = records.keys().copied().collect();
        ids.sort_unstable();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for id in ids {
            let base = record_ref(&link_key, &records[&id]);
            let n = seen.entry(base.clone()).or_insert(0);
            refs.insert(
                id,
                if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}.{n}")
                },
            );
            *n += 1;
        }
    }
    for population in store::populations::of_org(conn, link.local_org)? {
        let sharing = store::sharing::get(conn, link.local_org, link.remote_org, population.id)?;
        if sharing.level == SharingLevel::Hidden {
            continue; // nothing, not even that it exists
        }
        let members = store::populations::members(conn, population.id)?
            .map(|(_, k)| k)
            .unwrap_or_default();
        let vis = VisiblePopulation {
            population: population.clone(),
            sharing: sharing.clone(),
        };
        let mut keys = Vec::new();
        for id in members.record_ids() {
            let Some(rec) = records.get(&id) else {
                continue;
            };
            match sharing.level {
                SharingLevel::Counts => {
                    if let Some(k) = key_of(rec) {
                        keys.push(k);
                    }
                }
                SharingLevel::Overlaps | SharingLevel::Full => {
                    // The gate's own projection: exactly the fields the setting lists.
                    let r = refs[&rec.id].clone();
                    owner_ids.insert(r.clone(), rec.id);
                    let e = released.entry(r.clone()).or_insert_with(|| {
                        (
                            Released {
                                r,
                                d: 0,
                                values: serde_json::Map::new(),
                                pops: Vec::new(),
                            },
                            key_of(rec),
                            sharing.level,
                        )
                    });
                    for (k, v) in vis.project(rec) {
                        e.0.values.insert(k, v);
                    }
                    e.0.pops.push(population.id);
                    e.2 = e.2.max(sharing.level);
                }
                SharingLevel::Hidden => {}
            }
        }
        keys.sort();
        keys.dedup();
        pops.push(PlainPop {
            r: population.id,
            name: population.name.clone(),
            pop_type: population.pop_type,
            level: sharing.level,
            fields: if sharing.level >= SharingLevel::Overlaps {
                sharing.fields.clone()
            } else {
                Vec::new()
            },
            record_count: population.record_count,
            keys,
        });
    }
    // Rank records that share a key in our own order (record id).
    let mut groups: HashMap<(KeyKind, String), Vec<(i64, String)>> = HashMap::new();
    for (r, (_, key, _)) in &released {
        if let Some(k) = key {
            groups
                .entry(k.clone())
                .or_default()
                .push((owner_ids[r], r.clone()));
        }
    }
    for mut g in groups.into_values() {
        g.sort();
        for (d, (_, r)) in g.into_iter().enumerate() {
            if let Some(e) = released.get_mut(&r) {
                e.0.d = d as u32;
            }
        }
    }
    Ok(Plain { pops, released })
}

/// The keys a snapshot seals at `overlaps` (each released record with a key, in order).
fn sealed_keys(plain: &Plain) -> impl Iterator<Item = &Key> {
    plain
        .released
        .values()
        .filter(|(_, _, level)| *level != SharingLevel::Full)
        .filter_map(|(_, key, _)| key.as_ref())
}

/// Seals a plain snapshot: blinded sets at `counts` (`blinded`: `H(k)·b` of every key they
/// hold), OPRF-sealed entries at `overlaps` (`H(k)·s` from `hashed`), rows at `full`.
fn seal_snapshot(
    plain: Plain,
    blinded: &HashMap<Key, Pt>,
    hashed: &Hashed,
    s: &Scalar,
) -> Snapshot {
    let pops = plain
        .pops
        .into_iter()
        .map(|p| SnapPop {
            points: B64(psi::pack(&psi::sorted(
                p.keys.iter().map(|k| blinded[k]).collect(),
            ))),
            r: p.r,
            name: p.name,
            pop_type: p.pop_type,
            level: p.level,
            fields: p.fields,
            record_count: p.record_count,
        })
        .collect();
    let mut rows = Vec::new();
    let mut sealed_in: Vec<(Released, (KeyKind, String))> = Vec::new();
    for (_, (rel, key, level)) in plain.released {
        if level == SharingLevel::Full {
            rows.push(FullRow {
                kind: key.as_ref().map(|k| k.0),
                key: key.map(|k| k.1),
                released: rel,
            });
        } else if let Some(k) = key {
            // A record without a match key can never overlap: nothing to seal.
            sealed_in.push((rel, k));
        }
    }
    let f = hashed.blind_each(sealed_in.iter().map(|(_, k)| k), s);
    let mut entries: Vec<SealedEntry> = sealed_in
        .iter()
        .zip(f)
        .map(|((rel, _), f)| {
            let (tag, key) = psi::tag_and_key(&f);
            let plain = serde_json::to_vec(rel).expect("serializable");
            SealedEntry {
                tag: B64(tag.to_vec()),
                sealed: B64(psi::seal(&key, &plain)),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.tag.0.cmp(&b.tag.0));
    Snapshot {
        pops,
        entries,
        rows,
    }
}

/// The viewer's populations as keys: for each population, one key per keyed record.
fn my_pop_keys(
    conn: &Connection,
    org: i64,
    records: &HashMap<i64, Record>,
) -> Result<Vec<(i64, Vec<Key>)>> {
    let mut out = Vec::new();
    for p in store::populations::of_org(conn, org)? {
        let members = store::populations::members(conn, p.id)?
            .map(|(_, k)| k)
            .unwrap_or_default();
        let mut keys: Vec<(KeyKind, String)> = members
            .record_ids()
            .filter_map(|id| records.get(&id).and_then(key_of))
            .collect();
        keys.sort();
        out.push((p.id, keys));
    }
    Ok(out)
}

/// Queues what changed for the partner: our snapshot (as owner), our counts query and our
/// OPRF query (as viewer). Nothing is queued when nothing changed. Call inside a write
/// transaction; returns how many messages were queued.
pub fn refresh(conn: &Connection, link: &Link, now: &str) -> Result<usize> {
    let (Ok(ab), Ok(s)) = (scalar(&link.psi_scalar), scalar(&link.oprf_key)) else {
        return Ok(0);
    };
    let mut queued = 0;
    // Our records, read once for what we show (owner) and what we ask (viewer).
    let records = records_of_org(conn, link.local_org)?;
    let plain = plain_snapshot(conn, link, &records)?;
    let snap_hash = hash_json(&plain);
    let snap_changed = link.snapshot_hash.as_deref() != Some(snap_hash.as_str());
    let mine = my_pop_keys(conn, link.local_org, &records)?;
    drop(records);
    let query_hash = hash_json(&mine);
    let query_changed = link.query_hash.as_deref() != Some(query_hash.as_str());
    // OPRF: only when the partner shows something at `overlaps`.
    let oprf_keys = if received_snapshot(conn, link.id)?.is_some_and(|s| !s.entries.is_empty()) {
        let mut keys: Vec<Key> = mine.iter().flat_map(|(_, k)| k).cloned().collect();
        keys.sort();
        keys.dedup();
        // Our OPRF values depend on our keys only: a new snapshot is opened with them as is.
        let h = hash_json(&keys);
        (link.oprf_hash.as_deref() != Some(h.as_str())).then_some((keys, h))
    } else {
        None
    };
    // Each key is hashed to the group once, whatever it is multiplied by; `H(k)·ab` is
    // computed once for our snapshot's sets and our counts query (the same scalar).
    let snap_keys = || plain.pops.iter().flat_map(|p| &p.keys);
    let query_keys = || mine.iter().flat_map(|(_, k)| k);
    let mut to_hash: Vec<&Key> = Vec::new();
    if snap_changed {
        to_hash.extend(snap_keys().chain(sealed_keys(&plain)));
    }
    if query_changed {
        to_hash.extend(query_keys());
    }
    if let Some((keys, _)) = &oprf_keys {
        to_hash.extend(keys);
    }
    let hashed = Hashed::new(to_hash.into_iter());
    let mut under_ab: Vec<&Key> = Vec::new();
    if snap_changed {
        under_ab.extend(snap_keys());
    }
    if query_changed {
        under_ab.extend(query_keys());
    }
    let blinded = hashed.blind(under_ab.into_iter(), &ab);
    if snap_changed {
        let snap = seal_snapshot(plain, &blinded, &hashed, &s);
        enqueue(conn, link.id, &Msg::Snapshot(snap), now)?;
        store::federation::set_hashes(conn, link.id, Some(&snap_hash), None, None)?;
        queued += 1;
    }
    if query_changed {
        let pops = mine
            .iter()
            .map(|(id, keys)| PopPoints {
                r: *id,
                points: B64(psi::pack(&psi::sorted(
                    keys.iter().map(|k| blinded[k]).collect(),
                ))),
            })
            .collect();
        let qid = (rand::random::<u32>() >> 1) as i64;
        enqueue(conn, link.id, &Msg::CountsQuery { qid, pops }, now)?;
        store::federation::set_hashes(conn, link.id, None, Some(&query_hash), None)?;
        queued += 1;
    }
    if let Some((keys, h)) = oprf_keys {
        let r = psi::random_scalar();
        let points = hashed.blind_each(keys.iter(), &r);
        let qid = (rand::random::<u32>() >> 1) as i64;
        store::federation::insert_pending_oprf(
            conn,
            link.id,
            qid,
            r.as_bytes(),
            &serde_json::to_string(&keys).expect("serializable"),
        )?;
        enqueue(
            conn,
            link.id,
            &Msg::OprfQuery {
                qid,
                points: B64(psi::pack(&points)),
            },
            now,
        )?;
        store::federation::set_hashes(conn, link.id, None, None, Some(&h))?;
        queued += 1;
    }
    Ok(queued)
}

/// Keys hashed to the group, each once (`H(k)`), to be multiplied by the scalars they need.
struct Hashed {
    index: HashMap<Key, usize>,
    points: Vec<RistrettoPoint>,
}

impl Hashed {
    fn new<'a>(keys: impl Iterator<Item = &'a Key>) -> Hashed {
        let mut distinct: Vec<Key> = keys.cloned().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let points = psi::hash_keys(&distinct);
        let index = distinct
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i))
            .collect();
        Hashed { index, points }
    }

    /// `H(k)·s` for each key, in order (keys must have been hashed).
    fn blind_each<'a>(&self, keys: impl Iterator<Item = &'a Key>, s: &Scalar) -> Vec<Pt> {
        let pts: Vec<RistrettoPoint> = keys.map(|k| self.points[self.index[k]]).collect();
        psi::mul_points(&pts, s)
    }

    /// `H(k)·s` for each distinct key, computed once.
    fn blind<'a>(&self, keys: impl Iterator<Item = &'a Key>, s: &Scalar) -> HashMap<Key, Pt> {
        let mut distinct: Vec<&Key> = keys.collect();
        distinct.sort_unstable();
        distinct.dedup();
        let points = self.blind_each(distinct.iter().copied(), s);
        distinct.into_iter().cloned().zip(points).collect()
    }
}

/// `x·s` for each distinct point of all the sets, computed once.
fn reblind_once(
    sets: &[Vec<Pt>],
    s: &Scalar,
) -> std::result::Result<HashMap<Pt, Pt>, psi::BadPoint> {
    let mut distinct: Vec<Pt> = sets.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let out = psi::reblind(&distinct, s)?;
    Ok(distinct.into_iter().zip(out).collect())
}

/// Serializes and queues one message.
pub fn enqueue(conn: &Connection, link: i64, msg: &Msg, now: &str) -> Result<i64> {
    let body = serde_json::to_vec(msg).expect("serializable");
    Ok(store::federation::enqueue(
        conn,
        link,
        msg.kind(),
        &body,
        now,
    )?)
}

fn received_snapshot(conn: &Connection, link: i64) -> Result<Option<Snapshot>> {
    Ok(store::federation::get_blob(conn, link, "last_snapshot")?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// The OPRF values of our keys, from the last answer.
#[derive(Serialize, Deserialize)]
struct OprfValues {
    keys: Vec<(KeyKind, String)>,
    values: Vec<B64>,
}

/// Per-day evaluation cap (FEDERATION.md: twice the partner's declared record count, at least
/// a floor; `PARTNERMAP_FED_EVAL_CAP` overrides).
fn eval_cap(declared: i64) -> i64 {
    if let Some(v) = std::env::var("PARTNERMAP_FED_EVAL_CAP")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return v;
    }
    (2 * declared).max(1000)
}

/// What applying a message did (for the caller's log).
pub enum Applied {
    Done,
    /// The message was refused and logged (evaluation cap).
    Refused(String),
}

/// Applies one message from the partner. Call inside a write transaction.
pub fn apply(conn: &Connection, keyer: Keyer, link: &Link, msg: Msg, now: &str) -> Result<Applied> {
    let mut stale = Stale::default();
    let applied = apply_deferred(conn, link, msg, now, &mut stale)?;
    if stale.rows {
        rebuild_with(conn, keyer, link, now, stale.counts)?;
    }
    Ok(applied)
}

/// What applied messages left to turn into rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stale {
    /// The released records, populations and settings ([`rebuild`]).
    pub rows: bool,
    /// The PSI counts too (a new snapshot or counts answer; not an OPRF answer).
    pub counts: bool,
}

/// Applies one message from the partner without turning what it received into rows: marks
/// `stale` what [`rebuild_with`] must redo (once, after a batch of messages, rather than after
/// each: a snapshot, a counts answer and an OPRF answer arrive together). Call inside a write
/// transaction.
pub fn apply_deferred(
    conn: &Connection,
    link: &Link,
    msg: Msg,
    now: &str,
    stale: &mut Stale,
) -> Result<Applied> {
    let active = store::partnerships::between(conn, link.local_org, link.remote_org)?
        .is_some_and(|p| p.status == crate::model::PartnershipStatus::Active);
    if !active && !matches!(msg, Msg::Revoke) {
        return Ok(Applied::Done); // nothing is kept for a partnership that is not active
    }
    match msg {
        Msg::Snapshot(snap) => {
            for p in &snap.pops {
                psi::unpack(&p.points.0).map_err(|_| bad("points"))?;
            }
            let b = serde_json::to_vec(&snap).expect("serializable");
            store::federation::set_blob(conn, link.id, "last_snapshot", Some(&b))?;
            stale.rows = true;
            stale.counts = true;
        }
        Msg::CountsQuery { qid, pops } => {
            let b = scalar(&link.psi_scalar)?;
            let sets: Vec<Vec<Pt>> = pops
                .iter()
                .map(|p| psi::unpack(&p.points.0).map_err(|_| bad("points")))
                .collect::<Result<_>>()?;
            let declared = sets.iter().map(|x| x.len() as i64).sum();
            let map = reblind_once(&sets, &b).map_err(|_| bad("points"))?;
            let out = pops
                .iter()
                .zip(&sets)
                .map(|(p, x)| PopPoints {
                    r: p.r,
                    points: B64(psi::pack(&psi::sorted(x.iter().map(|q| map[q]).collect()))),
                })
                .collect();
            store::federation::set_declared(conn, link.id, declared)?;
            enqueue(conn, link.id, &Msg::CountsAnswer { qid, pops: out }, now)?;
        }
        Msg::CountsAnswer { pops, .. } => {
            let own: Vec<i64> = store::populations::of_org(conn, link.local_org)?
                .iter()
                .map(|p| p.id)
                .collect();
            conn.execute("DELETE FROM fed_answers WHERE link_id = ?1", [link.id])?;
            for p in pops {
                psi::unpack(&p.points.0).map_err(|_| bad("points"))?;
                if own.contains(&p.r) {
                    store::federation::set_answer(conn, link.id, p.r, &p.points.0)?;
                }
            }
            stale.rows = true;
            stale.counts = true;
        }
        Msg::OprfQuery { qid, points } => {
            let x = psi::unpack(&points.0).map_err(|_| bad("points"))?;
            let day = &now[..10.min(now.len())];
            let used = if link.evals_day.as_deref() == Some(day) {
                link.evals_used
            } else {
                0
            };
            let cap = eval_cap(link.declared_records);
            if used + x.len() as i64 > cap {
                let reason = format!(
                    "evaluation cap reached: {} asked, {used} of {cap} used today",
                    x.len()
                );
                store::audit(
                    conn,
                    now,
                    None,
                    Some(link.local_org),
                    "federation_eval_refused",
                    "partnership",
                    None,
                    None,
                    Some(
                        &serde_json::json!({"partner_org": link.remote_org, "asked": x.len(), "used": used, "cap": cap}),
                    ),
                )?;
                enqueue(
                    conn,
                    link.id,
                    &Msg::OprfRefused {
                        qid,
                        reason: reason.clone(),
                    },
                    now,
                )?;
                return Ok(Applied::Refused(reason));
            }
            let s = scalar(&link.oprf_key)?;
            let y = psi::reblind(&x, &s).map_err(|_| bad("points"))?;
            store::federation::set_evals(conn, link.id, day, used + x.len() as i64)?;
            enqueue(
                conn,
                link.id,
                &Msg::OprfAnswer {
                    qid,
                    points: B64(psi::pack(&y)),
                },
                now,
            )?;
        }
        Msg::OprfAnswer { qid, points } => {
            let Some((blind, keys)) = store::federation::take_pending_oprf(conn, link.id, qid)?
            else {
                return Ok(Applied::Done); // an answer to a query we replaced
            };
            let r = psi::scalar_from_bytes(&blind).ok_or_else(|| bad("blind"))?;
            let keys: Vec<(KeyKind, String)> =
                serde_json::from_str(&keys).map_err(|_| bad("keys"))?;
            let y = psi::unpack(&points.0).map_err(|_| bad("points"))?;
            if y.len() != keys.len() {
                return Err(bad("answer length"));
            }
            let f = psi::unblind(&y, &r).map_err(|_| bad("points"))?;
            let v = OprfValues {
                keys,
                values: f.into_iter().map(|p| B64(p.to_vec())).collect(),
            };
            store::federation::set_blob(
                conn,
                link.id,
                "last_oprf",
                Some(&serde_json::to_vec(&v).expect("serializable")),
            )?;
            stale.rows = true;
        }
        Msg::OprfRefused { reason, .. } => {
            store::audit(
                conn,
                now,
                None,
                Some(link.local_org),
                "federation_eval_refused_by_partner",
                "partnership",
                None,
                None,
                Some(&serde_json::json!({"partner_org": link.remote_org, "reason": reason})),
            )?;
            return Ok(Applied::Refused(reason));
        }
        Msg::Revoke => {
            store::federation::purge(conn, link)?;
            if let Some(p) = store::partnerships::between(conn, link.local_org, link.remote_org)?
                && p.status != crate::model::PartnershipStatus::Revoked
            {
                store::partnerships::set_status(
                    conn,
                    p.id,
                    crate::model::PartnershipStatus::Revoked,
                    now,
                )?;
            }
            store::audit(
                conn,
                now,
                None,
                Some(link.local_org),
                "revoke_partnership",
                "partnership",
                None,
                None,
                Some(
                    &serde_json::json!({"status": "revoked", "by": "partner", "partner_org": link.remote_org}),
                ),
            )?;
        }
    }
    Ok(Applied::Done)
}

/// Turns what the partner released into the rows the engine reads: its populations and
/// sharing settings toward us, its released records (rows at `full`, opened entries at
/// `overlaps`), their memberships, and per-cell PSI counts at `counts`.
pub fn rebuild(conn: &Connection, keyer: Keyer, link: &Link, now: &str) -> Result<()> {
    rebuild_with(conn, keyer, link, now, true)
}

/// [`rebuild`], leaving the PSI counts as they are unless `counts` (their inputs, the
/// snapshot's sets and our answers, did not change).
pub fn rebuild_with(
    conn: &Connection,
    keyer: Keyer,
    link: &Link,
    now: &str,
    counts: bool,
) -> Result<()> {
    let snap = received_snapshot(conn, link.id)?.unwrap_or_default();
    let source = match store::records::source_by_name(conn, link.remote_org, REMOTE_SOURCE)? {
        Some(s) => s.id,
        None => store::records::insert_source(
            conn,
            link.remote_org,
            REMOTE_SOURCE,
            SourceKind::Csv,
            Some("name"),
            Some("website"),
            now,
        )?,
    };
    // Populations and sharing settings.
    let mut by_ref: HashMap<i64, i64> = store::federation::mirrored_pops(conn, link.id)?
        .into_iter()
        .collect();
    for (r, pop) in by_ref.clone() {
        if !snap.pops.iter().any(|p| p.r == r) {
            conn.execute("DELETE FROM populations WHERE id = ?1", [pop])?;
            by_ref.remove(&r);
        }
    }
    for p in &snap.pops {
        let id = match by_ref.get(&p.r) {
            Some(&id) => {
                conn.execute(
                    "UPDATE populations SET name = ?2, type = ?3 WHERE id = ?1",
                    params![id, p.name, p.pop_type.as_str()],
                )?;
                id
            }
            None => store::populations::insert(
                conn,
                link.remote_org,
                &p.name,
                p.pop_type,
                source,
                &serde_json::json!([]),
                now,
            )?,
        };
        by_ref.insert(p.r, id);
        store::federation::set_mirrored_pop(conn, link.id, p.r, id, &p.points.0)?;
        conn.execute(
            "INSERT INTO sharing_settings (owner_org, partner_org, population_id, level, fields, updated_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)
             ON CONFLICT (owner_org, partner_org, population_id) DO UPDATE
               SET level = excluded.level, fields = excluded.fields, updated_at = excluded.updated_at",
            params![
                link.remote_org,
                link.local_org,
                id,
                p.level.as_str(),
                serde_json::to_string(&p.fields).expect("serializable"),
                now
            ],
        )?;
    }
    // Released records: full rows, and the entries our own keys open.
    let mut released: BTreeMap<String, (Released, Option<(KeyKind, String)>)> = BTreeMap::new();
    for row in &snap.rows {
        let key = match (row.kind, &row.key) {
            (Some(k), Some(t)) => Some((k, t.clone())),
            _ => None,
        };
        released.insert(row.released.r.clone(), (row.released.clone(), key));
    }
    if let Some(b) = store::federation::get_blob(conn, link.id, "last_oprf")?
        && let Ok(v) = serde_json::from_slice::<OprfValues>(&b)
        && !snap.entries.is_empty()
    {
        let mut by_tag: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
        for e in &snap.entries {
            by_tag.entry(&e.tag.0).or_default().push(&e.sealed.0);
        }
        for (key, f) in v.keys.iter().zip(&v.values) {
            let Ok(f): std::result::Result<Pt, _> = f.0.as_slice().try_into() else {
                continue;
            };
            let (tag, k) = psi::tag_and_key(&f);
            for sealed in by_tag.get(&tag[..]).into_iter().flatten() {
                if let Some(plain) = psi::open(&k, sealed)
                    && let Ok(rel) = serde_json::from_slice::<Released>(&plain)
                {
                    released
                        .entry(rel.r.clone())
                        .or_insert_with(|| (rel, Some(key.clone())));
                }
            }
        }
    }
    // Upsert by reference (external_id), so record ids stay stable across syncs.
    let existing: HashMap<String, i64> = conn
        .prepare("SELECT external_id, id FROM records WHERE source_id = ?1")?
        .query_map([source], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    {
        let mut ins = store::records::RecordInserter::new(conn, link.remote_org, source)?;
        // In the owner's order within each key (record ids increase along it).
        let mut order: Vec<(&String, &(Released, Option<Key>))> = released.iter().collect();
        order.sort_by(|a, b| (&a.1.1, a.1.0.d, a.0).cmp(&(&b.1.1, b.1.0.d, b.0)));
        let mut last_in_key: HashMap<(KeyKind, String), i64> = HashMap::new();
        for (r, (rel, key)) in order {
            let text = |f: &str| -> String {
                rel.values
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(f))
                    .and_then(|(_, v)| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            let (name, website) = (text("name"), text("website"));
            let mut fields = rel.values.clone();
            fields.retain(|k, _| {
                !["name", "website", "domain"]
                    .iter()
                    .any(|f| k.eq_ignore_ascii_case(f))
            });
            let fields = Value::Object(fields).to_string();
            // The key the record was released under, in the slot of its kind.
            let mk = {
                let m = key.as_ref().map(|(k, t)| keyer.make(*k, t.clone()));
                RecordKeys {
                    domain: m.clone().filter(|m| m.kind == KeyKind::Domain),
                    name: m.filter(|m| m.kind == KeyKind::Name),
                }
            };
            let in_order = |id: i64| {
                key.as_ref()
                    .is_none_or(|k| last_in_key.get(k).is_none_or(|&last| id > last))
            };
            let keep = existing.get(r).copied().filter(|&id| in_order(id));
            if let (Some(&id), None) = (existing.get(r), keep) {
                conn.execute("DELETE FROM records WHERE id = ?1", [id])?;
            }
            let id = match keep {
                Some(id) => {
                    conn.execute(
                        "UPDATE records SET name = ?2, website = ?3, domain_key = ?4, domain_fp = ?5,
                            name_key = ?6, name_fp = ?7, fields = ?8 WHERE id = ?1",
                        params![
                            id,
                            name,
                            website,
                            mk.domain.as_ref().map(|k| k.text.as_str()),
                            mk.domain.as_ref().map(|k| k.fp as i64),
                            mk.name.as_ref().map(|k| k.text.as_str()),
                            mk.name.as_ref().map(|k| k.fp as i64),
                            fields
                        ],
                    )?;
                    id
                }
                None => ins.insert(Some(r.as_str()), &name, &website, &mk, &fields)?,
            };
            if let Some(k) = key {
                last_in_key.insert(k.clone(), id);
            }
            ids.insert(r.clone(), id);
        }
    }
    for (r, id) in &existing {
        if ids.get(r).is_none_or(|new| new != id) {
            conn.execute("DELETE FROM records WHERE id = ?1", [id])?;
        }
    }
    // Memberships: from the records (overlaps, full); none at counts (figures only).
    for p in &snap.pops {
        let pop = by_ref[&p.r];
        let entries: Vec<Member> = released
            .iter()
            .filter(|(_, (rel, _))| rel.pops.contains(&p.r))
            .filter_map(|(r, (_, key))| {
                let id = *ids.get(r)?;
                let fp = |kind: KeyKind| {
                    key.as_ref()
                        .filter(|(k, _)| *k == kind)
                        .map_or(0, |(k, t)| keyer.fingerprint(*k, t))
                };
                Some(Member {
                    record_id: id,
                    domain: fp(KeyKind::Domain),
                    name: fp(KeyKind::Name),
                })
            })
            .collect();
        store::populations::store_members(conn, pop, &PopKeys::new(entries))?;
        conn.execute(
            "UPDATE populations SET record_count = ?2 WHERE id = ?1",
            params![pop, p.record_count],
        )?;
    }
    // Counts: PSI cardinality per (our population, their population at counts).
    let answers = if counts {
        store::federation::clear_counts(conn, link.id)?;
        store::federation::answers(conn, link.id)?
    } else {
        Vec::new()
    };
    if !answers.is_empty() {
        let a = scalar(&link.psi_scalar)?;
        let counted: Vec<&SnapPop> = snap
            .pops
            .iter()
            .filter(|p| p.level == SharingLevel::Counts)
            .collect();
        let owner: Vec<Vec<Pt>> = counted
            .iter()
            .map(|p| psi::unpack(&p.points.0).map_err(|_| bad("points")))
            .collect::<Result<_>>()?;
        let z: Vec<Vec<Pt>> = answers
            .iter()
            .map(|(_, b)| psi::unpack(b).map_err(|_| bad("points")))
            .collect::<Result<_>>()?;
        let counts = psi::cell_counts(&z, &owner, &a).map_err(|_| bad("points"))?;
        for (i, (mine, _)) in answers.iter().enumerate() {
            for (j, p) in counted.iter().enumerate() {
                store::federation::set_count(
                    conn,
                    link.id,
                    *mine,
                    by_ref[&p.r],
                    counts[i][j] as i64,
                )?;
            }
        }
    }
    store::audit(
        conn,
        now,
        None,
        Some(link.local_org),
        "federation_received",
        "partnership",
        None,
        None,
        Some(
            &serde_json::json!({"partner_org": link.remote_org, "populations": snap.pops.len(), "records": released.len()}),
        ),
    )?;
    Ok(())
}
