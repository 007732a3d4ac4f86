//! Remote MCP (`partnermap serve`, SPEC §10) over real sockets on 127.0.0.1: authentication
//! (401 with `WWW-Authenticate` for no, wrong, revoked and expired tokens), the Origin check
//! (403), the rate limit (429 with `Retry-After`), the body cap (413), `/healthz`, per-request
//! acting users (two tokens, two orgs, never each other's data, no session hijack), file tools
//! off without `PARTNERMAP_FILES`, 50 concurrent sessions × 200 calls, SIGTERM during a call,
//! and a third-party client (the official Python SDK). The full tool tour over HTTP is in
//! tests/mcp/mcp_tools.rs.

use crate::mcp_common;
use mcp_common::*;
use serde_json::{Value, json};

fn initialize_body() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string()
}

/// One raw POST of an `initialize` to /mcp with optional token and Origin.
async fn post(url: &str, token: Option<&str>, origin: Option<&str>) -> reqwest::Response {
    post_body(url, token, origin, initialize_body()).await
}

async fn post_body(
    url: &str,
    token: Option<&str>,
    origin: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    r.send().await.unwrap()
}

fn assert_401(r: &reqwest::Response, why: &str) {
    assert_eq!(r.status().as_u16(), 401, "{why}");
    let challenge = r
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("{why}: no WWW-Authenticate"))
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer "), "{why}: {challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_origins_rate_and_size_are_enforced() {
    let net = Network::build();
    let server = HttpServer::start(
        &net.db,
        &[],
        &["--rate-limit", "8", "--max-body-bytes", "4096"],
    );
    let url = &server.url;
    let good = token_for(&net.db, ANN);

    // no token, a wrong one, one that looks right but is unknown
    assert_401(&post(url, None, None).await, "no token");
    assert_401(&post(url, Some("nonsense"), None).await, "wrong token");
    let forged = format!("pmt_{}", "0".repeat(64));
    assert_401(&post(url, Some(&forged), None).await, "unknown token");
    // a revoked one (revoked by name while the server runs)
    let out = net.cli(
        None,
        &["token", "create", "--user", MIA, "--name", "mia-laptop"],
    );
    let revoked = out.trim().to_string();
    assert_eq!(post(url, Some(&revoked), None).await.status().as_u16(), 200);
    net.cli(None, &["token", "revoke", "mia-laptop"]);
    let r = post(url, Some(&revoked), None).await;
    assert_401(&r, "revoked token");
    assert!(r.text().await.unwrap().contains("revoked"));
    // an expired one: issued "in 2020" for one day
    let out = std::process::Command::new(BIN)
        .env("PARTNERMAP_DB", &net.db)
        .env("PARTNERMAP_NOW", "2020-01-01T00:00:00Z")
        .args(["token", "create", "--user", BOB, "--expires", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let expired = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let r = post(url, Some(&expired), None).await;
    assert_401(&r, "expired token");
    assert!(r.text().await.unwrap().contains("expired"));

    // Origin: loopback pages pass, a foreign one is 403 even with a good token
    assert_eq!(
        post(url, Some(&good), Some("http://evil.example"))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        post(url, None, Some("https://localhost.evil.example"))
            .await
            .status()
            .as_u16(),
        403,
        "the Origin check comes before authentication"
    );
    assert_eq!(
        post(url, Some(&good), Some("http://localhost:6274"))
            .await
            .status()
            .as_u16(),
        200
    );

    // a body over the cap is refused, not parsed
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(10_000)
    );
    assert_eq!(
        post_body(url, Some(&good), None, big)
            .await
            .status()
            .as_u16(),
        413
    );

    // health, without a token
    let h: Value = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");

    // the rate limit: 8 a minute for this token (3 used above); the rest of the burst passes,
    // then 429 with Retry-After, while another token is unaffected
    let mut codes = vec![];
    for _ in 0..8 {
        codes.push(post(url, Some(&good), None).await.status().as_u16());
    }
    let r = post(url, Some(&good), None).await;
    assert_eq!(r.status().as_u16(), 429, "codes before: {codes:?}");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(codes.contains(&429) && codes.iter().filter(|c| **c == 200).count() >= 4);
    let other = token_for(&net.db, BOB);
    assert_eq!(post(url, Some(&other), None).await.status().as_u16(), 200);

    // operator mistakes are sentences, and change nothing
    let bad = |args: &[&str]| {
        let o = std::process::Command::new(BIN)
            .env("PARTNERMAP_DB", &net.db)
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(bad(&["token", "create", "--user", "nobody@nowhere.test"]).contains("no user"));
    assert!(bad(&["token", "create", "--user", ANN, "--name", "mia-laptop"]).contains("exists"));
    assert!(bad(&["token", "revoke", "mia-laptop"]).contains("revoked already"));
    assert!(bad(&["token", "revoke", "no-such-token"]).contains("token list"));

    // token list shows them, never the secret
    let list = net.cli(None, &["--json", "token", "list"]);
    assert!(list.contains("mia-laptop") && list.contains("revoked") && list.contains("expired"));
    assert!(!list.contains(&good) && !list.contains("pmt_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_acts_as_its_own_user_and_sessions_are_not_shared() {
    let net = Network::build();
    let server = HttpServer::start(&net.db, &[], &[]);
    let ann_token = token_for(&net.db, ANN);
    let gus_token = token_for(&net.db, GUS);
    let ann = connect_http(&server.url, &ann_token, false).await;
    let gus = connect_http(&server.url, &gus_token, true).await;
    for _ in 0..3 {
        let a = ann.ok("whoami", json!({})).await;
        let g = gus.ok("whoami", json!({})).await;
        assert_eq!(a["org"]["name"], "Alpha");
        assert_eq!(g["org"]["name"], "Gamma");
        let ap = ann.ok("list_partners", json!({})).await.to_string();
        let gp = gus.ok("list_partners", json!({})).await.to_string();
        assert!(ap.contains("Beta"), "{ap}");
        assert!(!gp.contains("Beta") && !gp.contains("Alpha"), "{gp}");
        let gpop = gus.ok("list_populations", json!({})).await.to_string();
        assert!(
            !gpop.contains("Prospects"),
            "Gamma has Customers only: {gpop}"
        );
        let e = gus.err("get_overlaps", json!({"partner": "Beta"})).await;
        assert!(!e.contains("Prospects"), "{e}");
    }

    // Alpha's session id presented with Gamma's token: no such session for Gamma
    let init = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {ann_token}"))
        .body(initialize_body())
        .send()
        .await
        .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let hijack = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {gus_token}"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .body(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hijack.status().as_u16(), 404);
    ann.close().await;
    gus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_tools_are_served_over_http_only_with_partnermap_files() {
    let net = Network::build();
    let token = token_for(&net.db, ANN);
    let off = HttpServer::start(&net.db, &[], &[]);
    let c = connect_http(&off.url, &token, false).await;
    for t in [
        "import_csv",
        "upload_partner_csv",
        "import_crm",
        "export_report",
    ] {
        assert!(
            !c.tools.contains_key(t),
            "{t} served without PARTNERMAP_FILES"
        );
        assert!(
            !c.rejected(t, json!({"path": "/etc/passwd", "name": "x"}))
                .await
                .is_empty()
        );
    }
    assert!(c.tools.contains_key("whoami"));
    c.close().await;
    let dir = net.dir.path().to_str().unwrap().to_string();
    let on = HttpServer::start(&net.db, &[("PARTNERMAP_FILES", &dir)], &[]);
    let c = connect_http(&on.url, &token, false).await;
    for t in [
        "import_csv",
        "upload_partner_csv",
        "import_crm",
        "export_report",
    ] {
        assert!(c.tools.contains_key(t), "{t} missing with PARTNERMAP_FILES");
    }
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sessions_make_two_hundred_calls_each_without_an_error() {
    let net = Network::build();
    let mut server = HttpServer::start(&net.db, &[], &["--rate-limit", "1000000"]);
    let users = [ANN, MIA, BOB, GUS];
    let tokens: Vec<String> = users.iter().map(|u| token_for(&net.db, u)).collect();
    let rss_before = rss_kb(server.child.id());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let url = server.url.clone();
        let token = tokens[i % users.len()].clone();
        let user = users[i % users.len()];
        tasks.spawn(async move {
            let c = connect_http(&url, &token, i % 2 == 1).await;
            for k in 0..200 {
                let v = if k % 2 == 0 {
                    c.ok("whoami", json!({})).await
                } else {
                    c.ok("list_partners", json!({})).await
                };
                if k % 2 == 0 {
                    assert_eq!(v["user"]["email"], user, "session {i} call {k}");
                }
            }
            c.close().await;
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("a session failed");
    }
    let rss_after = rss_kb(server.child.id());
    assert!(
        rss_after < 512 * 1024,
        "server memory grew to {rss_after} kB (from {rss_before} kB)"
    );
    assert!(server.stop().success());
    let log = server.log();
    assert_eq!(
        log.matches("tool call").count(),
        50 * 200,
        "one log line per call"
    );
    assert!(!log.contains("outcome=rpc_error") && !log.contains("outcome=tool_error"));
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// SIGTERM while a call waits on the database: the call finishes with its result, new requests
/// are refused, and the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_call_under_way_finish() {
    let net = Network::build();
    let mut server = HttpServer::start(&net.db, &[], &[]);
    let token = token_for(&net.db, ANN);
    let c = connect_http(&server.url, &token, false).await;
    // Hold the database's write lock so that the next write call waits.
    let lock = rusqlite::Connection::open(&net.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let call = tokio::spawn(async move {
        let v = c
            .ok(
                "add_offline_partner",
                json!({"name": "Late Offline", "domain": "lateoffline.com"}),
            )
            .await;
        c.close().await;
        v
    });
    // Wait until the server counts the call as under way.
    let health = format!("{}/healthz", server.base);
    for i in 0.. {
        let h: Value = reqwest::get(&health).await.unwrap().json().await.unwrap();
        if h["in_flight"] == 1 {
            break;
        }
        assert!(
            !call.is_finished(),
            "the call did not wait for the database"
        );
        assert!(i < 1500, "the call never reached the server: {h}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // SAFETY: signalling our own child process by its pid.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    // New requests are refused while it drains (or the listener is already closed).
    for i in 0.. {
        assert!(i < 1500, "the server never started draining");
        match reqwest::Client::new()
            .post(&server.url)
            .body("{}")
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 503 => break,
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            Err(_) => break,
        }
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited before the call finished"
    );
    lock.execute_batch("ROLLBACK").unwrap();
    let v = call.await.unwrap();
    assert_eq!(
        v["partner"]["partner_supplied"]["name"], "Late Offline",
        "{v}"
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(server.log().contains("shutting down"));
    let listed = net.cli(Some(ANN), &["partners"]);
    assert!(
        listed.contains("Late Offline"),
        "the write was kept: {listed}"
    );
}

/// The official MCP Python SDK (`mcp` from PyPI) lists and calls tools with a token.
#[test]
fn the_official_python_sdk_lists_and_calls_tools() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import mcp, httpx2"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have the Python SDK (pip install mcp)"
        );
        eprintln!("SKIPPED: the official MCP Python SDK is not installed (pip install mcp)");
        return;
    }
    let net = Network::build();
    let server = HttpServer::start(&net.db, &[], &[]);
    let token = token_for(&net.db, BOB);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mcp_http_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([&server.url, &token])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["server"], "partnermap");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tools.contains(&"whoami") && tools.contains(&"account_mapping_report"));
    assert!(
        !tools.contains(&"import_csv"),
        "file tools are off without PARTNERMAP_FILES"
    );
    assert_eq!(v["whoami"]["user"]["email"], BOB);
    assert_eq!(v["whoami"]["org"]["name"], "Beta");
    assert_eq!(v["whoami_is_error"], false);
    assert!(v["partners"].to_string().contains("Alpha"));
    assert_eq!(v["bad_is_error"], true);
}

/// A non-loopback address without TLS is refused with a sentence; with `--tls-cert` /
/// `--tls-key` the server speaks HTTPS (a test certificate for localhost / 127.0.0.1 in
/// tests/data/tls, made for these tests only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_required_off_loopback_and_works() {
    let net = Network::build();
    let out = std::process::Command::new(BIN)
        .env("PARTNERMAP_DB", &net.db)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--tls-cert"),
        "{err}"
    );

    let tls = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let cert = tls.join("localhost.cert.pem");
    let key = tls.join("localhost.key.pem");
    let server = HttpServer::start(
        &net.db,
        &[],
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let token = token_for(&net.db, ANN);
    let r = client
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("partnermap"));
    let plain = server.url.replace("https://", "http://");
    let r = reqwest::Client::new().post(&plain).body("{}").send().await;
    assert!(
        r.is_err() || !r.unwrap().status().is_success(),
        "plain HTTP on the TLS port"
    );
}
