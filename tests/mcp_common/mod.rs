//! Shared helpers for the end-to-end MCP tests: a small two-org network built with the CLI, an
//! rmcp client over the built binary, tool calls, and a JSON-schema check of structured outputs.
#![allow(dead_code)]

use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion, Tool};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub const BIN: &str = env!("CARGO_BIN_EXE_partnermap");
pub const ANN: &str = "ann@alpha.com"; // admin of Alpha
pub const MIA: &str = "mia@alpha.com"; // member of Alpha
pub const BOB: &str = "bob@beta.io"; // admin of Beta
pub const GUS: &str = "gus@gamma.org"; // admin of Gamma

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/mcp")
        .join(name)
}

pub struct Network {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    /// `Some` when clients reach the server over streamable HTTP (`partnermap serve`, started
    /// on the first `client` call) instead of stdio.
    http: Option<std::sync::OnceLock<HttpServer>>,
}

impl Network {
    /// Alpha (ann, admin; mia, member) and Beta (bob) in an active partnership; Gamma (gus)
    /// with data but no partnership. Each org has populations Customers and Prospects (Gamma:
    /// Customers).
    pub fn build() -> Network {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pm.db");
        let n = Network {
            dir,
            db,
            http: None,
        };
        n.cli(
            None,
            &[
                "init",
                "--org",
                "Alpha",
                "--domain",
                "alpha.com",
                "--admin",
                ANN,
            ],
        );
        n.cli(
            None,
            &[
                "init", "--org", "Beta", "--domain", "beta.io", "--admin", BOB,
            ],
        );
        n.cli(
            None,
            &[
                "init",
                "--org",
                "Gamma",
                "--domain",
                "gamma.org",
                "--admin",
                GUS,
            ],
        );
        n.cli(
            Some(ANN),
            &["user", "add", "--email", MIA, "--role", "member"],
        );
        let alpha = data("alpha.csv");
        n.cli(
            Some(ANN),
            &[
                "import",
                alpha.to_str().unwrap(),
                "--name",
                "crm",
                "--name-column",
                "Company",
                "--website-column",
                "Website",
            ],
        );
        for (name, t, v) in [
            ("Customers", "customers", "Customer"),
            ("Prospects", "prospects", "Prospect"),
        ] {
            let f = json!({"field": "type", "value": v}).to_string();
            n.cli(
                Some(ANN),
                &[
                    "population",
                    "create",
                    "--name",
                    name,
                    "--type",
                    t,
                    "--filter",
                    &f,
                ],
            );
        }
        let beta = data("beta.csv");
        n.cli(
            Some(BOB),
            &["import", beta.to_str().unwrap(), "--name", "list"],
        );
        for (name, t, v) in [
            ("Customers", "customers", "Customer"),
            ("Prospects", "prospects", "Prospect"),
        ] {
            let f = json!({"field": "Stage", "op": "eq", "value": v}).to_string();
            n.cli(
                Some(BOB),
                &[
                    "population",
                    "create",
                    "--name",
                    name,
                    "--type",
                    t,
                    "--filter",
                    &f,
                ],
            );
        }
        let gamma = data("gamma.csv");
        n.cli(
            Some(GUS),
            &["import", gamma.to_str().unwrap(), "--name", "list"],
        );
        n.cli(
            Some(GUS),
            &[
                "population",
                "create",
                "--name",
                "Customers",
                "--type",
                "customers",
            ],
        );
        n.cli(Some(ANN), &["invite", "beta.io"]);
        n.cli(Some(BOB), &["accept", "Alpha"]);
        n
    }

    /// Runs the CLI as `user` on this network's database; panics on failure.
    /// Adds Alpha's offline partner "Delta Offline" from tests/data/mcp/delta.csv, with its
    /// customers population (overlapping Beta's accounts).
    pub fn add_delta_offline(&self) {
        self.cli(
            Some(ANN),
            &[
                "offline",
                "add",
                "Delta Offline",
                "--domain",
                "deltaoffline.com",
            ],
        );
        let delta = data("delta.csv");
        self.cli(
            Some(ANN),
            &[
                "import",
                delta.to_str().unwrap(),
                "--name",
                "list",
                "--name-column",
                "Account",
                "--website-column",
                "URL",
                "--partner",
                "Delta Offline",
            ],
        );
        self.cli(
            Some(ANN),
            &[
                "population",
                "create",
                "--name",
                "Customers",
                "--type",
                "customers",
                "--partner",
                "Delta Offline",
            ],
        );
    }

    pub fn cli(&self, user: Option<&str>, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env("PARTNERMAP_DB", &self.db)
            .env_remove("PARTNERMAP_USER");
        if let Some(u) = user {
            cmd.env("PARTNERMAP_USER", u);
        }
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "partnermap {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The same network, reached over streamable HTTP: `client` then starts one
    /// `partnermap serve` (file tools allowed under the test data and the network's folder)
    /// and connects with a bearer token for the user.
    pub fn build_http() -> Network {
        let mut n = Network::build();
        n.http = Some(std::sync::OnceLock::new());
        n
    }

    /// The HTTP server of a [`Network::build_http`] network (started on first use).
    pub fn server(&self) -> &HttpServer {
        self.http
            .as_ref()
            .expect("a network built with build_http")
            .get_or_init(|| {
                let files = format!("{}:{}", data("").display(), self.dir.path().display());
                HttpServer::start(&self.db, &[("PARTNERMAP_FILES", &files)], &[])
            })
    }

    /// An MCP client acting as `user`: `partnermap mcp` over stdio, or the network's HTTP server
    /// with the user's token; with the `initialize` handshake (`modern` = false) or
    /// `server/discover` at the newest protocol (2026-07-28).
    pub async fn client(&self, user: &str, modern: bool) -> Client {
        match &self.http {
            None => connect(&self.db, user, &[], modern).await,
            Some(_) => {
                let server = self.server();
                let token = token_for(&self.db, user);
                connect_http(&server.url, &token, modern).await
            }
        }
    }
}

/// The folders the test servers' file tools may use unless a test says otherwise: the test's
/// own folder (the database's) and the checked-in test data.
pub fn default_files(db: &Path) -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => format!("{}:{}", d.display(), data.display()),
        _ => data.display().to_string(),
    }
}

/// An MCP client talking to `partnermap mcp` on the database `db`, acting as `user`, with extra
/// environment variables (e.g. `PARTNERMAP_NOW`), through `initialize` (`modern` = false) or
/// `server/discover` at the newest protocol.
pub async fn connect(db: &Path, user: &str, env: &[(&str, &str)], modern: bool) -> Client {
    connect_in(db, user, env, modern, None).await
}

/// [`connect`] with the server's working directory set to `cwd` (relative paths in tool
/// arguments then land there).
pub async fn connect_in(
    db: &Path,
    user: &str,
    env: &[(&str, &str)],
    modern: bool,
    cwd: Option<&Path>,
) -> Client {
    let mut cmd = tokio::process::Command::new(BIN);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd.arg("mcp")
        .env("PARTNERMAP_DB", db)
        .env("PARTNERMAP_USER", user)
        .env("PARTNERMAP_FILES", default_files(db))
        // Every tool, unless a test chooses toolsets or read-only mode itself.
        .env("PARTNERMAP_TOOLSETS", "all")
        .env_remove("PARTNERMAP_READ_ONLY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let service = if modern {
        ().serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::LATEST],
            },
        )
        .await
        .expect("discover handshake")
    } else {
        ().serve(transport).await.expect("initialize handshake")
    };
    let tools = service
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), t))
        .collect();
    Client { service, tools }
}

/// Issues a bearer token for `user` with the CLI (`partnermap token create`).
pub fn token_for(db: &Path, user: &str) -> String {
    let out = std::process::Command::new(BIN)
        .env("PARTNERMAP_DB", db)
        .args(["token", "create", "--user", user])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("pmt_"), "{token}");
    token
}

/// A running `partnermap serve` on 127.0.0.1 (a free port), killed on drop.
pub struct HttpServer {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT/mcp`
    pub url: String,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Everything the server wrote to stderr so far.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Starts `partnermap serve --listen 127.0.0.1:0 ARGS` on `db` with `env`, and waits for its
    /// start line (which names the port).
    pub fn start(db: &Path, env: &[(&str, &str)], args: &[&str]) -> HttpServer {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(BIN);
        cmd.env("PARTNERMAP_DB", db)
            .env_remove("PARTNERMAP_USER")
            .env_remove("PARTNERMAP_FILES")
            // Every tool, unless a test chooses toolsets or read-only mode itself.
            .env("PARTNERMAP_TOOLSETS", "all")
            .env_remove("PARTNERMAP_READ_ONLY")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let url = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("serve exited before listening: {}", log.lock().unwrap()))
                .unwrap();
            log.lock().unwrap().push_str(&line);
            log.lock().unwrap().push('\n');
            if let Some(rest) = line.split(" at ").nth(1)
                && line.starts_with("partnermap serve: MCP")
            {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let base = url.trim_end_matches("/mcp").to_string();
        HttpServer {
            child,
            url,
            base,
            log,
            reader: Some(reader),
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the process to exit and its log to be read to the end.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child process by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An MCP client over streamable HTTP at `url` with a bearer token, through `initialize`
/// (`modern` = false) or `server/discover` at the newest protocol.
pub async fn connect_http(url: &str, token: &str, modern: bool) -> Client {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token),
    );
    let service = if modern {
        ().serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::LATEST],
            },
        )
        .await
        .expect("discover handshake over HTTP")
    } else {
        ().serve(transport)
            .await
            .expect("initialize handshake over HTTP")
    };
    let tools = service
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), t))
        .collect();
    Client { service, tools }
}

pub struct Client {
    pub service: RunningService<RoleClient, ()>,
    pub tools: HashMap<String, Tool>,
}

/// What a tool call gave: a JSON-RPC error, or a result (`isError` or not).
#[derive(Debug)]
pub enum Outcome {
    RpcError(String),
    Result(CallToolResult),
}

impl Client {
    pub async fn raw(&self, tool: &str, args: Value) -> Outcome {
        let Value::Object(map) = args else {
            panic!("arguments must be an object")
        };
        match self
            .service
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
            .await
        {
            Ok(r) => Outcome::Result(r),
            Err(e) => Outcome::RpcError(e.to_string()),
        }
    }

    /// A call that must succeed: returns `structuredContent`, checked against the tool's
    /// `outputSchema` and against the text copy in `content`.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        match self.raw(tool, args.clone()).await {
            Outcome::Result(r) if r.is_error != Some(true) => {
                let v = r
                    .structured_content
                    .clone()
                    .unwrap_or_else(|| panic!("{tool}: no structuredContent"));
                let schema = self.tools[tool]
                    .output_schema
                    .as_ref()
                    .unwrap_or_else(|| panic!("{tool}: no outputSchema"));
                let schema = Value::Object(schema.as_ref().clone());
                if let Err(e) = validate(&schema, &v, "$") {
                    panic!("{tool}: output does not match its outputSchema: {e}\n{v:#}");
                }
                let text = r
                    .content
                    .first()
                    .and_then(|c| c.as_text())
                    .map(|t| t.text.clone());
                let copy: Value = serde_json::from_str(&text.expect("a text copy")).unwrap();
                assert_eq!(
                    copy, v,
                    "{tool}: text content differs from structuredContent"
                );
                v
            }
            other => panic!("{tool} {args} should succeed, got {other:?}"),
        }
    }

    /// A call that must come back as an `isError` result; returns its sentence.
    pub async fn err(&self, tool: &str, args: Value) -> String {
        match self.raw(tool, args.clone()).await {
            Outcome::Result(r) if r.is_error == Some(true) => r
                .content
                .first()
                .and_then(|c| c.as_text())
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            other => panic!("{tool} {args} should be an isError result, got {other:?}"),
        }
    }

    /// A malformed call: either an `isError` result or a JSON-RPC invalid-params error.
    pub async fn rejected(&self, tool: &str, args: Value) -> String {
        match self.raw(tool, args.clone()).await {
            Outcome::Result(r) if r.is_error == Some(true) => r
                .content
                .first()
                .and_then(|c| c.as_text())
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            Outcome::RpcError(e) => e,
            other => panic!("{tool} {args} should be rejected, got {other:?}"),
        }
    }

    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

/// A JSON-schema check covering what our output schemas use: type (or a list of types),
/// properties, required, items, enum, additionalProperties, minimum, anyOf/oneOf and local
/// `$ref`s into `$defs`.
pub fn validate(schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    validate_in(schema, schema, v, path)
}

fn validate_in(root: &Value, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    let Value::Object(s) = schema else {
        return Ok(()); // `true` or an empty schema
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(root, |acc, k| &acc[k]))
            .ok_or_else(|| format!("{path}: unsupported $ref {r}"))?;
        return validate_in(root, target, v, path);
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(x) => vec![x.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: expected {types:?}, got {v}"));
        }
    }
    if let Some(Value::Array(e)) = s.get("enum")
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} not in {e:?}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        return Err(format!("{path}: {n} < minimum {min}"));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = s.get(key)
            && !alts.iter().any(|a| validate_in(root, a, v, path).is_ok())
        {
            return Err(format!("{path}: matches none of {key}"));
        }
    }
    if let Value::Object(obj) = v {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    return Err(format!("{path}: missing required '{r}'"));
                }
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate_in(root, ps, val, &format!("{path}.{k}"))?,
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{path}: unexpected property '{k}'"));
                    }
                    Some(ap @ Value::Object(_)) => {
                        validate_in(root, ap, val, &format!("{path}.{k}"))?
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(is)) = (v, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate_in(root, is, item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

/// The `(my_population, partner_population) -> overlap_count` cells of a get_overlaps output.
pub fn cells(v: &Value) -> Vec<(String, String, u64)> {
    v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["my_population"]["name"].as_str().unwrap().to_string(),
                c["partner_population"]["partner_supplied"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                c["overlap_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub fn cell(a: &str, b: &str, n: u64) -> (String, String, u64) {
    (a.to_string(), b.to_string(), n)
}

#[test]
fn the_validator_rejects_what_it_should() {
    let schema = json!({"type": "object", "required": ["a"], "properties": {
        "a": {"type": "integer", "minimum": 0},
        "b": {"type": ["string", "null"]},
        "c": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "boolean"}}}}
    }});
    assert!(
        validate(
            &schema,
            &json!({"a": 1, "b": null, "c": [{"x": true}]}),
            "$"
        )
        .is_ok()
    );
    assert!(validate(&schema, &json!({"b": "x"}), "$").is_err());
    assert!(validate(&schema, &json!({"a": -1}), "$").is_err());
    assert!(validate(&schema, &json!({"a": 1, "b": 2}), "$").is_err());
    assert!(validate(&schema, &json!({"a": 1, "c": [{"x": 1}]}), "$").is_err());
    assert!(validate(&schema, &json!([1]), "$").is_err());
}

/// The full demo network as of 2026-11-20 (connect with `PARTNERMAP_NOW` =
/// [`DEMO_NOW`]), in `demo.db` of a new temporary folder; and the user it acts as.
pub fn demo_network() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let summary = partnermap::demo::build(
        &tmp.path().join("demo.db"),
        &partnermap::demo::Options {
            seed: partnermap::demo::DEFAULT_SEED,
            scale: 1.0,
            today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()),
            progress: false,
        },
    )
    .unwrap();
    (tmp, summary.acting_user.email.clone())
}

/// The clock of [`demo_network`].
pub const DEMO_NOW: &str = "2026-11-20T12:00:00Z";
