//! Recommendations built on Partner Score (SPEC §6): the leaderboard, pipeline generation, the
//! deal navigator and account lookup. Record-level answers use only the partner populations the
//! actor may see record by record ([`Engine::record_level_populations`]); `counts` populations
//! never name a record.

use super::Engine;
use super::access::{PartnerRef, VisiblePopulation, list_or_none};
use super::score::{is_active, parse_as_of};
use crate::error::{Error, Result, invalid, not_found};
use crate::matching::{KeyKind, Member, PopKeys, domain_key, explain, name_key};
use crate::model::{Actor, PopulationType, Record, SharingLevel};
use crate::scoring::Label;
use crate::shape;
use crate::store;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// How the leaderboard is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopSort {
    /// Label (High > Medium > Low > None > Unknown), then s, then coverage.
    #[default]
    Score,
    /// Overlap count (distinct records of yours overlapping the partner).
    Overlap,
    Coverage,
    /// Win rate with the partner ÷ win rate without.
    WinRateLift,
}

impl FromStr for TopSort {
    type Err = Error;
    fn from_str(s: &str) -> Result<TopSort> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "" | "score" | "label" | "s" => Ok(TopSort::Score),
            "overlap" | "overlaps" | "overlap_count" => Ok(TopSort::Overlap),
            "coverage" | "coverage_pct" => Ok(TopSort::Coverage),
            "win_rate_lift" | "lift" | "win_rate" => Ok(TopSort::WinRateLift),
            _ => Err(invalid(format!(
                "'{s}' is not a sort order; use score, overlap_count, coverage or win_rate_lift."
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct TopPartner {
    pub id: i64,
    /// {name}: the partner's name.
    #[serde(rename = "partner_supplied", serialize_with = "crate::text::as_name")]
    #[schemars(with = "crate::text::Name")]
    pub name: String,
    #[serde(skip_serializing_if = "shape::is_false")]
    pub offline: bool,
    /// High, Medium, Low, None or Unknown.
    #[schemars(with = "String")]
    pub label: Label,
    /// 0-100; only for High/Medium/Low.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_pct_opt"
    )]
    pub s: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_sig3_opt"
    )]
    pub impact: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_pct_opt"
    )]
    pub coverage_pct: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_pct_opt"
    )]
    pub impact_percentile: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_pct_opt"
    )]
    pub coverage_percentile: Option<f64>,
    pub overlap_count: usize,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_sig3_opt"
    )]
    pub win_rate_lift: Option<f64>,
    #[serde(skip_serializing_if = "shape::is_zero")]
    pub won_deals_with_partner: usize,
    /// Reason codes for Unknown / None (partner_score explains each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<&'static str>,
}

/// One of your accounts.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct AccountRef {
    /// The record id of your account (pass it as `account` to account_lookup).
    pub id: i64,
    #[serde(serialize_with = "shape::as_clean")]
    pub name: String,
    /// The registrable domain it is matched on, if any.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub domain: Option<String>,
    /// The website as imported, when it says more than the domain.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub website: Option<String>,
}

impl AccountRef {
    pub(crate) fn of(r: &Record) -> AccountRef {
        AccountRef {
            id: r.id,
            name: r.name.clone(),
            website: website_unless_domain(&r.website, r.domain_key.as_deref()),
            domain: r.domain_key.clone(),
        }
    }

    /// The website, or the domain when the website says no more.
    pub fn site(&self) -> &str {
        self.website
            .as_deref()
            .or(self.domain.as_deref())
            .unwrap_or("")
    }
}

/// A website worth showing beside the domain: None when it is only the domain again.
fn website_unless_domain(website: &str, domain: Option<&str>) -> Option<String> {
    let w = website.trim();
    let bare = w
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .trim_end_matches('/');
    match domain {
        _ if w.is_empty() => None,
        Some(d) if bare.eq_ignore_ascii_case(d) => None,
        _ => Some(w.to_string()),
    }
}

// A partner that has an account of pipeline generation: the partner population the account is
// in (customers before open_opportunities).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PipelinePartner {
    pub id: i64,
    /// The partner's Partner Score label.
    #[schemars(with = "String")]
    pub label: Label,
    /// customers or open_opportunities: the type of the partner's population the account is in.
    #[schemars(with = "String")]
    pub population_type: PopulationType,
    /// {name, partner_population}: the partner's name and its population's name.
    #[serde(rename = "partner_supplied")]
    pub text: crate::text::PartnerPopulationText,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PipelineAccount {
    pub record: AccountRef,
    /// The partners that have the account as a customer or open opportunity, best label first (at most 3).
    #[serde(serialize_with = "shape::as_first3")]
    pub partners: Vec<PipelinePartner>,
    /// Partners left out of `partners`.
    #[serde(skip_serializing_if = "shape::is_zero")]
    pub partners_more: usize,
    /// The account is a customer of two or more High partners: start here.
    #[serde(skip_serializing_if = "shape::is_false")]
    pub top_prospect: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    /// The populations of yours searched.
    pub populations: Vec<String>,
    pub total: usize,
    pub accounts: Vec<PipelineAccount>,
    pub truncated: bool,
}

/// Why a partner is recommended for a deal, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Prospect,
    OpenOpportunity,
    Customer,
}

impl Signal {
    fn of(t: PopulationType) -> Option<Signal> {
        match t {
            PopulationType::Customers => Some(Signal::Customer),
            PopulationType::OpenOpportunities => Some(Signal::OpenOpportunity),
            PopulationType::Prospects => Some(Signal::Prospect),
            PopulationType::Custom => None,
        }
    }
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Customer => "customer",
            Signal::OpenOpportunity => "open_opportunity",
            Signal::Prospect => "prospect",
        }
    }
}

impl FromStr for Signal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Signal> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "customer" | "customers" => Ok(Signal::Customer),
            "open_opportunity" | "open_opportunities" | "opportunity" => {
                Ok(Signal::OpenOpportunity)
            }
            "prospect" | "prospects" => Ok(Signal::Prospect),
            _ => Err(invalid(format!(
                "'{s}' is not a signal; use customer, open_opportunity or prospect."
            ))),
        }
    }
}

/// Parses a Partner Score label (High, Medium, Low, None, Unknown), any case.
pub fn parse_label(s: &str) -> Result<Label> {
    match s.trim().to_ascii_lowercase().as_str() {
        "high" => Ok(Label::High),
        "medium" => Ok(Label::Medium),
        "low" => Ok(Label::Low),
        "none" => Ok(Label::None),
        "unknown" => Ok(Label::Unknown),
        _ => Err(invalid(format!(
            "'{s}' is not a Partner Score label; use High, Medium, Low, None or Unknown."
        ))),
    }
}

/// How the deal navigator orders deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DealSort {
    /// Strongest partner signal first, then the number of partners, then amount (the default).
    #[default]
    Help,
    /// Largest USD amount first.
    Amount,
    /// Soonest close date first.
    CloseDate,
}

impl FromStr for DealSort {
    type Err = Error;
    fn from_str(s: &str) -> Result<DealSort> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "" | "help" | "signal" | "strength" => Ok(DealSort::Help),
            "amount" | "amount_usd" | "size" => Ok(DealSort::Amount),
            "close_date" | "close" | "closing" => Ok(DealSort::CloseDate),
            _ => Err(invalid(format!(
                "'{s}' is not a deal sort order; use help, amount or close_date."
            ))),
        }
    }
}

/// What the deal navigator lists: every filter narrows, none widens. `partner`, `label` and
/// `signal` keep only the recommendations that match them, and only the deals left with one.
#[derive(Debug, Clone, Default)]
pub struct DealQuery {
    /// One of the actor's accounts: its id, domain or name.
    pub account: Option<String>,
    /// A partner: id, name or domain.
    pub partner: Option<String>,
    pub label: Option<Label>,
    pub signal: Option<Signal>,
    /// The deal's stage, case-insensitive.
    pub stage: Option<String>,
    pub min_amount_usd: Option<f64>,
    pub max_amount_usd: Option<f64>,
    /// Close dates from / to, inclusive.
    pub close_from: Option<NaiveDate>,
    pub close_to: Option<NaiveDate>,
    /// Only deals at least one partner can help with.
    pub only_with_help: bool,
    pub sort: DealSort,
}

impl DealQuery {
    fn narrows_recommendations(&self) -> bool {
        self.partner.is_some() || self.label.is_some() || self.signal.is_some()
    }
}

// Totals over every deal the query matched (all pages), in whole USD at the current rates
// (deals without a convertible amount count as 0).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct DealSummary {
    /// Deals matched.
    pub deals: usize,
    /// Of those, the deals at least one partner can help with.
    pub deals_with_help: usize,
    /// Their total amount, whole USD at the current rates.
    #[serde(serialize_with = "shape::as_money")]
    #[schemars(with = "i64")]
    pub amount_usd: f64,
    /// The total amount of the deals with help, whole USD.
    #[serde(rename = "with_help_amount_usd", serialize_with = "shape::as_money")]
    #[schemars(with = "i64")]
    pub amount_usd_with_help: f64,
}

/// How pipeline generation orders accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineSort {
    /// Top prospects first, then the number of partners (the default).
    #[default]
    Partners,
    /// The best partner label first, then the number of partners.
    Label,
}

impl FromStr for PipelineSort {
    type Err = Error;
    fn from_str(s: &str) -> Result<PipelineSort> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "" | "partners" | "partner_count" | "top_prospect" => Ok(PipelineSort::Partners),
            "label" | "score" => Ok(PipelineSort::Label),
            _ => Err(invalid(format!(
                "'{s}' is not a pipeline sort order; use partners or label."
            ))),
        }
    }
}

/// What pipeline generation searches and keeps.
#[derive(Debug, Clone, Default)]
pub struct PipelineQuery {
    /// One of the actor's populations instead of its prospects.
    pub population: Option<String>,
    /// Only accounts this partner (id, name or domain) has.
    pub partner: Option<String>,
    /// Only partners with this Partner Score label.
    pub label: Option<Label>,
    /// Only the partners' customers or open_opportunities.
    pub partner_population_type: Option<PopulationType>,
    pub sort: PipelineSort,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct DealRecommendation {
    /// {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PartnerBrief,
    /// Why this partner: customer (the account is their customer) > open_opportunity > prospect.
    #[schemars(with = "String")]
    pub signal: Signal,
    // The partner's population holding the account (the CLI shows it; the label and signal say
    // enough to a model).
    #[serde(skip)]
    pub partner_population: String,
    /// The partner's Partner Score label, as context (not the ranking key).
    #[schemars(with = "String")]
    pub label: Label,
    /// The last message of a thread with this partner about the account, when in the last 90 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_thread_at: Option<String>,
}

impl DealRecommendation {
    /// A thread with the partner about this account had a message in the last 90 days.
    pub fn recent_thread_activity(&self) -> bool {
        self.recent_thread_at.is_some()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerBrief {
    pub id: i64,
    pub name: String,
}

impl crate::text::Named for PartnerBrief {
    fn id(&self) -> i64 {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct OpportunityView {
    pub id: i64,
    // The CRM's id and the open date: kept for callers, not shown.
    #[serde(skip)]
    pub external_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub name: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub stage: Option<String>,
    /// Whole units of `currency`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_money_opt"
    )]
    #[schemars(with = "Option<i64>")]
    pub amount: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub currency: Option<String>,
    /// The amount in whole USD at the current exchange rates (absent when the currency is USD).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_money_opt"
    )]
    #[schemars(with = "Option<i64>")]
    pub amount_usd: Option<f64>,
    #[serde(skip)]
    pub open_date: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub close_date: Option<String>,
}

impl OpportunityView {
    /// The amount in USD: `amount` for a deal in USD, else `amount_usd` (None without a rate).
    pub fn usd_amount(&self) -> Option<f64> {
        if self
            .currency
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("USD"))
        {
            self.amount
        } else {
            self.amount_usd
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct NavigatorItem {
    pub opportunity: OpportunityView,
    pub account: AccountRef,
    /// Strongest signal first, then recent thread activity (at most 3).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "shape::as_first3"
    )]
    pub recommendations: Vec<DealRecommendation>,
    /// Partners left out of `recommendations`.
    #[serde(skip_serializing_if = "shape::is_zero")]
    pub recommendations_more: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DealNavigator {
    /// The actor's open opportunities, before any filter.
    pub open_opportunities: usize,
    /// Totals over the deals the query matched.
    pub summary: DealSummary,
    pub opportunities: Vec<NavigatorItem>,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct LookupPopulation {
    pub id: i64,
    /// prospects, customers, open_opportunities or custom.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub pop_type: PopulationType,
    /// overlaps or full: the level the partner shares it with you at.
    #[schemars(with = "String")]
    pub sharing_level: SharingLevel,
    #[serde(rename = "partner_supplied", serialize_with = "crate::text::as_name")]
    #[schemars(with = "crate::text::Name")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct LookupPartner {
    /// {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PartnerBrief,
    #[schemars(with = "String")]
    pub label: Label,
    /// The partner's populations that hold the account (only those shared with you record by record).
    pub partner_populations: Vec<LookupPopulation>,
    /// {visible_fields, partner_record}: the fields of the partner's record you may see (`*` = all: an offline partner you manage), and the record limited to them.
    #[serde(
        rename = "partner_supplied",
        skip_serializing_if = "LookupText::is_empty"
    )]
    pub text: LookupText,
}

// What the partner shares of its record of the account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct LookupText {
    // The fields of the partner's record you may see (`*` = all: an offline partner).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::text::as_supplied_all"
    )]
    #[schemars(with = "Vec<crate::text::Supplied>")]
    pub visible_fields: Vec<String>,
    // The partner's record, limited to the visible fields.
    #[serde(
        skip_serializing_if = "Map::is_empty",
        serialize_with = "crate::text::as_supplied_fields"
    )]
    #[schemars(with = "crate::text::SuppliedFields")]
    pub partner_record: Map<String, Value>,
}

impl LookupText {
    fn is_empty(&self) -> bool {
        self.visible_fields.is_empty() && self.partner_record.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountLookup {
    pub account: AccountRef,
    /// Your record's other fields.
    #[serde(
        skip_serializing_if = "Map::is_empty",
        serialize_with = "shape::as_clean_fields"
    )]
    pub fields: Map<String, Value>,
    #[serde(skip_serializing_if = "shape::is_false")]
    pub fields_truncated: bool,
    /// The key the account is matched on (domain or normalized name); absent when it has none.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shape::as_clean_opt"
    )]
    pub matched_on: Option<String>,
    /// Partners that have the account, best label first; partners sharing only counts never appear.
    #[serde(serialize_with = "shape::as_first")]
    pub partners: Vec<LookupPartner>,
    #[serde(skip_serializing_if = "shape::is_false")]
    pub partners_truncated: bool,
}

/// Days of thread silence after which activity is no longer "recent".
pub const RECENT_THREAD_DAYS: i64 = 90;

impl Engine {
    /// The leaderboard: partners (active or offline) ranked per `sort`.
    pub fn top_partners(
        &self,
        actor: &Actor,
        sort: TopSort,
        limit: usize,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<TopPartner>> {
        let partners: HashMap<i64, bool> = self
            .partners_of(actor)?
            .iter()
            .map(|p| (p.org.id, is_active(p)))
            .collect();
        let mut v: Vec<TopPartner> = self
            .scores(actor, as_of)?
            .into_iter()
            .filter(|s| partners.get(&s.partner.id) == Some(&true))
            .map(|s| TopPartner {
                id: s.partner.id,
                name: s.partner.name,
                offline: s.offline,
                label: s.label,
                s: s.s,
                impact: s.impact,
                coverage_pct: s.coverage_pct,
                impact_percentile: s.impact_percentile,
                coverage_percentile: s.coverage_percentile,
                overlap_count: s.overlap_count,
                win_rate_lift: s.win_rate_lift,
                won_deals_with_partner: s.won_deals_with_partner,
                reasons: s.reasons.iter().map(|r| r.code).collect(),
            })
            .collect();
        let f = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
        let by_score = |a: &TopPartner, b: &TopPartner| {
            b.label
                .cmp(&a.label)
                .then(f(b.s).total_cmp(&f(a.s)))
                .then(f(b.coverage_pct).total_cmp(&f(a.coverage_pct)))
        };
        v.sort_by(|a, b| {
            match sort {
                TopSort::Score => by_score(a, b),
                TopSort::Overlap => b.overlap_count.cmp(&a.overlap_count).then(by_score(a, b)),
                TopSort::Coverage => f(b.coverage_pct)
                    .total_cmp(&f(a.coverage_pct))
                    .then(by_score(a, b)),
                TopSort::WinRateLift => f(b.win_rate_lift)
                    .total_cmp(&f(a.win_rate_lift))
                    .then(by_score(a, b)),
            }
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        v.truncate(limit);
        Ok(v)
    }

    /// Active/offline partners with the populations the actor may see record by record.
    fn record_level_partners(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(PartnerRef, Vec<VisiblePopulation>)>> {
        let mut out = Vec::new();
        for p in self.partners_of(actor)? {
            if is_active(&p) {
                let pops = self.record_level_populations(actor, &p)?;
                out.push((p, pops));
            }
        }
        Ok(out)
    }

    /// V's prospects (or a named population of V's) that are customers or open opportunities
    /// of partners, with the partners behind each; top prospects (customers of 2+ High
    /// partners) first.
    pub fn pipeline_generation(
        &self,
        actor: &Actor,
        q: &PipelineQuery,
        limit: usize,
    ) -> Result<Pipeline> {
        if q.partner_population_type.is_some_and(|t| {
            !matches!(
                t,
                PopulationType::Customers | PopulationType::OpenOpportunities
            )
        }) {
            return Err(invalid(
                "Pipeline generation uses partners' customers and open_opportunities; give one of those as the partner population type.",
            ));
        }
        let only_partner = match q.partner.as_deref() {
            Some(p) => Some(self.resolve_partner(actor, p)?.org.id),
            None => None,
        };
        let pops = match q.population.as_deref() {
            Some(p) => vec![self.resolve_own_population(actor, p)?],
            None => {
                let all = store::populations::of_org(&self.conn, actor.org.id)?;
                let prospects: Vec<_> = all
                    .iter()
                    .filter(|p| p.pop_type == PopulationType::Prospects)
                    .cloned()
                    .collect();
                if prospects.is_empty() {
                    return Err(not_found(format!(
                        "{} has no prospects population. Create one (type prospects) or name a population; yours: {}.",
                        actor.org.name,
                        list_or_none(all.iter().map(|p| p.name.clone()))
                    )));
                }
                prospects
            }
        };
        let keys = {
            let ks = pops
                .iter()
                .map(|p| self.pop_keys(p.id))
                .collect::<Result<Vec<_>>>()?;
            PopKeys::new(
                ks.iter()
                    .flat_map(|k| k.members().iter().copied())
                    .collect(),
            )
        };
        let labels = self.score_labels(actor);
        // record id -> partner id -> (type, population name)
        let mut hits: HashMap<i64, BTreeMap<i64, (PopulationType, String, String)>> =
            HashMap::new();
        for (p, visible) in self.record_level_partners(actor)? {
            if only_partner.is_some_and(|id| id != p.org.id)
                || q.label
                    .is_some_and(|l| labels.get(&p.org.id).copied().unwrap_or(Label::Unknown) != l)
            {
                continue;
            }
            for v in visible.iter().filter(|v| {
                matches!(
                    v.population.pop_type,
                    PopulationType::Customers | PopulationType::OpenOpportunities
                ) && q
                    .partner_population_type
                    .is_none_or(|t| t == v.population.pop_type)
            }) {
                let theirs = self.pop_keys(v.population.id)?;
                for m in keys.overlapping(&theirs) {
                    let e = hits.entry(m.mine.record_id).or_default();
                    let cur = e.entry(p.org.id).or_insert((
                        v.population.pop_type,
                        v.population.name.clone(),
                        p.org.name.clone(),
                    ));
                    if v.population.pop_type == PopulationType::Customers
                        && cur.0 != PopulationType::Customers
                    {
                        *cur = (
                            v.population.pop_type,
                            v.population.name.clone(),
                            p.org.name.clone(),
                        );
                    }
                }
            }
        }
        let ids: Vec<i64> = hits.keys().copied().collect();
        let records = store::records::records_by_ids(&self.conn, &ids)?;
        let mut accounts: Vec<PipelineAccount> = records
            .iter()
            .map(|r| {
                let mut partners: Vec<PipelinePartner> = hits[&r.id]
                    .iter()
                    .map(|(id, (t, pop, name))| PipelinePartner {
                        id: *id,
                        label: labels.get(id).copied().unwrap_or(Label::Unknown),
                        population_type: *t,
                        text: crate::text::PartnerPopulationText {
                            name: crate::text::Supplied::new(name.clone()),
                            partner_population: crate::text::Supplied::new(pop.clone()),
                        },
                    })
                    .collect();
                partners.sort_by(|a, b| {
                    b.label.cmp(&a.label).then(
                        a.text
                            .name
                            .0
                            .to_lowercase()
                            .cmp(&b.text.name.0.to_lowercase()),
                    )
                });
                let high_customers = partners
                    .iter()
                    .filter(|p| {
                        p.label == Label::High && p.population_type == PopulationType::Customers
                    })
                    .count();
                PipelineAccount {
                    record: AccountRef::of(r),
                    partners_more: shape::beyond_row(partners.len()),
                    partners,
                    top_prospect: high_customers >= 2,
                }
            })
            .collect();
        let best = |a: &PipelineAccount| a.partners.first().map(|p| p.label);
        accounts.sort_by(|a, b| {
            match q.sort {
                PipelineSort::Partners => b.top_prospect.cmp(&a.top_prospect),
                PipelineSort::Label => best(b).cmp(&best(a)),
            }
            .then(b.top_prospect.cmp(&a.top_prospect))
            .then(b.partners.len().cmp(&a.partners.len()))
            .then(
                a.record
                    .name
                    .to_lowercase()
                    .cmp(&b.record.name.to_lowercase()),
            )
            .then(a.record.id.cmp(&b.record.id))
        });
        let total = accounts.len();
        accounts.truncate(limit);
        Ok(Pipeline {
            populations: pops.iter().map(|p| p.name.clone()).collect(),
            total,
            truncated: total > accounts.len(),
            accounts,
        })
    }

    /// V's open opportunities, each with the partners that can help and the signal behind each.
    pub fn deal_navigator(
        &self,
        actor: &Actor,
        q: &DealQuery,
        limit: usize,
        as_of: Option<NaiveDate>,
    ) -> Result<DealNavigator> {
        let fx = self.fx_table()?;
        if let (Some(lo), Some(hi)) = (q.min_amount_usd, q.max_amount_usd)
            && lo > hi
        {
            return Err(invalid(format!(
                "The amount range is empty: min {lo} is above max {hi}."
            )));
        }
        if let (Some(lo), Some(hi)) = (q.close_from, q.close_to)
            && lo > hi
        {
            return Err(invalid(format!(
                "The close-date range is empty: {lo} is after {hi}."
            )));
        }
        let only_account = match q.account.as_deref() {
            Some(a) => Some(self.resolve_own_account(actor, a)?.id),
            None => None,
        };
        let only_partner = match q.partner.as_deref() {
            Some(p) => Some(self.resolve_partner(actor, p)?.org.id),
            None => None,
        };
        let usd = |d: &store::opportunities::Deal| {
            d.amount
                .and_then(|a| fx.to_usd(a, d.currency.as_deref().unwrap_or("USD")))
        };
        let all_open: Vec<_> = store::opportunities::of_org(&self.conn, actor.org.id)?
            .into_iter()
            .filter(|d| d.is_closed == Some(false))
            .collect();
        let open_total = all_open.len();
        let open: Vec<_> = all_open
            .into_iter()
            .filter(|d| {
                let close = d.close_date.as_deref().and_then(|c| {
                    NaiveDate::parse_from_str(c.get(..10).unwrap_or(c), "%Y-%m-%d").ok()
                });
                only_account.is_none_or(|id| id == d.record_id)
                    && q.stage.as_deref().is_none_or(|st| {
                        d.stage
                            .as_deref()
                            .is_some_and(|x| x.trim().eq_ignore_ascii_case(st.trim()))
                    })
                    && (q.min_amount_usd.is_none() && q.max_amount_usd.is_none()
                        || usd(d).is_some_and(|a| {
                            q.min_amount_usd.is_none_or(|lo| a >= lo)
                                && q.max_amount_usd.is_none_or(|hi| a <= hi)
                        }))
                    && (q.close_from.is_none() && q.close_to.is_none()
                        || close.is_some_and(|c| {
                            q.close_from.is_none_or(|lo| c >= lo)
                                && q.close_to.is_none_or(|hi| c <= hi)
                        }))
            })
            .collect();
        let keys = PopKeys::new(
            open.iter()
                .map(|d| Member {
                    record_id: d.record_id,
                    domain: d.domain_fp,
                    name: d.name_fp,
                })
                .collect(),
        );
        let labels = self.score_labels(actor);
        let now = as_of
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| t.and_utc())
            .unwrap_or_else(|| self.now());
        let threads: HashMap<(i64, i64), String> =
            store::opportunities::last_thread_messages(&self.conn, actor.org.id)?
                .into_iter()
                .map(|(r, o, at)| ((r, o), at))
                .collect();
        // record id -> partner id -> best (signal, population, partner name)
        let mut hits: HashMap<i64, HashMap<i64, (Signal, String, String)>> = HashMap::new();
        for (p, visible) in self.record_level_partners(actor)? {
            if only_partner.is_some_and(|id| id != p.org.id)
                || q.label
                    .is_some_and(|l| labels.get(&p.org.id).copied().unwrap_or(Label::Unknown) != l)
            {
                continue;
            }
            for v in &visible {
                let Some(signal) = Signal::of(v.population.pop_type) else {
                    continue;
                };
                let theirs = self.pop_keys(v.population.id)?;
                for m in keys.overlapping(&theirs) {
                    let e = hits.entry(m.mine.record_id).or_default();
                    let cur = e.entry(p.org.id).or_insert((
                        signal,
                        v.population.name.clone(),
                        p.org.name.clone(),
                    ));
                    if signal > cur.0 {
                        *cur = (signal, v.population.name.clone(), p.org.name.clone());
                    }
                }
            }
        }
        let record_ids: Vec<i64> = {
            let mut v: Vec<i64> = open.iter().map(|d| d.record_id).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let records: HashMap<i64, Record> =
            store::records::records_by_ids(&self.conn, &record_ids)?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        let mut items: Vec<NavigatorItem> = Vec::new();
        for d in &open {
            let Some(r) = records.get(&d.record_id) else {
                continue;
            };
            let mut recs: Vec<DealRecommendation> = hits
                .get(&d.record_id)
                .map(|m| {
                    m.iter()
                        .map(|(pid, (signal, pop, name))| {
                            let last = threads.get(&(d.record_id, *pid)).cloned();
                            let recent =
                                last.as_deref().and_then(super::parse_now).is_some_and(|t| {
                                    t <= now
                                        && now - t <= chrono::Duration::days(RECENT_THREAD_DAYS)
                                });
                            DealRecommendation {
                                partner: PartnerBrief {
                                    id: *pid,
                                    name: name.clone(),
                                },
                                signal: *signal,
                                partner_population: pop.clone(),
                                label: labels.get(pid).copied().unwrap_or(Label::Unknown),
                                recent_thread_at: last.filter(|_| recent),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(sig) = q.signal {
                recs.retain(|r| r.signal == sig);
            }
            if recs.is_empty() && (q.only_with_help || q.narrows_recommendations()) {
                continue;
            }
            recs.sort_by(|a, b| {
                b.signal
                    .cmp(&a.signal)
                    .then(b.recent_thread_activity().cmp(&a.recent_thread_activity()))
                    .then(
                        a.partner
                            .name
                            .to_lowercase()
                            .cmp(&b.partner.name.to_lowercase()),
                    )
            });
            items.push(NavigatorItem {
                opportunity: OpportunityView {
                    id: d.id,
                    external_id: d.external_id.clone(),
                    name: d.name.clone(),
                    stage: d.stage.clone(),
                    amount: d.amount,
                    currency: d.currency.clone(),
                    // absent for a deal in USD: the amount says it (usd_amount reads both)
                    amount_usd: if d
                        .currency
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case("USD"))
                    {
                        None
                    } else {
                        usd(d)
                    },
                    open_date: d.open_date.clone(),
                    close_date: d.close_date.clone(),
                },
                account: AccountRef::of(r),
                recommendations_more: shape::beyond_row(recs.len()),
                recommendations: recs,
            });
        }
        let best = |i: &NavigatorItem| i.recommendations.first().map(|r| r.signal);
        let amount = |i: &NavigatorItem| i.opportunity.usd_amount().unwrap_or(0.0);
        // Deals without a close date sort last by close date.
        let close = |i: &NavigatorItem| {
            i.opportunity
                .close_date
                .clone()
                .unwrap_or_else(|| "9999".into())
        };
        let by_help = |a: &NavigatorItem, b: &NavigatorItem| {
            best(b)
                .cmp(&best(a))
                .then(b.recommendations.len().cmp(&a.recommendations.len()))
        };
        items.sort_by(|a, b| {
            match q.sort {
                DealSort::Help => by_help(a, b).then(amount(b).total_cmp(&amount(a))),
                DealSort::Amount => amount(b).total_cmp(&amount(a)).then(by_help(a, b)),
                DealSort::CloseDate => close(a).cmp(&close(b)).then(by_help(a, b)),
            }
            .then(a.opportunity.id.cmp(&b.opportunity.id))
        });
        let mut summary = DealSummary::default();
        for i in &items {
            summary.deals += 1;
            summary.amount_usd += amount(i);
            if !i.recommendations.is_empty() {
                summary.deals_with_help += 1;
                summary.amount_usd_with_help += amount(i);
            }
        }
        items.truncate(limit);
        Ok(DealNavigator {
            open_opportunities: open_total,
            truncated: summary.deals > items.len(),
            summary,
            opportunities: items,
        })
    }

    /// One of the actor's accounts (by id, domain or name): which partners have it, in which of
    /// their populations, and what the actor may see of it.
    pub fn account_lookup(&self, actor: &Actor, account: &str) -> Result<AccountLookup> {
        let r = self.resolve_own_account(actor, account)?;
        let me = Member {
            record_id: r.id,
            domain: r.domain_fp,
            name: r.name_fp,
        };
        // The name is ambiguous on the actor's side when its records carry it with two or more
        // domains (through the name index; conservative: the whole org, not one population).
        let ambiguous_mine = me.name != 0
            && store::records::name_ambiguous_in_org(&self.conn, actor.org.id, me.name)?;
        let labels = self.score_labels(actor);
        let mut partners = Vec::new();
        let mut matched_kinds: Vec<KeyKind> = Vec::new();
        if me.domain != 0 || me.name != 0 {
            for (p, visible) in self.record_level_partners(actor)? {
                let mut pops = Vec::new();
                let mut theirs: Option<(i64, KeyKind)> = None;
                let mut fields: Vec<String> = Vec::new();
                for v in &visible {
                    let keys = self.pop_keys(v.population.id)?;
                    let Some(m) = keys.match_one(me, ambiguous_mine) else {
                        continue;
                    };
                    pops.push(LookupPopulation {
                        id: v.population.id,
                        name: v.population.name.clone(),
                        pop_type: v.population.pop_type,
                        sharing_level: v.sharing.level,
                    });
                    for f in &v.sharing.fields {
                        if !fields.iter().any(|x| x.eq_ignore_ascii_case(f)) {
                            fields.push(f.clone());
                        }
                    }
                    if theirs.is_none_or(|(_, on)| on == KeyKind::Name && m.on == KeyKind::Domain) {
                        theirs = Some((m.theirs.record_id, m.on));
                    }
                }
                let Some((their_id, on)) = theirs else {
                    continue;
                };
                matched_kinds.push(on);
                let mut shown = Map::new();
                if let Some(rec) = store::records::record(&self.conn, their_id)? {
                    let allowed = |f: &str| {
                        visible.iter().any(|v| {
                            pops.iter().any(|p| p.id == v.population.id) && v.field_allowed(f)
                        })
                    };
                    for (k, val) in [("name", rec.name.clone()), ("website", rec.website.clone())] {
                        if allowed(k) {
                            shown.insert(k.into(), Value::String(val));
                        }
                    }
                    for (k, val) in &rec.fields {
                        if allowed(k) {
                            shown.insert(k.clone(), val.clone());
                        }
                    }
                }
                partners.push(LookupPartner {
                    partner: PartnerBrief {
                        id: p.org.id,
                        name: p.org.name.clone(),
                    },
                    label: labels.get(&p.org.id).copied().unwrap_or(Label::Unknown),
                    partner_populations: pops,
                    text: LookupText {
                        visible_fields: fields,
                        partner_record: shown,
                    },
                });
            }
        }
        partners.sort_by(|a, b| {
            b.label.cmp(&a.label).then(
                a.partner
                    .name
                    .to_lowercase()
                    .cmp(&b.partner.name.to_lowercase()),
            )
        });
        Ok(AccountLookup {
            account: AccountRef::of(&r),
            fields_truncated: r.fields.len() > crate::text::MAX_FIELDS,
            partners_truncated: partners.len() > shape::MAX_LIST,
            fields: r.fields.clone(),
            matched_on: match (&r.domain_key, &r.name_key) {
                (Some(d), _)
                    if !matched_kinds.contains(&KeyKind::Name)
                        || matched_kinds.contains(&KeyKind::Domain) =>
                {
                    Some(explain(KeyKind::Domain, d))
                }
                (_, Some(n)) => Some(explain(KeyKind::Name, n)),
                _ => None,
            },
            partners,
        })
    }

    /// One of the actor's own records by id, domain or name (exact, then unique substring).
    fn resolve_own_account(&self, actor: &Actor, text: &str) -> Result<Record> {
        let t = text.trim();
        if t.is_empty() {
            return Err(invalid("Name an account: its id, domain or company name."));
        }
        if t.chars().count() > super::search::MAX_QUERY {
            return Err(invalid(format!(
                "Name an account by its id, domain or company name (at most {} characters).",
                super::search::MAX_QUERY
            )));
        }
        if let Ok(id) = t.parse::<i64>() {
            return match store::records::record(&self.conn, id)? {
                Some(r) if r.org_id == actor.org.id => Ok(r),
                _ => Err(not_found(format!(
                    "{} has no account with id {id}. Give its id, domain (acme.com) or company name.",
                    actor.org.name
                ))),
            };
        }
        // By domain, then by name key, through the indexes; a substring scan only after that.
        if let Some(d) = domain_key(t) {
            let fp = self.keyer.fingerprint(KeyKind::Domain, &d);
            if let Some(r) = store::records::by_domain_fp(&self.conn, actor.org.id, fp, 50)?
                .into_iter()
                .find(|r| r.domain_key.as_deref() == Some(&d))
            {
                return Ok(r);
            }
        }
        if let Some(n) = name_key(t) {
            let fp = self.keyer.fingerprint(KeyKind::Name, &n);
            let same: Vec<Record> = store::records::by_name_fp(&self.conn, actor.org.id, fp, 50)?
                .into_iter()
                .filter(|r| r.name_key.as_deref() == Some(&n))
                .collect();
            let exact: Vec<&Record> = same
                .iter()
                .filter(|r| r.name.eq_ignore_ascii_case(t))
                .collect();
            match (exact.len(), same.len()) {
                (1, _) => return Ok(exact[0].clone()),
                (0, 1) => return Ok(same[0].clone()),
                (0, 0) => {}
                _ => {
                    let pick: Vec<&Record> = if exact.is_empty() {
                        same.iter().collect()
                    } else {
                        exact
                    };
                    return Err(several(t, &pick));
                }
            }
        }
        // A domain no record carries names no account: no substring scan for it.
        let found = if domain_key(t).is_some() && t.contains('.') && !t.contains(' ') {
            Vec::new()
        } else {
            store::records::search_own(&self.conn, actor.org.id, t, 50)?
        };
        let exact: Vec<&Record> = found
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(t))
            .collect();
        let pick: Vec<&Record> = if exact.is_empty() {
            found.iter().collect()
        } else {
            exact
        };
        match pick.len() {
            1 => Ok(pick[0].clone()),
            0 => Err(not_found(format!(
                "{} has no account '{t}'. Give its id, domain (acme.com) or company name.",
                actor.org.name
            ))),
            _ => Err(several(t, &pick)),
        }
    }
}

fn several(t: &str, pick: &[&Record]) -> Error {
    not_found(format!(
        "'{t}' matches several of your accounts: {}. Use the id or the domain.",
        pick.iter()
            .take(10)
            .map(|r| format!("{} (id {}, {})", r.name, r.id, r.website))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Parses an optional `as_of` argument.
pub fn as_of_arg(text: Option<&str>) -> Result<Option<NaiveDate>> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(parse_as_of)
        .transpose()
}
