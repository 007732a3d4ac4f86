//! Rendering for the MCP layer: engine errors to `isError` sentences, partner-supplied text made
//! safe to show a model, list caps and opaque pagination cursors. One place, so every tool
//! behaves the same.

use crate::Error;
use xxhash_rust::xxh3::xxh3_64;

pub use crate::text::{
    MAX_BODY, MAX_FIELDS, MAX_TEXT, Name, Ref, Supplied, SuppliedBody, SuppliedFields, clean,
    clean_fields, clean_json, clean_to, supplied_all,
};

/// Longest error sentence.
pub const MAX_ERROR: usize = 2_000;
/// Page size when the caller gives no `limit`, and the largest page.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;
/// Largest unpaged list in an output (import errors, search hits).
pub use crate::shape::MAX_LIST;
/// Rough budget, in bytes of JSON, for the rows of one page of a wide list (report rows): a page
/// stops early past it and its `next_cursor` continues where it stopped. Outputs go out twice
/// (structured and as text), and some clients drop messages over 10 MiB.
pub const MAX_OUTPUT: usize = 1_000_000;

/// An engine error as the sentence a model can act on. Storage failures are logged too.
pub fn error(e: Error) -> String {
    if matches!(e, Error::Db(_) | Error::Io(_)) {
        tracing::warn!(error = %e, "tool failed");
    }
    clean_to(&e.to_string(), MAX_ERROR)
}

/// Any error sentence (the engine's, or rmcp's quoting the caller's arguments), cleaned and
/// capped at [`MAX_ERROR`].
pub fn clean_error(s: &str) -> String {
    clean_to(s, MAX_ERROR)
}

pub fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(clean)
}

pub fn clean_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| clean(s)).collect()
}

/// A message someone wrote (a thread post, a share request's note): cleaned like [`clean`] but
/// capped at [`MAX_BODY`].
pub fn clean_body(s: &str) -> String {
    clean_to(s, MAX_BODY)
}

/// The JSON Schema `format`s a client validator knows (draft 2020-12); schemars also emits
/// `uint`, `uint32`, `int64`, `double`..., which clients warn about or reject.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// A generated schema with only standard `format`s (every other `format` removed, at any depth).
pub fn standard_schema(
    schema: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.get("format")
                    .and_then(|f| f.as_str())
                    .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
                {
                    m.remove("format");
                }
                m.values_mut().for_each(walk);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::Value::Object(schema.clone());
    walk(&mut v);
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("an object stays an object"),
    }
}

/// Keeps at most `max` items; the flag says whether the list was cut.
pub fn cap<T>(mut items: Vec<T>, max: usize) -> (Vec<T>, bool) {
    let cut = items.len() > max;
    items.truncate(max);
    (items, cut)
}

/// The page size to use for a `limit` argument (0 = the default).
pub fn limit(limit: usize) -> usize {
    match limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

/// A `limit` argument checked against the tool's largest page: 0 is refused (the descriptions
/// say 1-max), anything above `max` is `max`.
pub fn limit_in(limit: usize, max: usize) -> Result<usize, String> {
    match limit {
        0 => Err(format!(
            "limit must be between 1 and {max}; leave it out for the default page size."
        )),
        n => Ok(n.min(max)),
    }
}

pub const INVALID_CURSOR: &str = "invalid cursor, start again without a cursor";

/// One page of `items`. `scope` names the list and the arguments that shaped it (e.g.
/// `list_partners|status=active`): a cursor only works for the list it came from. The cursor is
/// opaque to the caller; a malformed or foreign one is an error telling to start again.
pub fn page<T>(
    items: Vec<T>,
    scope: &str,
    cursor: &str,
    limit_arg: usize,
) -> Result<(Vec<T>, Option<String>), String> {
    let offset = if cursor.trim().is_empty() {
        0
    } else {
        decode_cursor(cursor.trim(), scope).ok_or_else(|| INVALID_CURSOR.to_string())?
    };
    let size = limit(limit_arg);
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    let next = offset + page.len();
    let next_cursor = (next < total && !page.is_empty()).then(|| encode_cursor(scope, next));
    Ok((page, next_cursor))
}

/// The offset a `cursor` argument points at within the list `scope` (0 for no cursor), for lists
/// paged elsewhere than [`page`] (e.g. by the engine).
pub fn cursor_offset(cursor: &str, scope: &str) -> Result<usize, String> {
    match cursor.trim() {
        "" => Ok(0),
        c => decode_cursor(c, scope).ok_or_else(|| INVALID_CURSOR.to_string()),
    }
}

/// The cursor of the list `scope` at `offset` (see [`cursor_offset`]).
pub fn cursor_at(scope: &str, offset: usize) -> String {
    encode_cursor(scope, offset)
}

/// A short scope naming a list by the arguments that shaped it (long ones hashed).
pub fn scope_of(tool: &str, args: &serde_json::Value) -> String {
    format!("{tool}|{:016x}", xxh3_64(args.to_string().as_bytes()))
}

fn check(payload: &str) -> u32 {
    xxh3_64(format!("partnermap-cursor|{payload}").as_bytes()) as u32
}

fn encode_cursor(scope: &str, offset: usize) -> String {
    let payload = format!("{scope}|{offset}");
    let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{:08x}", check(&payload))
}

fn decode_cursor(cursor: &str, scope: &str) -> Option<usize> {
    let (hex, sum) = cursor.split_once('.')?;
    if hex.len() % 2 != 0 || hex.len() > 2_000 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let payload = String::from_utf8(bytes).ok()?;
    if format!("{:08x}", check(&payload)) != sum {
        return None;
    }
    let (s, offset) = payload.rsplit_once('|')?;
    (s == scope).then(|| offset.parse().ok())?
}

// ---------- numbers as a person reads them (the rules: crate::view) ----------

pub use crate::shape::{is_false, is_zero, money, pct, sig3};

pub fn pct_opt(x: Option<f64>) -> Option<f64> {
    x.map(pct)
}

pub fn sig3_opt(x: Option<f64>) -> Option<f64> {
    x.map(sig3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_controls_and_caps() {
        assert_eq!(clean("Acme\u{0}\u{1b}[31m Corp\nInc"), "Acme[31m Corp Inc");
        assert_eq!(clean("a\u{202E}b"), "ab");
        let long = "x".repeat(MAX_TEXT + 10);
        let c = clean(&long);
        assert_eq!(c.chars().count(), MAX_TEXT + 1);
        assert!(c.ends_with('…'));
        assert_eq!(clean(&"y".repeat(MAX_TEXT)), "y".repeat(MAX_TEXT));
    }

    #[test]
    fn pages_round_trip_and_reject_foreign_cursors() {
        let items: Vec<i32> = (0..5).collect();
        let (p1, c1) = page(items.clone(), "list|a", "", 2).unwrap();
        assert_eq!(p1, vec![0, 1]);
        let c1 = c1.unwrap();
        let (p2, c2) = page(items.clone(), "list|a", &c1, 2).unwrap();
        assert_eq!(p2, vec![2, 3]);
        let (p3, c3) = page(items.clone(), "list|a", &c2.unwrap(), 2).unwrap();
        assert_eq!(p3, vec![4]);
        assert!(c3.is_none());
        assert_eq!(
            page(items.clone(), "list|b", &c1, 2).unwrap_err(),
            INVALID_CURSOR
        );
        assert!(page(items.clone(), "list|a", "garbage", 2).is_err());
        let tampered = c1.replacen('3', "4", 1);
        assert!(page(items.clone(), "list|a", &tampered, 2).is_err());
        assert!(page(items, "list|a", "zz.00000000", 2).is_err());
    }

    #[test]
    fn fields_are_cleaned_and_capped() {
        let m: serde_json::Map<String, serde_json::Value> = serde_json::from_value(
            serde_json::json!({"na\u{1b}me": "Acme\nCorp", "n": 3, "tags": ["a\u{0}b", {"x": "y\tz"}]}),
        )
        .unwrap();
        let (c, cut) = clean_fields(&m);
        assert!(!cut);
        assert_eq!(
            serde_json::Value::Object(c),
            serde_json::json!({"name": "Acme Corp", "n": 3, "tags": ["ab", {"x": "y z"}]})
        );
        let big: serde_json::Map<String, serde_json::Value> = (0..MAX_FIELDS + 5)
            .map(|i| (format!("f{i}"), serde_json::Value::from(i)))
            .collect();
        let (c, cut) = clean_fields(&big);
        assert!(cut && c.len() == MAX_FIELDS);
    }

    #[test]
    fn offsets_and_json_cleaning() {
        let scope = scope_of("report", &serde_json::json!({"a": 1}));
        assert_ne!(scope, scope_of("report", &serde_json::json!({"a": 2})));
        assert_eq!(cursor_offset("", &scope), Ok(0));
        assert_eq!(cursor_offset(&cursor_at(&scope, 7), &scope), Ok(7));
        assert!(cursor_offset(&cursor_at("other", 7), &scope).is_err());
        let v = clean_json(&serde_json::json!({"a\u{1b}": ["x\ny", 3, null]}));
        assert_eq!(v, serde_json::json!({"a": ["x y", 3, null]}));
        let long = "z".repeat(MAX_BODY + 5);
        assert_eq!(clean_body(&long).chars().count(), MAX_BODY + 1);
    }

    #[test]
    fn limits_in() {
        assert!(limit_in(0, 100).is_err());
        assert_eq!(limit_in(500, 100), Ok(100));
    }

    #[test]
    fn supplied_text_is_cleaned_when_serialized() {
        let s: Supplied = Supplied::new("Acme\n\u{202E}\"}{\u{1b}");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""Acme \"}{""#);
        let r = Ref::new(3, "x\u{200B}y");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"id": 3, "partner_supplied": {"name": "xy"}})
        );
    }

    #[test]
    fn limits() {
        assert_eq!(limit(0), DEFAULT_PAGE);
        assert_eq!(limit(7), 7);
        assert_eq!(limit(10_000), MAX_PAGE);
        assert_eq!(cap(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(cap(vec![1], 2), (vec![1], false));
    }
}
