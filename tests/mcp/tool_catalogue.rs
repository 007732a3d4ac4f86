//! The tool catalogue: `tools/<name>.json` holds each tool definition exactly as `tools/list`
//! returns it, and README.md's tool table is generated from the same definitions. A definition
//! that drifts from its file fails here; `UPDATE_TOOLS=1 cargo test --test mcp tool_catalogue::`
//! rewrites the files (review the diff: it is the contract with every MCP client).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

const START: &str = "<!-- tools:start -->";
const END: &str = "<!-- tools:end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var("UPDATE_TOOLS").is_ok_and(|v| v == "1")
}

fn definitions() -> BTreeMap<String, Value> {
    partnermap::mcp::tool_definitions()
        .into_iter()
        .map(|t| (t.name.to_string(), serde_json::to_value(&t).unwrap()))
        .collect()
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

#[test]
fn tool_files_match_definitions() {
    let dir = root().join("tools");
    let defs = definitions();
    if updating() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut problems = Vec::new();
    for (name, def) in &defs {
        let path = dir.join(format!("{name}.json"));
        let want = pretty(def);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if updating() {
                std::fs::write(&path, want).unwrap();
            } else {
                problems.push(format!("{} differs from the definition", path.display()));
            }
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let stem = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if p.extension().is_some_and(|e| e == "json") && !defs.contains_key(&stem) {
            if updating() {
                std::fs::remove_file(&p).unwrap();
            } else {
                problems.push(format!("{} has no tool any more", p.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "tool catalogue drift (run UPDATE_TOOLS=1 cargo test --test mcp tool_catalogue:: and review):\n{}",
        problems.join("\n")
    );
}

fn table(defs: &BTreeMap<String, Value>) -> String {
    let mut s =
        String::from("| tool | what it answers or does | toolset | hints |\n|---|---|---|---|\n");
    for (name, def) in defs {
        let desc = def["description"].as_str().unwrap_or("");
        let first = match desc.find(". ") {
            Some(i) => &desc[..=i],
            None => desc,
        };
        let a = &def["annotations"];
        let mut hints = Vec::new();
        if a["readOnlyHint"] == true {
            hints.push("read-only");
        } else if a["destructiveHint"] == true {
            hints.push("destructive write");
        } else {
            hints.push("write");
        }
        if a["idempotentHint"] == true {
            hints.push("idempotent");
        }
        let args: Vec<String> = def["inputSchema"]["properties"]
            .as_object()
            .map(|p| {
                let required: Vec<&str> = def["inputSchema"]["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                p.keys()
                    .map(|k| {
                        if required.contains(&k.as_str()) {
                            format!("`{k}`")
                        } else {
                            format!("`{k}`?")
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let set = partnermap::mcp::toolsets::toolset_of(name)
            .map(|t| {
                if t.default {
                    format!("{} (default)", t.name)
                } else {
                    t.name.to_string()
                }
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "| `{name}`{} | {} | {set} | {} |\n",
            if args.is_empty() {
                String::new()
            } else {
                format!(" ({})", args.join(", "))
            },
            first.replace('|', "\\|"),
            hints.join(", ")
        ));
    }
    s
}

#[test]
fn readme_tool_table_is_generated() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let block = format!("{START}\n{}{END}", table(&definitions()));
    let updated = match (readme.find(START), readme.find(END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &readme[..a], &readme[b + END.len()..])
        }
        _ => format!("{}\n\n## MCP tools\n\n{block}\n", readme.trim_end()),
    };
    if updated != readme {
        if updating() {
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "README.md's tool table is out of date: run UPDATE_TOOLS=1 cargo test --test mcp tool_catalogue::"
            );
        }
    }
}

fn walk<'a>(v: &'a Value, path: &str, f: &mut dyn FnMut(&str, &'a Value)) {
    f(path, v);
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| walk(c, &format!("{path}/{k}"), f)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| walk(c, &format!("{path}/{i}"), f)),
        _ => {}
    }
}

#[test]
fn definitions_follow_the_house_rules() {
    let defs = definitions();
    assert!(defs.len() >= 14, "{:?}", defs.keys());
    for (name, def) in &defs {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{name} is not snake_case"
        );
        let desc = def["description"].as_str().unwrap_or("");
        assert!(
            desc.len() > 80,
            "{name}: write a real description for the model"
        );
        let input = &def["inputSchema"];
        assert_eq!(
            input["type"], "object",
            "{name}: input root must be an object"
        );
        walk(input, "", &mut |p, v| {
            if let Value::Object(m) = v {
                assert!(
                    !m.contains_key("$ref")
                        && !m.contains_key("$defs")
                        && !m.contains_key("definitions"),
                    "{name}: input schema has a reference at {p}; inline nested types"
                );
                if let Some(Value::Array(_)) = m.get("type") {
                    panic!("{name}: input schema has a type array at {p}; use #[serde(default)]");
                }
                assert!(
                    !m.contains_key("anyOf") && !m.contains_key("oneOf"),
                    "{name}: input schema has a union at {p}"
                );
            }
        });
        let output = &def["outputSchema"];
        assert_eq!(
            output["type"], "object",
            "{name}: the output must be an object schema (wrap lists)"
        );
        walk(output, "", &mut |p, v| {
            if let Value::Object(m) = v {
                assert!(
                    !m.contains_key("$ref"),
                    "{name}: output schema has a reference at {p}"
                );
            }
        });
        let a = &def["annotations"];
        assert!(a.is_object(), "{name}: annotations missing");
        assert!(
            a["readOnlyHint"].is_boolean(),
            "{name}: say whether it is read-only"
        );
        if a["readOnlyHint"] == false {
            assert!(
                a["destructiveHint"].is_boolean(),
                "{name}: a write must say whether it is destructive"
            );
        }
    }
    for destructive in ["revoke_partnership", "delete_offline_partner"] {
        assert_eq!(defs[destructive]["annotations"]["destructiveHint"], true);
    }
    for read in [
        "whoami",
        "list_partners",
        "get_partner",
        "search",
        "list_populations",
        "get_overlaps",
    ] {
        assert_eq!(defs[read]["annotations"]["readOnlyHint"], true, "{read}");
    }
}

#[test]
fn spec_argument_names_are_present() {
    let defs = definitions();
    let want: &[(&str, &[&str])] = &[
        ("whoami", &[]),
        ("list_partners", &["status", "cursor"]),
        ("get_partner", &["partner"]),
        ("list_populations", &["partner"]),
        ("get_overlaps", &["partner"]),
        ("search", &["query"]),
        ("invite_partner", &["org"]),
        ("respond_to_invitation", &["partner", "accept"]),
        ("revoke_partnership", &["partner"]),
        ("add_offline_partner", &["name", "domain"]),
        ("delete_offline_partner", &["partner", "confirm"]),
        (
            "import_csv",
            &["path", "name", "name_column", "website_column"],
        ),
        (
            "upload_partner_csv",
            &["partner", "path", "name", "name_column", "website_column"],
        ),
        (
            "create_population",
            &["name", "type", "data_source", "filters", "partner"],
        ),
        ("set_sharing", &["partner", "population", "level", "fields"]),
        (
            "create_share_request",
            &["partner", "population", "level", "message", "fields"],
        ),
        (
            "respond_to_share_request",
            &["request", "approve", "fields"],
        ),
        ("withdraw_share_request", &["request"]),
        ("list_share_requests", &["direction", "cursor"]),
        (
            "account_mapping_report",
            &[
                "partner",
                "my_population",
                "partner_population",
                "filters",
                "columns",
                "sort",
                "limit",
                "cursor",
            ],
        ),
        (
            "export_report",
            &[
                "path",
                "partner",
                "my_population",
                "partner_population",
                "filters",
                "columns",
                "sort",
                "limit",
                "cursor",
            ],
        ),
        (
            "create_thread",
            &["partner", "account", "message", "owners"],
        ),
        ("post_to_thread", &["thread", "message"]),
        ("list_threads", &["partner", "cursor"]),
        ("partner_suggestions", &["limit"]),
        (
            "partner_influence",
            &["from", "to", "period", "partner", "group_by"],
        ),
        (
            "new_accounts",
            &["partner", "population_type", "limit", "cursor"],
        ),
    ];
    for (tool, args) in want {
        let def = defs
            .get(*tool)
            .unwrap_or_else(|| panic!("missing tool {tool}"));
        for arg in *args {
            assert!(
                def["inputSchema"]["properties"].get(*arg).is_some(),
                "{tool} lacks argument {arg}"
            );
        }
    }
}
