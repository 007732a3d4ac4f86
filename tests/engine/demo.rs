//! `partnermap demo` (issue 6): the promised spread at the default size, reproducibility, the
//! refusal to touch a database that holds orgs, and the CLI summary.

use chrono::NaiveDate;
use partnermap::Engine;
use partnermap::demo::{self, Options, Summary};
use partnermap::model::{PartnershipStatus, RequestDirection, Role, ShareRequestStatus};
use partnermap::scoring::Label;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_partnermap");

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn opts(seed: u64, scale: f64) -> Options {
    Options {
        seed,
        scale,
        today: Some(day()),
        progress: false,
    }
}

/// The database as text, with the (random) directory the files were imported from set aside.
fn dump(db: &Path, s: &Summary) -> String {
    let e = Engine::open(db).unwrap();
    e.dump()
        .unwrap()
        .replace(&s.import_dir.display().to_string(), "<import dir>")
}

#[test]
fn default_demo_has_the_promised_spread_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo.db");
    let s = demo::build(&db, &opts(demo::DEFAULT_SEED, 1.0)).unwrap();

    let mut e = Engine::open(&db).unwrap();
    e.set_now(day().and_hms_opt(12, 0, 0).unwrap().and_utc());
    // The acting user is the database's default user: a partner manager of a supernode org.
    let me = e.actor(None).unwrap();
    assert_eq!(me.user.email, s.acting_user.email);
    assert_eq!(me.user.role, Role::PartnerManager);
    assert_eq!(me.org.name, "Lumora Analytics");
    assert_eq!(me.org.plan.as_str(), "supernode");
    assert_eq!(e.users(&me).unwrap().len(), 3);

    // 20+ partners, online and offline, in every partnership state.
    let partners = e.list_partners(&me, None).unwrap();
    assert!(partners.len() >= 20, "{} partners", partners.len());
    let offline = partners.iter().filter(|p| p.offline).count();
    assert!(offline >= 2, "{offline} offline partners");
    let states: BTreeSet<_> = partners.iter().map(|p| p.status).collect();
    for st in [
        PartnershipStatus::Active,
        PartnershipStatus::Invited,
        PartnershipStatus::Declined,
        PartnershipStatus::Revoked,
    ] {
        assert!(states.contains(&st), "no {st} partnership: {states:?}");
    }
    let directions: BTreeSet<_> = partners.iter().filter_map(|p| p.direction).collect();
    assert_eq!(
        directions,
        BTreeSet::from(["incoming", "outgoing"]),
        "invitations both ways"
    );

    // Every Partner Score label, each for the reasons the demo means.
    let scores = e.scores(&me, Some(day())).unwrap();
    let labels: BTreeSet<_> = scores.iter().map(|s| s.label).collect();
    for l in [
        Label::High,
        Label::Medium,
        Label::Low,
        Label::None,
        Label::Unknown,
    ] {
        assert!(labels.contains(&l), "no {l:?} partner: {labels:?}");
    }
    let reasons: BTreeSet<&str> = scores
        .iter()
        .flat_map(|s| s.reasons.iter().map(|r| r.code))
        .collect();
    for code in [
        "too_few_won_deals",
        "partner_no_customers",
        "partner_not_sharing_customers",
        "partnership_not_active",
    ] {
        assert!(
            reasons.contains(code),
            "no partner with {code}: {reasons:?}"
        );
    }
    // Offline partners take part in the score.
    assert!(
        scores
            .iter()
            .any(|s| s.offline && s.label != Label::Unknown)
    );
    // The labels the summary reports are the engine's.
    let high = scores.iter().filter(|s| s.label == Label::High).count();
    assert_eq!(s.labels.get("High").copied().unwrap_or(0), high);

    // Thousands of accounts, two years of deals in several currencies.
    assert!(s.accounts >= 2000, "{} accounts", s.accounts);
    assert!(s.records_total >= 10_000, "{} records", s.records_total);
    let currencies: Vec<String> = e
        .conn()
        .prepare("SELECT DISTINCT currency FROM opportunities WHERE org_id = ?1 ORDER BY 1")
        .unwrap()
        .query_map([me.org.id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in ["USD", "EUR", "GBP", "JPY"] {
        assert!(
            currencies.iter().any(|x| x == c),
            "no {c} deals: {currencies:?}"
        );
    }
    let (first, last): (String, String) = e
        .conn()
        .query_row(
            "SELECT min(open_date), max(close_date) FROM opportunities WHERE org_id = ?1 AND is_closed = 1",
            [me.org.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(first.as_str() < "2025-01-01", "deals start {first}");
    assert!(last.as_str() <= "2026-11-20", "closed deals end {last}");

    // Share requests pending both ways; threads with messages from both sides.
    for d in [RequestDirection::Incoming, RequestDirection::Outgoing] {
        let pending = e
            .list_share_requests(&me, Some(d), Some(ShareRequestStatus::Pending))
            .unwrap();
        assert!(!pending.is_empty(), "no pending {d} share request");
    }
    let threads = e.list_threads(&me, None).unwrap();
    assert!(threads.len() >= 3, "{} threads", threads.len());
    assert!(threads.iter().any(|t| !t.opened_by_you));
    assert!(threads.iter().all(|t| t.messages.len() >= 2));
    assert!(threads.iter().any(|t| {
        t.messages.iter().any(|m| m.author.org == me.org.name)
            && t.messages.iter().any(|m| m.author.org != me.org.name)
    }));

    // Every write went through the engine: audited.
    let audited: i64 = e
        .conn()
        .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
        .unwrap();
    assert!(audited > 200, "{audited} audit events");

    // The summary names the user, the database and five questions.
    assert_eq!(s.questions.len(), 5);
    assert!(s.connect.iter().any(|c| c.contains("partnermap mcp")));
    assert!(s.db.ends_with("demo.db"));
    assert!(!s.import_dir.exists(), "the generated files are cleaned up");

    // The same seed on the same day: the same database, row for row.
    drop(e);
    let db2 = tmp.path().join("again.db");
    let s2 = demo::build(&db2, &opts(demo::DEFAULT_SEED, 1.0)).unwrap();
    let (a, b) = (dump(&db, &s), dump(&db2, &s2));
    assert!(a == b, "the same seed gave different databases");
}

#[test]
fn seeds_differ_and_a_database_with_orgs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db1 = tmp.path().join("s1.db");
    let db2 = tmp.path().join("s2.db");
    let s1 = demo::build(&db1, &opts(7, 0.15)).unwrap();
    let s2 = demo::build(&db2, &opts(8, 0.15)).unwrap();
    assert_ne!(dump(&db1, &s1), dump(&db2, &s2));

    // Into a database that holds orgs: refused, with the way out, and nothing changed.
    let before = dump(&db1, &s1);
    let err = demo::build(&db1, &opts(7, 0.15)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("already holds") && msg.contains("--db"),
        "{msg}"
    );
    assert_eq!(dump(&db1, &s1), before);

    // A database opened before (so with a random fingerprint seed) but still empty is fine.
    let db3 = tmp.path().join("s3.db");
    drop(Engine::open(&db3).unwrap());
    let s3 = demo::build(&db3, &opts(7, 0.15)).unwrap();
    assert_eq!(dump(&db3, &s3), dump(&db1, &s1));
}

#[test]
fn cli_demo_prints_the_summary_and_sets_the_default_user() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cli.db");
    let out = Command::new(BIN)
        .args([
            "demo",
            "--scale",
            "0.15",
            "--seed",
            "3",
            "--as-of",
            "2026-11-20",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("jordan.rivera@lumora.io"), "{text}");
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("Who are my top partners?"), "{text}");
    assert!(text.contains("partnermap mcp"), "{text}");
    // No progress bar when stderr is not a terminal.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let who = Command::new(BIN)
        .args(["whoami", "--json", "--db"])
        .arg(&db)
        .env_remove("PARTNERMAP_USER")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(v["user"]["email"], "jordan.rivera@lumora.io");

    // Again into the same database: a clear error, exit code 1.
    let again = Command::new(BIN)
        .args(["demo", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds") && err.contains("--db"),
        "{err}"
    );

    // --json: the summary as JSON.
    let db2 = tmp.path().join("cli2.db");
    let out = Command::new(BIN)
        .args(["demo", "--json", "--scale", "0.15", "--db"])
        .arg(&db2)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["acting_user"]["email"], "jordan.rivera@lumora.io");
    assert_eq!(v["questions"].as_array().unwrap().len(), 5);
    assert!(v["partners"].as_array().unwrap().len() >= 20);
}
