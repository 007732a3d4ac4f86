//! Match keys (SPEC §2): every record carries a domain key (when its website gives one) and a
//! name key (when its name gives one), computed once at import and stored with 64-bit
//! fingerprints; and the joins over them (`join`: domain = domain, or name = name where one side
//! has no domain and the name is not ambiguous on the other side).

mod domain;
mod join;
mod name;
pub mod platforms;

pub use domain::domain_key;
pub use join::{Match, Member, PopKeys};
pub use name::name_key;

use serde::{Deserialize, Serialize};

/// Which key a record matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Domain = 1,
    Name = 2,
}

impl KeyKind {
    pub fn from_i64(v: i64) -> Option<KeyKind> {
        match v {
            1 => Some(KeyKind::Domain),
            2 => Some(KeyKind::Name),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Domain => "domain",
            KeyKind::Name => "name",
        }
    }
}

/// Why two records matched, as `matched_on` shows it: "domain acme.co.uk", or
/// "name acme (no website on one side)".
pub fn explain(kind: KeyKind, text: &str) -> String {
    match kind {
        KeyKind::Domain => format!("domain {text}"),
        KeyKind::Name => format!("name {text} (no website on one side)"),
    }
}

/// A record's match keys as (kind, text), domain first: the texts both the local join and
/// federation (which hashes kind and text) work from.
pub fn key_texts(name: &str, website: &str) -> Vec<(KeyKind, String)> {
    domain_key(website)
        .map(|d| (KeyKind::Domain, d))
        .into_iter()
        .chain(name_key(name).map(|n| (KeyKind::Name, n)))
        .collect()
}

/// A match key: its kind, its text and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKey {
    pub kind: KeyKind,
    pub text: String,
    pub fp: u64,
}

impl MatchKey {
    /// "domain acme.co.uk", "name acme (no website on one side)".
    pub fn explain(&self) -> String {
        explain(self.kind, &self.text)
    }
}

/// Both keys of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordKeys {
    pub domain: Option<MatchKey>,
    pub name: Option<MatchKey>,
}

impl RecordKeys {
    pub fn is_empty(&self) -> bool {
        self.domain.is_none() && self.name.is_none()
    }
    pub fn domain_fp(&self) -> u64 {
        self.domain.as_ref().map_or(0, |k| k.fp)
    }
    pub fn name_fp(&self) -> u64 {
        self.name.as_ref().map_or(0, |k| k.fp)
    }
}

/// Computes keys with the database's fingerprint seed.
#[derive(Debug, Clone, Copy)]
pub struct Keyer {
    seed: u64,
}

impl Keyer {
    pub fn new(seed: u64) -> Keyer {
        Keyer { seed }
    }

    /// Both keys of a record: the domain key from its website, the name key from its name.
    pub fn keys(&self, name: &str, website: &str) -> RecordKeys {
        RecordKeys {
            domain: domain_key(website).map(|d| self.make(KeyKind::Domain, d)),
            name: name_key(name).map(|n| self.make(KeyKind::Name, n)),
        }
    }

    /// The record's primary key: the domain key, else the name key.
    pub fn key(&self, name: &str, website: &str) -> Option<MatchKey> {
        let k = self.keys(name, website);
        k.domain.or(k.name)
    }

    pub fn make(&self, kind: KeyKind, text: String) -> MatchKey {
        let fp = self.fingerprint(kind, &text);
        MatchKey { kind, text, fp }
    }

    /// A seeded 64-bit fingerprint of (kind, text). Never 0: 0 marks "no key" in key vectors.
    /// The kind is part of the hash, so a name key can only ever meet a name key.
    pub fn fingerprint(&self, kind: KeyKind, text: &str) -> u64 {
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.push(kind as u8);
        buf.extend_from_slice(text.as_bytes());
        match xxhash_rust::xxh3::xxh3_64_with_seed(&buf, self.seed) {
            0 => 1,
            h => h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_carries_both_keys() {
        let k = Keyer::new(7);
        let a = k.keys("Acme Inc", "https://www.acme.com/about");
        assert_eq!(a.domain.as_ref().unwrap().text, "acme.com");
        assert_eq!(a.name.as_ref().unwrap().text, "acme");
        let b = k.keys("Acme Inc", "");
        assert!(b.domain.is_none());
        assert_eq!(b.name.as_ref().unwrap().fp, a.name_fp());
        assert_ne!(a.domain_fp(), a.name_fp());
        assert_eq!(
            key_texts("The Acme Co (UK)", "https://uk.linkedin.com/company/acme"),
            vec![(KeyKind::Name, "acme".to_string())]
        );
        assert_eq!(
            key_texts("Acme", "sales@acme.co.uk"),
            vec![
                (KeyKind::Domain, "acme.co.uk".to_string()),
                (KeyKind::Name, "acme".to_string())
            ]
        );
        assert_eq!(
            explain(KeyKind::Name, "acme"),
            "name acme (no website on one side)"
        );
        assert!(k.keys("", "").is_empty());
    }

    #[test]
    fn name_and_domain_with_same_text_never_meet() {
        let k = Keyer::new(1);
        assert_ne!(
            k.fingerprint(KeyKind::Domain, "acme.com"),
            k.fingerprint(KeyKind::Name, "acme.com")
        );
    }

    #[test]
    fn seed_changes_fingerprint() {
        assert_ne!(
            Keyer::new(1).fingerprint(KeyKind::Domain, "acme.com"),
            Keyer::new(2).fingerprint(KeyKind::Domain, "acme.com")
        );
    }
}
