//! CRM exports (SPEC §8): `accounts.csv` with `id, name, website` and optional `type, owner,
//! industry, country, employees` (any other column is kept as a field); `opportunities.csv` with
//! `id, account_id, name, stage, amount, currency, open_date, close_date, is_won, is_closed`
//! (ISO dates, booleans true/false). Validation gives line-level errors; a rejected row is left
//! out and the rest is imported.
//!
//! Columns of `opportunities.csv` other than `id` and `account_id` may be missing: the deals are
//! imported without them (the import says so) and Partner Score reports that V's deals lack a
//! required field. Open deals may leave `close_date` empty (or give an expected close date).
//! An empty `currency` means USD.

use super::csv_file::Table;
use crate::error::{Result, invalid};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

// A rejected row of one of the two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct CrmRowError {
    /// accounts or opportunities.
    pub file: &'static str,
    /// The line of that file (1 = the header).
    pub line: u64,
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub line: u64,
    pub id: String,
    pub name: String,
    pub website: String,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    pub line: u64,
    pub id: String,
    pub account_id: String,
    pub name: Option<String>,
    pub stage: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub open_date: Option<NaiveDate>,
    pub close_date: Option<NaiveDate>,
    pub is_won: Option<bool>,
    pub is_closed: Option<bool>,
}

/// The fields a deal needs for Partner Score (SPEC §5).
pub const SCORE_FIELDS: &[&str] = &[
    "name",
    "stage",
    "amount",
    "open_date",
    "close_date",
    "is_won",
    "is_closed",
];

const OPP_COLUMNS: &[&str] = &[
    "name",
    "stage",
    "amount",
    "currency",
    "open_date",
    "close_date",
    "is_won",
    "is_closed",
];

#[derive(Debug, Clone, Default)]
pub struct CrmExport {
    pub accounts: Vec<Account>,
    pub opportunities: Vec<Opportunity>,
    pub errors: Vec<CrmRowError>,
    /// Columns of opportunities.csv that are missing (deals imported without them).
    pub missing_columns: Vec<String>,
}

pub fn parse_bool(v: &str) -> std::result::Result<Option<bool>, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(format!("'{v}' is not a boolean: use true or false")),
    }
}

/// An ISO date `YYYY-MM-DD` (a timestamp's time part is ignored).
pub fn parse_date(v: &str) -> std::result::Result<Option<NaiveDate>, String> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let day = match t.char_indices().nth(10) {
        Some((i, 'T' | ' ')) => &t[..i],
        _ => t,
    };
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("'{v}' is not an ISO date (YYYY-MM-DD)"))
}

pub fn parse_amount(v: &str) -> std::result::Result<Option<f64>, String> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(a) if a.is_finite() && a >= 0.0 => Ok(Some(a)),
        Ok(_) => Err(format!("amount '{v}' must be a number of zero or more")),
        Err(_) => Err(format!(
            "amount '{v}' is not a number (write 1234.5, without thousands separators or a currency sign)"
        )),
    }
}

fn col(t: &Table, name: &str, path: &Path) -> Result<usize> {
    t.column(name).ok_or_else(|| {
        invalid(format!(
            "{} has no '{name}' column; a CRM export needs it. Its columns are: {}. Nothing was imported.",
            path.display(),
            t.headers.join(", ")
        ))
    })
}

/// Reads and validates both files. Fails as a whole only when a required column is missing;
/// bad rows become [`CrmRowError`]s.
pub fn parse(
    accounts: &Table,
    accounts_path: &Path,
    opportunities: &Table,
    opportunities_path: &Path,
    known_currency: impl Fn(&str) -> bool,
) -> Result<CrmExport> {
    let a_id = col(accounts, "id", accounts_path)?;
    let a_name = col(accounts, "name", accounts_path)?;
    let a_web = col(accounts, "website", accounts_path)?;
    let a_emp = accounts.column("employees");
    let o_id = col(opportunities, "id", opportunities_path)?;
    let o_acc = col(opportunities, "account_id", opportunities_path)?;
    let oc: HashMap<&str, Option<usize>> = OPP_COLUMNS
        .iter()
        .map(|c| (*c, opportunities.column(c)))
        .collect();
    let mut out = CrmExport {
        missing_columns: OPP_COLUMNS
            .iter()
            .filter(|c| oc[*c].is_none())
            .map(|c| c.to_string())
            .collect(),
        ..Default::default()
    };

    let mut seen: HashMap<String, u64> = HashMap::new();
    for row in accounts.rows() {
        let (line, v) = match row {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(CrmRowError {
                    file: "accounts",
                    line: e.line,
                    reason: e.reason,
                });
                continue;
            }
        };
        let err = |reason: String| CrmRowError {
            file: "accounts",
            line,
            reason,
        };
        let id = v[a_id].clone();
        if id.is_empty() {
            out.errors.push(err("the account id is empty".into()));
            continue;
        }
        if let Some(first) = seen.get(&id) {
            out.errors.push(err(format!(
                "account id '{id}' was already used on line {first}"
            )));
            continue;
        }
        if v[a_name].is_empty() {
            out.errors.push(err(format!("account '{id}' has no name")));
            continue;
        }
        if let Some(i) = a_emp
            && !v[i].is_empty()
            && v[i].replace([',', '_'], "").parse::<u64>().is_err()
        {
            out.errors
                .push(err(format!("employees '{}' is not a whole number", v[i])));
            continue;
        }
        let mut fields = Map::new();
        for (i, val) in v.iter().enumerate() {
            if i != a_id && i != a_name && i != a_web {
                fields.insert(accounts.headers[i].clone(), Value::String(val.clone()));
            }
        }
        seen.insert(id.clone(), line);
        out.accounts.push(Account {
            line,
            id,
            name: v[a_name].clone(),
            website: v[a_web].clone(),
            fields,
        });
    }

    let mut seen_opp: HashMap<String, u64> = HashMap::new();
    for row in opportunities.rows() {
        let (line, v) = match row {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(CrmRowError {
                    file: "opportunities",
                    line: e.line,
                    reason: e.reason,
                });
                continue;
            }
        };
        match parse_opportunity(
            line,
            &v,
            o_id,
            o_acc,
            &oc,
            &seen,
            &seen_opp,
            &known_currency,
        ) {
            Ok(o) => {
                seen_opp.insert(o.id.clone(), line);
                out.opportunities.push(o);
            }
            Err(reason) => out.errors.push(CrmRowError {
                file: "opportunities",
                line,
                reason,
            }),
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn parse_opportunity(
    line: u64,
    v: &[String],
    o_id: usize,
    o_acc: usize,
    oc: &HashMap<&str, Option<usize>>,
    accounts: &HashMap<String, u64>,
    seen: &HashMap<String, u64>,
    known_currency: &impl Fn(&str) -> bool,
) -> std::result::Result<Opportunity, String> {
    let get = |c: &str| oc[c].map(|i| v[i].as_str()).unwrap_or("");
    let id = v[o_id].clone();
    if id.is_empty() {
        return Err("the opportunity id is empty".into());
    }
    if let Some(first) = seen.get(&id) {
        return Err(format!(
            "opportunity id '{id}' was already used on line {first}"
        ));
    }
    let account_id = v[o_acc].clone();
    if account_id.is_empty() {
        return Err(format!("opportunity '{id}' has no account_id"));
    }
    if !accounts.contains_key(&account_id) {
        return Err(format!(
            "opportunity '{id}' names account_id '{account_id}', which is not an imported row of accounts.csv"
        ));
    }
    let amount = parse_amount(get("amount"))?;
    let currency = match get("currency").trim() {
        "" => None,
        c => {
            let code = super::fx::currency_code(c)
                .ok_or_else(|| format!("currency '{c}' is not a three-letter code such as USD"))?;
            if !known_currency(&code) {
                return Err(format!(
                    "currency '{code}' is not in the exchange-rate table; add it with 'fx set {code} RATE' or 'fx update', then import again"
                ));
            }
            Some(code)
        }
    };
    let open_date = parse_date(get("open_date")).map_err(|e| format!("open_date {e}"))?;
    let close_date = parse_date(get("close_date")).map_err(|e| format!("close_date {e}"))?;
    let is_won = parse_bool(get("is_won")).map_err(|e| format!("is_won {e}"))?;
    let is_closed = parse_bool(get("is_closed")).map_err(|e| format!("is_closed {e}"))?;
    if let (Some(o), Some(c)) = (open_date, close_date)
        && c < o
    {
        return Err(format!("close_date {c} is before open_date {o}"));
    }
    if is_won == Some(true) && is_closed == Some(false) {
        return Err("is_won is true but is_closed is false: a won deal is closed".into());
    }
    let text = |c: &str| Some(get(c).to_string()).filter(|s| !s.is_empty());
    Ok(Opportunity {
        line,
        id,
        account_id,
        name: text("name"),
        stage: text("stage"),
        amount,
        currency,
        open_date,
        close_date,
        is_won,
        is_closed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::csv_file;

    fn table(s: &str) -> Table {
        csv_file::parse(s.as_bytes().to_vec(), Path::new("t.csv")).unwrap()
    }

    #[test]
    fn line_level_errors() {
        let a = table(
            "id,name,website,type,employees\nA1,Acme,acme.com,Customer,120\nA2,,b.com,,\nA1,Dup,d.com,,\nA3,Zed,zed.io,,lots\nA4,Four,four.io,,\n",
        );
        let o = table(
            "id,account_id,name,stage,amount,currency,open_date,close_date,is_won,is_closed\n\
             O1,A1,Deal,Won,100,EUR,2026-01-01,2026-02-01,true,true\n\
             O2,A9,Deal,Won,100,USD,2026-01-01,2026-02-01,true,true\n\
             O3,A1,Deal,Won,1e,USD,2026-01-01,2026-02-01,true,true\n\
             O4,A1,Deal,Won,100,XYZ,2026-01-01,2026-02-01,true,true\n\
             O5,A1,Deal,Won,100,EURO,2026-01-01,2026-02-01,true,true\n\
             O6,A1,Deal,Won,100,USD,01/02/2026,2026-02-01,true,true\n\
             O7,A1,Deal,Won,100,USD,2026-01-01,2026-02-01,yes,true\n\
             O8,A1,Deal,Won,100,USD,2026-03-01,2026-02-01,true,true\n\
             O1,A1,Deal,Won,100,USD,2026-01-01,2026-02-01,true,true\n\
             O9,A4,Open,Proposal,50,usd,2026-10-01,,false,false\n\
             O10,A1,Deal,Won,-5,USD,2026-01-01,2026-02-01,true,true\n\
             O11,A1,Deal,Won,5,USD,2026-01-01,2026-02-01,true,false\n",
        );
        let known = |c: &str| ["USD", "EUR"].contains(&c);
        let x = parse(&a, Path::new("a.csv"), &o, Path::new("o.csv"), known).unwrap();
        assert_eq!(x.accounts.len(), 2);
        let lines: Vec<(&str, u64)> = x.errors.iter().map(|e| (e.file, e.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("accounts", 3),
                ("accounts", 4),
                ("accounts", 5),
                ("opportunities", 3),
                ("opportunities", 4),
                ("opportunities", 5),
                ("opportunities", 6),
                ("opportunities", 7),
                ("opportunities", 8),
                ("opportunities", 9),
                ("opportunities", 10),
                ("opportunities", 12),
                ("opportunities", 13),
            ]
        );
        assert!(x.errors[3].reason.contains("A9"));
        assert!(x.errors[5].reason.contains("XYZ"));
        assert!(x.errors[9].reason.contains("before"));
        assert_eq!(x.opportunities.len(), 2);
        let open = &x.opportunities[1];
        assert_eq!(open.currency.as_deref(), Some("USD"));
        assert_eq!((open.is_closed, open.close_date), (Some(false), None));
        assert!(x.missing_columns.is_empty());
    }

    #[test]
    fn missing_optional_columns_and_required_ones() {
        let a = table("id,name,website\nA1,Acme,acme.com\n");
        let o = table("id,account_id,amount\nO1,A1,5\n");
        let x = parse(&a, Path::new("a.csv"), &o, Path::new("o.csv"), |_| true).unwrap();
        assert_eq!(x.opportunities.len(), 1);
        assert!(x.missing_columns.contains(&"stage".to_string()));
        let o = table("id,amount\nO1,5\n");
        assert!(parse(&a, Path::new("a.csv"), &o, Path::new("o.csv"), |_| true).is_err());
    }

    #[test]
    fn dates_and_bools() {
        assert_eq!(
            parse_date("2026-01-05T10:00:00Z").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert!(parse_date("2026-02-30").is_err());
        assert_eq!(parse_bool("TRUE").unwrap(), Some(true));
        assert!(parse_bool("1").is_err());
    }
}
