//! Views (SPEC §12, MCP Apps): the contract (`_meta.ui.resourceUri` on the tools, the `ui://`
//! resources with their MIME type, tool results unchanged for clients with and without MCP Apps)
//! and, in headless Chromium, each view drawing real tool results from the demo network inside a
//! minimal host built with ext-apps' AppBridge, and the standalone dashboard opened from disk.
//!
//! The browser part needs node, Debian's chromium and `npm ci` in tests/browser (.ci/run installs
//! them); without them it is skipped loudly, except under CI=true where it fails.

use crate::mcp_common;
use mcp_common::*;
use partnermap::views::{self, View};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ExtensionCapabilities, Implementation,
    ReadResourceRequestParams, ResourceContents,
};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USER: &str = "jordan.rivera@lumora.io";
const EVIL: &str =
    "<script>window.__pwned='name'</script><img src=x onerror=\"window.__pwned='img'\"> Evil Co";
const EVIL_POP: &str = "Customers <script>window.__pwned='pop'</script>";

struct Demo {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Demo {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .env("PARTNERMAP_DB", &self.db)
            .env("PARTNERMAP_USER", USER)
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "partnermap {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The demo network (small scale), plus an offline partner whose name and population name carry
/// markup, as a hostile partner might write them.
fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    // VIEWS_DEMO_SCALE=1 draws the full demo (for the README's screenshots); small by default.
    let scale = std::env::var("VIEWS_DEMO_SCALE").unwrap_or_else(|_| "0.2".into());
    let out = Command::new(BIN)
        .args(["demo", "--scale", &scale, "--db"])
        .arg(&db)
        .env_remove("PARTNERMAP_USER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Demo { _dir: dir, db };
    let csv = d._dir.path().join("evil.csv");
    std::fs::write(
        &csv,
        "name,website\n<b>Bold</b> Corp,boldcorp.com\nPlain Co,plainco.com\n",
    )
    .unwrap();
    d.ok(&["offline", "add", EVIL, "--domain", "evilco.com"]);
    d.ok(&[
        "import",
        csv.to_str().unwrap(),
        "--name",
        "list",
        "--partner",
        "evilco.com",
    ]);
    d.ok(&[
        "population",
        "create",
        "--name",
        EVIL_POP,
        "--type",
        "customers",
        "--partner",
        "evilco.com",
    ]);
    d
}

type UiClient = rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>;

/// A client that declares MCP Apps support (`extensions["io.modelcontextprotocol/ui"]`).
async fn ui_client(db: &Path) -> UiClient {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("mcp")
        .env("PARTNERMAP_DB", db)
        .env("PARTNERMAP_USER", USER);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ext = ExtensionCapabilities::new();
    ext.insert(
        "io.modelcontextprotocol/ui".into(),
        serde_json::from_value(json!({"mimeTypes": [views::MIME]})).unwrap(),
    );
    let caps = ClientCapabilities::builder()
        .enable_extensions_with(ext)
        .build();
    ClientConfig::new(caps, Implementation::new("views-test-ui-host", "1.0"))
        .serve(transport)
        .await
        .expect("initialize with the MCP Apps extension")
}

fn served(c: &Client) -> Vec<View> {
    View::ALL
        .into_iter()
        .filter(|v| c.tools.contains_key(v.tool()))
        .collect()
}

async fn read_view(c: &Client, uri: &str) -> (String, Option<String>) {
    let r = c
        .service
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap_or_else(|e| panic!("resources/read {uri}: {e}"));
    assert_eq!(r.contents.len(), 1, "{uri}");
    match &r.contents[0] {
        ResourceContents::TextResourceContents {
            uri: u,
            mime_type,
            text,
            ..
        } => {
            assert_eq!(u, uri);
            (text.clone(), mime_type.clone())
        }
        other => panic!("{uri}: not text: {other:?}"),
    }
}

async fn call_json(c: &Client, tool: &str, args: &Value) -> Value {
    match c.raw(tool, args.clone()).await {
        Outcome::Result(r) => serde_json::to_value(r).unwrap(),
        Outcome::RpcError(e) => panic!("{tool}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_carry_their_view_resources_serve_it_and_results_do_not_change() {
    let d = demo();
    let c = connect(&d.db, USER, &[], false).await;
    let views = served(&c);
    for v in [View::Overlaps, View::Leaderboard, View::Deals] {
        assert!(views.contains(&v), "{} is not served", v.tool());
    }
    // _meta on the tools with a view, nothing on the others.
    for (name, tool) in &c.tools {
        let meta = serde_json::to_value(&tool.meta).unwrap();
        match views.iter().find(|v| v.tool() == name) {
            Some(v) => {
                assert_eq!(meta["ui"]["resourceUri"], json!(v.uri()), "{name}");
                assert_eq!(meta["ui/resourceUri"], json!(v.uri()), "{name}");
                assert!(v.uri().starts_with("ui://partnermap/"));
            }
            None => assert!(meta.is_null(), "{name} has _meta {meta}"),
        }
    }
    // resources/list and resources/read of each ui:// URI.
    let listed = c.service.list_all_resources().await.unwrap();
    for v in &views {
        let r = listed
            .iter()
            .find(|r| r.uri == v.uri())
            .unwrap_or_else(|| panic!("{} not listed", v.uri()));
        assert_eq!(r.mime_type.as_deref(), Some(views::MIME));
        let (html, mime) = read_view(&c, &v.uri()).await;
        assert_eq!(mime.as_deref(), Some("text/html;profile=mcp-app"));
        assert!(html.starts_with("<!doctype html>"), "{}", v.uri());
        assert!(html.contains(&format!("data-view=\"{}\"", v.name())));
        assert!(html.contains("const McpExtApps=Object.freeze("));
        for bad in ["<script src", "<link ", "<iframe"] {
            assert!(!html.contains(bad), "{} has {bad}", v.uri());
        }
    }
    if !views.contains(&View::Influence) {
        assert!(!listed.iter().any(|r| r.uri == View::Influence.uri()));
    }
    let missing = c
        .service
        .read_resource(ReadResourceRequestParams::new("ui://partnermap/nope"))
        .await;
    assert!(missing.is_err());

    // The same calls from a client with MCP Apps and one without: identical results, and the
    // text content is the structured result (what hosts without MCP Apps show).
    let ui = ui_client(&d.db).await;
    let top = c.ok("top_partners", json!({"limit": 200})).await;
    let best = top["partners"][0]["id"].as_i64().expect("a ranked partner");
    let mut calls = vec![
        ("get_overlaps", json!({"partner": best.to_string()})),
        ("top_partners", json!({"limit": 200})),
        ("deal_navigator", json!({"limit": 20})),
        ("whoami", json!({})),
    ];
    if views.contains(&View::Influence) {
        calls.push(("partner_influence", json!({})));
    }
    for (tool, args) in calls {
        let plain = call_json(&c, tool, &args).await;
        let Value::Object(map) = args.clone() else {
            unreachable!()
        };
        let with_ui = ui
            .call_tool(CallToolRequestParams::new(tool).with_arguments(map))
            .await
            .unwrap();
        let with_ui = serde_json::to_value(with_ui).unwrap();
        assert_eq!(plain, with_ui, "{tool}: results differ with MCP Apps");
        assert_eq!(plain["content"].as_array().map(Vec::len), Some(1), "{tool}");
        let text: Value =
            serde_json::from_str(plain["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, plain["structuredContent"], "{tool}");
    }
    let _ = ui.cancel().await;
    c.close().await;
}

// ---------- in the browser ----------

struct Browser {
    node: PathBuf,
    chromium: PathBuf,
    dir: PathBuf,
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// node, chromium and the npm packages of tests/browser; `None` (after a loud message) when one
/// is missing outside CI.
fn browser() -> Option<Browser> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var_os("PARTNERMAP_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| which("chromium"));
    let node = which("node");
    let deps = dir.join("node_modules/playwright-core").is_dir()
        && dir
            .join("node_modules/@modelcontextprotocol/ext-apps")
            .is_dir();
    match (node, chromium, deps) {
        (Some(node), Some(chromium), true) => Some(Browser {
            node,
            chromium,
            dir,
        }),
        (node, chromium, deps) => {
            let msg = format!(
                "views browser tests need node ({}), chromium ({}) and `npm ci --prefix tests/browser` ({}); .ci/run installs them",
                node.is_some(),
                chromium.is_some(),
                deps
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
            None
        }
    }
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let d = target.join("views");
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Browser {
    fn run(&self, cases: Vec<Value>, work: &Path) -> Vec<Value> {
        let spec = work.join("spec.json");
        std::fs::write(
            &spec,
            serde_json::to_vec(&json!({"chromium": self.chromium, "cases": cases})).unwrap(),
        )
        .unwrap();
        let out = Command::new(&self.node)
            .arg(self.dir.join("run.mjs"))
            .arg(&spec)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "browser run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let cases = v["cases"].as_array().unwrap().clone();
        for c in &cases {
            assert_eq!(c["errors"], json!([]), "{}: console errors", c["name"]);
            assert_eq!(c["requests"], json!([]), "{}: network requests", c["name"]);
            assert_eq!(c["dom"]["rendered"], json!(true), "{}", c["name"]);
            assert_eq!(c["dom"]["pwned"], Value::Null, "{}: markup ran", c["name"]);
        }
        cases
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A name as the views show it: the accessor's reading of `x.name`, `x.partner_supplied.name`
/// or `x.name.partner_supplied`.
fn name_of(x: &Value) -> String {
    let v = match &x["name"] {
        Value::Null => &x["partner_supplied"]["name"],
        v => v,
    };
    match v {
        Value::String(t) => t.clone(),
        Value::Object(o) => o.get("partner_supplied").map(s).unwrap_or_default(),
        _ => String::new(),
    }
}

fn thousands(n: i64) -> String {
    let d = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn check_overlaps(dom: &Value, result: &Value) {
    let cells = result["cells"].as_array().unwrap();
    let drawn = dom["heat"]["cells"].as_array().unwrap();
    assert_eq!(drawn.len(), cells.len());
    assert_eq!(dom["heat"]["focusable"], json!(cells.len()));
    // The partner's name: top-level `partner_supplied.name` (or a plain `partner`).
    let partner = match s(&result["partner"]) {
        p if p.is_empty() => name_of(result),
        p => p,
    };
    assert!(!partner.is_empty(), "{result}");
    assert_eq!(s(&dom["title"]), format!("Overlaps with {partner}"));
    for c in cells {
        let label = format!(
            "{} × {}: {} accounts",
            name_of(&c["my_population"]),
            name_of(&c["partner_population"]),
            thousands(c["overlap_count"].as_i64().unwrap())
        );
        assert!(
            drawn.iter().any(|d| d["label"] == json!(label)
                && d["text"] == json!(thousands(c["overlap_count"].as_i64().unwrap()))),
            "cell {label} not drawn: {drawn:?}"
        );
    }
    for c in cells {
        let row = name_of(&c["my_population"]);
        let col = name_of(&c["partner_population"]);
        assert!(
            dom["heat"]["rows"]
                .as_array()
                .unwrap()
                .contains(&json!(row))
        );
        assert!(
            dom["heat"]["cols"]
                .as_array()
                .unwrap()
                .contains(&json!(col))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn views_draw_real_results_in_chromium_and_the_dashboard_opens_offline() {
    let Some(b) = browser() else { return };
    let d = demo();
    let work = tempfile::tempdir().unwrap();
    let shots = artifacts();
    let c = connect(&d.db, USER, &[], false).await;
    let views_served = served(&c);

    let top_args = json!({"limit": 200});
    let top = call_json(&c, "top_partners", &top_args).await;
    let partners = top["structuredContent"]["partners"]
        .as_array()
        .unwrap()
        .clone();
    let biggest = partners
        .iter()
        .max_by_key(|p| p["overlap_count"].as_i64().unwrap_or(0))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let ov_args = json!({"partner": biggest.to_string(), "limit": 200});
    let ov = call_json(&c, "get_overlaps", &ov_args).await;
    let evil_args = json!({"partner": "evilco.com"});
    let evil = call_json(&c, "get_overlaps", &evil_args).await;
    let deal_args = json!({"limit": 25});
    let deals = call_json(&c, "deal_navigator", &deal_args).await;
    let (inf_args, influence) = if views_served.contains(&View::Influence) {
        let a = json!({});
        let r = call_json(&c, "partner_influence", &a).await;
        (a, r)
    } else {
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/views/influence.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let text = fixture.to_string();
        (
            json!({}),
            json!({"content": [{"type": "text", "text": text}], "structuredContent": fixture}),
        )
    };
    let mut html = std::collections::HashMap::new();
    for v in View::ALL {
        let h = if views_served.contains(&v) {
            read_view(&c, &v.uri()).await.0
        } else {
            views::app_html(v) // the view is built against the fixture until its tool exists
        };
        html.insert(v.name(), h);
    }
    let shot = |n: &str| {
        shots
            .join(format!("{n}.png"))
            .to_string_lossy()
            .into_owned()
    };
    let case = |name: &str, v: View, theme: &str, args: &Value, result: &Value| {
        json!({
            "name": name, "kind": "app", "html": html[v.name()], "theme": theme,
            "toolName": v.tool(), "toolArgs": args, "toolResult": result,
            "screenshot": shot(name),
        })
    };
    let mut overlaps_case = case("overlaps", View::Overlaps, "light", &ov_args, &ov);
    overlaps_case["focusFirstCell"] = json!(true);
    let cases = vec![
        overlaps_case,
        case("leaderboard", View::Leaderboard, "light", &top_args, &top),
        case("deals", View::Deals, "light", &deal_args, &deals),
        case("influence", View::Influence, "dark", &inf_args, &influence),
        case(
            "leaderboard-dark",
            View::Leaderboard,
            "dark",
            &top_args,
            &top,
        ),
        case(
            "overlaps-hostile-names",
            View::Overlaps,
            "dark",
            &evil_args,
            &evil,
        ),
    ];

    // The standalone dashboard, written by the CLI: new file, owner-only, never replaced.
    let report = work.path().join("report.html");
    let said = d.ok(&["dashboard", report.to_str().unwrap()]);
    assert!(said.contains("Wrote"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&report).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&report).unwrap();
    let again = d.cli(&["dashboard", report.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&report).unwrap(), before);
    let mut cases = cases;
    cases.push(json!({"name": "dashboard", "kind": "file", "path": report, "screenshot": shot("dashboard")}));

    let out = b.run(cases, work.path());
    let dom = |name: &str| {
        out.iter()
            .find(|c| c["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name} missing"))["dom"]
            .clone()
    };

    // overlaps: every cell with its populations and count; keyboard moves between cells
    let o = dom("overlaps");
    check_overlaps(&o, &ov["structuredContent"]);
    assert_eq!(o["theme"], json!("light"));
    let keys = &o["afterKeys"];
    assert!(keys["focused"].as_str().is_some_and(|l| l.contains(" × ")));
    assert!(
        keys["detail"]
            .as_str()
            .unwrap()
            .contains("accounts of yours are in")
    );

    // hostile names: drawn as text, nothing ran, one script in the document
    let e = dom("overlaps-hostile-names");
    check_overlaps(&e, &evil["structuredContent"]);
    assert!(s(&e["title"]).contains("<script>window.__pwned='name'</script>"));
    assert_eq!(e["scripts"], json!(1));
    assert_eq!(e["theme"], json!("dark"));

    // leaderboard: the ranked list in order, one point per scored partner
    let top_v = &top["structuredContent"];
    for name in ["leaderboard", "leaderboard-dark"] {
        let l = dom(name);
        let rank = l["rank"].as_array().unwrap();
        assert_eq!(rank.len(), partners.len());
        for (i, (row, p)) in rank.iter().zip(&partners).enumerate() {
            assert_eq!(row[0], json!((i + 1).to_string()));
            assert!(s(&row[1]).starts_with(&name_of(p)), "{row:?} vs {p}");
            assert!(s(&row[2]).starts_with(&s(&p["label"])), "{row:?} vs {p}");
            assert_eq!(
                row[5],
                json!(thousands(p["overlap_count"].as_i64().unwrap()))
            );
        }
        let scored: Vec<&Value> = partners
            .iter()
            .filter(|p| matches!(p["label"].as_str(), Some("High" | "Medium" | "Low")))
            .collect();
        let points = l["points"].as_array().unwrap();
        assert_eq!(points.len(), scored.len());
        for p in scored {
            let label = format!("{}: {}, impact percentile", name_of(p), s(&p["label"]));
            assert!(
                points.iter().any(|q| s(&q["label"]).starts_with(&label)
                    && s(&q["cls"]).contains(&format!("pm-{}", s(&p["label"])))),
                "no point for {label}"
            );
        }
        assert!(
            s(&l["subtitle"]).starts_with(&format!("{} partners", partners.len())),
            "{}",
            l["subtitle"]
        );
    }
    let dark = dom("leaderboard-dark");
    assert_eq!(dark["theme"], json!("dark"));
    assert_ne!(dark["background"], dom("leaderboard")["background"]);
    assert!(
        top_v["partners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| name_of(p) == EVIL)
    );

    // deals: one row per deal, the helping partners and their signals
    let dv = dom("deals");
    let items = deals["structuredContent"]["opportunities"]
        .as_array()
        .unwrap();
    let rows = dv["deals"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    assert!(!items.is_empty());
    for (row, it) in rows.iter().zip(items) {
        let names: Vec<String> = it["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| name_of(&r["partner"]))
            .collect();
        assert_eq!(row["partners"], json!(names));
        let sigs: Vec<String> = it["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["signal"]).replace('_', " "))
            .collect();
        assert_eq!(row["signals"], json!(sigs));
        assert!(s(&row["cells"][1]).starts_with(&name_of(&it["account"])));
        assert!(s(&row["cells"][2]).starts_with(&s(&it["opportunity"]["stage"])));
    }
    let open = deals["structuredContent"]["open_opportunities"]
        .as_i64()
        .unwrap();
    assert!(s(&dv["subtitle"]).starts_with(&format!("{} open deals", thousands(open))));

    // influence: one table row per row of the result
    let iv = dom("influence");
    let inf = &influence["structuredContent"];
    let irows = inf["rows"].as_array().unwrap();
    let drawn = iv["influence"].as_array().unwrap();
    assert_eq!(drawn.len(), irows.len());
    for (row, r) in drawn.iter().zip(irows) {
        let label = if inf["group_by"] == json!("period") {
            s(&r["period"])
        } else {
            name_of(&r["partner"])
        };
        assert_eq!(row[0], json!(label));
        assert_eq!(
            row[1],
            json!(r["opened"].as_i64().map(thousands).unwrap_or("–".into()))
        );
        assert_eq!(
            row[3],
            json!(r["won"].as_i64().map(thousands).unwrap_or("–".into()))
        );
        assert_eq!(
            row[5],
            json!(r["lost"].as_i64().map(thousands).unwrap_or("–".into()))
        );
    }
    assert_eq!(iv["cards"].as_array().unwrap().len(), 2);

    // the dashboard: every section, every active partner's overlaps, the same ranked list
    let db = dom("dashboard");
    assert_eq!(
        db["sections"].as_array().unwrap().first(),
        Some(&json!("leaderboard"))
    );
    for sct in ["leaderboard", "overlaps", "deals"] {
        assert!(
            db["sections"].as_array().unwrap().contains(&json!(sct)),
            "{sct}"
        );
    }
    let active = c
        .ok("list_partners", json!({"status": "active", "limit": 200}))
        .await;
    assert_eq!(
        db["partnerOptions"].as_array().unwrap().len(),
        active["partners"].as_array().unwrap().len()
    );
    assert!(
        db["partnerOptions"]
            .as_array()
            .unwrap()
            .contains(&json!(EVIL))
    );
    assert_eq!(db["rank"].as_array().unwrap().len(), partners.len());
    assert_eq!(db["scripts"], json!(2));
    let all_deals = open.min(500) as usize;
    assert_eq!(db["deals"].as_array().unwrap().len(), all_deals);

    for n in ["overlaps", "leaderboard", "deals", "influence", "dashboard"] {
        assert!(shots.join(format!("{n}.png")).is_file(), "{n}.png missing");
    }
    c.close().await;
}
