//! Population and report filters (SPEC §1): `{field, op, value}`; a list means all of them;
//! `{"or": [...]}` and `{"and": [...]}` group. Fields are named case-insensitively.

use crate::error::{Result, invalid};
use crate::model::Record;
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Ne,
    In,
    Contains,
    Gt,
    Gte,
    Lt,
    Lte,
    IsEmpty,
}

impl FilterOp {
    fn parse(s: &str) -> Result<FilterOp> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "eq" | "=" | "==" => FilterOp::Eq,
            "ne" | "!=" | "<>" => FilterOp::Ne,
            "in" => FilterOp::In,
            "contains" => FilterOp::Contains,
            "gt" | ">" => FilterOp::Gt,
            "gte" | ">=" => FilterOp::Gte,
            "lt" | "<" => FilterOp::Lt,
            "lte" | "<=" => FilterOp::Lte,
            "is_empty" => FilterOp::IsEmpty,
            other => {
                return Err(invalid(format!(
                    "'{other}' is not a filter operator; use eq, ne, in, contains, gt, gte, lt, lte or is_empty."
                )));
            }
        })
    }
}

#[derive(Debug, Clone)]
pub enum Filter {
    Cond {
        field: String,
        op: FilterOp,
        value: Value,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

impl Filter {
    /// Parses the JSON form: an object, or a list (all of them), or null (no filter).
    pub fn parse(v: &Value) -> Result<Filter> {
        match v {
            Value::Null => Ok(Filter::And(vec![])),
            Value::Array(items) => Ok(Filter::And(
                items.iter().map(Filter::parse).collect::<Result<_>>()?,
            )),
            Value::Object(m) => {
                if let Some(items) = m.get("or").or_else(|| m.get("any")) {
                    return match items {
                        Value::Array(a) => Ok(Filter::Or(
                            a.iter().map(Filter::parse).collect::<Result<_>>()?,
                        )),
                        _ => Err(invalid("'or' takes a list of filters.")),
                    };
                }
                if let Some(items) = m.get("and").or_else(|| m.get("all")) {
                    return Filter::parse(&Value::Array(match items {
                        Value::Array(a) => a.clone(),
                        _ => return Err(invalid("'and' takes a list of filters.")),
                    }));
                }
                let field = m
                    .get("field")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| invalid(format!("A filter needs a 'field': {v}")))?;
                let op = FilterOp::parse(m.get("op").and_then(Value::as_str).unwrap_or("eq"))?;
                let value = m.get("value").cloned().unwrap_or(Value::Null);
                if op == FilterOp::In && !value.is_array() {
                    return Err(invalid(format!(
                        "The 'in' filter on '{field}' needs a list value, e.g. [\"US\", \"CA\"]."
                    )));
                }
                if value.is_null() && op != FilterOp::IsEmpty {
                    return Err(invalid(format!("The filter on '{field}' needs a 'value'.")));
                }
                Ok(Filter::Cond {
                    field: field.trim().to_string(),
                    op,
                    value,
                })
            }
            _ => Err(invalid(format!(
                "A filter is an object {{field, op, value}} or a list of them, not {v}."
            ))),
        }
    }

    /// Every field the filter names (to check them against the fields that exist).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().flat_map(Filter::fields).collect(),
            Filter::Cond { field, .. } => vec![field.as_str()],
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Filter::And(v) if v.is_empty())
    }

    pub fn matches(&self, r: &Record) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(r)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(r)),
            Filter::Cond { field, op, value } => {
                let actual = r.field_str(field).unwrap_or_default();
                eval(&actual, *op, value)
            }
        }
    }
}

fn text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

/// Compares numerically when both sides are numbers, else as case-insensitive text (ISO dates
/// compare correctly as text).
pub(crate) fn compare(actual: &str, expected: &str) -> Ordering {
    match (actual.trim().parse::<f64>(), expected.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => actual
            .trim()
            .chars()
            .flat_map(char::to_lowercase)
            .cmp(expected.trim().chars().flat_map(char::to_lowercase)),
    }
}

pub(crate) fn eval(actual: &str, op: FilterOp, value: &Value) -> bool {
    match op {
        FilterOp::Eq => compare(actual, &text(value)) == Ordering::Equal,
        FilterOp::Ne => compare(actual, &text(value)) != Ordering::Equal,
        FilterOp::In => value.as_array().is_some_and(|a| {
            a.iter()
                .any(|v| compare(actual, &text(v)) == Ordering::Equal)
        }),
        FilterOp::Contains => actual.to_lowercase().contains(&text(value).to_lowercase()),
        FilterOp::Gt => {
            !actual.trim().is_empty() && compare(actual, &text(value)) == Ordering::Greater
        }
        FilterOp::Gte => {
            !actual.trim().is_empty() && compare(actual, &text(value)) != Ordering::Less
        }
        FilterOp::Lt => {
            !actual.trim().is_empty() && compare(actual, &text(value)) == Ordering::Less
        }
        FilterOp::Lte => {
            !actual.trim().is_empty() && compare(actual, &text(value)) != Ordering::Greater
        }
        FilterOp::IsEmpty => {
            let want_empty = value.as_bool().unwrap_or(true);
            actual.trim().is_empty() == want_empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(fields: Value) -> Record {
        Record {
            id: 1,
            org_id: 1,
            source_id: 1,
            external_id: None,
            name: "Acme".into(),
            website: "acme.com".into(),
            domain_key: None,
            name_key: None,
            domain_fp: 0,
            name_fp: 0,
            fields: fields.as_object().cloned().unwrap(),
        }
    }

    fn m(f: Value, r: &Record) -> bool {
        Filter::parse(&f).unwrap().matches(r)
    }

    #[test]
    fn operators() {
        let r = rec(json!({"Type": "Customer", "Employees": "250", "Country": "US", "Notes": ""}));
        assert!(m(
            json!({"field": "type", "op": "eq", "value": "customer"}),
            &r
        ));
        assert!(m(
            json!({"field": "TYPE", "op": "ne", "value": "Prospect"}),
            &r
        ));
        assert!(m(
            json!({"field": "country", "op": "in", "value": ["CA", "US"]}),
            &r
        ));
        assert!(m(
            json!({"field": "name", "op": "contains", "value": "cm"}),
            &r
        ));
        assert!(m(
            json!({"field": "employees", "op": "gt", "value": 100}),
            &r
        ));
        assert!(!m(
            json!({"field": "employees", "op": "gt", "value": "1000"}),
            &r
        ));
        assert!(m(
            json!({"field": "employees", "op": "gte", "value": 250}),
            &r
        ));
        assert!(m(
            json!({"field": "employees", "op": "lt", "value": 1000}),
            &r
        ));
        assert!(m(
            json!({"field": "employees", "op": "lte", "value": 250}),
            &r
        ));
        assert!(m(
            json!({"field": "notes", "op": "is_empty", "value": true}),
            &r
        ));
        assert!(m(json!({"field": "missing", "op": "is_empty"}), &r));
        assert!(!m(json!({"field": "missing", "op": "gt", "value": 0}), &r));
    }

    #[test]
    fn and_or() {
        let r = rec(json!({"Type": "Customer", "Country": "FR"}));
        assert!(m(
            json!([{"field": "type", "value": "Customer"}, {"field": "country", "value": "FR"}]),
            &r
        ));
        assert!(!m(
            json!([{"field": "type", "value": "Customer"}, {"field": "country", "value": "US"}]),
            &r
        ));
        assert!(m(
            json!({"or": [{"field": "country", "value": "US"}, {"field": "country", "value": "FR"}]}),
            &r
        ));
        assert!(m(json!(null), &r));
    }

    #[test]
    fn bad_filters() {
        assert!(Filter::parse(&json!({"op": "eq", "value": 1})).is_err());
        assert!(Filter::parse(&json!({"field": "x", "op": "like", "value": 1})).is_err());
        assert!(Filter::parse(&json!({"field": "x", "op": "in", "value": 1})).is_err());
        assert!(Filter::parse(&json!("x")).is_err());
    }
}
