//! Issue 8: property tests over tool ARGUMENTS, through one running `partnermap mcp` server on
//! the small two-org network of `mcp_common` (acting as Alpha's admin).
//!
//! For every tool in tools/list, argument objects are drawn from the tool's own input schema
//! (plausible values by property name: partner names, ids, population names, levels, cursors,
//! paths) mixed with hostile ones (wrong types, 100 KB strings, control characters and bidi
//! overrides, deep JSON nesting, negative and huge numbers, unknown ids, garbage cursors, unknown
//! properties, missing required ones). After every call:
//! - the server is alive (a later `whoami` works) and answered within a bound;
//! - the answer is a JSON-RPC error (malformed call) or a result; an `isError` result carries a
//!   non-empty sentence; a successful one validates against the tool's `outputSchema` and its
//!   text copy equals `structuredContent`;
//! - no string in the output carries a control character or runs unbounded;
//! - a call that failed left the database exactly as it was (`store::dump`).
//!
//! Cases per tool: 96 by default; `FUZZ_CASES=2000 cargo test --test mcp mcp_fuzz:: -- --nocapture`
//! runs longer by hand.

use crate::mcp_common;
use mcp_common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest string any output may carry (a thread message is capped at 4 000 characters plus an
/// ellipsis; everything else is shorter).
const MAX_OUT_STRING: usize = 4_001;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

fn db_dump(db: &Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    partnermap::store::dump(&c).unwrap()
}

fn strs(v: &[&str]) -> BoxedStrategy<Value> {
    let v: Vec<Value> = v.iter().map(|s| Value::String(s.to_string())).collect();
    proptest::sample::select(v).boxed()
}

fn nested(depth: usize, obj: bool) -> Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        v = if obj { json!({ "a": v }) } else { json!([v]) };
    }
    v
}

/// Text with control characters, bidi overrides and zero-width characters among letters.
fn nasty_text() -> BoxedStrategy<String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('\u{0}', '\u{1f}'),
            Just('\u{7f}'),
            Just('\u{85}'),
            Just('\u{202e}'),
            Just('\u{200b}'),
            Just('\u{2066}'),
            proptest::char::range('a', 'z'),
            Just(' '),
        ],
        0..40,
    )
    .prop_map(|c| c.into_iter().collect())
    .boxed()
}

fn generic_text() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => "[a-zA-Z0-9 .@_%-]{0,16}".prop_map(Value::String),
        2 => nasty_text().prop_map(Value::String),
        1 => Just(Value::String("x".repeat(100_000))),
        1 => Just(Value::String("=HYPERLINK(\"http://x\",\"y\")".into())),
        1 => Just(Value::String("' OR 1=1 --".into())),
        1 => Just(Value::String("\u{202e}moc.evil".into())),
    ]
    .boxed()
}

/// A value of the wrong kind, or hostile in shape.
fn hostile() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!({})),
        Just(json!([])),
        Just(json!({"$ref": "#/x", "partner": "Beta"})),
        Just(Value::String("y".repeat(100_000))),
        nasty_text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!(-0.5)),
        (1usize..100, any::<bool>()).prop_map(|(d, o)| nested(d, o)),
        proptest::collection::vec(generic_text(), 0..4).prop_map(Value::Array),
    ]
    .boxed()
}

fn integer() -> BoxedStrategy<Value> {
    prop_oneof![
        proptest::sample::select(vec![
            json!(-1),
            json!(0),
            json!(1),
            json!(2),
            json!(3),
            json!(50),
            json!(200),
            json!(201),
            json!(1000),
            json!(999_999),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!("7"),
        ]),
        any::<i64>().prop_map(Value::from),
        (0i64..20).prop_map(Value::from),
    ]
    .boxed()
}

/// Plausible values for a property, by its name and type in the input schema.
fn typed(name: &str, schema: &Value, paths: &[String]) -> BoxedStrategy<Value> {
    let ty = schema["type"].as_str().unwrap_or("");
    match (name, ty) {
        ("partner" | "org", _) => prop_oneof![
            3 => strs(&[
                "Beta", "beta.io", "BETA", "Gamma", "gamma.org", "Alpha", "alpha.com", "Delta Offline",
                "1", "2", "3", "4", "999999", "-1", "", " ", "Bet", "%", "_", "Nobody Inc",
            ]),
            1 => generic_text(),
            1 => integer(),
        ]
        .boxed(),
        ("population" | "my_population" | "partner_population" | "data_source", _) => {
            prop_oneof![
                3 => strs(&[
                    "Customers", "Prospects", "customers", "crm", "list", "1", "2", "3", "4", "5",
                    "6", "7", "8", "999999", "", "%",
                ]),
                1 => generic_text(),
                1 => integer(),
            ]
            .boxed()
        }
        ("cursor", _) => prop_oneof![
            strs(&[
                "",
                "x",
                "AAAA",
                "r10",
                "r-1",
                "rffffffffffffffffffff",
                "zz.00000000",
                "6c6973745f706172746e6572737c307c31.00000000",
                "eyJvIjoxMH0",
                "\u{0}",
                "..",
                "r0",
            ]),
            "[0-9a-f]{0,40}\\.[0-9a-f]{8}".prop_map(Value::String),
            generic_text(),
        ]
        .boxed(),
        ("level", _) => strs(&[
            "hidden", "counts", "overlaps", "full", "FULL", "bogus", "", "Full ",
        ]),
        ("status", _) => strs(&[
            "invited",
            "active",
            "declined",
            "revoked",
            "pending",
            "approved",
            "withdrawn",
            "nope",
            "",
        ]),
        ("direction", _) => strs(&["incoming", "outgoing", "sideways", ""]),
        ("sort", _) => strs(&[
            "score",
            "overlap_count",
            "coverage",
            "win_rate_lift",
            "nope",
            "",
        ]),
        ("as_of", _) => strs(&[
            "2026-11-23",
            "2026-02-30",
            "0000-01-01",
            "9999-12-31",
            "-5000-01-01",
            "yesterday",
            "",
        ]),
        ("currency", _) => strs(&["EUR", "USD", "eur", "GBP", "EURO", "", "€€€", "E1R"]),
        ("confirm", _) => strs(&["DELETE", "delete", "", "DELETE "]),
        ("type", _) => strs(&[
            "prospects",
            "customers",
            "open_opportunities",
            "custom",
            "x",
            "",
        ]),
        ("account", _) => prop_oneof![
            strs(&[
                "acme.com",
                "Acme Corp",
                "1",
                "2",
                "999999",
                "wayne.com",
                "initech.com",
                ""
            ]),
            generic_text(),
        ]
        .boxed(),
        ("name_column" | "website_column", _) => prop_oneof![
            strs(&["Company", "Website", "name", "website", "Type", ""]),
            generic_text(),
        ]
        .boxed(),
        (n, _) if n.ends_with("path") => {
            let v: Vec<Value> = paths.iter().cloned().map(Value::String).collect();
            prop_oneof![
                4 => proptest::sample::select(v),
                1 => Just(Value::String(format!("{}.csv", "p".repeat(100_000)))),
            ]
            .boxed()
        }
        ("filters", _) => proptest::collection::vec(
            proptest::sample::select(vec![
                json!({"field": "type", "value": "Customer"}),
                json!({"field": "Country", "op": "eq", "value": "US"}),
                json!({"field": "Employees", "op": "gt", "value": 500}),
                json!({"field": "Employees", "op": "gt", "value": "abc"}),
                json!({"field": "x", "op": "bogus", "value": 1}),
                json!({"field": "partner.stage", "op": "in", "value": ["Customer", 3, null]}),
                json!({"or": [{"field": "type", "value": "Prospect"}, {"field": "name", "op": "contains", "value": "a"}]}),
                json!({"or": "not a list"}),
                json!({}),
                json!({"field": "", "op": "is_empty"}),
                json!({"field": "name", "op": "contains", "value": "x".repeat(100_000)}),
            ]),
            0..4,
        )
        .prop_map(Value::Array)
        .boxed(),
        (_, "array") => proptest::collection::vec(
            prop_oneof![
                strs(&[
                    "name",
                    "website",
                    "domain",
                    "type",
                    "partner.name",
                    "partner.stage",
                    "partner.secret",
                    "*",
                    "bob@beta.io",
                    "ann@alpha.com",
                    "gus@gamma.org",
                    "",
                ]),
                generic_text(),
            ],
            0..5,
        )
        .prop_map(Value::Array)
        .boxed(),
        (_, "integer") => integer(),
        (_, "number") => prop_oneof![
            proptest::sample::select(vec![
                json!(-1.0),
                json!(0.0),
                json!(0.92),
                json!(1e308),
                json!(1e-308),
                json!(5)
            ]),
            proptest::num::f64::NORMAL.prop_map(Value::from),
        ]
        .boxed(),
        (_, "boolean") => any::<bool>().prop_map(Value::from).boxed(),
        _ => generic_text(),
    }
}

/// Values that name something that exists on the network, for the plausible half of the cases
/// (so that successful calls, and their outputs, get fuzzed too).
fn likely(name: &str) -> Option<BoxedStrategy<Value>> {
    Some(match name {
        "partner" | "org" => strs(&["Beta", "Delta Offline", "beta.io", "Gamma"]),
        "my_population" | "population" => strs(&["Customers", "Prospects"]),
        "partner_population" => strs(&["Customers", "Prospects"]),
        "data_source" => strs(&["crm", ""]),
        "cursor" => strs(&[""]),
        "limit" => (1i64..60).prop_map(Value::from).boxed(),
        "thread" | "request" => (1i64..4).prop_map(Value::from).boxed(),
        "columns" | "fields" => Just(json!([])).boxed(),
        "name_column" => strs(&["Company"]),
        "website_column" => strs(&["Website"]),
        "accounts_path" => strs(&["accounts.csv"]),
        "opportunities_path" => strs(&["opps.csv"]),
        "path" => strs(&["good.csv", "out.csv"]),
        _ => return None,
    })
}

/// Argument objects for a tool: half of them plausible (every required property, values of the
/// right type drawn by property name), half hostile.
fn args_for(schema: &Map<String, Value>, paths: &[String]) -> BoxedStrategy<Value> {
    prop_oneof![args_in(schema, paths, false), args_in(schema, paths, true)].boxed()
}

/// Argument objects drawn from the input schema; `hostile`: with wrong types, missing required
/// properties and unknown ones.
fn args_in(
    schema: &Map<String, Value>,
    paths: &[String],
    hostile_mode: bool,
) -> BoxedStrategy<Value> {
    let props: Vec<(String, Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = props
        .into_iter()
        .map(|(name, ps)| {
            let (keep, drop) = match (required.contains(&name), hostile_mode) {
                (true, false) => (1, 0),
                (true, true) => (19, 1),
                (false, false) => (1, 2),
                (false, true) => (2, 1),
            };
            let n1 = name.clone();
            let n2 = name.clone();
            let value = if hostile_mode {
                prop_oneof![
                    3 => typed(&name, &ps, paths),
                    2 => hostile(),
                ]
                .boxed()
            } else {
                match likely(&name) {
                    Some(l) => prop_oneof![3 => l, 2 => typed(&name, &ps, paths)].boxed(),
                    None => typed(&name, &ps, paths),
                }
            };
            prop_oneof![
                keep => value.prop_map(move |v| Some((n1.clone(), v))),
                drop => Just(None),
            ]
            .prop_map(move |o| o.map(|(_, v)| (n2.clone(), v)))
            .boxed()
        })
        .collect();
    let extra = prop_oneof![
        if hostile_mode { 6 } else { 1 } => Just(None),
        if hostile_mode { 1 } else { 0 } => (
            "[a-z_]{1,12}|\\$ref|__proto__|\u{0}",
            hostile()
        )
            .prop_map(Some),
    ];
    (fields, extra)
        .prop_map(|(fields, extra)| {
            let mut m: Map<String, Value> = fields.into_iter().flatten().collect();
            if let Some((k, v)) = extra {
                m.entry(k).or_insert(v);
            }
            Value::Object(m)
        })
        .boxed()
}

/// Every string in `v`, keys included.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k);
                strings(x, out);
            }
        }
        _ => {}
    }
}

fn safe_text(what: &str, s: &str) -> Result<(), String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what}: control character {c:?} in output string {:?}",
            s.chars().take(200).collect::<String>()
        ));
    }
    let n = s.chars().count();
    if n > MAX_OUT_STRING {
        return Err(format!(
            "{what}: output string of {n} characters: {:?}",
            s.chars().take(200).collect::<String>()
        ));
    }
    Ok(())
}

/// What one call gave, checked. `Ok(true)`: the call succeeded.
fn check_result(client: &Client, tool: &str, r: &CallToolResult) -> Result<bool, String> {
    let text = r
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone());
    if r.is_error == Some(true) {
        let t = text.ok_or_else(|| format!("{tool}: isError without text"))?;
        if !t.chars().any(char::is_alphabetic) || t.trim().len() < 10 {
            return Err(format!("{tool}: isError without a sentence: {t:?}"));
        }
        safe_text(tool, &t)?;
        if t.chars().count() > 2_001 {
            return Err(format!("{tool}: error of {} characters", t.len()));
        }
        return Ok(false);
    }
    let v = r
        .structured_content
        .clone()
        .ok_or_else(|| format!("{tool}: success without structuredContent"))?;
    let schema = client.tools[tool]
        .output_schema
        .as_ref()
        .ok_or_else(|| format!("{tool}: no outputSchema"))?;
    validate(&Value::Object(schema.as_ref().clone()), &v, "$")
        .map_err(|e| format!("{tool}: output does not match its outputSchema: {e}"))?;
    let copy: Value = serde_json::from_str(&text.ok_or_else(|| format!("{tool}: no text copy"))?)
        .map_err(|e| format!("{tool}: text copy is not JSON: {e}"))?;
    if copy != v {
        return Err(format!(
            "{tool}: text content differs from structuredContent"
        ));
    }
    let mut all = Vec::new();
    strings(&v, &mut all);
    for s in all {
        safe_text(tool, s)?;
    }
    Ok(true)
}

#[derive(Default, Debug)]
struct Tally {
    inputs: usize,
    ok: usize,
    is_error: usize,
    rpc_error: usize,
    dump_checks: usize,
}

struct Fuzz {
    rt: tokio::runtime::Runtime,
    client: Client,
    db: std::path::PathBuf,
    dump: RefCell<String>,
    tally: RefCell<Tally>,
    per_tool: RefCell<Vec<(String, usize, usize)>>,
}

impl Fuzz {
    /// One call, with every check. Returns whether it succeeded.
    fn call(&self, tool: &str, args: Value) -> Result<bool, String> {
        let label = {
            let s = args.to_string();
            format!("{tool} {}", &s[..s.floor_char_boundary(300)])
        };
        let outcome = self
            .rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(60), self.client.raw(tool, args)).await
            })
            .map_err(|_| format!("no answer within 60 s: {label}"))?;
        let ok = match &outcome {
            Outcome::RpcError(e) => {
                self.tally.borrow_mut().rpc_error += 1;
                safe_text(tool, e).map_err(|e| format!("JSON-RPC error: {e} ({label})"))?;
                false
            }
            Outcome::Result(r) => {
                let ok = check_result(&self.client, tool, r)
                    .map_err(|e| format!("{e}\n  after {label}"))?;
                if std::env::var("FUZZ_VERBOSE").is_ok() {
                    let t = r
                        .content
                        .first()
                        .and_then(|c| c.as_text())
                        .map(|t| t.text.clone())
                        .unwrap_or_default();
                    eprintln!(
                        "{} -> {}",
                        &label[..label.floor_char_boundary(200)],
                        &t[..t.floor_char_boundary(200)]
                    );
                }
                let mut t = self.tally.borrow_mut();
                if ok {
                    t.ok += 1
                } else {
                    t.is_error += 1
                }
                ok
            }
        };
        self.tally.borrow_mut().inputs += 1;
        // The server is alive.
        let alive = self.rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                self.client.raw("whoami", json!({})),
            )
            .await
        });
        match alive {
            Ok(Outcome::Result(r)) if r.is_error != Some(true) => {}
            other => return Err(format!("whoami failed after {label}: {other:?}")),
        }
        let now = db_dump(&self.db);
        if ok {
            *self.dump.borrow_mut() = now;
        } else {
            self.tally.borrow_mut().dump_checks += 1;
            if *self.dump.borrow() != now {
                let before = self.dump.borrow();
                let diff: Vec<String> = now
                    .lines()
                    .filter(|l| !before.lines().any(|b| b == *l))
                    .take(5)
                    .map(|l| l.chars().take(300).collect())
                    .collect();
                return Err(format!(
                    "a failed call changed the database: {label}\n  new rows: {diff:?}"
                ));
            }
        }
        Ok(ok)
    }
}

fn setup() -> (Network, Fuzz, Vec<String>) {
    let net = Network::build();
    let dir = net.dir.path();
    // Files the path properties may name: a good CSV, a ragged one, binary bytes, an empty one,
    // a directory, a missing file, a relative name (the server runs in the temp dir).
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "Company,Website,Type\nAcme Corp,acme.com,Customer\nNewco,newco.io,Prospect\n",
    )
    .unwrap();
    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, "name,website\na\nb,c,d,e\n\"unterminated\n").unwrap();
    let binary = dir.join("binary.csv");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41, 0x0a, 0x80, 0x81]).unwrap();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let accounts = dir.join("accounts.csv");
    std::fs::write(
        &accounts,
        "id,name,website,type\nA1,Acme Corp,acme.com,Customer\n",
    )
    .unwrap();
    // A special file an export must never replace (tests/engine/export_paths.rs covers pipes too).
    std::os::unix::fs::symlink(&good, dir.join("link.csv")).unwrap();
    let opps = dir.join("opps.csv");
    std::fs::write(
        &opps,
        "id,account_id,name,stage,amount,currency,open_date,close_date,is_won,is_closed\nO1,A1,Deal,Won,1000,USD,2026-01-01,2026-03-01,true,true\n",
    )
    .unwrap();
    let paths: Vec<String> = [
        good.display().to_string(),
        ragged.display().to_string(),
        binary.display().to_string(),
        empty.display().to_string(),
        accounts.display().to_string(),
        opps.display().to_string(),
        dir.display().to_string(),
        dir.join("missing/none.csv").display().to_string(),
        dir.join("out.csv").display().to_string(),
        "relative-out.csv".into(),
        "good.csv".into(),
        "".into(),
        dir.join("link.csv").display().to_string(),
        "/proc/self/nonexistent/x.csv".into(),
        "bad\u{0}name.csv".into(),
        "ctl\u{1b}[2J.csv".into(),
    ]
    .into_iter()
    .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Alpha's offline partner (seen in full), and Beta sharing more than counts, asking Alpha
    // for more and opening a thread, so that reports, threads and requests have something.
    net.add_delta_offline();
    rt.block_on(async {
        let b = net.client(BOB, false).await;
        for (pop, level) in [("Customers", "full"), ("Prospects", "overlaps")] {
            b.ok(
                "set_sharing",
                json!({"partner": "Alpha", "population": pop, "level": level, "fields": ["*"]}),
            )
            .await;
        }
        b.ok(
            "create_share_request",
            json!({"partner": "Alpha", "population": "Customers", "level": "overlaps", "message": "please"}),
        )
        .await;
        b.ok(
            "create_thread",
            json!({"partner": "Alpha", "account": "acme.com", "message": "hello"}),
        )
        .await;
        b.close().await;
    });
    let client = rt.block_on(connect_in(&net.db, ANN, &[], false, Some(dir)));
    let dump = db_dump(&net.db);
    let fuzz = Fuzz {
        rt,
        client,
        db: net.db.clone(),
        dump: RefCell::new(dump),
        tally: RefCell::new(Tally::default()),
        per_tool: RefCell::new(Vec::new()),
    };
    (net, fuzz, paths)
}

/// Reads first (the network as built), then writes (which change it as they succeed).
fn ordered_tools(client: &Client) -> Vec<String> {
    let mut tools: Vec<(bool, String)> = client
        .tools
        .values()
        .map(|t| {
            let ro = t
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false);
            (!ro, t.name.to_string())
        })
        .collect();
    tools.sort();
    tools.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn every_tool_survives_random_and_hostile_arguments() {
    let started = Instant::now();
    let (_net, fuzz, paths) = setup();
    let tools = ordered_tools(&fuzz.client);
    assert!(tools.len() >= 30, "tools/list: {tools:?}");
    let n = cases();
    for tool in &tools {
        let schema = fuzz.client.tools[tool].input_schema.as_ref().clone();
        let strategy = args_for(&schema, &paths);
        let mut runner = TestRunner::new(Config {
            cases: n,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..Config::default()
        });
        let before = fuzz.tally.borrow().inputs;
        let succeeded = RefCell::new(0usize);
        let r = runner.run(&strategy, |args| {
            let ok = fuzz.call(tool, args).map_err(TestCaseError::fail)?;
            *succeeded.borrow_mut() += ok as usize;
            Ok(())
        });
        match r {
            Ok(()) => {}
            Err(proptest::test_runner::TestError::Fail(why, args)) => {
                let a = args.to_string();
                panic!(
                    "{tool}: {why}\n  minimal failing arguments: {}",
                    &a[..a.floor_char_boundary(2_000)]
                );
            }
            Err(e) => panic!("{tool}: {e}"),
        }
        let tried = fuzz.tally.borrow().inputs - before;
        fuzz.per_tool
            .borrow_mut()
            .push((tool.clone(), tried, succeeded.into_inner()));
    }
    // Calls no schema describes: unknown tools, argument-free calls to tools that need some.
    for tool in ["no_such_tool", "", "whoami\u{0}", &"t".repeat(10_000)] {
        fuzz.call(tool, json!({})).unwrap();
    }
    for tool in &tools {
        fuzz.call(tool, json!({})).unwrap();
    }
    let t = fuzz.tally.borrow();
    eprintln!(
        "mcp_fuzz: {} inputs tried over {} tools ({} cases each): {} succeeded, {} isError, {} JSON-RPC errors; database compared after {} failed calls; {:.1} s",
        t.inputs,
        tools.len(),
        n,
        t.ok,
        t.is_error,
        t.rpc_error,
        t.dump_checks,
        started.elapsed().as_secs_f64()
    );
    for (tool, tried, ok) in fuzz.per_tool.borrow().iter() {
        eprintln!("  {tool}: {tried} inputs, {ok} succeeded");
    }
    assert!(t.ok > 0 && t.is_error > 0);
}

/// JSON nested deep in one argument. Up to well past any real use (120 levels) the call gets an
/// answer; past serde_json's recursion limit (128 levels for the whole message) the line is not
/// JSON the server can parse: the server's stdio guard answers it with a JSON-RPC parse error
/// (`id: null`, see `tests/mcp/mcp_files.rs`), which a client cannot match to its call, so here the
/// call looks unanswered. Either way the server keeps going and the database is unchanged.
#[test]
fn deep_nesting_gets_an_answer_or_is_ignored_and_the_server_lives_on() {
    let (_net, fuzz, _) = setup();
    let mut unanswered = Vec::new();
    let mut deep = 0;
    for depth in [10usize, 50, 100, 120, 130, 1_000] {
        for obj in [false, true] {
            for (tool, args) in [
                ("get_overlaps", json!({"partner": nested(depth, obj)})),
                (
                    "create_population",
                    json!({"name": format!("deep{depth}{obj}"), "filters": [{"field": "type", "op": "in", "value": nested(depth, obj)}]}),
                ),
                ("search", json!({"query": nested(depth, obj)})),
            ] {
                let before = db_dump(&fuzz.db);
                // A parseable call is answered in milliseconds; an unparsable one never is.
                let wait = Duration::from_secs(if depth <= 120 { 30 } else { 1 });
                let answered = fuzz.rt.block_on(async {
                    tokio::time::timeout(wait, fuzz.client.raw(tool, args.clone())).await
                });
                match answered {
                    Ok(Outcome::Result(r)) => {
                        if !check_result(&fuzz.client, tool, &r).unwrap() {
                            assert_eq!(db_dump(&fuzz.db), before, "{tool} at depth {depth}");
                        }
                    }
                    Ok(Outcome::RpcError(e)) => safe_text(tool, &e).unwrap(),
                    Err(_) => {
                        assert!(depth > 120, "{tool}: no answer at depth {depth}");
                        assert_eq!(db_dump(&fuzz.db), before);
                        unanswered.push((tool, depth));
                    }
                }
                deep += 1;
                fuzz.call("whoami", json!({})).unwrap();
            }
        }
    }
    eprintln!(
        "deep nesting: {deep} inputs, ignored as unparsable (depth > 128 in the message): {unanswered:?}"
    );
}
