//! PSI primitives' speed on this machine (FEDERATION.md "Speed"): both instances' work in one
//! process. (`benches/psi_e2e.rs` runs the real thing: two instances, TLS, SQLite.)
//!
//! Prints: what each curve operation costs on one thread; the curve rates on all threads, for
//! the batched primitives of `federation::psi` and for the one-point-at-a-time way (decompress,
//! multiply, compress each point) in the same run; then for n × n records (half shared) the
//! two-way cardinality exchange of `counts` (each side blinds its set once, re-blinds the
//! other's, counts), the scalar multiplications it needed and the curve bound (those at this
//! run's rates); at 100k, one population at `overlaps` (OPRF: blind, evaluate, unblind, seal
//! and open entries); and, when `openmined-psi` is importable by python3, the same cardinality
//! computed by openmined-psi on the same sets in the same run (benches/psi_openmined.py).
//!
//! `RUSTFLAGS='--cfg curve25519_dalek_backend="avx512"' cargo bench --bench psi` (the flag lets
//! curve25519-dalek pick its AVX-512 IFMA backend at run time where the CPU has it; without it,
//! AVX2). PSI_BENCH_SIZES=100000,1000000 by default; PSI_BENCH_DIR=DIR keeps the sets;
//! PSI_OPENMINED=0 skips the comparison.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use partnermap::federation::psi;
use partnermap::matching::KeyKind;
use rayon::prelude::*;
use std::time::Instant;

fn keys(n: usize, offset: usize) -> Vec<(KeyKind, String)> {
    (offset..offset + n)
        .map(|i| (KeyKind::Domain, format!("company{i}.com")))
        .collect()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Microseconds per operation on one thread: hash-to-group, multiplication, compression,
/// batched compression (per point), decompression.
fn op_costs() {
    let n = 5_000;
    let s = psi::random_scalar();
    let k = keys(n, 30_000_000);
    let us = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    let h: Vec<RistrettoPoint> = k.iter().map(|(kk, t)| psi::hash_key(*kk, t)).collect();
    let hash = us(t);
    let t = Instant::now();
    let m: Vec<RistrettoPoint> = h.iter().map(|p| p * s).collect();
    let mul = us(t);
    let t = Instant::now();
    let c: Vec<CompressedRistretto> = m.iter().map(|p| p.compress()).collect();
    let compress = us(t);
    let t = Instant::now();
    let b = RistrettoPoint::double_and_compress_batch(&m);
    let batch = us(t);
    let t = Instant::now();
    let d: Vec<RistrettoPoint> = c.iter().map(|p| p.decompress().unwrap()).collect();
    let decompress = us(t);
    assert_eq!(b.len() + d.len(), 2 * n);
    println!(
        "one thread, µs per point: hash-to-group {hash:.1}, multiply {mul:.1}, compress {compress:.1}, batched double-and-compress {batch:.1}, decompress {decompress:.1}"
    );
}

/// The one-point-at-a-time primitives (as `federation::psi` had them before batching).
fn blind_one_by_one(keys: &[(KeyKind, String)], s: &curve25519_dalek::Scalar) -> Vec<psi::Pt> {
    keys.par_iter()
        .with_min_len(256)
        .map(|(k, t)| (psi::hash_key(*k, t) * s).compress().to_bytes())
        .collect()
}

fn reblind_one_by_one(points: &[psi::Pt], s: &curve25519_dalek::Scalar) -> Vec<psi::Pt> {
    points
        .par_iter()
        .with_min_len(256)
        .map(|p| {
            (CompressedRistretto(*p).decompress().unwrap() * s)
                .compress()
                .to_bytes()
        })
        .collect()
}

/// This run's rates on all threads, per second.
#[derive(Clone, Copy)]
struct Rates {
    /// Hash-to-group alone.
    hash: f64,
    /// Multiplication with batched compression.
    mul: f64,
    /// Decompression, multiplication and batched compression (`reblind`).
    reblind: f64,
    /// Hash, multiplication, batched compression (`blind_keys`).
    blind: f64,
}

impl Rates {
    /// The time this run's rates allow for the curve work `ops`.
    fn bound(&self, ops: psi::CurveOps) -> f64 {
        ops.hashes as f64 / self.hash
            + (ops.mults - ops.decompressions) as f64 / self.mul
            + ops.decompressions as f64 / self.reblind
    }
}

fn rate(f: &dyn Fn() -> usize) -> f64 {
    let t = Instant::now();
    let n = f();
    n as f64 / t.elapsed().as_secs_f64()
}

/// Rates on all threads: batched, and (blind, reblind) one point at a time.
fn curve_rates() -> (Rates, (f64, f64)) {
    let s = psi::random_scalar();
    let k = keys(200_000, 10_000_000);
    let pts = psi::blind_keys(&k, &s);
    let h = psi::hash_keys(&k);
    let batched = Rates {
        hash: rate(&|| psi::hash_keys(&k).len()),
        mul: rate(&|| psi::mul_points(&h, &s).len()),
        reblind: rate(&|| psi::reblind(&pts, &s).unwrap().len()),
        blind: rate(&|| psi::blind_keys(&k, &s).len()),
    };
    let single = (
        rate(&|| blind_one_by_one(&k, &s).len()),
        rate(&|| reblind_one_by_one(&pts, &s).len()),
    );
    (batched, single)
}

/// The two-way cardinality exchange; returns its seconds.
fn cardinality(n: usize, rates: Rates) -> f64 {
    let a_keys = keys(n, 0);
    let b_keys = keys(n, n / 2); // half shared
    let (a, b) = (psi::random_scalar(), psi::random_scalar());
    let before = psi::curve_ops();
    let t = Instant::now();
    // Each side blinds its own set once: its query to the other and its set for the other.
    let xa = psi::sorted(psi::blind_keys(&a_keys, &a));
    let yb = psi::sorted(psi::blind_keys(&b_keys, &b));
    // Each side re-blinds the other's elements: its answer to the other (sorted) doubles as
    // the set it counts in, since both end up under a·b.
    let za = psi::sorted(psi::reblind(&xa, &b).unwrap()); // B answers A: {x·a·b}
    let zb = psi::sorted(psi::reblind(&yb, &a).unwrap()); // A answers B: {y·b·a}
    let set_a: rustc_hash::FxHashSet<u64> = zb.iter().map(psi::fingerprint).collect();
    let set_b: rustc_hash::FxHashSet<u64> = za.iter().map(psi::fingerprint).collect();
    let count_a = psi::count_in_fps(&za, &set_a);
    let count_b = psi::count_in_fps(&zb, &set_b);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(count_a, n / 2);
    assert_eq!(count_b, n / 2);
    let ops = psi::curve_ops() - before;
    let bound = rates.bound(ops);
    println!(
        "{n} x {n} cardinality, both directions: {secs:.2} s; {} scalar mults ({} of hashed keys, {} of received points); curve bound {bound:.2} s; ratio {:.2} (load {})",
        ops.mults,
        ops.hashes,
        ops.decompressions,
        secs / bound,
        load()
    );
    secs
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
        "{n} x {n} one population at overlaps, one direction (OPRF, seal, open): {secs:.2} s; {} scalar mults",
        4 * n
    );
}

/// Runs benches/psi_openmined.py on the sets; returns (one direction, both) seconds.
fn openmined(dir: &str, n: usize) -> Option<(f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/psi_openmined.py");
    let out = std::process::Command::new("python3")
        .args([script, dir, &n.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        eprintln!(
            "openmined-psi comparison not run: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    print!("{text}");
    let num = |after: &str| -> Option<f64> {
        text.split(after)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((num("one direction ")?, num("both ")?))
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PSI_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let with_openmined = std::env::var("PSI_OPENMINED").as_deref() != Ok("0");
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("PSI_BENCH_DIR")
        .unwrap_or_else(|_| tmp.path().to_string_lossy().into_owned());
    std::fs::create_dir_all(&dir).unwrap();
    println!("threads: {}; load {}", rayon::current_num_threads(), load());
    op_costs();
    let (rates, single) = curve_rates();
    println!(
        "curve, all threads: hash-to-group {:.0} /s, mult+compress {:.0} /s; hash+mult+compress {:.0} /s, decompress+mult+compress {:.0} /s; one point at a time (no batched compression): {:.0} /s and {:.0} /s, so batching gives {:.2}x and {:.2}x",
        rates.hash,
        rates.mul,
        rates.blind,
        rates.reblind,
        single.0,
        single.1,
        rates.blind / single.0,
        rates.reblind / single.1
    );
    for n in sizes {
        let t = Instant::now();
        let ours = cardinality(n, rates);
        if n >= 1_000_000 {
            // A long run: the rates again after it, and the bound from the faster of the two
            // (the stricter bound), since other work on the machine comes and goes.
            let (again, _) = curve_rates();
            let best = Rates {
                hash: rates.hash.max(again.hash),
                mul: rates.mul.max(again.mul),
                reblind: rates.reblind.max(again.reblind),
                blind: rates.blind.max(again.blind),
            };
            let ops = psi::CurveOps {
                hashes: 2 * n as u64,
                mults: 4 * n as u64,
                decompressions: 2 * n as u64,
            };
            println!(
                "{n} x {n}: rates after the run {:.0} /s hash+mult, {:.0} /s decompress+mult; with the faster rates of before and after, curve bound {:.2} s, ratio {:.2} (load {})",
                again.blind,
                again.reblind,
                best.bound(ops),
                ours / best.bound(ops),
                load()
            );
        }
        if n <= 100_000 {
            overlaps(n);
            println!(
                "{n} x {n} total (counts both directions + one population at overlaps one direction): {:.2} s",
                t.elapsed().as_secs_f64()
            );
        }
        if with_openmined {
            let w = |name: &str, k: &[(KeyKind, String)]| {
                let s: String = k.iter().map(|(_, t)| format!("{t}\n")).collect();
                std::fs::write(format!("{dir}/{name}_{n}.txt"), s).unwrap();
            };
            w("a", &keys(n, 0));
            w("b", &keys(n, n / 2));
            if let Some((one, both)) = openmined(&dir, n) {
                println!(
                    "{n} x {n}: partnermap both directions (both sides learn their count, 4n mults) {ours:.2} s vs openmined-psi both directions (two runs, 8n ops) {both:.2} s: {:.1}x faster; vs openmined one direction (one side learns, 4n ops) {one:.2} s: {:.1}x (load {})",
                    both / ours,
                    one / ours,
                    load()
                );
            }
        }
    }
}
