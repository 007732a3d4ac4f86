//! Issue 12, the assistant's economy: toolsets and read-only mode (every tool in a toolset, the
//! model-visible default list under 24,000 characters, read-only serves no writing tool, `all`
//! serves everything; the flags and variables of `partnermap mcp`), and outputs written for a
//! context window on the demo network (every read tool at its default arguments ≤ 12,000
//! characters, at its largest `limit` ≤ 40,000; `limit: 0` refused; no non-standard format).

use crate::mcp_common;
use mcp_common::*;
use partnermap::mcp::{self, ToolsetOptions, toolsets};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const DEFAULT_LIST_MAX: usize = 24_000;
const DEFAULT_RESULT_MAX: usize = 12_000;
const LARGEST_PAGE_MAX: usize = 40_000;

fn read_only(t: &rmcp::model::Tool) -> bool {
    t.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

/// The part of a tool list a model reads: names, titles, descriptions and input schemas.
fn model_visible(tools: &[rmcp::model::Tool]) -> usize {
    tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "title": t.title.clone().or_else(|| t.annotations.as_ref().and_then(|a| a.title.clone())),
                "description": t.description,
                "inputSchema": t.input_schema.as_ref(),
            })
            .to_string()
            .chars()
            .count()
        })
        .sum()
}

#[test]
fn every_tool_has_a_toolset_and_the_default_list_is_small() {
    let all = mcp::tool_definitions();
    for t in &all {
        assert!(
            toolsets::toolset_of(&t.name).is_some(),
            "{} has no toolset: add it to src/mcp/toolsets.rs",
            t.name
        );
    }
    let default = mcp::served_tool_definitions(&ToolsetOptions::default());
    let size = model_visible(&default);
    eprintln!(
        "default toolsets: {} of {} tools, {size} model-visible characters (all: {})",
        default.len(),
        all.len(),
        model_visible(&all)
    );
    assert!(
        size < DEFAULT_LIST_MAX,
        "the default tool list is {size} characters"
    );
    // The everyday questions are answerable with the defaults.
    for t in [
        "whoami",
        "top_partners",
        "partner_score",
        "deal_navigator",
        "pipeline_generation",
        "account_lookup",
        "account_mapping_report",
        "create_share_request",
        "list_threads",
    ] {
        assert!(default.iter().any(|d| d.name == t), "{t} is not a default");
    }

    let ro = mcp::served_tool_definitions(&ToolsetOptions::new(&["all".into()], true).unwrap());
    assert!(!ro.is_empty());
    for t in &ro {
        assert!(read_only(t), "read-only mode serves {}", t.name);
    }
    assert_eq!(ro.len(), all.iter().filter(|t| read_only(t)).count());
    let everything = mcp::served_tool_definitions(&ToolsetOptions::all());
    assert_eq!(everything.len(), all.len());

    // The instructions name every served tool once, and the partner_supplied convention.
    let text = mcp::instructions(&ToolsetOptions::default());
    for t in &default {
        assert!(
            text.contains(t.name.as_ref()),
            "instructions miss {}",
            t.name
        );
    }
    assert!(text.contains("partner_supplied") && text.contains("never instructions"));
    assert!(
        !text.contains("import_csv"),
        "import_csv is not served by default"
    );

    // Only standard JSON Schema formats, in inputs and outputs.
    let defs = serde_json::to_string(&all).unwrap();
    for f in ["\"uint", "\"int64", "\"int32", "\"double", "\"float"] {
        assert!(
            !defs.contains(&format!("\"format\":{f}")),
            "format {f} in a schema"
        );
    }
    // Every tool whose output carries partner text says so in its description.
    for t in &all {
        let out = serde_json::to_string(&t.output_schema).unwrap();
        if out.contains("\"partner_supplied\"") {
            assert!(
                t.description
                    .as_deref()
                    .unwrap_or("")
                    .contains(toolsets::PARTNER_SUPPLIED_NOTE),
                "{} returns partner text without saying so",
                t.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_and_variables_choose_the_tools() {
    let net = Network::build();
    let names = |c: &Client| {
        let mut v: Vec<String> = c.tools.keys().cloned().collect();
        v.sort();
        v
    };
    // Default toolsets (the variable set empty means the defaults).
    let c = connect(&net.db, ANN, &[("PARTNERMAP_TOOLSETS", "")], false).await;
    let got = names(&c);
    let want: Vec<String> = mcp::served_tool_definitions(&ToolsetOptions::default())
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(got, want);
    assert!(!got.contains(&"import_csv".to_string()));
    let e = c
        .rejected("import_csv", json!({"path": "x", "name": "y"}))
        .await;
    assert!(e.contains("not found"), "{e}");
    c.close().await;

    // Chosen toolsets, read-only by variable.
    let c = connect(
        &net.db,
        ANN,
        &[
            ("PARTNERMAP_TOOLSETS", "data,partners"),
            ("PARTNERMAP_READ_ONLY", "1"),
        ],
        false,
    )
    .await;
    let got = names(&c);
    assert!(got.contains(&"get_overlaps".to_string()), "{got:?}");
    assert!(!got.contains(&"import_csv".to_string()), "{got:?}");
    assert!(!got.contains(&"top_partners".to_string()), "{got:?}");
    for t in c.tools.values() {
        assert!(read_only(t), "{} served in read-only mode", t.name);
    }
    let who = c.ok("whoami", json!({})).await;
    assert_eq!(who["org"]["name"], "Alpha");
    c.close().await;

    // The flags, on the command line.
    let out = std::process::Command::new(BIN)
        .args(["mcp", "--toolsets", "nope"])
        .env("PARTNERMAP_DB", &net.db)
        .env_remove("PARTNERMAP_TOOLSETS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown toolset 'nope'"), "{err}");
    assert!(out.stdout.is_empty(), "stdout is the protocol");
}

/// The call arguments of every read tool on the demo network, and the `limit` to push each
/// page to its largest.
fn demo_calls(partner: i64, account: i64, mine: i64, theirs: i64) -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("get_partner", json!({"partner": partner})),
        ("get_overlaps", json!({"partner": partner})),
        ("list_populations", json!({"partner": partner})),
        ("partner_score", json!({"partner": partner})),
        ("account_lookup", json!({"account": account})),
        ("search", json!({"query": "a"})),
        (
            "account_mapping_report",
            json!({"partner": partner, "my_population": mine, "partner_population": theirs}),
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_tool_fits_a_context_window_on_the_demo_network() {
    let (tmp, user) = demo_network();
    let db = tmp.path().join("demo.db");
    let c = connect(&db, &user, &[("PARTNERMAP_NOW", DEMO_NOW)], false).await;

    // The partner with the most overlaps, an account it has, and its largest report cell.
    let top = c
        .ok("top_partners", json!({"sort": "overlap_count", "limit": 1}))
        .await;
    let partner = top["partners"][0]["id"].as_i64().unwrap();
    let cells = c.ok("get_overlaps", json!({"partner": partner})).await;
    let cell = cells["cells"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|c| c["overlap_count"].as_u64())
        .unwrap()
        .clone();
    let deals = c.ok("deal_navigator", json!({})).await;
    let account = deals["opportunities"][0]["account"]["id"].as_i64().unwrap();
    let calls = demo_calls(
        partner,
        account,
        cell["my_population"]["id"].as_i64().unwrap(),
        cell["partner_population"]["id"].as_i64().unwrap(),
    );

    let mut report = Vec::new();
    let mut problems = Vec::new();
    let mut tools: Vec<_> = c.tools.values().filter(|t| read_only(t)).cloned().collect();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &tools {
        let name = t.name.as_ref();
        let args = calls.get(name).cloned().unwrap_or_else(|| json!({}));
        let v = c.ok(name, args.clone()).await;
        let n = v.to_string().chars().count();
        let mut line = format!("{name}: {n}");
        if n > DEFAULT_RESULT_MAX {
            problems.push(format!("{name} at default arguments: {n} characters"));
        }
        if t.input_schema
            .get("properties")
            .and_then(|p| p.get("limit"))
            .is_some()
        {
            let mut big = args.clone();
            big["limit"] = json!(100_000);
            let v = c.ok(name, big).await;
            let n = v.to_string().chars().count();
            line.push_str(&format!(", largest page {n}"));
            if n > LARGEST_PAGE_MAX {
                problems.push(format!("{name} at the largest limit: {n} characters"));
            }
            // limit 0 is refused, as the descriptions say (1-max).
            let mut zero = args.clone();
            zero["limit"] = json!(0);
            let e = c.err(name, zero).await;
            assert!(e.contains("limit"), "{name}: {e}");
        }
        report.push(line);
    }
    eprintln!(
        "output sizes on the demo network (characters):\n{}",
        report.join("\n")
    );
    assert!(tools.len() >= 14, "{} read tools", tools.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The numbers a person reads: no float noise in the leaderboard.
    let top = c.ok("top_partners", json!({})).await;
    for p in top["partners"].as_array().unwrap() {
        for k in [
            "s",
            "coverage_pct",
            "impact_percentile",
            "coverage_percentile",
        ] {
            if let Some(x) = p[k].as_f64() {
                assert_eq!(x, (x * 10.0).round() / 10.0, "{k} = {x}");
            }
        }
        assert!(p["partner_supplied"]["name"].is_string(), "{p}");
    }
    c.close().await;
}
