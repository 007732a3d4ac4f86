//! Fake HubSpot and Salesforce APIs on 127.0.0.1 for the connector tests and the bench: a
//! small HTTP/1.1 server (std sockets, keep-alive) answering with the shapes the vendors
//! document. Sources of the shapes:
//!
//! HubSpot (CRM v3):
//! - objects list, `results` + `paging.next.after`:
//!   https://developers.hubspot.com/docs/api-reference/crm-companies-v3/guide and the paging
//!   schema https://raw.githubusercontent.com/api-evangelist/hubspot/refs/heads/main/json-schema/crm-search-api-paging-schema.json
//! - search (`filterGroups`, `sorts`, `after`, `total`; 10,000-result window):
//!   https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
//! - pipelines and stage `metadata` (`isClosed`, `probability`):
//!   https://developers.hubspot.com/docs/api-reference/latest/crm/pipelines/guide.md
//! - associations batch read (`results[].from.id`, `to[].id`, `type`; 207 multi-status):
//!   https://developers.hubspot.com/docs/api-reference/crm-associations-v3/guide
//! - errors (`status`, `message`, `category`, `errors[].context.requiredGranularScopes`;
//!   429 `policyName` DAILY / TEN_SECONDLY_ROLLING):
//!   https://developers.hubspot.com/docs/api/usage-details and https://developers.hubspot.com/docs/api/error-handling
//!
//! Salesforce (REST API):
//! - query: `totalSize`, `done`, `nextRecordsUrl` (`/services/data/vXX.X/query/01gD0000002HU6KIAW-2000`),
//!   `records[].attributes {type, url}`:
//!   https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md and
//!   https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md
//! - errors: a list of `{message, errorCode}` (INVALID_SESSION_ID, REQUEST_LIMIT_EXCEEDED):
//!   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
//! - refresh-token flow: `POST /services/oauth2/token` → `access_token`, `instance_url`:
//!   https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An answer to inject instead of the real one.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Matches requests whose method + path-and-query contains this.
    pub matches: String,
    /// Matching requests let through before the fault fires.
    pub skip: usize,
    /// How many times it fires (usize::MAX: always).
    pub times: usize,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Fault {
    pub fn new(matches: &str, status: u16, body: &str) -> Fault {
        Fault {
            matches: matches.into(),
            skip: 0,
            times: usize::MAX,
            status,
            headers: vec![],
            body: body.into(),
        }
    }
    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self) -> HashMap<String, String> {
        let q = self.target.split_once('?').map(|x| x.1).unwrap_or("");
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }
    pub fn bearer(&self) -> Option<&str> {
        self.headers
            .get("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, v: &Value) -> Answer {
        Answer {
            status,
            headers: vec![],
            body: v.to_string(),
        }
    }
}

pub trait Api: Send + Sync + 'static {
    fn answer(&self, req: &Request) -> Answer;
}

/// A running server: its base URL, the requests it saw, and faults to inject.
pub struct Server {
    pub base: String,
    pub log: Arc<Mutex<Vec<String>>>,
    pub faults: Arc<Mutex<Vec<Fault>>>,
    pub requests: Arc<AtomicU64>,
}

impl Server {
    pub fn start(api: Arc<dyn Api>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicU64::new(0));
        let (l2, f2, r2) = (log.clone(), faults.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (api, log, faults, requests) =
                    (api.clone(), l2.clone(), f2.clone(), r2.clone());
                std::thread::spawn(move || serve(stream, api, log, faults, requests));
            }
        });
        Server {
            base,
            log,
            faults,
            requests,
        }
    }

    pub fn fault(&self, f: Fault) {
        self.faults.lock().unwrap().push(f);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        207 => "Multi-Status",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn serve(
    stream: TcpStream,
    api: Arc<dyn Api>,
    log: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    requests: Arc<AtomicU64>,
) {
    // One write per answer, and no Nagle delay: keep-alive clients wait for whole answers.
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Request {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        requests.fetch_add(1, Ordering::Relaxed);
        let key = format!("{} {}", req.method, req.target);
        log.lock().unwrap().push(key.clone());
        let injected = {
            let mut fs = faults.lock().unwrap();
            let mut hit = None;
            for f in fs.iter_mut() {
                if key.contains(&f.matches) {
                    if f.skip > 0 {
                        f.skip -= 1;
                        continue;
                    }
                    if f.times > 0 {
                        f.times = f.times.saturating_sub(1);
                        hit = Some(Answer {
                            status: f.status,
                            headers: f.headers.clone(),
                            body: f.body.clone(),
                        });
                        break;
                    }
                }
            }
            hit
        };
        let a = injected.unwrap_or_else(|| api.answer(&req));
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n",
            a.status,
            reason(a.status),
            a.body.len()
        );
        for (k, v) in &a.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&a.body);
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- HubSpot

pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Clone)]
pub struct HsObject {
    pub id: String,
    pub props: Map<String, Value>,
    pub modified: i64,
    /// Deals: the associated company ids (first is the primary).
    pub companies: Vec<String>,
}

/// (stage id, label, isClosed, probability)
pub type StageDef = (String, String, bool, f64);

#[derive(Default)]
pub struct HubspotData {
    pub companies: Vec<HsObject>,
    pub deals: Vec<HsObject>,
    pub pipelines: Vec<(String, Vec<StageDef>)>,
    pub owners: Vec<(String, String, String)>,
    pub token: String,
    pub page_cap: usize,
}

pub struct FakeHubspot {
    pub data: Mutex<HubspotData>,
}

fn hs_error(status: u16, category: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &json!({"status": "error", "message": message, "correlationId": "5d4c2b1a-0000-4000-8000-000000000000", "category": category}),
    )
}

fn hs_object(o: &HsObject, props: Option<&[String]>) -> Value {
    let mut p = Map::new();
    match props {
        Some(list) => {
            for k in list {
                p.insert(k.clone(), o.props.get(k).cloned().unwrap_or(Value::Null));
            }
        }
        None => p = o.props.clone(),
    }
    p.insert("hs_object_id".into(), json!(o.id));
    p.insert("hs_lastmodifieddate".into(), json!(iso(o.modified)));
    json!({
        "id": o.id,
        "properties": p,
        "createdAt": iso(o.modified - 86_400_000),
        "updatedAt": iso(o.modified),
        "archived": false,
    })
}

impl FakeHubspot {
    pub fn new(token: &str) -> Arc<FakeHubspot> {
        Arc::new(FakeHubspot {
            data: Mutex::new(HubspotData {
                token: token.into(),
                page_cap: 100,
                pipelines: vec![(
                    "default".into(),
                    vec![
                        (
                            "appointmentscheduled".into(),
                            "Appointment Scheduled".into(),
                            false,
                            0.2,
                        ),
                        ("contractsent".into(), "Contract Sent".into(), false, 0.9),
                        ("closedwon".into(), "Closed Won".into(), true, 1.0),
                        ("closedlost".into(), "Closed Lost".into(), true, 0.0),
                    ],
                )],
                ..Default::default()
            }),
        })
    }
}

impl Api for FakeHubspot {
    fn answer(&self, req: &Request) -> Answer {
        let d = self.data.lock().unwrap();
        if req.bearer() != Some(d.token.as_str()) {
            return hs_error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            );
        }
        let path = req.path().to_string();
        let q = req.query();
        match (req.method.as_str(), path.as_str()) {
            ("GET", "/crm/v3/pipelines/deals") => {
                let results: Vec<Value> = d
                    .pipelines
                    .iter()
                    .enumerate()
                    .map(|(i, (id, stages))| {
                        json!({
                            "id": id, "label": "Sales Pipeline", "displayOrder": i, "archived": false,
                            "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
                            "stages": stages.iter().enumerate().map(|(j, (sid, label, closed, p))| json!({
                                "id": sid, "label": label, "displayOrder": j, "archived": false,
                                "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
                                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                                "metadata": {"isClosed": closed.to_string(), "probability": format!("{p:.1}")},
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                Answer::json(200, &json!({"results": results}))
            }
            ("GET", "/crm/v3/owners") | ("GET", "/crm/v3/owners/") => {
                let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
                let start: usize = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
                let page: Vec<Value> = d
                    .owners
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|(id, first, last)| json!({"id": id, "email": format!("{}@example.com", first.to_lowercase()), "firstName": first, "lastName": last, "userId": 1, "archived": false}))
                    .collect();
                let mut v = json!({"results": page});
                if start + limit < d.owners.len() {
                    v["paging"] = json!({"next": {"after": (start + limit).to_string()}});
                }
                Answer::json(200, &v)
            }
            ("GET", "/crm/v3/objects/companies") | ("GET", "/crm/v3/objects/deals") => {
                let deals = path.ends_with("deals");
                let list = if deals { &d.deals } else { &d.companies };
                let limit: usize = q
                    .get("limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10)
                    .min(d.page_cap);
                // `after` is an opaque cursor: here the offset, base-10.
                let start: usize = match q.get("after") {
                    None => 0,
                    Some(a) => match a.parse() {
                        Ok(n) => n,
                        Err(_) => {
                            return hs_error(
                                400,
                                "VALIDATION_ERROR",
                                "Invalid input JSON on line 1: after",
                            );
                        }
                    },
                };
                let props: Option<Vec<String>> = q
                    .get("properties")
                    .map(|p| p.split(',').map(String::from).collect());
                let assoc = q.get("associations").is_some_and(|a| a.contains("compan"));
                let results: Vec<Value> = list
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|o| {
                        let mut v = hs_object(o, props.as_deref());
                        if assoc && !o.companies.is_empty() {
                            let mut r = Vec::new();
                            for (i, c) in o.companies.iter().enumerate() {
                                r.push(json!({"id": c, "type": if i == 0 { "deal_to_company" } else { "deal_to_company_unlabeled" }}));
                            }
                            v["associations"] = json!({"companies": {"results": r}});
                        }
                        v
                    })
                    .collect();
                let mut v = json!({"results": results});
                if start + limit < list.len() {
                    let after = (start + limit).to_string();
                    v["paging"] = json!({"next": {"after": after, "link": format!("{}?after={after}", path)}});
                }
                Answer::json(200, &v)
            }
            ("POST", "/crm/v3/objects/companies/search")
            | ("POST", "/crm/v3/objects/deals/search") => {
                let deals = path.contains("deals");
                let list = if deals { &d.deals } else { &d.companies };
                let body: Value = match serde_json::from_str(&req.body) {
                    Ok(v) => v,
                    Err(_) => return hs_error(400, "VALIDATION_ERROR", "Invalid input JSON"),
                };
                let f = &body["filterGroups"][0]["filters"][0];
                if f["propertyName"] != "hs_lastmodifieddate" || f["operator"] != "GTE" {
                    return hs_error(400, "VALIDATION_ERROR", "unsupported filter in this fake");
                }
                let since: i64 = f["value"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let limit = body["limit"].as_u64().unwrap_or(10).min(200) as usize;
                let after: usize = body["after"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if after + limit > 10_000 {
                    return hs_error(
                        400,
                        "VALIDATION_ERROR",
                        "There was a problem with the request.",
                    );
                }
                let props: Vec<String> = body["properties"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut hits: Vec<&HsObject> =
                    list.iter().filter(|o| o.modified >= since).collect();
                hits.sort_by_key(|o| o.modified);
                let results: Vec<Value> = hits
                    .iter()
                    .skip(after)
                    .take(limit)
                    .map(|o| hs_object(o, Some(&props)))
                    .collect();
                let mut v = json!({"total": hits.len(), "results": results});
                if after + limit < hits.len() {
                    v["paging"] = json!({"next": {"after": (after + limit).to_string()}});
                }
                Answer::json(200, &v)
            }
            ("POST", "/crm/v3/associations/deals/companies/batch/read") => {
                let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
                let by_id: HashMap<&str, &HsObject> =
                    d.deals.iter().map(|o| (o.id.as_str(), o)).collect();
                let mut results = Vec::new();
                let mut errors = Vec::new();
                for i in body["inputs"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    let id = i["id"].as_str().unwrap_or("");
                    match by_id.get(id).filter(|o| !o.companies.is_empty()) {
                        Some(o) => results.push(json!({
                            "from": {"id": id},
                            "to": o.companies.iter().enumerate().map(|(n, c)| json!({"id": c, "type": if n == 0 { "deal_to_company" } else { "deal_to_company_unlabeled" }})).collect::<Vec<_>>(),
                        })),
                        None => errors.push(json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": format!("No company is associated with deal {id}."), "context": {"fromObjectId": [id]}})),
                    }
                }
                let status = if errors.is_empty() { 200 } else { 207 };
                let mut v = json!({"status": "COMPLETE", "results": results, "startedAt": "2026-01-01T00:00:00.000Z", "completedAt": "2026-01-01T00:00:00.100Z"});
                if !errors.is_empty() {
                    v["numErrors"] = json!(errors.len());
                    v["errors"] = json!(errors);
                }
                Answer::json(status, &v)
            }
            _ => hs_error(404, "OBJECT_NOT_FOUND", "resource not found"),
        }
    }
}

/// HubSpot's answer when a private app lacks a scope.
pub fn hubspot_missing_scope(scope: &str) -> String {
    json!({
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": "0b2a1c3d-0000-4000-8000-000000000000",
        "errors": [{"message": "One or more of the following scopes are required.", "context": {"requiredGranularScopes": [scope]}}],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES"
    })
    .to_string()
}

// ---------------------------------------------------------------- Salesforce

#[derive(Default)]
pub struct SalesforceData {
    /// Account records (field name → value), each with `SystemModstamp`.
    pub accounts: Vec<Map<String, Value>>,
    pub opportunities: Vec<Map<String, Value>>,
    pub multi_currency: bool,
    pub default_currency: String,
    /// Access tokens accepted.
    pub tokens: Vec<String>,
    /// (refresh token, client id, client secret) accepted by the token endpoint.
    pub refresh: Option<(String, String, String)>,
    pub issued: u64,
    pub batch: usize,
    locators: HashMap<String, (String, Option<String>, usize)>,
    next_locator: u64,
}

pub struct FakeSalesforce {
    pub data: Mutex<SalesforceData>,
}

fn sf_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::json(status, &json!([{"message": message, "errorCode": code}]))
}

pub fn sf_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

fn sf_instant(s: &str) -> i64 {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .map(|d| d.timestamp_millis())
        .unwrap_or(0)
}

impl FakeSalesforce {
    pub fn new(token: &str) -> Arc<FakeSalesforce> {
        Arc::new(FakeSalesforce {
            data: Mutex::new(SalesforceData {
                tokens: vec![token.into()],
                batch: 2000,
                default_currency: "USD".into(),
                ..Default::default()
            }),
        })
    }
}

const V: &str = "/services/data/v62.0";

impl SalesforceData {
    fn page(&mut self, object: &str, since: Option<String>, offset: usize) -> Value {
        let list: Vec<&Map<String, Value>> = match object {
            "Account" => self.accounts.iter().collect(),
            _ => self.opportunities.iter().collect(),
        };
        let since_ms = since.as_deref().map(sf_instant);
        let hits: Vec<&Map<String, Value>> = list
            .into_iter()
            .filter(|r| {
                since_ms.is_none_or(|s| sf_instant(r["SystemModstamp"].as_str().unwrap_or("")) >= s)
            })
            .collect();
        let records: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(self.batch)
            .map(|r| {
                let mut r = (*r).clone();
                let id = r["Id"].as_str().unwrap_or("").to_string();
                let mut full = Map::new();
                full.insert(
                    "attributes".into(),
                    json!({"type": object, "url": format!("{V}/sobjects/{object}/{id}")}),
                );
                full.append(&mut r);
                Value::Object(full)
            })
            .collect();
        let mut v = json!({"totalSize": hits.len(), "done": offset + self.batch >= hits.len(), "records": records});
        if offset + self.batch < hits.len() {
            self.next_locator += 1;
            let loc = format!("01gD0000002HU{:04}IAW", self.next_locator);
            let next = offset + self.batch;
            self.locators
                .insert(format!("{loc}-{next}"), (object.to_string(), since, next));
            v["nextRecordsUrl"] = json!(format!("{V}/query/{loc}-{next}"));
        }
        v
    }
}

impl Api for FakeSalesforce {
    fn answer(&self, req: &Request) -> Answer {
        let mut d = self.data.lock().unwrap();
        let path = req.path().to_string();
        if req.method == "POST" && path == "/services/oauth2/token" {
            let form: HashMap<String, String> = url::form_urlencoded::parse(req.body.as_bytes())
                .into_owned()
                .collect();
            let ok = d.refresh.as_ref().is_some_and(|(r, id, secret)| {
                form.get("grant_type").map(String::as_str) == Some("refresh_token")
                    && form.get("refresh_token") == Some(r)
                    && form.get("client_id") == Some(id)
                    && form.get("client_secret") == Some(secret)
            });
            if !ok {
                return Answer::json(
                    400,
                    &json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}),
                );
            }
            d.issued += 1;
            let token = format!("00Dfake!refreshed.{}", d.issued);
            d.tokens.push(token.clone());
            return Answer::json(
                200,
                &json!({
                    "access_token": token, "signature": "c2lnbmF0dXJl", "scope": "refresh_token api",
                    "instance_url": "https://example.my.salesforce.com", "id": "https://login.salesforce.com/id/00Dx/005x",
                    "token_type": "Bearer", "issued_at": "1700000000000"
                }),
            );
        }
        if !req
            .bearer()
            .is_some_and(|t| d.tokens.iter().any(|k| k == t))
        {
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid");
        }
        if path == format!("{V}/sobjects/Opportunity/describe") {
            let mut fields = vec![
                json!({"name": "Id", "type": "id"}),
                json!({"name": "AccountId", "type": "reference"}),
                json!({"name": "Amount", "type": "currency"}),
            ];
            if d.multi_currency {
                fields.push(json!({"name": "CurrencyIsoCode", "type": "picklist"}));
            }
            return Answer::json(
                200,
                &json!({"name": "Opportunity", "queryable": true, "fields": fields}),
            );
        }
        if path == format!("{V}/query") {
            let q = req.query().get("q").cloned().unwrap_or_default();
            let object = q
                .split(" FROM ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            if object == "Organization" {
                let cur = d.default_currency.clone();
                return Answer::json(
                    200,
                    &json!({"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Organization", "url": format!("{V}/sobjects/Organization/00Dx")}, "DefaultCurrencyIsoCode": cur}]}),
                );
            }
            if object != "Account" && object != "Opportunity" {
                return sf_error(
                    400,
                    "INVALID_TYPE",
                    &format!("sObject type '{object}' is not supported."),
                );
            }
            if !d.multi_currency && q.contains("CurrencyIsoCode") {
                return sf_error(
                    400,
                    "INVALID_FIELD",
                    "No such column 'CurrencyIsoCode' on entity 'Opportunity'.",
                );
            }
            let since = q
                .split("SystemModstamp >= ")
                .nth(1)
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string());
            return Answer::json(200, &d.page(&object, since, 0));
        }
        if let Some(loc) = path.strip_prefix(&format!("{V}/query/")) {
            let Some((object, since, offset)) = d.locators.get(loc).cloned() else {
                return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
            };
            return Answer::json(200, &d.page(&object, since, offset));
        }
        sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    }
}
