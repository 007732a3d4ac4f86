//! A small hand-built network for partner_suggestions, partner_influence and new_accounts,
//! shared by tests/mcp/insights.rs. Every number the tests assert is worked out by hand below.
//!
//! Vega (vera@vega.com, the acting org; today 2026-11-23, so the current quarter is 2026-Q4)
//! has a CRM with accounts Acme, Bolt, Quill (customers), Crane, Delta, Echo, Xeno (prospects)
//! and these deals (EUR at 0.8 per USD):
//!
//! | deal | account | USD  | opened     | closed            |
//! |------|---------|------|------------|-------------------|
//! | d1   | Acme    | 1000 | 2026-10-05 | won 2026-11-10    |
//! | d2   | Acme    |  625 | 2026-09-20 | lost 2026-10-20 (500 EUR) |
//! | d3   | Bolt    | 2000 | 2026-11-01 | open              |
//! | d4   | Crane   | 3000 | 2026-10-10 | won 2026-11-20    |
//! | d5   | Delta   | 1500 | 2026-07-01 | lost 2026-10-15   |
//! | d6   | Echo    |  700 | 2026-11-15 | open              |
//! | d7   | Xeno    |  400 | 2026-10-02 | won 2026-11-02    |
//! | d8   | Delta   |  900 | 2026-11-18 | open              |
//! | d9   | Bolt    | 1200 | 2026-06-01 | won 2026-09-30    |
//!
//! Partners of Vega:
//! - Orion (online, active): Customers {Acme, Gale, Hollow} shared at full (fields name, website,
//!   industry), Prospects {Crane, Ivy} at counts.
//! - Lyra (online, active): Customers {Bolt, Delta, Jade} hidden from Vega, Prospects {Gale} at
//!   overlaps (name).
//! - Umber (offline, Vega's): customers {Echo, Kite}, prospects {Gale}. Kite's industry carries
//!   an escape character and a line break (cleaned over MCP).
//!
//! Other organizations: Nadir (customers Acme, Bolt, Crane, Delta; never invited; active partner
//! of Orion and Lyra), Xeno (never invited; active partner of Orion), Yarrow (declined Vega's
//! invitation), Zeta (partnered with Vega, revoked; active partner of Lyra), Quill (invited
//! Vega, pending), Wren (nothing).
#![allow(dead_code)]

use partnermap::Engine;
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation};
use partnermap::model::{Actor, Plan, PopulationType, SharingLevel};
use serde_json::json;
use std::path::{Path, PathBuf};

pub const NOW: &str = "2026-11-23";
pub const VERA: &str = "vera@vega.com";

pub struct Net {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub e: Engine,
    pub vega: Actor,
    pub orion: Actor,
    pub lyra: Actor,
}

const VEGA_ACCOUNTS: &str = "id,name,website,type
a1,Acme,https://acme.com,Customer
a2,Bolt,bolt.com,Customer
a3,Crane,www.crane.com,Prospect
a4,Delta,delta.com,Prospect
a5,Echo,echo.com,Prospect
a6,Xeno,xeno.com,Prospect
a7,Quill,quill.io,Customer
";

const VEGA_DEALS: &str =
    "id,account_id,name,stage,amount,currency,open_date,close_date,is_won,is_closed
d1,a1,Acme 1,Closed Won,1000,USD,2026-10-05,2026-11-10,true,true
d2,a1,Acme 2,Closed Lost,500,EUR,2026-09-20,2026-10-20,false,true
d3,a2,Bolt 1,Proposal,2000,USD,2026-11-01,2027-01-15,false,false
d4,a3,Crane 1,Closed Won,3000,USD,2026-10-10,2026-11-20,true,true
d5,a4,Delta 1,Closed Lost,1500,USD,2026-07-01,2026-10-15,false,true
d6,a5,Echo 1,Discovery,700,USD,2026-11-15,2027-02-01,false,false
d7,a6,Xeno 1,Closed Won,400,USD,2026-10-02,2026-11-02,true,true
d8,a4,Delta 2,Discovery,900,USD,2026-11-18,2027-03-01,false,false
d9,a2,Bolt 2,Closed Won,1200,USD,2026-06-01,2026-09-30,true,true
";

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn org(e: &mut Engine, name: &str, domain: &str) -> Actor {
    e.init_org(&InitOrg {
        name: name.into(),
        domain: domain.into(),
        admin_email: format!("admin@{domain}"),
        admin_name: None,
        plan: Plan::Connector,
    })
    .unwrap()
}

/// Imports `rows` (name,website,type[,industry]) for `a` (or its offline partner) and creates
/// the populations `(name, type, type column value)`.
fn list(
    e: &mut Engine,
    dir: &Path,
    a: &Actor,
    partner: Option<&str>,
    file: &str,
    rows: &str,
    pops: &[(&str, PopulationType, &str)],
) {
    let path = write(dir, file, &format!("name,website,type,industry\n{rows}"));
    e.import_csv(
        a,
        &ImportSpec {
            path,
            name: "list".into(),
            name_column: "name".into(),
            website_column: "website".into(),
        },
        partner,
    )
    .unwrap();
    for (name, t, v) in pops {
        e.create_population(
            a,
            &NewPopulation {
                name: (*name).into(),
                pop_type: *t,
                data_source: None,
                filters: json!([{"field": "type", "op": "eq", "value": v}]),
                partner: partner.map(String::from),
            },
        )
        .unwrap();
    }
}

fn partner(e: &mut Engine, inviter: &Actor, invitee: &Actor) {
    e.invite(inviter, invitee.org.domain.as_deref().unwrap())
        .unwrap();
    e.respond_to_invitation(invitee, &inviter.org.name, true)
        .unwrap();
}

pub fn network() -> Net {
    use PopulationType::*;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let mut e = Engine::open(&db).unwrap();
    e.set_now(partnermap::engine::parse_now(NOW).unwrap());
    let d = dir.path().to_path_buf();

    let vega = e
        .init_org(&InitOrg {
            name: "Vega".into(),
            domain: "vega.com".into(),
            admin_email: VERA.into(),
            admin_name: Some("Vera".into()),
            plan: Plan::Connector,
        })
        .unwrap();
    let accounts = write(&d, "accounts.csv", VEGA_ACCOUNTS);
    let deals = write(&d, "opportunities.csv", VEGA_DEALS);
    let r = e.import_crm(&vega, &accounts, &deals, "crm").unwrap();
    assert_eq!((r.accounts, r.opportunities, r.rows_rejected), (7, 9, 0));
    e.fx_set(&vega, "EUR", 0.8).unwrap();
    for (name, t, field, v) in [
        ("Customers", Customers, "type", "Customer"),
        ("Prospects", Prospects, "type", "Prospect"),
        (
            "Open deals",
            OpenOpportunities,
            "has_open_opportunity",
            "true",
        ),
    ] {
        e.create_population(
            &vega,
            &NewPopulation {
                name: name.into(),
                pop_type: t,
                data_source: None,
                filters: json!([{"field": field, "op": "eq", "value": v}]),
                partner: None,
            },
        )
        .unwrap();
    }

    let orion = org(&mut e, "Orion", "orion.com");
    list(
        &mut e,
        &d,
        &orion,
        None,
        "orion.csv",
        "Acme Inc,acme.com,Customer,Manufacturing
Gale,gale.com,Customer,Retail
Hollow,hollow.com,Customer,Energy
Crane,crane.com,Prospect,Logistics
Ivy,ivy.com,Prospect,Health
",
        &[
            ("Customers", Customers, "Customer"),
            ("Prospects", Prospects, "Prospect"),
        ],
    );
    let lyra = org(&mut e, "Lyra", "lyra.com");
    list(
        &mut e,
        &d,
        &lyra,
        None,
        "lyra.csv",
        "Bolt,bolt.com,Customer,Software
Delta,delta.com,Customer,Software
Jade,jade.com,Customer,Software
Gale,gale.com,Prospect,Retail
",
        &[
            ("Customers", Customers, "Customer"),
            ("Prospects", Prospects, "Prospect"),
        ],
    );
    let nadir = org(&mut e, "Nadir", "nadir.com");
    list(
        &mut e,
        &d,
        &nadir,
        None,
        "nadir.csv",
        "Acme,acme.com,Customer,
Bolt,bolt.com,Customer,
Crane,crane.com,Customer,
Delta,delta.com,Customer,
",
        &[("Customers", Customers, "Customer")],
    );
    let xeno = org(&mut e, "Xeno", "xeno.com");
    let yarrow = org(&mut e, "Yarrow", "yarrow.com");
    let zeta = org(&mut e, "Zeta", "zeta.com");
    let quill = org(&mut e, "Quill", "quill.io");
    let _wren = org(&mut e, "Wren", "wren.com");

    e.add_offline_partner(&vega, "Umber", Some("umber.com"))
        .unwrap();
    list(
        &mut e,
        &d,
        &vega,
        Some("Umber"),
        "umber.csv",
        "Echo,echo.com,Customer,
Kite,kite.com,Customer,\"Tra\u{1b}vel\nCo\"
Gale,gale.com,Prospect,
",
        &[
            ("Umber customers", Customers, "Customer"),
            ("Umber prospects", Prospects, "Prospect"),
        ],
    );

    partner(&mut e, &vega, &orion);
    partner(&mut e, &lyra, &vega);
    let fields: Vec<String> = ["name", "website", "industry"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    e.set_sharing(
        &orion,
        "Vega",
        "Customers",
        SharingLevel::Full,
        Some(&fields),
    )
    .unwrap();
    e.set_sharing(&lyra, "Vega", "Customers", SharingLevel::Hidden, None)
        .unwrap();
    e.set_sharing(
        &lyra,
        "Vega",
        "Prospects",
        SharingLevel::Overlaps,
        Some(&["name".to_string()]),
    )
    .unwrap();
    // Partnerships among the others.
    partner(&mut e, &nadir, &orion);
    partner(&mut e, &nadir, &lyra);
    partner(&mut e, &orion, &xeno);
    partner(&mut e, &zeta, &lyra);
    // Yarrow declined; Zeta revoked; Quill's invitation waits.
    e.invite(&vega, "yarrow.com").unwrap();
    e.respond_to_invitation(&yarrow, "Vega", false).unwrap();
    partner(&mut e, &vega, &zeta);
    e.revoke(&vega, "Zeta").unwrap();
    e.invite(&quill, "vega.com").unwrap();
    Net {
        dir,
        db,
        e,
        vega,
        orion,
        lyra,
    }
}
