//! Partner Score, exchange rates, CRM import and recommendations on the hand-built network of
//! tests/data/score (see gen.py there for what each file holds).
//!
//! Vega (the acting org) has closed deals in four groups, all inside the 365 days ending
//! 2026-11-23 (plus one 2024 deal outside):
//!   B : 10 won (1000 USD, 60 days) + 10 lost       — nobody's customers but Nadir's
//!   G1: 10 won (5000 USD, 20 days)                  — customers of Orion, Cygnus (Nova: 9 of them)
//!   G2: 10 won (1000 USD at EUR .8/GBP .5/JPY 150, 60 days) + 10 lost — Lyra's customers
//!   G3: 10 won (500 USD, 90 days) + 30 lost         — Draco's customers

use crate::common;
use crate::score_net;
use common::data;
use partnermap::Engine;
use partnermap::engine::{NewPopulation, PartnerScore, TopSort};
use partnermap::model::{Permission, Plan, PopulationType, Role, SharingLevel};
use partnermap::scoring::Label;
use score_net::*;
use serde_json::json;
use std::net::TcpListener;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[track_caller]
fn assert_close(actual: Option<f64>, expected: f64) {
    let a = actual.expect("a value");
    assert!(close(a, expected), "expected {expected}, got {a}");
}

fn by_name<'a>(v: &'a [PartnerScore], name: &str) -> &'a PartnerScore {
    v.iter().find(|s| s.partner.name == name).unwrap()
}

fn codes(s: &PartnerScore) -> Vec<&'static str> {
    s.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn hand_computed_labels_percentiles_and_metrics() {
    let mut n = network();
    let all = n.e.scores(&n.vega, None).unwrap();
    assert_eq!(all.len(), 9);

    // Orion (and its twin Cygnus): with = G1: 10 of 10 won, 5000 USD, 20 days.
    // base = B+G2+G3: 30 won of 80 closed = 0.375; (10000+10000+5000)/30 = 833.33 USD;
    // (600+600+900)/30 = 70 days. Ratios: 1/0.375 = 8/3; 5000/833.33 = 6 -> clamped 4; 70/20 = 3.5.
    let orion_impact = ((8.0f64 / 3.0).ln() + 4f64.ln() + 3.5f64.ln()) / 3.0; // 1.2066289
    for name in ["Orion", "Cygnus"] {
        let s = by_name(&all, name);
        let m = s.metrics.as_ref().unwrap();
        assert_eq!((m.with.closed_deals, m.with.won_deals), (10, 10));
        assert_close(m.with.win_rate, 1.0);
        assert_close(m.with.avg_size_usd, 5000.0);
        assert_close(m.with.avg_days_to_close, 20.0);
        assert_eq!((m.base.closed_deals, m.base.won_deals), (80, 30));
        assert_close(m.base.win_rate, 0.375);
        assert_close(m.base.avg_size_usd, 25000.0 / 30.0);
        assert_close(m.base.avg_days_to_close, 70.0);
        let r = s.ratios.unwrap();
        assert!(
            close(r.win_rate, 8.0 / 3.0) && close(r.avg_size, 4.0) && close(r.days_to_close, 3.5)
        );
        assert_close(s.impact, orion_impact);
        assert!((s.impact.unwrap() - 1.2066289).abs() < 1e-6);
        // coverage: {cust01-04, openone} of {cust01-06, openone, opentwo} = 5/8
        assert_close(s.coverage_pct, 62.5);
        // 4 scored (Orion = Cygnus > Lyra > Draco): impact (2 + 0.5*2)/4 = 75;
        // coverage: Orion = Cygnus 62.5 > Lyra = Draco 25: (2 + 0.5*2)/4 = 75
        assert_close(s.impact_percentile, 75.0);
        assert_close(s.coverage_percentile, 75.0);
        assert_close(s.s, 75.0);
        assert_eq!(s.label, Label::High);
        assert_eq!(s.won_deals_with_partner, 10);
        assert!(s.reasons.is_empty());
        assert_eq!(s.as_of, "2026-11-23");
        // G1 10 + cust01-04 + pros01-02 + openone
        assert_eq!(s.overlap_count, 17);
    }

    // Lyra: with = G2: 10 won of 20, 1000 USD, 60 days. base = B+G1+G3: 30 of 70 = 3/7;
    // (10000+50000+5000)/30 = 2166.67; (600+200+900)/30 = 56.67 days.
    // Ratios: 0.5/(3/7) = 7/6; 1000/2166.67 = 6/13; 56.67/60 = 17/18.
    let s = by_name(&all, "Lyra");
    let m = s.metrics.as_ref().unwrap();
    assert_eq!((m.with.closed_deals, m.with.won_deals), (20, 10));
    assert_close(m.with.avg_size_usd, 1000.0);
    assert_close(m.base.win_rate, 3.0 / 7.0);
    assert_close(m.base.avg_size_usd, 65000.0 / 30.0);
    assert_close(m.base.avg_days_to_close, 1700.0 / 30.0);
    let r = s.ratios.unwrap();
    assert!(
        close(r.win_rate, 7.0 / 6.0)
            && close(r.avg_size, 6.0 / 13.0)
            && close(r.days_to_close, 17.0 / 18.0)
    );
    assert_close(
        s.impact,
        ((7.0f64 / 6.0).ln() + (6.0f64 / 13.0).ln() + (17.0f64 / 18.0).ln()) / 3.0,
    );
    assert!((s.impact.unwrap() + 0.2253992).abs() < 1e-6);
    assert_close(s.coverage_pct, 25.0); // {cust05, openone} / 8
    assert_close(s.impact_percentile, 37.5); // (1 + 0.5) / 4
    assert_close(s.coverage_percentile, 25.0); // (0 + 0.5*2) / 4
    assert_close(s.s, 33.75); // 0.7*37.5 + 0.3*25
    assert_eq!(s.label, Label::Medium);

    // Draco: with = G3: 10 won of 40, 500 USD, 90 days. base = B+G1+G2: 30 of 50 = 0.6;
    // 70000/30 = 2333.33; 1400/30 = 46.67 days. Ratios: 5/12; 3/14 -> clamped 1/4; 14/27.
    let s = by_name(&all, "Draco");
    let r = s.ratios.unwrap();
    assert!(
        close(r.win_rate, 5.0 / 12.0)
            && close(r.avg_size, 0.25)
            && close(r.days_to_close, 14.0 / 27.0)
    );
    assert_close(
        s.impact,
        ((5.0f64 / 12.0).ln() + 0.25f64.ln() + (14.0f64 / 27.0).ln()) / 3.0,
    );
    assert!((s.impact.unwrap() + 0.9728475).abs() < 1e-6);
    assert_close(s.coverage_pct, 25.0);
    assert_close(s.impact_percentile, 12.5);
    assert_close(s.coverage_percentile, 25.0);
    assert_close(s.s, 16.25); // 0.7*12.5 + 0.3*25
    assert_eq!(s.label, Label::Low);

    // Nova: 9 won deals with it in the window (the 2024 deal would have made 10).
    let s = by_name(&all, "Nova");
    assert_eq!(s.label, Label::None);
    assert_eq!(codes(s), vec!["too_few_won_deals"]);
    assert_eq!(s.won_deals_with_partner, 9);
    assert_eq!(s.impact_percentile, None);
    assert_eq!(s.s, None);
    // Nadir has every deal: the base is empty, each ratio 1, impact exactly 0.
    let s = by_name(&all, "Nadir");
    assert_eq!(s.label, Label::None);
    assert_eq!(codes(s), vec!["zero_impact"]);
    assert_eq!(s.won_deals_with_partner, 40);
    assert_eq!(s.impact, Some(0.0));
    assert_eq!(s.overlap_count, 40);
    // Ursa (online, shares customers at overlaps): 5 won deals -> None.
    let s = by_name(&all, "Ursa");
    assert_eq!(
        (s.label, codes(s)),
        (Label::None, vec!["too_few_won_deals"])
    );
    assert_eq!(s.won_deals_with_partner, 5);
    // Umber: an offline partner with no customers population.
    let s = by_name(&all, "Umber");
    assert_eq!(
        (s.label, codes(s)),
        (Label::Unknown, vec!["partner_no_customers"])
    );
    assert_close(s.coverage_pct, 12.5); // opentwo
    // Umbra: customers at 'counts' only.
    let s = by_name(&all, "Umbra");
    assert_eq!(
        (s.label, codes(s)),
        (Label::Unknown, vec!["partner_not_sharing_customers"])
    );
    assert_eq!(s.overlap_count, 2);

    // partner_score for one partner agrees; as_of moves the window.
    let one = n.e.partner_score(&n.vega, "orion", None).unwrap();
    assert_eq!((one.label, one.s), (Label::High, Some(75.0)));
    // With the window ending 2026-02-15 no G-group won deal has closed yet (earliest 2026-03-02):
    let early =
        n.e.partner_score(
            &n.vega,
            "Orion",
            Some(partnermap::engine::parse_as_of("2026-02-15").unwrap()),
        )
        .unwrap();
    assert_eq!(
        (early.label, early.won_deals_with_partner),
        (Label::None, 0)
    );

    // Hiding Umbra's customers makes the population indistinguishable from a missing one.
    n.e.set_sharing(&n.umbra, "Vega", "Customers", SharingLevel::Hidden, None)
        .unwrap();
    let s = n.e.partner_score(&n.vega, "Umbra", None).unwrap();
    assert_eq!(codes(&s), vec!["partner_no_customers"]);
}

#[test]
fn partners_carry_score_labels() {
    let n = network();
    let list = n.e.list_partners(&n.vega, None).unwrap();
    let label = |name: &str| list.iter().find(|p| p.name() == name).unwrap().score_label;
    assert_eq!(label("Orion"), Some(Label::High));
    assert_eq!(label("Lyra"), Some(Label::Medium));
    assert_eq!(label("Draco"), Some(Label::Low));
    assert_eq!(label("Nova"), Some(Label::None));
    assert_eq!(label("Umbra"), Some(Label::Unknown));
    assert_eq!(
        n.e.get_partner(&n.vega, "Cygnus")
            .unwrap()
            .summary
            .score_label,
        Some(Label::High)
    );
    // Ursa's own view of Vega: Vega shares nothing at overlaps -> Unknown.
    let ursa_view = n.e.list_partners(&n.ursa, None).unwrap();
    assert_eq!(ursa_view[0].score_label, Some(Label::Unknown));
}

#[test]
fn currency_table_changes_scores() {
    let n = network();
    let mut e = n.e;
    // With the ECB file's rates (EUR .8, GBP .5, JPY 150) every G2 won deal is 1000 USD.
    let lyra = e.partner_score(&n.vega, "Lyra", None).unwrap();
    assert_close(lyra.metrics.unwrap().with.avg_size_usd, 1000.0);
    // GBP 0.25 per USD: the three 500 GBP deals are 2000 USD each:
    // (7*1000 + 3*2000)/10 = 1300; size ratio 1300 / (65000/30) = 0.6.
    e.fx_set(&n.vega, "gbp", 0.25).unwrap();
    let lyra = e.partner_score(&n.vega, "Lyra", None).unwrap();
    assert_close(lyra.metrics.as_ref().unwrap().with.avg_size_usd, 1300.0);
    assert_close(Some(lyra.ratios.unwrap().avg_size), 0.6);
    assert_close(
        lyra.impact,
        ((7.0f64 / 6.0).ln() + 0.6f64.ln() + (17.0f64 / 18.0).ln()) / 3.0,
    );
    // Orion's base now has (10000 + 13000 + 5000)/30 USD a won deal.
    let orion = e.partner_score(&n.vega, "Orion", None).unwrap();
    assert_close(orion.metrics.unwrap().base.avg_size_usd, 28000.0 / 30.0);
    // fx list shows the table with sources.
    let rates = e.fx_rates().unwrap();
    let gbp = rates.iter().find(|r| r.currency == "GBP").unwrap();
    assert_eq!((gbp.per_usd, gbp.source.as_str()), (0.25, "manual"));
    let jpy = rates.iter().find(|r| r.currency == "JPY").unwrap();
    assert!(close(jpy.per_usd, 150.0) && jpy.as_of == "2026-11-20");
    let sek = rates.iter().find(|r| r.currency == "SEK").unwrap();
    assert_eq!(sek.source, "built-in");
    // Bad rates are refused.
    assert!(e.fx_set(&n.vega, "GBP", 0.0).is_err());
    assert!(e.fx_set(&n.vega, "POUND", 1.0).is_err());
}

#[test]
fn builtin_table_converts_before_any_update() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::open(&dir.path().join("pm.db")).unwrap();
    e.set_now(partnermap::engine::parse_now("2026-11-23").unwrap());
    let v = org(&mut e, "Vega", "vega.com", "vera@vega.com", Plan::Connector);
    e.import_crm(
        &v,
        &data("score/vega_accounts.csv"),
        &data("score/vega_opportunities.csv"),
        "crm",
    )
    .unwrap();
    pop(
        &mut e,
        &v,
        "Customers",
        PopulationType::Customers,
        "type",
        "Customer",
        None,
    );
    offline(
        &mut e,
        &v,
        "Lyra",
        "lyra.csv",
        &[(PopulationType::Customers, "Customer")],
    );
    // Built-in: EUR 0.86, GBP 0.76, JPY 154.5 per USD:
    // (3*800/0.86 + 3*500/0.76 + 2*150000/154.5 + 2*1000)/10
    //   = (2790.6977 + 1973.6842 + 1941.7476 + 2000)/10 = 870.61295
    let s = e.partner_score(&v, "Lyra", None).unwrap();
    let size = s.metrics.unwrap().with.avg_size_usd.unwrap();
    assert!((size - 870.61295).abs() < 1e-4, "{size}");
}

#[test]
fn fx_update_from_file_and_unreachable_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::open(&dir.path().join("pm.db")).unwrap();
    let v = org(&mut e, "Vega", "vega.com", "vera@vega.com", Plan::Connector);
    let r = e.fx_update_file(&v, &data("score/ecb.xml")).unwrap();
    assert_eq!(r.rates_updated, 5); // USD, EUR, JPY, GBP, CHF
    let t = e.fx_table().unwrap();
    assert!(close(t.per_usd("CHF").unwrap(), 0.8)); // 1.0 / 1.25
    // A closed port on 127.0.0.1: a clear error, and the table is unchanged.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let before = e.fx_rates().unwrap();
    let err = e
        .fx_update_url(&v, &format!("http://127.0.0.1:{port}/eurofxref-daily.xml"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot fetch exchange rates"), "{msg}");
    assert!(msg.contains("offline") && msg.contains("--file"), "{msg}");
    assert_eq!(e.fx_rates().unwrap(), before);
    // Not an ECB document: refused, table unchanged.
    let err = e
        .fx_update_url(&v, &serve("<html>nope</html>", 1))
        .unwrap_err();
    assert!(err.to_string().contains("unchanged"), "{err}");
    assert_eq!(e.fx_rates().unwrap(), before);
    // Members may not change rates.
    let m = common::add_user(&mut e, &v, "mo@vega.com", Role::Member, &[]);
    assert!(matches!(
        e.fx_set(&m, "EUR", 0.9),
        Err(partnermap::Error::Forbidden(_))
    ));
}

#[test]
fn unknown_reasons_of_the_acting_org() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::open(&dir.path().join("pm.db")).unwrap();
    e.set_now(partnermap::engine::parse_now("2026-11-23").unwrap());
    // Wren: explorer plan, deals without a stage column, no customers population; its one
    // offline partner has prospects only. Every reason is reported.
    let wren = org(&mut e, "Wren", "wren.com", "wes@wren.com", Plan::Explorer);
    let r = e
        .import_crm(
            &wren,
            &data("score/wren_accounts.csv"),
            &data("score/wren_opportunities.csv"),
            "crm",
        )
        .unwrap();
    assert_eq!(r.missing_columns, vec!["stage"]);
    offline(
        &mut e,
        &wren,
        "Wren Partner",
        "wren_partner.csv",
        &[(PopulationType::Prospects, "Prospect")],
    );
    let s = e.partner_score(&wren, "Wren Partner", None).unwrap();
    assert_eq!(s.label, Label::Unknown);
    assert_eq!(
        codes(&s),
        vec![
            "explorer_plan",
            "deals_missing_fields",
            "no_customers_population",
            "partner_no_customers"
        ]
    );
    assert!(s.reasons[1].message.contains("stage missing on 1 deal"));
    // Xeno: a CSV source only.
    let xeno = org(&mut e, "Xeno", "xeno.com", "xia@xeno.com", Plan::Connector);
    csv(&mut e, &xeno, "xeno.csv", None);
    pop(
        &mut e,
        &xeno,
        "Customers",
        PopulationType::Customers,
        "type",
        "Customer",
        None,
    );
    offline(
        &mut e,
        &xeno,
        "Xeno Partner",
        "xeno_partner.csv",
        &[(PopulationType::Customers, "Customer")],
    );
    let s = e.partner_score(&xeno, "Xeno Partner", None).unwrap();
    assert_eq!(
        (s.label, codes(&s)),
        (Label::Unknown, vec!["no_crm_source"])
    );
}

#[test]
fn crm_import_errors_reimport_and_derived_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::open(&dir.path().join("pm.db")).unwrap();
    let v = org(&mut e, "Vega", "vega.com", "vera@vega.com", Plan::Connector);
    let r = e
        .import_crm(
            &v,
            &data("score/bad_accounts.csv"),
            &data("score/bad_opportunities.csv"),
            "crm",
        )
        .unwrap();
    let errs: Vec<(&str, u64)> = r.errors.iter().map(|e| (e.file, e.line)).collect();
    assert_eq!(
        errs,
        vec![
            ("accounts", 3),       // no name
            ("accounts", 4),       // duplicate id
            ("accounts", 5),       // employees 'many'
            ("opportunities", 3),  // unknown account A9
            ("opportunities", 4),  // amount 12abc
            ("opportunities", 5),  // currency XYZ unknown to the table
            ("opportunities", 6),  // 2026/01/01
            ("opportunities", 7),  // is_won yes
            ("opportunities", 8),  // close before open
            ("opportunities", 10)  // EURO
        ]
    );
    assert!(r.errors[3].reason.contains("A9"));
    assert!(r.errors[5].reason.contains("XYZ") && r.errors[5].reason.contains("fx set"));
    assert!(r.errors[8].reason.contains("before"));
    assert_eq!((r.accounts, r.opportunities), (2, 2));
    // Derived fields make standard populations on CRM data possible.
    let open = pop(
        &mut e,
        &v,
        "Open deals",
        PopulationType::OpenOpportunities,
        "has_open_opportunity",
        "true",
        None,
    );
    let pops = e.list_populations(&v, None).unwrap();
    assert_eq!(pops.iter().find(|p| p.id == open).unwrap().record_count, 1); // Gamma (A4)
    let won = e
        .create_population(
            &v,
            &NewPopulation {
                name: "Won".into(),
                pop_type: PopulationType::Customers,
                data_source: Some("crm".into()),
                filters: json!([{"field": "won_opportunities", "op": "gte", "value": 1}]),
                partner: None,
            },
        )
        .unwrap();
    assert_eq!(won.record_count, 1); // Acme (A1)
    // Re-import under the same name replaces, in one transaction, and refreshes populations.
    let r = e
        .import_crm(
            &v,
            &data("score/vega_accounts.csv"),
            &data("score/vega_opportunities.csv"),
            "crm",
        )
        .unwrap();
    assert!(r.replaced);
    assert_eq!(r.populations_refreshed, 2);
    let pops = e.list_populations(&v, None).unwrap();
    assert_eq!(pops.iter().find(|p| p.id == open).unwrap().record_count, 2); // openone, opentwo
    let n_opps: i64 = e
        .conn()
        .query_row("SELECT count(*) FROM opportunities", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n_opps, 93);
    // A whole-file problem imports nothing.
    let before = e.dump().unwrap();
    assert!(
        e.import_crm(
            &v,
            &data("score/xeno.csv"),
            &data("score/vega_opportunities.csv"),
            "crm"
        )
        .is_err()
    );
    assert_eq!(e.dump().unwrap(), before);
    // Only data managers import.
    let m = common::add_user(
        &mut e,
        &v,
        "mo@vega.com",
        Role::PartnerManager,
        &[Permission::ManageSharing],
    );
    assert!(matches!(
        e.import_crm(
            &m,
            &data("score/vega_accounts.csv"),
            &data("score/vega_opportunities.csv"),
            "crm2"
        ),
        Err(partnermap::Error::Forbidden(_))
    ));
    // A CSV source's name cannot be reused for CRM data.
    csv(&mut e, &v, "xeno.csv", None);
    assert!(
        e.import_crm(
            &v,
            &data("score/vega_accounts.csv"),
            &data("score/vega_opportunities.csv"),
            "list"
        )
        .is_err()
    );
}

#[test]
fn top_partners_pipeline_deals_and_lookup() {
    let n = network();
    let names = |v: &[partnermap::engine::TopPartner]| -> Vec<String> {
        v.iter().map(|p| p.name.clone()).collect()
    };
    // Label, then s, then coverage, then name.
    let top = n.e.top_partners(&n.vega, TopSort::Score, 20, None).unwrap();
    assert_eq!(
        names(&top),
        vec![
            "Cygnus", "Orion", "Lyra", "Draco", "Nadir", "Nova", "Ursa", "Umber", "Umbra"
        ]
    );
    assert_eq!(
        n.e.top_partners(&n.vega, TopSort::Score, 2, None)
            .unwrap()
            .len(),
        2
    );
    // Overlap counts: Nadir 40, Orion = Cygnus 17, Lyra 13, Draco 12, Nova 9, Ursa 5, Umbra 2, Umber 1.
    let top =
        n.e.top_partners(&n.vega, TopSort::Overlap, 20, None)
            .unwrap();
    assert_eq!(
        names(&top),
        vec![
            "Nadir", "Cygnus", "Orion", "Lyra", "Draco", "Nova", "Ursa", "Umbra", "Umber"
        ]
    );
    // Win-rate lift: Orion 1/0.375 = 2.667; Nova 1/(31/81) = 2.613; Lyra 7/6 = 1.167;
    // Ursa 0.5/(35/80) = 1.143; Draco 0.25/0.6 = 0.417.
    let top =
        n.e.top_partners(&n.vega, TopSort::WinRateLift, 6, None)
            .unwrap();
    assert_eq!(
        names(&top),
        vec!["Cygnus", "Orion", "Nova", "Lyra", "Ursa", "Draco"]
    );
    assert_close(top[2].win_rate_lift, 81.0 / 31.0);
    // Coverage: 62.5 (Orion, Cygnus), 25 (Lyra, Draco), 12.5 (Umber, Umbra), 0.
    let top =
        n.e.top_partners(&n.vega, TopSort::Coverage, 6, None)
            .unwrap();
    assert_eq!(
        names(&top),
        vec!["Cygnus", "Orion", "Lyra", "Draco", "Umber", "Umbra"]
    );

    // Pipeline: Vega's prospects that are partners' customers or open opportunities.
    // pros01, pros02: Orion + Cygnus customers (both High) -> top prospects, first. Umbra also
    // has pros01, but shares at counts only: never named. Open One has two partners, neither
    // High: not a top prospect.
    let p =
        n.e.pipeline_generation(&n.vega, &Default::default(), 50)
            .unwrap();
    let rows: Vec<(String, bool, Vec<String>)> = p
        .accounts
        .iter()
        .map(|a| {
            (
                a.record.name.clone(),
                a.top_prospect,
                a.partners.iter().map(|x| x.text.name.0.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "Pros 01".to_string(),
                true,
                vec!["Cygnus".to_string(), "Orion".to_string()]
            ),
            (
                "Pros 02".to_string(),
                true,
                vec!["Cygnus".to_string(), "Orion".to_string()]
            ),
            (
                "Open One".to_string(),
                false,
                vec!["Lyra".to_string(), "Draco".to_string()]
            ),
            ("Pros 03".to_string(), false, vec!["Lyra".to_string()]),
        ]
    );
    assert_eq!(
        p.accounts[2].partners[1].text.partner_population.0,
        "Draco open_opportunities"
    );
    // A named population instead.
    let p =
        n.e.pipeline_generation(
            &n.vega,
            &partnermap::engine::PipelineQuery {
                population: Some("Customers".into()),
                ..Default::default()
            },
            50,
        )
        .unwrap();
    assert_eq!(p.total, 6); // cust01-06 each with a partner
    assert!(
        p.accounts
            .iter()
            .all(|a| !a.top_prospect || a.partners.len() >= 2)
    );

    // Deal navigator: a recent thread with Orion about Open One lifts it over Cygnus.
    let open_one =
        n.e.account_lookup(&n.vega, "openone.com")
            .unwrap()
            .account
            .id;
    let orion_id = n.e.resolve_partner(&n.vega, "Orion").unwrap().org.id;
    n.e.conn()
        .execute_batch(&format!(
            "INSERT INTO threads (id, org_a, org_b, record_id, account, created_at, updated_at)
               VALUES (900, {}, {orion_id}, {open_one}, 'Open One', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z');
             INSERT INTO thread_messages (thread_id, body, created_at) VALUES (900, 'hi', '2026-11-02T00:00:00Z');",
            n.vega.org.id
        ))
        .unwrap();
    let d =
        n.e.deal_navigator(&n.vega, &Default::default(), 10, None)
            .unwrap();
    assert_eq!(d.open_opportunities, 2);
    let first = &d.opportunities[0];
    assert_eq!(first.account.name, "Open One");
    assert_close(first.opportunity.usd_amount(), 20000.0);
    let recs: Vec<(&str, partnermap::engine::Signal, Label, bool)> = first
        .recommendations
        .iter()
        .map(|r| {
            (
                r.partner.name.as_str(),
                r.signal,
                r.label,
                r.recent_thread_activity(),
            )
        })
        .collect();
    use partnermap::engine::Signal::*;
    assert_eq!(
        recs,
        vec![
            ("Lyra", Customer, Label::Medium, false),
            ("Draco", OpenOpportunity, Label::Low, false),
            ("Orion", Prospect, Label::High, true),
            ("Cygnus", Prospect, Label::High, false),
        ]
    );
    let second = &d.opportunities[1];
    assert_eq!(second.account.name, "Open Two");
    assert_close(second.opportunity.usd_amount(), 6250.0); // 5000 EUR at 0.8
    assert_eq!(second.recommendations[0].partner.name, "Umber");

    // The summary totals every matching deal; filters and sorts answer without paging.
    use partnermap::engine::{DealQuery, DealSort, PipelineQuery};
    assert_eq!(d.summary.deals, 2);
    assert_eq!(d.summary.deals_with_help, 2);
    assert!((d.summary.amount_usd - 26250.0).abs() < 1e-6);
    let nav = |q: DealQuery| n.e.deal_navigator(&n.vega, &q, 10, None).unwrap();
    let deal_names = |d: &partnermap::engine::DealNavigator| -> Vec<String> {
        d.opportunities
            .iter()
            .map(|i| i.account.name.clone())
            .collect()
    };
    let by_draco = nav(DealQuery {
        partner: Some("Draco".into()),
        ..Default::default()
    });
    assert_eq!(deal_names(&by_draco), vec!["Open One"]);
    assert_eq!(by_draco.summary.deals, 1);
    assert_eq!(by_draco.open_opportunities, 2);
    assert!(
        by_draco.opportunities[0]
            .recommendations
            .iter()
            .all(|r| r.partner.name == "Draco")
    );
    let high = nav(DealQuery {
        label: Some(Label::High),
        ..Default::default()
    });
    let high_recs: Vec<&str> = high.opportunities[0]
        .recommendations
        .iter()
        .map(|r| r.partner.name.as_str())
        .collect();
    assert_eq!(high_recs, vec!["Orion", "Cygnus"]);
    let customers = nav(DealQuery {
        signal: Some(Customer),
        ..Default::default()
    });
    assert!(customers.opportunities.iter().all(|i| {
        !i.recommendations.is_empty() && i.recommendations.iter().all(|r| r.signal == Customer)
    }));
    let big = nav(DealQuery {
        min_amount_usd: Some(10000.0),
        ..Default::default()
    });
    assert_eq!(deal_names(&big), vec!["Open One"]);
    assert!((big.summary.amount_usd - 20000.0).abs() < 1e-6);
    let small_first = nav(DealQuery {
        max_amount_usd: Some(10000.0),
        ..Default::default()
    });
    assert_eq!(deal_names(&small_first), vec!["Open Two"]);
    let one = nav(DealQuery {
        account: Some("openone.com".into()),
        ..Default::default()
    });
    assert_eq!(deal_names(&one), vec!["Open One"]);
    let closing = nav(DealQuery {
        close_to: Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
        ..Default::default()
    });
    assert_eq!(deal_names(&closing), vec!["Open One"]); // Open Two has no close date
    let by_amount = nav(DealQuery {
        sort: DealSort::Amount,
        ..Default::default()
    });
    assert_eq!(deal_names(&by_amount), vec!["Open One", "Open Two"]);
    let by_close = nav(DealQuery {
        sort: DealSort::CloseDate,
        ..Default::default()
    });
    assert_eq!(deal_names(&by_close), vec!["Open One", "Open Two"]);
    let proposal = nav(DealQuery {
        stage: Some("proposal".into()),
        ..Default::default()
    });
    assert_eq!(proposal.summary.deals, 2);
    let none = nav(DealQuery {
        stage: Some("Negotiation".into()),
        ..Default::default()
    });
    assert_eq!(none.summary.deals, 0);
    assert!(none.opportunities.is_empty());
    let err =
        n.e.deal_navigator(
            &n.vega,
            &DealQuery {
                min_amount_usd: Some(5.0),
                max_amount_usd: Some(1.0),
                ..Default::default()
            },
            10,
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("amount range is empty"), "{err}");
    let err =
        n.e.deal_navigator(
            &n.vega,
            &DealQuery {
                partner: Some("Nobody Inc".into()),
                ..Default::default()
            },
            10,
            None,
        )
        .unwrap_err();
    assert!(matches!(err, partnermap::Error::NotFound(_)), "{err}");

    // Pipeline filters: one partner, one label, one partner population type.
    let pipe = |q: PipelineQuery| {
        n.e.pipeline_generation(&n.vega, &q, 50)
            .unwrap()
            .accounts
            .iter()
            .map(|a| {
                (
                    a.record.name.clone(),
                    a.partners
                        .iter()
                        .map(|x| x.text.name.0.clone())
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    let lyra = pipe(PipelineQuery {
        partner: Some("Lyra".into()),
        ..Default::default()
    });
    assert_eq!(
        lyra,
        vec![
            ("Open One".to_string(), vec!["Lyra".to_string()]),
            ("Pros 03".to_string(), vec!["Lyra".to_string()]),
        ]
    );
    let best = pipe(PipelineQuery {
        label: Some(Label::High),
        ..Default::default()
    });
    assert_eq!(
        best.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["Pros 01", "Pros 02"]
    );
    let opps =
        n.e.pipeline_generation(
            &n.vega,
            &PipelineQuery {
                partner_population_type: Some(partnermap::model::PopulationType::OpenOpportunities),
                ..Default::default()
            },
            50,
        )
        .unwrap();
    assert!(opps.accounts.iter().any(|a| a.record.name == "Open One"));
    assert!(opps.accounts.iter().all(|a| {
        a.partners
            .iter()
            .all(|p| p.population_type == partnermap::model::PopulationType::OpenOpportunities)
    }));

    // Account lookup by domain, name and id; counts-level populations stay silent.
    let l =
        n.e.account_lookup(&n.vega, "https://www.pros01.com/")
            .unwrap();
    let who: Vec<&str> = l.partners.iter().map(|p| p.partner.name.as_str()).collect();
    assert_eq!(who, vec!["Cygnus", "Orion"]);
    let l = n.e.account_lookup(&n.vega, "G2ACCT 01").unwrap();
    let ursa = l
        .partners
        .iter()
        .find(|p| p.partner.name == "Ursa")
        .unwrap();
    assert_eq!(
        ursa.partner_populations[0].sharing_level,
        SharingLevel::Overlaps
    );
    assert_eq!(ursa.text.visible_fields, vec!["name", "segment"]);
    assert_eq!(
        serde_json::Value::Object(ursa.text.partner_record.clone()),
        json!({"name": "G2 co 01", "segment": "Customer"})
    );
    let by_id =
        n.e.account_lookup(&n.vega, &l.account.id.to_string())
            .unwrap();
    assert_eq!(by_id.account.name, "G2ACCT 01");
    // Another org's record id is not Vega's account.
    let err =
        n.e.account_lookup(&n.ursa, &l.account.id.to_string())
            .unwrap_err();
    assert!(matches!(err, partnermap::Error::NotFound(_)));
}

#[test]
fn cli_verbs() {
    let n = network();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_partnermap"))
            .args([
                "--db",
                n.db.to_str().unwrap(),
                "--as",
                "vera@vega.com",
                "--json",
            ])
            .args(args)
            .env("PARTNERMAP_NOW", "2026-11-23")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let s = run(&["score", "Lyra"]);
    assert_eq!(s["label"], "Medium");
    assert_eq!(s["s"], 33.8, "rounded as served");
    assert_eq!(s["metrics"]["with"]["won_deals"], 10);
    let t = run(&["top", "--limit", "3"]);
    assert_eq!(t["partners"][0]["partner_supplied"]["name"], "Cygnus");
    assert_eq!(t["partners"].as_array().unwrap().len(), 3);
    let f = run(&["fx", "list"]);
    assert!(
        f["rates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["currency"] == "GBP" && r["per_usd"] == 0.5)
    );
    let f = run(&["fx", "set", "SEK", "10"]);
    assert_eq!(f["per_usd"], 10.0);
    let p = run(&["pipeline"]);
    assert_eq!(p["accounts"][0]["top_prospect"], true);
    let d = run(&["deals", "--limit", "1"]);
    assert_eq!(
        d["opportunities"][0]["recommendations"][0]["signal"],
        "customer"
    );
    let l = run(&["lookup", "pros01.com"]);
    assert_eq!(l["partners"].as_array().unwrap().len(), 2);
    let r = run(&[
        "import-crm",
        "--accounts",
        data("score/vega_accounts.csv").to_str().unwrap(),
        "--opportunities",
        data("score/vega_opportunities.csv").to_str().unwrap(),
    ]);
    assert_eq!(r["replaced"], true);
}
