//! Salesforce: `Account` and `Opportunity` through the REST query API (SOQL), paged with
//! `nextRecordsUrl`, with an OAuth access token or a connected app's refresh-token flow.
//!
//! Multi-currency is detected from the Opportunity describe (`CurrencyIsoCode` present); a
//! single-currency org's deals take the org's `DefaultCurrencyIsoCode`.

use super::http::{Answer, Http, Method};
use super::{Page, Phase, Vendor, cell, malformed, opt};
use crate::engine::{SyncedAccount, SyncedDeal};
use crate::error::{Error, Result, forbidden};
use crate::ingest::crm::parse_date;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "v62.0";

/// A connected app's refresh-token credentials.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
}

pub struct Salesforce {
    instance: String,
    token: Option<String>,
    token_env: String,
    refresh: Option<Refresh>,
    field_map: BTreeMap<String, String>,
    multi_currency: bool,
    default_currency: Option<String>,
}

/// Salesforce's datetimes (`2024-01-15T10:00:00.000+0000`) as a comparable UTC instant.
fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

fn error_code(a: &Answer) -> (String, String) {
    let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
    let first = if v.is_array() { &v[0] } else { &v };
    (
        first["errorCode"]
            .as_str()
            .or_else(|| first["error"].as_str())
            .unwrap_or("")
            .to_string(),
        first["message"]
            .as_str()
            .or_else(|| first["error_description"].as_str())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect(),
    )
}

/// Salesforce's "daily API request limit exceeded" (403 REQUEST_LIMIT_EXCEEDED).
fn is_daily(a: &Answer) -> bool {
    matches!(a.status, 403 | 429) && error_code(a).0 == "REQUEST_LIMIT_EXCEEDED"
}

impl Salesforce {
    pub fn new(
        instance: &str,
        token: Option<String>,
        token_env: String,
        refresh: Option<Refresh>,
        field_map: BTreeMap<String, String>,
    ) -> Salesforce {
        Salesforce {
            instance: instance.trim_end_matches('/').to_string(),
            token,
            token_env,
            refresh,
            field_map,
            multi_currency: false,
            default_currency: None,
        }
    }

    fn refresh_token(&mut self, http: &mut Http) -> Result<()> {
        let Some(r) = self.refresh.clone() else {
            return Err(forbidden(format!(
                "Salesforce has no access token: set {} (an OAuth access token), or PARTNERMAP_SALESFORCE_REFRESH_TOKEN, PARTNERMAP_SALESFORCE_CLIENT_ID and PARTNERMAP_SALESFORCE_CLIENT_SECRET of a connected app with the scopes 'api refresh_token'.",
                self.token_env
            )));
        };
        let url = format!("{}/services/oauth2/token", self.instance);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", r.refresh_token.as_str()),
            ("client_id", r.client_id.as_str()),
            ("client_secret", r.client_secret.as_str()),
        ];
        let a = http.send(Method::Post, &url, None, Some(&form), None, &is_daily)?;
        if !a.ok() {
            let (code, msg) = error_code(&a);
            return Err(forbidden(format!(
                "Salesforce refused the refresh token in PARTNERMAP_SALESFORCE_REFRESH_TOKEN ({} {code}{}): it is revoked or expired, or PARTNERMAP_SALESFORCE_CLIENT_ID / PARTNERMAP_SALESFORCE_CLIENT_SECRET do not belong to the connected app that issued it. Authorize the connected app again (scopes 'api refresh_token'), then sync. Nothing was changed.",
                a.status,
                if msg.is_empty() {
                    String::new()
                } else {
                    format!(": {msg}")
                }
            )));
        }
        let v: Value =
            serde_json::from_str(&a.body).map_err(|e| malformed("Salesforce", &url, &e))?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| malformed("Salesforce", &url, &"no access_token"))?;
        self.token = Some(token.to_string());
        Ok(())
    }

    fn explain(&self, url: &str, a: &Answer, what: &str) -> Error {
        let (code, msg) = error_code(a);
        let detail = if msg.is_empty() {
            code.clone()
        } else {
            format!("{code}: {msg}")
        };
        match (a.status, code.as_str()) {
            (401, _) => forbidden(format!(
                "Salesforce refused the access token in {} (401 {detail}): it expired or was revoked. Set a fresh token, or set PARTNERMAP_SALESFORCE_REFRESH_TOKEN, PARTNERMAP_SALESFORCE_CLIENT_ID and PARTNERMAP_SALESFORCE_CLIENT_SECRET so partnermap can refresh it. Nothing was changed.",
                self.token_env
            )),
            (_, "REQUEST_LIMIT_EXCEEDED") => Error::Io(format!(
                "Salesforce's daily API request limit for this org is used up ({detail}). Nothing was changed; sync again when the 24-hour window frees requests (it resumes where it stopped)."
            )),
            (403, "API_DISABLED_FOR_ORG" | "API_CURRENTLY_DISABLED") => forbidden(format!(
                "Salesforce does not let the token's user use the API (403 {detail}): give the user the 'API Enabled' permission (its profile or a permission set), then sync again. Nothing was changed."
            )),
            (403, _) => forbidden(format!(
                "Salesforce's token in {} may not {what} (403 {detail}): the user needs 'API Enabled' and read access to Account and Opportunity, and the connected app the OAuth scope 'api'. Nothing was changed.",
                self.token_env
            )),
            (400, "INVALID_FIELD" | "INVALID_TYPE") => Error::Invalid(format!(
                "Salesforce rejected the query to {what} ({detail}): the token's user cannot read a field (field-level security), or a mapped custom field name is wrong. Fix the mapping with 'connect salesforce --map FIELD=ApiName' or grant read access. Nothing was changed."
            )),
            (s, _) => Error::Io(format!(
                "Salesforce answered {s} to {}{}. Nothing was changed; sync again later (it resumes where it stopped).",
                super::http::path_of(url),
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            )),
        }
    }

    /// A GET with the access token, refreshing it once on 401 when the refresh flow is set up.
    fn get(&mut self, http: &mut Http, url: &str, what: &str) -> Result<Value> {
        if self.token.is_none() {
            self.refresh_token(http)?;
        }
        let mut refreshed = false;
        loop {
            let a = http.send(
                Method::Get,
                url,
                self.token.as_deref(),
                None,
                None,
                &is_daily,
            )?;
            if a.status == 401 && self.refresh.is_some() && !refreshed {
                self.refresh_token(http)?;
                refreshed = true;
                continue;
            }
            if !a.ok() {
                return Err(self.explain(url, &a, what));
            }
            let v: Value =
                serde_json::from_str(&a.body).map_err(|e| malformed("Salesforce", url, &e))?;
            return Ok(v);
        }
    }

    fn query_url(&self, soql: &str) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", soql)
            .finish();
        format!("{}/services/data/{API_VERSION}/query?{q}", self.instance)
    }

    fn soql(&self, phase: Phase, since: Option<&str>) -> String {
        let mut cols: Vec<String> = match phase {
            Phase::Accounts => [
                "Id",
                "Name",
                "Website",
                "Type",
                "Owner.Name",
                "Industry",
                "BillingCountry",
                "NumberOfEmployees",
                "SystemModstamp",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            Phase::Deals => {
                let mut c: Vec<String> = [
                    "Id",
                    "AccountId",
                    "Name",
                    "StageName",
                    "Amount",
                    "CreatedDate",
                    "CloseDate",
                    "IsWon",
                    "IsClosed",
                    "SystemModstamp",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                if self.multi_currency {
                    c.insert(5, "CurrencyIsoCode".into());
                }
                c
            }
        };
        if phase == Phase::Accounts {
            for f in self.field_map.values() {
                if !cols.iter().any(|c| c.eq_ignore_ascii_case(f)) {
                    cols.push(f.clone());
                }
            }
        }
        let object = match phase {
            Phase::Accounts => "Account",
            Phase::Deals => "Opportunity",
        };
        let mut q = format!("SELECT {} FROM {object}", cols.join(", "));
        if let Some(t) = since.and_then(instant) {
            q.push_str(&format!(
                " WHERE SystemModstamp >= {}",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        q
    }

    /// A record's field by API name, following one relationship (`Owner.Name`).
    fn field<'a>(r: &'a Value, name: &str) -> Option<&'a Value> {
        let mut v = r;
        for part in name.split('.') {
            let obj = v.as_object()?;
            v = obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)?;
        }
        Some(v)
    }

    fn account(&self, r: &Value) -> SyncedAccount {
        let text = |k: &str| cell(Self::field(r, k));
        let mut fields = Map::new();
        for (field, api) in [
            ("type", "Type"),
            ("owner", "Owner.Name"),
            ("industry", "Industry"),
            ("country", "BillingCountry"),
            ("employees", "NumberOfEmployees"),
        ] {
            let api = self.field_map.get(field).map(String::as_str).unwrap_or(api);
            fields.insert(field.into(), Value::String(text(api)));
        }
        for (field, api) in &self.field_map {
            fields.insert(field.clone(), Value::String(text(api)));
        }
        SyncedAccount {
            id: text("Id"),
            name: text("Name"),
            website: text("Website"),
            fields,
        }
    }

    fn deal(&self, r: &Value) -> SyncedDeal {
        let text = |k: &str| cell(Self::field(r, k));
        let flag = |k: &str| Self::field(r, k).and_then(Value::as_bool);
        SyncedDeal {
            id: text("Id"),
            account_id: opt(text("AccountId")),
            name: opt(text("Name")),
            stage: opt(text("StageName")),
            amount: opt(text("Amount")),
            currency: if self.multi_currency {
                opt(text("CurrencyIsoCode"))
            } else {
                self.default_currency.clone()
            },
            open_date: parse_date(&text("CreatedDate")).ok().flatten(),
            close_date: parse_date(&text("CloseDate")).ok().flatten(),
            is_won: flag("IsWon"),
            is_closed: flag("IsClosed"),
        }
    }
}

impl Vendor for Salesforce {
    fn prepare(&mut self, http: &mut Http) -> Result<()> {
        let url = format!(
            "{}/services/data/{API_VERSION}/sobjects/Opportunity/describe",
            self.instance
        );
        let v = self.get(http, &url, "describe Opportunity")?;
        let fields = v["fields"]
            .as_array()
            .ok_or_else(|| malformed("Salesforce", &url, &"no fields list"))?;
        self.multi_currency = fields
            .iter()
            .any(|f| f["name"].as_str() == Some("CurrencyIsoCode"));
        if !self.multi_currency {
            let url = self.query_url("SELECT DefaultCurrencyIsoCode FROM Organization");
            let v = self.get(http, &url, "read the org's currency")?;
            self.default_currency = opt(cell(v["records"][0].get("DefaultCurrencyIsoCode")));
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
        let url = match cursor {
            Some(next) if next.starts_with('/') => format!("{}{next}", self.instance),
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "the saved Salesforce cursor '{other}' is not a nextRecordsUrl; run 'crm sync --full'."
                )));
            }
            None => self.query_url(&self.soql(phase, since)),
        };
        let what = match phase {
            Phase::Accounts => "read Account",
            Phase::Deals => "read Opportunity",
        };
        let v = self.get(http, &url, what)?;
        let records = v["records"]
            .as_array()
            .ok_or_else(|| malformed("Salesforce", &url, &"no records list"))?;
        let mut page = Page {
            total: v["totalSize"].as_u64(),
            next: if v["done"].as_bool() == Some(false) {
                Some(
                    v["nextRecordsUrl"]
                        .as_str()
                        .ok_or_else(|| {
                            malformed("Salesforce", &url, &"done is false without nextRecordsUrl")
                        })?
                        .to_string(),
                )
            } else {
                None
            },
            ..Page::default()
        };
        for r in records {
            let m = cell(Self::field(r, "SystemModstamp"));
            if !m.is_empty()
                && page
                    .max_modified
                    .as_deref()
                    .is_none_or(|cur| self.later(&m, cur))
            {
                page.max_modified = Some(m);
            }
            match phase {
                Phase::Accounts => page.accounts.push(self.account(r)),
                Phase::Deals => page.deals.push(self.deal(r)),
            }
        }
        Ok(page)
    }

    fn later(&self, a: &str, b: &str) -> bool {
        instant(a) > instant(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soql_and_instants() {
        let s = Salesforce::new(
            "https://x.my.salesforce.com/",
            Some("t".into()),
            "T".into(),
            None,
            BTreeMap::new(),
        );
        let q = s.soql(Phase::Accounts, Some("2026-01-02T03:04:05.000+0000"));
        assert!(q.starts_with("SELECT Id, Name, Website, Type, Owner.Name"));
        assert!(
            q.ends_with("FROM Account WHERE SystemModstamp >= 2026-01-02T03:04:05Z"),
            "{q}"
        );
        assert!(s.later(
            "2026-01-02T03:04:06.000+0000",
            "2026-01-02T03:04:05.000+0000"
        ));
        let r: Value = serde_json::json!({"Owner": {"attributes": {}, "Name": "Ann"}, "NumberOfEmployees": 120});
        assert_eq!(cell(Salesforce::field(&r, "Owner.Name")), "Ann");
        assert_eq!(cell(Salesforce::field(&r, "NumberOfEmployees")), "120");
    }
}
