//! CRM sync at scale (issue 15): a fake HubSpot on 127.0.0.1 (tests/crm_fake) holding 100,000
//! companies and 300,000 deals; `partnermap crm sync` runs as a child process (the fake's own
//! memory is not counted) — wall time, requests made, the child's peak RSS — then again after
//! 1 % of the companies and deals changed (incremental: search + associations batch reads).
//!
//! Run: `cargo bench --bench crm_sync` (BENCH_COMPANIES, BENCH_DEALS_PER_COMPANY to change
//! the size; BENCH_CHANGED_PCT for the re-sync).

#[path = "../tests/crm_fake/mod.rs"]
mod crm_fake;

use crm_fake::{FakeHubspot, HsObject, Server, iso};
use serde_json::{Map, Value, json};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Instant;

const TOKEN: &str = "pat-bench";
const T0: i64 = 1_767_225_600_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak RSS of finished children, in MiB (getrusage RUSAGE_CHILDREN: the largest child).
fn children_peak_mib() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn company(i: usize, modified: i64) -> HsObject {
    let mut p = Map::new();
    p.insert("name".into(), json!(format!("Company {i}")));
    p.insert("domain".into(), json!(format!("company{i}.com")));
    p.insert(
        "lifecyclestage".into(),
        json!(["customer", "lead", "opportunity"][i % 3]),
    );
    p.insert("hubspot_owner_id".into(), json!(["101", "102"][i % 2]));
    p.insert(
        "industry".into(),
        json!(["Software", "Retail", "Finance"][i % 3]),
    );
    p.insert("country".into(), json!(["US", "DE", "GB", "FR"][i % 4]));
    p.insert(
        "numberofemployees".into(),
        json!(((i * 7) % 5000 + 1).to_string()),
    );
    HsObject {
        id: (1_000_000 + i).to_string(),
        props: p,
        modified,
        companies: vec![],
    }
}

fn deal(j: usize, company: usize, modified: i64) -> HsObject {
    let mut p = Map::new();
    let created = T0 - 400 * 86_400_000 + (j as i64 % 380) * 86_400_000;
    p.insert("dealname".into(), json!(format!("Deal {j}")));
    p.insert("pipeline".into(), json!("default"));
    p.insert(
        "dealstage".into(),
        json!(
            [
                "appointmentscheduled",
                "contractsent",
                "closedwon",
                "closedlost"
            ][j % 4]
        ),
    );
    p.insert(
        "amount".into(),
        json!(((j * 37) % 90_000 + 500).to_string()),
    );
    p.insert(
        "deal_currency_code".into(),
        json!(["USD", "EUR", "GBP"][j % 3]),
    );
    p.insert("createdate".into(), json!(iso(created)));
    p.insert(
        "closedate".into(),
        json!(iso(created + (j as i64 % 90 + 5) * 86_400_000)),
    );
    HsObject {
        id: (50_000_000 + j).to_string(),
        props: p,
        modified,
        companies: vec![(1_000_000 + company).to_string()],
    }
}

fn run(db: &std::path::Path, server: &Server, args: &[&str]) -> (f64, Value) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_partnermap"))
        .args(args)
        .env("PARTNERMAP_DB", db)
        .env("PARTNERMAP_HUBSPOT_API", &server.base)
        .env("PARTNERMAP_HUBSPOT_TOKEN", TOKEN)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        secs,
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

fn main() {
    let n = env("BENCH_COMPANIES", 100_000);
    let per = env("BENCH_DEALS_PER_COMPANY", 3);
    let pct = env("BENCH_CHANGED_PCT", 1);
    let fake = FakeHubspot::new(TOKEN);
    {
        let mut d = fake.data.lock().unwrap();
        d.owners = vec![
            ("101".into(), "Ann".into(), "Lee".into()),
            ("102".into(), "Bo".into(), "Chen".into()),
        ];
        d.companies = (0..n).map(|i| company(i, T0 + i as i64)).collect();
        d.deals = (0..n * per)
            .map(|j| deal(j, j / per, T0 + j as i64))
            .collect();
    }
    let server = Server::start(fake.clone());
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("crm.db");
    run(
        &db,
        &server,
        &[
            "init",
            "--org",
            "Bench",
            "--domain",
            "bench.io",
            "--admin",
            "a@bench.io",
            "--plan",
            "enterprise",
        ],
    );
    run(&db, &server, &["connect", "hubspot"]);
    let r0 = server.requests.load(Ordering::Relaxed);
    let (full_s, full) = run(&db, &server, &["--json", "crm", "sync"]);
    let full_req = server.requests.load(Ordering::Relaxed) - r0;
    let full_rss = children_peak_mib();
    println!(
        "full sync: {} companies, {} deals: {full_s:.1} s, {full_req} requests, peak RSS {full_rss:.0} MiB (accounts {}, deals {})",
        n,
        n * per,
        full["accounts"],
        full["opportunities"]
    );

    // pct % of companies and of deals changed.
    let later = T0 + 86_400_000;
    {
        let mut d = fake.data.lock().unwrap();
        let step = 100 / pct.max(1);
        for (k, c) in d
            .companies
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| k % step == 0)
        {
            c.props.insert("industry".into(), json!("Changed"));
            c.modified = later + k as i64;
        }
        for (k, x) in d
            .deals
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| k % step == 0)
        {
            x.props.insert("dealstage".into(), json!("closedwon"));
            x.modified = later + k as i64;
        }
    }
    let r1 = server.requests.load(Ordering::Relaxed);
    let (inc_s, inc) = run(&db, &server, &["--json", "crm", "sync"]);
    let inc_req = server.requests.load(Ordering::Relaxed) - r1;
    println!(
        "incremental re-sync after {pct} % changed: {inc_s:.1} s, {inc_req} requests (accounts ~{}, deals ~{}), peak RSS of any child so far {:.0} MiB",
        inc["accounts_updated"],
        inc["deals_updated"],
        children_peak_mib()
    );
    let db_mib = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    println!("database: {db_mib:.0} MiB");
}
