//! Match keys (SPEC §2): a record's domain key, or its name key when it has no domain,
//! computed once at import and stored with a 64-bit fingerprint; and the joins over them.

mod domain;
mod join;
mod name;

pub use domain::domain_key;
pub use join::{Entry, PopKeys};
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

/// A record's match key: its kind, its text and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKey {
    pub kind: KeyKind,
    pub text: String,
    pub fp: u64,
}

impl MatchKey {
    /// "matched on domain acme.co.uk"
    pub fn explain(&self) -> String {
        format!("{} {}", self.kind.as_str(), self.text)
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

    /// The record's key: domain key from the website, else name key from the name.
    pub fn key(&self, name: &str, website: &str) -> Option<MatchKey> {
        if let Some(d) = domain_key(website) {
            return Some(self.make(KeyKind::Domain, d));
        }
        name_key(name).map(|n| self.make(KeyKind::Name, n))
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
    fn domain_key_wins_over_name() {
        let k = Keyer::new(7);
        let a = k.key("Acme Inc", "https://www.acme.com/about").unwrap();
        assert_eq!(a.kind, KeyKind::Domain);
        assert_eq!(a.text, "acme.com");
        let b = k.key("Acme Inc", "").unwrap();
        assert_eq!(b.kind, KeyKind::Name);
        assert_eq!(b.text, "acme");
        assert_ne!(a.fp, b.fp);
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
