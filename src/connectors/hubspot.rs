//! HubSpot CRM v3: companies and deals (with their company associations) and the deal
//! pipelines' stage metadata, with a private-app access token.
//!
//! - Full sync: `GET /crm/v3/objects/companies` and `GET /crm/v3/objects/deals?associations=companies`,
//!   100 a page, cursor paging with `paging.next.after`.
//! - Incremental: `POST /crm/v3/objects/{companies,deals}/search` filtered on
//!   `hs_lastmodifieddate GTE` the last sync's high-water mark, sorted on it (200 a page; the
//!   search stops at 10,000 results, so the filter moves forward past them), and for deals one
//!   `POST /crm/v3/associations/deals/companies/batch/read` per page.
//! - Stage metadata: `GET /crm/v3/pipelines/deals` (`metadata.isClosed`, `metadata.probability`
//!   "1.0" on the won stage); owners: `GET /crm/v3/owners`.

use super::http::{Answer, Http, Method};
use super::{Page, Phase, Vendor, cell, malformed, opt};
use crate::engine::{SyncedAccount, SyncedDeal};
use crate::error::{Error, Result, forbidden};
use crate::ingest::crm::parse_date;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

pub const DEFAULT_API: &str = "https://api.hubapi.com";
const LIST_LIMIT: usize = 100;
const SEARCH_LIMIT: usize = 200;
/// The search endpoints return at most this many results per query.
const SEARCH_CAP: usize = 10_000;

const COMPANY_PROPS: &[&str] = &[
    "name",
    "domain",
    "website",
    "lifecyclestage",
    "hubspot_owner_id",
    "industry",
    "country",
    "numberofemployees",
    "hs_lastmodifieddate",
];
const DEAL_PROPS: &[&str] = &[
    "dealname",
    "pipeline",
    "dealstage",
    "amount",
    "deal_currency_code",
    "createdate",
    "closedate",
    "hs_is_closed",
    "hs_is_closed_won",
    "hs_lastmodifieddate",
];

#[derive(Debug, Clone)]
struct Stage {
    label: String,
    closed: bool,
    won: bool,
}

pub struct Hubspot {
    base: String,
    token: String,
    token_env: String,
    /// partnermap field → HubSpot company property.
    field_map: BTreeMap<String, String>,
    /// (pipeline id, stage id) → stage; also (“”, stage id) for a stage id unique across pipelines.
    stages: HashMap<(String, String), Stage>,
    owners: HashMap<String, String>,
}

/// HubSpot's lifecycle stages, as an export's `type` column says them.
pub fn lifecycle_type(stage: &str) -> String {
    match stage.trim().to_ascii_lowercase().as_str() {
        "" => String::new(),
        "subscriber" | "lead" | "marketingqualifiedlead" | "salesqualifiedlead" | "opportunity" => {
            "Prospect".into()
        }
        "customer" => "Customer".into(),
        "evangelist" => "Evangelist".into(),
        "other" => "Other".into(),
        _ => stage.trim().to_string(), // a custom lifecycle stage: kept as HubSpot says it
    }
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// HubSpot's datetimes (ISO 8601, or milliseconds since the epoch) as a date.
fn date(v: Option<&Value>) -> Option<chrono::NaiveDate> {
    let s = cell(v);
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.date_naive());
    }
    parse_date(&s).ok().flatten()
}

/// An ISO datetime (HubSpot's `hs_lastmodifieddate`) as milliseconds since the epoch.
fn millis(s: &str) -> Option<i64> {
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

impl Hubspot {
    pub fn new(
        base: Option<String>,
        token: String,
        token_env: String,
        field_map: BTreeMap<String, String>,
    ) -> Hubspot {
        Hubspot {
            base: base
                .unwrap_or_else(|| DEFAULT_API.to_string())
                .trim_end_matches('/')
                .to_string(),
            token,
            token_env,
            field_map,
            stages: HashMap::new(),
            owners: HashMap::new(),
        }
    }

    fn explain(&self, url: &str, a: &Answer, what: &str) -> Error {
        let body: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
        let message = body["message"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        match a.status {
            401 => forbidden(format!(
                "HubSpot refused the access token in {} (401: it is wrong, expired or revoked). Copy the private app's access token again (Settings → Integrations → Private apps), set {}, then sync again. Nothing was changed.",
                self.token_env, self.token_env
            )),
            403 => {
                let mut scopes: Vec<String> = Vec::new();
                if let Some(errs) = body["errors"].as_array() {
                    for e in errs {
                        for key in ["requiredGranularScopes", "requiredScopes"] {
                            if let Some(list) = e["context"][key].as_array() {
                                scopes.extend(
                                    list.iter().filter_map(|s| s.as_str().map(String::from)),
                                );
                            }
                        }
                    }
                }
                scopes.sort();
                scopes.dedup();
                let need = if scopes.is_empty() {
                    "the scopes listed in the README (crm.objects.companies.read, crm.objects.deals.read, crm.objects.owners.read)".to_string()
                } else {
                    scopes.join(", ")
                };
                forbidden(format!(
                    "HubSpot's token in {} may not {what} (403{}): the private app lacks {need}. Add the scope to the private app, then sync again. Nothing was changed.",
                    self.token_env,
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                ))
            }
            429 => Error::Io(if is_daily(a) {
                "HubSpot's daily API limit for this account is used up (429, policy DAILY). Nothing was changed; sync again after midnight in the account's time zone (it resumes where it stopped).".to_string()
            } else {
                format!(
                    "HubSpot kept answering 429 (too many requests) to {}. Nothing was changed; sync again in a minute (it resumes where it stopped).",
                    super::http::path_of(url)
                )
            }),
            s => Error::Io(format!(
                "HubSpot answered {s} to {}{}. Nothing was changed; sync again later (it resumes where it stopped).",
                super::http::path_of(url),
                if message.is_empty() {
                    String::new()
                } else {
                    format!(" ({message})")
                }
            )),
        }
    }

    fn call(
        &self,
        http: &mut Http,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value> {
        let a = http.send(method, url, Some(&self.token), None, body, &is_daily)?;
        // 207: a batch read where some inputs had nothing (deals without a company).
        if !a.ok() {
            return Err(self.explain(url, &a, what));
        }
        let v: Value = serde_json::from_str(&a.body).map_err(|e| malformed("HubSpot", url, &e))?;
        if !v.is_object() {
            return Err(malformed("HubSpot", url, &"not a JSON object"));
        }
        Ok(v)
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut u = format!("{}{path}", self.base);
        if !query.is_empty() {
            u.push('?');
            u.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish(),
            );
        }
        u
    }

    fn company_props(&self) -> Vec<String> {
        let mut p: Vec<String> = COMPANY_PROPS.iter().map(|s| s.to_string()).collect();
        for prop in self.field_map.values() {
            if !p.contains(prop) {
                p.push(prop.clone());
            }
        }
        p
    }

    fn company(&self, o: &Value) -> Result<SyncedAccount> {
        let id = cell(o.get("id"));
        let p = &o["properties"];
        let text = |k: &str| cell(p.get(k));
        let mut website = text("domain");
        if website.is_empty() {
            website = text("website");
        }
        let owner_id = text("hubspot_owner_id");
        let owner = self.owners.get(&owner_id).cloned().unwrap_or(owner_id);
        let mut fields = Map::new();
        let mapped = |f: &str| self.field_map.get(f).map(|prop| text(prop));
        fields.insert(
            "type".into(),
            Value::String(
                mapped("type").unwrap_or_else(|| lifecycle_type(&text("lifecyclestage"))),
            ),
        );
        fields.insert(
            "owner".into(),
            Value::String(mapped("owner").unwrap_or(owner)),
        );
        fields.insert(
            "industry".into(),
            Value::String(mapped("industry").unwrap_or_else(|| text("industry"))),
        );
        fields.insert(
            "country".into(),
            Value::String(mapped("country").unwrap_or_else(|| text("country"))),
        );
        fields.insert(
            "employees".into(),
            Value::String(mapped("employees").unwrap_or_else(|| text("numberofemployees"))),
        );
        for (field, prop) in &self.field_map {
            fields.insert(field.clone(), Value::String(text(prop)));
        }
        Ok(SyncedAccount {
            id,
            name: text("name"),
            website,
            fields,
        })
    }

    fn deal(&self, o: &Value, company: Option<String>) -> SyncedDeal {
        let p = &o["properties"];
        let text = |k: &str| cell(p.get(k));
        let pipeline = text("pipeline");
        let stage_id = text("dealstage");
        let stage = self
            .stages
            .get(&(pipeline.clone(), stage_id.clone()))
            .or_else(|| self.stages.get(&(String::new(), stage_id.clone())));
        let (label, closed, won) = match stage {
            Some(s) => (s.label.clone(), Some(s.closed), Some(s.won)),
            None => (
                stage_id.clone(),
                truthy(p.get("hs_is_closed")),
                truthy(p.get("hs_is_closed_won")),
            ),
        };
        SyncedDeal {
            id: cell(o.get("id")),
            account_id: company,
            name: opt(text("dealname")),
            stage: opt(label),
            amount: opt(text("amount")),
            currency: opt(text("deal_currency_code")),
            open_date: date(p.get("createdate")),
            close_date: date(p.get("closedate")),
            is_won: won,
            is_closed: closed,
        }
    }

    /// The company a deal belongs to: the primary association, else the first.
    fn primary(list: &[Value]) -> Option<String> {
        let id = |v: &Value| {
            let s = cell(v.get("id").or_else(|| v.get("toObjectId")));
            opt(s)
        };
        list.iter()
            .find(|a| {
                a["type"].as_str() == Some("deal_to_company")
                    || a["associationTypes"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t["label"].as_str() == Some("Primary")))
            })
            .and_then(id)
            .or_else(|| list.iter().find_map(id))
    }

    fn max_modified(results: &[Value]) -> Option<String> {
        results
            .iter()
            .filter_map(|r| {
                let s = cell(r["properties"].get("hs_lastmodifieddate"));
                let s = if s.is_empty() {
                    cell(r.get("updatedAt"))
                } else {
                    s
                };
                millis(&s).map(|m| (m, s))
            })
            .max_by_key(|(m, _)| *m)
            .map(|(_, s)| s)
    }
}

/// HubSpot's "daily limit reached" 429 (policyName DAILY).
fn is_daily(a: &Answer) -> bool {
    a.status == 429
        && serde_json::from_str::<Value>(&a.body)
            .map(|v| v["policyName"].as_str() == Some("DAILY"))
            .unwrap_or(false)
}

/// The cursor of an incremental search: the filter's lower bound (ms) and the `after` offset.
fn search_cursor(s: &str) -> Option<(i64, usize)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl Vendor for Hubspot {
    fn prepare(&mut self, http: &mut Http) -> Result<()> {
        let url = self.url("/crm/v3/pipelines/deals", &[]);
        let v = self.call(http, Method::Get, &url, None, "read deal pipelines")?;
        let mut by_stage: HashMap<String, Vec<Stage>> = HashMap::new();
        for p in v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let pid = cell(p.get("id"));
            for s in p["stages"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let m = &s["metadata"];
                let closed = truthy(m.get("isClosed")).unwrap_or(false);
                let won = match truthy(m.get("isWon")) {
                    Some(w) => w,
                    None => closed && cell(m.get("probability")).parse::<f64>().ok() == Some(1.0),
                };
                let stage = Stage {
                    label: cell(s.get("label")),
                    closed,
                    won,
                };
                let sid = cell(s.get("id"));
                by_stage.entry(sid.clone()).or_default().push(stage.clone());
                self.stages.insert((pid.clone(), sid), stage);
            }
        }
        for (sid, list) in by_stage {
            if list.len() == 1 {
                self.stages.insert((String::new(), sid), list[0].clone());
            }
        }
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![("limit", "100".to_string())];
            if let Some(a) = &after {
                q.push(("after", a.clone()));
            }
            let url = self.url("/crm/v3/owners", &q);
            let v = self.call(http, Method::Get, &url, None, "read owners")?;
            for o in v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let name = format!("{} {}", cell(o.get("firstName")), cell(o.get("lastName")))
                    .trim()
                    .to_string();
                let name = if name.is_empty() {
                    cell(o.get("email"))
                } else {
                    name
                };
                self.owners.insert(cell(o.get("id")), name);
            }
            after = v["paging"]["next"]["after"].as_str().map(String::from);
            if after.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn page(
        &mut self,
        http: &mut Http,
        phase: Phase,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<Page> {
        let object = match phase {
            Phase::Accounts => "companies",
            Phase::Deals => "deals",
        };
        let what = match phase {
            Phase::Accounts => "read companies",
            Phase::Deals => "read deals",
        };
        let props = match phase {
            Phase::Accounts => self.company_props(),
            Phase::Deals => DEAL_PROPS.iter().map(|s| s.to_string()).collect(),
        };
        let mut page = Page::default();
        let results: Vec<Value>;
        let mut companies: HashMap<String, Option<String>> = HashMap::new();
        match since.and_then(millis) {
            None => {
                let mut q = vec![
                    ("limit", LIST_LIMIT.to_string()),
                    ("properties", props.join(",")),
                    ("archived", "false".to_string()),
                ];
                if phase == Phase::Deals {
                    q.push(("associations", "companies".into()));
                }
                if let Some(c) = cursor {
                    q.push(("after", c.to_string()));
                }
                let url = self.url(&format!("/crm/v3/objects/{object}"), &q);
                let v = self.call(http, Method::Get, &url, None, what)?;
                results = v["results"]
                    .as_array()
                    .cloned()
                    .ok_or_else(|| malformed("HubSpot", &url, &"no results list"))?;
                page.next = v["paging"]["next"]["after"].as_str().map(String::from);
                if phase == Phase::Deals {
                    for r in &results {
                        let list = r["associations"]["companies"]["results"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or(&[]);
                        companies.insert(cell(r.get("id")), Self::primary(list));
                    }
                }
            }
            Some(since_ms) => {
                let (lower, after) = cursor.and_then(search_cursor).unwrap_or((since_ms, 0));
                let body = json!({
                    "filterGroups": [{"filters": [{
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "GTE",
                        "value": lower.to_string(),
                    }]}],
                    "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": props,
                    "limit": SEARCH_LIMIT,
                    "after": after.to_string(),
                });
                let url = self.url(&format!("/crm/v3/objects/{object}/search"), &[]);
                let v = self.call(http, Method::Post, &url, Some(&body), what)?;
                results = v["results"]
                    .as_array()
                    .cloned()
                    .ok_or_else(|| malformed("HubSpot", &url, &"no results list"))?;
                page.total = v["total"].as_u64();
                if let Some(next) = v["paging"]["next"]["after"].as_str() {
                    let next: usize = next.parse().map_err(|_| {
                        malformed("HubSpot", &url, &"a search cursor that is not a number")
                    })?;
                    if next + SEARCH_LIMIT > SEARCH_CAP {
                        // Past the search's 10,000-result window: start a new search from the
                        // latest modification seen (sorted ascending, so nothing is skipped).
                        let m = Self::max_modified(&results)
                            .and_then(|s| millis(&s))
                            .unwrap_or(lower);
                        page.next = Some(if m > lower {
                            format!("{m}:0")
                        } else {
                            format!("{lower}:{next}")
                        });
                    } else {
                        page.next = Some(format!("{lower}:{next}"));
                    }
                }
                if phase == Phase::Deals && !results.is_empty() {
                    let inputs: Vec<Value> = results
                        .iter()
                        .map(|r| json!({"id": cell(r.get("id"))}))
                        .collect();
                    let url = self.url("/crm/v3/associations/deals/companies/batch/read", &[]);
                    let v = self.call(
                        http,
                        Method::Post,
                        &url,
                        Some(&json!({"inputs": inputs})),
                        "read deal–company associations",
                    )?;
                    for r in v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                        let to = r["to"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                        companies.insert(cell(r["from"].get("id")), Self::primary(to));
                    }
                }
            }
        }
        page.max_modified = Self::max_modified(&results);
        for r in &results {
            match phase {
                Phase::Accounts => page.accounts.push(self.company(r)?),
                Phase::Deals => {
                    let id = cell(r.get("id"));
                    let company = companies.get(&id).cloned().flatten();
                    page.deals.push(self.deal(r, company));
                }
            }
        }
        Ok(page)
    }

    fn later(&self, a: &str, b: &str) -> bool {
        millis(a) > millis(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_dates() {
        assert_eq!(lifecycle_type("customer"), "Customer");
        assert_eq!(lifecycle_type("salesqualifiedlead"), "Prospect");
        assert_eq!(lifecycle_type("1234567"), "1234567");
        assert_eq!(
            date(Some(&json!("2024-03-05T10:00:00.000Z"))),
            chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
        );
        assert_eq!(
            date(Some(&json!("1709632800000"))),
            chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
        );
        assert_eq!(millis("2024-03-05T10:00:00Z"), Some(1709632800000));
        assert_eq!(search_cursor("17:200"), Some((17, 200)));
    }
}
