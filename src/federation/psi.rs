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
use rustc_hash::{FxHashMap, FxHashSet};
use sha2::{Digest, Sha256, Sha512};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Points per batch: one field inversion compresses a whole batch, and rayon gets whole
/// batches (not single points) to share between threads.
const CHUNK: usize = 1024;

static HASHES: AtomicU64 = AtomicU64::new(0);
static MULTS: AtomicU64 = AtomicU64::new(0);
static DECOMPRESSIONS: AtomicU64 = AtomicU64::new(0);

/// The curve work this process has done so far (for benchmarks: what an exchange needed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CurveOps {
    /// Keys hashed to the group.
    pub hashes: u64,
    /// Variable-base scalar multiplications (each followed by a batched compression).
    pub mults: u64,
    /// Received or stored encodings decoded to points.
    pub decompressions: u64,
}

impl std::ops::Sub for CurveOps {
    type Output = CurveOps;
    fn sub(self, o: CurveOps) -> CurveOps {
        CurveOps {
            hashes: self.hashes - o.hashes,
            mults: self.mults - o.mults,
            decompressions: self.decompressions - o.decompressions,
        }
    }
}

pub fn curve_ops() -> CurveOps {
    CurveOps {
        hashes: HASHES.load(Ordering::Relaxed),
        mults: MULTS.load(Ordering::Relaxed),
        decompressions: DECOMPRESSIONS.load(Ordering::Relaxed),
    }
}

fn counted(c: &AtomicU64, n: usize) {
    c.fetch_add(n as u64, Ordering::Relaxed);
}

/// `s/2`: multiplying by it and then doubling (which the batch compression does for free)
/// gives `P·s`.
fn half(s: &Scalar) -> Scalar {
    s * Scalar::from(2u8).invert()
}

/// Compressed `2·P` of each point, one inversion for all (`double_and_compress_batch`).
fn double_compress_into(points: &[RistrettoPoint], out: &mut [Pt]) {
    for (o, c) in out
        .iter_mut()
        .zip(RistrettoPoint::double_and_compress_batch(points))
    {
        *o = c.to_bytes();
    }
}

/// `{H(k)·s}` for each key, in the keys' order (callers sort before sending).
pub fn blind_keys(keys: &[(KeyKind, String)], s: &Scalar) -> Vec<Pt> {
    blind_with(keys, |(k, t)| hash_key(*k, t), s)
}

/// `{H(e)·s}` for each item hashed by `hash`, batched: multiplied by `s/2`, then doubled and
/// compressed 1,024 at a time with one inversion.
fn blind_with<T: Sync>(
    items: &[T],
    hash: impl Fn(&T) -> RistrettoPoint + Sync,
    s: &Scalar,
) -> Vec<Pt> {
    let h = half(s);
    let mut out = vec![[0u8; 32]; items.len()];
    out.par_chunks_mut(CHUNK)
        .zip(items.par_chunks(CHUNK))
        .for_each(|(out, items)| {
            let pts: Vec<RistrettoPoint> = items.iter().map(|e| hash(e) * h).collect();
            double_compress_into(&pts, out);
        });
    counted(&HASHES, items.len());
    counted(&MULTS, items.len());
    out
}

/// `H(k)` for each key, in order: for keys multiplied by more than one scalar, hashed once.
pub fn hash_keys(keys: &[(KeyKind, String)]) -> Vec<RistrettoPoint> {
    let out = keys
        .par_iter()
        .with_min_len(CHUNK)
        .map(|(k, t)| hash_key(*k, t))
        .collect();
    counted(&HASHES, keys.len());
    out
}

/// `{P·s}` for each point, compressed, in order.
pub fn mul_points(points: &[RistrettoPoint], s: &Scalar) -> Vec<Pt> {
    let h = half(s);
    let mut out = vec![[0u8; 32]; points.len()];
    out.par_chunks_mut(CHUNK)
        .zip(points.par_chunks(CHUNK))
        .for_each(|(out, points)| {
            let pts: Vec<RistrettoPoint> = points.iter().map(|p| p * h).collect();
            double_compress_into(&pts, out);
        });
    counted(&MULTS, points.len());
    out
}

/// A wrong point from a partner.
#[derive(Debug)]
pub struct BadPoint;

/// `{x·s}` for each point, in order. Fails on any encoding that is not a valid point, and on
/// the identity (never a blinded key: the group has prime order and no scalar is zero).
pub fn reblind(points: &[Pt], s: &Scalar) -> Result<Vec<Pt>, BadPoint> {
    let h = half(s);
    let mut out = vec![[0u8; 32]; points.len()];
    out.par_chunks_mut(CHUNK)
        .zip(points.par_chunks(CHUNK))
        .try_for_each(|(out, points)| {
            let pts = points
                .iter()
                .map(|p| {
                    if *p == [0u8; 32] {
                        return Err(BadPoint);
                    }
                    Ok(CompressedRistretto(*p).decompress().ok_or(BadPoint)? * h)
                })
                .collect::<Result<Vec<RistrettoPoint>, BadPoint>>()?;
            double_compress_into(&pts, out);
            Ok(())
        })?;
    counted(&DECOMPRESSIONS, points.len());
    counted(&MULTS, points.len());
    Ok(out)
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

/// A 64-bit fingerprint of an encoding, for set membership between blinded points: bytes
/// 8..16 (byte 0's low bit is always 0 in a canonical encoding). Encodings of blinded keys are
/// uniformly random, so two different points share a fingerprint with probability 2⁻⁶⁴; a
/// count over |Z| × |Y| pairs is off by one with probability at most |Z|·|Y|/2⁶⁴
/// (≈ 5·10⁻⁸ at 1M × 1M).
pub fn fingerprint(p: &Pt) -> u64 {
    u64::from_le_bytes(p[8..16].try_into().expect("8 bytes"))
}

/// How many elements of the multiset `z` have their fingerprint in `set`.
pub fn count_in_fps(z: &[Pt], set: &FxHashSet<u64>) -> usize {
    z.par_iter()
        .with_min_len(CHUNK)
        .filter(|p| set.contains(&fingerprint(p)))
        .count()
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
    // Each distinct point of all the owner's sets is re-blinded once.
    let mut distinct: Vec<Pt> = owner.iter().flatten().copied().collect();
    distinct.par_sort_unstable();
    distinct.dedup();
    let under_a = reblind(&distinct, a)?;
    let fp: FxHashMap<Pt, u64> = distinct
        .into_iter()
        .zip(under_a.iter().map(fingerprint))
        .collect();
    let sets: Vec<FxHashSet<u64>> = owner
        .iter()
        .map(|y| y.iter().map(|p| fp[p]).collect())
        .collect();
    Ok(answers
        .iter()
        .map(|z| sets.iter().map(|s| count_in_fps(z, s)).collect())
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
    blind_with(elems, |(t, x)| hash_tagged(*t, x), s)
}

/// `n` fresh uniformly random points (padding no one can tell from a blinded element).
pub fn random_points(n: usize) -> Vec<Pt> {
    let out = (0..n)
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
        .collect();
    counted(&HASHES, n);
    out
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
    fn hash_to_group_is_the_one_every_version_computes() {
        // RistrettoPoint::hash_from_bytes::<Sha512> of curve25519-dalek 4.1.3 gave this
        // encoding for (domain, "acme.com"): instances on either version must agree.
        let p = hash_key(KeyKind::Domain, "acme.com").compress().to_bytes();
        let hex: String = p.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(
            hex,
            "7cc9e59466a10ebdcda8d557cc5221280e9157fdeed8a74cdccb2ffab2d9444f"
        );
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
    fn batched_multiplication_equals_one_by_one() {
        let s = random_scalar();
        // More than one batch, and a last batch that is not full.
        let k: Vec<(KeyKind, String)> = (0..CHUNK + 37)
            .map(|i| (KeyKind::Domain, format!("company{i}.com")))
            .collect();
        let batched = blind_keys(&k, &s);
        for (i, (kind, t)) in k.iter().enumerate() {
            assert_eq!(batched[i], (hash_key(*kind, t) * s).compress().to_bytes());
        }
        let h = hash_keys(&k);
        assert_eq!(mul_points(&h, &s), batched);
        let t = random_scalar();
        let again = reblind(&batched, &t).unwrap();
        for (i, p) in batched.iter().enumerate() {
            let q = CompressedRistretto(*p).decompress().unwrap();
            assert_eq!(again[i], (q * t).compress().to_bytes());
        }
    }

    #[test]
    fn bad_points_are_refused() {
        // The identity (all zeros) decodes, but is never a blinded key.
        assert!(reblind(&[[0u8; 32]], &random_scalar()).is_err());
        assert!(reblind(&[[0xffu8; 32]], &random_scalar()).is_err());
        assert!(unpack(&[0u8; 31]).is_err());
    }
}
