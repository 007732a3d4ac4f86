//! `partnermap mcp` writes nothing but JSON-RPC on stdout: raw requests in, every stdout line
//! checked. Logging is turned up to `debug` so that a stray log line would show.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_partnermap");

#[test]
fn stdout_carries_only_json_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let st = Command::new(BIN)
        .args([
            "init",
            "--org",
            "Alpha",
            "--domain",
            "alpha.com",
            "--admin",
            "ann@alpha.com",
        ])
        .env("PARTNERMAP_DB", &db)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");

    let mut child = Command::new(BIN)
        .arg("mcp")
        .env("PARTNERMAP_DB", &db)
        .env("PARTNERMAP_LOG", "debug")
        .env_remove("PARTNERMAP_USER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });

    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"extensions": {"io.example/unknown": {}}},
            "clientInfo": {"name": "raw-test", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "get_partner", "arguments": {"partner": "Nobody Inc"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
               "params": {"name": "no_such_tool", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
               "params": {"name": "whoami", "arguments": {}}}),
    ];
    for r in &requests {
        writeln!(stdin, "{r}").unwrap();
    }
    stdin.flush().unwrap();

    let mut lines = Vec::new();
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < 5 {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no answer in time; stdout so far: {lines:#?}"));
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert_eq!(v["jsonrpc"], "2.0", "not JSON-RPC: {line}");
        assert!(
            v.get("result").is_some() || v.get("error").is_some() || v.get("method").is_some(),
            "not a JSON-RPC message: {line}"
        );
        if let Some(id) = v.get("id").and_then(Value::as_i64) {
            answered.insert(id);
        }
        lines.push(v);
    }
    drop(stdin); // EOF: the server must stop
    let mut waited = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        waited += 1;
        if waited > 200 {
            child.kill().unwrap();
            panic!("the server did not exit after stdin closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Anything printed after the answers must be JSON-RPC too.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert_eq!(v["jsonrpc"], "2.0", "not JSON-RPC: {line}");
    }
    let stderr = err_thread.join().unwrap();
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
    assert!(
        !stderr.is_empty(),
        "debug logging should have written to stderr"
    );

    let by_id = |id: i64| {
        lines
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id}"))
    };
    assert_eq!(by_id(1)["result"]["serverInfo"]["name"], "partnermap");
    assert_eq!(
        by_id(1)["result"]["serverInfo"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(by_id(2)["result"]["tools"].as_array().unwrap().len() >= 14);
    let failed = &by_id(3)["result"];
    assert_eq!(failed["isError"], true);
    let text = failed["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("No partner named 'Nobody Inc'"), "{text}");
    assert!(text.contains("invite_partner"), "{text}");
    // An unknown tool is a malformed call: a JSON-RPC error, not a tool result.
    assert!(by_id(4).get("error").is_some(), "{}", by_id(4));
    assert_eq!(
        by_id(5)["result"]["structuredContent"]["user"]["email"],
        "ann@alpha.com"
    );
}

/// `mcp.json.example` is a working client entry: its command and arguments start a server that
/// answers `initialize` (the binary under test stands in for `partnermap` on the PATH).
#[test]
fn mcp_json_example_starts_a_server() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp.json.example");
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = &cfg["mcpServers"]["partnermap"];
    assert_eq!(entry["command"], "partnermap");
    let args: Vec<&str> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["mcp"]);
    assert!(entry["env"]["PARTNERMAP_DB"].is_string());

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(&args)
        .env("PARTNERMAP_DB", dir.path().join("fresh.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "example", "version": "0"}}})
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(stdin);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["result"]["serverInfo"]["name"], "partnermap");
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
    let _ = child.wait();
}
