//! The Partner Score and recommendation tools end to end: the hand-built network of
//! tests/data/score (tests/score_net) is built through the library, then served by the built
//! binary (`partnermap mcp`) to an rmcp client acting as Vega's admin. Every successful call's
//! `structuredContent` is checked against the tool's `outputSchema` (mcp_common's validator);
//! the expected numbers are the hand-computed ones of tests/engine/score.rs.

use crate::common;
use crate::mcp_common;
use crate::score_net;
use mcp_common::{Client, connect};
use partnermap::model::Role;
use rmcp::model::GetPromptRequestParams;
use score_net::{NOW, network};
use serde_json::{Value, json};

const VERA: &str = "vera@vega.com"; // Vega's admin
const MO: &str = "mo@vega.com"; // a member of Vega

/// Equal as a person reads it: outputs are rounded (ratios to 3 significant digits, money to
/// whole units, percentages to 1 decimal), so within 0.5% of the exact value.
fn close(v: &Value, expected: f64) -> bool {
    v.as_f64()
        .is_some_and(|a| (a - expected).abs() <= (0.005 * expected.abs()).max(1e-9))
}

#[track_caller]
fn assert_num(v: &Value, expected: f64) {
    assert!(close(v, expected), "expected {expected}, got {v}");
}

fn names(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            // a partner's name is under partner_supplied
            x["partner_supplied"][key]
                .as_str()
                .or(x[key].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn score_file(name: &str) -> String {
    common::data(&format!("score/{name}"))
        .to_str()
        .unwrap()
        .to_string()
}

/// The network's database, closed: the score network plus a member (for a permission check) and
/// a recent thread with Orion about Open One (as in tests/engine/score.rs), which lifts Orion in the
/// deal navigator. Built off the async runtime (the exchange-rate update blocks on its own).
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let net = network();
    let mut e = net.e;
    common::add_user(&mut e, &net.vega, MO, Role::Member, &[]);
    let open_one = e
        .account_lookup(&net.vega, "openone.com")
        .unwrap()
        .account
        .id;
    let orion_id = e.resolve_partner(&net.vega, "Orion").unwrap().org.id;
    e.conn()
        .execute_batch(&format!(
            "INSERT INTO threads (id, org_a, org_b, record_id, account, created_at, updated_at)
               VALUES (900, {}, {orion_id}, {open_one}, 'Open One', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z');
             INSERT INTO thread_messages (thread_id, body, created_at) VALUES (900, 'hi', '2026-11-02T00:00:00Z');",
            net.vega.org.id
        ))
        .unwrap();
    drop(e); // the server is the only writer from here on
    (net.dir, net.db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn score_tools_over_the_hand_computed_network() {
    let (_dir, db) = tokio::task::spawn_blocking(setup).await.unwrap();
    let env = [("PARTNERMAP_NOW", NOW)];
    let c = connect(&db, VERA, &env, false).await;
    definitions_keep_the_contract(&c);

    let vega_record = c
        .ok("account_lookup", json!({"account": "G2ACCT 01"}))
        .await["account"]["id"]
        .as_i64()
        .unwrap();
    partner_scores(&c).await;
    leaderboard(&c).await;
    partner_lists_carry_labels(&c).await;
    pipeline(&c).await;
    deals(&c).await;
    lookup(&c).await;
    prompts_name_real_tools(&c).await;
    exchange_rates(&c).await;
    crm_import(&c).await;
    c.close().await;

    // The other side: Ursa sees no Vega record and no score on Vega's data.
    let ursa = connect(&db, "ulf@ursa.io", &env, false).await;
    other_side(&ursa, vega_record).await;
    ursa.close().await;

    // A member may read scores but not import or set rates.
    let m = connect(&db, MO, &env, true).await;
    let s = m.ok("partner_score", json!({"partner": "Orion"})).await;
    assert_eq!(s["label"], "High");
    let err = m
        .err(
            "import_crm",
            json!({
                "accounts_path": score_file("vega_accounts.csv"),
                "opportunities_path": score_file("vega_opportunities.csv"),
            }),
        )
        .await;
    assert!(err.to_lowercase().contains("import crm data"), "{err}");
    let err = m
        .err("set_exchange_rate", json!({"currency": "EUR", "rate": 0.9}))
        .await;
    assert!(err.to_lowercase().contains("exchange rates"), "{err}");
    m.close().await;
}

/// SPEC §7's argument names, and the annotations: reads are read-only, writes say they are not
/// destructive.
fn definitions_keep_the_contract(c: &Client) {
    let want: &[(&str, &[&str], bool)] = &[
        (
            "import_crm",
            &["accounts_path", "opportunities_path", "name"],
            false,
        ),
        ("set_exchange_rate", &["currency", "rate"], false),
        ("list_exchange_rates", &[], true),
        ("partner_score", &["partner", "as_of"], true),
        ("top_partners", &["limit", "sort", "as_of"], true),
        (
            "pipeline_generation",
            &["population", "limit", "cursor"],
            true,
        ),
        ("deal_navigator", &["limit", "cursor"], true),
        ("account_lookup", &["account"], true),
    ];
    for (tool, args, read_only) in want {
        let t = c
            .tools
            .get(*tool)
            .unwrap_or_else(|| panic!("server lacks {tool}"));
        let def = serde_json::to_value(t).unwrap();
        for arg in *args {
            assert!(
                def["inputSchema"]["properties"].get(*arg).is_some(),
                "{tool} lacks argument {arg}"
            );
        }
        assert_eq!(def["annotations"]["readOnlyHint"], *read_only, "{tool}");
        if !read_only {
            assert_eq!(def["annotations"]["destructiveHint"], false, "{tool}");
        }
    }
    let desc = c.tools["partner_score"]
        .description
        .as_deref()
        .unwrap_or("");
    for needle in [
        "0.7",
        "0.3",
        "[1/4, 4]",
        "metrics.with",
        "metrics.base",
        "create_share_request",
        "import_crm",
    ] {
        assert!(
            desc.contains(needle),
            "partner_score's description lacks {needle}"
        );
    }
}

/// Ursa (online partner of Vega, no CRM data, no prospects) asking about Vega's data.
async fn other_side(c: &Client, vega_record: i64) {
    let s = c.ok("partner_score", json!({"partner": "Vega"})).await;
    assert_eq!(s["label"], "Unknown");
    let codes: Vec<&str> = s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["no_crm_source", "partner_not_sharing_customers"]);
    // Vega's record id is not Ursa's account: the same sentence as for any unknown id.
    let err = c
        .err("account_lookup", json!({"account": vega_record}))
        .await;
    assert_eq!(
        err,
        format!(
            "Ursa has no account with id {vega_record}. Give its id, domain (acme.com) or company name."
        )
    );
    let err = c.err("pipeline_generation", json!({})).await;
    assert!(err.contains("Ursa has no prospects population"), "{err}");
    let d = c.ok("deal_navigator", json!({})).await;
    assert_eq!(d["open_opportunities"], 0);
    let t = c.ok("top_partners", json!({})).await;
    assert_eq!(names(&t, "partners", "name"), ["Vega"]);
}

/// High (Orion), None (Nova: too few won deals; Nadir: zero impact) and Unknown (Umbra: shares
/// customers at counts only; Umber: no customers population) with the hand-computed numbers.
async fn partner_scores(c: &Client) {
    // Orion: with = G1: 10 of 10 won, 5000 USD, 20 days; base = B+G2+G3: 30 of 80 won,
    // 25000/30 USD, 70 days. Ratios 8/3, 6 -> clamped 4, 3.5. Percentiles 75 and 75 -> s 75.
    let s = c.ok("partner_score", json!({"partner": "orion"})).await;
    assert_eq!(s["partner"]["partner_supplied"]["name"], "Orion");
    assert_eq!(s["offline"], true);
    assert_eq!(s["label"], "High");
    assert!(s["reasons"].is_null(), "no reasons: left out");
    let m = &s["metrics"];
    assert_eq!(
        (&m["with"]["closed_deals"], &m["with"]["won_deals"]),
        (&json!(10), &json!(10))
    );
    assert_num(&m["with"]["win_rate"], 1.0);
    assert_num(&m["with"]["avg_size_usd"], 5000.0);
    assert_num(&m["with"]["avg_days_to_close"], 20.0);
    assert_eq!(
        (&m["base"]["closed_deals"], &m["base"]["won_deals"]),
        (&json!(80), &json!(30))
    );
    assert_num(&m["base"]["win_rate"], 0.375);
    assert_num(&m["base"]["avg_size_usd"], 25000.0 / 30.0);
    assert_num(&m["base"]["avg_days_to_close"], 70.0);
    assert_num(&s["ratios"]["win_rate"], 8.0 / 3.0);
    assert_num(&s["ratios"]["avg_size"], 4.0);
    assert_num(&s["ratios"]["days_to_close"], 3.5);
    assert_num(&s["impact"], 1.2066289);
    assert_num(&s["coverage_pct"], 62.5);
    assert_num(&s["impact_percentile"], 75.0);
    assert_num(&s["coverage_percentile"], 75.0);
    assert_num(&s["s"], 75.0);
    assert_eq!(s["won_deals_with_partner"], 10);
    assert_eq!(s["overlap_count"], 17);
    assert_num(&s["win_rate_lift"], 1.0 / 0.375);
    assert_eq!(s["as_of"], NOW);
    assert_eq!(s["window_start"], "2025-11-24");

    // Lyra (Medium) and Draco (Low): s = 0.7 × 37.5 + 0.3 × 25 = 33.75; 0.7 × 12.5 + 0.3 × 25 = 16.25.
    let s = c.ok("partner_score", json!({"partner": "Lyra"})).await;
    assert_eq!(s["label"], "Medium");
    assert_num(&s["s"], 33.75);
    let s = c.ok("partner_score", json!({"partner": "Draco"})).await;
    assert_eq!(s["label"], "Low");
    assert_num(&s["s"], 16.25);
    assert_num(&s["ratios"]["avg_size"], 0.25); // 3/14 clamped to 1/4

    // Nova: 9 won deals with it in the window -> None, no percentiles.
    let s = c.ok("partner_score", json!({"partner": "Nova"})).await;
    assert_eq!(s["label"], "None");
    assert_eq!(s["reasons"][0]["code"], "too_few_won_deals");
    assert_eq!(s["reasons"].as_array().unwrap().len(), 1);
    let msg = s["reasons"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("Only 9 won deals") && msg.contains("at least 10"),
        "{msg}"
    );
    assert_eq!(s["won_deals_with_partner"], 9);
    assert!(s["s"].is_null() && s["impact_percentile"].is_null());
    assert_eq!(s["metrics"]["with"]["won_deals"], 9);
    // Nadir has every deal: empty base, each ratio 1, impact exactly 0.
    let s = c.ok("partner_score", json!({"partner": "Nadir"})).await;
    assert_eq!(
        (&s["label"], &s["reasons"][0]["code"]),
        (&json!("None"), &json!("zero_impact"))
    );
    assert_eq!(s["impact"], 0.0);
    assert_eq!(s["won_deals_with_partner"], 40);

    // Umbra (online, by domain): customers shared at 'counts' -> Unknown, with what to do.
    let s = c.ok("partner_score", json!({"partner": "umbra.com"})).await;
    assert_eq!(s["label"], "Unknown");
    assert_eq!(s["reasons"][0]["code"], "partner_not_sharing_customers");
    let msg = s["reasons"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("'counts'") && msg.contains("create_share_request"),
        "{msg}"
    );
    assert!(s["metrics"].is_null() && s["ratios"].is_null() && s["s"].is_null());
    assert_eq!(s["overlap_count"], 2);
    // A pending share request is mentioned, so the model does not ask twice.
    assert!(s["pending_share_request"].is_null());
    let req = c
        .ok(
            "create_share_request",
            json!({"partner": "umbra.com", "level": "overlaps"}),
        )
        .await;
    let id = req["request"]["id"].clone();
    let s = c.ok("partner_score", json!({"partner": "umbra.com"})).await;
    assert_eq!(s["pending_share_request"]["id"], id);
    assert_eq!(s["pending_share_request"]["level"], "overlaps");
    c.ok("withdraw_share_request", json!({"request": id})).await;
    let s = c.ok("partner_score", json!({"partner": "umbra.com"})).await;
    assert!(s["pending_share_request"].is_null());
    // Umber: no customers population (Unknown), coverage still reported: 1 of 8 = 12.5. The
    // advice is what works: a share request cannot name a population one cannot see.
    let s = c.ok("partner_score", json!({"partner": "Umber"})).await;
    assert_eq!(
        (&s["label"], &s["reasons"][0]["code"]),
        (&json!("Unknown"), &json!("partner_no_customers"))
    );
    let msg = s["reasons"][0]["message"].as_str().unwrap();
    let offline = s["offline"] == true;
    assert!(
        if offline {
            msg.contains("upload_partner_csv") && msg.contains("create_population")
        } else {
            msg.contains("create a customers population") && msg.contains("cannot name")
        },
        "{msg}"
    );
    assert!(
        !msg.contains("Umber"),
        "no partner text in the sentence: {msg}"
    );
    assert_num(&s["coverage_pct"], 12.5);

    // as_of moves the window: by 2026-02-15 no G1 deal has closed yet.
    let s = c
        .ok(
            "partner_score",
            json!({"partner": "Orion", "as_of": "2026-02-15"}),
        )
        .await;
    assert_eq!(
        (&s["label"], &s["won_deals_with_partner"]),
        (&json!("None"), &json!(0))
    );
    assert_eq!(s["as_of"], "2026-02-15");
    // SPEC §5: with no deal on the partner's side, the ratios and impact are null (absent), not
    // clamp bounds.
    assert!(s["ratios"].is_null() && s["impact"].is_null(), "{s}");
    assert!(s["metrics"]["base"].is_object(), "{s}");
    // A partner id given as a JSON number works too.
    let id = s["partner"]["id"].clone();
    let s = c.ok("partner_score", json!({"partner": id})).await;
    assert_eq!(s["partner"]["partner_supplied"]["name"], "Orion");

    // Bad arguments: isError sentences that say what to do; malformed calls rejected.
    let err = c.err("partner_score", json!({"partner": "Nobody"})).await;
    assert!(
        err.contains("No partner named 'Nobody'") && err.contains("Orion"),
        "{err}"
    );
    let err = c
        .err(
            "partner_score",
            json!({"partner": "Orion", "as_of": "yesterday"}),
        )
        .await;
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    c.rejected("partner_score", json!({})).await;
}

async fn leaderboard(c: &Client) {
    let t = c.ok("top_partners", json!({})).await;
    assert_eq!(
        names(&t, "partners", "name"),
        [
            "Cygnus", "Orion", "Lyra", "Draco", "Nadir", "Nova", "Ursa", "Umber", "Umbra"
        ]
    );
    assert_eq!(
        names(&t, "partners", "label"),
        [
            "High", "High", "Medium", "Low", "None", "None", "None", "Unknown", "Unknown"
        ]
    );
    assert_eq!((&t["total"], &t["truncated"]), (&json!(9), &Value::Null));
    assert_eq!((&t["sort"], &t["as_of"]), (&json!("score"), &json!(NOW)));
    assert_num(&t["partners"][0]["s"], 75.0);
    assert_eq!(
        t["partners"][8]["reasons"],
        json!(["partner_not_sharing_customers"])
    );
    let e = c.err("top_partners", json!({"limit": 0})).await; // refused: 1-100
    assert!(e.contains("between 1 and 100"), "{e}");
    let t = c.ok("top_partners", json!({})).await; // the default, 20
    assert_eq!(t["partners"].as_array().unwrap().len(), 9);
    let t = c.ok("top_partners", json!({"limit": 2})).await;
    assert_eq!(names(&t, "partners", "name"), ["Cygnus", "Orion"]);
    assert_eq!((&t["total"], &t["truncated"]), (&json!(9), &json!(true)));
    // Overlap counts: Nadir 40, Orion = Cygnus 17, Lyra 13, Draco 12, Nova 9, Ursa 5, Umbra 2, Umber 1.
    let t = c.ok("top_partners", json!({"sort": "overlap_count"})).await;
    assert_eq!(
        names(&t, "partners", "name"),
        [
            "Nadir", "Cygnus", "Orion", "Lyra", "Draco", "Nova", "Ursa", "Umbra", "Umber"
        ]
    );
    assert_eq!(t["sort"], "overlap_count");
    // Win-rate lift: Orion = Cygnus 2.667 > Nova 81/31 > Lyra 7/6 > Ursa 8/7 > Draco 5/12.
    let t = c
        .ok("top_partners", json!({"sort": "win_rate_lift", "limit": 6}))
        .await;
    assert_eq!(
        names(&t, "partners", "name"),
        ["Cygnus", "Orion", "Nova", "Lyra", "Ursa", "Draco"]
    );
    assert_num(&t["partners"][2]["win_rate_lift"], 81.0 / 31.0);
    let err = c.err("top_partners", json!({"sort": "fame"})).await;
    assert!(
        err.contains("'fame' is not a sort order")
            && err.contains("score, overlap_count, coverage or win_rate_lift"),
        "{err}"
    );
    let err = c.err("top_partners", json!({"as_of": "23/11/2026"})).await;
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    c.rejected("top_partners", json!({"limit": "all"})).await;
}

async fn partner_lists_carry_labels(c: &Client) {
    let l = c.ok("list_partners", json!({})).await;
    let label = |name: &str| {
        l["partners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["partner_supplied"]["name"] == name)
            .unwrap()["score_label"]
            .clone()
    };
    assert_eq!(label("Orion"), "High");
    assert_eq!(label("Lyra"), "Medium");
    assert_eq!(label("Draco"), "Low");
    assert_eq!(label("Nova"), "None");
    assert_eq!(label("Umbra"), "Unknown");
    let p = c.ok("get_partner", json!({"partner": "Cygnus"})).await;
    assert_eq!(p["score_label"], "High");
}

async fn pipeline(c: &Client) {
    // pros01, pros02: customers of Orion and Cygnus (both High) -> top prospects, first.
    // Umbra also has pros01 but shares at counts only: never named.
    let p = c.ok("pipeline_generation", json!({})).await;
    assert_eq!(p["populations"], json!(["Prospects"]));
    assert_eq!((&p["total"], &p["top_prospects"]), (&json!(4), &json!(2)));
    let rows: Vec<(String, bool, Vec<String>)> = p["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["record"]["name"].as_str().unwrap().to_string(),
                a["top_prospect"] == true,
                names(a, "partners", "name"),
            )
        })
        .collect();
    let row = |n: &str, top: bool, ps: &[&str]| {
        (
            n.to_string(),
            top,
            ps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        rows,
        vec![
            row("Pros 01", true, &["Cygnus", "Orion"]),
            row("Pros 02", true, &["Cygnus", "Orion"]),
            row("Open One", false, &["Lyra", "Draco"]),
            row("Pros 03", false, &["Lyra"]),
        ]
    );
    let draco = &p["accounts"][2]["partners"][1];
    assert_eq!(
        draco["partner_supplied"]["partner_population"],
        "Draco open_opportunities"
    );
    assert_eq!(draco["population_type"], "open_opportunities");
    assert_eq!(draco["label"], "Low");
    assert_eq!(p["accounts"][0]["partners"][0]["label"], "High");
    assert!(p["next_cursor"].is_null());

    // Paging: 3 + 1.
    let p1 = c.ok("pipeline_generation", json!({"limit": 3})).await;
    assert_eq!(p1["accounts"].as_array().unwrap().len(), 3);
    let cursor = p1["next_cursor"].as_str().expect("a next page").to_string();
    let p2 = c
        .ok("pipeline_generation", json!({"limit": 3, "cursor": cursor}))
        .await;
    assert_eq!(p2["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(p2["accounts"][0]["record"]["name"], "Pros 03");
    assert!(p2["next_cursor"].is_null());
    let err = c
        .err(
            "pipeline_generation",
            json!({"population": "Customers", "cursor": cursor}),
        )
        .await;
    assert_eq!(err, "invalid cursor, start again without a cursor");

    // A named population instead: cust01-06 each with a partner.
    let p = c
        .ok("pipeline_generation", json!({"population": "Customers"}))
        .await;
    assert_eq!(p["total"], 6);
    assert_eq!(p["populations"], json!(["Customers"]));
    let err = c
        .err("pipeline_generation", json!({"population": "Nope"}))
        .await;
    assert!(err.contains("Nope") && err.contains("Prospects"), "{err}");
}

async fn deals(c: &Client) {
    let d = c.ok("deal_navigator", json!({})).await;
    assert_eq!(d["open_opportunities"], 2);
    let first = &d["opportunities"][0];
    assert_eq!(first["account"]["name"], "Open One");
    // a USD deal's amount is in USD already: no amount_usd repeating it
    assert_eq!(first["opportunity"]["currency"], "USD");
    assert!(first["opportunity"]["amount_usd"].is_null());
    assert_num(&first["opportunity"]["amount"], 20000.0);
    let recs: Vec<(String, String, String, bool)> = first["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["partner"]["partner_supplied"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["signal"].as_str().unwrap().to_string(),
                r["label"].as_str().unwrap().to_string(),
                r["recent_thread_at"].is_string(),
            )
        })
        .collect();
    let rec = |p: &str, s: &str, l: &str, t: bool| (p.to_string(), s.to_string(), l.to_string(), t);
    assert_eq!(
        recs,
        vec![
            rec("Lyra", "customer", "Medium", false),
            rec("Draco", "open_opportunity", "Low", false),
            rec("Orion", "prospect", "High", true),
        ]
    );
    // Three per deal; the fourth (Cygnus, prospect) is counted.
    assert_eq!(first["recommendations_more"], 1);
    assert_eq!(
        first["recommendations"][2]["recent_thread_at"],
        "2026-11-02T00:00:00Z"
    );
    let second = &d["opportunities"][1];
    assert_eq!(second["account"]["name"], "Open Two");
    assert_num(&second["opportunity"]["amount_usd"], 6250.0); // 5000 EUR at 0.8
    assert_eq!(second["opportunity"]["currency"], "EUR");
    assert_eq!(
        second["recommendations"][0]["partner"]["partner_supplied"]["name"],
        "Umber"
    );
    assert!(d["next_cursor"].is_null());
    // Paging one deal at a time.
    let p1 = c.ok("deal_navigator", json!({"limit": 1})).await;
    assert_eq!(p1["opportunities"][0]["account"]["name"], "Open One");
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    let p2 = c
        .ok("deal_navigator", json!({"limit": 1, "cursor": cursor}))
        .await;
    assert_eq!(p2["opportunities"][0]["account"]["name"], "Open Two");
    assert!(p2["next_cursor"].is_null());
    let err = c.err("deal_navigator", json!({"cursor": "nonsense"})).await;
    assert_eq!(err, "invalid cursor, start again without a cursor");
}

async fn lookup(c: &Client) {
    let l = c
        .ok(
            "account_lookup",
            json!({"account": "https://www.pros01.com/"}),
        )
        .await;
    assert_eq!(l["account"]["name"], "Pros 01");
    let who: Vec<&str> = l["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partner"]["partner_supplied"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["Cygnus", "Orion"]); // Umbra shares counts only: absent
    assert_eq!(l["partners"][0]["label"], "High");
    assert_eq!(
        l["partners"][0]["partner_supplied"]["visible_fields"],
        json!(["*"])
    );
    assert_eq!(
        l["partners"][0]["partner_populations"][0]["type"],
        "customers"
    );

    // Ursa shares its customers at overlaps with name and segment only.
    let l = c
        .ok("account_lookup", json!({"account": "G2ACCT 01"}))
        .await;
    let ursa = l["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partner"]["partner_supplied"]["name"] == "Ursa")
        .unwrap();
    assert_eq!(ursa["partner_populations"][0]["sharing_level"], "overlaps");
    assert_eq!(
        ursa["partner_supplied"]["visible_fields"],
        json!(["name", "segment"])
    );
    assert_eq!(
        ursa["partner_supplied"]["partner_record"],
        json!({"name": "G2 co 01", "segment": "Customer"})
    );
    // By id, given as a JSON number.
    let id = l["account"]["id"].clone();
    let by_id = c.ok("account_lookup", json!({"account": id})).await;
    assert_eq!(by_id["account"]["name"], "G2ACCT 01");
    let err = c
        .err("account_lookup", json!({"account": "No Such Co"}))
        .await;
    assert!(
        err.contains("Vega has no account 'No Such Co'") && err.contains("domain"),
        "{err}"
    );
    let err = c.err("account_lookup", json!({"account": "  "})).await;
    assert!(err.contains("Name an account"), "{err}");
    c.rejected("account_lookup", json!({})).await;
}

async fn prompts_name_real_tools(c: &Client) {
    // Prompts carry their data: the leaderboard (prioritize_partners) and the account with its
    // deal, partners and threads (co_sell_plan); the instructions name real tools only.
    for (prompt, args, want, data) in [
        (
            "prioritize_partners",
            json!({}),
            &["partner_score", "pipeline_generation", "deal_navigator"][..],
            &["\"leaderboard\"", "Orion", "Cygnus", "\"label\":\"High\""][..],
        ),
        (
            "co_sell_plan",
            json!({"account": "Open One"}),
            &["create_share_request", "create_thread"][..],
            &[
                "\"open_deals\"",
                "Open One",
                "Lyra",
                "\"signal\":\"customer\"",
            ][..],
        ),
    ] {
        let p = c
            .service
            .get_prompt(
                GetPromptRequestParams::new(prompt)
                    .with_arguments(args.as_object().unwrap().clone()),
            )
            .await
            .unwrap();
        assert_eq!(p.messages.len(), 1, "one message");
        let all = serde_json::to_string(&p.messages).unwrap();
        let all = all.replace("\\\"", "\"");
        for d in data {
            assert!(all.contains(d), "{prompt} does not carry {d}: {all}");
        }
        // The instructions, before the data.
        let text = all.split("Data (JSON)").next().unwrap().to_string();
        for t in want {
            assert!(text.contains(t), "{prompt} does not mention {t}");
        }
        // Every tool-like name the prompt mentions is a real tool.
        for word in text.split(|ch: char| !(ch.is_ascii_lowercase() || ch == '_')) {
            let looks_like_tool = word.contains('_')
                && [
                    "list_",
                    "get_",
                    "top_",
                    "partner_",
                    "pipeline_",
                    "deal_",
                    "account_",
                    "create_",
                    "import_",
                ]
                .iter()
                .any(|p| word.starts_with(p))
                && !["partner_population", "account_mapping", "partner_supplied"].contains(&word);
            if looks_like_tool && !word.ends_with('_') {
                assert!(
                    c.tools.contains_key(word),
                    "{prompt} names '{word}', which is not a tool"
                );
            }
        }
    } // The account is checked, the quarter read.
    for (prompt, args, want) in [
        (
            "co_sell_plan",
            json!({"account": "No Such Co"}),
            "No Such Co",
        ),
        (
            "prioritize_partners",
            json!({"quarter": "2026-Q9"}),
            "YYYY-Qn",
        ),
    ] {
        let e = c
            .service
            .get_prompt(
                GetPromptRequestParams::new(prompt)
                    .with_arguments(args.as_object().unwrap().clone()),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{prompt}: {e}");
    }
    let q = c
        .service
        .get_prompt(
            GetPromptRequestParams::new("prioritize_partners")
                .with_arguments(json!({"quarter": "2025-Q4"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&q.messages).unwrap();
    assert!(
        text.contains("2025-10-01") && text.contains("2025-12-31"),
        "{text}"
    );
}

async fn exchange_rates(c: &Client) {
    let r = c.ok("list_exchange_rates", json!({})).await;
    let gbp = r["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["currency"] == "GBP")
        .unwrap()
        .clone();
    assert_eq!(
        (&gbp["per_usd"], &gbp["as_of"]),
        (&json!(0.5), &json!("2026-11-20"))
    );
    assert!(r["truncated"].is_null(), "false is left out");
    // GBP 0.25 per USD: Lyra's three 500 GBP deals become 2000 USD each:
    // (7*1000 + 3*2000)/10 = 1300; size ratio 1300 / (65000/30) = 0.6.
    let s = c
        .ok(
            "set_exchange_rate",
            json!({"currency": "gbp", "rate": 0.25}),
        )
        .await;
    assert_eq!(
        s["rate"],
        json!({"currency": "GBP", "per_usd": 0.25, "as_of": NOW, "source": "manual"})
    );
    let lyra = c.ok("partner_score", json!({"partner": "Lyra"})).await;
    assert_num(&lyra["metrics"]["with"]["avg_size_usd"], 1300.0);
    assert_num(&lyra["ratios"]["avg_size"], 0.6);
    let err = c
        .err("set_exchange_rate", json!({"currency": "GBP", "rate": 0}))
        .await;
    assert!(err.contains("positive number"), "{err}");
    let err = c
        .err(
            "set_exchange_rate",
            json!({"currency": "POUND", "rate": 1.0}),
        )
        .await;
    assert!(err.contains("three letters"), "{err}");
    c.rejected(
        "set_exchange_rate",
        json!({"currency": "GBP", "rate": "cheap"}),
    )
    .await;
}

async fn crm_import(c: &Client) {
    // Re-importing the same export replaces the source and refreshes its populations.
    let r = c
        .ok(
            "import_crm",
            json!({
                "accounts_path": score_file("vega_accounts.csv"),
                "opportunities_path": score_file("vega_opportunities.csv"),
            }),
        )
        .await;
    assert_eq!(r["data_source"]["name"], "crm");
    assert_eq!(
        (&r["accounts"], &r["opportunities"]),
        (&json!(51), &json!(93))
    );
    assert_eq!(
        (&r["replaced"], &r["rows_rejected"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(r["populations_refreshed"], 3);
    // Line-level errors, with file and line.
    let r = c
        .ok(
            "import_crm",
            json!({
                "accounts_path": score_file("bad_accounts.csv"),
                "opportunities_path": score_file("bad_opportunities.csv"),
                "name": "bad",
            }),
        )
        .await;
    let errs: Vec<(String, u64)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(errs.len(), 10);
    assert_eq!(errs[0], ("accounts".to_string(), 3));
    assert_eq!(errs[3], ("opportunities".to_string(), 3));
    assert!(r["errors"][3]["reason"].as_str().unwrap().contains("A9"));
    assert_eq!(
        (&r["accounts"], &r["opportunities"]),
        (&json!(2), &json!(2))
    );
    assert!(r["errors_truncated"].is_null(), "false is left out");
    // A file that is not there: nothing imported, a sentence naming the path.
    let err = c
        .err(
            "import_crm",
            json!({"accounts_path": "/nonexistent/accounts.csv", "opportunities_path": score_file("vega_opportunities.csv")}),
        )
        .await;
    assert!(err.contains("/nonexistent/accounts.csv"), "{err}");
    c.rejected("import_crm", json!({"accounts_path": "a.csv"}))
        .await;
}
