//! Two real partnermap instances on this machine (FEDERATION.md "Speed"): two databases, two
//! orgs of N records each (default 100,000; half of the companies shared, realistic names and
//! websites, four populations each), partnered by a remote invitation code over mutual TLS on
//! 127.0.0.1. Alpha serves its peer endpoint (`partnermap::federation::serve::run`, the code of
//! `partnermap serve --peer-listen 127.0.0.1:0`, on a thread of this process); Beta connects out,
//! as `partnermap sync` does. Every population is shown at `counts` but one: Beta shows its
//! Customers at `overlaps` (PSI_E2E_OVERLAPS=both: each side its Customers). The timed part is
//! one `sync`, from Beta's first message until both sides hold their results (counts both
//! directions, OPRF entries opened), checked against the matrix computed from the generated
//! data.
//!
//! Prints the time, the scalar multiplications the exchange needed (both instances: they share
//! this process's counter), and the curve bound: those multiplications at the rates measured
//! in the same run.
//!
//! `RUSTFLAGS='--cfg curve25519_dalek_backend="avx512"' cargo bench --bench psi_e2e` (the flag:
//! curve25519-dalek's AVX-512 IFMA backend where the CPU has it; PSI_E2E_RECORDS=N to change the size; PSI_E2E_KEEP=DIR keeps
//! the databases).

use partnermap::Engine;
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation};
use partnermap::federation::{ops, psi};
use partnermap::matching::KeyKind;
use partnermap::model::{Plan, PopulationType, SharingLevel};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FIRST: [&str; 48] = [
    "Acme", "Blue", "Bright", "Cedar", "Clear", "Core", "Crest", "Delta", "Eagle", "Echo", "Ever",
    "First", "Fox", "Frontier", "Global", "Golden", "Granite", "Green", "Harbor", "High", "Iron",
    "Keystone", "Lake", "Lumen", "Maple", "Meridian", "North", "Nova", "Oak", "Omni", "Orbit",
    "Peak", "Pine", "Prime", "Quantum", "Red", "River", "Rock", "Silver", "Sky", "Solar", "Stone",
    "Summit", "True", "Union", "Vertex", "West", "Zen",
];
const SECOND: [&str; 48] = [
    "bridge", "field", "forge", "gate", "grid", "haven", "hill", "line", "logic", "mark", "mill",
    "point", "port", "ridge", "scale", "shore", "soft", "spark", "stack", "star", "stream", "ware",
    "wave", "well", "works", "view", "vale", "way", "wind", "wood", "yard", "base", "bay", "bloom",
    "bolt", "brook", "cast", "cloud", "side", "dale", "dock", "flow", "glen", "hub", "lab", "leaf",
    "loop", "nest",
];
const INDUSTRY: [&str; 25] = [
    "Analytics",
    "Bank",
    "Biotech",
    "Capital",
    "Cloud",
    "Consulting",
    "Devices",
    "Energy",
    "Foods",
    "Freight",
    "Health",
    "Insurance",
    "Labs",
    "Logistics",
    "Media",
    "Motors",
    "Networks",
    "Pharma",
    "Retail",
    "Robotics",
    "Security",
    "Software",
    "Systems",
    "Telecom",
    "Travel",
];
const TLD: [&str; 4] = ["com", "io", "co.uk", "de"];
const COUNTRY: [&str; 4] = ["United States", "Ireland", "United Kingdom", "Germany"];
const FORM: [&str; 6] = ["Inc", "LLC", "Ltd", "GmbH", "SAS", "Corp"];
const SPACE: usize = 48 * 48 * 25 * 4;

/// Company `c`: name, domain (None for the 2% without a website: they match on name), country.
fn company(c: usize) -> (String, Option<String>, &'static str) {
    // A bijection of 0..SPACE (7919 is prime to SPACE), so every company is distinct.
    let mut i = (c * 7919 + 12345) % SPACE;
    let tld = i % 4;
    i /= 4;
    let ind = i % 25;
    i /= 25;
    let (f, s) = (i % 48, i / 48);
    let stem = format!("{}{}", FIRST[f], SECOND[s]);
    if c % 50 == 7 {
        let name = format!("{stem} {} {}", INDUSTRY[ind], COUNTRY[tld]);
        return (name, None, COUNTRY[tld]);
    }
    let name = format!("{stem} {} {}", INDUSTRY[ind], FORM[c % 6]);
    let domain = format!(
        "{}{}.{}",
        stem.to_lowercase(),
        INDUSTRY[ind].to_lowercase(),
        TLD[tld]
    );
    (name, Some(domain), COUNTRY[tld])
}

/// A deterministic mix of (side, company) for the record's type.
fn mix(side: u64, c: usize) -> u64 {
    let mut x = (c as u64) ^ (side << 40);
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

const TYPES: [&str; 4] = ["Customer", "Prospect", "Former customer", "Partner"];

fn record_type(side: u64, c: usize) -> &'static str {
    match mix(side, c) % 100 {
        0..30 => TYPES[0],
        30..80 => TYPES[1],
        80..90 => TYPES[2],
        _ => TYPES[3],
    }
}

/// The populations of each side: name, type, the record types it holds (None = all).
const POPS: [(&str, PopulationType, Option<&str>); 4] = [
    ("Customers", PopulationType::Customers, Some("Customer")),
    ("Prospects", PopulationType::Prospects, Some("Prospect")),
    (
        "Former customers",
        PopulationType::Custom,
        Some("Former customer"),
    ),
    ("All accounts", PopulationType::Custom, None),
];

/// Writes one side's CSV: companies `from..from + n`; website written in several forms.
fn write_csv(path: &Path, side: u64, from: usize, n: usize) {
    let mut s = String::from("name,website,type,country,owner\n");
    for c in from..from + n {
        let (name, domain, country) = company(c);
        let web = match (&domain, side, c % 3) {
            (None, _, _) => String::new(),
            (Some(d), 1, _) => format!("https://www.{d}"),
            (Some(d), _, 0) => d.clone(),
            (Some(d), _, 1) => format!("http://{d}/contact"),
            (Some(d), _, _) => format!("https://{d}/"),
        };
        let owner = ["ann", "bo", "cy", "di"][c % 4];
        writeln!(s, "{name},{web},{},{country},{owner}", record_type(side, c)).unwrap();
    }
    std::fs::write(path, s).unwrap();
}

/// The matrix each side must end up with, from the generated data: (mine, theirs) → count.
fn expected(
    my_side: u64,
    my_from: usize,
    their_side: u64,
    their_from: usize,
    n: usize,
) -> BTreeMap<(String, String), usize> {
    let members = |side: u64, from: usize, t: Option<&str>| -> HashSet<usize> {
        (from..from + n)
            .filter(|&c| t.is_none_or(|t| record_type(side, c) == t))
            .collect()
    };
    let mut out = BTreeMap::new();
    for (mine, _, mt) in POPS {
        let m = members(my_side, my_from, mt);
        for (theirs, _, tt) in POPS {
            let t = members(their_side, their_from, tt);
            out.insert(
                (mine.to_string(), theirs.to_string()),
                m.intersection(&t).count(),
            );
        }
    }
    out
}

fn instance(db: &Path, csv: &Path, org: &str, domain: &str, email: &str) {
    let mut e = Engine::open(db).unwrap();
    let a = e
        .init_org(&InitOrg {
            name: org.into(),
            domain: domain.into(),
            admin_email: email.into(),
            admin_name: None,
            plan: Plan::Supernode,
        })
        .unwrap();
    e.import_csv(
        &a,
        &ImportSpec {
            path: csv.to_path_buf(),
            name: "crm".into(),
            name_column: "name".into(),
            website_column: "website".into(),
        },
        None,
    )
    .unwrap();
    for (name, t, ty) in POPS {
        let filters = match ty {
            Some(ty) => serde_json::json!([{"field": "type", "value": ty}]),
            None => serde_json::json!([]),
        };
        e.create_population(
            &a,
            &NewPopulation {
                name: name.into(),
                pop_type: t,
                data_source: None,
                filters,
                partner: None,
            },
        )
        .unwrap();
    }
    ops::identity(&e).unwrap();
}

fn matrix(db: &Path, email: &str, partner: &str) -> BTreeMap<(String, String), usize> {
    let e = Engine::open(db).unwrap();
    let a = e.actor(Some(email)).unwrap();
    e.overlaps(&a, partner)
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                (c.my_population.name, c.partner_population.name),
                c.overlap_count,
            )
        })
        .collect()
}

fn show_customers_at_overlaps(db: &Path, email: &str, partner: &str) {
    let mut e = Engine::open(db).unwrap();
    let a = e.actor(Some(email)).unwrap();
    let fields = vec!["name".to_string(), "country".to_string()];
    e.set_sharing(
        &a,
        partner,
        "Customers",
        SharingLevel::Overlaps,
        Some(&fields),
    )
    .unwrap();
}

fn rate(f: &dyn Fn() -> usize) -> f64 {
    let t = Instant::now();
    let n = f();
    n as f64 / t.elapsed().as_secs_f64()
}

/// This run's rates on all threads, per second: hash-to-group; multiplication with batched
/// compression; decompression, multiplication and compression.
fn curve_rates() -> (f64, f64, f64) {
    let keys: Vec<(KeyKind, String)> = (0..100_000)
        .map(|i| (KeyKind::Domain, format!("rate{i}.example")))
        .collect();
    let s = psi::random_scalar();
    let h = psi::hash_keys(&keys);
    let pts = psi::mul_points(&h, &s);
    (
        rate(&|| psi::hash_keys(&keys).len()),
        rate(&|| psi::mul_points(&h, &s).len()),
        rate(&|| psi::reblind(&pts, &s).unwrap().len()),
    )
}

/// Profiling only the exchange: `perf record --control fifo:CTL -D -1 …` with
/// PSI_E2E_PERF_CTL=CTL (the fifo) turns sampling on and off around the timed sync.
fn perf_control(cmd: &str) {
    if let Ok(path) = std::env::var("PSI_E2E_PERF_CTL") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        writeln!(f, "{cmd}").unwrap();
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let n: usize = std::env::var("PSI_E2E_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    assert!(n + n / 2 <= SPACE, "at most {} records", SPACE * 2 / 3);
    // The peer endpoint's own schedule stays off: only the timed sync exchanges.
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("PARTNERMAP_FED_SYNC_SECS", "0") };
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = std::env::var("PSI_E2E_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let (a_db, b_db) = (dir.join("alpha.db"), dir.join("beta.db"));
    for db in [&a_db, &b_db] {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
        }
    }
    let (a_csv, b_csv) = (dir.join("alpha.csv"), dir.join("beta.csv"));
    write_csv(&a_csv, 1, 0, n);
    write_csv(&b_csv, 2, n / 2, n); // half of Beta's companies are Alpha's
    let t = Instant::now();
    instance(&a_db, &a_csv, "Alpha", "alpha.com", "ann@alpha.com");
    instance(&b_db, &b_csv, "Beta", "beta.io", "bob@beta.io");
    eprintln!(
        "two instances of {n} records imported, populations built: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Alpha's peer endpoint, on real sockets with mutual TLS.
    {
        let a_db = a_db.clone();
        std::thread::spawn(move || {
            partnermap::federation::serve::run(&a_db, "127.0.0.1:0", None).unwrap()
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while ops::public_url(&Engine::open(&a_db).unwrap())
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the peer endpoint did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = {
        let mut e = Engine::open(&a_db).unwrap();
        let a = e.actor(Some("ann@alpha.com")).unwrap();
        ops::invite_remote(&mut e, &a, chrono::Duration::days(1), None)
            .unwrap()
            .code
    };
    {
        let mut e = Engine::open(&b_db).unwrap();
        let b = e.actor(Some("bob@beta.io")).unwrap();
        ops::accept_code(&mut e, &b, &code).unwrap();
    }
    // One population at `overlaps` (Beta's Customers, for Alpha), or each side's Customers.
    let both_overlaps = std::env::var("PSI_E2E_OVERLAPS").as_deref() == Ok("both");
    show_customers_at_overlaps(&b_db, "bob@beta.io", "Alpha");
    if both_overlaps {
        show_customers_at_overlaps(&a_db, "ann@alpha.com", "Beta");
    }

    let (rate_hash, rate_mul, rate_reblind) = curve_rates();
    let before = psi::curve_ops();
    let load_before = load();
    perf_control("enable");
    let t = Instant::now();
    let outcome = {
        let mut e = Engine::open(&b_db).unwrap();
        let b = e.actor(Some("bob@beta.io")).unwrap();
        ops::sync(&mut e, &b, None).unwrap()
    };
    let secs = t.elapsed().as_secs_f64();
    perf_control("disable");
    let ops = psi::curve_ops() - before;
    assert!(
        outcome.iter().all(|o| o.error.is_none() && o.pending == 0),
        "{outcome:?}"
    );

    // Both sides hold exactly what the data gives.
    let want_a = expected(1, 0, 2, n / 2, n);
    let want_b = expected(2, n / 2, 1, 0, n);
    let got_a = matrix(&a_db, "ann@alpha.com", "Beta");
    let got_b = matrix(&b_db, "bob@beta.io", "Alpha");
    assert_eq!(got_a, want_a, "Alpha's matrix");
    assert_eq!(got_b, want_b, "Beta's matrix");

    let bound = ops.hashes as f64 / rate_hash
        + (ops.mults - ops.decompressions) as f64 / rate_mul
        + ops.decompressions as f64 / rate_reblind;
    let messages: usize = outcome.iter().map(|o| o.sent + o.received).sum();
    println!("threads: {}", rayon::current_num_threads());
    println!(
        "curve rates this run, all threads: hash-to-group {rate_hash:.0} /s, mult + compress {rate_mul:.0} /s, decompress + mult + compress {rate_reblind:.0} /s"
    );
    println!(
        "{n} x {n} records, 4 populations each at counts, {}, counts both directions, two instances over mutual TLS: {secs:.2} s (load before: {load_before}; after: {})",
        if both_overlaps {
            "each side's Customers at overlaps"
        } else {
            "Beta's Customers at overlaps (one population)"
        },
        load()
    );
    println!(
        "  {messages} messages; {} scalar mults, {} keys hashed to the group, {} points decompressed; curve bound {bound:.2} s; ratio {:.2}",
        ops.mults,
        ops.hashes,
        ops.decompressions,
        secs / bound
    );
    let cells: Vec<String> = want_a
        .iter()
        .filter(|((m, t), _)| m == "Customers" || t == "Customers")
        .take(3)
        .map(|((m, t), c)| format!("{m} x {t} = {c}"))
        .collect();
    println!(
        "  both matrices equal the data's (Alpha: {})",
        cells.join(", ")
    );
}
