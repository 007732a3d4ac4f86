//! Remote MCP beside stdio on the demo network (issue 14): p50 / p99 of every read tool over
//! streamable HTTP on loopback (`partnermap serve`, bearer token) and over stdio
//! (`partnermap mcp`), then calls per second with 1, 8 and 32 concurrent sessions on each.
//!
//! Run: `cargo bench --bench mcp_http` (BENCH_CALLS=N calls per tool, default 100;
//! BENCH_SECONDS=S per throughput run, default 3).

use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::{Map, Value, json};
use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_partnermap");
type Conn = RunningService<RoleClient, ()>;

async fn stdio(db: &Path) -> Conn {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("mcp")
        .env("PARTNERMAP_DB", db)
        .env_remove("PARTNERMAP_USER");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ().serve(transport).await.expect("initialize")
}

async fn http(url: &str, token: &str) -> Conn {
    let t = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token),
    );
    ().serve(t).await.expect("initialize over HTTP")
}

async fn call(c: &Conn, tool: &str, args: &Map<String, Value>) -> Value {
    let r = c
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args.clone()))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{tool}: {:?}", r.content);
    r.structured_content.unwrap_or(Value::Null)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

/// Calls per second of `sessions` clients each calling the mix in a loop for `secs`.
async fn throughput(
    conns: Vec<Conn>,
    mix: Arc<Vec<(String, Map<String, Value>)>>,
    secs: f64,
) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in conns.into_iter().enumerate() {
        let mix = mix.clone();
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let (tool, args) = &mix[(i + n as usize) % mix.len()];
                call(&c, tool, args).await;
                n += 1;
            }
            let _ = c.cancel().await;
            n
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let secs: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = std::process::Command::new(BIN)
        .args(["demo", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me = std::process::Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "--json", "whoami"])
        .env_remove("PARTNERMAP_USER")
        .output()
        .unwrap();
    let me: Value = serde_json::from_slice(&me.stdout).unwrap();
    let email = me["user"]["email"].as_str().unwrap().to_string();
    let tok = std::process::Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "token",
            "create",
            "--user",
            &email,
        ])
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&tok.stdout).trim().to_string();

    let mut server = std::process::Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--rate-limit", "100000000"])
        .env("PARTNERMAP_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve start line").unwrap();
        if line.starts_with("partnermap serve: MCP") {
            break line
                .split(" at ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let s = stdio(&db).await;
    let h = http(&url, &token).await;
    let partners = call(&s, "top_partners", &obj(json!({"limit": 50}))).await;
    let top = partners["partners"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = call(&s, "list_populations", &obj(json!({}))).await;
    let my_pop = mine["populations"][0]["name"].as_str().unwrap().to_string();
    let theirs = call(&s, "list_populations", &obj(json!({"partner": top}))).await;
    let their_pop = theirs["populations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| matches!(p["sharing_level"].as_str(), Some("overlaps" | "full")))
        .or_else(|| theirs["populations"].get(0))
        .map(|p| p["name"].as_str().unwrap().to_string())
        .unwrap();
    let account =
        call(&s, "deal_navigator", &obj(json!({"limit": 1}))).await["opportunities"][0]["account"]
            ["name"]
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
        "\n| read tool (demo network, {calls} calls) | stdio p50 | stdio p99 | HTTP p50 | HTTP p99 |\n|---|---|---|---|---|"
    );
    let (mut all_s, mut all_h) = (Vec::new(), Vec::new());
    for (tool, args) in &reads {
        let args = obj(args.clone());
        let mut row = Vec::new();
        for (c, all) in [(&s, &mut all_s), (&h, &mut all_h)] {
            call(c, tool, &args).await; // warm
            let mut times = Vec::with_capacity(calls);
            for _ in 0..calls {
                let t = Instant::now();
                call(c, tool, &args).await;
                times.push(t.elapsed());
            }
            all.extend(times.iter().copied());
            row.push(format!(
                "{:.2} ms | {:.2} ms",
                pct(&mut times, 0.5),
                pct(&mut times, 0.99)
            ));
        }
        println!("| `{tool}` | {} | {} |", row[0], row[1]);
    }
    println!(
        "| all read tools | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
        pct(&mut all_s, 0.5),
        pct(&mut all_s, 0.99),
        pct(&mut all_h, 0.5),
        pct(&mut all_h, 0.99)
    );
    let _ = s.cancel().await;
    let _ = h.cancel().await;

    // Throughput: a mix of everyday reads, each session calling in a loop.
    let mix: Arc<Vec<(String, Map<String, Value>)>> = Arc::new(
        [
            ("whoami", json!({})),
            ("list_partners", json!({})),
            ("get_partner", json!({"partner": top})),
            ("get_overlaps", json!({"partner": top})),
            ("partner_score", json!({"partner": top})),
        ]
        .into_iter()
        .map(|(t, a)| (t.to_string(), obj(a)))
        .collect(),
    );
    println!(
        "\n| concurrent sessions ({secs} s each; whoami, list_partners, get_partner, get_overlaps, partner_score) | stdio calls/s (one process per session) | HTTP calls/s (one server) |\n|---|---|---|"
    );
    for n in [1usize, 8, 32] {
        let mut sc = Vec::new();
        for _ in 0..n {
            sc.push(stdio(&db).await);
        }
        let st = throughput(sc, mix.clone(), secs).await;
        let mut hc = Vec::new();
        for _ in 0..n {
            hc.push(http(&url, &token).await);
        }
        let ht = throughput(hc, mix.clone(), secs).await;
        println!("| {n} | {st:.0} | {ht:.0} |");
    }
    // SAFETY: signalling our own child process by its pid.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
}
