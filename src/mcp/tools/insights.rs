//! Answers built across all partners (SPEC §6): partner_suggestions, partner_influence,
//! new_accounts. The engine's view types are the outputs (their partner text serialized under
//! `partner_supplied`, see [`crate::text`]); this layer parses arguments and pages.

use super::opt_text;
use crate::engine::{
    Influence, InfluenceGroup, NewAccounts, Period, SuggestionSignal, Suggestions,
};
use crate::mcp::PartnermapServer;
use crate::mcp::render::{self, clean};
use crate::model::PopulationType;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::Deserialize;

/// Largest page of new_accounts, and of partner_suggestions / partner_influence rows.
pub const MAX_INSIGHT_LIMIT: i64 = 100;
/// A new_accounts page stops early past this many characters of rows (the rest follows with
/// `next_cursor`), so that no page exceeds 40,000 characters.
const PAGE_BUDGET: usize = 32_000;

fn default_suggestions() -> i64 {
    10
}
fn default_influence_rows() -> i64 {
    25
}
fn default_new_accounts() -> i64 {
    20
}

/// A `limit` argument: 1 to [`MAX_INSIGHT_LIMIT`].
fn limit_arg(limit: i64) -> Result<usize, String> {
    if limit < 1 {
        return Err(format!(
            "limit {limit} is not allowed: give 1 to {MAX_INSIGHT_LIMIT}, or leave it out for the default."
        ));
    }
    Ok(limit.min(MAX_INSIGHT_LIMIT) as usize)
}

// ---------- inputs ----------

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PartnerSuggestionsIn {
    /// How many suggestions (1-100; default 10).
    #[serde(default = "default_suggestions")]
    pub limit: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PartnerInfluenceIn {
    /// A quarter (2026-Q4), a month (2026-11) or a year (2026). Leave empty (with from/to empty) for the current quarter.
    #[serde(default)]
    pub period: String,
    /// First day, YYYY-MM-DD (instead of `period`).
    #[serde(default)]
    pub from: String,
    /// Last day, YYYY-MM-DD, included (default today; needs `from`).
    #[serde(default)]
    pub to: String,
    /// Only this partner (id, name or domain): its row, and totals with / without it.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// partner (default): one row per partner; period: one row per month.
    #[serde(default)]
    pub group_by: String,
    /// Most partner rows (1-100; default 25).
    #[serde(default = "default_influence_rows")]
    pub limit: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewAccountsIn {
    /// Only this partner's accounts (id, name or domain).
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// Only accounts in partner populations of this type: customers, open_opportunities, prospects or custom.
    #[serde(default)]
    pub population_type: String,
    /// Page size (1-100; default 20).
    #[serde(default = "default_new_accounts")]
    pub limit: i64,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
}

// ---------- outputs ----------

// ---------- tools ----------

#[tool_router(router = insights_router, vis = "pub(crate)")]
impl PartnermapServer {
    #[tool(
        description = "Which organizations to partner with next ('who should we invite?'): organizations you are not actively partnered with, best first, with the signals behind each: their domain is your customer, open opportunity or prospect (your_account), how many of your active partners are also theirs (mutual_partners), a past partnership. Next: invite_partner.",
        annotations(
            title = "Partner suggestions",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn partner_suggestions(
        &self,
        Parameters(args): Parameters<PartnerSuggestionsIn>,
    ) -> Result<Json<Suggestions>, String> {
        let limit = limit_arg(args.limit)?;
        let mut s = self
            .read(move |e, a| e.partner_suggestions(a, limit))
            .await?;
        // The organizations' own text is cleaned as it is serialized (partner_supplied).
        for x in &mut s.suggestions {
            for sig in &mut x.signals {
                if let SuggestionSignal::YourAccount { population, .. } = sig {
                    *population = clean(population);
                }
            }
        }
        Ok(Json(s))
    }

    #[tool(
        description = "How much pipeline partners influenced in a period: `period` 2026-Q4 / 2026-11 / 2026, or `from`/`to` (default: this quarter). A deal is with_partner when its account is in a population a partner shares at overlaps or full. totals: deals opened, won and lost in the period, whole USD, win_rate_pct, with and without partners; rows: one per partner (group_by partner, a deal may count for two) or per month (group_by period).",
        annotations(
            title = "Partner influence",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn partner_influence(
        &self,
        Parameters(args): Parameters<PartnerInfluenceIn>,
    ) -> Result<Json<Influence>, String> {
        let limit = limit_arg(args.limit)?;
        let group: InfluenceGroup = args.group_by.parse().map_err(render::error)?;
        let (period, from, to, partner) = (
            opt_text(args.period),
            opt_text(args.from),
            opt_text(args.to),
            opt_text(args.partner),
        );
        let r = self
            .read(move |e, a| {
                let p =
                    Period::parse(period.as_deref(), from.as_deref(), to.as_deref(), e.today())?;
                e.partner_influence(a, p, partner.as_deref(), group, limit)
            })
            .await?;
        // Partner names are cleaned as they are serialized (partner_supplied).
        Ok(Json(r))
    }

    #[tool(
        description = "Accounts your partners have that you don't (greenfield): their records matching none of yours, from populations shared with you at full (offline partners count as full), most partners first, customers first. Partners sharing below full add nothing: ask with create_share_request (level full). Filter by `partner` or `population_type`.",
        annotations(title = "New accounts", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn new_accounts(
        &self,
        Parameters(args): Parameters<NewAccountsIn>,
    ) -> Result<Json<NewAccounts>, String> {
        let limit = limit_arg(args.limit)?;
        let pop_type: Option<PopulationType> = super::opt_arg(&args.population_type)?;
        let partner = opt_text(args.partner);
        let scope = render::scope_of(
            "new_accounts",
            &serde_json::json!([partner, pop_type.map(|t| t.as_str())]),
        );
        let offset = render::cursor_offset(&args.cursor, &scope)?;
        let mut r = self
            .read(move |e, a| e.new_accounts(a, partner.as_deref(), pop_type, offset, limit))
            .await?;
        // Partner text is cleaned as it is serialized (partner_supplied): measured as served.
        let next = offset + crate::shape::fit(&mut r.accounts, PAGE_BUDGET);
        r.next_cursor = (next < r.total as usize).then(|| render::cursor_at(&scope, next));
        Ok(Json(r))
    }
}
