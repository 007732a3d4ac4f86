//! PSI speed on this machine (FEDERATION.md "Speed"): both instances' work in one process.
//!
//! For n × n records (half of them shared): the curve bound (variable-base scalar
//! multiplications per second, measured here, all cores), then the two-way cardinality
//! exchange of `counts` (each side blinds its set once, re-blinds the other's, counts) and, at
//! 100k, one population at `overlaps` (OPRF: blind, evaluate, unblind, seal and open entries).
//! Prints the scalar multiplications the exchange needed and the time the bound allows.
//!
//! `cargo bench --bench psi` (PSI_BENCH_SIZES=100000,1000000 by default). Writes the sets to
//! $PSI_BENCH_DIR (if set) for benches/psi_openmined.py to compute the same cardinality.

use partnermap::federation::psi;
use partnermap::matching::KeyKind;
use rayon::prelude::*;
use std::time::Instant;

fn keys(n: usize, offset: usize) -> Vec<(KeyKind, String)> {
    (offset..offset + n)
        .map(|i| (KeyKind::Domain, format!("company{i}.com")))
        .collect()
}

/// Variable-base scalar multiplications per second (decompress, multiply, compress), all cores.
fn curve_rate() -> f64 {
    let s = psi::random_scalar();
    let pts = psi::blind_keys(&keys(200_000, 10_000_000), &s);
    let t = Instant::now();
    let out = psi::reblind(&pts, &s).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(out.len(), pts.len());
    pts.len() as f64 / secs
}

/// Hash-to-group plus multiplication per second (the first blinding of a key).
fn hash_rate() -> f64 {
    let s = psi::random_scalar();
    let k = keys(200_000, 20_000_000);
    let t = Instant::now();
    let out = psi::blind_keys(&k, &s);
    assert_eq!(out.len(), k.len());
    k.len() as f64 / t.elapsed().as_secs_f64()
}

fn cardinality(n: usize, rate_mul: f64, rate_hash: f64) {
    let a_keys = keys(n, 0);
    let b_keys = keys(n, n / 2); // half shared
    if let Ok(dir) = std::env::var("PSI_BENCH_DIR") {
        let _ = std::fs::create_dir_all(&dir);
        let w = |name: &str, k: &[(KeyKind, String)]| {
            let s: String = k.iter().map(|(_, t)| format!("{t}\n")).collect();
            std::fs::write(format!("{dir}/{name}_{n}.txt"), s).unwrap();
        };
        w("a", &a_keys);
        w("b", &b_keys);
    }
    let (a, b) = (psi::random_scalar(), psi::random_scalar());
    let t = Instant::now();
    // Each side blinds its own set once: its query to the other and its set for the other.
    let xa = psi::sorted(psi::blind_keys(&a_keys, &a));
    let yb = psi::sorted(psi::blind_keys(&b_keys, &b));
    // Each side re-blinds the other's elements: its answer to the other (sorted) doubles as
    // the set it counts in, since both end up under a·b.
    let za = psi::sorted(psi::reblind(&xa, &b).unwrap()); // B answers A: {x·a·b}
    let zb = psi::sorted(psi::reblind(&yb, &a).unwrap()); // A answers B: {y·b·a}
    let set_a: rustc_hash::FxHashSet<psi::Pt> = zb.iter().copied().collect();
    let set_b: rustc_hash::FxHashSet<psi::Pt> = za.iter().copied().collect();
    let count_a = psi::count_in(&za, &set_a);
    let count_b = psi::count_in(&zb, &set_b);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(count_a, n / 2);
    assert_eq!(count_b, n / 2);
    // Multiplications: blind 2n (with hashing), re-blind 2n: 2·(|A| + |B|).
    let hashed = 2 * n;
    let plain = 2 * n;
    let bound = hashed as f64 / rate_hash + plain as f64 / rate_mul;
    println!(
        "{n} x {n} cardinality, both directions: {secs:.2} s; {} scalar mults ({hashed} with hash-to-group); curve bound {bound:.2} s; ratio {:.2}",
        hashed + plain,
        secs / bound
    );
}

fn overlaps(n: usize) {
    // Owner B seals an entry per record; viewer A evaluates its keys obliviously and opens.
    let a_keys = keys(n, 0);
    let b_keys = keys(n, n / 2);
    let s = psi::random_scalar();
    let t = Instant::now();
    let f_b = psi::blind_keys(&b_keys, &s);
    let mut entries: Vec<([u8; 16], Vec<u8>)> = f_b
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let (tag, key) = psi::tag_and_key(f);
            (
                tag,
                psi::seal(
                    &key,
                    format!("{{\"r\":\"{i}\",\"values\":{{}}}}").as_bytes(),
                ),
            )
        })
        .collect();
    entries.par_sort_unstable_by(|x, y| x.0.cmp(&y.0));
    let r = psi::random_scalar();
    let q = psi::blind_keys(&a_keys, &r);
    let ans = psi::reblind(&q, &s).unwrap();
    let f_a = psi::unblind(&ans, &r).unwrap();
    let opened: usize = f_a
        .par_iter()
        .filter(|f| {
            let (tag, key) = psi::tag_and_key(f);
            entries
                .binary_search_by(|e| e.0.cmp(&tag))
                .ok()
                .is_some_and(|i| psi::open(&key, &entries[i].1).is_some())
        })
        .count();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(opened, n / 2);
    println!(
        "{n} x {n} one population at overlaps (OPRF, seal, open): {secs:.2} s; {} scalar mults",
        4 * n
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PSI_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("threads: {}", rayon::current_num_threads());
    let rate_mul = curve_rate();
    let rate_hash = hash_rate();
    println!(
        "curve: {rate_mul:.0} scalar mults/s (decompress+mul+compress), {rate_hash:.0} hash-to-group+mults/s"
    );
    for n in sizes {
        let t = Instant::now();
        cardinality(n, rate_mul, rate_hash);
        if n <= 100_000 {
            overlaps(n);
            println!(
                "{n} x {n} total (counts both directions + one at overlaps): {:.2} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
}
