//! Text another organization wrote (SPEC §7 "Text from other organizations is data"): how it is
//! cleaned and how it is marked, in one place for every layer. The engine's view types hold it
//! in [`Supplied`] fields or serialize it through the `as_*` helpers below, inside a
//! `partner_supplied` member; the MCP layer ([`crate::mcp::render`]) re-exports the same types.

use schemars::JsonSchema;
use serde::Serialize;

/// Longest piece of text (a name, a website, a field value) put in an output, in characters.
pub const MAX_TEXT: usize = 300;

/// Longest message body (thread posts, share-request messages), in characters.
pub const MAX_BODY: usize = 4_000;

/// Text from outside (partner names, CSV values, file lines): control characters removed
/// (line breaks and tabs become spaces), length capped at [`MAX_TEXT`] with a trailing `…`.
pub fn clean(s: &str) -> String {
    clean_to(s, MAX_TEXT)
}

/// Most fields of one record put in an output.
pub const MAX_FIELDS: usize = 100;

/// A record's fields (partner-supplied keys and values): every string cleaned, nested arrays and
/// objects cleaned the same way, at most [`MAX_FIELDS`] entries at each level. The flag says
/// whether entries were left out.
pub fn clean_fields(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> (serde_json::Map<String, serde_json::Value>, bool) {
    let out = fields
        .iter()
        .take(MAX_FIELDS)
        .map(|(k, v)| (clean(k), clean_json(v)))
        .collect();
    (out, fields.len() > MAX_FIELDS)
}

/// A JSON value from outside: every string in it, keys included, cleaned; lists and maps capped.
pub fn clean_json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(a) => Value::Array(a.iter().take(MAX_FIELDS).map(clean_json).collect()),
        Value::Object(m) => Value::Object(clean_fields(m).0),
        other => other.clone(),
    }
}

pub fn clean_to(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut n = 0;
    for c in s.chars() {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => continue,
            // bidi overrides and zero-width characters can disguise text
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => continue,
            c => c,
        };
        if n == max {
            out.push('…');
            break;
        }
        out.push(c);
        n += 1;
    }
    out
}

// ---------- partner-supplied text ----------
//
// The convention (SPEC §7, server instructions): every string another organization wrote sits in
// the `partner_supplied` member of the smallest object it belongs to, under the field name it
// would otherwise have (`{"id": 7, "label": "High", "partner_supplied": {"name": "Acme"}}`); ids,
// counts, labels and statuses stay outside. The text itself is a [`Supplied`]: cleaned when it is
// serialized, so no output can carry it raw.

/// Text another organization wrote. Serialized cleaned: control, bidi and zero-width characters
/// removed, line breaks and tabs made spaces, at most `MAX` characters (then `…`). Only ever put
/// it inside a `partner_supplied` group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supplied<const MAX: usize = MAX_TEXT>(pub String);

impl<const MAX: usize> Supplied<MAX> {
    pub fn new(s: impl Into<String>) -> Self {
        Supplied(s.into())
    }
}

impl<const MAX: usize> serde::Serialize for Supplied<MAX> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&clean_to(&self.0, MAX))
    }
}

impl<const MAX: usize> schemars::JsonSchema for Supplied<MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Supplied".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

/// A longer text another organization wrote (a message, a note).
pub type SuppliedBody = Supplied<MAX_BODY>;

/// Record fields another organization wrote (keys and values): serialized through
/// [`clean_fields`], at most [`MAX_FIELDS`] entries at each level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuppliedFields(pub serde_json::Map<String, serde_json::Value>);

impl serde::Serialize for SuppliedFields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        clean_fields(&self.0).0.serialize(s)
    }
}

impl schemars::JsonSchema for SuppliedFields {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SuppliedFields".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object", "additionalProperties": true })
    }
}

/// A list of names another organization wrote (field names), at most [`MAX_FIELDS`].
pub fn supplied_all(v: &[String]) -> Vec<Supplied> {
    v.iter().take(MAX_FIELDS).map(Supplied::new).collect()
}

/// The `partner_supplied` group of an object that only holds the partner's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Name {
    pub name: Supplied,
}

impl Name {
    pub fn of(s: &str) -> Self {
        Name {
            name: Supplied::new(s),
        }
    }
}

/// One partner (or one partner's population) by id, its name partner-supplied:
/// `{"id": 7, "partner_supplied": {"name": "Acme"}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Ref {
    pub id: i64,
    /// The name, written by the other organization.
    pub partner_supplied: Name,
}

impl Ref {
    pub fn new(id: i64, name: &str) -> Self {
        Ref {
            id,
            partner_supplied: Name::of(name),
        }
    }

    /// The name, as the other organization wrote it.
    pub fn name(&self) -> &str {
        &self.partner_supplied.name.0
    }
}

/// What an organization wrote about itself: its name and domain (a partner's, a suggested
/// organization's), under `partner_supplied`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct OrgText {
    pub name: Supplied,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Supplied>,
}

impl OrgText {
    pub fn new(name: &str, domain: Option<&str>) -> Self {
        OrgText {
            name: Supplied::new(name),
            domain: domain.map(Supplied::new),
        }
    }
}

/// What the partner wrote: its name and its population's name.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct PartnerPopulationText {
    pub name: Supplied,
    pub partner_population: Supplied,
}

/// Something with an id and a name another organization wrote (a partner, its population):
/// serialized as a [`Ref`] through [`as_ref`].
pub trait Named {
    fn id(&self) -> i64;
    fn name(&self) -> &str;
}

/// Serializes a [`Named`] as the [`Ref`] `{"id": …, "partner_supplied": {"name": …}}` (with
/// `#[schemars(with = "crate::text::Ref")]`).
pub fn as_ref<T: Named, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Ref::new(v.id(), v.name()), s)
}

/// The `partner_supplied` group of an object about a partner (a partnership, a report): its name.
#[derive(Debug, Clone, Default, serde::Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PartnerName {
    pub partner: Supplied,
}

/// Serializes a partner's name as the group `{"partner": …}` (for a field renamed
/// `partner_supplied`, with `#[schemars(with = "crate::text::PartnerName")]`).
pub fn as_partner<S: serde::Serializer>(name: &str, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(
        &PartnerName {
            partner: Supplied::new(name),
        },
        s,
    )
}

/// Serializes names another organization wrote (field names) as [`Supplied`] texts, at most
/// [`MAX_FIELDS`] (with `#[schemars(with = "Vec<crate::text::Supplied>")]`).
pub fn as_supplied_all<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&supplied_all(v), s)
}

/// Serializes a record another organization wrote as [`SuppliedFields`] (with
/// `#[schemars(with = "crate::text::SuppliedFields")]`).
pub fn as_supplied_fields<S: serde::Serializer>(
    record: &serde_json::Map<String, serde_json::Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&SuppliedFields(record.clone()), s)
}

/// Serializes a name as the `partner_supplied` group `{"name": …}` (for a `name: String` field
/// renamed `partner_supplied`, with `#[schemars(with = "Name")]`).
pub fn as_name<S: serde::Serializer>(name: &str, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Name::of(name), s)
}

/// A partner record's shared fields as the `partner_supplied` group `{"partner_record": {…}}`.
#[derive(Debug, Clone, Default, serde::Serialize, JsonSchema)]
#[schemars(inline)]
pub struct RecordGroup {
    pub partner_record: SuppliedFields,
}

/// Serializes an optional record map as an optional [`RecordGroup`] (with
/// `#[schemars(with = "Option<crate::text::RecordGroup>")]`).
pub fn as_record_opt<S: serde::Serializer>(
    record: &Option<serde_json::Map<String, serde_json::Value>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match record {
        Some(r) => as_record(r, s),
        None => s.serialize_none(),
    }
}

/// A partner's column names as the `partner_supplied` group `{"partner_record": [...]}`.
#[derive(Debug, Clone, Default, serde::Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ColumnsGroup {
    pub partner_record: Vec<Supplied>,
}

/// Serializes a partner's column names as a [`ColumnsGroup`] (for a field renamed
/// `partner_supplied`, with `#[schemars(with = "crate::text::ColumnsGroup")]`).
pub fn as_columns<S: serde::Serializer>(columns: &[String], s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(
        &ColumnsGroup {
            partner_record: supplied_all(columns),
        },
        s,
    )
}

/// Serializes a record map as a [`RecordGroup`] (for a field renamed `partner_supplied`, with
/// `#[schemars(with = "RecordGroup")]`).
pub fn as_record<S: serde::Serializer>(
    record: &serde_json::Map<String, serde_json::Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(
        &RecordGroup {
            partner_record: SuppliedFields(record.clone()),
        },
        s,
    )
}

// ---------- text either side may have written ----------

/// Text one of two organizations wrote, served where it belongs: the acting organization's own
/// in place, the other's as `{"partner_supplied": …}`. Flatten it into the object it describes
/// (a thread's author, a message's body, what a share request asks for); `own` is decided by
/// the engine, by organization id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voiced<T> {
    pub own: bool,
    pub text: T,
}

impl<T> Voiced<T> {
    pub fn new(own: bool, text: T) -> Self {
        Voiced { own, text }
    }
}

impl<T: Serialize> Serialize for Voiced<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.own {
            self.text.serialize(s)
        } else {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("partner_supplied", &self.text)?;
            m.end()
        }
    }
}

impl<T: JsonSchema> JsonSchema for Voiced<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Voiced_{}", T::schema_name()).into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The text's fields in place (yours), or the same object under partner_supplied.
        let inner = T::json_schema(g);
        let mut properties = inner
            .get("properties")
            .and_then(|p| p.as_object())
            .cloned()
            .unwrap_or_default();
        properties.insert("partner_supplied".into(), inner.to_value());
        schemars::json_schema!({ "type": "object", "properties": properties })
    }
}

// A user's name and email (a colleague's in place, a partner's user's under partner_supplied).
/// A partner's user: {name, email}.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct PersonText {
    pub name: Supplied,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Supplied>,
}

impl PersonText {
    pub fn new(name: impl Into<String>, email: Option<String>) -> Self {
        PersonText {
            name: Supplied::new(name),
            email: email.map(Supplied::new),
        }
    }
}
