//! The hand-built Partner Score network of tests/data/score (see gen.py there), shared by the
//! engine tests (tests/engine/score.rs) and the MCP end-to-end tests (tests/mcp/mcp_score.rs).
//!
//! Vega (the acting org, vera@vega.com) has closed deals in four groups, all inside the 365 days
//! ending 2026-11-23 (plus one 2024 deal outside):
//!   B : 10 won (1000 USD, 60 days) + 10 lost       — nobody's customers but Nadir's
//!   G1: 10 won (5000 USD, 20 days)                  — customers of Orion, Cygnus (Nova: 9 of them)
//!   G2: 10 won (1000 USD at EUR .8/GBP .5/JPY 150, 60 days) + 10 lost — Lyra's customers
//!   G3: 10 won (500 USD, 90 days) + 30 lost         — Draco's customers
//! Offline partners Orion, Cygnus, Lyra, Draco, Nova, Nadir, Umber; online Umbra (customers at
//! counts) and Ursa (customers at overlaps with name and segment). Exchange rates from ecb.xml.
#![allow(dead_code)]

use crate::common::data;
use partnermap::Engine;
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation};
use partnermap::model::{Actor, Plan, PopulationType, SharingLevel};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;

/// The date every score of the network is computed at.
pub const NOW: &str = "2026-11-23";

pub struct Net {
    pub dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    pub e: Engine,
    pub vega: Actor,
    pub umbra: Actor,
    pub ursa: Actor,
}

pub fn org(e: &mut Engine, name: &str, domain: &str, email: &str, plan: Plan) -> Actor {
    e.init_org(&InitOrg {
        name: name.into(),
        domain: domain.into(),
        admin_email: email.into(),
        admin_name: None,
        plan,
    })
    .unwrap()
}

pub fn csv(e: &mut Engine, a: &Actor, file: &str, partner: Option<&str>) {
    e.import_csv(
        a,
        &ImportSpec {
            path: data(&format!("score/{file}")),
            name: "list".into(),
            name_column: "name".into(),
            website_column: "website".into(),
        },
        partner,
    )
    .unwrap();
}

pub fn pop(
    e: &mut Engine,
    a: &Actor,
    name: &str,
    t: PopulationType,
    field: &str,
    value: &str,
    partner: Option<&str>,
) -> i64 {
    e.create_population(
        a,
        &NewPopulation {
            name: name.into(),
            pop_type: t,
            data_source: None,
            filters: json!([{"field": field, "op": "eq", "value": value}]),
            partner: partner.map(String::from),
        },
    )
    .unwrap()
    .id
}

/// An offline partner of `a` with the standard populations listed (type column values).
pub fn offline(e: &mut Engine, a: &Actor, name: &str, file: &str, pops: &[(PopulationType, &str)]) {
    e.add_offline_partner(a, name, None).unwrap();
    csv(e, a, file, Some(name));
    for (t, v) in pops {
        pop(e, a, &format!("{name} {t}"), *t, "type", v, Some(name));
    }
}

/// Serves `body` over HTTP on 127.0.0.1 for `n` requests; returns the URL.
pub fn serve(body: &'static str, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..n {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    format!("http://127.0.0.1:{port}/eurofxref-daily.xml")
}

pub const ECB: &str = include_str!("../data/score/ecb.xml");

pub fn network() -> Net {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let mut e = Engine::open(&db).unwrap();
    e.set_now(partnermap::engine::parse_now(NOW).unwrap());
    let vega = org(&mut e, "Vega", "vega.com", "vera@vega.com", Plan::Connector);
    let r = e
        .import_crm(
            &vega,
            &data("score/vega_accounts.csv"),
            &data("score/vega_opportunities.csv"),
            "crm",
        )
        .unwrap();
    assert_eq!((r.accounts, r.opportunities, r.rows_rejected), (51, 93, 0));
    use PopulationType::*;
    pop(
        &mut e,
        &vega,
        "Customers",
        Customers,
        "type",
        "Customer",
        None,
    );
    pop(
        &mut e,
        &vega,
        "Open deals",
        OpenOpportunities,
        "has_open_opportunity",
        "true",
        None,
    );
    pop(
        &mut e,
        &vega,
        "Prospects",
        Prospects,
        "type",
        "Prospect",
        None,
    );
    let cp = [(Customers, "Customer"), (Prospects, "Prospect")];
    offline(&mut e, &vega, "Orion", "orion.csv", &cp);
    offline(&mut e, &vega, "Cygnus", "cygnus.csv", &cp);
    offline(
        &mut e,
        &vega,
        "Lyra",
        "lyra.csv",
        &[(Customers, "Customer")],
    );
    offline(
        &mut e,
        &vega,
        "Draco",
        "draco.csv",
        &[(Customers, "Customer"), (OpenOpportunities, "Open")],
    );
    offline(
        &mut e,
        &vega,
        "Nova",
        "nova.csv",
        &[(Customers, "Customer")],
    );
    offline(
        &mut e,
        &vega,
        "Nadir",
        "nadir.csv",
        &[(Customers, "Customer")],
    );
    offline(
        &mut e,
        &vega,
        "Umber",
        "umber.csv",
        &[(Prospects, "Prospect")],
    );
    // Umbra: online, customers at the default 'counts'.
    let umbra = org(
        &mut e,
        "Umbra",
        "umbra.com",
        "uma@umbra.com",
        Plan::Connector,
    );
    csv(&mut e, &umbra, "umbra.csv", None);
    pop(
        &mut e,
        &umbra,
        "Customers",
        Customers,
        "type",
        "Customer",
        None,
    );
    // Ursa: online, customers at 'overlaps' with name and segment.
    let ursa = org(&mut e, "Ursa", "ursa.io", "ulf@ursa.io", Plan::Connector);
    csv(&mut e, &ursa, "ursa.csv", None);
    pop(
        &mut e,
        &ursa,
        "Customers",
        Customers,
        "segment",
        "Customer",
        None,
    );
    for other in [&umbra, &ursa] {
        e.invite(&vega, other.org.domain.as_deref().unwrap())
            .unwrap();
        e.respond_to_invitation(other, "Vega", true).unwrap();
    }
    e.set_sharing(
        &ursa,
        "Vega",
        "Customers",
        SharingLevel::Overlaps,
        Some(&["name".to_string(), "segment".to_string()]),
    )
    .unwrap();
    // The rates the hand computation uses: EUR 0.8, GBP 0.5, JPY 150 per USD.
    let up = e.fx_update_url(&vega, &serve(ECB, 1)).unwrap();
    assert_eq!((up.as_of.as_str(), up.rates_updated), ("2026-11-20", 5));
    Net {
        dir,
        db,
        e,
        vega,
        umbra,
        ursa,
    }
}
