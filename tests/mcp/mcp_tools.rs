//! End to end through a real MCP client (rmcp over a child process running the built binary):
//! handshake, tool list against `tools/*.json`, every tool with good and bad arguments, outputs
//! checked against their `outputSchema`, paging, resources and prompts — once with the
//! `initialize` handshake and once with `server/discover` at the newest protocol version, over
//! stdio (`partnermap mcp`) and over streamable HTTP (`partnermap serve` with a bearer token).

use crate::mcp_common;
use mcp_common::*;
use rmcp::model::{GetPromptRequestParams, ProtocolVersion, ReadResourceRequestParams};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tour_with_initialize_handshake() {
    let net = Network::build();
    let c = net.client(ANN, false).await;
    let info = c.service.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "partnermap");
    assert_eq!(
        info.server_info.as_ref().unwrap().version,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or("")
            .contains("whoami")
    );
    tour(&net, &c).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tour_with_discover_at_newest_protocol() {
    let net = Network::build();
    let c = net.client(ANN, true).await;
    let info = c.service.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "partnermap");
    assert_eq!(
        info.server_info.as_ref().unwrap().version,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(info.protocol_version, ProtocolVersion::LATEST);
    assert_eq!(ProtocolVersion::LATEST, ProtocolVersion::V_2026_07_28);
    tour(&net, &c).await;
    c.close().await;
}

/// The same tour over streamable HTTP (`partnermap serve`, bearer token), initialize handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tour_over_http_with_initialize_handshake() {
    let net = Network::build_http();
    let c = net.client(ANN, false).await;
    let info = c.service.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "partnermap");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    tour(&net, &c).await;
    c.close().await;
    let log = net.server().log();
    assert!(
        log.contains("tool call") && log.contains(ANN) && log.contains("tool=whoami"),
        "one log line per call with user and tool:\n{log}"
    );
}

/// The same tour over streamable HTTP at the newest protocol (`server/discover`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tour_over_http_with_discover_at_newest_protocol() {
    let net = Network::build_http();
    let c = net.client(ANN, true).await;
    let info = c.service.peer_info().expect("server info");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
    tour(&net, &c).await;
    c.close().await;
}

async fn tour(net: &Network, c: &Client) {
    tools_match_catalogue(c);

    // --- whoami
    let me = c.ok("whoami", json!({})).await;
    assert_eq!(me["org"]["name"], "Alpha");
    assert_eq!(me["org"]["plan"], "connector");
    assert_eq!(me["user"]["email"], ANN);
    assert_eq!(me["user"]["role"], "admin");

    // --- invite Gamma, so that Alpha has two partners (Beta active, Gamma invited)
    let inv = c.ok("invite_partner", json!({"org": "gamma.org"})).await;
    assert_eq!(inv["partnership"]["status"], "invited");
    assert_eq!(inv["partnership"]["partner_supplied"]["partner"], "Gamma");
    let e = c.err("invite_partner", json!({"org": "Beta"})).await;
    assert!(e.contains("already partnered with Beta"), "{e}");
    let e = c
        .err("invite_partner", json!({"org": "nowhere.example"}))
        .await;
    assert!(e.contains("add_offline_partner"), "{e}");
    c.rejected("invite_partner", json!({})).await;

    // --- list_partners, with paging
    let all = c.ok("list_partners", json!({})).await;
    assert_eq!(all["total"], 2);
    assert!(all["next_cursor"].is_null());
    let p1 = c.ok("list_partners", json!({"limit": 1})).await;
    assert_eq!(p1["partners"].as_array().unwrap().len(), 1);
    let cursor = p1["next_cursor"].as_str().expect("a next page").to_string();
    let p2 = c
        .ok("list_partners", json!({"limit": 1, "cursor": cursor}))
        .await;
    assert_eq!(p2["partners"].as_array().unwrap().len(), 1);
    assert!(p2["next_cursor"].is_null());
    let mut names = vec![
        p1["partners"][0]["partner_supplied"]["name"]
            .as_str()
            .unwrap()
            .to_string(),
        p2["partners"][0]["partner_supplied"]["name"]
            .as_str()
            .unwrap()
            .to_string(),
    ];
    names.sort();
    assert_eq!(names, ["Beta", "Gamma"]);
    let gamma = &all["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partner_supplied"]["name"] == "Gamma")
        .unwrap();
    assert_eq!(gamma["status"], "invited");
    assert_eq!(gamma["direction"], "outgoing");
    let e = c.err("list_partners", json!({"cursor": "garbage"})).await;
    assert_eq!(e, "invalid cursor, start again without a cursor");
    let e = c
        .err(
            "list_partners",
            json!({"cursor": cursor, "status": "active"}),
        )
        .await;
    assert_eq!(
        e, "invalid cursor, start again without a cursor",
        "a cursor from another list"
    );
    let active = c.ok("list_partners", json!({"status": "active"})).await;
    assert_eq!(active["total"], 1);
    assert_eq!(active["partners"][0]["partner_supplied"]["name"], "Beta");
    let e = c.err("list_partners", json!({"status": "friends"})).await;
    assert!(e.contains("invited, active, declined, revoked"), "{e}");
    c.rejected("list_partners", json!({"limit": "many"})).await;

    // --- get_partner
    let beta = c.ok("get_partner", json!({"partner": "beta"})).await;
    assert_eq!(beta["partner_supplied"]["name"], "Beta");
    assert_eq!(beta["status"], "active");
    assert!(beta["offline"].is_null(), "false is left out");
    let pops: Vec<(&str, i64, &str)> = beta["populations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partner_supplied"]["name"].as_str().unwrap(),
                p["record_count"].as_i64().unwrap(),
                p["sharing_level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pops,
        [("Customers", 4, "counts"), ("Prospects", 2, "counts")]
    );
    assert_eq!(beta["you_share"].as_array().unwrap().len(), 2);
    let beta_id = beta["id"].as_i64().unwrap();
    let by_id = c.ok("get_partner", json!({"partner": beta_id})).await;
    assert_eq!(
        by_id["partner_supplied"]["name"], "Beta",
        "an id given as a number works"
    );
    let e = c.err("get_partner", json!({"partner": "Acme"})).await;
    assert!(
        e.starts_with("No partner named 'Acme'. Partners you have: "),
        "{e}"
    );
    assert!(e.contains("Beta (id") && e.contains("Gamma (id"), "{e}");
    c.rejected("get_partner", json!({})).await;
    c.rejected("get_partner", json!({"partner": ["Beta"]}))
        .await;

    // --- populations
    let mine = c.ok("list_populations", json!({})).await;
    assert_eq!(mine["owner"], "Alpha");
    let counts: Vec<(&str, i64)> = mine["populations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["record_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("Customers", 3), ("Prospects", 3)]);
    let theirs = c.ok("list_populations", json!({"partner": "Beta"})).await;
    assert_eq!(theirs["partner_supplied"]["owner"], "Beta");
    assert_eq!(theirs["total"], 2);
    assert_eq!(theirs["populations"][0]["sharing_level"], "counts");
    let e = c.err("list_populations", json!({"partner": "Gamma"})).await;
    assert!(e.contains("invited, not active"), "{e}");

    let big = c
        .ok(
            "create_population",
            json!({"name": "Big", "type": "custom", "data_source": "crm",
                   "filters": [{"field": "employees", "op": "gt", "value": 1000}]}),
        )
        .await;
    assert_eq!(
        big["population"]["record_count"], 3,
        "Acme 5000, Globex 1200, Umbrella 20000"
    );
    assert_eq!(big["population"]["type"], "custom");
    let e = c
        .err(
            "create_population",
            json!({"name": "Odd", "filters": [{"field": "x", "op": "like", "value": 1}]}),
        )
        .await;
    assert!(e.contains("not a filter operator"), "{e}");
    let e = c
        .err("create_population", json!({"name": "Odd", "type": "vips"}))
        .await;
    assert!(
        e.contains("prospects, customers, open_opportunities, custom"),
        "{e}"
    );
    let e = c.err("create_population", json!({"name": "Big"})).await;
    assert!(e.contains("already has a population named 'Big'"), "{e}");
    c.rejected(
        "create_population",
        json!({"name": "Odd", "filters": "type=Customer"}),
    )
    .await;

    // --- overlaps, with paging
    let ov = c.ok("get_overlaps", json!({"partner": "Beta"})).await;
    assert_eq!(ov["partner_supplied"]["name"], "Beta");
    assert_eq!(
        cells(&ov),
        [
            cell("Customers", "Customers", 2), // acme, hooli
            cell("Customers", "Prospects", 1), // globex
            cell("Prospects", "Customers", 1), // initech
            cell("Prospects", "Prospects", 0),
            cell("Big", "Customers", 1), // acme
            cell("Big", "Prospects", 1), // globex
        ]
    );
    let first = c
        .ok("get_overlaps", json!({"partner": "Beta", "limit": 4}))
        .await;
    assert_eq!(first["total"], 6);
    assert_eq!(cells(&first).len(), 4);
    let rest = c
        .ok(
            "get_overlaps",
            json!({"partner": "Beta", "limit": 4, "cursor": first["next_cursor"]}),
        )
        .await;
    assert_eq!(
        cells(&rest),
        [cell("Big", "Customers", 1), cell("Big", "Prospects", 1)]
    );
    assert!(rest["next_cursor"].is_null());
    let e = c.err("get_overlaps", json!({"partner": "Gamma"})).await;
    assert!(e.contains("Wait for them to accept"), "{e}");
    let e = c.err("get_overlaps", json!({"partner": "Initech"})).await;
    assert!(e.starts_with("No partner named 'Initech'"), "{e}");

    // --- search
    let s = c.ok("search", json!({"query": "acme"})).await;
    assert_eq!(s["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(s["accounts"][0]["name"], "Acme Corp");
    assert_eq!(s["accounts"][0]["domain"], "acme.com");
    assert_eq!(s["partners"].as_array().unwrap().len(), 0);
    let s = c.ok("search", json!({"query": "gamma"})).await;
    assert_eq!(s["partners"][0]["partner_supplied"]["name"], "Gamma");
    let s = c.ok("search", json!({"query": "o", "limit": 2})).await;
    assert_eq!(s["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(s["accounts_truncated"], true);
    let e = c.err("search", json!({"query": "  "})).await;
    assert!(e.contains("search text"), "{e}");

    // --- offline partner: add, upload, populate, overlap, delete
    let d = c
        .ok(
            "add_offline_partner",
            json!({"name": "Delta Offline", "domain": "deltaoffline.com"}),
        )
        .await;
    assert_eq!(d["partner"]["offline"], true);
    assert_eq!(d["partner"]["status"], "active");
    let e = c
        .err("add_offline_partner", json!({"name": "Delta Offline"}))
        .await;
    assert!(e.contains("already have a partner named"), "{e}");
    let up = c
        .ok(
            "upload_partner_csv",
            json!({"partner": "Delta Offline", "path": data("delta.csv"), "name": "list",
                   "name_column": "account", "website_column": "url"}),
        )
        .await;
    assert_eq!(up["rows_imported"], 4);
    assert_eq!(up["rows_rejected"], 1);
    assert_eq!(up["errors"][0]["line"], 5);
    assert!(up["errors_truncated"].is_null(), "false is left out");
    let e = c
        .err(
            "upload_partner_csv",
            json!({"partner": "Beta", "path": data("delta.csv"), "name": "x"}),
        )
        .await;
    assert!(e.contains("online partner"), "{e}");
    let e = c
        .err(
            "import_csv",
            json!({"path": net.dir.path().join("missing.csv"), "name": "x"}),
        )
        .await;
    assert!(e.contains("missing.csv"), "{e}");
    let e = c
        .err(
            "import_csv",
            json!({"path": data("alpha.csv"), "name": "again", "name_column": "Company", "website_column": "Homepage"}),
        )
        .await;
    assert!(e.contains("Homepage"), "{e}");
    let re = c
        .ok(
            "import_csv",
            json!({"path": data("alpha.csv"), "name": "crm", "name_column": "Company", "website_column": "Website"}),
        )
        .await;
    assert_eq!(re["replaced"], true);
    assert_eq!(re["rows_imported"], 6);
    let dp = c
        .ok(
            "create_population",
            json!({"name": "Customers", "type": "customers", "partner": "Delta Offline"}),
        )
        .await;
    assert_eq!(dp["population"]["record_count"], 4);
    let dov = c
        .ok("get_overlaps", json!({"partner": "Delta Offline"}))
        .await;
    assert_eq!(
        cells(&dov),
        [
            cell("Customers", "Customers", 1), // acme
            cell("Prospects", "Customers", 2), // umbrella, stark
            cell("Big", "Customers", 2),       // acme, umbrella
        ]
    );
    let dpops = c
        .ok("list_populations", json!({"partner": "Delta Offline"}))
        .await;
    assert_eq!(dpops["populations"][0]["sharing_level"], "full");
    let e = c
        .err("revoke_partnership", json!({"partner": "Delta Offline"}))
        .await;
    assert!(e.contains("delete_offline_partner"), "{e}");
    let e = c
        .err(
            "delete_offline_partner",
            json!({"partner": "Delta Offline", "confirm": "yes"}),
        )
        .await;
    assert!(e.contains("\"DELETE\""), "{e}");
    c.rejected(
        "delete_offline_partner",
        json!({"partner": "Delta Offline"}),
    )
    .await;
    let del = c
        .ok(
            "delete_offline_partner",
            json!({"partner": "Delta Offline", "confirm": "DELETE"}),
        )
        .await;
    assert_eq!(del["deleted"]["records"], 4);
    assert_eq!(del["deleted"]["populations"], 1);
    let e = c
        .err("get_partner", json!({"partner": "Delta Offline"}))
        .await;
    assert!(e.starts_with("No partner named"), "{e}");

    // --- invitations
    let e = c
        .err(
            "respond_to_invitation",
            json!({"partner": "Gamma", "accept": true}),
        )
        .await;
    assert!(e.contains("only they can answer"), "{e}");
    let e = c
        .err(
            "respond_to_invitation",
            json!({"partner": "Beta", "accept": true}),
        )
        .await;
    assert!(e.contains("no pending invitation"), "{e}");
    c.rejected(
        "respond_to_invitation",
        json!({"partner": "Beta", "accept": "yes"}),
    )
    .await;
    let w = c
        .ok("revoke_partnership", json!({"partner": "Gamma"}))
        .await;
    assert_eq!(w["partnership"]["status"], "revoked");
    let e = c
        .err("revoke_partnership", json!({"partner": "Gamma"}))
        .await;
    assert!(e.contains("already revoked"), "{e}");
    let revoked = c.ok("list_partners", json!({"status": "revoked"})).await;
    assert_eq!(revoked["partners"][0]["partner_supplied"]["name"], "Gamma");

    // the other side answers through its own server
    let inv = c.ok("invite_partner", json!({"org": "Gamma"})).await;
    assert_eq!(inv["partnership"]["status"], "invited");
    let g = net.client(GUS, false).await;
    let pending = g.ok("list_partners", json!({"status": "invited"})).await;
    assert_eq!(pending["partners"][0]["direction"], "incoming");
    let acc = g
        .ok(
            "respond_to_invitation",
            json!({"partner": "Alpha", "accept": true}),
        )
        .await;
    assert_eq!(acc["partnership"]["status"], "active");
    g.close().await;
    let gov = c.ok("get_overlaps", json!({"partner": "Gamma"})).await;
    assert_eq!(
        cells(&gov),
        [
            cell("Customers", "Customers", 1), // acme
            cell("Prospects", "Customers", 1), // umbrella
            cell("Big", "Customers", 2),       // acme, umbrella
        ]
    );

    // --- resources
    let res = c.service.list_all_resources().await.unwrap();
    assert!(res.iter().any(|r| r.uri == "partnermap://partners"));
    assert!(
        res.iter()
            .any(|r| r.uri == format!("partnermap://partners/{beta_id}"))
    );
    let templates = c.service.list_all_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template == "partnermap://partners/{id}")
    );
    let index = read_json(c, "partnermap://partners").await;
    let mut names: Vec<&str> = index["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partner_supplied"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Beta", "Gamma"]);
    let one = read_json(c, &format!("partnermap://partners/{beta_id}")).await;
    assert_eq!(one["partner_supplied"]["name"], "Beta");
    assert_eq!(one["populations"].as_array().unwrap().len(), 2);
    // One document with what takes three tool calls: detail, overlaps and score.
    assert!(
        one["overlaps"].as_array().is_some_and(|o| !o.is_empty()),
        "{one}"
    );
    assert!(one["score"]["label"].is_string(), "{one}");
    for bad in [
        "partnermap://partners/999999",
        "partnermap://partners/acme",
        "partnermap://nothing",
    ] {
        let r = c
            .service
            .read_resource(ReadResourceRequestParams::new(bad))
            .await;
        assert!(r.is_err(), "{bad} should not be readable");
    }

    // --- prompts
    let prompts = c.service.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert!(
        names.contains(&"prioritize_partners") && names.contains(&"co_sell_plan"),
        "{names:?}"
    );
    let co = prompts.iter().find(|p| p.name == "co_sell_plan").unwrap();
    let args = co.arguments.as_ref().unwrap();
    assert_eq!(args[0].name, "account");
    assert_eq!(args[0].required, Some(true));
    let p = c
        .service
        .get_prompt(
            GetPromptRequestParams::new("co_sell_plan")
                .with_arguments(json!({"account": "Acme Corp"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&p.messages).unwrap();
    assert!(
        // the account checked and embedded with its deals, partners and threads
        text.contains("Acme Corp")
            && text.contains("open_deals")
            && text.contains("acme.com")
            && text.contains("create_thread"),
        "{text}"
    );
    assert!(
        c.service
            .get_prompt(GetPromptRequestParams::new("co_sell_plan"))
            .await
            .is_err()
    );
    let p = c
        .service
        .get_prompt(GetPromptRequestParams::new("prioritize_partners"))
        .await
        .unwrap();
    // the leaderboard for the current quarter, embedded
    let text = serde_json::to_string(&p.messages).unwrap();
    assert!(
        text.contains("leaderboard") && text.contains("Beta") && text.contains("-Q"),
        "{text}"
    );
}

/// `tools/list` over the wire equals the checked-in catalogue, file for file.
fn tools_match_catalogue(c: &Client) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let have = serde_json::to_value(
            c.tools
                .get(&name)
                .unwrap_or_else(|| panic!("server lacks {name}")),
        )
        .unwrap();
        assert_eq!(have, want, "tools/list differs from {}", p.display());
        files += 1;
    }
    assert_eq!(files, c.tools.len(), "every tool has its file");
}

async fn read_json(c: &Client, uri: &str) -> Value {
    let r = c
        .service
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    let v = serde_json::to_value(&r.contents[0]).unwrap();
    assert_eq!(v["mimeType"], "application/json");
    let text = v["text"].as_str().unwrap();
    assert!(!text.contains('\n'), "compact JSON, not pretty-printed");
    serde_json::from_str(text).unwrap()
}
