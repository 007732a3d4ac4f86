//! Prompts: ready-made requests a user can pick in their client. Each one carries the data the
//! answer needs (compact JSON, the same shapes and `partner_supplied` marking as the tools), so
//! the model starts from facts instead of a list of calls to make.

use super::PartnermapServer;
use super::render;
use chrono::{Datelike, NaiveDate};
use rmcp::ErrorData as McpError;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptMessage, Role};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{prompt, prompt_router};
use serde::Deserialize;
use serde_json::json;

/// Most partners embedded in the prioritize_partners leaderboard.
const LEADERBOARD: usize = 30;
/// Most threads embedded in a co-sell plan.
const PLAN_THREADS: usize = 5;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PrioritizeArgs {
    /// The quarter to plan for, e.g. "2026-Q4" (default: the current quarter).
    #[serde(default)]
    pub quarter: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CoSellArgs {
    /// The account: a company name, domain or record id of one of your accounts.
    pub account: String,
}

/// A quarter's first and last day: "2026-Q4" → 2026-10-01 .. 2026-12-31.
pub fn quarter_window(q: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let bad = || {
        format!(
            "'{}' is not a quarter; write it as YYYY-Qn, e.g. 2026-Q4.",
            render::clean(q)
        )
    };
    let (y, n) = q.trim().split_once(['-', ' ']).ok_or_else(bad)?;
    let year: i32 = y.trim().parse().map_err(|_| bad())?;
    let n: u32 = n
        .trim()
        .trim_start_matches(['Q', 'q'])
        .parse()
        .map_err(|_| bad())?;
    if !(1..=4).contains(&n) {
        return Err(bad());
    }
    let start = NaiveDate::from_ymd_opt(year, 3 * n - 2, 1).ok_or_else(bad)?;
    let next = if n == 4 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, 3 * n + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((start, next.pred_opt().ok_or_else(bad)?))
}

fn quarter_of(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[prompt_router(vis = "pub(crate)")]
impl PartnermapServer {
    /// Prioritize my partners this quarter: the leaderboard for the quarter's window, embedded, and where to spend partner time.
    #[prompt(
        name = "prioritize_partners",
        title = "Prioritize my partners this quarter"
    )]
    pub async fn prioritize_partners(
        &self,
        Parameters(args): Parameters<PrioritizeArgs>,
    ) -> Result<GetPromptResult, McpError> {
        let quarter = args.quarter.trim().to_string();
        let data = self
            .read(move |e, a| {
                let today = e.today();
                let q = if quarter.is_empty() {
                    quarter_of(today)
                } else {
                    quarter
                };
                let (from, to) = quarter_window(&q).map_err(crate::Error::Invalid)?;
                // The score window ends with the quarter, or today while it is still running.
                let as_of = to.min(today);
                let all =
                    e.top_partners(a, crate::engine::TopSort::Score, usize::MAX, Some(as_of))?;
                let total = all.len();
                let (rows, _) = render::cap(all, LEADERBOARD);
                // The quarter's partner-influenced pipeline, as partner_influence gives it.
                let influence = e.partner_influence(
                    a,
                    crate::engine::Period { from, to },
                    None,
                    crate::engine::InfluenceGroup::Partner,
                    LEADERBOARD,
                )?;
                Ok(json!({
                    "quarter": q,
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "score_as_of": as_of.to_string(),
                    "ranked_partners": total,
                    "leaderboard": rows,
                    "influence": influence,
                }))
            })
            .await
            .map_err(|m| McpError::invalid_params(m, None))?;
        let q = data["quarter"].as_str().unwrap_or_default().to_string();
        let text = format!(
            "Help me decide which partners to prioritize for {q} ({} to {}).\n\
             Below is my partner leaderboard by Partner Score over the 365 days to {} (label High > Medium > Low > None > Unknown, then s = 0.7 x impact percentile + 0.3 x coverage percentile; coverage_pct = share of my customer and open-opportunity accounts that overlap any partner that overlap this one), and the pipeline partners influenced in the quarter (influence: my deals opened, won and lost in it, in USD, with and without partner overlap, and per partner).\n\
             Answer with a ranked shortlist (at most 5 partners), one line each on why (label, impact, coverage, overlap, pipeline influenced this quarter) and the next action for each: for High and Medium partners, co-selling the accounts pipeline_generation and deal_navigator find; for partners labelled None or Unknown with a large overlap_count, what partner_score's reasons say to do (e.g. a share request). Quote only numbers given here or returned by the tools. {}\n\
             Data (JSON): {}",
            data["from"].as_str().unwrap_or_default(),
            data["to"].as_str().unwrap_or_default(),
            data["score_as_of"].as_str().unwrap_or_default(),
            super::toolsets::PARTNER_SUPPLIED_NOTE,
            compact(&data)
        );
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(format!("Prioritize partners for {q}")),
        )
    }

    /// Prepare a co-sell plan for an account: the account, its open deals, the partners that have it (with what they share, e.g. owners) and the threads, embedded.
    #[prompt(name = "co_sell_plan", title = "Prepare a co-sell plan for an account")]
    pub async fn co_sell_plan(
        &self,
        Parameters(args): Parameters<CoSellArgs>,
    ) -> Result<GetPromptResult, McpError> {
        let account = args.account.trim().to_string();
        let data = self
            .read(move |e, a| {
                // Validates the account: an unknown or ambiguous one is an error naming candidates.
                let l = e.account_lookup(a, &account)?;
                let id = l.account.id;
                let deals: Vec<_> = e
                    .deal_navigator(
                        a,
                        &crate::engine::DealQuery {
                            account: Some(id.to_string()),
                            ..Default::default()
                        },
                        usize::MAX,
                        None,
                    )?
                    .opportunities;
                let threads: Vec<_> = e
                    .list_threads(a, None)?
                    .into_iter()
                    .filter(|t| t.my_record_id == Some(id))
                    .take(PLAN_THREADS)
                    .map(|t| t.newest(3))
                    .collect();
                let (partners, _) = render::cap(l.partners, render::MAX_LIST);
                Ok(json!({
                    "account": l.account,
                    "open_deals": deals,
                    "partners": partners,
                    "threads": threads,
                }))
            })
            .await
            .map_err(|m| McpError::invalid_params(m, None))?;
        let name = data["account"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let text = format!(
            "Prepare a co-sell plan for my account \"{name}\".\n\
             Below: the account, my open deals on it with the partners that can help each (signal: the account is the partner's customer > open opportunity > prospect), the partners that have the account (their Partner Score label, their populations holding it, and the fields of their record they share with me, such as an owner), and my threads with partners about it.\n\
             Write the plan: the partners to involve and why (their relationship to the account), whom to contact at each (owners where shared), what to ask each partner for, the first three actions with owners, and what data is missing (where a partner shares only counts, suggest create_share_request; where no thread exists, offer create_thread). {}\n\
             Data (JSON): {}",
            super::toolsets::PARTNER_SUPPLIED_NOTE,
            compact(&data)
        );
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(format!("Co-sell plan for {name}")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_become_windows() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(
            quarter_window("2026-Q4"),
            Ok((d(2026, 10, 1), d(2026, 12, 31)))
        );
        assert_eq!(
            quarter_window("2024-q1"),
            Ok((d(2024, 1, 1), d(2024, 3, 31)))
        );
        assert_eq!(
            quarter_window(" 2026 Q2 "),
            Ok((d(2026, 4, 1), d(2026, 6, 30)))
        );
        assert!(quarter_window("2026-Q5").is_err());
        assert!(quarter_window("next quarter").is_err());
        assert_eq!(quarter_of(d(2026, 11, 30)), "2026-Q4");
    }
}
