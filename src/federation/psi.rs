//! Private set intersection on Ristretto255 (FEDERATION.md).
//!
//! `H(k)` hashes a domain-separated encoding of a match key (kind and text, SPEC §2) to the
//! group; secret scalars blind it. Cardinality: each side blinds its keys once with its
//! per-partnership scalar; the other side re-blinds the viewer's elements and sends them back
//! sorted, so the viewer counts, per cell, how many of its own records meet the owner's set
//! without learning which. Labeled PSI: the owner seals each released record under keys
//! derived from the OPRF value `H(k)·s`; the viewer learns `H(x)·s` for its own keys only,
//! by blinded evaluation. Everything is batched over rayon; points travel as 32-byte
//! compressed encodings.

use crate::matching::KeyKind;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use sha2::{Digest, Sha256, Sha512};

/// A compressed Ristretto255 point, as it travels.
pub type Pt = [u8; 32];

const DOMAIN: &[u8] = b"partnermap/psi/v1/match-key\0";

/// `H(k)`: the key hashed to the group.
pub fn hash_key(kind: KeyKind, text: &str) -> RistrettoPoint {
    hash_tagged(kind as u8, text)
}

/// A fresh secret scalar (never zero).
pub fn random_scalar() -> Scalar {
    loop {
        let a: [u8; 32] = rand::random();
        let b: [u8; 32] = rand::random();
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&a);
        wide[32..].copy_from_slice(&b);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

pub fn scalar_from_bytes(b: &[u8]) -> Option<Scalar> {
    let arr: [u8; 32] = b.try_into().ok()?;
    Option::from(Scalar::from_canonical_bytes(arr))
}

/// `{H(k)·s}` for each key, in the keys' order (callers sort before sending).
pub fn blind_keys(keys: &[(KeyKind, String)], s: &Scalar) -> Vec<Pt> {
    keys.par_iter()
        .with_min_len(256)
        .map(|(k, t)| (hash_key(*k, t) * s).compress().to_bytes())
        .collect()
}

/// A wrong point from a partner.
#[derive(Debug)]
pub struct BadPoint;

/// `{x·s}` for each point, in order. Fails on any encoding that is not a valid point.
pub fn reblind(points: &[Pt], s: &Scalar) -> Result<Vec<Pt>, BadPoint> {
    points
        .par_iter()
        .with_min_len(256)
        .map(|p| {
            let q = CompressedRistretto(*p).decompress().ok_or(BadPoint)?;
            Ok((q * s).compress().to_bytes())
        })
        .collect()
}

/// Sorts by encoding, so that no order tells the receiver anything.
pub fn sorted(mut v: Vec<Pt>) -> Vec<Pt> {
    v.par_sort_unstable();
    v
}

/// How many elements of the multiset `z` lie in `set`.
pub fn count_in(z: &[Pt], set: &FxHashSet<Pt>) -> usize {
    z.par_iter().filter(|p| set.contains(*p)).count()
}

/// The tag and sealing key of an OPRF value `F(k)`.
pub fn tag_and_key(f: &Pt) -> ([u8; 16], [u8; 32]) {
    let hk = Hkdf::<Sha256>::new(Some(b"partnermap/psi/v1/oprf"), f);
    let mut tag = [0u8; 16];
    let mut key = [0u8; 32];
    hk.expand(b"tag", &mut tag).expect("16 bytes");
    hk.expand(b"key", &mut key).expect("32 bytes");
    (tag, key)
}

/// Seals `plain` under `key`: a random 12-byte nonce, then the ciphertext.
pub fn seal(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce: [u8; 12] = rand::random();
    let mut out = nonce.to_vec();
    out.extend(
        cipher
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("encryption of a bounded payload"),
    );
    out
}

/// Opens what [`seal`] made; None if the key is not the one it was sealed under.
pub fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 12 + 16 {
        return None;
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(&sealed[..12]), &sealed[12..])
        .ok()
}

/// Concatenated 32-byte encodings.
pub fn pack(points: &[Pt]) -> Vec<u8> {
    points.concat()
}

pub fn unpack(b: &[u8]) -> Result<Vec<Pt>, BadPoint> {
    if !b.len().is_multiple_of(32) {
        return Err(BadPoint);
    }
    Ok(b.chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect())
}

/// The PSI cardinality of every (viewer population, owner population) cell, as the viewer
/// computes it: `answers[i]` = Z_i (the viewer's elements re-blinded by the owner), `owner[j]`
/// = Y_j (the owner's blinded set), `a` the viewer's scalar.
pub fn cell_counts(
    answers: &[Vec<Pt>],
    owner: &[Vec<Pt>],
    a: &Scalar,
) -> Result<Vec<Vec<usize>>, BadPoint> {
    let sets: Vec<FxHashSet<Pt>> = owner
        .iter()
        .map(|y| reblind(y, a).map(|v| v.into_iter().collect()))
        .collect::<Result<_, _>>()?;
    Ok(answers
        .iter()
        .map(|z| sets.iter().map(|s| count_in(z, s)).collect())
        .collect())
}

/// The scalar's inverse (for unblinding OPRF answers).
pub fn invert(s: &Scalar) -> Scalar {
    s.invert()
}

/// Unblinds OPRF answers: `(H(x)·r·s)·r⁻¹ = H(x)·s`.
pub fn unblind(points: &[Pt], r: &Scalar) -> Result<Vec<Pt>, BadPoint> {
    reblind(points, &r.invert())
}

// ---- Tagged elements (SPEC §2's cross rule across instances; see federation::elements).

/// The domain-separated encoding of a tagged element: the match-key encoding with a tag byte
/// in the kind's place (tag 1 is the domain key's own encoding; 3, 4 and 5 are the name's
/// three roles, so no role ever meets another).
fn encode_tagged(tag: u8, text: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(DOMAIN.len() + 9 + text.len());
    b.extend_from_slice(DOMAIN);
    b.push(tag);
    b.extend_from_slice(&(text.len() as u64).to_be_bytes());
    b.extend_from_slice(text.as_bytes());
    b
}

/// `H(e)` for a tagged element.
pub fn hash_tagged(tag: u8, text: &str) -> RistrettoPoint {
    // SHA-512 then the RFC 9496 one-way map: what `hash_from_bytes::<Sha512>` does.
    RistrettoPoint::from_uniform_bytes(&Sha512::digest(encode_tagged(tag, text)).into())
}

/// `{H(e)·s}` for each tagged element, in order.
pub fn blind_tagged(elems: &[(u8, &str)], s: &Scalar) -> Vec<Pt> {
    elems
        .par_iter()
        .with_min_len(256)
        .map(|(t, x)| (hash_tagged(*t, x) * s).compress().to_bytes())
        .collect()
}

/// `n` fresh uniformly random points (padding no one can tell from a blinded element).
pub fn random_points(n: usize) -> Vec<Pt> {
    (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|_| {
            let mut wide = [0u8; 64];
            wide[..32].copy_from_slice(&rand::random::<[u8; 32]>());
            wide[32..].copy_from_slice(&rand::random::<[u8; 32]>());
            RistrettoPoint::from_uniform_bytes(&wide)
                .compress()
                .to_bytes()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<(KeyKind, String)> {
        v.iter().map(|t| (KeyKind::Domain, t.to_string())).collect()
    }

    #[test]
    fn cardinality_counts_the_viewers_records() {
        let (a, b) = (random_scalar(), random_scalar());
        // viewer: acme twice (two records), globex, initech; owner: acme, initech, hooli
        let x = keys(&["acme.com", "acme.com", "globex.com", "initech.com"]);
        let y = keys(&["acme.com", "initech.com", "hooli.com"]);
        let xa = sorted(blind_keys(&x, &a));
        let yb = sorted(blind_keys(&y, &b));
        let z = sorted(reblind(&xa, &b).unwrap());
        let c = cell_counts(&[z], &[yb], &a).unwrap();
        assert_eq!(c, vec![vec![3]]);
    }

    #[test]
    fn kinds_never_meet() {
        assert_ne!(
            hash_key(KeyKind::Domain, "acme").compress(),
            hash_key(KeyKind::Name, "acme").compress()
        );
    }

    #[test]
    fn oprf_round_trip_opens_only_held_keys() {
        let s = random_scalar();
        let r = random_scalar();
        let owner = hash_key(KeyKind::Domain, "acme.com") * s;
        let (tag, key) = tag_and_key(&owner.compress().to_bytes());
        let sealed = seal(&key, b"fields");
        let q = blind_keys(&keys(&["acme.com", "globex.com"]), &r);
        let ans = reblind(&q, &s).unwrap();
        let f = unblind(&ans, &r).unwrap();
        let (t0, k0) = tag_and_key(&f[0]);
        let (t1, k1) = tag_and_key(&f[1]);
        assert_eq!(t0, tag);
        assert_ne!(t1, tag);
        assert_eq!(open(&k0, &sealed).as_deref(), Some(&b"fields"[..]));
        assert!(open(&k1, &sealed).is_none());
    }

    #[test]
    fn bad_points_are_refused() {
        assert!(reblind(&[[0xffu8; 32]], &random_scalar()).is_err());
        assert!(unpack(&[0u8; 31]).is_err());
    }
}
