//! Data sharing through MCP, end to end: two servers (the built binary), one acting for Alpha's
//! admin and one for Beta's, drive sharing settings, share requests across the two sides, the
//! account-mapping report at counts / overlaps / full, exports within and past the allowance,
//! threads seen from both sides, and revocation cutting everything off at once. Every successful
//! result is checked against the tool's outputSchema (`Client::ok`).
//!
//! The network (tests/data/mcp): Alpha's Customers are Acme Corp, Globex, Hooli Inc. and its
//! Prospects Initech, Umbrella, Stark Industries; Beta's Customers are Acme, Initech LLC, Wayne
//! Enterprises, Hooli and its Prospects Globex Corporation, Beta Only. Counted by hand:
//! Alpha Customers × Beta Customers = {acme, hooli}; Alpha Customers × Beta Prospects = {globex}.

use crate::mcp_common;
use mcp_common::*;
use partnermap::Engine;
use rmcp::model::ReadResourceRequestParams;
use serde_json::{Value, json};

/// (my_record.name, partner_record.name) of each row.
fn rows(v: &Value) -> Vec<(Option<String>, Option<String>)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["my_record"]["name"].as_str().map(str::to_string),
                r["partner_supplied"]["partner_record"]["name"]
                    .as_str()
                    .map(str::to_string),
            )
        })
        .collect()
}

fn s(x: &str) -> Option<String> {
    Some(x.to_string())
}

/// Alpha's plan allows `n` exported partner records per term (the plan table is configuration).
fn set_allowance(net: &Network, n: i64) {
    let e = Engine::open(&net.db).unwrap();
    e.conn()
        .execute(
            "UPDATE plans SET export_allowance = ?1 WHERE name = 'connector'",
            [n],
        )
        .unwrap();
}

/// A resource read as JSON, or the error.
async fn read(c: &Client, uri: &str) -> Result<Value, String> {
    let r = c
        .service
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .map_err(|e| e.to_string())?;
    let v = serde_json::to_value(&r.contents[0]).unwrap();
    assert_eq!(v["mimeType"], "application/json");
    Ok(serde_json::from_str(v["text"].as_str().unwrap()).unwrap())
}

fn report_args(partner: &str, mine: &str, theirs: &str) -> Value {
    json!({"partner": partner, "my_population": mine, "partner_population": theirs})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_from_both_sides_of_a_partnership() {
    let net = Network::build();
    let a = net.client(ANN, false).await; // Alpha's admin, `initialize` handshake
    let b = net.client(BOB, true).await; // Beta's admin, newest protocol
    let m = net.client(MIA, false).await; // Alpha's member
    for t in [
        "set_sharing",
        "create_share_request",
        "respond_to_share_request",
        "withdraw_share_request",
        "list_share_requests",
        "account_mapping_report",
        "export_report",
        "create_thread",
        "post_to_thread",
        "list_threads",
    ] {
        assert!(a.tools.contains_key(t), "{t} is listed");
    }
    let cc = report_args("Beta", "Customers", "Customers");

    // --- At the default level (counts) the report is refused with the count, both ways.
    let e = a.err("account_mapping_report", cc.clone()).await;
    assert!(e.contains("'counts' level"), "{e}");
    assert!(e.contains("overlap count (2)"), "{e}");
    assert!(e.contains("create_share_request"), "{e}");
    assert!(!e.contains("Acme") && !e.contains("Hooli"), "{e}");
    let e = b
        .err(
            "account_mapping_report",
            report_args("Alpha", "Customers", "Customers"),
        )
        .await;
    assert!(e.contains("overlap count (2)"), "{e}");

    // --- Only admins (or manage_sharing) set sharing; levels and fields are checked.
    let e = m
        .err(
            "set_sharing",
            json!({"partner": "Beta", "population": "Customers", "level": "full"}),
        )
        .await;
    assert!(e.contains("mia@alpha.com"), "{e}");
    let e = a
        .err(
            "set_sharing",
            json!({"partner": "Beta", "population": "Customers", "level": "everything"}),
        )
        .await;
    assert!(e.contains("hidden, counts, overlaps, full"), "{e}");
    let e = a
        .err(
            "set_sharing",
            json!({"partner": "Beta", "population": "Customers", "level": "overlaps", "fields": ["revenue"]}),
        )
        .await;
    assert!(e.contains("no field 'revenue'"), "{e}");
    b.rejected("set_sharing", json!({"partner": "Alpha"})).await;

    // --- Alpha asks Beta for its Customers; Beta sees the request and approves it.
    let r = a
        .ok(
            "create_share_request",
            json!({"partner": "Beta", "population": "Customers", "level": "overlaps",
                   "fields": ["name", "website"], "message": "Co-sell on\u{1b}[2J shared customers?"}),
        )
        .await;
    let req = r["request"]["id"].as_i64().unwrap();
    assert_eq!(r["request"]["status"], "pending");
    assert_eq!(r["request"]["direction"], "outgoing");
    // Outgoing: the partner's name and its population's name are the partner's text.
    assert_eq!(r["request"]["partner"]["partner_supplied"]["name"], "Beta");
    assert_eq!(r["request"]["partner_supplied"]["population"], "Customers");
    assert!(r["request"]["population_id"].is_i64());
    let e = a
        .err(
            "create_share_request",
            json!({"partner": "Beta", "population": "Customers"}),
        )
        .await;
    assert!(e.contains("already have a pending request"), "{e}");
    let e = a
        .err(
            "create_share_request",
            json!({"partner": "Beta", "level": "hidden"}),
        )
        .await;
    assert!(e.contains("'hidden' is not something to ask for"), "{e}");

    let inc = b
        .ok("list_share_requests", json!({"direction": "incoming"}))
        .await;
    assert_eq!(inc["total"], 1);
    let r0 = &inc["requests"][0];
    assert_eq!(r0["id"], req);
    assert_eq!(r0["direction"], "incoming");
    // Incoming: the requester's name, note and user are the partner's text.
    assert_eq!(r0["partner"]["partner_supplied"]["name"], "Alpha");
    // The requester's note is cleaned of control characters.
    assert_eq!(
        r0["partner_supplied"]["message"],
        "Co-sell on[2J shared customers?"
    );
    assert_eq!(r0["partner_supplied"]["requested_by"]["email"], ANN);
    assert!(
        r0["message"].is_null(),
        "partner text only under partner_supplied"
    );
    assert_eq!(
        b.ok("list_share_requests", json!({"direction": "outgoing"}))
            .await["total"],
        0
    );
    assert_eq!(
        a.ok("list_share_requests", json!({"direction": "outgoing"}))
            .await["total"],
        1
    );
    // Alpha cannot answer its own request; Beta cannot withdraw Alpha's.
    let e = a
        .err(
            "respond_to_share_request",
            json!({"request": req, "approve": true}),
        )
        .await;
    assert!(e.contains("only they can answer it"), "{e}");
    let e = b
        .err("withdraw_share_request", json!({"request": req}))
        .await;
    assert!(e.contains("only the requester can withdraw"), "{e}");
    b.rejected(
        "respond_to_share_request",
        json!({"request": "twelve", "approve": true}),
    )
    .await;

    // The id may come as a string too.
    let ok = b
        .ok(
            "respond_to_share_request",
            json!({"request": req.to_string(), "approve": true}),
        )
        .await;
    assert_eq!(ok["request"]["status"], "approved");
    let e = b
        .err(
            "respond_to_share_request",
            json!({"request": req, "approve": false}),
        )
        .await;
    assert!(e.contains("already approved"), "{e}");

    // --- At overlaps: the two matched accounts with Beta's shared fields (name, website) only.
    let rep = a.ok("account_mapping_report", cc.clone()).await;
    assert_eq!(rep["sharing_level"], "overlaps");
    assert_eq!(rep["overlap_count"], 2);
    assert!(rep["greenfield_count"].is_null(), "0 is left out");
    assert_eq!(rep["total"], 2);
    assert_eq!(
        rep["columns"]["partner_supplied"]["partner_record"],
        json!(["name", "website"])
    );
    assert_eq!(
        rows(&rep),
        [(s("Acme Corp"), s("Acme")), (s("Hooli Inc."), s("Hooli"))]
    );
    assert_eq!(rep["rows"][0]["matched_on"], "domain acme.com");
    assert_eq!(rep["rows"][0]["my_record"]["Country"], "US");
    assert_eq!(
        rep["rows"][0]["partner_supplied"]["partner_record"],
        json!({"name": "Acme", "website": "acme.com"})
    );
    assert!(rep["next_cursor"].is_null());
    assert!(rep["truncated"].is_null(), "false is left out");
    let e = a
        .err(
            "account_mapping_report",
            with(cc.clone(), json!({"columns": ["name", "partner.stage"]})),
        )
        .await;
    assert!(e.contains("does not share the field 'stage'"), "{e}");
    // Beta's Prospects are still at counts.
    let e = a
        .err(
            "account_mapping_report",
            report_args("Beta", "Customers", "Prospects"),
        )
        .await;
    assert!(e.contains("overlap count (1)"), "{e}");

    // --- A declined request and a withdrawn one change nothing.
    let r2 = a
        .ok(
            "create_share_request",
            json!({"partner": "Beta", "population": "Prospects", "level": "full"}),
        )
        .await;
    let r2 = r2["request"]["id"].as_i64().unwrap();
    let d = b
        .ok(
            "respond_to_share_request",
            json!({"request": r2, "approve": false}),
        )
        .await;
    assert_eq!(d["request"]["status"], "declined");
    let r3 = a
        .ok(
            "create_share_request",
            json!({"partner": "Beta", "population": "Prospects", "level": "overlaps"}),
        )
        .await;
    let r3 = r3["request"]["id"].as_i64().unwrap();
    let w = m
        .err("withdraw_share_request", json!({"request": r3}))
        .await;
    assert!(w.contains("cannot withdraw"), "{w}");
    let w = a.ok("withdraw_share_request", json!({"request": r3})).await;
    assert_eq!(w["request"]["status"], "withdrawn");
    let e = b
        .err(
            "respond_to_share_request",
            json!({"request": r3, "approve": true}),
        )
        .await;
    assert!(e.contains("already withdrawn"), "{e}");
    let e = a
        .err(
            "account_mapping_report",
            report_args("Beta", "Customers", "Prospects"),
        )
        .await;
    assert!(e.contains("'counts' level"), "{e}");
    let gp = a.ok("get_partner", json!({"partner": "Beta"})).await;
    let levels: Vec<(String, String)> = gp["they_share"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["partner_supplied"]["population"].as_str().unwrap().into(),
                x["level"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("Customers".into(), "overlaps".into()),
            ("Prospects".into(), "counts".into())
        ]
    );
    let declined = a
        .ok(
            "list_share_requests",
            json!({"direction": "outgoing", "status": "declined"}),
        )
        .await;
    assert_eq!(declined["total"], 1);
    assert_eq!(declined["requests"][0]["id"], r2);
    // Paging through the three outgoing requests, newest first.
    let p1 = a
        .ok(
            "list_share_requests",
            json!({"direction": "outgoing", "limit": 2}),
        )
        .await;
    assert_eq!(p1["total"], 3);
    assert_eq!(p1["requests"].as_array().unwrap().len(), 2);
    let p2 = a
        .ok(
            "list_share_requests",
            json!({"direction": "outgoing", "limit": 2, "cursor": p1["next_cursor"]}),
        )
        .await;
    assert_eq!(p2["requests"].as_array().unwrap().len(), 1);
    assert!(p2["next_cursor"].is_null());
    let mut ids: Vec<i64> = p1["requests"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["requests"].as_array().unwrap())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [req, r2, r3]);

    // --- Beta shares its Customers in full (with stage): the greenfield rows appear.
    let set = b
        .ok(
            "set_sharing",
            json!({"partner": "Alpha", "population": "Customers", "level": "full",
                   "fields": ["name", "website", "stage"]}),
        )
        .await;
    assert_eq!(set["setting"]["level"], "full");
    assert_eq!(
        set["setting"]["fields"],
        json!(["name", "website", "stage"])
    );
    assert_eq!(set["setting"]["partnership_status"], "active");
    let full = a.ok("account_mapping_report", cc.clone()).await;
    assert_eq!(full["sharing_level"], "full");
    assert_eq!(full["overlap_count"], 2);
    assert_eq!(full["greenfield_count"], 2);
    assert_eq!(full["total"], 4);
    assert_eq!(
        rows(&full),
        [
            (s("Acme Corp"), s("Acme")),
            (s("Hooli Inc."), s("Hooli")),
            (None, s("Initech LLC")),
            (None, s("Wayne Enterprises")),
        ]
    );
    assert!(full["rows"][2]["my_record"].is_null());
    assert!(full["rows"][2]["matched_on"].is_null());
    assert_eq!(
        full["rows"][3]["partner_supplied"]["partner_record"]["stage"],
        "Customer"
    );
    // Filters on either side's fields, sort, columns.
    let us = a
        .ok(
            "account_mapping_report",
            with(
                cc.clone(),
                json!({"filters": [{"field": "country", "value": "US"}]}),
            ),
        )
        .await;
    assert_eq!(us["total"], 2);
    let acme = a
        .ok(
            "account_mapping_report",
            with(
                cc.clone(),
                json!({"filters": [{"field": "partner.name", "op": "contains", "value": "ac"}]}),
            ),
        )
        .await;
    assert_eq!(rows(&acme), [(s("Acme Corp"), s("Acme"))]);
    let sorted = a
        .ok(
            "account_mapping_report",
            with(
                cc.clone(),
                json!({"sort": "partner.name desc", "columns": ["name", "partner.name", "partner.stage"]}),
            ),
        )
        .await;
    assert_eq!(
        rows(&sorted),
        [
            (None, s("Wayne Enterprises")),
            (None, s("Initech LLC")),
            (s("Hooli Inc."), s("Hooli")),
            (s("Acme Corp"), s("Acme")),
        ]
    );
    assert_eq!(sorted["columns"]["my_record"], json!(["id", "name"]));
    assert_eq!(
        sorted["columns"]["partner_supplied"]["partner_record"],
        json!(["name", "stage"])
    );
    assert_eq!(
        sorted["rows"][3]["my_record"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id", "name"]
    );
    // Paging: three pages of at most 2, 2 and 0; a cursor works only for its own report.
    let pg1 = a
        .ok(
            "account_mapping_report",
            with(cc.clone(), json!({"limit": 3})),
        )
        .await;
    assert_eq!(rows(&pg1).len(), 3);
    let cur = pg1["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let pg2 = a
        .ok(
            "account_mapping_report",
            with(cc.clone(), json!({"limit": 3, "cursor": cur})),
        )
        .await;
    assert_eq!(rows(&pg2), [(None, s("Wayne Enterprises"))]);
    assert!(pg2["next_cursor"].is_null());
    let e = a
        .err(
            "account_mapping_report",
            with(cc.clone(), json!({"sort": "name", "cursor": cur})),
        )
        .await;
    assert!(e.contains("invalid cursor"), "{e}");

    // --- Beta's side: Alpha shares nothing yet; then its Customers at overlaps with two
    // fields, and hides its Prospects.
    let ba = report_args("Alpha", "Customers", "Customers");
    b.err("account_mapping_report", ba.clone()).await;
    a.ok(
        "set_sharing",
        json!({"partner": "Beta", "population": "Customers", "level": "overlaps", "fields": ["name", "country"]}),
    )
    .await;
    a.ok(
        "set_sharing",
        json!({"partner": "Beta", "population": "Prospects", "level": "hidden"}),
    )
    .await;
    let brep = b.ok("account_mapping_report", ba.clone()).await;
    assert_eq!(
        rows(&brep),
        [(s("Acme"), s("Acme Corp")), (s("Hooli"), s("Hooli Inc."))]
    );
    assert_eq!(
        brep["rows"][0]["partner_supplied"]["partner_record"],
        json!({"name": "Acme Corp", "Country": "US"})
    );
    assert!(brep["greenfield_count"].is_null(), "0 is left out");
    assert!(!brep.to_string().contains("Employees"), "{brep}");
    assert!(!brep.to_string().contains("5000"), "{brep}");
    let e = b
        .err(
            "account_mapping_report",
            report_args("Alpha", "Customers", "Prospects"),
        )
        .await;
    assert!(!e.contains("Initech") && !e.contains("hidden"), "{e}");
    let pops = b.ok("list_populations", json!({"partner": "Alpha"})).await;
    assert_eq!(pops["total"], 1);

    // --- Exports against an allowance of 5 per term.
    set_allowance(&net, 5);
    let dir = net.dir.path();
    let f1 = dir.join("cc.csv");
    let x = a
        .ok(
            "export_report",
            with(cc.clone(), json!({"path": f1.to_str().unwrap()})),
        )
        .await;
    assert_eq!(x["rows_written"], 4);
    assert_eq!(x["partner_records"], 4);
    assert_eq!(x["newly_counted"], 4);
    assert_eq!(x["allowance"], 5);
    assert_eq!(x["allowance_left"], 1);
    let csv = std::fs::read_to_string(&f1).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[0].starts_with(r#""id","name","website","domain","#),
        "{csv}"
    );
    assert!(
        lines[0].ends_with(r#""partner.name","partner.website","partner.stage","matched_on""#),
        "{csv}"
    );
    assert!(lines[1].contains("Acme Corp") && lines[1].ends_with(r#""domain acme.com""#));
    // The same records again count once.
    let x = a
        .ok(
            "export_report",
            with(
                cc.clone(),
                json!({"path": dir.join("again.csv").to_str().unwrap()}),
            ),
        )
        .await;
    assert_eq!(
        (x["newly_counted"].as_i64(), x["allowance_left"].as_i64()),
        (Some(0), Some(1))
    );
    // Beta's Prospects in full: two new records (Globex Corporation, Beta Only) > 1 left.
    b.ok(
        "set_sharing",
        json!({"partner": "Alpha", "population": "Prospects", "level": "full"}),
    )
    .await;
    let f2 = dir.join("cp.csv");
    let cp = report_args("Beta", "Customers", "Prospects");
    let e = a
        .err(
            "export_report",
            with(cp.clone(), json!({"path": f2.to_str().unwrap()})),
        )
        .await;
    assert!(
        e.contains("holds 2 partner records not yet exported"),
        "{e}"
    );
    assert!(e.contains("1 of its 5 record-export allowance left"), "{e}");
    assert!(e.contains("Nothing was written"), "{e}");
    assert!(!f2.exists());
    // One row fits exactly.
    let x = a
        .ok(
            "export_report",
            with(
                cp.clone(),
                json!({"path": f2.to_str().unwrap(), "limit": 1}),
            ),
        )
        .await;
    assert_eq!(x["rows_written"], 1);
    assert_eq!(
        (x["newly_counted"].as_i64(), x["allowance_left"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(std::fs::read_to_string(&f2).unwrap().lines().count(), 2);
    // The next page (from the report's cursor) holds one more new record: refused.
    let pg = a
        .ok(
            "account_mapping_report",
            with(cp.clone(), json!({"limit": 1})),
        )
        .await;
    let e = a
        .err(
            "export_report",
            with(
                cp.clone(),
                json!({"path": dir.join("next.csv").to_str().unwrap(), "limit": 1, "cursor": pg["next_cursor"]}),
            ),
        )
        .await;
    assert!(e.contains("0 of its 5 record-export allowance left"), "{e}");
    // A member may export too (records already counted cost nothing).
    let x = m
        .ok(
            "export_report",
            with(
                cc.clone(),
                json!({"path": dir.join("mia.csv").to_str().unwrap()}),
            ),
        )
        .await;
    assert_eq!(x["newly_counted"], 0);

    // --- Threads, seen from both sides.
    let t = a
        .ok(
            "create_thread",
            json!({"partner": "Beta", "account": "acme.com", "message": "Shall we co-sell Acme?",
                   "owners": [ANN, BOB]}),
        )
        .await;
    let tid = t["thread"]["id"].as_i64().unwrap();
    assert!(t["thread"]["created"].is_null(), "created: only when false");
    assert_eq!(t["thread"]["account"], "Acme Corp");
    assert_eq!(t["thread"]["opened_by_you"], true);
    let owners: Vec<&str> = t["thread"]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            // a colleague's email outside, the partner user's under partner_supplied
            o["email"]
                .as_str()
                .or(o["partner_supplied"]["email"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(owners, [ANN, BOB]);
    assert_eq!(t["thread"]["owners"][1]["partner_supplied"]["email"], BOB);
    let e = a
        .err(
            "create_thread",
            json!({"partner": "Beta", "account": "nowhere.example", "message": "x"}),
        )
        .await;
    assert!(e.contains("no account"), "{e}");
    let e = a
        .err(
            "create_thread",
            json!({"partner": "Beta", "account": "acme.com", "message": "x", "owners": ["gus@gamma.org"]}),
        )
        .await;
    assert!(e.contains("No user 'gus@gamma.org'"), "{e}");

    let bt = b.ok("list_threads", json!({})).await;
    assert_eq!(bt["total"], 1);
    let th = &bt["threads"][0];
    assert_eq!(th["id"], tid);
    assert_eq!(th["partner"]["partner_supplied"]["name"], "Alpha");
    assert!(th["opened_by_you"].is_null(), "false is left out");
    assert!(th["my_record_id"].is_null());
    // Alpha opened it: for Beta, the account, the author and the message are Alpha's text.
    assert_eq!(th["partner_supplied"]["account"], "Acme Corp");
    assert_eq!(
        th["messages"][0]["author"]["partner_supplied"]["email"],
        ANN
    );
    assert_eq!(
        th["messages"][0]["partner_supplied"]["body"],
        "Shall we co-sell Acme?"
    );
    assert!(th["messages"][0]["body"].is_null());
    let p = b
        .ok(
            "post_to_thread",
            json!({"thread": tid, "message": "Yes!\u{7}\nOur owner is Dana."}),
        )
        .await;
    assert_eq!(p["thread"]["message_count"], 2);
    m.ok(
        "post_to_thread",
        json!({"thread": tid.to_string(), "message": "I can join."}),
    )
    .await;
    // Opening a thread on the same account again posts to it.
    let again = a
        .ok(
            "create_thread",
            json!({"partner": "Beta", "account": "Acme Corp", "message": "Agenda attached."}),
        )
        .await;
    assert_eq!(again["thread"]["created"], false);
    assert_eq!(again["thread"]["id"], tid);
    let at = a.ok("list_threads", json!({"partner": "Beta"})).await;
    let msgs: Vec<(&str, &str)> = at["threads"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                // a colleague's outside, a partner user's under partner_supplied
                x["author"]["email"]
                    .as_str()
                    .or(x["author"]["partner_supplied"]["email"].as_str())
                    .unwrap(),
                x["body"]
                    .as_str()
                    .or(x["partner_supplied"]["body"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        msgs,
        [
            (ANN, "Shall we co-sell Acme?"),
            (BOB, "Yes! Our owner is Dana."),
            (MIA, "I can join."),
            (ANN, "Agenda attached."),
        ]
    );
    let e = a.err("list_threads", json!({"partner": "Gamma"})).await;
    assert!(e.starts_with("No partner named 'Gamma'"), "{e}");

    // The overlap matrix as a resource, from both sides.
    let templates = a.service.list_all_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template == "partnermap://partners/{id}/overlaps")
    );
    let beta_id = b.ok("whoami", json!({})).await["org"]["id"]
        .as_i64()
        .unwrap();
    let alpha_id = a.ok("whoami", json!({})).await["org"]["id"]
        .as_i64()
        .unwrap();
    let beta_uri = format!("partnermap://partners/{beta_id}/overlaps");
    let alpha_uri = format!("partnermap://partners/{alpha_id}/overlaps");
    let ov = read(&a, &beta_uri).await.unwrap();
    assert_eq!(ov["partner_supplied"]["name"], "Beta");
    assert_eq!(
        cells(&ov),
        [
            cell("Customers", "Customers", 2),
            cell("Customers", "Prospects", 1),
            cell("Prospects", "Customers", 1),
            cell("Prospects", "Prospects", 0),
        ]
    );
    // Alpha hides its Prospects from Beta: one column.
    let ov = read(&b, &alpha_uri).await.unwrap();
    assert_eq!(
        cells(&ov),
        [
            cell("Customers", "Customers", 2),
            cell("Prospects", "Customers", 1),
        ]
    );
    assert!(read(&a, "partnermap://partners/x/overlaps").await.is_err());

    // A request from Beta left pending before the revocation.
    let pend = b
        .ok(
            "create_share_request",
            json!({"partner": "Alpha", "population": "Customers", "level": "full"}),
        )
        .await;
    let pend = pend["request"]["id"].as_i64().unwrap();

    // --- Revocation (by Beta) removes all access at once, on both running servers.
    b.ok("revoke_partnership", json!({"partner": "Alpha"}))
        .await;
    for (c, args) in [(&a, cc.clone()), (&b, ba.clone())] {
        let e = c.err("account_mapping_report", args).await;
        assert!(e.contains("not active") || e.contains("revoked"), "{e}");
    }
    let f3 = dir.join("after.csv");
    a.err(
        "export_report",
        with(cc.clone(), json!({"path": f3.to_str().unwrap()})),
    )
    .await;
    assert!(!f3.exists());
    a.err("get_overlaps", json!({"partner": "Beta"})).await;
    a.err(
        "create_share_request",
        json!({"partner": "Beta", "population": "Customers"}),
    )
    .await;
    let e = a
        .err(
            "respond_to_share_request",
            json!({"request": pend, "approve": true}),
        )
        .await;
    assert!(!e.is_empty());
    a.err(
        "post_to_thread",
        json!({"thread": tid, "message": "Still there?"}),
    )
    .await;
    a.err(
        "create_thread",
        json!({"partner": "Beta", "account": "hooli.com", "message": "x"}),
    )
    .await;
    // A setting may still be made (it applies if they partner again) but grants nothing now.
    let set = a
        .ok(
            "set_sharing",
            json!({"partner": "Beta", "population": "Customers", "level": "full"}),
        )
        .await;
    assert_eq!(set["setting"]["partnership_status"], "revoked");
    b.err("account_mapping_report", ba.clone()).await;
    b.err("get_overlaps", json!({"partner": "Alpha"})).await;
    for (c, uri) in [(&a, &beta_uri), (&b, &alpha_uri)] {
        let e = read(c, uri).await.unwrap_err();
        assert!(!e.contains("Customers"), "{e}");
    }
    // Threads remain, but the other side's users are no longer visible.
    let at = a.ok("list_threads", json!({})).await;
    let th = &at["threads"][0];
    assert_eq!(th["partnership_status"], "revoked");
    let bob_msg = &th["messages"][1]["author"];
    assert!(
        bob_msg["partner_supplied"]["email"].is_null() && bob_msg["id"].is_null(),
        "{th}"
    );
    assert_eq!(bob_msg["partner_supplied"]["name"], "a user of Beta");
    assert!(!at.to_string().contains(BOB), "{at}");
    let bt = b.ok("list_threads", json!({})).await;
    assert!(!bt.to_string().contains(ANN), "{bt}");
    assert!(!bt.to_string().contains(MIA), "{bt}");
    // Requests remain listed, without the other side's people; the pending one is unchanged.
    let inc = a
        .ok("list_share_requests", json!({"direction": "incoming"}))
        .await;
    assert_eq!(inc["requests"][0]["id"], pend);
    assert_eq!(inc["requests"][0]["status"], "pending");
    assert!(inc["requests"][0]["partner_supplied"]["requested_by"].is_null());

    a.close().await;
    b.close().await;
    m.close().await;
}

/// An offline partner's data: Alpha's own upload, reported in full, exported without using the
/// allowance, never shared, never reachable by Beta, and no sharing or threads with it.
/// Delta's Customers (tests/data/mcp/delta.csv; the nameless row is rejected): Acme, Umbrella
/// Corporation, Stark, Delta Own; against Alpha's Customers only acme matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_partner_reports_are_yours_alone() {
    let net = Network::build();
    net.add_delta_offline();
    set_allowance(&net, 1);
    let a = net.client(ANN, true).await;
    let b = net.client(BOB, false).await;
    let args = report_args("Delta Offline", "Customers", "Customers");

    let rep = a.ok("account_mapping_report", args.clone()).await;
    assert_eq!(rep["sharing_level"], "full");
    assert_eq!(
        (
            rep["overlap_count"].as_u64(),
            rep["greenfield_count"].as_u64()
        ),
        (Some(1), Some(3))
    );
    assert_eq!(
        rows(&rep),
        [
            (s("Acme Corp"), s("Acme")),
            (None, s("Umbrella Corporation")),
            (None, s("Stark")),
            (None, s("Delta Own")),
        ]
    );
    assert_eq!(
        rep["rows"][0]["partner_supplied"]["partner_record"]["Status"],
        "customer"
    );
    // Four partner records exported, none counted: the data is Alpha's own upload.
    let path = net.dir.path().join("delta.csv");
    let x = a
        .ok(
            "export_report",
            with(args.clone(), json!({"path": path.to_str().unwrap()})),
        )
        .await;
    assert_eq!(
        (
            x["rows_written"].as_u64(),
            x["newly_counted"].as_u64(),
            x["allowance_left"].as_u64()
        ),
        (Some(4), Some(0), Some(1))
    );
    // Nothing is shared with, asked of, or discussed with an offline partner.
    let e = a
        .err(
            "set_sharing",
            json!({"partner": "Delta Offline", "population": "Customers", "level": "full"}),
        )
        .await;
    assert!(e.contains("offline partner"), "{e}");
    let e = a
        .err("create_share_request", json!({"partner": "Delta Offline"}))
        .await;
    assert!(e.contains("offline partner"), "{e}");
    let e = a
        .err(
            "create_thread",
            json!({"partner": "Delta Offline", "account": "acme.com", "message": "hi"}),
        )
        .await;
    assert!(e.contains("offline partner"), "{e}");
    // Beta cannot reach it: the same answer as for a name that exists nowhere.
    let e1 = b
        .err(
            "account_mapping_report",
            with(args.clone(), json!({"partner": "Delta Offline"})),
        )
        .await;
    let e2 = b
        .err(
            "account_mapping_report",
            with(args.clone(), json!({"partner": "Zeta Nowhere"})),
        )
        .await;
    assert_eq!(
        e1.replace("Delta Offline", "X"),
        e2.replace("Zeta Nowhere", "X")
    );
    let out = net.dir.path().join("beta.csv");
    b.err(
        "export_report",
        with(args.clone(), json!({"path": out.to_str().unwrap()})),
    )
    .await;
    assert!(!out.exists());
    a.close().await;
    b.close().await;
}
