//! Tool groups, one file each. Each file is one `#[tool_router]` impl block on
//! [`super::PartnermapServer`] plus its input and output types. Output types shared by several
//! groups live here.

pub mod data;
pub mod federation;
pub mod partners;
pub mod score;
pub mod sharing;

use super::render::{clean, clean_all, clean_opt};
use crate::engine::{PartnerSummary, PopulationSummary};
use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

// Tools return `Result<Json<T>, String>` spelled out (not through an alias): rmcp's macro reads
// the return type to derive the `outputSchema`. `Err(sentence)` becomes an `isError` result.

/// One partner as listed to the acting org.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PartnerOut {
    /// The partner's id (an organization id); pass it as `partner` to other tools.
    pub id: i64,
    pub name: String,
    pub domain: Option<String>,
    /// invited, active, declined or revoked (offline partners are always active).
    pub status: String,
    /// An offline partner: a company that does not use partnermap, whose lists you upload.
    pub offline: bool,
    /// For an invitation: `incoming` (they invited you: answer with respond_to_invitation) or `outgoing` (waiting for them).
    pub direction: Option<String>,
    pub partnership_id: Option<i64>,
    /// Partner Score label (High, Medium, Low, None, Unknown); null until scores are computed.
    pub score_label: Option<String>,
    /// For a partner on another partnermap instance: its ID, address, last sync, pending
    /// messages and reachability (sync_partner exchanges now). Null for partners in this
    /// database.
    pub remote: Option<federation::RemoteOut>,
}

impl From<PartnerSummary> for PartnerOut {
    fn from(p: PartnerSummary) -> Self {
        PartnerOut {
            id: p.id,
            name: clean(&p.name),
            domain: clean_opt(p.domain.as_deref()),
            status: p.status.to_string(),
            offline: p.offline,
            direction: p.direction.map(str::to_string),
            partnership_id: p.partnership_id,
            score_label: p.score_label.map(|l| l.as_str().to_string()),
            remote: p.remote.map(Into::into),
        }
    }
}

/// A population: the acting org's own, or a partner's one the partner lets it see.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PopulationOut {
    pub id: i64,
    pub name: String,
    /// prospects, customers, open_opportunities or custom.
    #[serde(rename = "type")]
    pub pop_type: String,
    pub record_count: i64,
    /// For a partner's population: the level it is shared with you at (counts, overlaps, full).
    pub sharing_level: Option<String>,
    /// For a partner's population: the fields it shares with you (`*` = all).
    pub shared_fields: Option<Vec<String>>,
}

impl From<PopulationSummary> for PopulationOut {
    fn from(p: PopulationSummary) -> Self {
        PopulationOut {
            id: p.id,
            name: clean(&p.name),
            pop_type: p.pop_type.to_string(),
            record_count: p.record_count,
            sharing_level: p.sharing_level.map(|l| l.to_string()),
            shared_fields: p.shared_fields.as_deref().map(clean_all),
        }
    }
}

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
