//! Tool groups, one file each. Each file is one `#[tool_router]` impl block on
//! [`super::PartnermapServer`] plus its input types and the output types that are not the
//! engine's own view types.

pub mod connectors;
pub mod data;
pub mod federation;
pub mod insights;
pub mod partners;
pub mod score;
pub mod sharing;

// Tools return `Result<Json<T>, String>` spelled out (not through an alias): rmcp's macro reads
// the return type to derive the `outputSchema`. `Err(sentence)` becomes an `isError` result.
//
// Outputs follow SPEC §7: no null, empty or default fields (`skip_serializing_if`), numbers
// rounded, text another organization wrote only inside a `partner_supplied` member
// (crate::text). Where an engine view type has the shape, it is the output (its serde
// attributes and crate::shape hold the rules); lists page as crate::shape::Page.

/// Parses an optional enum-like argument: empty means none.
pub(crate) fn opt_arg<T: std::str::FromStr<Err = crate::Error>>(
    s: &str,
) -> Result<Option<T>, String> {
    match s.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(super::render::error),
    }
}

/// An optional free-text argument: empty means none.
pub(crate) fn opt_text(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Accepts an id given as a JSON number as well as any text (models often send ids as numbers).
pub(crate) fn id_or_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum IdOrName {
        Id(i64),
        Name(String),
    }
    Ok(match <IdOrName as serde::Deserialize>::deserialize(d)? {
        IdOrName::Id(i) => i.to_string(),
        IdOrName::Name(s) => s,
    })
}

fn default_limit() -> usize {
    super::render::DEFAULT_PAGE
}
