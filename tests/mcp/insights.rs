//! partner_suggestions, partner_influence and new_accounts, end to end: the engine, the MCP
//! tools over the built binary, and the CLI verbs, on the hand-built network of
//! tests/insights_net (every expected number is worked out there and below).

use crate::insights_net;
use crate::mcp_common;
use insights_net::{NOW, VERA, network};
use partnermap::engine::{InfluenceGroup, Measures, Period, SuggestionSignal, SuggestionStatus};
use partnermap::model::{PopulationType, SharingLevel};
use serde_json::{Value, json};

fn period(p: &str) -> Period {
    Period::parse(
        Some(p),
        None,
        None,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    )
    .unwrap()
}

fn m(
    opened: i64,
    opened_usd: i64,
    won: i64,
    won_usd: i64,
    lost: i64,
    lost_usd: i64,
    win_rate_pct: Option<f64>,
) -> Measures {
    Measures {
        opened,
        opened_usd,
        won,
        won_usd,
        lost,
        lost_usd,
        win_rate_pct,
    }
}

#[test]
fn suggestions_rank_by_signals_that_reveal_nothing() {
    let n = network();
    let s = n.e.partner_suggestions(&n.vega, 10).unwrap();
    // Reachable: every online org but Vega and its active partners Orion and Lyra:
    // Nadir, Xeno, Yarrow, Zeta, Quill, Wren. Wren has no signal and is left out.
    assert_eq!((s.reachable, s.total, s.omitted), (6, 5, None));
    let names: Vec<&str> = s
        .suggestions
        .iter()
        .map(|x| x.org.text.name.0.as_str())
        .collect();
    // Quill: your customer; Xeno: your prospect (+1 mutual); Nadir: 2 mutual partners;
    // Zeta: 1 mutual + revoked; Yarrow: declined.
    assert_eq!(names, ["Quill", "Xeno", "Nadir", "Zeta", "Yarrow"]);
    let by = |name: &str| {
        s.suggestions
            .iter()
            .find(|x| x.org.text.name.0 == name)
            .unwrap()
    };
    let quill = by("Quill");
    assert_eq!(quill.status, SuggestionStatus::InvitationReceived);
    assert_eq!(
        quill.org.text.domain.as_ref().map(|d| d.0.as_str()),
        Some("quill.io")
    );
    assert_eq!(
        quill.signals,
        [SuggestionSignal::YourAccount {
            population_type: "customers".into(),
            population: "Customers".into()
        }]
    );
    assert_eq!(
        by("Xeno").signals,
        [
            SuggestionSignal::YourAccount {
                population_type: "prospects".into(),
                population: "Prospects".into()
            },
            SuggestionSignal::MutualPartners { count: 1 }
        ]
    );
    assert_eq!(by("Xeno").status, SuggestionStatus::NotPartnered);
    assert_eq!(
        by("Nadir").signals,
        [SuggestionSignal::MutualPartners { count: 2 }]
    );
    assert_eq!(
        (by("Zeta").status, &by("Zeta").signals[..]),
        (
            SuggestionStatus::Revoked,
            &[
                SuggestionSignal::MutualPartners { count: 1 },
                SuggestionSignal::PastPartnership {
                    status: "revoked".into()
                }
            ][..]
        )
    );
    assert_eq!(by("Yarrow").status, SuggestionStatus::Declined);
    // The limit cuts and says how many were left out.
    let two = n.e.partner_suggestions(&n.vega, 2).unwrap();
    assert_eq!(
        (two.suggestions.len(), two.total, two.omitted),
        (2, 5, Some(3))
    );

    // From Orion's side: its active partners are Vega, Nadir and Xeno; Lyra is reachable with
    // two mutual partners (Vega, Nadir), Zeta with none of Orion's partners... Zeta is Lyra's.
    let o = n.e.partner_suggestions(&n.orion, 10).unwrap();
    let lyra = o
        .suggestions
        .iter()
        .find(|x| x.org.text.name.0 == "Lyra")
        .unwrap();
    assert_eq!(
        lyra.signals,
        [SuggestionSignal::MutualPartners { count: 2 }]
    );
    assert!(
        o.suggestions
            .iter()
            .all(|x| !["Vega", "Nadir", "Xeno", "Orion"].contains(&x.org.text.name.0.as_str()))
    );
    // No overlap figure exists with a non-partner: the only account signal is the org's own domain.
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("overlap"), "{json}");
}

#[test]
fn influence_splits_deals_by_visible_partner_overlap() {
    let mut n = network();
    let q4 = period("2026-Q4");
    assert_eq!(q4, Period::parse(None, None, None, n.e.today()).unwrap());
    let r =
        n.e.partner_influence(&n.vega, q4, None, InfluenceGroup::Partner, 50)
            .unwrap();
    // With partner = accounts in a population a partner shares record by record: Orion's
    // customers at full (Acme) or Umber's (offline: Echo). Orion's prospects (Crane) are shared
    // at counts only, which gives overlap figures in the matrix and nothing per deal; Lyra's
    // customers (Bolt, Delta) are hidden; Nadir is no partner.
    // with: opened d1 1000 + d6 700; won d1; lost d2 (500 EUR = 625 USD).
    assert_eq!(
        r.totals.with_partner,
        m(2, 1700, 1, 1000, 1, 625, Some(50.0))
    );
    // without: opened d3 2000 + d4 3000 + d7 400 + d8 900; won d4 + d7; lost d5.
    assert_eq!(
        r.totals.without_partner,
        m(4, 6300, 2, 3400, 1, 1500, Some(66.7))
    );
    assert_eq!(r.partners_counted, 3);
    let rows: Vec<(&str, &Measures)> = r
        .rows
        .iter()
        .map(|x| (x.partner.as_ref().unwrap().name(), &x.measures))
        .collect();
    // Lyra has no visible overlap with a deal: no row.
    assert_eq!(
        rows,
        [
            ("Orion", &m(1, 1000, 1, 1000, 1, 625, Some(50.0))),
            ("Umber", &m(1, 700, 0, 0, 0, 0, None)),
        ]
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["period"],
        json!({"from": "2026-10-01", "to": "2026-12-31"})
    );
    assert_eq!(v["group_by"], "partner");
    assert_eq!(
        v["rows"][1],
        json!({"partner": {"id": r.rows[1].partner.as_ref().unwrap().id, "partner_supplied": {"name": "Umber"}},
        "opened": 1, "opened_usd": 700, "won": 0, "won_usd": 0, "lost": 0, "lost_usd": 0})
    );
    assert!(v.get("rows_omitted").is_none());

    // Per month (with-partner deals).
    let r =
        n.e.partner_influence(&n.vega, q4, None, InfluenceGroup::Period, 50)
            .unwrap();
    let rows: Vec<(&str, &Measures)> = r
        .rows
        .iter()
        .map(|x| (x.period.as_deref().unwrap(), &x.measures))
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-10", &m(1, 1000, 0, 0, 1, 625, Some(0.0))),
            ("2026-11", &m(1, 700, 1, 1000, 0, 0, Some(100.0))),
            ("2026-12", &m(0, 0, 0, 0, 0, 0, None)),
        ]
    );

    // One partner: totals with and without Orion alone.
    let r =
        n.e.partner_influence(&n.vega, q4, Some("orion"), InfluenceGroup::Partner, 50)
            .unwrap();
    assert_eq!(
        r.totals.with_partner,
        m(1, 1000, 1, 1000, 1, 625, Some(50.0))
    );
    assert_eq!(
        r.totals.without_partner,
        m(5, 7000, 2, 3400, 1, 1500, Some(66.7))
    );
    assert_eq!(r.rows.len(), 1);
    // Lyra named: a row of zeros (its only overlaps are hidden).
    let r =
        n.e.partner_influence(&n.vega, q4, Some("Lyra"), InfluenceGroup::Partner, 50)
            .unwrap();
    assert_eq!(r.totals.with_partner, m(0, 0, 0, 0, 0, 0, None));
    assert_eq!(r.rows[0].measures, m(0, 0, 0, 0, 0, 0, None));

    // A month: September: d2 opened (with Orion), d9 won (Bolt: nobody's visible).
    let r =
        n.e.partner_influence(
            &n.vega,
            period("2026-09"),
            None,
            InfluenceGroup::Partner,
            50,
        )
        .unwrap();
    assert_eq!(r.totals.with_partner, m(1, 625, 0, 0, 0, 0, None));
    assert_eq!(
        r.totals.without_partner,
        m(0, 0, 1, 1200, 0, 0, Some(100.0))
    );

    // Non-partners never yield a figure: Nadir is not a partner, Yarrow declined.
    let e =
        n.e.partner_influence(&n.vega, q4, Some("Nadir"), InfluenceGroup::Partner, 50)
            .unwrap_err()
            .to_string();
    assert!(e.contains("No partner named 'Nadir'"), "{e}");
    let e =
        n.e.partner_influence(&n.vega, q4, Some("Yarrow"), InfluenceGroup::Partner, 50)
            .unwrap_err()
            .to_string();
    assert!(e.contains("not active"), "{e}");

    // Lyra shows its customers at counts: figures only, no deal counts as Lyra's.
    n.e.set_sharing(&n.lyra, "Vega", "Customers", SharingLevel::Counts, None)
        .unwrap();
    let r =
        n.e.partner_influence(&n.vega, q4, None, InfluenceGroup::Partner, 50)
            .unwrap();
    assert_eq!(
        r.totals.with_partner,
        m(2, 1700, 1, 1000, 1, 625, Some(50.0))
    );
    // At overlaps (record by record): Bolt and Delta now count, as Lyra's.
    n.e.set_sharing(&n.lyra, "Vega", "Customers", SharingLevel::Overlaps, None)
        .unwrap();
    let r =
        n.e.partner_influence(&n.vega, q4, None, InfluenceGroup::Partner, 50)
            .unwrap();
    // with: + d3 2000, d8 900 opened; + d5 lost 1500. without: d4 and d7.
    assert_eq!(
        r.totals.with_partner,
        m(4, 4600, 1, 1000, 2, 2125, Some(33.3))
    );
    assert_eq!(
        r.totals.without_partner,
        m(2, 3400, 2, 3400, 0, 0, Some(100.0))
    );
    let lyra = r
        .rows
        .iter()
        .find(|x| x.partner.as_ref().unwrap().name() == "Lyra")
        .unwrap();
    assert_eq!(lyra.measures, m(2, 2900, 0, 0, 1, 1500, Some(0.0)));
    // limit cuts the partner rows and counts the rest.
    let r =
        n.e.partner_influence(&n.vega, q4, None, InfluenceGroup::Partner, 1)
            .unwrap();
    assert_eq!((r.rows.len(), r.rows_omitted), (1, Some(2)));

    // From Orion's side: no CRM deals, nothing to count; Vega's deals never show.
    let r =
        n.e.partner_influence(&n.orion, q4, None, InfluenceGroup::Partner, 50)
            .unwrap();
    assert_eq!(r.totals.with_partner, m(0, 0, 0, 0, 0, 0, None));
    assert_eq!(r.totals.without_partner, m(0, 0, 0, 0, 0, 0, None));
    assert!(r.rows.is_empty());
}

fn names(r: &partnermap::engine::NewAccounts) -> Vec<String> {
    r.accounts
        .iter()
        .map(|a| a.partner_record["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn new_accounts_come_only_from_full_sharing() {
    let mut n = network();
    let r = n.e.new_accounts(&n.vega, None, None, 0, 50).unwrap();
    // Orion's Customers at full {Acme (Vega has it), Gale, Hollow} and Umber's (offline = full)
    // {Echo (Vega has it), Kite} + prospects {Gale}. Orion's Prospects (counts: Ivy) and Lyra's
    // (overlaps: Gale) add nothing.
    assert_eq!(names(&r), ["Gale", "Hollow", "Kite"]);
    assert_eq!(
        (r.total, r.customer_accounts, r.partners_sharing_full),
        (3, 3, 2)
    );
    let gale = &r.accounts[0];
    let p: Vec<(&str, &str, &str)> = gale
        .partners
        .iter()
        .map(|p| {
            (
                p.text.name.0.as_str(),
                p.text.partner_population.0.as_str(),
                p.population_type.as_str(),
            )
        })
        .collect();
    assert_eq!(
        p,
        [
            ("Orion", "Customers", "customers"),
            ("Umber", "Umber prospects", "prospects")
        ]
    );
    // Orion's record with exactly the fields Orion shares (not its `type`).
    assert_eq!(
        Value::Object(gale.partner_record.clone()),
        json!({"name": "Gale", "website": "gale.com", "industry": "Retail"})
    );
    // An offline partner's record: every field (empty ones left out).
    assert_eq!(
        Value::Object(r.accounts[2].partner_record.clone()),
        json!({"name": "Kite", "website": "kite.com", "domain": "kite.com", "type": "Customer", "industry": "Tra\u{1b}vel\nCo"})
    );
    assert_eq!(
        Value::Object(r.accounts[1].partner_record.clone()),
        json!({"name": "Hollow", "website": "hollow.com", "industry": "Energy"})
    );

    // Paging and filters.
    let p2 = n.e.new_accounts(&n.vega, None, None, 2, 2).unwrap();
    assert_eq!((names(&p2), p2.total), (vec!["Kite".to_string()], 3));
    let pros =
        n.e.new_accounts(&n.vega, None, Some(PopulationType::Prospects), 0, 50)
            .unwrap();
    assert_eq!(names(&pros), ["Gale"]);
    assert_eq!(pros.accounts[0].partners.len(), 1);
    assert_eq!(pros.customer_accounts, 0);
    let orion =
        n.e.new_accounts(&n.vega, Some("Orion"), None, 0, 50)
            .unwrap();
    assert_eq!(names(&orion), ["Gale", "Hollow"]);
    // Sharing below full yields nothing; a non-partner is refused.
    let lyra =
        n.e.new_accounts(&n.vega, Some("Lyra"), None, 0, 50)
            .unwrap();
    assert_eq!((lyra.total, lyra.partners_sharing_full), (0, 0));
    assert!(
        n.e.new_accounts(&n.vega, Some("Nadir"), None, 0, 50)
            .is_err()
    );
    assert!(
        n.e.new_accounts(&n.vega, Some("Zeta"), None, 0, 50)
            .is_err()
    );

    // Lyra raises its prospects to full: Gale gains a third partner; Orion raises its
    // prospects to full with the name only: Ivy appears, with nothing but its name.
    n.e.set_sharing(
        &n.lyra,
        "Vega",
        "Prospects",
        SharingLevel::Full,
        Some(&["name".to_string()]),
    )
    .unwrap();
    n.e.set_sharing(
        &n.orion,
        "Vega",
        "Prospects",
        SharingLevel::Full,
        Some(&["name".to_string()]),
    )
    .unwrap();
    let r = n.e.new_accounts(&n.vega, None, None, 0, 50).unwrap();
    assert_eq!(names(&r), ["Gale", "Hollow", "Kite", "Ivy"]);
    assert_eq!(r.accounts[0].partners.len(), 3);
    assert_eq!(
        Value::Object(r.accounts[3].partner_record.clone()),
        json!({"name": "Ivy"})
    );

    // From Lyra's side: Vega shares nothing at full, so nothing; then Vega shares its
    // customers at full (name only): Lyra has Bolt, so Acme and Quill.
    assert_eq!(
        n.e.new_accounts(&n.lyra, None, None, 0, 50).unwrap().total,
        0
    );
    n.e.set_sharing(
        &n.vega,
        "Lyra",
        "Customers",
        SharingLevel::Full,
        Some(&["name".to_string()]),
    )
    .unwrap();
    let r = n.e.new_accounts(&n.lyra, None, None, 0, 50).unwrap();
    assert_eq!(names(&r), ["Acme", "Quill"]);
    assert!(r.accounts.iter().all(|a| a.partner_record.len() == 1));
}

// ---------- over MCP and the CLI ----------

/// Every object in `v`, recursively, has no null, empty string, empty list or empty object.
fn assert_compact(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("{path} is null"),
        Value::String(s) if s.is_empty() => panic!("{path} is an empty string"),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_compact(x, &format!("{path}[{i}]"));
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if let Value::Array(a) = x {
                    assert!(
                        !a.is_empty() || k == "rows" || k == "accounts" || k == "suggestions",
                        "{path}.{k} is empty"
                    );
                }
                assert_compact(x, &format!("{path}.{k}"));
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_tools_over_mcp() {
    let n = network();
    let (_dir, db) = (n.dir, n.db);
    drop(n.e);
    let c = mcp_common::connect(&db, VERA, &[("PARTNERMAP_NOW", NOW)], false).await;
    for t in ["partner_suggestions", "partner_influence", "new_accounts"] {
        let tool = &c.tools[t];
        let a = tool.annotations.as_ref().unwrap();
        assert_eq!(a.read_only_hint, Some(true), "{t}");
        assert!(tool.description.as_ref().unwrap().len() < 1_200, "{t}");
    }

    let s = c.ok("partner_suggestions", json!({})).await;
    assert_compact(&s, "$");
    assert_eq!(s["total"], 5);
    assert_eq!(
        s["suggestions"][0]["org"]["partner_supplied"]["name"],
        "Quill"
    );
    assert_eq!(s["suggestions"][0]["status"], "invitation_received");
    assert_eq!(
        s["suggestions"][0]["signals"],
        json!([{"kind": "your_account", "population_type": "customers", "population": "Customers"}])
    );
    assert_eq!(
        s["suggestions"][2]["signals"],
        json!([{"kind": "mutual_partners", "count": 2}])
    );
    assert!(
        c.err("partner_suggestions", json!({"limit": 0}))
            .await
            .contains("limit 0")
    );

    let r = c.ok("partner_influence", json!({})).await;
    assert_compact(&r, "$");
    assert_eq!(
        r["totals"],
        json!({
            "with_partner": {"opened": 2, "opened_usd": 1700, "won": 1, "won_usd": 1000, "lost": 1, "lost_usd": 625, "win_rate_pct": 50.0},
            "without_partner": {"opened": 4, "opened_usd": 6300, "won": 2, "won_usd": 3400, "lost": 1, "lost_usd": 1500, "win_rate_pct": 66.7}
        })
    );
    assert_eq!(
        r["period"],
        json!({"from": "2026-10-01", "to": "2026-12-31"})
    );
    assert_eq!(r["rows"][0]["partner"]["partner_supplied"]["name"], "Orion");
    let r = c
        .ok(
            "partner_influence",
            json!({"period": "2026-Q4", "group_by": "period", "partner": "Umber"}),
        )
        .await;
    assert_eq!(r["group_by"], "period");
    assert_eq!(
        r["rows"],
        json!([
            {"period": "2026-10", "opened": 0, "opened_usd": 0, "won": 0, "won_usd": 0, "lost": 0, "lost_usd": 0},
            {"period": "2026-11", "opened": 1, "opened_usd": 700, "won": 0, "won_usd": 0, "lost": 0, "lost_usd": 0},
            {"period": "2026-12", "opened": 0, "opened_usd": 0, "won": 0, "won_usd": 0, "lost": 0, "lost_usd": 0}
        ])
    );
    let r = c
        .ok(
            "partner_influence",
            json!({"from": "2026-09-01", "to": "2026-09-30"}),
        )
        .await;
    assert_eq!(r["totals"]["without_partner"]["won_usd"], 1200);
    assert!(
        c.err("partner_influence", json!({"period": "2026-Q7"}))
            .await
            .contains("2026-Q4")
    );
    assert!(
        c.err("partner_influence", json!({"partner": "Nadir"}))
            .await
            .contains("No partner named")
    );

    let a = c.ok("new_accounts", json!({"limit": 2})).await;
    assert_compact(&a, "$");
    assert_eq!(a["total"], 3);
    assert_eq!(
        a["accounts"][0]["partner_supplied"]["partner_record"]["name"],
        "Gale"
    );
    assert_eq!(
        a["accounts"][0]["partners"][0],
        json!({"id": a["accounts"][0]["partners"][0]["id"], "population_type": "customers", "partner_supplied": {"name": "Orion", "partner_population": "Customers"}})
    );
    let cursor = a["next_cursor"].as_str().unwrap().to_string();
    let b = c
        .ok("new_accounts", json!({"limit": 2, "cursor": cursor}))
        .await;
    assert_eq!(
        b["accounts"][0]["partner_supplied"]["partner_record"]["name"],
        "Kite"
    );
    // Text another organization wrote reaches the model cleaned.
    assert_eq!(
        b["accounts"][0]["partner_supplied"]["partner_record"]["industry"],
        "Travel Co"
    );
    assert!(b.get("next_cursor").is_none());
    // A cursor only works for the list it came from.
    assert!(
        c.err(
            "new_accounts",
            json!({"limit": 2, "cursor": cursor, "partner": "Orion"})
        )
        .await
        .contains("cursor")
    );
    let l = c.ok("new_accounts", json!({"partner": "Lyra"})).await;
    assert_eq!(
        (l["total"].clone(), l["accounts"].clone()),
        (json!(0), json!([]))
    );
    assert!(
        c.err("new_accounts", json!({"population_type": "friends"}))
            .await
            .contains("friends")
    );
    c.close().await;
}

#[test]
fn the_three_cli_verbs() {
    let n = network();
    let (_dir, db) = (n.dir, n.db);
    drop(n.e);
    let run = |args: &[&str]| -> String {
        let out = std::process::Command::new(mcp_common::BIN)
            .env("PARTNERMAP_DB", &db)
            .env("PARTNERMAP_USER", VERA)
            .env("PARTNERMAP_NOW", NOW)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let v: Value =
        serde_json::from_str(&run(&["influence", "--period", "2026-Q4", "--json"])).unwrap();
    assert_eq!(v["totals"]["with_partner"]["won_usd"], 1000);
    let v: Value = serde_json::from_str(&run(&[
        "influence",
        "--from",
        "2026-10-01",
        "--to",
        "2026-12-31",
        "--partner",
        "Orion",
        "--group-by",
        "period",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["rows"][1]["won"], 1);
    let text = run(&["influence"]);
    assert!(
        text.contains("2026-10-01 to 2026-12-31") && text.contains("$1,700"),
        "{text}"
    );
    let v: Value = serde_json::from_str(&run(&["suggestions", "--json"])).unwrap();
    assert_eq!(
        v["suggestions"][1]["org"]["partner_supplied"]["name"],
        "Xeno"
    );
    assert!(run(&["suggestions"]).contains("Quill"));
    let v: Value = serde_json::from_str(&run(&[
        "new-accounts",
        "--population-type",
        "customers",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["total"], 3);
    let text = run(&["new-accounts", "--partner", "Umber"]);
    assert!(text.contains("Kite") && text.contains("Gale"), "{text}");
}

/// The text copy of a successful call (what the model reads), its length in characters.
async fn text_len(c: &mcp_common::Client, tool: &str, args: Value) -> (Value, usize) {
    let v = c.ok(tool, args.clone()).await;
    let n = serde_json::to_string(&v).unwrap().chars().count();
    (v, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_on_the_demo_network_fit_a_context_window() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo.db");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let s = partnermap::demo::build(
        &db,
        &partnermap::demo::Options {
            seed: partnermap::demo::DEFAULT_SEED,
            scale: 1.0,
            today: Some(day),
            progress: false,
        },
    )
    .unwrap();
    let c = mcp_common::connect(&db, &s.acting_user.email, &[("PARTNERMAP_NOW", NOW)], false).await;
    for (tool, args, max) in [
        ("partner_suggestions", json!({}), 12_000),
        ("partner_suggestions", json!({"limit": 100}), 40_000),
        ("partner_influence", json!({}), 12_000),
        ("partner_influence", json!({"limit": 100}), 40_000),
        (
            "partner_influence",
            json!({"period": "2026", "group_by": "period"}),
            12_000,
        ),
        ("new_accounts", json!({}), 12_000),
        ("new_accounts", json!({"limit": 100}), 40_000),
    ] {
        let (v, n) = text_len(&c, tool, args.clone()).await;
        eprintln!("{tool} {args}: {n} characters");
        assert!(n <= max, "{tool} {args}: {n} characters");
        assert_compact(&v, tool);
    }
    // The first page answers "how many / how much": totals beside every list.
    let (v, _) = text_len(&c, "new_accounts", json!({})).await;
    assert_eq!(v["accounts"].as_array().unwrap().len(), 20);
    assert!(v["total"].as_i64().unwrap() > 100 && v["next_cursor"].is_string());
    let (v, _) = text_len(&c, "new_accounts", json!({"limit": 100})).await;
    let page = v["accounts"].as_array().unwrap().len();
    assert!((50..=100).contains(&page), "{page}");
    let (v, _) = text_len(&c, "partner_influence", json!({})).await;
    let with = &v["totals"]["with_partner"];
    assert!(with["opened"].as_i64().unwrap() > 0 && with["won_usd"].as_i64().unwrap() > 0);
    c.close().await;
}
