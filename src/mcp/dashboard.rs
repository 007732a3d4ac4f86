//! The data of the standalone dashboard (`partnermap dashboard`): the same tool results the views
//! draw in a chat, fetched from this server in process over MCP itself (an in-memory pipe, JSON-RPC
//! as any client sends it), so the report shows exactly what the tools answer, reshaped outputs
//! and tools added later (partner_influence) included.

use super::PartnermapServer;
use crate::{Engine, Error, Result};
use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, ReadHalf, WriteHalf};

/// Most overlap cells fetched per partner, deals fetched, partners ranked.
const MAX_CELLS: usize = 1_000;
const MAX_DEALS: usize = 500;
const MAX_PARTNERS: usize = 200;

type Io = tokio::io::DuplexStream;

struct RawClient {
    lines: Lines<BufReader<ReadHalf<Io>>>,
    w: WriteHalf<Io>,
    next_id: u64,
}

fn io(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("the dashboard could not query the MCP server: {e}"))
}

impl RawClient {
    async fn send(&mut self, msg: Value) -> Result<()> {
        let mut line = msg.to_string();
        line.push('\n');
        self.w.write_all(line.as_bytes()).await.map_err(io)
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        while let Some(line) = self.lines.next_line().await.map_err(io)? {
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg.get("id").and_then(Value::as_u64) != Some(id) || msg.get("method").is_some() {
                continue; // a notification or a request of the server's: not our answer
            }
            if let Some(e) = msg.get("error") {
                return Err(io(e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")));
            }
            return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(io("the server closed the connection"))
    }

    /// A tool's structured result; `Err(sentence)` for an `isError` result.
    async fn tool(
        &mut self,
        name: &str,
        args: Value,
    ) -> Result<std::result::Result<Value, String>> {
        let r = self
            .request("tools/call", json!({"name": name, "arguments": args}))
            .await?;
        if r.get("isError").and_then(Value::as_bool) == Some(true) {
            let text = r
                .pointer("/content/0/text")
                .and_then(Value::as_str)
                .unwrap_or("the tool failed")
                .to_string();
            return Ok(Err(text));
        }
        Ok(Ok(r
            .get("structuredContent")
            .cloned()
            .unwrap_or(Value::Null)))
    }

    /// Every page of a paged tool, its list under `key` concatenated, up to `max` items.
    async fn pages(
        &mut self,
        name: &str,
        mut args: Value,
        key: &str,
        max: usize,
    ) -> Result<std::result::Result<Value, String>> {
        let mut first: Option<Value> = None;
        loop {
            let page = match self.tool(name, args.clone()).await? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let cursor = page
                .get("next_cursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            match first.as_mut() {
                None => first = Some(page),
                Some(f) => {
                    let more = page
                        .get(key)
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(list) = f.get_mut(key).and_then(Value::as_array_mut) {
                        list.extend(more);
                    }
                    if let Some(o) = f.as_object_mut() {
                        o.insert("next_cursor".into(), json!(cursor));
                    }
                }
            }
            let len = first
                .as_ref()
                .and_then(|f| f.get(key))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match cursor {
                Some(c) if len < max => {
                    args["cursor"] = json!(c);
                }
                _ => break,
            }
        }
        Ok(Ok(first.unwrap_or(Value::Null)))
    }
}

/// The dashboard's data for the acting user's organization: `{org, generated_at, overlaps: [one
/// get_overlaps result per active partner], leaderboard, deals, influence, notes}`. A tool that
/// fails (a plan without Partner Score, say) leaves its section out with a note saying why.
pub async fn dashboard_data(engine: Engine, user: Option<String>) -> Result<Value> {
    let server = PartnermapServer::new(engine, user);
    let has_influence = super::views::served().contains(&crate::views::View::Influence);
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_io);
    let serving = tokio::spawn(async move {
        if let Ok(s) = server.serve((sr, sw)).await {
            let _ = s.waiting().await;
        }
    });
    let (cr, cw) = tokio::io::split(client_io);
    let mut c = RawClient {
        lines: BufReader::new(cr).lines(),
        w: cw,
        next_id: 0,
    };
    c.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "partnermap-dashboard", "version": env!("CARGO_PKG_VERSION")},
        }),
    )
    .await?;
    c.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await?;

    let who = c.tool("whoami", json!({})).await?.map_err(Error::Invalid)?;
    let mut notes: Vec<String> = Vec::new();
    let mut section = |name: &str, r: std::result::Result<Value, String>| match r {
        Ok(v) => v,
        Err(e) => {
            notes.push(format!("{name}: {e}"));
            Value::Null
        }
    };
    let leaderboard = c
        .tool("top_partners", json!({"limit": MAX_PARTNERS}))
        .await?;
    let leaderboard = section("top_partners", leaderboard);
    let deals = c
        .pages(
            "deal_navigator",
            json!({"limit": 200}),
            "opportunities",
            MAX_DEALS,
        )
        .await?;
    let deals = section("deal_navigator", deals);
    let influence = if has_influence {
        let r = c.tool("partner_influence", json!({})).await?;
        section("partner_influence", r)
    } else {
        Value::Null
    };
    let partners = c
        .pages(
            "list_partners",
            json!({"status": "active", "limit": 200}),
            "partners",
            MAX_PARTNERS,
        )
        .await?;
    let partners = section("list_partners", partners);
    let mut overlaps = Vec::new();
    for p in partners
        .get("partners")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let Some(id) = p.get("id").and_then(Value::as_i64) else {
            continue;
        };
        let r = c
            .pages(
                "get_overlaps",
                json!({"partner": id.to_string(), "limit": 200}),
                "cells",
                MAX_CELLS,
            )
            .await?;
        let v = section("get_overlaps", r);
        if !v.is_null() {
            overlaps.push(v);
        }
    }
    drop(c);
    serving.abort();
    Ok(json!({
        "org": who.get("org").cloned().unwrap_or(Value::Null),
        "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "overlaps": overlaps,
        "leaderboard": leaderboard,
        "deals": deals,
        "influence": influence,
        "notes": notes,
    }))
}
