//! CRM connectors against fake HubSpot and Salesforce servers on 127.0.0.1 (tests/crm_fake,
//! whose header cites the vendor documentation each answer's shape comes from).

use crate::crm_fake;
use crate::mcp_common;
use chrono::NaiveDate;
use crm_fake::{FakeHubspot, FakeSalesforce, Fault, HsObject, Server, iso, sf_stamp};
use partnermap::Engine;
use partnermap::connectors::http::RetryPolicy;
use partnermap::connectors::sync::{self, SyncOptions};
use partnermap::engine::{CrmKind, ImportSpec, InitOrg, NewCrmConnection, NewPopulation};
use partnermap::model::{Actor, Plan, PopulationType};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

// ------------------------------------------------------------------ a CRM's contents

struct Co {
    id: String,
    name: String,
    domain: String,
    lifecycle: &'static str,
    owner: usize,
    industry: &'static str,
    country: &'static str,
    employees: u32,
}

struct Dl {
    id: String,
    company: Option<String>,
    name: String,
    stage: usize,
    amount: String,
    currency: &'static str,
    created: NaiveDate,
    closed: NaiveDate,
}

const OWNERS: &[(&str, &str, &str)] = &[
    ("101", "Ann", "Lee"),
    ("102", "Bo", "Chen"),
    ("103", "Cy", "Diaz"),
];
/// (stage id, label, closed, won)
const STAGES: &[(&str, &str, bool, bool)] = &[
    (
        "appointmentscheduled",
        "Appointment Scheduled",
        false,
        false,
    ),
    ("contractsent", "Contract Sent", false, false),
    ("closedwon", "Closed Won", true, true),
    ("closedlost", "Closed Lost", true, false),
];

struct Crm {
    companies: Vec<Co>,
    deals: Vec<Dl>,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A deterministic CRM: `n` companies, 3 deals per company (spread over stages, currencies
/// and the last year), one deal without a company and one in a currency without a rate.
fn crm(n: usize) -> Crm {
    let lifecycles = [
        "customer",
        "lead",
        "opportunity",
        "customer",
        "salesqualifiedlead",
    ];
    let industries = ["Software", "Retail", "Finance"];
    let countries = ["US", "DE", "GB", "FR"];
    let mut companies = Vec::new();
    let mut deals = Vec::new();
    for i in 0..n {
        let id = format!("{}", 5000 + i);
        companies.push(Co {
            id: id.clone(),
            name: format!("Company {i}"),
            domain: format!("company{i}.com"),
            lifecycle: lifecycles[i % lifecycles.len()],
            owner: i % OWNERS.len(),
            industry: industries[i % industries.len()],
            country: countries[i % countries.len()],
            employees: 10 + (i as u32 * 7) % 900,
        });
        for k in 0..3 {
            let j = i * 3 + k;
            let created = day(2025, 7, 1) + chrono::Duration::days((j % 200) as i64);
            deals.push(Dl {
                id: format!("{}", 90000 + j),
                company: Some(id.clone()),
                name: format!("Deal {j}"),
                stage: (j * 7 + i) % STAGES.len(),
                amount: format!("{}", 1000 + (j * 37) % 9000),
                currency: ["USD", "EUR", "GBP", ""][j % 4],
                created,
                closed: created + chrono::Duration::days(10 + (j % 60) as i64),
            });
        }
    }
    deals.push(Dl {
        id: "99990".into(),
        company: None,
        name: "Orphan deal".into(),
        stage: 2,
        amount: "500".into(),
        currency: "USD",
        created: day(2025, 8, 1),
        closed: day(2025, 9, 1),
    });
    deals.push(Dl {
        id: "99991".into(),
        company: Some(companies[0].id.clone()),
        name: "Deal in a currency without a rate".into(),
        stage: 2,
        amount: "700".into(),
        currency: "XAU",
        created: day(2025, 8, 1),
        closed: day(2025, 9, 1),
    });
    Crm { companies, deals }
}

fn ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(9, 30, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn hs_company(c: &Co, modified: i64) -> HsObject {
    let mut p = Map::new();
    p.insert("name".into(), json!(c.name));
    p.insert("domain".into(), json!(c.domain));
    p.insert("lifecyclestage".into(), json!(c.lifecycle));
    p.insert("hubspot_owner_id".into(), json!(OWNERS[c.owner].0));
    p.insert("industry".into(), json!(c.industry));
    p.insert("country".into(), json!(c.country));
    p.insert("numberofemployees".into(), json!(c.employees.to_string()));
    p.insert(
        "partner_tier".into(),
        json!(if c.employees > 500 { "gold" } else { "silver" }),
    );
    HsObject {
        id: c.id.clone(),
        props: p,
        modified,
        companies: vec![],
    }
}

fn hs_deal(d: &Dl, modified: i64) -> HsObject {
    let mut p = Map::new();
    p.insert("dealname".into(), json!(d.name));
    p.insert("pipeline".into(), json!("default"));
    p.insert("dealstage".into(), json!(STAGES[d.stage].0));
    p.insert("amount".into(), json!(d.amount));
    p.insert(
        "deal_currency_code".into(),
        if d.currency.is_empty() {
            Value::Null
        } else {
            json!(d.currency)
        },
    );
    p.insert("createdate".into(), json!(iso(ms(d.created))));
    p.insert("closedate".into(), json!(iso(ms(d.closed))));
    HsObject {
        id: d.id.clone(),
        props: p,
        modified,
        companies: d.company.iter().cloned().collect(),
    }
}

fn load_hubspot(fake: &FakeHubspot, c: &Crm) {
    let mut d = fake.data.lock().unwrap();
    d.owners = OWNERS
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    d.companies = c
        .companies
        .iter()
        .enumerate()
        .map(|(i, x)| hs_company(x, T0 + i as i64))
        .collect();
    d.deals = c
        .deals
        .iter()
        .enumerate()
        .map(|(i, x)| hs_deal(x, T0 + i as i64))
        .collect();
}

fn lifecycle_type(l: &str) -> &'static str {
    match l {
        "customer" => "Customer",
        _ => "Prospect",
    }
}

/// The same CRM as the two CSV files of SPEC §8.
fn write_export(dir: &Path, c: &Crm) -> (PathBuf, PathBuf) {
    let a = dir.join("accounts.csv");
    let o = dir.join("opportunities.csv");
    let mut w = csv::Writer::from_path(&a).unwrap();
    w.write_record([
        "id",
        "name",
        "website",
        "type",
        "owner",
        "industry",
        "country",
        "employees",
    ])
    .unwrap();
    for x in &c.companies {
        let (_, f, l) = OWNERS[x.owner];
        w.write_record([
            x.id.as_str(),
            &x.name,
            &x.domain,
            lifecycle_type(x.lifecycle),
            &format!("{f} {l}"),
            x.industry,
            x.country,
            &x.employees.to_string(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
    let mut w = csv::Writer::from_path(&o).unwrap();
    w.write_record([
        "id",
        "account_id",
        "name",
        "stage",
        "amount",
        "currency",
        "open_date",
        "close_date",
        "is_won",
        "is_closed",
    ])
    .unwrap();
    for d in &c.deals {
        let (_, label, closed, won) = STAGES[d.stage];
        w.write_record([
            d.id.as_str(),
            d.company.as_deref().unwrap_or(""),
            &d.name,
            label,
            &d.amount,
            d.currency,
            &d.created.to_string(),
            &d.closed.to_string(),
            if won { "true" } else { "false" },
            if closed { "true" } else { "false" },
        ])
        .unwrap();
    }
    w.flush().unwrap();
    (a, o)
}

// ------------------------------------------------------------------ set-up

struct Org {
    _dir: tempfile::TempDir,
    db: PathBuf,
    engine: Engine,
    me: Actor,
}

fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let mut engine = Engine::open(&db).unwrap();
    engine.set_now(day(2026, 3, 1).and_hms_opt(12, 0, 0).unwrap().and_utc());
    let me = engine
        .init_org(&InitOrg {
            name: "Alpha".into(),
            domain: "alpha.com".into(),
            admin_email: "ann@alpha.com".into(),
            admin_name: Some("Ann".into()),
            plan: Plan::Supernode,
        })
        .unwrap();
    Org {
        _dir: dir,
        db,
        engine,
        me,
    }
}

fn connect_hubspot(o: &mut Org, map: &[(&str, &str)]) {
    o.engine
        .crm_connect(
            &o.me,
            &NewCrmConnection {
                kind: CrmKind::Hubspot,
                instance_url: None,
                token_env: None,
                source_name: "crm".into(),
                field_map: map
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            },
        )
        .unwrap();
}

fn opts(server: &Server, db: &Path, full: bool, token: &str) -> SyncOptions {
    let env: HashMap<String, String> = [
        ("PARTNERMAP_HUBSPOT_TOKEN", token),
        ("PARTNERMAP_HUBSPOT_API", server.base.as_str()),
        ("PARTNERMAP_SALESFORCE_TOKEN", token),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    SyncOptions {
        full,
        progress: false,
        retry: RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(10),
            max_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        },
        checkpoint: Some(PathBuf::from(format!("{}.crm-sync", db.display()))),
        env: Box::new(move |k| env.get(k).cloned()),
    }
}

fn hubspot(c: &Crm) -> (Arc<FakeHubspot>, Server) {
    let fake = FakeHubspot::new(TOKEN);
    load_hubspot(&fake, c);
    let server = Server::start(fake.clone());
    (fake, server)
}

fn pop(
    e: &mut Engine,
    a: &Actor,
    name: &str,
    t: PopulationType,
    filters: Value,
    partner: Option<&str>,
) {
    e.create_population(
        a,
        &NewPopulation {
            name: name.into(),
            pop_type: t,
            data_source: None,
            filters,
            partner: partner.map(String::from),
        },
    )
    .unwrap();
}

/// The crm source's records and deals, as stored (ids and key fingerprints left out: they
/// differ between databases, each with its own fingerprint seed).
fn source_rows(e: &Engine) -> (Vec<String>, Vec<String>) {
    let conn = e.conn();
    let recs = conn
        .prepare("SELECT r.external_id, r.name, r.website, r.domain_key, r.name_key, 0, r.fields FROM records r JOIN data_sources s ON s.id = r.source_id WHERE s.kind = 'crm' ORDER BY external_id")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{:?}|{:?}|{:?}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, String>(6)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let deals = conn
        .prepare("SELECT o.external_id, r.external_id, o.name, o.stage, o.amount, o.currency, o.open_date, o.close_date, o.is_won, o.is_closed FROM opportunities o JOIN records r ON r.id = o.record_id ORDER BY o.external_id")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<bool>>(8)?,
                r.get::<_, Option<bool>>(9)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (recs, deals)
}

fn dump(o: &Org) -> String {
    o.engine.dump().unwrap()
}

// ------------------------------------------------------------------ tests

#[test]
fn hubspot_full_sync_pages_associations_and_rejects() {
    let c = crm(250); // 3 company pages, 8 deal pages
    let (_fake, server) = hubspot(&c);
    let mut o = org();
    connect_hubspot(&mut o, &[("tier", "partner_tier")]);
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert!(r.full, "the first sync is a full one");
    assert_eq!((r.accounts, r.accounts_added), (250, 250));
    assert_eq!(r.opportunities, 750);
    let reasons: BTreeMap<String, String> = r
        .errors
        .iter()
        .map(|e| (e.id.clone(), e.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons["99990"].contains("no associated company"),
        "{reasons:?}"
    );
    assert!(
        reasons["99991"].contains("XAU") && reasons["99991"].contains("exchange-rate"),
        "{reasons:?}"
    );
    assert_eq!(r.changes.added.len(), 250);
    let log = server.take_log();
    let pages = |p: &str| {
        log.iter()
            .filter(|l| l.starts_with(&format!("GET {p}?")))
            .count()
    };
    assert_eq!(pages("/crm/v3/objects/companies"), 3);
    assert_eq!(pages("/crm/v3/objects/deals"), 8);
    assert!(log.iter().any(|l| l.contains("associations=companies")));
    assert_eq!(r.requests as usize, log.len());

    // Fields as an export gives them, owner names from the owners API, mapped custom field.
    let rec: String = o
        .engine
        .conn()
        .query_row(
            "SELECT fields FROM records WHERE external_id = '5000'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let f: Value = serde_json::from_str(&rec).unwrap();
    assert_eq!(
        f,
        json!({"type": "Customer", "owner": "Ann Lee", "industry": "Software", "country": "US",
               "employees": "10", "tier": "silver", "has_open_opportunity": "true",
               "open_opportunities": "1", "won_opportunities": "1", "opportunities": "3"})
    );
    // A deal of page 8 on a company of page 1: associations across pages.
    let (acct, stage, won): (String, String, bool) = o
        .engine
        .conn()
        .query_row(
            "SELECT r.external_id, o.stage, o.is_won FROM opportunities o JOIN records r ON r.id = o.record_id WHERE o.external_id = '90749'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(acct, "5249");
    assert_eq!(stage, STAGES[(749 * 7 + 249) % 4].1);
    assert_eq!(won, STAGES[(749 * 7 + 249) % 4].3);
    assert!(
        !Path::new(&format!("{}.crm-sync", o.db.display())).exists(),
        "checkpoint removed after apply"
    );
    let st = o.engine.crm_connection(&o.me).unwrap().unwrap();
    assert_eq!((st.accounts, st.opportunities), (250, 750));
    assert!(st.last_sync_at.is_some() && st.cursors.contains_key("accounts"));
}

#[test]
fn round_trip_export_and_connector_give_identical_populations_and_scores() {
    let c = crm(120);
    let partner_csv = |dir: &Path, every: usize, name: &str| {
        let p = dir.join(format!("{name}.csv"));
        let mut w = csv::Writer::from_path(&p).unwrap();
        w.write_record(["Company", "Website"]).unwrap();
        for (i, x) in c.companies.iter().enumerate() {
            if i % every == 0 {
                w.write_record([
                    format!("{name} sees {}", x.name),
                    format!("https://www.{}/", x.domain),
                ])
                .unwrap();
            }
        }
        w.write_record([format!("{name} only"), format!("{name}-only.io")])
            .unwrap();
        w.flush().unwrap();
        p
    };
    let set_up = |o: &mut Org| {
        let dir = o.db.parent().unwrap().to_path_buf();
        pop(
            &mut o.engine,
            &o.me,
            "Customers",
            PopulationType::Customers,
            json!({"field": "type", "op": "eq", "value": "Customer"}),
            None,
        );
        pop(
            &mut o.engine,
            &o.me,
            "Prospects",
            PopulationType::Prospects,
            json!({"field": "type", "op": "ne", "value": "Customer"}),
            None,
        );
        pop(
            &mut o.engine,
            &o.me,
            "Open opportunities",
            PopulationType::OpenOpportunities,
            json!({"field": "has_open_opportunity", "op": "eq", "value": "true"}),
            None,
        );
        for (name, every) in [("Gamma", 2), ("Delta", 3)] {
            o.engine.add_offline_partner(&o.me, name, None).unwrap();
            o.engine
                .import_csv(
                    &o.me,
                    &ImportSpec {
                        path: partner_csv(&dir, every, name),
                        name: format!("{name} list"),
                        name_column: "Company".into(),
                        website_column: "Website".into(),
                    },
                    Some(name),
                )
                .unwrap();
            pop(
                &mut o.engine,
                &o.me,
                "Customers",
                PopulationType::Customers,
                json!([]),
                Some(name),
            );
        }
    };
    let observe = |o: &Org| {
        let pops: Vec<(String, i64)> = o
            .engine
            .list_populations(&o.me, None)
            .unwrap()
            .into_iter()
            .map(|p| (p.name().to_string(), p.record_count))
            .collect();
        let scores: Vec<String> = ["Gamma", "Delta"]
            .iter()
            .map(|p| {
                serde_json::to_string(&o.engine.partner_score(&o.me, p, None).unwrap()).unwrap()
            })
            .collect();
        (pops, scores, source_rows(&o.engine))
    };

    // An export imported with import_crm…
    let mut a = org();
    let (acc, opp) = write_export(a.db.parent().unwrap(), &c);
    let imported = a.engine.import_crm(&a.me, &acc, &opp, "crm").unwrap();
    assert_eq!(imported.rows_rejected, 2);
    set_up(&mut a);
    // …and the same CRM through the connector.
    let (_fake, server) = hubspot(&c);
    let mut b = org();
    connect_hubspot(&mut b, &[]);
    sync::run(&mut b.engine, &b.me, &opts(&server, &b.db, false, TOKEN)).unwrap();
    set_up(&mut b);
    let (pa, sa, ra) = observe(&a);
    let (pb, sb, rb) = observe(&b);
    assert_eq!(pa, pb);
    assert!(pa.iter().all(|(_, n)| *n > 0), "{pa:?}");
    let first_diff = |a: &[String], b: &[String]| {
        a.iter()
            .zip(b)
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("{x}\n{y}"))
    };
    assert_eq!((ra.0.len(), ra.1.len()), (rb.0.len(), rb.1.len()));
    assert_eq!(first_diff(&ra.0, &rb.0), None, "records differ");
    assert_eq!(first_diff(&ra.1, &rb.1), None, "deals differ");
    assert_eq!(sa, sb, "Partner Scores differ");
    assert!(sa[0].contains("\"label\""), "{}", sa[0]);
    assert!(!sa[0].contains("\"label\":\"Unknown\""), "{}", sa[0]);

    // An incremental sync with nothing changed keeps everything as it was.
    let before = source_rows(&b.engine);
    let r = sync::run(&mut b.engine, &b.me, &opts(&server, &b.db, false, TOKEN)).unwrap();
    assert!(!r.full);
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert_eq!(source_rows(&b.engine), before);
    assert_eq!(observe(&b).1, sb);
}

#[test]
fn incremental_sync_reads_only_changes_and_reports_them() {
    let c = crm(150);
    let (fake, server) = hubspot(&c);
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    server.take_log();
    let id_of = |e: &Engine, ext: &str| -> i64 {
        e.conn()
            .query_row(
                "SELECT id FROM records WHERE external_id = ?1",
                [ext],
                |r| r.get(0),
            )
            .unwrap()
    };
    let later = T0 + 10_000_000;
    {
        let mut d = fake.data.lock().unwrap();
        // Two companies renamed / re-typed, one new company with a deal, one deal won.
        d.companies[3]
            .props
            .insert("name".into(), json!("Company 3 Renamed"));
        d.companies[3].modified = later;
        d.companies[7]
            .props
            .insert("lifecyclestage".into(), json!("customer"));
        d.companies[7].modified = later + 1;
        let new = Co {
            id: "7777".into(),
            name: "Newco".into(),
            domain: "newco.io".into(),
            lifecycle: "lead",
            owner: 1,
            industry: "Retail",
            country: "US",
            employees: 5,
        };
        d.companies.push(hs_company(&new, later + 2));
        let deal = Dl {
            id: "88888".into(),
            company: Some("7777".into()),
            name: "Newco deal".into(),
            stage: 0,
            amount: "900".into(),
            currency: "USD",
            created: day(2026, 2, 1),
            closed: day(2026, 4, 1),
        };
        d.deals.push(hs_deal(&deal, later + 3));
        let k = d.deals.iter().position(|x| x.id == "90010").unwrap();
        d.deals[k]
            .props
            .insert("dealstage".into(), json!("closedwon"));
        d.deals[k].modified = later + 4;
    }
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert!(!r.full);
    let log = server.take_log();
    assert!(
        log.iter().all(|l| !l.starts_with("GET /crm/v3/objects/")),
        "an incremental sync uses search: {log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l == "POST /crm/v3/objects/companies/search")
    );
    assert!(
        log.iter()
            .any(|l| l == "POST /crm/v3/associations/deals/companies/batch/read")
    );
    assert_eq!(
        (r.accounts_added, r.deals_added, r.deals_updated),
        (1, 1, 1)
    );
    let new_id = id_of(&o.engine, "7777");
    assert_eq!(r.changes.added, vec![new_id]);
    let mut expect = vec![
        id_of(&o.engine, "5003"),
        id_of(&o.engine, "5007"),
        id_of(&o.engine, "5003"),
    ];
    // Deal 90010 belongs to company 5003 (3 deals each): its won count changed.
    expect.sort();
    expect.dedup();
    assert_eq!(r.changes.updated, expect);
    assert!(r.changes.removed.is_empty());
    assert_eq!(r.accounts, 151);
    let name: String = o
        .engine
        .conn()
        .query_row(
            "SELECT name FROM records WHERE external_id = '5003'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Company 3 Renamed");
    let st = o.engine.crm_connection(&o.me).unwrap().unwrap();
    assert_eq!(st.cursors["deals"], iso(later + 4));
}

#[test]
fn full_sync_removes_deleted_company_and_its_deals() {
    let c = crm(40);
    let (fake, server) = hubspot(&c);
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    let gone: i64 = o
        .engine
        .conn()
        .query_row(
            "SELECT id FROM records WHERE external_id = '5010'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    {
        let mut d = fake.data.lock().unwrap();
        d.companies.retain(|x| x.id != "5010");
        d.deals
            .retain(|x| x.companies.first().map(String::as_str) != Some("5010"));
    }
    // Incremental: a deletion is not seen.
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert_eq!((r.accounts, r.accounts_removed), (40, 0));
    // Full: it is.
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, true, TOKEN)).unwrap();
    assert!(r.full);
    assert_eq!(
        (r.accounts, r.accounts_removed, r.deals_removed),
        (39, 1, 3)
    );
    assert_eq!(r.changes.removed, vec![gone]);
    assert!(
        r.changes.added.is_empty() && r.changes.updated.is_empty(),
        "{:?}",
        r.changes
    );
    let left: i64 = o
        .engine
        .conn()
        .query_row(
            "SELECT count(*) FROM opportunities WHERE record_id = ?1",
            [gone],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn rate_limit_429_waits_for_retry_after() {
    let c = crm(30);
    let (_fake, server) = hubspot(&c);
    server.fault(
        Fault::new(
            "GET /crm/v3/objects/companies",
            429,
            r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"x","policyName":"TEN_SECONDLY_ROLLING"}"#,
        )
        .times(1)
        .header("Retry-After", "1"),
    );
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    let t = std::time::Instant::now();
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(r.accounts, 30);
    let log = server.take_log();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("GET /crm/v3/objects/companies"))
            .count(),
        2
    );
}

#[test]
fn daily_limit_stops_at_once_and_changes_nothing() {
    let c = crm(30);
    let (_fake, server) = hubspot(&c);
    server.fault(Fault::new(
        "GET /crm/v3/objects/deals",
        429,
        r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"x","policyName":"DAILY","groupName":"api"}"#,
    ));
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    let before = dump(&o);
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap_err();
    assert!(e.to_string().contains("daily API limit"), "{e}");
    assert_eq!(
        server
            .take_log()
            .iter()
            .filter(|l| l.contains("objects/deals"))
            .count(),
        1,
        "never retried"
    );
    assert_eq!(dump(&o), before);
}

#[test]
fn wrong_token_401_and_missing_scope_403_say_what_to_fix() {
    let c = crm(5);
    let (_fake, server) = hubspot(&c);
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    let before = dump(&o);
    let e = sync::run(
        &mut o.engine,
        &o.me,
        &opts(&server, &o.db, false, "pat-wrong"),
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("401") && m.contains("PARTNERMAP_HUBSPOT_TOKEN"),
        "{m}"
    );
    assert_eq!(dump(&o), before);
    server.fault(Fault::new(
        "GET /crm/v3/objects/deals",
        403,
        &crm_fake::hubspot_missing_scope("crm.objects.deals.read"),
    ));
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("crm.objects.deals.read") && m.contains("403"),
        "{m}"
    );
    assert_eq!(dump(&o), before);
}

#[test]
fn server_error_mid_sync_changes_nothing_and_the_next_sync_resumes() {
    let c = crm(250);
    let (fake, server) = hubspot(&c);
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    {
        let mut d = fake.data.lock().unwrap();
        for x in d.companies.iter_mut() {
            x.props.insert("industry".into(), json!("Changed"));
            x.modified += 50_000_000;
        }
    }
    // A full sync that fails on the 3rd deal page, after every company page was read.
    server.take_log();
    server.fault(
        Fault::new(
            "GET /crm/v3/objects/deals",
            500,
            r#"{"status":"error","message":"internal error","category":"INTERNAL_ERROR"}"#,
        )
        .skip(2),
    );
    let before = dump(&o);
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, true, TOKEN)).unwrap_err();
    assert!(e.to_string().contains("500"), "{e}");
    assert_eq!(dump(&o), before, "a failed sync changes nothing");
    let failed = server.take_log();
    assert_eq!(
        failed
            .iter()
            .filter(|l| l.starts_with("GET /crm/v3/objects/companies"))
            .count(),
        3
    );
    assert_eq!(
        failed
            .iter()
            .filter(|l| l.starts_with("GET /crm/v3/objects/deals"))
            .count(),
        2 + 3,
        "2 pages, then 1 + 2 retries"
    );
    // The next sync resumes from the checkpoint: no company page is read again.
    server.clear_faults();
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, true, TOKEN)).unwrap();
    let resumed = server.take_log();
    assert_eq!(
        resumed
            .iter()
            .filter(|l| l.starts_with("GET /crm/v3/objects/companies"))
            .count(),
        0,
        "{resumed:?}"
    );
    assert_eq!(
        resumed
            .iter()
            .filter(|l| l.starts_with("GET /crm/v3/objects/deals"))
            .count(),
        6
    );
    assert_eq!(r.accounts_updated, 250);
    let n: i64 = o
        .engine
        .conn()
        .query_row(
            "SELECT count(*) FROM records WHERE fields LIKE '%\"industry\":\"Changed\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 250);
}

#[test]
fn malformed_json_changes_nothing() {
    let c = crm(20);
    let (_fake, server) = hubspot(&c);
    server.fault(Fault::new(
        "GET /crm/v3/objects/companies",
        200,
        r#"{"results": [{"id": "1", "properties": {"#,
    ));
    let mut o = org();
    connect_hubspot(&mut o, &[]);
    let before = dump(&o);
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap_err();
    assert!(e.to_string().contains("not the JSON"), "{e}");
    assert!(
        !e.to_string().contains("properties"),
        "never quotes the body: {e}"
    );
    assert_eq!(dump(&o), before);
    server.clear_faults();
    server.fault(Fault::new(
        "GET /crm/v3/objects/companies",
        200,
        r#"{"total": 3}"#,
    ));
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap_err();
    assert!(e.to_string().contains("not the JSON"), "{e}");
    assert_eq!(dump(&o), before);
}

// ------------------------------------------------------------------ Salesforce

fn salesforce(c: &Crm, multi_currency: bool, batch: usize) -> (Arc<FakeSalesforce>, Server) {
    let fake = FakeSalesforce::new(TOKEN);
    {
        let mut d = fake.data.lock().unwrap();
        d.multi_currency = multi_currency;
        d.batch = batch;
        d.accounts = c
            .companies
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let (_, f, l) = OWNERS[x.owner];
                json!({"Id": format!("001{}", x.id), "Name": x.name, "Website": format!("https://{}", x.domain),
                       "Type": if x.lifecycle == "customer" { "Customer" } else { "Prospect" },
                       "Owner": {"attributes": {"type": "User", "url": "/services/data/v62.0/sobjects/User/005x"}, "Name": format!("{f} {l}")},
                       "Industry": x.industry, "BillingCountry": x.country, "NumberOfEmployees": x.employees,
                       "SystemModstamp": sf_stamp(T0 + i as i64 * 1000)})
                .as_object()
                .unwrap()
                .clone()
            })
            .collect();
        d.opportunities = c
            .deals
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let (_, label, closed, won) = STAGES[x.stage];
                let mut m = json!({"Id": format!("006{}", x.id), "AccountId": x.company.as_ref().map(|c| format!("001{c}")),
                       "Name": x.name, "StageName": label, "Amount": x.amount.parse::<f64>().unwrap(),
                       "CreatedDate": sf_stamp(ms(x.created)), "CloseDate": x.closed.to_string(),
                       "IsWon": won, "IsClosed": closed, "SystemModstamp": sf_stamp(T0 + i as i64 * 1000)});
                if multi_currency {
                    m["CurrencyIsoCode"] = json!(if x.currency.is_empty() { "USD" } else { x.currency });
                }
                m.as_object().unwrap().clone()
            })
            .collect();
    }
    let server = Server::start(fake.clone());
    (fake, server)
}

fn connect_salesforce(o: &mut Org, server: &Server) {
    o.engine
        .crm_connect(
            &o.me,
            &NewCrmConnection {
                kind: CrmKind::Salesforce,
                instance_url: Some(server.base.clone()),
                token_env: None,
                source_name: "crm".into(),
                field_map: BTreeMap::new(),
            },
        )
        .unwrap();
}

#[test]
fn salesforce_query_pages_currencies_and_incremental() {
    let c = crm(60);
    let (fake, server) = salesforce(&c, true, 25);
    let mut o = org();
    connect_salesforce(&mut o, &server);
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert_eq!((r.accounts, r.opportunities), (60, 180));
    assert_eq!(r.rows_rejected, 2);
    let log = server.take_log();
    assert_eq!(
        log.iter().filter(|l| l.contains("/query/01g")).count(),
        2 + 7,
        "nextRecordsUrl pages: {log:?}"
    );
    assert!(log.iter().any(|l| l.contains("CurrencyIsoCode")));
    let (owner, cur): (String, String) = o
        .engine
        .conn()
        .query_row(
            "SELECT json_extract(r.fields, '$.owner'), o.currency FROM opportunities o JOIN records r ON r.id = o.record_id WHERE o.external_id = '00690001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((owner.as_str(), cur.as_str()), ("Ann Lee", "EUR"));

    // Incremental: only what SystemModstamp says changed, with a WHERE clause.
    {
        let mut d = fake.data.lock().unwrap();
        d.accounts[5].insert("Name".into(), json!("Renamed Five"));
        d.accounts[5].insert("SystemModstamp".into(), json!(sf_stamp(T0 + 900_000_000)));
    }
    let r = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    assert!(!r.full);
    let log = server.take_log();
    assert!(
        log.iter()
            .any(|l| l.contains("SystemModstamp+%3E%3D+2026-01-01T00%3A0")),
        "{log:?}"
    );
    assert_eq!(r.accounts_updated, 1);
    assert_eq!(r.changes.updated.len(), 1);
    assert!(r.accounts_fetched <= 2, "fetched {}", r.accounts_fetched);
}

#[test]
fn salesforce_single_currency_refresh_flow_and_errors() {
    let c = crm(10);
    let (fake, server) = salesforce(&c, false, 2000);
    fake.data.lock().unwrap().default_currency = "EUR".into();
    fake.data.lock().unwrap().refresh =
        Some(("5Aep-refresh".into(), "3MVG-client".into(), "secret".into()));
    let mut o = org();
    connect_salesforce(&mut o, &server);
    // No access token: the connected app's refresh flow gets one.
    let env: HashMap<&str, String> = [
        (
            "PARTNERMAP_SALESFORCE_REFRESH_TOKEN",
            "5Aep-refresh".to_string(),
        ),
        ("PARTNERMAP_SALESFORCE_CLIENT_ID", "3MVG-client".to_string()),
        ("PARTNERMAP_SALESFORCE_CLIENT_SECRET", "secret".to_string()),
        ("PARTNERMAP_SALESFORCE_TOKEN", "expired-token".to_string()),
    ]
    .into_iter()
    .collect();
    let mut op = opts(&server, &o.db, false, TOKEN);
    op.env = Box::new(move |k| env.get(k).cloned());
    let r = sync::run(&mut o.engine, &o.me, &op).unwrap();
    assert_eq!(r.accounts, 10);
    let log = server.take_log();
    assert_eq!(
        log.iter()
            .filter(|l| l.as_str() == "POST /services/oauth2/token")
            .count(),
        1,
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.contains("FROM+Opportunity") && l.contains("CurrencyIsoCode")),
        "single-currency org: no CurrencyIsoCode in the Opportunity SOQL: {log:?}"
    );
    let cur: String = o
        .engine
        .conn()
        .query_row("SELECT DISTINCT currency FROM opportunities", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(cur, "EUR", "the org's default currency");

    // A 401 without a refresh flow names the variable.
    let before = dump(&o);
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, "bad")).unwrap_err();
    assert!(
        e.to_string().contains("PARTNERMAP_SALESFORCE_TOKEN") && e.to_string().contains("401"),
        "{e}"
    );
    // The daily request limit.
    server.fault(Fault::new(
        "GET /services/data/v62.0/query",
        403,
        r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
    ));
    let e = sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap_err();
    assert!(e.to_string().contains("daily API request limit"), "{e}");
    assert_eq!(dump(&o), before);
}

#[test]
fn connect_never_stores_a_token_and_needs_permission() {
    let mut o = org();
    let e = o
        .engine
        .crm_connect(
            &o.me,
            &NewCrmConnection {
                kind: CrmKind::Hubspot,
                instance_url: None,
                token_env: Some("pat-na1-abc def".into()),
                source_name: "crm".into(),
                field_map: BTreeMap::new(),
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("environment variable"), "{e}");
    let e = o
        .engine
        .crm_connect(
            &o.me,
            &NewCrmConnection {
                kind: CrmKind::Salesforce,
                instance_url: Some("not a url".into()),
                token_env: None,
                source_name: "crm".into(),
                field_map: BTreeMap::new(),
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("--instance-url"), "{e}");
    // The token never reaches the database file.
    let c = crm(5);
    let (_fake, server) = hubspot(&c);
    connect_hubspot(&mut o, &[]);
    sync::run(&mut o.engine, &o.me, &opts(&server, &o.db, false, TOKEN)).unwrap();
    o.engine
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let bytes = std::fs::read(&o.db).unwrap();
    assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
}

#[test]
fn cli_connect_sync_and_status() {
    let c = crm(30);
    let (_fake, server) = hubspot(&c);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_partnermap"))
            .args(args)
            .env("PARTNERMAP_DB", &db)
            .env("PARTNERMAP_HUBSPOT_API", &server.base)
            .env("MY_HS_TOKEN", TOKEN)
            .env_remove("PARTNERMAP_HUBSPOT_TOKEN")
            .env_remove("PARTNERMAP_USER")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(
        run(&[
            "init",
            "--org",
            "Alpha",
            "--domain",
            "alpha.com",
            "--admin",
            "ann@alpha.com"
        ])
        .0
    );
    let (ok, out) = run(&[
        "connect",
        "hubspot",
        "--token-env",
        "MY_HS_TOKEN",
        "--map",
        "tier=partner_tier",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["crm", "sync"]);
    assert!(ok, "{out}");
    assert!(out.contains("now 30 accounts and 90 deals"), "{out}");
    let (ok, out) = run(&["--json", "crm", "status"]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            v["kind"].as_str(),
            v["accounts"].as_i64(),
            v["token_env"].as_str()
        ),
        (Some("hubspot"), Some(30), Some("MY_HS_TOKEN"))
    );
    let (ok, out) = run(&["connect", "hubspot", "--token", "x"]);
    assert!(!ok && out.contains("--token"), "no token flag: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sync_crm_and_whoami_show_the_connection() {
    let c = crm(30);
    let (_fake, server) = hubspot(&c);
    let mut o = org();
    let before = o.engine.dump().unwrap();
    let base = server.base.clone();
    // Not connected: whoami has no `crm`, sync_crm says what to do.
    let client = mcp_common::connect(
        &o.db,
        "ann@alpha.com",
        &[
            ("PARTNERMAP_HUBSPOT_API", &base),
            ("PARTNERMAP_HUBSPOT_TOKEN", TOKEN),
        ],
        true,
    )
    .await;
    let w = client.ok("whoami", json!({})).await;
    assert!(w.get("crm").is_none(), "{w}");
    let e = client.err("sync_crm", json!({})).await;
    assert!(e.contains("connect hubspot"), "{e}");
    client.close().await;
    assert_eq!(o.engine.dump().unwrap(), before);
    connect_hubspot(&mut o, &[]);
    // A wrong token: an isError result naming the variable.
    let client = mcp_common::connect(
        &o.db,
        "ann@alpha.com",
        &[
            ("PARTNERMAP_HUBSPOT_API", &base),
            ("PARTNERMAP_HUBSPOT_TOKEN", "nope"),
        ],
        true,
    )
    .await;
    let e = client.err("sync_crm", json!({"full": true})).await;
    assert!(e.contains("PARTNERMAP_HUBSPOT_TOKEN"), "{e}");
    client.close().await;
    let client = mcp_common::connect(
        &o.db,
        "ann@alpha.com",
        &[
            ("PARTNERMAP_HUBSPOT_API", &base),
            ("PARTNERMAP_HUBSPOT_TOKEN", TOKEN),
        ],
        true,
    )
    .await;
    let r = client.ok("sync_crm", json!({})).await;
    assert_eq!(
        (
            r["accounts"]["total"].as_i64(),
            r["deals"]["total"].as_i64()
        ),
        (Some(30), Some(90)),
        "{r}"
    );
    assert_eq!(r["rows_rejected"], 2);
    let w = client.ok("whoami", json!({})).await;
    assert_eq!(w["crm"]["kind"], "hubspot");
    assert_eq!(w["crm"]["accounts"], 30);
    assert!(w["crm"]["last_sync_at"].is_string(), "{w}");
    client.close().await;
}
