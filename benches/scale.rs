//! Scale benchmark (issue 7): generates two orgs of N records each (default 1,000,000)
//! deterministically, then measures, on the release build:
//! - import of an N-row CSV (name, website, 3 extra columns) with key computation, cold process;
//! - the 3 × 3 overlap matrix, cold (a fresh `partnermap overlaps` process reading SQLite) and
//!   warm (the engine already open, key vectors cached, as in `partnermap mcp`);
//! - peak memory (max RSS) of those processes.
//!
//! Run: `cargo bench --bench scale` (BENCH_RECORDS=N to change the size, BENCH_KEEP=DIR to keep
//! the generated files and write the population keys for `benches/duckdb_compare.py`).

use partnermap::Engine;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_partnermap");

fn main() {
    let n: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let keep = std::env::var("BENCH_KEEP").ok().map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bench.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    eprintln!("generating 2 × {n} records in {}", dir.display());
    let a_csv = dir.join("a.csv");
    let b_csv = dir.join("b.csv");
    generate(&a_csv, n, 0, 1);
    generate(&b_csv, n, n / 2, 2); // half of B's companies are A's

    let mut rows: Vec<(String, String, String)> = Vec::new();
    run(
        &db,
        None,
        &[
            "init",
            "--org",
            "A",
            "--domain",
            "a-corp.com",
            "--admin",
            "a@a-corp.com",
            "--plan",
            "supernode",
        ],
    );
    run(
        &db,
        None,
        &[
            "init",
            "--org",
            "B",
            "--domain",
            "b-corp.com",
            "--admin",
            "b@b-corp.com",
            "--plan",
            "supernode",
        ],
    );
    let (t, rss) = run(
        &db,
        Some("a@a-corp.com"),
        &["import", a_csv.to_str().unwrap(), "--name", "accounts"],
    );
    rows.push((
        format!("import {n}-row CSV (keys computed, one transaction)"),
        secs(t),
        format!(
            "{} MB max RSS; both keys, their indexes and the columnar side tables; target ≤ 1.5 s",
            rss / 1024
        ),
    ));
    let (t2, _) = run(
        &db,
        Some("b@b-corp.com"),
        &["import", b_csv.to_str().unwrap(), "--name", "accounts"],
    );
    rows.push(("import, second org".into(), secs(t2), String::new()));
    let mut pop_time = Duration::ZERO;
    let mut customers_create = Duration::ZERO;
    for (user, _) in [("a@a-corp.com", "A"), ("b@b-corp.com", "B")] {
        for (name, t, filter) in [
            ("All", "custom", "[]"),
            (
                "Customers",
                "customers",
                r#"{"field":"type","value":"Customer"}"#,
            ),
            (
                "Prospects",
                "prospects",
                r#"{"field":"type","value":"Prospect"}"#,
            ),
        ] {
            let (d, _) = run(
                &db,
                Some(user),
                &[
                    "population",
                    "create",
                    "--name",
                    name,
                    "--type",
                    t,
                    "--filter",
                    filter,
                ],
            );
            pop_time += d;
            if user == "a@a-corp.com" && name == "Customers" {
                customers_create = d;
            }
        }
    }
    rows.push((
        format!("create population Customers (type = Customer) on {n} records, fresh process"),
        secs(customers_create),
        "compare: DuckDB CREATE TABLE AS SELECT … WHERE type = 'Customer' (duckdb_compare.py)"
            .into(),
    ));
    rows.push((
        "create 6 populations (filters evaluated, key vectors stored)".into(),
        secs(pop_time),
        String::new(),
    ));
    run(&db, Some("a@a-corp.com"), &["invite", "B"]);
    run(&db, Some("b@b-corp.com"), &["accept", "A"]);

    // Cold: a fresh process each time.
    let mut cold = Vec::new();
    let mut cold_rss = 0;
    for _ in 0..5 {
        let (d, rss) = run(&db, Some("a@a-corp.com"), &["overlaps", "B", "--json"]);
        cold.push(d);
        cold_rss = cold_rss.max(rss);
    }
    cold.sort();
    rows.push((
        "overlap matrix 3×3, cold process (median of 5)".into(),
        secs(cold[2]),
        format!("{} MB max RSS", cold_rss / 1024),
    ));

    // Warm: the engine open in this process, key vectors cached.
    let mut engine = Engine::open(&db).unwrap();
    let b_actor = engine.actor(Some("b@b-corp.com")).unwrap();
    engine
        .set_sharing(
            &b_actor,
            "A",
            "Customers",
            partnermap::model::SharingLevel::Overlaps,
            Some(&["name".to_string()]),
        )
        .unwrap();
    let actor = engine.actor(Some("a@a-corp.com")).unwrap();
    let first = Instant::now();
    let cells = engine.overlaps(&actor, "B").unwrap();
    let first = first.elapsed();
    let mut warm = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let c = engine.overlaps(&actor, "B").unwrap();
        warm.push(t.elapsed());
        assert_eq!(c.len(), 9);
    }
    warm.sort();
    rows.push((
        "overlap matrix 3×3, in process, first call (reads key vectors)".into(),
        secs(first),
        String::new(),
    ));
    rows.push((
        "overlap matrix 3×3, warm (median of 30)".into(),
        secs(warm[15]),
        format!("p99 {}", secs(warm[29])),
    ));
    // Point lookups through the key indexes: account_lookup and search by domain and by name.
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let tlds = ["com", "io", "co.uk", "de", "com.au"];
    for (label, by_domain, lookup) in [
        ("account_lookup by domain", true, true),
        ("account_lookup by name", false, true),
        ("search by domain", true, false),
        ("search by name", false, false),
    ] {
        let mut times = Vec::new();
        for _ in 0..300 {
            let i = rng.random_range(0..n);
            let q = if by_domain {
                format!("www.company{i}.{}", tlds[i % tlds.len()])
            } else {
                format!("Company {i}")
            };
            let t = Instant::now();
            if lookup {
                // a record may have no website (then no domain): not found is an answer too
                let _ = engine.account_lookup(&actor, &q);
            } else {
                engine.search(&actor, &q, 20).unwrap();
            }
            times.push(t.elapsed());
        }
        times.sort();
        rows.push((
            format!("{label}, {n} records (p50 of 300)"),
            secs(times[150]),
            format!("p99 {}; target ≤ 2 ms", secs(times[296])),
        ));
    }
    rows.push((
        "bench process peak memory (engine + caches)".into(),
        String::new(),
        format!("{} MB VmHWM", vm_hwm_kb() / 1024),
    ));
    for c in &cells {
        eprintln!(
            "  {:<10} × {:<10} {:>8}",
            c.my_population.name, c.partner_population.name, c.overlap_count
        );
    }
    if keep.is_some() {
        write_keys(&engine, &dir);
        eprintln!(
            "population keys written to {} for benches/duckdb_compare.py",
            dir.display()
        );
    }

    println!("\n| figure ({n} records per org) | time | notes |\n|---|---|---|");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
}

fn secs(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

/// Runs the release binary; returns wall time and the child's max RSS in KB.
fn run(db: &Path, user: Option<&str>, args: &[&str]) -> (Duration, i64) {
    let mut cmd = Command::new(BIN);
    cmd.env("PARTNERMAP_DB", db).args(args);
    match user {
        Some(u) => cmd.env("PARTNERMAP_USER", u),
        None => cmd.env_remove("PARTNERMAP_USER"),
    };
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (d, children_max_rss_kb())
}

fn children_max_rss_kb() -> i64 {
    // SAFETY: getrusage writes into the struct we pass and has no other effect.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    }
}

fn vm_hwm_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Companies `offset..offset+n`, written with realistic noise: schemes, www., sub-domains,
/// paths, upper case, some without a website (name key), legal suffixes.
fn generate(path: &Path, n: usize, offset: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "name,website,type,country,employees").unwrap();
    const TLDS: [&str; 5] = ["com", "io", "co.uk", "de", "com.au"];
    const TYPES: [&str; 3] = ["Customer", "Prospect", "Partner"];
    const COUNTRIES: [&str; 5] = ["US", "GB", "DE", "FR", "AU"];
    for i in offset..offset + n {
        let tld = TLDS[i % TLDS.len()];
        let host = format!("company{i}.{tld}");
        let website = match rng.random_range(0..10) {
            0 => String::new(),
            1 => format!("https://www.{host}/about"),
            2 => format!("http://app.{}", host.to_uppercase()),
            3 => format!("www.{host}"),
            _ => host,
        };
        let suffix = ["", " Inc", " GmbH", " Ltd"][i % 4];
        writeln!(
            w,
            "Company {i}{suffix},{website},{},{},{}",
            TYPES[rng.random_range(0..3)],
            COUNTRIES[rng.random_range(0..5)],
            rng.random_range(1..100_000)
        )
        .unwrap();
    }
}

/// One CSV per population of A and B with the member's key texts (domain, name), for DuckDB to
/// load.
fn write_keys(engine: &Engine, dir: &Path) {
    let mut stmt = engine
        .conn()
        .prepare(
            "SELECT o.name, p.name, p.id FROM populations p JOIN orgs o ON o.id = p.org_id ORDER BY p.id",
        )
        .unwrap();
    let pops: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let blob_ids = |id: i64| -> Vec<i64> {
        let blob: Vec<u8> = engine
            .conn()
            .query_row(
                "SELECT members FROM population_members WHERE population_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        let mut ids: Vec<i64> = partnermap::matching::PopKeys::from_blob(&blob)
            .record_ids()
            .collect();
        ids.sort_unstable();
        ids
    };
    let mut key_of = engine
        .conn()
        .prepare(
            "SELECT coalesce(domain_key, ''), coalesce(name_key, '') FROM records WHERE id = ?1",
        )
        .unwrap();
    for (org, pop, id) in pops {
        let f = dir.join(format!("keys_{org}_{pop}.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&f).unwrap());
        writeln!(w, "record_id,domain,name").unwrap();
        for rid in blob_ids(id) {
            let (d, nm): (String, String) = key_of
                .query_row([rid], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            writeln!(w, "{rid},{d},\"{nm}\"").unwrap();
        }
    }
}
