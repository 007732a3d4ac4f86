//! Tool groups, one file each. Each file is one `#[tool_router]` impl block on
//! [`super::PartnermapServer`] plus its input and output types. Output types shared by several
//! groups live here.

pub mod connectors;
pub mod data;
pub mod federation;
pub mod insights;
pub mod partners;
pub mod score;
pub mod sharing;

use super::render::{Supplied, is_false, supplied_all};
use crate::engine::{PartnerSummary, PopulationSummary};
use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

// Tools return `Result<Json<T>, String>` spelled out (not through an alias): rmcp's macro reads
// the return type to derive the `outputSchema`. `Err(sentence)` becomes an `isError` result.
//
// Outputs follow SPEC §7: no null, empty or default fields (`skip_serializing_if`), numbers
// rounded (render::pct / money / sig3), text another organization wrote only inside a
// `partner_supplied` member (render::Supplied).

/// One partner as listed to the acting org.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PartnerOut {
    /// The partner's id (an organization id); pass it as `partner` to other tools.
    pub id: i64,
    /// invited, active, declined or revoked (offline partners are always active).
    pub status: String,
    /// An offline partner: a company that does not use partnermap, whose lists you upload.
    #[serde(skip_serializing_if = "is_false")]
    pub offline: bool,
    /// For an invitation: `incoming` (they invited you: answer with respond_to_invitation) or `outgoing` (waiting for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Partner Score label (High, Medium, Low, None, Unknown), once scores are computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_label: Option<String>,
    /// For a partner on another partnermap instance: its ID, address, last sync, pending
    /// messages and reachability (sync_partner exchanges now). Absent for partners in this
    /// database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<federation::RemoteOut>,
    pub partner_supplied: PartnerText,
}

/// A partner's name and domain, as the partner wrote them.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PartnerText {
    pub name: Supplied,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Supplied>,
}

impl From<PartnerSummary> for PartnerOut {
    fn from(p: PartnerSummary) -> Self {
        PartnerOut {
            id: p.id,
            status: p.status.to_string(),
            offline: p.offline,
            direction: p.direction.map(str::to_string),
            score_label: p.score_label.map(|l| l.as_str().to_string()),
            partner_supplied: PartnerText {
                name: Supplied::new(p.name),
                domain: p.domain.map(Supplied::new),
            },
            remote: p.remote.map(Into::into),
        }
    }
}

/// A population: the acting org's own (its `name` outside), or a partner's one the partner lets
/// it see (its name and shared fields under `partner_supplied`).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PopulationOut {
    pub id: i64,
    /// Your population's name (a partner's is under partner_supplied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// prospects, customers, open_opportunities or custom.
    #[serde(rename = "type")]
    pub pop_type: String,
    pub record_count: i64,
    /// For a partner's population: the level it is shared with you at (counts, overlaps, full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_supplied: Option<PopulationText>,
}

/// A partner's population name and the fields it shares with you (`*` = all).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PopulationText {
    pub name: Supplied,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_fields: Vec<Supplied>,
}

impl From<PopulationSummary> for PopulationOut {
    fn from(p: PopulationSummary) -> Self {
        let theirs = p.sharing_level.is_some();
        PopulationOut {
            id: p.id,
            name: (!theirs).then(|| super::render::clean(&p.name)),
            pop_type: p.pop_type.to_string(),
            record_count: p.record_count,
            sharing_level: p.sharing_level.map(|l| l.to_string()),
            partner_supplied: theirs.then(|| PopulationText {
                name: Supplied::new(p.name),
                shared_fields: p
                    .shared_fields
                    .as_deref()
                    .map(supplied_all)
                    .unwrap_or_default(),
            }),
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
