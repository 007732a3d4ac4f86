//! The messages' meaning: what an owner releases to a remote partner (built through the same
//! sharing settings and projection the engine's gate uses for local partners), what a viewer
//! asks, and how a viewer turns what it received into the rows the engine reads (mirrored
//! populations and sharing settings, released records, per-cell counts).

use super::elements::{self, Elem, Keys, Mirrored, Opened};
use super::psi::{self, Pt};
use super::wire::{B64, FullRow, Msg, PopPoints, Released, SealedEntry, SnapPop, Snapshot};
use crate::engine::access::VisiblePopulation;
use crate::error::{Error, Result};
use crate::matching::{KeyKind, Keyer, RecordKeys};
use crate::model::{Record, SharingLevel, SourceKind};
use crate::store::{self, federation::Link};
use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;
use rusqlite::{Connection, params};
use rustc_hash::FxHashSet;
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

/// The record's primary key: its domain key, else its name key (what its reference and its
/// rank among records of the same key are computed from).
fn key_of(r: &Record) -> Option<(KeyKind, String)> {
    r.domain_key
        .clone()
        .map(|d| (KeyKind::Domain, d))
        .or_else(|| r.name_key.clone().map(|n| (KeyKind::Name, n)))
}

/// Both match keys of a record, as texts.
fn keys_of(r: &Record) -> Keys {
    Keys {
        domain: r.domain_key.clone(),
        name: r.name_key.clone(),
    }
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

/// A released record: content, both keys, and the highest level that releases it.
type ReleasedRec = (Released, Keys, SharingLevel);

/// What an owner releases to a partner before any sealing: deterministic, so that its hash
/// says whether anything changed since the last snapshot sent.
#[derive(Serialize)]
struct Plain {
    pops: Vec<PlainPop>,
    /// Released records by reference: content, keys, the highest level that releases it.
    released: BTreeMap<String, ReleasedRec>,
    /// We have named records without a domain (announced: the partner's tuples depend on it).
    bare: bool,
    /// The partner announced such records (our elements depend on it).
    partner_bare: bool,
}

#[derive(Serialize)]
struct PlainPop {
    r: i64,
    name: String,
    pop_type: crate::model::PopulationType,
    level: SharingLevel,
    fields: Vec<String>,
    record_count: i64,
    /// Distinct elements of the population's records, sorted (at `counts` only).
    elems: Vec<Elem>,
}

/// Whether any member of any of the org's populations is a named record without a domain.
fn has_bare(conn: &Connection, org: i64, records: &HashMap<i64, Record>) -> Result<bool> {
    for p in store::populations::of_org(conn, org)? {
        let members = store::populations::members(conn, p.id)?
            .map(|(_, k)| k)
            .unwrap_or_default();
        if members
            .record_ids()
            .any(|id| records.get(&id).is_some_and(|r| keys_of(r).bare()))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn plain_snapshot(conn: &Connection, link: &Link) -> Result<Plain> {
    let link_key = link.oprf_key.clone().unwrap_or_default();
    let records = records_of_org(conn, link.local_org)?;
    let partner_bare = received_snapshot(conn, link.id)?.is_some_and(|s| s.bare);
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
        let recs: Vec<(&Record, Keys)> = members
            .record_ids()
            .filter_map(|id| records.get(&id))
            .map(|r| (r, keys_of(r)))
            .collect();
        let ambiguous = elements::ambiguous_names(recs.iter().map(|(_, k)| k));
        let is_amb = |k: &Keys| k.name.as_deref().is_some_and(|n| ambiguous.contains(n));
        let mut elems = Vec::new();
        for (rec, k) in &recs {
            match sharing.level {
                SharingLevel::Counts => {
                    elems.extend(elements::owner_elems(k, is_amb(k), partner_bare));
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
                                amb: Vec::new(),
                            },
                            k.clone(),
                            sharing.level,
                        )
                    });
                    for (f, v) in vis.project(rec) {
                        e.0.values.insert(f, v);
                    }
                    e.0.pops.push(population.id);
                    if is_amb(k) {
                        e.0.amb.push(population.id);
                    }
                    e.2 = e.2.max(sharing.level);
                }
                SharingLevel::Hidden => {}
            }
        }
        elems.sort();
        elems.dedup();
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
            elems,
        });
    }
    // Rank records that share a primary key in our own order (record id): the viewer keeps
    // that order, so "the partner record" of a match is the one a shared database would pick.
    let mut groups: HashMap<(KeyKind, String), Vec<(i64, String)>> = HashMap::new();
    for r in released.keys() {
        if let Some(k) = key_of(&records[&owner_ids[r]]) {
            groups.entry(k).or_default().push((owner_ids[r], r.clone()));
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
    Ok(Plain {
        pops,
        released,
        bare: has_bare(conn, link.local_org, &records)?,
        partner_bare,
    })
}

/// Seals a plain snapshot: blinded sets at `counts`, OPRF-sealed entries at `overlaps` (one
/// per element of the record, all sealing the same content), rows at `full`.
fn seal_snapshot(plain: Plain, b: &mut Blinder, s: &Scalar) -> Snapshot {
    let blinded = b.get(plain.pops.iter().flat_map(|p| &p.elems));
    let pops = plain
        .pops
        .into_iter()
        .map(|p| SnapPop {
            points: B64(psi::pack(&psi::sorted(
                p.elems.iter().map(|e| blinded[e]).collect(),
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
    let mut sealed_in: Vec<(Released, Vec<Elem>)> = Vec::new();
    for (_, (rel, keys, level)) in plain.released {
        if level == SharingLevel::Full {
            rows.push(FullRow {
                released: rel,
                domain_key: keys.domain,
                name_key: keys.name,
            });
        } else {
            // Tagged under each element the record can meet anything with: P (or R) when its
            // name is unambiguous in at least one of its populations.
            let ambiguous_everywhere = rel.pops.iter().all(|p| rel.amb.contains(p));
            let elems = elements::owner_elems(&keys, ambiguous_everywhere, plain.partner_bare);
            if !elems.is_empty() {
                sealed_in.push((rel, elems));
            }
        }
    }
    let f = blind_once(sealed_in.iter().flat_map(|(_, e)| e), s);
    let mut entries: Vec<SealedEntry> = sealed_in
        .par_iter()
        .flat_map_iter(|(rel, elems)| {
            let plain = serde_json::to_vec(rel).expect("serializable");
            elems
                .iter()
                .map(|e| {
                    let (tag, key) = psi::tag_and_key(&f[e]);
                    SealedEntry {
                        tag: B64(tag.to_vec()),
                        sealed: B64(psi::seal(&key, &plain)),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    entries.sort_by(|a, b| a.tag.0.cmp(&b.tag.0));
    Snapshot {
        pops,
        entries,
        rows,
        bare: plain.bare,
    }
}

/// The viewer's populations as tuples: for each population, one tuple of real elements per
/// keyed record (sorted), given whether the owner announced records without a domain.
fn my_pop_tuples(
    conn: &Connection,
    org: i64,
    owner_bare: bool,
) -> Result<Vec<(i64, Vec<Vec<Elem>>)>> {
    let records = records_of_org(conn, org)?;
    let mut out = Vec::new();
    for p in store::populations::of_org(conn, org)? {
        let members = store::populations::members(conn, p.id)?
            .map(|(_, k)| k)
            .unwrap_or_default();
        let keys: Vec<Keys> = members
            .record_ids()
            .filter_map(|id| records.get(&id).map(keys_of))
            .filter(|k| !k.is_empty())
            .collect();
        let ambiguous = elements::ambiguous_names(&keys);
        let mut tuples: Vec<Vec<Elem>> = keys
            .iter()
            .map(|k| {
                let amb = k.name.as_deref().is_some_and(|n| ambiguous.contains(n));
                elements::viewer_elems(k, amb, owner_bare)
            })
            .collect();
        tuples.sort();
        out.push((p.id, tuples));
    }
    Ok(out)
}

/// Packs tuples of points: each padded to `w` with fresh random points, its points sorted,
/// the tuples sorted, so that neither order nor padding tells the receiver anything.
fn pack_tuples(mut tuples: Vec<Vec<Pt>>, w: usize) -> Vec<u8> {
    let missing: usize = tuples.iter().map(|t| w - t.len()).sum();
    let mut pad = psi::random_points(missing).into_iter();
    for t in &mut tuples {
        while t.len() < w {
            t.push(pad.next().expect("enough padding"));
        }
        t.sort_unstable();
    }
    tuples.par_sort_unstable();
    tuples.concat().concat()
}

/// Splits packed tuples of `w` points.
fn unpack_tuples(b: &[u8], w: usize) -> Result<Vec<Vec<Pt>>> {
    if w == 0 || w > 8 || !b.len().is_multiple_of(32 * w) {
        return Err(bad("tuples"));
    }
    let pts = psi::unpack(b).map_err(|_| bad("points"))?;
    Ok(pts.chunks_exact(w).map(<[Pt]>::to_vec).collect())
}

/// Queues what changed for the partner: our snapshot (as owner), our counts query and our
/// OPRF query (as viewer). Nothing is queued when nothing changed. Call inside a write
/// transaction; returns how many messages were queued.
pub fn refresh(conn: &Connection, link: &Link, now: &str) -> Result<usize> {
    let (Ok(ab), Ok(s)) = (scalar(&link.psi_scalar), scalar(&link.oprf_key)) else {
        return Ok(0);
    };
    let mut queued = 0;
    // Each distinct element is blinded once, however many populations and roles use it (our
    // set as owner and our tuples as viewer share the scalar; the OPRF query reuses both).
    let mut blinder = Blinder::new(ab);
    let plain = plain_snapshot(conn, link)?;
    let h = hash_json(&plain);
    if link.snapshot_hash.as_deref() != Some(h.as_str()) {
        let snap = seal_snapshot(plain, &mut blinder, &s);
        enqueue(conn, link.id, &Msg::Snapshot(snap), now)?;
        store::federation::set_hashes(conn, link.id, Some(&h), None, None)?;
        queued += 1;
    }
    let snap = received_snapshot(conn, link.id)?;
    let owner_bare = snap.as_ref().is_some_and(|s| s.bare);
    let mine = my_pop_tuples(conn, link.local_org, owner_bare)?;
    let h = hash_json(&(&mine, owner_bare));
    if link.query_hash.as_deref() != Some(h.as_str()) {
        let blinded = blinder.get(mine.iter().flat_map(|(_, t)| t.iter().flatten()));
        let w = elements::width(owner_bare);
        let pops = mine
            .iter()
            .map(|(id, tuples)| PopPoints {
                r: *id,
                points: B64(pack_tuples(
                    tuples
                        .iter()
                        .map(|t| t.iter().map(|e| blinded[e]).collect())
                        .collect(),
                    w,
                )),
            })
            .collect();
        let qid = (rand::random::<u32>() >> 1) as i64;
        enqueue(
            conn,
            link.id,
            &Msg::CountsQuery {
                qid,
                pops,
                w: w as u32,
            },
            now,
        )?;
        store::federation::set_hashes(conn, link.id, None, Some(&h), None)?;
        queued += 1;
    }
    // OPRF: only when the partner shows something at `overlaps`.
    if snap.as_ref().is_some_and(|s| !s.entries.is_empty()) {
        let mut elems: Vec<Elem> = mine
            .into_iter()
            .flat_map(|(_, t)| t.into_iter().flatten())
            .collect();
        elems.sort();
        elems.dedup();
        // Our OPRF values depend on our elements only: a new snapshot is opened with them.
        let h = hash_json(&elems);
        if link.oprf_hash.as_deref() != Some(h.as_str()) {
            // The counts query's blinding `H(e)·a` is the OPRF query: the answer `·s` is
            // unblinded by `a⁻¹`.
            let blinded = blinder.get(elems.iter());
            let mut sent: Vec<(Pt, Elem)> = elems.into_iter().map(|e| (blinded[&e], e)).collect();
            sent.sort_unstable();
            let (points, elems): (Vec<Pt>, Vec<Elem>) = sent.into_iter().unzip();
            let qid = (rand::random::<u32>() >> 1) as i64;
            store::federation::insert_pending_oprf(
                conn,
                link.id,
                qid,
                ab.as_bytes(),
                &serde_json::to_string(&elems).expect("serializable"),
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
    }
    Ok(queued)
}

/// `H(e)·s` for each distinct element, computed once.
fn blind_once<'a>(elems: impl Iterator<Item = &'a Elem>, s: &Scalar) -> HashMap<Elem, Pt> {
    let mut distinct: Vec<&Elem> = elems.collect();
    distinct.sort_unstable();
    distinct.dedup();
    let tagged: Vec<(u8, &str)> = distinct
        .iter()
        .map(|(t, x)| (t.byte(), x.as_str()))
        .collect();
    let points = psi::blind_tagged(&tagged, s);
    distinct.into_iter().cloned().zip(points).collect()
}

/// `H(e)·s` for elements, each computed once per refresh whoever asks.
struct Blinder {
    s: Scalar,
    done: HashMap<Elem, Pt>,
}

impl Blinder {
    fn new(s: Scalar) -> Blinder {
        Blinder {
            s,
            done: HashMap::new(),
        }
    }
    /// The blinded points of these elements (computing those not done yet).
    fn get<'a>(&mut self, elems: impl Iterator<Item = &'a Elem>) -> &HashMap<Elem, Pt> {
        let missing: Vec<&Elem> = elems.filter(|e| !self.done.contains_key(*e)).collect();
        let new = blind_once(missing.into_iter(), &self.s);
        self.done.extend(new);
        &self.done
    }
}

/// `x·s` for each distinct point of all the sets, computed once.
fn reblind_once<'a>(
    sets: impl Iterator<Item = &'a Pt>,
    s: &Scalar,
) -> std::result::Result<HashMap<Pt, Pt>, psi::BadPoint> {
    let mut distinct: Vec<Pt> = sets.copied().collect();
    distinct.par_sort_unstable();
    distinct.dedup();
    let out = psi::reblind(&distinct, s)?;
    Ok(distinct.into_iter().zip(out).collect())
}

/// The partnership's re-blindings by our scalar, kept in memory between messages: one side's
/// scalar serves both roles, so the partner's set we count in (as viewer) shares its domain
/// elements with the partner's query we answer (as owner), and a sync rebuilds several times.
/// Only a cache of `x·s` for points the partner sent; never stored.
static REBLINDS: std::sync::Mutex<Option<ReblindCache>> = std::sync::Mutex::new(None);
/// By (link, scalar): point → point·scalar.
type ReblindCache = HashMap<(i64, [u8; 32]), HashMap<Pt, Pt>>;

/// [`reblind_once`] through the partnership's cache.
fn reblind_cached<'a>(
    link: i64,
    sets: impl Iterator<Item = &'a Pt>,
    s: &Scalar,
) -> std::result::Result<HashMap<Pt, Pt>, psi::BadPoint> {
    let mut guard = REBLINDS.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard
        .get_or_insert_with(HashMap::new)
        .entry((link, s.to_bytes()))
        .or_default();
    let mut out: HashMap<Pt, Pt> = HashMap::new();
    let mut missing: Vec<Pt> = Vec::new();
    for p in sets {
        match cache.get(p) {
            Some(q) => {
                out.insert(*p, *q);
            }
            None => missing.push(*p),
        }
    }
    let new = reblind_once(missing.iter(), s)?;
    // Bounded: what the last few messages needed.
    if cache.len() + new.len() > 4 * (out.len() + new.len()).max(1 << 16) {
        cache.clear();
        cache.extend(out.iter().map(|(p, q)| (*p, *q)));
    }
    cache.extend(new.iter().map(|(p, q)| (*p, *q)));
    out.extend(new);
    Ok(out)
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

/// The OPRF values of our elements, from the last answer.
#[derive(Serialize, Deserialize)]
struct OprfValues {
    elems: Vec<Elem>,
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
    /// Applied; what it brought becomes rows when the caller calls [`rebuild`] (once for a
    /// whole batch of messages, not once per message).
    Rebuild,
    /// The message was refused and logged (evaluation cap).
    Refused(String),
}

/// Applies one message from the partner. Call inside a write transaction.
pub fn apply(conn: &Connection, link: &Link, msg: Msg, now: &str) -> Result<Applied> {
    let active = store::partnerships::between(conn, link.local_org, link.remote_org)?
        .is_some_and(|p| p.status == crate::model::PartnershipStatus::Active);
    if !active && !matches!(msg, Msg::Revoke) {
        return Ok(Applied::Done); // nothing is kept for a partnership that is not active
    }
    match msg {
        Msg::Users { users } => return super::messages::apply_users(conn, link, users, now),
        Msg::ShareRequest(r) => return super::messages::apply_request(conn, link, r, now),
        Msg::ShareRequestStatus(r) => {
            return super::messages::apply_request_status(conn, link, r, now);
        }
        Msg::ThreadPost(p) => return super::messages::apply_post(conn, link, p, now),
        Msg::Snapshot(snap) => {
            for p in &snap.pops {
                psi::unpack(&p.points.0).map_err(|_| bad("points"))?;
            }
            let b = serde_json::to_vec(&snap).expect("serializable");
            store::federation::set_blob(conn, link.id, "last_snapshot", Some(&b))?;
            return Ok(Applied::Rebuild);
        }
        Msg::CountsQuery { qid, pops, w } => {
            let b = scalar(&link.psi_scalar)?;
            let w = w as usize;
            let sets: Vec<Vec<Vec<Pt>>> = pops
                .iter()
                .map(|p| unpack_tuples(&p.points.0, w))
                .collect::<Result<_>>()?;
            let declared = sets.iter().map(|x| (x.len() * w) as i64).sum();
            let map = reblind_cached(link.id, sets.iter().flatten().flatten(), &b)
                .map_err(|_| bad("points"))?;
            let out = pops
                .iter()
                .zip(sets)
                .map(|(p, x)| PopPoints {
                    r: p.r,
                    points: B64(pack_tuples(
                        x.into_iter()
                            .map(|t| t.iter().map(|q| map[q]).collect())
                            .collect(),
                        w,
                    )),
                })
                .collect();
            store::federation::set_declared(conn, link.id, declared)?;
            enqueue(
                conn,
                link.id,
                &Msg::CountsAnswer {
                    qid,
                    pops: out,
                    w: w as u32,
                },
                now,
            )?;
        }
        Msg::CountsAnswer { pops, w, .. } => {
            let own: Vec<i64> = store::populations::of_org(conn, link.local_org)?
                .iter()
                .map(|p| p.id)
                .collect();
            conn.execute("DELETE FROM fed_answers WHERE link_id = ?1", [link.id])?;
            for p in pops {
                unpack_tuples(&p.points.0, w as usize)?;
                if own.contains(&p.r) {
                    // Stored with its tuple width in front.
                    let mut blob = vec![w as u8];
                    blob.extend_from_slice(&p.points.0);
                    store::federation::set_answer(conn, link.id, p.r, &blob)?;
                }
            }
            return Ok(Applied::Rebuild);
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
            let Some((blind, elems)) = store::federation::take_pending_oprf(conn, link.id, qid)?
            else {
                return Ok(Applied::Done); // an answer to a query we replaced
            };
            let r = psi::scalar_from_bytes(&blind).ok_or_else(|| bad("blind"))?;
            let elems: Vec<Elem> = serde_json::from_str(&elems).map_err(|_| bad("elements"))?;
            let y = psi::unpack(&points.0).map_err(|_| bad("points"))?;
            if y.len() != elems.len() {
                return Err(bad("answer length"));
            }
            let f = psi::unblind(&y, &r).map_err(|_| bad("points"))?;
            let v = OprfValues {
                elems,
                values: f.into_iter().map(|p| B64(p.to_vec())).collect(),
            };
            store::federation::set_blob(
                conn,
                link.id,
                "last_oprf",
                Some(&serde_json::to_vec(&v).expect("serializable")),
            )?;
            return Ok(Applied::Rebuild);
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
    // Nothing received yet (a new or renewed link: an answer may come before the snapshot):
    // nothing to turn into rows, and nothing kept (a request's population) to take away.
    let Some(snap) = received_snapshot(conn, link.id)? else {
        return Ok(());
    };
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
    // Released records: full rows (both keys), and the entries our own elements open (what
    // we know of each: the keys of ours that opened it).
    let mut released: BTreeMap<String, (Released, Opened)> = BTreeMap::new();
    for row in &snap.rows {
        let o = Opened {
            has_domain: row.domain_key.is_some(),
            domain: row.domain_key.clone(),
            name: row.name_key.clone(),
        };
        released.insert(row.released.r.clone(), (row.released.clone(), o));
    }
    if let Some(b) = store::federation::get_blob(conn, link.id, "last_oprf")?
        && let Ok(v) = serde_json::from_slice::<OprfValues>(&b)
        && !snap.entries.is_empty()
    {
        let mut by_tag: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
        for e in &snap.entries {
            by_tag.entry(&e.tag.0).or_default().push(&e.sealed.0);
        }
        for (elem, f) in v.elems.iter().zip(&v.values) {
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
                        .or_insert_with(|| (rel, Opened::default()))
                        .1
                        .add(elem);
                }
            }
        }
    }
    // A domain the owner released as a field is known too.
    for (rel, o) in released.values_mut() {
        if o.domain.is_none()
            && let Some((_, Value::String(d))) = rel
                .values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("domain"))
            && !d.is_empty()
        {
            o.domain = Some(d.clone());
            o.has_domain = true;
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
        // In the owner's order within each primary key (its rank `d`; references break ties
        // between records no join ever compares). A kept id must follow the last one given in
        // each group the joins pick "the first" from: its domain, or its name among records
        // without a domain, and its name among records with a domain.
        let mut order: Vec<(&String, &(Released, Opened))> = released.iter().collect();
        order.sort_by(|a, b| (a.1.0.d, a.0).cmp(&(b.1.0.d, b.0)));
        let mut last_in: HashMap<(u8, String), i64> = HashMap::new();
        for (r, (rel, o)) in order {
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
            let mk = RecordKeys {
                domain: o.domain.clone().map(|d| keyer.make(KeyKind::Domain, d)),
                name: o.name.clone().map(|n| keyer.make(KeyKind::Name, n)),
            };
            // An unknown domain: the name's placeholder (only the population key vectors
            // matter to the joins; see `elements::mirror_pop`).
            let domain_fp = match (&mk.domain, &o.name) {
                (Some(k), _) => Some(k.fp),
                (None, n) if o.has_domain => Some(elements::placeholder_domain(
                    keyer,
                    n.as_deref().unwrap_or(""),
                )),
                _ => None,
            };
            let mut groups: Vec<(u8, String)> = Vec::with_capacity(2);
            match (&o.domain, &o.name, o.has_domain) {
                (Some(d), _, _) => groups.push((0, d.clone())),
                (None, Some(n), false) => groups.push((1, n.clone())),
                _ => {}
            }
            if let (Some(n), true) = (&o.name, o.has_domain) {
                groups.push((2, n.clone()));
            }
            let in_order = |id: i64| {
                groups
                    .iter()
                    .all(|g| last_in.get(g).is_none_or(|&last| id > last))
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
                            domain_fp.map(|fp| fp as i64),
                            mk.name.as_ref().map(|k| k.text.as_str()),
                            mk.name.as_ref().map(|k| k.fp as i64),
                            fields
                        ],
                    )?;
                    id
                }
                None => {
                    let id = ins.insert(Some(r.as_str()), &name, &website, &mk, &fields)?;
                    if mk.domain.is_none() && domain_fp.is_some() {
                        conn.execute(
                            "UPDATE records SET domain_fp = ?2 WHERE id = ?1",
                            params![id, domain_fp.map(|fp| fp as i64)],
                        )?;
                    }
                    id
                }
            };
            for g in groups {
                last_in.insert(g, id);
            }
            ids.insert(r.clone(), id);
        }
    }
    for (r, id) in &existing {
        if ids.get(r).is_none_or(|new| new != id) {
            conn.execute("DELETE FROM records WHERE id = ?1", [id])?;
        }
    }
    // Memberships: from the records (overlaps, full); none at counts (figures only). The
    // owner's ambiguity of each name in the population travels with its records.
    for p in &snap.pops {
        let pop = by_ref[&p.r];
        let recs: Vec<Mirrored> = released
            .iter()
            .filter(|(_, (rel, _))| rel.pops.contains(&p.r))
            .filter_map(|(r, (rel, o))| {
                Some(Mirrored {
                    id: *ids.get(r)?,
                    domain: o.domain.as_deref(),
                    name: o.name.as_deref(),
                    has_domain: o.has_domain,
                    ambiguous_here: rel.amb.contains(&p.r),
                })
            })
            .collect();
        store::populations::store_members(conn, pop, &elements::mirror_pop(keyer, &recs))?;
        conn.execute(
            "UPDATE populations SET record_count = ?2 WHERE id = ?1",
            params![pop, p.record_count],
        )?;
    }
    // Counts: PSI cardinality per (our population, their population at counts): a tuple of
    // ours counts when any of its elements is in the owner's set.
    store::federation::clear_counts(conn, link.id)?;
    let answers = store::federation::answers(conn, link.id)?;
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
        let map = reblind_cached(link.id, owner.iter().flatten(), &a).map_err(|_| bad("points"))?;
        let sets: Vec<FxHashSet<Pt>> = owner
            .iter()
            .map(|y| y.iter().map(|p| map[p]).collect())
            .collect();
        for (mine, blob) in &answers {
            // An answer stored before tuples (no width in front) reads as nothing.
            let Some((&w, pts)) = blob.split_first() else {
                continue;
            };
            let Ok(z) = unpack_tuples(pts, w as usize) else {
                continue;
            };
            for (j, p) in counted.iter().enumerate() {
                let n = z
                    .par_iter()
                    .filter(|t| t.iter().any(|e| sets[j].contains(e)))
                    .count();
                store::federation::set_count(conn, link.id, *mine, by_ref[&p.r], n as i64)?;
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
