//! The seven everyday questions of issue 12, each as the conversation a model would have with
//! the default toolsets on the demo network: the calls it would make from the tool descriptions,
//! the facts the answer needs, and what it all costs in the model's context. Each question must
//! be answered in at most 3 calls and 16,000 characters of tool output in all.

use crate::mcp_common;
use mcp_common::{Client, DEMO_NOW, connect, demo_network};
use serde_json::{Value, json};

const MAX_CALLS: usize = 3;
const MAX_CHARS: usize = 16_000;

/// One question's conversation: every call's output counted as the model reads it (the JSON
/// text of the result).
struct Conversation<'a> {
    c: &'a Client,
    question: &'static str,
    calls: usize,
    chars: usize,
}

impl<'a> Conversation<'a> {
    fn new(c: &'a Client, question: &'static str) -> Self {
        Conversation {
            c,
            question,
            calls: 0,
            chars: 0,
        }
    }

    async fn call(&mut self, tool: &str, args: Value) -> Value {
        assert!(
            self.c.tools.contains_key(tool),
            "{}: {tool} is not in the default toolsets",
            self.question
        );
        let v = self.c.ok(tool, args).await;
        self.calls += 1;
        self.chars += v.to_string().chars().count();
        v
    }

    fn done(self) -> (usize, usize) {
        eprintln!(
            "{:<62} {} calls, {:>6} characters",
            self.question, self.calls, self.chars
        );
        assert!(
            self.calls <= MAX_CALLS && self.chars <= MAX_CHARS,
            "{}: {} calls and {} characters (at most {MAX_CALLS} and {MAX_CHARS})",
            self.question,
            self.calls,
            self.chars
        );
        (self.calls, self.chars)
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_everyday_questions_fit_in_three_calls_and_16k_characters() {
    let (tmp, user) = demo_network();
    let db = tmp.path().join("demo.db");
    // What a model is offered by default (not the test harness's `all`).
    let c = connect(
        &db,
        &user,
        &[
            ("PARTNERMAP_NOW", DEMO_NOW),
            ("PARTNERMAP_TOOLSETS", "default"),
        ],
        false,
    )
    .await;
    // The whole truth, read past the conversation to check its facts (not counted).
    let all_top = c.ok("top_partners", json!({"limit": 100})).await;

    // 1. Who are my top partners? One call; every ranked partner is in it.
    let mut q = Conversation::new(&c, "Who are my top partners?");
    let top = q.call("top_partners", json!({})).await;
    let ranked = |v: &Value| {
        arr(&v["partners"])
            .iter()
            .filter(|p| ["High", "Medium", "Low"].contains(&p["label"].as_str().unwrap()))
            .count()
    };
    assert!(ranked(&all_top) > 0);
    assert_eq!(ranked(&top), ranked(&all_top), "every ranked partner");
    assert_eq!(top["partners"][0]["label"], "High");
    q.done();

    // 2. Which of my open deals can a partner help with? One call: the summary answers how
    // many and how much, the page lists the best.
    let mut q = Conversation::new(&c, "Which of my open deals can a partner help with?");
    let deals = q
        .call("deal_navigator", json!({"only_with_help": true}))
        .await;
    let s = &deals["summary"];
    assert!(s["deals_with_help"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["deals"], s["deals_with_help"], "{s}");
    assert!(s["with_help_amount_usd"].as_i64().unwrap() > 0, "{s}");
    assert!(
        arr(&deals["opportunities"])
            .iter()
            .all(|d| !arr(&d["recommendations"]).is_empty())
    );
    let everything = c.ok("deal_navigator", json!({})).await;
    assert_eq!(
        everything["summary"]["deals_with_help"], s["deals_with_help"],
        "the filter keeps every deal with help"
    );
    assert!(everything["summary"]["deals"].as_u64() >= s["deals"].as_u64());
    q.done();

    // 3. Which of my prospects are customers of my best partners? One call with filters.
    let mut q = Conversation::new(
        &c,
        "Which of my prospects are customers of my best partners?",
    );
    let p = q
        .call(
            "pipeline_generation",
            json!({"label": "High", "partner_population_type": "customers"}),
        )
        .await;
    assert!(p["total"].as_u64().unwrap() > 0, "{p}");
    for a in arr(&p["accounts"]) {
        for partner in arr(&a["partners"]) {
            assert_eq!(partner["label"], "High", "{a}");
        }
    }
    q.done();

    // 4. Which partners can't be scored, and what to ask them? The leaderboard's reasons, then
    // one partner's advice.
    let mut q = Conversation::new(&c, "Which partners can't be scored, and what to ask them?");
    let top = q.call("top_partners", json!({})).await;
    let unknown: Vec<&Value> = arr(&top["partners"])
        .iter()
        .filter(|p| p["label"] == "Unknown")
        .collect();
    assert!(!unknown.is_empty(), "the demo has Unknown partners");
    assert!(unknown.iter().all(|p| !arr(&p["reasons"]).is_empty()));
    let why = q
        .call("partner_score", json!({"partner": unknown[0]["id"]}))
        .await;
    assert_eq!(why["label"], "Unknown");
    assert!(!arr(&why["reasons"]).is_empty(), "{why}");
    q.done();

    // 5. Co-sell plan for my biggest open deal: the biggest deal by sorting, then the account.
    let mut q = Conversation::new(&c, "Co-sell plan for my biggest open deal");
    let biggest = q
        .call("deal_navigator", json!({"sort": "amount", "limit": 1}))
        .await;
    let deal = &biggest["opportunities"][0];
    let usd = |d: &Value| {
        d["opportunity"]["amount_usd"]
            .as_f64()
            .or(d["opportunity"]["amount"].as_f64())
            .unwrap_or(0.0)
    };
    let mut max = 0.0f64;
    let mut cursor = String::new();
    loop {
        let page = c
            .ok(
                "deal_navigator",
                json!({"sort": "amount", "limit": 60, "cursor": cursor}),
            )
            .await;
        for d in arr(&page["opportunities"]) {
            max = max.max(usd(d));
        }
        match page["next_cursor"].as_str() {
            Some(n) => cursor = n.to_string(),
            None => break,
        }
    }
    assert_eq!(usd(deal), max, "the first deal by amount is the biggest");
    let account = deal["account"]["id"].as_i64().unwrap();
    let lookup = q.call("account_lookup", json!({"account": account})).await;
    assert_eq!(lookup["account"]["id"], account);
    q.done();

    // 6. Which partners should I invite next?
    let mut q = Conversation::new(&c, "Which partners should I invite next?");
    let sug = q.call("partner_suggestions", json!({})).await;
    let first = &arr(&sug["suggestions"])[0];
    assert!(
        first["org"]["partner_supplied"]["name"].is_string(),
        "{first}"
    );
    assert!(first["status"].is_string());
    q.done();

    // 7. How much pipeline did partners influence this quarter?
    let mut q = Conversation::new(&c, "How much pipeline did partners influence this quarter?");
    let inf = q.call("partner_influence", json!({})).await;
    assert_eq!(
        inf["period"],
        json!({"from": "2026-10-01", "to": "2026-12-31"})
    );
    let with = &inf["totals"]["with_partner"];
    assert!(
        with["opened_usd"].as_i64().unwrap_or(0) + with["won_usd"].as_i64().unwrap_or(0) > 0,
        "{inf}"
    );
    q.done();
    c.close().await;
}
