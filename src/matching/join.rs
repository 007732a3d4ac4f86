//! Joins over stored key vectors. A population's keys are a vector of (fingerprint, record id)
//! sorted by fingerprint; records without a key carry fingerprint 0 and never match.
//! Overlaps are sorted merges: O(n + m), no hashing of text, no N×M loops.

/// One member of a population: its key fingerprint (0 = no key) and its record id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub fp: u64,
    pub record_id: i64,
}

/// A population's members, sorted by (fp, record id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopKeys {
    entries: Vec<Entry>,
    /// Index of the first entry with a key (fp != 0).
    keyed_from: usize,
}

impl PopKeys {
    pub fn new(mut entries: Vec<Entry>) -> PopKeys {
        entries.sort_unstable();
        let keyed_from = entries.partition_point(|e| e.fp == 0);
        PopKeys {
            entries,
            keyed_from,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All members.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Members that have a match key.
    pub fn keyed(&self) -> &[Entry] {
        &self.entries[self.keyed_from..]
    }

    pub fn record_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.entries.iter().map(|e| e.record_id)
    }

    /// Serialized form stored in SQLite: 16 bytes per entry, little-endian (fp, record id).
    pub fn to_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 16);
        for e in &self.entries {
            out.extend_from_slice(&e.fp.to_le_bytes());
            out.extend_from_slice(&e.record_id.to_le_bytes());
        }
        out
    }

    /// Reads the stored form; entries were stored sorted.
    pub fn from_blob(blob: &[u8]) -> PopKeys {
        let entries: Vec<Entry> = blob
            .chunks_exact(16)
            .map(|c| Entry {
                fp: u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                record_id: i64::from_le_bytes(c[8..].try_into().expect("8 bytes")),
            })
            .collect();
        debug_assert!(entries.windows(2).all(|w| w[0] <= w[1]));
        let keyed_from = entries.partition_point(|e| e.fp == 0);
        PopKeys {
            entries,
            keyed_from,
        }
    }

    /// Number of distinct records of `self` whose key meets any key of `other`.
    pub fn overlap_count(&self, other: &PopKeys) -> usize {
        let mut n = 0;
        self.merge(other, |_, _| n += 1);
        n
    }

    /// The entries of `self` that meet `other`, each with one matching record of `other`.
    pub fn overlapping(&self, other: &PopKeys) -> Vec<(Entry, Entry)> {
        let mut out = Vec::new();
        self.merge(other, |a, b| out.push((a, b)));
        out
    }

    /// Calls `f(mine, theirs)` once per keyed entry of `self` whose fingerprint is in `other`
    /// (with the first entry of `other` carrying that fingerprint).
    fn merge(&self, other: &PopKeys, mut f: impl FnMut(Entry, Entry)) {
        let a = self.keyed();
        let b = other.keyed();
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].fp.cmp(&b[j].fp) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    f(a[i], b[j]);
                    i += 1;
                }
            }
        }
    }

    /// Whether any member carries this fingerprint.
    pub fn contains_fp(&self, fp: u64) -> bool {
        let keyed = self.keyed();
        let i = keyed.partition_point(|e| e.fp < fp);
        fp != 0 && keyed.get(i).is_some_and(|e| e.fp == fp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[(u64, i64)]) -> PopKeys {
        PopKeys::new(
            v.iter()
                .map(|&(fp, record_id)| Entry { fp, record_id })
                .collect(),
        )
    }

    #[test]
    fn counts_distinct_records_of_the_viewer() {
        // viewer has two records with key 5 (duplicates on one side) and one unkeyed record
        let v = keys(&[(5, 1), (5, 2), (7, 3), (0, 4), (9, 5)]);
        // partner has key 5 three times, key 9 once
        let p = keys(&[(5, 10), (5, 11), (5, 12), (9, 13), (0, 14)]);
        assert_eq!(v.overlap_count(&p), 3);
        assert_eq!(p.overlap_count(&v), 4);
        let pairs = v.overlapping(&p);
        assert_eq!(pairs.len(), 3);
        assert!(pairs.iter().all(|(a, b)| a.fp == b.fp));
    }

    #[test]
    fn unkeyed_never_match() {
        let v = keys(&[(0, 1), (0, 2)]);
        let p = keys(&[(0, 3)]);
        assert_eq!(v.overlap_count(&p), 0);
    }

    #[test]
    fn blob_round_trip() {
        let v = keys(&[(5, 1), (3, 2), (0, 4), (u64::MAX, i64::MAX)]);
        assert_eq!(PopKeys::from_blob(&v.to_blob()), v);
        assert!(v.contains_fp(5));
        assert!(v.contains_fp(u64::MAX));
        assert!(!v.contains_fp(4));
        assert!(!v.contains_fp(0));
    }
}
