//! Issue 8: the adversarial privacy suite through MCP. The generated network of
//! tests/privacy_net (four online orgs, two offline partners, every sharing level, hidden
//! populations, active / invited / declined / revoked partnerships, canaries everywhere); one
//! `partnermap mcp` server per viewer. For every (viewer, other org) pair, every read tool is
//! called with the other org's name, id and domain, each of its population names and ids, and
//! cursors: cursors returned to one viewer are replayed by every other viewer and altered. No
//! output or error may hold a canary the viewer may not learn (SPEC §3), unless the viewer typed
//! it itself; an error about another org's population must read the same as one about a
//! population that does not exist.

use crate::mcp_common;
use crate::privacy_net;
use mcp_common::*;
use privacy_net::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const READ_TOOLS: [&str; 15] = [
    "whoami",
    "list_partners",
    "get_partner",
    "list_populations",
    "get_overlaps",
    "account_mapping_report",
    "list_share_requests",
    "list_threads",
    "search",
    "account_lookup",
    "top_partners",
    "partner_score",
    "pipeline_generation",
    "deal_navigator",
    "list_exchange_rates",
];

/// One call's visible text: the error sentence, or the structured output as JSON.
async fn text_of(c: &Client, tool: &str, args: &Value) -> (bool, String) {
    match c.raw(tool, args.clone()).await {
        Outcome::Result(r) if r.is_error == Some(true) => (
            false,
            r.content
                .first()
                .and_then(|x| x.as_text())
                .map(|t| t.text.clone())
                .unwrap_or_default(),
        ),
        Outcome::Result(r) => (
            true,
            r.structured_content
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ),
        Outcome::RpcError(e) => (false, e),
    }
}

fn arg_strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\u{1}');
        }
        Value::Array(a) => a.iter().for_each(|x| arg_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| arg_strings(x, out)),
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\u{1}');
        }
        _ => {}
    }
}

struct Viewer {
    idx: usize,
    client: Client,
    forbidden: Vec<String>,
    calls: usize,
    pairs: BTreeMap<(String, &'static str), usize>,
    leaks: Vec<String>,
    /// Allowed data the viewer must see somewhere (so the test can fail), and whether it did.
    sanity: Vec<(String, bool)>,
    /// Cursors this viewer received: (tool, args, cursor).
    cursors: Vec<(&'static str, Value, String)>,
}

impl Viewer {
    async fn call(&mut self, other: &str, tool: &'static str, args: Value) -> (bool, String) {
        let (ok, out) = text_of(&self.client, tool, &args).await;
        self.calls += 1;
        *self.pairs.entry((other.to_string(), tool)).or_default() += 1;
        let mut typed = String::new();
        arg_strings(&args, &mut typed);
        for (s, seen) in self.sanity.iter_mut() {
            *seen |= out.contains(s.as_str());
        }
        for c in &self.forbidden {
            if out.contains(c.as_str()) && !typed.contains(c.as_str()) {
                let at = out.find(c.as_str()).unwrap();
                let from = out.floor_char_boundary(at.saturating_sub(150));
                let to = out.floor_char_boundary((at + 150).min(out.len()));
                self.leaks.push(format!(
                    "{} sees {c:?} via {tool} {args}: …{}…",
                    ORGS[self.idx],
                    &out[from..to]
                ));
            }
        }
        if ok
            && let Ok(v) = serde_json::from_str::<Value>(&out)
            && let Some(cur) = v["next_cursor"].as_str()
        {
            self.cursors.push((tool, args, cur.to_string()));
        }
        (ok, out)
    }
}

fn pops_of(w: &World, org: &str) -> Vec<(i64, String)> {
    w.engine
        .conn()
        .prepare(
            "SELECT p.id, p.name FROM populations p JOIN orgs o ON o.id = p.org_id WHERE o.name = ?1 ORDER BY p.id",
        )
        .unwrap()
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn org_id(w: &World, org: &str) -> i64 {
    w.engine
        .conn()
        .query_row("SELECT id FROM orgs WHERE name = ?1", [org], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_viewer_learns_through_mcp_what_spec_3_forbids() {
    suite(false).await;
}

/// The same suite through one `partnermap serve` over streamable HTTP: every viewer is a
/// bearer token of its org's admin, all sessions on one server at once, so the acting user is
/// decided per request by the token and never leaks across sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_viewer_learns_through_remote_mcp_what_spec_3_forbids() {
    suite(true).await;
}

async fn suite(http: bool) {
    let w = privacy_net::build();
    let server = http.then(|| HttpServer::start(&w.db, &[], &["--rate-limit", "1000000"]));
    let mut viewers = Vec::new();
    for (vi, org) in ORGS.iter().enumerate() {
        let mut forbidden: Vec<String> = (0..ORGS.len())
            .filter(|&oi| oi != vi)
            .flat_map(|oi| forbidden(vi, oi))
            .collect();
        forbidden.extend(offline_forbidden(org));
        viewers.push(Viewer {
            idx: vi,
            client: match &server {
                None => connect(&w.db, &admin(org), &[], vi % 2 == 1).await,
                Some(srv) => {
                    connect_http(&srv.url, &token_for(&w.db, &admin(org)), vi % 2 == 1).await
                }
            },
            forbidden,
            calls: 0,
            pairs: BTreeMap::new(),
            leaks: Vec::new(),
            sanity: if vi == 0 {
                [
                    "Wolf-name-s",
                    "Uniq Wolf F 0",
                    "THREADMSG-Wolf-Vega",
                    "Offvega",
                    "Wolf PopO",
                ]
                .map(|s| (s.to_string(), false))
                .to_vec()
            } else {
                vec![]
            },
            cursors: Vec::new(),
        });
    }
    let mut others: Vec<String> = ORGS.iter().map(|s| s.to_string()).collect();
    others.extend(["Offvega Partners", "Offwolf Partners"].map(String::from));
    let mut oracle_checks = 0;
    for v in viewers.iter_mut() {
        let me = ORGS[v.idx];
        let my_pops: Vec<String> = pops_of(&w, me).into_iter().map(|p| p.1).collect();
        // Tools that take no other org.
        v.call("-", "whoami", json!({})).await;
        v.call("-", "list_exchange_rates", json!({})).await;
        for status in ["", "invited", "active", "declined", "revoked"] {
            v.call("-", "list_partners", json!({"status": status, "limit": 1}))
                .await;
            v.call("-", "list_partners", json!({"status": status}))
                .await;
        }
        v.call("-", "list_populations", json!({"limit": 1})).await;
        for dir in ["", "incoming", "outgoing"] {
            v.call("-", "list_share_requests", json!({"direction": dir}))
                .await;
            v.call(
                "-",
                "list_share_requests",
                json!({"direction": dir, "limit": 1}),
            )
            .await;
        }
        v.call("-", "list_threads", json!({})).await;
        v.call("-", "list_threads", json!({"limit": 1})).await;
        for sort in ["score", "overlap_count", "coverage", "win_rate_lift"] {
            v.call("-", "top_partners", json!({"sort": sort, "limit": 200}))
                .await;
        }
        v.call("-", "pipeline_generation", json!({"limit": 200}))
            .await;
        v.call("-", "pipeline_generation", json!({"limit": 1}))
            .await;
        v.call("-", "deal_navigator", json!({"limit": 200})).await;
        v.call("-", "deal_navigator", json!({"limit": 1})).await;
        for (i, other) in others.iter().enumerate() {
            if other == me {
                continue;
            }
            let theirs = pops_of(&w, other);
            let mut names = vec![other.clone(), org_id(&w, other).to_string()];
            if i < ORGS.len() {
                names.push(format!("{}-corp.com", other.to_lowercase()));
            }
            for p in &names {
                v.call(other, "get_partner", json!({"partner": p})).await;
                v.call(other, "list_populations", json!({"partner": p}))
                    .await;
                v.call(other, "list_populations", json!({"partner": p, "limit": 1}))
                    .await;
                v.call(other, "get_overlaps", json!({"partner": p})).await;
                v.call(other, "get_overlaps", json!({"partner": p, "limit": 1}))
                    .await;
                v.call(other, "list_threads", json!({"partner": p})).await;
                v.call(other, "partner_score", json!({"partner": p})).await;
                v.call(other, "search", json!({"query": p})).await;
                v.call(other, "account_lookup", json!({"account": p})).await;
            }
            let p = other.clone();
            for my in &my_pops {
                for (pid, pname) in &theirs {
                    for pp in [json!(pname), json!(pid)] {
                        for args in [
                            json!({"partner": p, "my_population": my, "partner_population": pp, "limit": 200}),
                            json!({"partner": p, "my_population": my, "partner_population": pp, "limit": 1}),
                            json!({"partner": p, "my_population": my, "partner_population": pp,
                                   "columns": ["name", "partner.secret", "partner.name", "partner.website", "partner.shared"],
                                   "filters": [{"field": "partner.secret", "op": "contains", "value": "SECRET"}],
                                   "sort": "partner.secret"}),
                        ] {
                            v.call(other, "account_mapping_report", args).await;
                        }
                    }
                }
            }
            // Another org's population, by name and id, where one of mine is expected.
            for (pid, pname) in &theirs {
                v.call(other, "pipeline_generation", json!({"population": pname}))
                    .await;
                v.call(other, "pipeline_generation", json!({"population": pid}))
                    .await;
            }
            // Errors must not tell a population the viewer may not see from none at all.
            let visible: Vec<String> = match v
                .client
                .raw("list_populations", json!({"partner": p}))
                .await
            {
                Outcome::Result(r) if r.is_error != Some(true) => {
                    r.structured_content.unwrap()["populations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|x| {
                            [
                                x["partner_supplied"]["name"].as_str().unwrap().to_string(),
                                x["id"].to_string(),
                            ]
                        })
                        .collect()
                }
                _ => vec![],
            };
            let my = &my_pops[0];
            let probe =
                |pp: &str| json!({"partner": p, "my_population": my, "partner_population": pp});
            let (_, none_name) = v
                .call(other, "account_mapping_report", probe("Zzz Nope"))
                .await;
            let (_, none_id) = v
                .call(other, "account_mapping_report", probe("999999"))
                .await;
            for (pid, pname) in &theirs {
                for (guess, none, placeholder) in [
                    (pname.clone(), &none_name, "Zzz Nope"),
                    (pid.to_string(), &none_id, "999999"),
                ] {
                    if visible.contains(&guess) {
                        continue;
                    }
                    let (ok, out) = v.call(other, "account_mapping_report", probe(&guess)).await;
                    assert!(!ok, "{me} got a report on {other}'s {guess}: {out}");
                    assert_eq!(
                        out.replace(&guess, "<P>"),
                        none.replace(placeholder, "<P>"),
                        "{me}: an error about {other}'s population {guess} differs from one about none"
                    );
                    oracle_checks += 1;
                }
            }
        }
        // Search and lookups with every canary prefix.
        for q in [
            "Uniq",
            "name-s",
            "SECRET",
            "SHAREDVAL",
            "u-",
            "shared",
            "Off",
            "THREADMSG",
            "REQMSG",
            "Pop",
            "admin",
            "member",
        ] {
            v.call("-", "search", json!({"query": q, "limit": 200}))
                .await;
            v.call("-", "account_lookup", json!({"account": q})).await;
        }
        for id in [1, 2, 5, 10, 50, 100, 150, 199] {
            v.call("-", "account_lookup", json!({"account": id.to_string()}))
                .await;
        }
    }
    // Cursors: each viewer's cursors replayed by every other viewer, as given and altered.
    let all: Vec<(usize, &'static str, Value, String)> = viewers
        .iter()
        .flat_map(|v| {
            v.cursors
                .iter()
                .map(move |(t, a, c)| (v.idx, *t, a.clone(), c.clone()))
        })
        .collect();
    let mut replays = 0;
    for v in viewers.iter_mut() {
        for (from, tool, args, cursor) in &all {
            if *from == v.idx {
                continue;
            }
            let last = cursor.chars().last().unwrap_or('0');
            let flipped = format!(
                "{}{}",
                &cursor[..cursor.len() - last.len_utf8()],
                if last == '0' { '1' } else { '0' }
            );
            for c in [
                cursor.clone(),
                flipped,
                format!("{cursor}00"),
                cursor[..cursor.len() / 2].to_string(),
                "r0".into(),
                "r3".into(),
                "rfffff".into(),
            ] {
                let mut a = args.clone();
                a["cursor"] = json!(c);
                let other = a["partner"].as_str().unwrap_or("-").to_string();
                v.call(&other, tool, a).await;
                replays += 1;
            }
        }
    }
    let mut leaks = Vec::new();
    let mut calls = 0;
    let mut pairs = 0;
    for v in viewers {
        calls += v.calls;
        pairs += v
            .pairs
            .keys()
            .filter(|(o, t)| o != "-" && READ_TOOLS.contains(t))
            .count();
        eprintln!(
            "{}: {} calls, {} (other org, tool) pairs, {} canaries guarded, {} cursors received",
            ORGS[v.idx],
            v.calls,
            v.pairs.keys().filter(|(o, _)| o != "-").count(),
            v.forbidden.len(),
            v.cursors.len()
        );
        leaks.extend(v.leaks);
        for (s, seen) in &v.sanity {
            assert!(seen, "{} never saw {s:?}, which it may see", ORGS[v.idx]);
        }
        v.client.close().await;
    }
    eprintln!(
        "mcp privacy pairs: {calls} calls, {pairs} (viewer, other org, tool) triples, {replays} cursor replays, {oracle_checks} existence-oracle checks"
    );
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    assert!(replays > 0 && oracle_checks > 0);
}
