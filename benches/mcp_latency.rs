//! MCP over stdio on the demo network (issue 7): server start to a finished `initialize`, and
//! the latency of every read tool (p50 / p99 over repeated calls), measured by a real rmcp
//! client driving the release binary.
//!
//! Run: `cargo bench --bench mcp_latency` (BENCH_CALLS=N calls per tool, default 100).

use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_partnermap");

async fn connect(db: &Path) -> RunningService<RoleClient, ()> {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("mcp")
        .env("PARTNERMAP_DB", db)
        .env("PARTNERMAP_TOOLSETS", "all")
        .env_remove("PARTNERMAP_USER");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ().serve(transport).await.expect("initialize")
}

async fn call(c: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> Value {
    let Value::Object(map) = args else {
        unreachable!()
    };
    let r = c
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{tool}: {:?}", r.content);
    r.structured_content.unwrap_or(Value::Null)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let t = Instant::now();
    let out = std::process::Command::new(BIN)
        .args(["demo", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo = t.elapsed();

    let mut starts = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let c = connect(&db).await;
        starts.push(t.elapsed());
        c.cancel().await.unwrap();
    }

    let c = connect(&db).await;
    let partners = call(&c, "top_partners", json!({"limit": 50})).await;
    let top = partners["partners"][0]["partner_supplied"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = call(&c, "list_populations", json!({})).await;
    let my_pop = mine["populations"][0]["name"].as_str().unwrap().to_string();
    // a partner population shared at overlaps or full, for the report
    let theirs = call(&c, "list_populations", json!({"partner": top})).await;
    let their_pop = theirs["populations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| matches!(p["sharing_level"].as_str(), Some("overlaps" | "full")))
        .or_else(|| theirs["populations"].get(0))
        .map(|p| p["partner_supplied"]["name"].as_str().unwrap().to_string())
        .unwrap();
    let account = call(&c, "deal_navigator", json!({"limit": 1})).await["opportunities"][0]["account"]["name"]
        .as_str()
        .unwrap_or("a")
        .to_string();
    let reads: Vec<(&str, Value)> = vec![
        ("whoami", json!({})),
        ("list_partners", json!({})),
        ("get_partner", json!({"partner": top})),
        ("list_populations", json!({"partner": top})),
        ("get_overlaps", json!({"partner": top})),
        ("search", json!({"query": &account[..account.len().min(4)]})),
        ("partner_score", json!({"partner": top})),
        ("top_partners", json!({})),
        ("pipeline_generation", json!({})),
        ("deal_navigator", json!({})),
        ("account_lookup", json!({"account": account})),
        ("list_share_requests", json!({})),
        ("list_threads", json!({})),
        ("list_exchange_rates", json!({})),
        (
            "account_mapping_report",
            json!({"partner": top, "my_population": my_pop, "partner_population": their_pop}),
        ),
    ];
    println!(
        "\n| read tool over MCP stdio (demo network, {calls} calls) | p50 | p99 |\n|---|---|---|"
    );
    let mut all = Vec::new();
    for (tool, args) in &reads {
        let Value::Object(map) = args.clone() else {
            unreachable!()
        };
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let t = Instant::now();
            let r = c
                .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map.clone()))
                .await
                .unwrap();
            times.push(t.elapsed());
            if r.is_error == Some(true) {
                eprintln!("{tool}: isError {:?}", r.content);
            }
        }
        all.extend(times.iter().copied());
        println!(
            "| `{tool}` | {:.2} ms | {:.2} ms |",
            pct(&mut times, 0.5),
            pct(&mut times, 0.99)
        );
    }
    println!(
        "| all read tools | {:.2} ms | {:.2} ms (target ≤ 20 ms) |",
        pct(&mut all, 0.5),
        pct(&mut all, 0.99)
    );
    println!("\n| figure | time |\n|---|---|");
    println!(
        "| `partnermap demo` (release) | {:.2} s |",
        demo.as_secs_f64()
    );
    println!(
        "| server start → initialize done (p50 / max of 20) | {:.1} ms / {:.1} ms (target ≤ 50 ms) |",
        pct(&mut starts, 0.5),
        pct(&mut starts, 1.0)
    );
    c.cancel().await.unwrap();
}
