//! How the view types (engine, ingest, scoring) serialize (SPEC §7, "written for a model's context window"): the
//! serde helpers their `serialize_with` / `skip_serializing_if` attributes name, and [`Page`].
//! The view types are the MCP tools' outputs and the CLI's `--json` answers, so these rules hold
//! in one place: numbers rounded as a person reads them, no empty or default fields, text
//! cleaned (text another organization wrote is marked too: see [`crate::text`]).

use schemars::JsonSchema;
use serde::{Serialize, Serializer};

/// Most entries of an unpaged list in an answer (import errors, rates, search hits); the rest
/// are counted or flagged.
pub const MAX_LIST: usize = 200;

// ---------- numbers ----------

/// A percentage (0-100) to 1 decimal.
pub fn pct(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A money amount in whole units.
pub fn money(x: f64) -> i64 {
    x.round() as i64
}

/// A ratio (or any other measure) to 3 significant digits: 89.99999999999999 → 90, 0.828302 →
/// 0.828, 1234.5 → 1230.
pub fn sig3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    // Scientific notation with 2 decimals is exactly 3 significant digits, at any magnitude
    // (1e-308 included), and parsing it back removes binary noise (0.30000000000000004).
    format!("{x:.2e}").parse().unwrap_or(x)
}

/// `serialize_with`: [`sig3`].
pub fn as_sig3<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(sig3(*x))
}

/// `serialize_with` (with `skip_serializing_if = "Option::is_none"`): [`sig3`].
pub fn as_sig3_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    x.map(sig3).serialize(s)
}

/// `serialize_with` (with `skip_serializing_if = "Option::is_none"`): [`pct`].
pub fn as_pct_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    x.map(pct).serialize(s)
}

/// `serialize_with` (with `#[schemars(with = "i64")]`): [`money`].
pub fn as_money<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(money(*x))
}

/// `serialize_with` (with `#[schemars(with = "Option<i64>")]`): [`money`].
pub fn as_money_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    x.map(money).serialize(s)
}

// ---------- text (the organization's own; another's is marked: crate::text) ----------

/// `serialize_with`: the text cleaned ([`crate::text::clean`]).
pub fn as_clean<S: Serializer>(t: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::text::clean(t))
}

/// `serialize_with` (with `skip_serializing_if = "Option::is_none"`): the text cleaned.
pub fn as_clean_opt<S: Serializer>(t: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    t.as_deref().map(crate::text::clean).serialize(s)
}

/// `serialize_with`: every text of a list cleaned.
pub fn as_clean_all<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|t| crate::text::clean(t)))
}

/// `serialize_with`: a record's fields, every text cleaned and at most
/// [`crate::text::MAX_FIELDS`] of them.
pub fn as_clean_fields<S: Serializer>(
    m: &serde_json::Map<String, serde_json::Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    crate::text::clean_fields(m).0.serialize(s)
}

/// `serialize_with` (with `skip_serializing_if = "Option::is_none"`): a record's fields, every
/// text cleaned and at most [`crate::text::MAX_FIELDS`] of them.
pub fn as_clean_fields_opt<S: Serializer>(
    m: &Option<serde_json::Map<String, serde_json::Value>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    m.as_ref()
        .map(|m| crate::text::clean_fields(m).0)
        .serialize(s)
}

/// `serialize_with`: the first [`MAX_LIST`] entries (a flag or count beside says more exist).
pub fn as_first<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().take(MAX_LIST))
}

/// Most entries of a list inside one row (the partners of a pipeline account, the
/// recommendations of a deal); a count beside says how many more.
pub const PER_ROW: usize = 3;

/// `serialize_with`: the first [`PER_ROW`] entries of a per-row list.
pub fn as_first3<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().take(PER_ROW))
}

/// How many entries of a per-row list [`as_first3`] leaves out.
pub fn beyond_row(len: usize) -> usize {
    len.saturating_sub(PER_ROW)
}

// ---------- defaults left out ----------

/// `skip_serializing_if`: false is the default.
pub fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if`: true is the default.
pub fn is_true(b: &bool) -> bool {
    *b
}

/// `skip_serializing_if`: 0 is the default.
pub fn is_zero(n: &usize) -> bool {
    *n == 0
}

// ---------- pages ----------

/// Keeps the first entries of a page whose JSON, as served, fits in `budget` bytes (at least
/// one). Returns how many are kept.
pub fn fit<T: Serialize>(v: &mut Vec<T>, budget: usize) -> usize {
    let mut size = 0;
    let keep = v
        .iter()
        .position(|x| {
            size += serde_json::to_string(x).map_or(0, |s| s.len());
            size > budget
        })
        .map_or(v.len(), |i| i.max(1));
    v.truncate(keep);
    keep
}

// One page of a list: `list` holds the list under its own name (`partners`, `cells`, ...) with
// what describes it (totals, the partner it is about), flattened beside the paging fields.
// (No doc comment: it would become every paged output schema's description.)
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Page<L> {
    #[serde(flatten)]
    pub list: L,
    // How many in all, every page (no description: the list's own says what it counts).
    pub total: usize,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_as_read() {
        assert_eq!(sig3(89.99999999999999), 90.0);
        assert_eq!(sig3(0.828302216596), 0.828);
        assert_eq!(sig3(1234.5), 1230.0);
        assert_eq!(sig3(-1.386294361), -1.39);
        assert_eq!(sig3(0.1 + 0.2), 0.3);
        assert_eq!(sig3(1e-308), 1e-308);
        assert_eq!(sig3(1.2345e300), 1.23e300);
        assert_eq!(pct(33.333333), 33.3);
        assert_eq!(money(1234.56), 1235);
    }

    #[test]
    fn pages_flatten_their_list() {
        #[derive(Serialize)]
        struct L {
            cells: Vec<u8>,
        }
        let p = Page {
            list: L { cells: vec![1] },
            total: 3,
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"cells": [1], "total": 3})
        );
    }
}
