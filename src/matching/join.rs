//! Joins over stored key vectors (SPEC §2). A population's keys hold, for each member, its
//! record id and two fingerprints (domain key, name key; 0 = none), in two sorted orders: by
//! domain and by name. Two records match when their domain fingerprints are equal, or when their
//! name fingerprints are equal, at least one of them has no domain key, and the name is not
//! ambiguous on the other side of the one without a domain (carried there by records with two or
//! more different domain keys). Two records that both have domain keys never match on name.
//! Overlaps are sorted merges: O(n + m), no hashing of text, no N×M loops.

use super::KeyKind;

/// One member of a population: its record id and its key fingerprints (0 = no such key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    pub record_id: i64,
    pub domain: u64,
    pub name: u64,
}

/// One matched pair: a member of one side, one member of the other it matched, and on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub mine: Member,
    pub theirs: Member,
    pub on: KeyKind,
}

/// A population's members, in the two orders the joins merge on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopKeys {
    /// Every member, sorted by (domain, record id); members without a domain key first.
    by_domain: Vec<Member>,
    /// Index of the first member with a domain key.
    keyed_from: usize,
    /// Members with a name key, sorted by (name, domain, record id): in each name group the
    /// members without a domain come first, then the others by domain.
    by_name: Vec<Member>,
    /// Name fingerprints declared ambiguous here whatever the members say, sorted: a remote
    /// partner's mirrored population holds only the records this side opened, so the
    /// ambiguity of its whole population travels with them (FEDERATION.md).
    ambiguous: Vec<u64>,
}

const MAGIC: &[u8; 4] = b"PK2\0";
/// The form with declared-ambiguous names (written only when there are some).
const MAGIC3: &[u8; 4] = b"PK3\0";

fn by_name_order(m: &Member) -> (u64, u64, i64) {
    (m.name, m.domain, m.record_id)
}

/// One name group of a side: its members, where its domain-less members end, and whether its
/// members with a domain carry two or more different domains (the name is ambiguous there).
struct Group<'a> {
    members: &'a [Member],
    bare_end: usize,
    /// Declared ambiguous (see `PopKeys::ambiguous`).
    declared: bool,
}

impl Group<'_> {
    fn new<'a>(members: &'a [Member], keys: &PopKeys) -> Group<'a> {
        Group {
            bare_end: members.partition_point(|m| m.domain == 0),
            declared: !members.is_empty() && keys.declared_ambiguous(members[0].name),
            members,
        }
    }
    fn ambiguous(&self) -> bool {
        let d = &self.members[self.bare_end..];
        self.declared || (d.len() >= 2 && d[0].domain != d[d.len() - 1].domain)
    }
    fn first_bare(&self) -> Option<Member> {
        (self.bare_end > 0).then(|| self.members[0])
    }
    fn first_with_domain(&self) -> Option<Member> {
        self.members.get(self.bare_end).copied()
    }
}

/// Splits a name-sorted slice into its groups of equal name fingerprint.
fn groups(v: &[Member]) -> impl Iterator<Item = &[Member]> {
    v.chunk_by(|a, b| a.name == b.name)
}

impl PopKeys {
    /// Builds the key vectors; a record listed twice (a union of populations) counts once.
    pub fn new(mut members: Vec<Member>) -> PopKeys {
        members.sort_unstable_by_key(|m| m.record_id);
        members.dedup_by_key(|m| m.record_id);
        let mut by_name: Vec<Member> = members.iter().filter(|m| m.name != 0).copied().collect();
        by_name.sort_unstable_by_key(by_name_order);
        members.sort_unstable_by_key(|m| (m.domain, m.record_id));
        let keyed_from = members.partition_point(|m| m.domain == 0);
        PopKeys {
            by_domain: members,
            keyed_from,
            by_name,
            ambiguous: Vec::new(),
        }
    }

    /// [`PopKeys::new`] with names declared ambiguous whatever the members say (a remote
    /// partner's mirrored population: the ambiguity of its whole population).
    pub fn with_ambiguous(members: Vec<Member>, mut ambiguous: Vec<u64>) -> PopKeys {
        ambiguous.retain(|&fp| fp != 0);
        ambiguous.sort_unstable();
        ambiguous.dedup();
        PopKeys {
            ambiguous,
            ..PopKeys::new(members)
        }
    }

    fn declared_ambiguous(&self, fp: u64) -> bool {
        !self.ambiguous.is_empty() && self.ambiguous.binary_search(&fp).is_ok()
    }

    pub fn len(&self) -> usize {
        self.by_domain.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }

    /// All members (ordered by domain fingerprint).
    pub fn members(&self) -> &[Member] {
        &self.by_domain
    }

    pub fn record_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_domain.iter().map(|e| e.record_id)
    }

    /// Serialized form stored in SQLite: a 4-byte tag, the member count and the named count
    /// (u64 each), then 24 bytes per member (domain, name, record id; little-endian) in domain
    /// order, then the named members in name order. With declared-ambiguous names (tag `PK3`):
    /// their count after the named count, and the fingerprints (8 bytes each) at the end.
    pub fn to_blob(&self) -> Vec<u8> {
        let extra = if self.ambiguous.is_empty() {
            0
        } else {
            8 + 8 * self.ambiguous.len()
        };
        let mut out =
            Vec::with_capacity(20 + extra + (self.by_domain.len() + self.by_name.len()) * 24);
        out.extend_from_slice(if self.ambiguous.is_empty() {
            MAGIC
        } else {
            MAGIC3
        });
        out.extend_from_slice(&(self.by_domain.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.by_name.len() as u64).to_le_bytes());
        if !self.ambiguous.is_empty() {
            out.extend_from_slice(&(self.ambiguous.len() as u64).to_le_bytes());
        }
        for e in self.by_domain.iter().chain(&self.by_name) {
            out.extend_from_slice(&e.domain.to_le_bytes());
            out.extend_from_slice(&e.name.to_le_bytes());
            out.extend_from_slice(&e.record_id.to_le_bytes());
        }
        for fp in &self.ambiguous {
            out.extend_from_slice(&fp.to_le_bytes());
        }
        out
    }

    /// Reads the stored form (an unknown or damaged form reads as no members: populations are
    /// re-materialized by the key migration).
    pub fn from_blob(blob: &[u8]) -> PopKeys {
        let read = |c: &[u8]| Member {
            domain: u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
            name: u64::from_le_bytes(c[8..16].try_into().expect("8 bytes")),
            record_id: i64::from_le_bytes(c[16..24].try_into().expect("8 bytes")),
        };
        let u64_at = |i: usize| u64::from_le_bytes(blob[i..i + 8].try_into().expect("8 bytes"));
        let v3 = blob.len() >= 28 && &blob[..4] == MAGIC3;
        if !v3 && (blob.len() < 20 || &blob[..4] != MAGIC) {
            return PopKeys::default();
        }
        let n = u64_at(4) as usize;
        let m = u64_at(12) as usize;
        let a = if v3 { u64_at(20) as usize } else { 0 };
        let body = &blob[if v3 { 28 } else { 20 }..];
        if n.checked_add(m)
            .and_then(|x| x.checked_mul(24))
            .and_then(|x| x.checked_add(a.checked_mul(8)?))
            != Some(body.len())
        {
            return PopKeys::default();
        }
        let by_domain: Vec<Member> = body[..n * 24].chunks_exact(24).map(read).collect();
        let by_name: Vec<Member> = body[n * 24..(n + m) * 24]
            .chunks_exact(24)
            .map(read)
            .collect();
        let ambiguous: Vec<u64> = body[(n + m) * 24..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        debug_assert!(
            by_domain
                .windows(2)
                .all(|w| (w[0].domain, w[0].record_id) <= (w[1].domain, w[1].record_id))
        );
        debug_assert!(
            by_name
                .windows(2)
                .all(|w| by_name_order(&w[0]) <= by_name_order(&w[1]))
        );
        let keyed_from = by_domain.partition_point(|m| m.domain == 0);
        PopKeys {
            by_domain,
            keyed_from,
            by_name,
            ambiguous,
        }
    }

    /// The members `keep` selects, in the same orders (no sort: a population out of its
    /// source's key vector).
    pub fn restrict(&self, keep: impl Fn(i64) -> bool) -> PopKeys {
        let by_domain: Vec<Member> = self
            .by_domain
            .iter()
            .filter(|m| keep(m.record_id))
            .copied()
            .collect();
        let by_name: Vec<Member> = self
            .by_name
            .iter()
            .filter(|m| keep(m.record_id))
            .copied()
            .collect();
        let keyed_from = by_domain.partition_point(|m| m.domain == 0);
        PopKeys {
            by_domain,
            keyed_from,
            by_name,
            ambiguous: self.ambiguous.clone(),
        }
    }

    /// Number of distinct records of `self` that match any record of `other`.
    pub fn overlap_count(&self, other: &PopKeys) -> usize {
        let mut n = 0;
        self.for_each_match(other, |_| n += 1);
        n
    }

    /// The members of `self` that match `other`, each once, with one record of `other` it
    /// matched and on what (domain before name).
    pub fn overlapping(&self, other: &PopKeys) -> Vec<Match> {
        let mut out = Vec::new();
        self.for_each_match(other, |m| out.push(m));
        out
    }

    /// Record ids of `self` that match `other`.
    pub fn matched_ids(&self, other: &PopKeys) -> Vec<i64> {
        let mut out = Vec::new();
        self.for_each_match(other, |m| out.push(m.mine.record_id));
        out
    }

    /// Whether any member has this domain fingerprint.
    pub fn contains_domain(&self, fp: u64) -> bool {
        let keyed = &self.by_domain[self.keyed_from..];
        fp != 0 && {
            let i = keyed.partition_point(|e| e.domain < fp);
            keyed.get(i).is_some_and(|e| e.domain == fp)
        }
    }

    fn name_group(&self, fp: u64) -> Group<'_> {
        let lo = self.by_name.partition_point(|e| e.name < fp);
        let hi = lo + self.by_name[lo..].partition_point(|e| e.name == fp);
        Group::new(&self.by_name[lo..hi], self)
    }

    /// Whether a name is ambiguous here (carried by records with two or more domains).
    pub fn name_ambiguous(&self, fp: u64) -> bool {
        fp != 0 && (self.declared_ambiguous(fp) || self.name_group(fp).ambiguous())
    }

    /// The member of `self` one outside record matches, if any: `record` is the outside
    /// record's keys, `ambiguous_there` whether its name is ambiguous on its own side.
    pub fn match_one(&self, record: Member, ambiguous_there: bool) -> Option<Match> {
        let keyed = &self.by_domain[self.keyed_from..];
        if record.domain != 0 {
            let i = keyed.partition_point(|e| e.domain < record.domain);
            if let Some(t) = keyed.get(i).filter(|e| e.domain == record.domain) {
                return Some(Match {
                    mine: record,
                    theirs: *t,
                    on: KeyKind::Domain,
                });
            }
        }
        if record.name == 0 {
            return None;
        }
        let g = self.name_group(record.name);
        name_partner(record, ambiguous_there, &g).map(|t| Match {
            mine: record,
            theirs: t,
            on: KeyKind::Name,
        })
    }

    /// Calls `f` once per member of `self` that matches `other`: first every domain match (a
    /// sorted merge on domain), then every name match of a member not matched on domain (a
    /// sorted merge on name).
    pub fn for_each_match(&self, other: &PopKeys, mut f: impl FnMut(Match)) {
        // A far smaller other side is probed into this one (binary searches, O(m log n)); other
        // sides are merged (O(n + m)). Both give the same matches. A binary search step is a
        // cache miss (~100 ns) where a merge step is ~2 ns: probing pays only below ~1/500.
        let probe = other.len().saturating_mul(512) < self.len();
        let a = &self.by_domain[self.keyed_from..];
        let b = &other.by_domain[other.keyed_from..];
        if probe {
            for g in b.chunk_by(|x, y| x.domain == y.domain) {
                let fp = g[0].domain;
                let lo = a.partition_point(|e| e.domain < fp);
                for &m in a[lo..].iter().take_while(|e| e.domain == fp) {
                    f(Match {
                        mine: m,
                        theirs: g[0],
                        on: KeyKind::Domain,
                    });
                }
            }
        } else {
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                match a[i].domain.cmp(&b[j].domain) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        f(Match {
                            mine: a[i],
                            theirs: b[j],
                            on: KeyKind::Domain,
                        });
                        i += 1;
                    }
                }
            }
        }
        let mut on_names = |x: &[Member], y: &[Member]| {
            let (gx, gy) = (Group::new(x, self), Group::new(y, other));
            let mine_ambiguous = gx.ambiguous();
            for &m in gx.members {
                let Some(t) = name_partner(m, mine_ambiguous, &gy) else {
                    continue;
                };
                // Already matched on domain (checked only here: a binary search per member of
                // every name group would cost more than the whole merge).
                if m.domain != 0 && other.contains_domain(m.domain) {
                    continue;
                }
                {
                    f(Match {
                        mine: m,
                        theirs: t,
                        on: KeyKind::Name,
                    });
                }
            }
        };
        if probe {
            for y in groups(&other.by_name) {
                let x = self.name_group(y[0].name).members;
                if !x.is_empty() {
                    on_names(x, y);
                }
            }
            return;
        }
        let mut ga = groups(&self.by_name).peekable();
        let mut gb = groups(&other.by_name).peekable();
        while let (Some(x), Some(y)) = (ga.peek(), gb.peek()) {
            match x[0].name.cmp(&y[0].name) {
                std::cmp::Ordering::Less => {
                    ga.next();
                }
                std::cmp::Ordering::Greater => {
                    gb.next();
                }
                std::cmp::Ordering::Equal => {
                    on_names(x, y);
                    ga.next();
                    gb.next();
                }
            }
        }
    }
}

/// The member of the other side's name group `theirs` that `m` (whose name is ambiguous on its
/// own side when `m_side_ambiguous`) matches on name, if any. A member without a domain meets
/// the group unless the name is ambiguous there; a member with a domain meets only members
/// without one, and only when its own side does not make the name ambiguous.
fn name_partner(m: Member, m_side_ambiguous: bool, theirs: &Group) -> Option<Member> {
    if theirs.members.is_empty() {
        return None;
    }
    if m.domain == 0 {
        if theirs.ambiguous() {
            return None;
        }
        theirs
            .first_with_domain()
            .or_else(|| theirs.first_bare().filter(|_| !m_side_ambiguous))
    } else if m_side_ambiguous {
        None
    } else {
        theirs.first_bare()
    }
}

#[cfg(test)]
impl PopKeys {
    /// Brute force over every pair (tests only): whether `m` (a member of `self`) matches any
    /// member of `other` by the rule of SPEC §2.
    fn match_one_brute(&self, m: &Member, other: &PopKeys) -> bool {
        other.members().iter().any(|t| {
            (m.domain != 0 && m.domain == t.domain)
                || (m.name != 0
                    && m.name == t.name
                    && (m.domain == 0 || t.domain == 0)
                    && !(m.domain == 0 && other.name_ambiguous(m.name))
                    && !(t.domain == 0 && self.name_ambiguous(m.name)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members as (record id, domain fp, name fp).
    fn keys(v: &[(i64, u64, u64)]) -> PopKeys {
        PopKeys::new(
            v.iter()
                .map(|&(record_id, domain, name)| Member {
                    record_id,
                    domain,
                    name,
                })
                .collect(),
        )
    }

    fn pairs(a: &PopKeys, b: &PopKeys) -> Vec<(i64, i64, KeyKind)> {
        let mut v: Vec<_> = a
            .overlapping(b)
            .iter()
            .map(|m| (m.mine.record_id, m.theirs.record_id, m.on))
            .collect();
        v.sort_by_key(|x| (x.0, x.1));
        v
    }

    #[test]
    fn counts_distinct_records_of_the_viewer() {
        // viewer has two records with domain 5 (duplicates on one side) and one unkeyed record
        let v = keys(&[(1, 5, 0), (2, 5, 0), (3, 7, 0), (4, 0, 0), (5, 9, 0)]);
        let p = keys(&[(10, 5, 0), (11, 5, 0), (12, 5, 0), (13, 9, 0), (14, 0, 0)]);
        assert_eq!(v.overlap_count(&p), 3);
        assert_eq!(p.overlap_count(&v), 4);
        assert!(
            v.overlapping(&p)
                .iter()
                .all(|m| m.mine.domain == m.theirs.domain)
        );
    }

    #[test]
    fn name_matches_only_where_one_side_has_no_domain() {
        // name 100 on both sides
        let both_domains = (keys(&[(1, 5, 100)]), keys(&[(2, 6, 100)]));
        assert_eq!(both_domains.0.overlap_count(&both_domains.1), 0);
        // mine without a domain, theirs with: match, both directions
        let (a, b) = (keys(&[(1, 0, 100)]), keys(&[(2, 6, 100)]));
        assert_eq!(pairs(&a, &b), vec![(1, 2, KeyKind::Name)]);
        assert_eq!(pairs(&b, &a), vec![(2, 1, KeyKind::Name)]);
        // neither has a domain: match
        let (a, b) = (keys(&[(1, 0, 100)]), keys(&[(2, 0, 100)]));
        assert_eq!(pairs(&a, &b), vec![(1, 2, KeyKind::Name)]);
        // different names never match
        assert_eq!(keys(&[(1, 0, 100)]).overlap_count(&keys(&[(2, 0, 101)])), 0);
    }

    #[test]
    fn ambiguous_names_do_not_match() {
        // the other side carries name 100 with two domains: ambiguous there
        let theirs = keys(&[(10, 5, 100), (11, 6, 100)]);
        let mine = keys(&[(1, 0, 100)]);
        assert_eq!(mine.overlap_count(&theirs), 0);
        // ...and their side sees none either (my name-only record sees ambiguity on their side)
        assert_eq!(theirs.overlap_count(&mine), 0);
        // two records with the same domain do not make a name ambiguous
        let theirs = keys(&[(10, 5, 100), (11, 5, 100), (12, 0, 100)]);
        assert_eq!(mine.overlap_count(&theirs), 1);
        assert_eq!(theirs.overlap_count(&mine), 3);
        // a domain record on my side meets their name-only record unless my side is ambiguous
        let mine = keys(&[(1, 5, 100)]);
        let theirs = keys(&[(10, 0, 100)]);
        assert_eq!(mine.overlap_count(&theirs), 1);
        let mine = keys(&[(1, 5, 100), (2, 6, 100)]);
        assert_eq!(mine.overlap_count(&theirs), 0);
        assert_eq!(theirs.overlap_count(&mine), 0);
        assert!(mine.name_ambiguous(100));
        assert!(!theirs.name_ambiguous(100));
    }

    #[test]
    fn domain_match_is_counted_once_and_preferred() {
        let mine = keys(&[(1, 5, 100)]);
        let theirs = keys(&[(10, 5, 100), (11, 0, 100)]);
        assert_eq!(pairs(&mine, &theirs), vec![(1, 10, KeyKind::Domain)]);
        assert_eq!(mine.overlap_count(&theirs), 1);
    }

    #[test]
    fn match_one_agrees_with_the_merge() {
        let theirs = keys(&[(10, 5, 100), (11, 0, 200), (12, 7, 300), (13, 8, 300)]);
        let rec = |d, n| Member {
            record_id: 1,
            domain: d,
            name: n,
        };
        assert_eq!(
            theirs.match_one(rec(5, 0), false).unwrap().on,
            KeyKind::Domain
        );
        assert_eq!(
            theirs
                .match_one(rec(0, 100), false)
                .unwrap()
                .theirs
                .record_id,
            10
        );
        assert_eq!(
            theirs
                .match_one(rec(9, 200), false)
                .unwrap()
                .theirs
                .record_id,
            11
        );
        assert!(theirs.match_one(rec(9, 200), true).is_none());
        assert!(theirs.match_one(rec(0, 300), false).is_none());
        assert!(theirs.match_one(rec(9, 100), false).is_none());
    }

    #[test]
    fn unions_count_each_record_once() {
        let u = keys(&[(1, 5, 100), (1, 5, 100), (2, 0, 0)]);
        assert_eq!(u.len(), 2);
        assert_eq!(u.overlap_count(&keys(&[(9, 5, 0)])), 1);
    }

    #[test]
    fn probing_a_small_side_gives_what_merging_gives() {
        // a large side (ids 1..=12000) and small sides drawn from the same keys
        let big: Vec<(i64, u64, u64)> = (1..=12_000)
            .map(|i| {
                let d = if i % 3 == 0 { 0 } else { 1 + (i as u64 % 150) };
                (i, d, 1000 + (i as u64 % 170))
            })
            .collect();
        let big = keys(&big);
        for seed in 0..20u64 {
            let small: Vec<(i64, u64, u64)> = (0..10)
                .map(|j| {
                    let x = (seed * 31 + j * 17) % 200;
                    let d = if x % 4 == 0 { 0 } else { 1 + x % 150 };
                    (10_000 + j as i64, d, 1000 + x % 170)
                })
                .collect();
            let small = keys(&small);
            // probe (a small other side) and merge (a large other side), each against a brute
            // force over every pair
            for (x, y) in [(&big, &small), (&small, &big)] {
                let mut fast: Vec<i64> = x.matched_ids(y);
                fast.sort_unstable();
                let brute: Vec<i64> = {
                    let mut v: Vec<i64> = x
                        .members()
                        .iter()
                        .filter(|m| x.match_one_brute(m, y))
                        .map(|m| m.record_id)
                        .collect();
                    v.sort_unstable();
                    v
                };
                assert_eq!(fast, brute, "seed {seed}");
            }
        }
    }

    #[test]
    fn restrict_equals_building_anew() {
        let all = keys(&[(1, 5, 100), (2, 0, 100), (3, 7, 0), (4, 0, 0), (5, 5, 101)]);
        let odd = all.restrict(|id| id % 2 == 1);
        assert_eq!(odd, keys(&[(1, 5, 100), (3, 7, 0), (5, 5, 101)]));
    }

    #[test]
    fn blob_round_trip() {
        let v = keys(&[
            (1, 5, 100),
            (2, 3, 0),
            (4, 0, 0),
            (3, 0, 7),
            (i64::MAX, u64::MAX, 1),
        ]);
        assert_eq!(PopKeys::from_blob(&v.to_blob()), v);
        assert!(v.contains_domain(5));
        assert!(v.contains_domain(u64::MAX));
        assert!(!v.contains_domain(4));
        assert!(!v.contains_domain(0));
        // the old 16-byte form reads as empty (the migration re-materializes populations)
        assert!(PopKeys::from_blob(&[0u8; 32]).is_empty());
    }

    #[test]
    fn declared_ambiguous_names_act_as_the_members_would() {
        // A mirrored population holding one record of name 100 (domain 5) whose whole
        // population carries the name with two domains: declared ambiguous.
        let members = vec![Member {
            record_id: 10,
            domain: 5,
            name: 100,
        }];
        let declared = PopKeys::with_ambiguous(members.clone(), vec![100, 0]);
        let plain = PopKeys::new(members);
        let bare = keys(&[(1, 0, 100)]);
        assert_eq!(bare.overlap_count(&plain), 1);
        assert_eq!(bare.overlap_count(&declared), 0);
        assert_eq!(declared.overlap_count(&bare), 0);
        assert!(declared.name_ambiguous(100) && !plain.name_ambiguous(100));
        assert!(declared.match_one(bare.members()[0], false).is_none());
        // domains still match
        assert_eq!(keys(&[(1, 5, 100)]).overlap_count(&declared), 1);
        // the stored form keeps the declaration (and writes the old form without one)
        let back = PopKeys::from_blob(&declared.to_blob());
        assert_eq!(back, declared);
        assert_eq!(&plain.to_blob()[..4], b"PK2\0");
        assert_eq!(&declared.to_blob()[..4], b"PK3\0");
        assert_eq!(back.restrict(|_| true), declared);
    }
}
