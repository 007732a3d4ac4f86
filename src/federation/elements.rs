//! SPEC §2's matching rule as PSI elements, so that it holds across instances exactly as in one
//! database. Each element is a tagged text hashed to the group (`psi::hash_tagged`):
//!
//! - `D(domain)`: the domain key;
//! - `P(name)`: a name, to meet a viewer's record without a domain;
//! - `Q(name)`: a name of a record without a domain, to meet a viewer's record with one;
//! - `R(name)`: a name, a record without a domain meeting one without a domain.
//!
//! For a viewer's record x in its population i and an owner's record y in its population j
//! (`amb_i(n)`: name n is carried in i by records with two or more different domain keys):
//! the owner's set holds, for y with a domain, D and (unless `amb_j`) P; for y without one, Q
//! and (unless `amb_j`) R. The viewer's tuple for x with a domain is (D, Q unless `amb_i`); for
//! x without one, (P, R unless `amb_i`). A tuple meets the set exactly when SPEC §2 says the
//! records match: equal domains; or equal names where x has no domain and the name is not
//! ambiguous in j; or where y has none and it is not ambiguous in i; or neither has one and it
//! is ambiguous on neither side. Each side computes its elements from its own data only.
//!
//! Cost: Q and R meet only owner records without a domain, P and R only viewer records
//! without one. Each side announces whether it has any record without a domain (one bit); when
//! the partner has none, the elements that could meet nothing are left out, and with no such
//! record on either side the exchange is exactly one element per record, as before.

use crate::matching::{KeyKind, Keyer, Member, PopKeys};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// An element's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tag {
    D,
    P,
    Q,
    R,
}

impl Tag {
    /// The tag byte hashed with the text (1 is the domain key's encoding of `psi::hash_key`).
    pub fn byte(self) -> u8 {
        match self {
            Tag::D => 1,
            Tag::P => 3,
            Tag::Q => 4,
            Tag::R => 5,
        }
    }
}

/// A tagged element: role and key text.
pub type Elem = (Tag, String);

/// A record's match keys, as texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Keys {
    pub domain: Option<String>,
    pub name: Option<String>,
}

impl Keys {
    /// A named record without a domain key (what the one-bit announcement is about).
    pub fn bare(&self) -> bool {
        self.domain.is_none() && self.name.is_some()
    }
    pub fn is_empty(&self) -> bool {
        self.domain.is_none() && self.name.is_none()
    }
}

/// The names ambiguous among these records (carried by two or more different domain keys).
pub fn ambiguous_names<'a>(records: impl IntoIterator<Item = &'a Keys>) -> HashSet<&'a str> {
    let mut first: HashMap<&str, &str> = HashMap::new();
    let mut out = HashSet::new();
    for k in records {
        if let (Some(d), Some(n)) = (&k.domain, &k.name) {
            match first.get(n.as_str()) {
                None => {
                    first.insert(n, d);
                }
                Some(&d0) if d0 != d.as_str() => {
                    out.insert(n.as_str());
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// The owner's elements of record `k` in a population where its name is `ambiguous` or not;
/// `viewer_bare`: the viewer announced records without a domain. Also the tags of a released
/// record's entry, with `ambiguous` = ambiguous in every population at `overlaps` it is in.
pub fn owner_elems(k: &Keys, ambiguous: bool, viewer_bare: bool) -> Vec<Elem> {
    elems(k, ambiguous, viewer_bare, Tag::P, Tag::Q)
}

/// The viewer's real elements of record `k` in a population where its name is `ambiguous` or
/// not (its tuple before padding to [`width`]); `owner_bare`: the owner announced records
/// without a domain.
pub fn viewer_elems(k: &Keys, ambiguous: bool, owner_bare: bool) -> Vec<Elem> {
    elems(k, ambiguous, owner_bare, Tag::Q, Tag::P)
}

/// One side's elements of a record: its domain (D); with a domain, its name in the role
/// `named` (only when the name is not ambiguous here and the other side has records without a
/// domain); without one, its name in the role `bare`, and R (bare meets bare) under the same
/// conditions. The owner's roles are (P, Q), the viewer's (Q, P): each meets only the other's.
fn elems(k: &Keys, ambiguous: bool, other_bare: bool, named: Tag, bare: Tag) -> Vec<Elem> {
    let mut out = Vec::with_capacity(2);
    let name_role = !ambiguous && other_bare;
    match (&k.domain, &k.name) {
        (Some(d), name) => {
            out.push((Tag::D, d.clone()));
            if let Some(n) = name.as_ref().filter(|_| name_role) {
                out.push((named, n.clone()));
            }
        }
        (None, Some(n)) => {
            out.push((bare, n.clone()));
            if name_role {
                out.push((Tag::R, n.clone()));
            }
        }
        (None, None) => {}
    }
    out
}

/// The width of the viewer's tuples (the same for every record, padded with random points).
pub fn width(owner_bare: bool) -> usize {
    if owner_bare { 2 } else { 1 }
}

/// What a viewer knows of an owner's record from the elements of its own that opened it: the
/// domain when D opened it, the name when P, Q or R did, and whether the record has a domain
/// (P: yes; Q, R: no).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opened {
    pub domain: Option<String>,
    pub name: Option<String>,
    pub has_domain: bool,
}

impl Opened {
    pub fn add(&mut self, e: &Elem) {
        match e.0 {
            Tag::D => {
                self.domain = Some(e.1.clone());
                self.has_domain = true;
            }
            Tag::P => {
                self.name = Some(e.1.clone());
                self.has_domain = true;
            }
            Tag::Q | Tag::R => self.name = Some(e.1.clone()),
        }
    }
}

/// The domain fingerprint a mirrored record gets when it has a domain the viewer does not know:
/// one per name (in a population where the name is not ambiguous, all its records with a
/// domain share one), never a real domain's.
pub fn placeholder_domain(keyer: Keyer, name: &str) -> u64 {
    keyer.fingerprint(
        KeyKind::Domain,
        &format!("\u{0}unknown domain, name {name}"),
    )
}

/// A released record as the viewer mirrors it in one population.
#[derive(Debug, Clone)]
pub struct Mirrored<'a> {
    pub id: i64,
    pub domain: Option<&'a str>,
    pub name: Option<&'a str>,
    pub has_domain: bool,
    /// Its name is ambiguous in this population of the owner's.
    pub ambiguous_here: bool,
}

/// The key vector of a mirrored population: the records the viewer holds of it, with the
/// ambiguity of the owner's whole population declared, so the local join reproduces SPEC §2.
/// A record with an unknown domain takes the known domain of another record of the same name
/// here when the name is not ambiguous here (they share it), else the name's placeholder.
pub fn mirror_pop(keyer: Keyer, recs: &[Mirrored]) -> PopKeys {
    let ambiguous: HashSet<&str> = recs
        .iter()
        .filter(|r| r.ambiguous_here)
        .filter_map(|r| r.name)
        .collect();
    let mut known: HashMap<&str, u64> = HashMap::new();
    for r in recs {
        if let (Some(d), Some(n)) = (r.domain, r.name)
            && !ambiguous.contains(n)
        {
            known
                .entry(n)
                .or_insert_with(|| keyer.fingerprint(KeyKind::Domain, d));
        }
    }
    let members = recs
        .iter()
        .map(|r| Member {
            record_id: r.id,
            domain: match (r.domain, r.name) {
                (Some(d), _) => keyer.fingerprint(KeyKind::Domain, d),
                (None, Some(n)) if r.has_domain => known
                    .get(n)
                    .copied()
                    .unwrap_or_else(|| placeholder_domain(keyer, n)),
                (None, None) if r.has_domain => placeholder_domain(keyer, ""),
                _ => 0,
            },
            name: r.name.map_or(0, |n| keyer.fingerprint(KeyKind::Name, n)),
        })
        .collect();
    PopKeys::with_ambiguous(
        members,
        ambiguous
            .iter()
            .map(|n| keyer.fingerprint(KeyKind::Name, n))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::KeyKind;
    use std::collections::BTreeSet;

    /// A tiny deterministic generator (no dependency on the rand API's shape).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_keys(rng: &mut Rng) -> Keys {
        let domain = (rng.below(3) != 0).then(|| format!("d{}.com", rng.below(4)));
        let name = (rng.below(6) != 0).then(|| format!("n{}", rng.below(3)));
        Keys { domain, name }
    }

    /// An org: records (id, keys) and populations (member ids).
    struct Org {
        recs: Vec<(i64, Keys)>,
        pops: Vec<Vec<i64>>,
    }

    fn random_org(rng: &mut Rng, first_id: i64) -> Org {
        let n = 1 + rng.below(9) as i64;
        let recs: Vec<(i64, Keys)> = (0..n).map(|i| (first_id + i, random_keys(rng))).collect();
        let pops = (0..1 + rng.below(3))
            .map(|_| {
                recs.iter()
                    .filter(|_| rng.below(3) != 0)
                    .map(|r| r.0)
                    .collect()
            })
            .collect();
        Org { recs, pops }
    }

    impl Org {
        fn keys(&self, id: i64) -> &Keys {
            &self.recs.iter().find(|r| r.0 == id).unwrap().1
        }
        fn bare(&self) -> bool {
            self.pops.iter().flatten().any(|&id| self.keys(id).bare())
        }
        fn pop_keys(&self, keyer: Keyer, pop: &[i64]) -> PopKeys {
            PopKeys::new(
                pop.iter()
                    .map(|&id| {
                        let k = self.keys(id);
                        Member {
                            record_id: id,
                            domain: k
                                .domain
                                .as_ref()
                                .map_or(0, |d| keyer.fingerprint(KeyKind::Domain, d)),
                            name: k
                                .name
                                .as_ref()
                                .map_or(0, |n| keyer.fingerprint(KeyKind::Name, n)),
                        }
                    })
                    .collect(),
            )
        }
        fn ambiguous_in(&self, pop: &[i64]) -> HashSet<String> {
            ambiguous_names(pop.iter().map(|&id| self.keys(id)))
                .into_iter()
                .map(str::to_string)
                .collect()
        }
        fn amb(&self, pop: &[i64], k: &Keys) -> bool {
            k.name
                .as_ref()
                .is_some_and(|n| self.ambiguous_in(pop).contains(n))
        }
    }

    /// Counts: a viewer's record counts in a cell exactly when the local join counts it, for
    /// random small organizations (names shared, ambiguous on either side, with and without
    /// domains), with the announced bits as they are and with both forced on.
    #[test]
    fn tuples_meet_sets_exactly_when_the_join_matches() {
        let keyer = Keyer::new(42);
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for round in 0..3000 {
            let a = random_org(&mut rng, 1);
            let b = random_org(&mut rng, 1000);
            for forced in [false, true] {
                let (a_bare, b_bare) = (a.bare() || forced, b.bare() || forced);
                for pi in &a.pops {
                    for pj in &b.pops {
                        let set: HashSet<Elem> = pj
                            .iter()
                            .flat_map(|&id| {
                                let k = b.keys(id);
                                owner_elems(k, b.amb(pj, k), a_bare)
                            })
                            .collect();
                        let psi = pi
                            .iter()
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .filter(|&&id| {
                                let k = a.keys(id);
                                let t = viewer_elems(k, a.amb(pi, k), b_bare);
                                assert!(t.len() <= width(b_bare));
                                t.iter().any(|e| set.contains(e))
                            })
                            .count();
                        let local = a.pop_keys(keyer, pi).overlap_count(&b.pop_keys(keyer, pj));
                        assert_eq!(psi, local, "round {round}, forced {forced}");
                    }
                }
            }
        }
    }

    /// Overlaps and full: the viewer opens entries with its own elements, mirrors what it
    /// opened (full rows whole), and its local join gives every pair the shared database gives:
    /// the same records of its own, the same partner record for each, on the same key.
    #[test]
    fn opened_entries_reproduce_the_join_pair_for_pair() {
        let keyer = Keyer::new(7);
        let mut rng = Rng(0x2545f4914f6cdd1d);
        for round in 0..3000 {
            let a = random_org(&mut rng, 1);
            let b = random_org(&mut rng, 1000);
            let full: Vec<bool> = b.pops.iter().map(|_| rng.below(3) == 0).collect();
            let (a_bare, b_bare) = (a.bare(), b.bare());
            // The owner: each released record's entry tags, its pops, where its name is
            // ambiguous, and its rank among released records of the same primary key.
            let released: Vec<i64> = {
                let mut v: Vec<i64> = b.pops.iter().flatten().copied().collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let pops_of = |id: i64| -> Vec<usize> {
                (0..b.pops.len())
                    .filter(|&j| b.pops[j].contains(&id))
                    .collect()
            };
            let is_full = |id: i64| pops_of(id).iter().any(|&j| full[j]);
            // The viewer's elements: every record of every population of its.
            let mine: HashSet<Elem> = a
                .pops
                .iter()
                .flat_map(|pi| {
                    pi.iter()
                        .flat_map(|&id| viewer_elems(a.keys(id), a.amb(pi, a.keys(id)), b_bare))
                })
                .collect();
            // What the viewer holds: (owner id, known domain, name, has domain).
            let mut held: Vec<(i64, Opened)> = Vec::new();
            for &id in &released {
                let k = b.keys(id);
                if is_full(id) {
                    held.push((
                        id,
                        Opened {
                            domain: k.domain.clone(),
                            name: k.name.clone(),
                            has_domain: k.domain.is_some(),
                        },
                    ));
                    continue;
                }
                let unamb_somewhere = pops_of(id).iter().any(|&j| !b.amb(&b.pops[j], k));
                let mut o = Opened::default();
                let mut any = false;
                for e in owner_elems(k, !unamb_somewhere, a_bare) {
                    if mine.contains(&e) {
                        o.add(&e);
                        any = true;
                    }
                }
                if any {
                    held.push((id, o));
                }
            }
            // Mirrored ids in the owner's order within each primary key (rank d, then an
            // arbitrary reference): the viewer sorts by (d, reference).
            let primary = |id: i64| {
                let k = b.keys(id);
                k.domain
                    .clone()
                    .map(|d| (0, d))
                    .or(k.name.clone().map(|n| (1, n)))
            };
            let rank = |id: i64| {
                released
                    .iter()
                    .filter(|&&o| o < id && primary(o) == primary(id))
                    .count()
            };
            held.sort_by_key(|(id, _)| (rank(*id), (id * 7919) % 101, *id));
            let mirror_id: HashMap<i64, i64> = held
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, 5000 + i as i64))
                .collect();
            let owner_of: HashMap<i64, i64> = mirror_id.iter().map(|(o, m)| (*m, *o)).collect();
            for (j, pj) in b.pops.iter().enumerate() {
                let amb_j = b.ambiguous_in(pj);
                let recs: Vec<Mirrored> = held
                    .iter()
                    .filter(|(id, _)| pj.contains(id))
                    .map(|(id, o)| Mirrored {
                        id: mirror_id[id],
                        domain: o.domain.as_deref(),
                        name: o.name.as_deref(),
                        has_domain: o.has_domain,
                        ambiguous_here: b
                            .keys(*id)
                            .name
                            .as_ref()
                            .is_some_and(|n| amb_j.contains(n)),
                    })
                    .collect();
                let mirrored = PopKeys::from_blob(&mirror_pop(keyer, &recs).to_blob());
                let theirs = b.pop_keys(keyer, pj);
                for pi in &a.pops {
                    let mk = a.pop_keys(keyer, pi);
                    let pairs = |v: Vec<crate::matching::Match>, map: bool| {
                        let mut out: Vec<(i64, i64, KeyKind)> = v
                            .iter()
                            .map(|m| {
                                let t = m.theirs.record_id;
                                (m.mine.record_id, if map { owner_of[&t] } else { t }, m.on)
                            })
                            .collect();
                        out.sort_by_key(|x| (x.0, x.1));
                        out
                    };
                    assert_eq!(
                        pairs(mk.overlapping(&mirrored), true),
                        pairs(mk.overlapping(&theirs), false),
                        "round {round}, pop {j}, full {}",
                        full[j]
                    );
                    if full[j] {
                        // greenfield: the partner's records that meet none of mine
                        let mut fed: Vec<i64> = mirrored
                            .matched_ids(&mk)
                            .iter()
                            .map(|m| owner_of[m])
                            .collect();
                        let mut local = theirs.matched_ids(&mk);
                        fed.sort_unstable();
                        local.sort_unstable();
                        assert_eq!(fed, local, "round {round}: greenfield");
                    }
                }
            }
        }
    }

    /// With no record without a domain on either side, every record is one element, as before
    /// the cross rule travelled.
    #[test]
    fn no_bare_records_cost_one_element_each() {
        let k = Keys {
            domain: Some("acme.com".into()),
            name: Some("acme".into()),
        };
        assert_eq!(
            owner_elems(&k, false, false),
            vec![(Tag::D, "acme.com".into())]
        );
        assert_eq!(
            viewer_elems(&k, false, false),
            vec![(Tag::D, "acme.com".into())]
        );
        assert_eq!(width(false), 1);
    }

    /// What a two-way counts exchange costs, counted with the element rule itself: n × n
    /// records, half shared, one population each, a fraction of them without a domain on
    /// each side. Per side: hash-to-group + multiplication for each distinct element it blinds
    /// (its set as owner and its tuples as viewer share its scalar), a multiplication for each
    /// distinct point the partner sent it (the partner's tuples it answers and the partner's
    /// set it counts in share the partner's scalar, so a domain element in both is re-blinded
    /// once); padding points are drawn, not multiplied. Returns (points one side sends, hashed,
    /// plain multiplications), the last two for both sides together.
    fn exchange_cost(n: usize, bare_per_mille: usize) -> (usize, usize, usize) {
        let org = |offset: usize| -> Vec<Keys> {
            (offset..offset + n)
                .map(|i| Keys {
                    domain: ((i * 7919) % 1000 >= bare_per_mille)
                        .then(|| format!("company{i}.com")),
                    name: Some(format!("company {i}")),
                })
                .collect()
        };
        let (a, b) = (org(0), org(n / 2));
        let bit = |o: &[Keys]| o.iter().any(Keys::bare);
        // (points sent, distinct elements blinded, distinct points incl. padding)
        let side = |me: &[Keys], partner: &[Keys]| {
            let partner_bit = bit(partner);
            let amb = ambiguous_names(me);
            let is_amb = |k: &Keys| k.name.as_deref().is_some_and(|x| amb.contains(x));
            let set: HashSet<Elem> = me
                .iter()
                .flat_map(|k| owner_elems(k, is_amb(k), partner_bit))
                .collect();
            let tuples: Vec<Vec<Elem>> = me
                .iter()
                .map(|k| viewer_elems(k, is_amb(k), partner_bit))
                .collect();
            let w = width(partner_bit);
            let padding: usize = tuples.iter().map(|t| w - t.len()).sum();
            let mut distinct: HashSet<&Elem> = set.iter().collect();
            distinct.extend(tuples.iter().flatten());
            (
                set.len() + me.len() * w,
                distinct.len(),
                distinct.len() + padding,
            )
        };
        let (sent_a, hashed_a, points_a) = side(&a, &b);
        let (_, hashed_b, points_b) = side(&b, &a);
        (sent_a, hashed_a + hashed_b, points_a + points_b)
    }

    #[test]
    fn the_exchange_costs_what_the_rule_needs() {
        let n = 100_000;
        // No record without a domain: one element per record, 2·(|A| + |B|) multiplications
        // (half of them with hash-to-group), exactly as before the cross rule travelled.
        let (sent, hashed, plain) = exchange_cost(n, 0);
        assert_eq!((sent, hashed, plain), (2 * n, 2 * n, 2 * n));
        let (sent10, hashed10, plain10) = exchange_cost(n, 100);
        println!(
            "100k x 100k counts, both directions: 0% bare: {sent} points sent per side, {hashed} hash+mult, {plain} mult; 10% bare: {sent10} points per side, {hashed10} hash+mult, {plain10} mult"
        );
        // Both sides with such records: three name roles cost at most three elements a record.
        assert!(hashed10 <= 6 * n && plain10 <= 6 * n);
    }
}
