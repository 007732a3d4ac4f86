//! Partnerships across instances (FEDERATION.md): two real processes, two databases, mutual
//! TLS on 127.0.0.1. Alpha serves (`serve --peer-listen 127.0.0.1:0`); Beta has no reachable
//! address and connects out (`accept CODE`, `sync`). Each result is compared with the same two
//! organizations partnered inside one database.

use crate::common;
use partnermap::Engine;
use partnermap::engine::{InitOrg, ReportQuery};
use partnermap::federation::{identity::InstanceId, net, ops, wire};
use partnermap::model::{Plan, PopulationType, SharingLevel};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Alpha's CRM for the equivalence tests (its Wayne Enterprises GmbH, without a website,
/// meets Beta's wayne.com on name: SPEC §2's cross rule, carried by tagged PSI elements).
pub(crate) const ALPHA_CSV: &str = "core/alpha.csv";
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_partnermap");

pub(crate) fn cli(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--db").arg(db).args(args).stdin(Stdio::null());
    c.env_remove("PARTNERMAP_USER").env_remove("PARTNERMAP_NOW");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run partnermap")
}

pub(crate) fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

pub(crate) fn fails(o: Output) -> String {
    assert!(
        !o.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A `partnermap serve --peer-listen 127.0.0.1:0` process; killed (SIGKILL) on drop.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Served {
    pub(crate) fn start(db: &Path, env: &[(&str, &str)]) -> Served {
        let mut c = Command::new(BIN);
        c.arg("--db")
            .arg(db)
            .args(["serve", "--peer-listen", "127.0.0.1:0"])
            .env("PARTNERMAP_FED_SYNC_SECS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("start serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("serve printed its address")
                .expect("stderr");
            if let Some(rest) = line.split("public URL ").nth(1) {
                break rest.split(',').next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Served { child, url }
    }
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One instance's database with one org and its data.
pub(crate) fn instance(dir: &Path, alpha: bool) -> PathBuf {
    instance_from(dir, alpha, if alpha { ALPHA_CSV } else { "core/beta.csv" })
}

/// [`instance`] with the org's CRM from another file of `tests/data` (same columns).
fn instance_from(dir: &Path, alpha: bool, csv: &str) -> PathBuf {
    let db = dir.join(if alpha { "alpha.db" } else { "beta.db" });
    let mut e = Engine::open(&db).unwrap();
    if alpha {
        let a = e
            .init_org(&InitOrg {
                name: "Alpha".into(),
                domain: "alpha.com".into(),
                admin_email: "ann@alpha.com".into(),
                admin_name: Some("Ann".into()),
                plan: Plan::Connector,
            })
            .unwrap();
        common::import(&mut e, &a, csv, "crm", "Company", "Website");
        common::population(
            &mut e,
            &a,
            "Customers",
            PopulationType::Customers,
            json!([{"field": "type", "op": "eq", "value": "Customer"}]),
        );
        common::population(
            &mut e,
            &a,
            "Prospects",
            PopulationType::Prospects,
            json!({"field": "Type", "op": "eq", "value": "prospect"}),
        );
        common::population(&mut e, &a, "All", PopulationType::Custom, json!([]));
    } else {
        let b = e
            .init_org(&InitOrg {
                name: "Beta".into(),
                domain: "beta.io".into(),
                admin_email: "bob@beta.io".into(),
                admin_name: Some("Bob".into()),
                plan: Plan::Connector,
            })
            .unwrap();
        common::import(&mut e, &b, csv, "list", "name", "website");
        common::population(
            &mut e,
            &b,
            "Customers",
            PopulationType::Customers,
            json!([{"field": "segment", "value": "Customer"}]),
        );
        common::population(
            &mut e,
            &b,
            "Pipeline",
            PopulationType::Prospects,
            json!([{"field": "segment", "value": "Prospect"}]),
        );
    }
    // The instance identity exists before anything is compared.
    ops::identity(&e).unwrap();
    db
}

pub(crate) fn matrix(e: &Engine, email: &str, partner: &str) -> BTreeMap<(String, String), usize> {
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

pub(crate) fn matrix_at(
    db: &Path,
    email: &str,
    partner: &str,
) -> BTreeMap<(String, String), usize> {
    matrix(&Engine::open(db).unwrap(), email, partner)
}

/// A report's rows (sorted JSON), or the refusal's text.
pub(crate) fn rows(
    e: &Engine,
    email: &str,
    partner: &str,
    mine: &str,
    theirs: &str,
) -> Result<Vec<String>, String> {
    let a = e.actor(Some(email)).unwrap();
    let r = e
        .account_mapping_report(
            &a,
            &ReportQuery {
                partner: partner.into(),
                my_population: mine.into(),
                partner_population: theirs.into(),
                limit: Some(500),
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
    let mut v: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            // Our own record's id differs between databases; everything else must not.
            let mine = row.my_record.clone().map(|mut m| {
                m.remove("id");
                m
            });
            serde_json::to_string(
                &json!({"mine": mine, "theirs": row.partner_record, "on": row.matched_on}),
            )
            .unwrap()
        })
        .collect();
    v.sort();
    Ok(v)
}

pub(crate) fn set_sharing(
    db: &Path,
    email: &str,
    partner: &str,
    pop: &str,
    level: SharingLevel,
    fields: &[&str],
) {
    let mut e = Engine::open(db).unwrap();
    let a = e.actor(Some(email)).unwrap();
    let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    e.set_sharing(&a, partner, pop, level, Some(&f)).unwrap();
}

pub(crate) fn set_local(
    n: &mut common::Net,
    beta: bool,
    partner: &str,
    pop: &str,
    level: SharingLevel,
    fields: &[&str],
) {
    let a = if beta {
        n.beta.clone()
    } else {
        n.alpha.clone()
    };
    let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    n.engine
        .set_sharing(&a, partner, pop, level, Some(&f))
        .unwrap();
}

/// Both directions' matrices equal the local partnership's, and the given cells' reports too.
pub(crate) fn assert_equivalent(
    n: &common::Net,
    a_db: &Path,
    b_db: &Path,
    cells: &[(&str, &str, bool)],
) {
    let (ea, eb) = (Engine::open(a_db).unwrap(), Engine::open(b_db).unwrap());
    assert_eq!(
        matrix(&ea, "ann@alpha.com", "Beta"),
        matrix(&n.engine, "ann@alpha.com", "Beta"),
        "Alpha's matrix"
    );
    assert_eq!(
        matrix(&eb, "bob@beta.io", "Alpha"),
        matrix(&n.engine, "bob@beta.io", "Alpha"),
        "Beta's matrix"
    );
    for &(mine, theirs, alpha_views) in cells {
        let (e, email, partner) = if alpha_views {
            (&ea, "ann@alpha.com", "Beta")
        } else {
            (&eb, "bob@beta.io", "Alpha")
        };
        let remote = rows(e, email, partner, mine, theirs);
        let local = rows(&n.engine, email, partner, mine, theirs);
        match (&remote, &local) {
            (Ok(r), Ok(l)) => assert_eq!(r, l, "report {mine} x {theirs}"),
            (Err(r), Err(l)) => assert_eq!(r, l, "refusal {mine} x {theirs}"),
            _ => panic!("report {mine} x {theirs}: remote {remote:?}, local {local:?}"),
        }
    }
}

pub(crate) fn sync(db: &Path, env: &[(&str, &str)]) -> String {
    ok(cli(db, &["sync"], env))
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn invite_accept_sync_levels_revoke_equal_to_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let (a_wire, b_wire) = (dir.path().join("a.wire"), dir.path().join("b.wire"));
    let a_env = [("PARTNERMAP_WIRE_LOG", a_wire.to_str().unwrap())];
    let b_env = [("PARTNERMAP_WIRE_LOG", b_wire.to_str().unwrap())];
    let mut n = common::partnered_from(ALPHA_CSV);
    let _served = Served::start(&a_db, &a_env);

    let code = ok(cli(&a_db, &["invite", "--remote", "--expires", "1d"], &[]));
    let code = code.trim();
    assert!(code.starts_with("pmi1."), "{code}");
    let accepted = ok(cli(&b_db, &["--json", "accept", code], &b_env));
    assert!(accepted.contains("\"active\""), "{accepted}");
    // A population Beta hides from Alpha: its name must never travel.
    {
        let mut e = Engine::open(&b_db).unwrap();
        let b = e.actor(Some("bob@beta.io")).unwrap();
        common::population(
            &mut e,
            &b,
            "Zebracorn Secret Accounts",
            PopulationType::Custom,
            json!([{"field": "owner", "value": "bea"}]),
        );
        e.set_sharing(
            &b,
            "Alpha",
            "Zebracorn Secret Accounts",
            SharingLevel::Hidden,
            None,
        )
        .unwrap();
        let lb = n.beta.clone();
        common::population(
            &mut n.engine,
            &lb,
            "Zebracorn Secret Accounts",
            PopulationType::Custom,
            json!([{"field": "owner", "value": "bea"}]),
        );
        set_local(
            &mut n,
            true,
            "Alpha",
            "Zebracorn Secret Accounts",
            SharingLevel::Hidden,
            &[],
        );
    }
    sync(&b_db, &b_env);

    // counts, both directions
    let counts_cells = [
        ("Customers", "Customers", true),
        ("Customers", "Customers", false),
    ];
    assert_equivalent(&n, &a_db, &b_db, &counts_cells);
    assert!(
        matrix_at(&a_db, "ann@alpha.com", "Beta")
            .values()
            .any(|&c| c > 0),
        "the data overlaps: some cell must count"
    );

    // The wire so far: nothing of either side's records, nor the hidden population's name.
    let bw = read(&b_wire);
    let aw = read(&a_wire);
    assert!(!bw.is_empty() && !aw.is_empty(), "the wire was recorded");
    for t in [
        "Umbrella",
        "umbrella.com",
        "Globex Corporation",
        "globex.co.uk",
        "Initech",
        "Zebracorn",
        "bea",
        "Prospect",
    ] {
        assert!(!sent(&bw, t), "Beta sent '{t}'");
    }
    for t in [
        "Acme Inc",
        "ACME Corporation",
        "Globex Ltd",
        "acme.com",
        "Initech LLC",
        "shop.globex",
    ] {
        assert!(!sent(&aw, t), "Alpha sent '{t}'");
    }

    // overlaps, both directions: entries are sealed; only matched records open.
    set_sharing(
        &b_db,
        "bob@beta.io",
        "Alpha",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "owner"],
    );
    set_sharing(
        &a_db,
        "ann@alpha.com",
        "Beta",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "Country"],
    );
    set_local(
        &mut n,
        true,
        "Alpha",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "owner"],
    );
    set_local(
        &mut n,
        false,
        "Beta",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "Country"],
    );
    sync(&b_db, &b_env);
    let cells = [
        ("Customers", "Customers", true),
        ("Prospects", "Customers", true),
        ("All", "Pipeline", true),
        ("Customers", "Customers", false),
        ("Pipeline", "Customers", false),
    ];
    assert_equivalent(&n, &a_db, &b_db, &cells);
    assert!(
        !rows(
            &Engine::open(&a_db).unwrap(),
            "ann@alpha.com",
            "Beta",
            "Customers",
            "Customers"
        )
        .unwrap()
        .is_empty()
    );
    let bw = read(&b_wire);
    for t in [
        "Umbrella",
        "umbrella.com",
        "Globex Corporation",
        "Zebracorn",
        "bea",
    ] {
        assert!(!sent(&bw, t), "Beta sent '{t}' at overlaps");
    }

    // full, both directions (greenfield included)
    set_sharing(
        &b_db,
        "bob@beta.io",
        "Alpha",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    set_sharing(
        &a_db,
        "ann@alpha.com",
        "Beta",
        "Prospects",
        SharingLevel::Full,
        &["name"],
    );
    set_local(
        &mut n,
        true,
        "Alpha",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    set_local(
        &mut n,
        false,
        "Beta",
        "Prospects",
        SharingLevel::Full,
        &["name"],
    );
    sync(&b_db, &b_env);
    let cells = [
        ("Customers", "Customers", true),
        ("All", "Customers", true),
        ("Customers", "Prospects", false),
        ("Pipeline", "Prospects", false),
        ("Customers", "Customers", false),
    ];
    assert_equivalent(&n, &a_db, &b_db, &cells);
    // What full releases is the listed fields of that population: never the Pipeline's rows.
    let bw = read(&b_wire);
    for t in ["Zebracorn", "Prospect\""] {
        assert!(!sent(&bw, t), "Beta sent '{t}' at full");
    }

    // Down to hidden: the column disappears on the other side.
    set_sharing(
        &b_db,
        "bob@beta.io",
        "Alpha",
        "Customers",
        SharingLevel::Hidden,
        &[],
    );
    set_local(
        &mut n,
        true,
        "Alpha",
        "Customers",
        SharingLevel::Hidden,
        &[],
    );
    sync(&b_db, &b_env);
    assert_equivalent(&n, &a_db, &b_db, &[]);
    assert!(
        !matrix_at(&a_db, "ann@alpha.com", "Beta")
            .keys()
            .any(|(_, t)| t == "Customers")
    );

    // Both sides show the remote partner's sync state.
    let listed = ok(cli(&b_db, &["--json", "partners"], &[]));
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let remote = &v[0]["remote"];
    assert_eq!(remote["pending_messages"], 0, "{listed}");
    assert_eq!(remote["reachable"], true, "{listed}");
    assert!(remote["last_sync"].is_string(), "{listed}");
    let listed = ok(cli(&a_db, &["--json", "partners"], &[]));
    assert!(listed.contains("\"remote\""), "{listed}");

    // A re-import that changes nothing sends nothing.
    {
        let mut e = Engine::open(&b_db).unwrap();
        let b = e.actor(Some("bob@beta.io")).unwrap();
        common::import(&mut e, &b, "core/beta.csv", "list", "name", "website");
    }
    let out = ok(cli(&b_db, &["--json", "sync"], &[]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["sent"], 0, "{out}");
    assert_eq!(v[0]["received"], 0, "{out}");

    // Revocation by Alpha (which cannot reach Beta): queued, collected by Beta's next sync;
    // each side then holds nothing the other released.
    ok(cli(&a_db, &["revoke", "Beta"], &[]));
    sync(&b_db, &b_env);
    let a_dump = Engine::open(&a_db).unwrap().dump().unwrap();
    let b_dump = Engine::open(&b_db).unwrap().dump().unwrap();
    for t in [
        "Umbrella Corp",
        "Globex Corporation",
        "Pied Piper",
        "Stark Industries Inc",
        "Pipeline",
    ] {
        let line = a_dump.lines().find(|l| l.contains(t));
        assert!(line.is_none(), "Alpha still holds '{t}': {line:?}");
    }
    for t in [
        "Globex Ltd",
        "Acme Inc",
        "ACME Corporation",
        "Soylent",
        "Prospects",
    ] {
        let line = b_dump.lines().find(|l| l.contains(t));
        assert!(line.is_none(), "Beta still holds '{t}': {line:?}");
    }
    let e = Engine::open(&b_db).unwrap();
    let b = e.actor(Some("bob@beta.io")).unwrap();
    assert!(
        e.overlaps(&b, "Alpha").is_err(),
        "no overlap data after revocation"
    );

    // Re-invitation with a fresh code: active again, data flows again.
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&b_db, &["accept", code.trim()], &[]));
    sync(&b_db, &[]);
    let mut local = common::partnered_from(ALPHA_CSV);
    set_local(
        &mut local,
        false,
        "Beta",
        "Prospects",
        SharingLevel::Full,
        &["name"],
    );
    // Beta's hidden setting for its Customers and Zebracorn population were kept (settings
    // survive revocation); mirror them locally.
    {
        let lb = local.beta.clone();
        common::population(
            &mut local.engine,
            &lb,
            "Zebracorn Secret Accounts",
            PopulationType::Custom,
            json!([{"field": "owner", "value": "bea"}]),
        );
    }
    set_local(
        &mut local,
        true,
        "Alpha",
        "Zebracorn Secret Accounts",
        SharingLevel::Hidden,
        &[],
    );
    set_local(
        &mut local,
        true,
        "Alpha",
        "Customers",
        SharingLevel::Hidden,
        &[],
    );
    set_local(
        &mut local,
        false,
        "Beta",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "Country"],
    );
    assert_equivalent(&local, &a_db, &b_db, &[]);
}

#[test]
fn wrong_reused_and_expired_codes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let _served = Served::start(&a_db, &[]);
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    let code = code.trim().to_string();
    let dumps = || {
        (
            Engine::open(&a_db).unwrap().dump().unwrap(),
            Engine::open(&b_db).unwrap().dump().unwrap(),
        )
    };

    // wrong: the same code with another secret
    let mut c = wire::InviteCode::decode(&code).unwrap();
    c.secret.0[0] ^= 1;
    let before = dumps();
    let err = fails(cli(&b_db, &["accept", &c.encode()], &[]));
    assert!(err.contains("not valid"), "{err}");
    assert_eq!(dumps(), before, "a wrong code changed something");
    // damaged
    let err = fails(cli(&b_db, &["accept", "pmi1.garbage"], &[]));
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(dumps(), before);

    // expired, checked by the invitee and by the inviter
    let old = ok(cli(
        &a_db,
        &["invite", "--remote", "--expires", "1d"],
        &[("PARTNERMAP_NOW", "2020-01-01")],
    ));
    let before = dumps();
    let err = fails(cli(&b_db, &["accept", old.trim()], &[]));
    assert!(err.contains("expired"), "{err}");
    let err = fails(cli(
        &b_db,
        &["accept", old.trim()],
        &[("PARTNERMAP_NOW", "2020-01-01")],
    ));
    assert!(err.contains("expired"), "{err}");
    assert_eq!(dumps(), before, "an expired code changed something");

    // used once, then refused to a third instance
    ok(cli(&b_db, &["accept", &code], &[]));
    let c_dir = tempfile::tempdir().unwrap();
    let c_db = c_dir.path().join("c.db");
    ok(cli(
        &c_db,
        &[
            "init",
            "--org",
            "Gamma",
            "--domain",
            "gamma.dev",
            "--admin",
            "g@gamma.dev",
        ],
        &[],
    ));
    let before = dumps();
    let err = fails(cli(&c_db, &["accept", &code], &[]));
    assert!(err.contains("already used"), "{err}");
    assert_eq!(dumps(), before, "a reused code changed something");
    assert!(
        !Engine::open(&c_db)
            .unwrap()
            .dump()
            .unwrap()
            .contains("Alpha")
    );

    // declined: the inviter's code is spent
    let code2 = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&c_db, &["decline", code2.trim()], &[]));
    let err = fails(cli(&c_db, &["accept", code2.trim()], &[]));
    assert!(err.contains("declined"), "{err}");
}

/// The number of the last partner message this instance (with one link) has applied.
pub(crate) fn in_seq(db: &Path) -> i64 {
    Engine::open(db)
        .unwrap()
        .conn()
        .query_row("SELECT in_seq FROM fed_links", [], |r| r.get(0))
        .unwrap()
}

/// Waits (up to a minute) until the instance at `db` has applied a message past `before`.
pub(crate) fn wait_for_in_seq_past(db: &Path, before: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while in_seq(db) == before {
        assert!(
            Instant::now() < deadline,
            "Alpha never processed Beta's messages"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the recorded wire carries the canary `t`. A short canary ("bea") also occurs by
/// chance inside long base64 blobs (points, sealed entries), so it counts only as a token of
/// its own: not inside a run of base64 characters.
fn sent(wire: &str, t: &str) -> bool {
    if t.len() >= 8 {
        return wire.contains(t);
    }
    let b64 = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c));
    wire.match_indices(t).any(|(i, _)| {
        !b64(wire[..i].chars().next_back()) && !b64(wire[i + t.len()..].chars().next())
    })
}

#[test]
fn a_third_instance_gets_the_answer_of_an_unknown_partnership() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let served = Served::start(&a_db, &[]);
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&b_db, &["accept", code.trim()], &[]));
    let a_id = ops::identity(&Engine::open(&a_db).unwrap()).unwrap();
    let link: i64 = Engine::open(&a_db)
        .unwrap()
        .conn()
        .query_row("SELECT id FROM fed_links", [], |r| r.get(0))
        .unwrap();
    let c_dir = tempfile::tempdir().unwrap();
    let c = Engine::open(&c_dir.path().join("c.db")).unwrap();
    let c_id = ops::identity(&c).unwrap();
    let b_id = ops::identity(&Engine::open(&b_db).unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ask = |me: &partnermap::federation::identity::Identity, link: i64| {
        let body = serde_json::to_vec(&wire::Exchange {
            protocol: wire::PROTOCOL,
            link,
            ack: 0,
            messages: vec![],
        })
        .unwrap();
        match rt.block_on(net::post(me, a_id.id, &served.url, "/v1/exchange", body)) {
            Err(net::PostError::Status(s, b)) => (s, b),
            other => panic!(
                "expected a refusal, got {:?}",
                other.map(|b| String::from_utf8_lossy(&b).to_string())
            ),
        }
    };
    let third_on_real_link = ask(&c_id, link);
    let third_on_no_link = ask(&c_id, 9999);
    let partner_on_no_link = ask(&b_id, 9999);
    assert_eq!(third_on_real_link, third_on_no_link);
    assert_eq!(third_on_real_link, partner_on_no_link);
    assert!(third_on_real_link.1.contains(net::UNKNOWN));
    // The pinned partner itself is served.
    let body = serde_json::to_vec(&wire::Exchange {
        protocol: wire::PROTOCOL,
        link,
        ack: 0,
        messages: vec![],
    })
    .unwrap();
    assert!(
        rt.block_on(net::post(&b_id, a_id.id, &served.url, "/v1/exchange", body))
            .is_ok()
    );
    // The pinned partner on another protocol version is told so in a sentence (a third
    // instance still gets the answer of an unknown partnership), and nothing is applied.
    let old = |me: &partnermap::federation::identity::Identity| {
        let body = serde_json::json!({"protocol": 1, "link": link, "ack": 0, "messages": [
            {"seq": 1, "msg": {"type": "revoke"}}
        ]});
        match rt.block_on(net::post(
            me,
            a_id.id,
            &served.url,
            "/v1/exchange",
            serde_json::to_vec(&body).unwrap(),
        )) {
            Err(net::PostError::Status(s, b)) => (s, b),
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
    };
    let (status, says) = old(&b_id);
    assert_eq!(status, 409, "{says}");
    assert!(
        says.contains("protocol 1") && says.contains("update partnermap"),
        "{says}"
    );
    assert_eq!(old(&c_id), third_on_real_link);
    let active: String = Engine::open(&a_db)
        .unwrap()
        .conn()
        .query_row("SELECT status FROM partnerships", [], |r| r.get(0))
        .unwrap();
    assert_eq!(active, "active", "the old-protocol revoke was not applied");
    // A client that pins another ID never talks to Alpha.
    let body = serde_json::to_vec(&wire::Exchange {
        protocol: wire::PROTOCOL,
        link,
        ack: 0,
        messages: vec![],
    })
    .unwrap();
    let wrong = InstanceId([7; 32]);
    assert!(matches!(
        rt.block_on(net::post(&b_id, wrong, &served.url, "/v1/exchange", body)),
        Err(net::PostError::Unreachable(_))
    ));
}

#[test]
fn killed_mid_exchange_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let mut n = common::partnered_from(ALPHA_CSV);
    let mut served = Served::start(&a_db, &[]);
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&b_db, &["accept", code.trim()], &[]));
    sync(&b_db, &[]);
    assert_equivalent(&n, &a_db, &b_db, &[]);

    // Beta changes a level; Alpha is killed after it committed Beta's messages and before it
    // answered (the hold is a test mode of the endpoint).
    set_sharing(
        &b_db,
        "bob@beta.io",
        "Alpha",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    set_local(
        &mut n,
        true,
        "Alpha",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    served.kill();
    let url = served.url.clone();
    let port = url.rsplit(':').next().unwrap().to_string();
    let listen = format!("127.0.0.1:{port}");
    let start_on_port = |env: &[(&str, &str)]| {
        let mut c = Command::new(BIN);
        c.arg("--db")
            .arg(&a_db)
            .args(["serve", "--peer-listen", &listen])
            .env("PARTNERMAP_FED_SYNC_SECS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let mut held = start_on_port(&[("PARTNERMAP_FED_TEST_HOLD_MS", "60000")]);
    let before = in_seq(&a_db);
    let b_sync = Command::new(BIN)
        .arg("--db")
        .arg(&b_db)
        .arg("sync")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_in_seq_past(&a_db, before);
    held.kill().unwrap(); // SIGKILL
    held.wait().unwrap();
    let out = b_sync.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not reached"), "{text}");
    let pending: i64 = Engine::open(&b_db)
        .unwrap()
        .conn()
        .query_row("SELECT count(*) FROM fed_outbox", [], |r| r.get(0))
        .unwrap();
    assert!(pending > 0, "unacknowledged messages stay queued");
    let listed = ok(cli(&b_db, &["--json", "partners"], &[]));
    assert!(listed.contains("\"reachable\": false"), "{listed}");

    // Restarted: Beta retries; Alpha skips what it already applied.
    let mut again = start_on_port(&[]);
    std::thread::sleep(Duration::from_millis(300));
    let mut tries = 0;
    loop {
        let out = sync(&b_db, &[]);
        if out.contains("in sync") || tries > 20 {
            break;
        }
        tries += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    sync(&b_db, &[]);
    assert_equivalent(
        &n,
        &a_db,
        &b_db,
        &[("Customers", "Customers", true), ("All", "Customers", true)],
    );
    let a = Engine::open(&a_db).unwrap();
    let beta_records: i64 = a
        .conn()
        .query_row(
            "SELECT count(*) FROM records WHERE org_id = (SELECT remote_org FROM fed_links)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(beta_records, 7, "Beta's seven Customers, once each");
    let (b_out, a_in): (i64, i64) = (
        Engine::open(&b_db)
            .unwrap()
            .conn()
            .query_row("SELECT out_seq FROM fed_links", [], |r| r.get(0))
            .unwrap(),
        in_seq(&a_db),
    );
    assert_eq!(
        a_in, b_out,
        "Alpha processed every message Beta numbered, once"
    );
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn evaluations_past_the_cap_are_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let _served = Served::start(&a_db, &[("PARTNERMAP_FED_EVAL_CAP", "1")]);
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&b_db, &["accept", code.trim()], &[]));
    set_sharing(
        &a_db,
        "ann@alpha.com",
        "Beta",
        "Customers",
        SharingLevel::Overlaps,
        &["name"],
    );
    sync(&b_db, &[]);
    let a_dump = Engine::open(&a_db).unwrap().dump().unwrap();
    assert!(
        a_dump.contains("federation_eval_refused"),
        "the owner logs the refusal"
    );
    let e = Engine::open(&b_db).unwrap();
    assert!(
        e.dump()
            .unwrap()
            .contains("federation_eval_refused_by_partner")
    );
    let r = rows(&e, "bob@beta.io", "Alpha", "Customers", "Customers").unwrap();
    assert!(r.is_empty(), "no entry opened past the cap: {r:?}");
}

/// SPEC §2's cross rule across instances, on data made for it (tests/data/cross): a name
/// meeting a name with a domain on the viewer's side only, on the owner's side only, on
/// neither; names ambiguous on either side in some populations and not in others; duplicates
/// on the owner's side (which partner record a match reports); domains the viewer does not
/// hold. Every cell of both matrices and every report, both directions, at every level, equal
/// the same two organizations in one database.
#[test]
fn the_cross_rule_across_instances_equals_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance_from(dir.path(), true, "cross/alpha.csv");
    let b_db = instance_from(dir.path(), false, "cross/beta.csv");
    let mut n = common::partnered_from_both("cross/alpha.csv", "cross/beta.csv");
    // Beta's populations overlap too: a name can be ambiguous in one and not in another of
    // the populations a record belongs to.
    {
        let mut e = Engine::open(&b_db).unwrap();
        let b = e.actor(Some("bob@beta.io")).unwrap();
        common::population(&mut e, &b, "Everyone", PopulationType::Custom, json!([]));
        let lb = n.beta.clone();
        common::population(
            &mut n.engine,
            &lb,
            "Everyone",
            PopulationType::Custom,
            json!([]),
        );
    }
    let _served = Served::start(&a_db, &[]);
    let code = ok(cli(&a_db, &["invite", "--remote"], &[]));
    ok(cli(&b_db, &["accept", code.trim()], &[]));
    sync(&b_db, &[]);
    let mut cells: Vec<(&str, &str, bool)> = Vec::new();
    for mine in ["Customers", "Prospects", "All"] {
        for theirs in ["Customers", "Pipeline", "Everyone"] {
            cells.push((mine, theirs, true));
            cells.push((theirs, mine, false));
        }
    }
    // counts everywhere (PSI cardinality)
    assert_equivalent(&n, &a_db, &b_db, &cells);
    let local = matrix(&n.engine, "ann@alpha.com", "Beta");
    assert_eq!(
        local[&("Customers".to_string(), "Customers".to_string())],
        7,
        "Nakatomi, Cyberdyne, Tyrell, Initrode, Oscorp, Gringotts, Stark: {local:?}"
    );
    assert_eq!(
        local[&("All".to_string(), "Customers".to_string())],
        6,
        "Cyberdyne is ambiguous in Alpha's All: {local:?}"
    );
    // A name ambiguous in one of Beta's populations and not in another: Soylent Green.
    let remote = matrix_at(&a_db, "ann@alpha.com", "Beta");
    assert_eq!(
        (
            remote[&("Prospects".to_string(), "Pipeline".to_string())],
            remote[&("Prospects".to_string(), "Everyone".to_string())],
        ),
        (3, 3),
        "Pipeline: Soylent Green, Globo Gym LLC, Umbrella; Everyone: Cyberdyne LLC, Globo Gym \
         LLC, Umbrella (Soylent Green is ambiguous there): {remote:?}"
    );
    let (a_levels, b_levels) = (
        [
            ("Customers", ["name", "Country"].as_slice()),
            ("Prospects", ["name"].as_slice()),
            ("All", ["name", "Type"].as_slice()),
        ],
        [
            ("Customers", ["name", "owner"].as_slice()),
            ("Pipeline", ["name", "owner"].as_slice()),
            ("Everyone", ["name", "owner"].as_slice()),
        ],
    );
    // overlaps everywhere; then full on some populations (rows and opened entries mixed);
    // then full everywhere.
    let steps: [(&[SharingLevel], &[SharingLevel]); 3] = [
        (
            &[
                SharingLevel::Overlaps,
                SharingLevel::Overlaps,
                SharingLevel::Overlaps,
            ],
            &[
                SharingLevel::Overlaps,
                SharingLevel::Overlaps,
                SharingLevel::Overlaps,
            ],
        ),
        (
            &[
                SharingLevel::Overlaps,
                SharingLevel::Full,
                SharingLevel::Overlaps,
            ],
            &[
                SharingLevel::Full,
                SharingLevel::Overlaps,
                SharingLevel::Overlaps,
            ],
        ),
        (
            &[SharingLevel::Full, SharingLevel::Full, SharingLevel::Full],
            &[SharingLevel::Full, SharingLevel::Full, SharingLevel::Full],
        ),
    ];
    for (a_step, b_step) in steps {
        for ((pop, fields), level) in a_levels.iter().zip(a_step) {
            set_sharing(&a_db, "ann@alpha.com", "Beta", pop, *level, fields);
            set_local(&mut n, false, "Beta", pop, *level, fields);
        }
        for ((pop, fields), level) in b_levels.iter().zip(b_step) {
            set_sharing(&b_db, "bob@beta.io", "Alpha", pop, *level, fields);
            set_local(&mut n, true, "Alpha", pop, *level, fields);
        }
        sync(&b_db, &[]);
        assert_equivalent(&n, &a_db, &b_db, &cells);
    }
    // The rows say why: a record without a website met one with a website on name.
    let r = rows(
        &Engine::open(&a_db).unwrap(),
        "ann@alpha.com",
        "Beta",
        "Customers",
        "Customers",
    )
    .unwrap();
    assert!(
        r.iter()
            .any(|row| row.contains("name tyrell (no website on one side)")
                && row.contains("\"bob\"")),
        "{r:?}"
    );
}
