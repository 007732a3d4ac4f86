//! Partner Score (SPEC §5) for every partner of the acting org, in one pass: V's deals are read
//! once (one query), each partner's visible populations are joined once against V's key vectors
//! (cached `pop_keys`), and the same overlaps feed coverage, impact and overlap counts. The math
//! is in [`crate::scoring`].

use super::Engine;
use super::access::{PartnerRef, Relationship};
use crate::error::{Result, invalid};
use crate::matching::{Member, PopKeys};
use crate::model::{
    Actor, PartnershipStatus, PopulationType, RequestDirection, ShareRequestStatus, SharingLevel,
    SourceKind,
};
use crate::scoring::{self, ClosedDeal, Label, Metrics, MetricsAcc, Ratios};
use crate::store;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The score window: 365 days ending at `as_of` (close dates after `as_of - 365` and up to
/// `as_of`, inclusive).
pub const WINDOW_DAYS: i64 = 365;

// Why a score is Unknown or None: a code and a sentence.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct Reason {
    /// explorer_plan, no_crm_source, deals_missing_fields, no_customers_population, partnership_not_active, partner_no_customers, partner_not_sharing_customers (Unknown); too_few_won_deals, zero_impact (None).
    pub code: &'static str,
    /// What is wrong and what to do about it.
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerId {
    pub id: i64,
    pub name: String,
}

impl crate::text::Named for PartnerId {
    fn id(&self) -> i64 {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// An outgoing share request still waiting for the partner's answer.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PendingRequest {
    /// The request's id (withdraw_share_request takes it).
    pub id: i64,
    /// The level asked for.
    #[schemars(with = "String")]
    pub level: SharingLevel,
    pub created_at: String,
}

// The metrics with the partner (deals on V's accounts that are P's customers) and without.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct SideMetrics {
    /// Your deals on accounts that are the partner's customers.
    pub with: Metrics,
    /// All your other deals (the baseline).
    pub base: Metrics,
}

/// What a cached set of scores was computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScoreCacheKey {
    org: i64,
    as_of: NaiveDate,
    version: i64,
}

// One partner's Partner Score with its whole breakdown, numbers rounded as they serialize.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PartnerScore {
    /// The partner: {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PartnerId,
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub offline: bool,
    /// High, Medium, Low (scored), None (computable but no signal) or Unknown (cannot be computed).
    #[schemars(with = "String")]
    pub label: Label,
    /// Why the label is Unknown (every reason that applies) or None; absent for High/Medium/Low.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// A share request you sent this partner that is still pending: do not ask again, wait or follow up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_share_request: Option<PendingRequest>,
    /// 0.7 × impact_percentile + 0.3 × coverage_percentile (0-100): High at 66.7 and above, Low below 33.3.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_pct_opt"
    )]
    pub s: Option<f64>,
    /// Mean of the natural logs of the three ratios; above 0 means your deals do better with the partner.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_sig3_opt"
    )]
    pub impact: Option<f64>,
    /// Of your customers and open-opportunity accounts that overlap any partner, the share (0-100) that overlap this one.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_pct_opt"
    )]
    pub coverage_pct: Option<f64>,
    /// Mid-rank percentile (0-100) of impact among your partners with a High/Medium/Low label.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_pct_opt"
    )]
    pub impact_percentile: Option<f64>,
    /// Mid-rank percentile (0-100) of coverage among the same partners.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_pct_opt"
    )]
    pub coverage_percentile: Option<f64>,
    /// Deal metrics with the partner and without (the baseline); absent when Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SideMetrics>,
    /// The clamped ratios behind impact; absent when Unknown or when the partner side has no closed or no won deal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratios: Option<Ratios>,
    /// Won deals, closed in the window, on your accounts that are the partner's customers (10 needed for a score).
    pub won_deals_with_partner: usize,
    /// Distinct accounts of yours overlapping any population of the partner you can see.
    pub overlap_count: usize,
    /// Win rate with ÷ win rate without, unclamped; absent when either is missing or the baseline is 0.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_sig3_opt"
    )]
    pub win_rate_lift: Option<f64>,
    /// The last day of the 365-day window.
    pub as_of: String,
    /// The first day of the window.
    pub window_start: String,
}

fn reason(code: &'static str, message: String) -> Reason {
    Reason { code, message }
}

/// What was learned about one partner in the single pass.
struct PartnerPass {
    partner: PartnerRef,
    reasons: Vec<Reason>,
    /// V's deal records that overlap P's customers (shared at overlaps/full).
    with_records: HashSet<i64>,
    covered: HashSet<i64>,
    overlap: HashSet<i64>,
    active: bool,
}

fn union_keys(keys: &[std::sync::Arc<PopKeys>]) -> PopKeys {
    PopKeys::new(
        keys.iter()
            .flat_map(|k| k.members().iter().copied())
            .collect(),
    )
}

impl Engine {
    /// Partner Score for every partner of the actor's org, in one pass. The result is kept for
    /// the next call until anything in the database changes (every write adds an audit event,
    /// in this process or another, so the newest audit id is the cache's version).
    pub fn scores(&self, actor: &Actor, as_of: Option<NaiveDate>) -> Result<Vec<PartnerScore>> {
        let as_of = as_of.unwrap_or_else(|| self.today());
        let key = ScoreCacheKey {
            org: actor.org.id,
            as_of,
            version: store::change_stamp(&self.conn)?,
        };
        if let Some((k, v)) = self.score_cache.borrow().as_ref()
            && *k == key
        {
            return Ok(v.as_ref().clone());
        }
        let scores = self.compute_scores(actor, as_of)?;
        *self.score_cache.borrow_mut() = Some((key, Arc::new(scores.clone())));
        Ok(scores)
    }

    fn compute_scores(&self, actor: &Actor, as_of: NaiveDate) -> Result<Vec<PartnerScore>> {
        let window_start = as_of - chrono::Duration::days(WINDOW_DAYS);
        let partners = self.partners_of(actor)?;

        // V-level reasons.
        let mut v_reasons = Vec::new();
        if !self.plan_limits(actor.org.plan)?.partner_score {
            v_reasons.push(reason(
                "explorer_plan",
                format!(
                    "{} is on the {} plan, which has no Partner Score; upgrade to connector or above.",
                    actor.org.name, actor.org.plan
                ),
            ));
        }
        let sources = store::records::sources_of(&self.conn, actor.org.id)?;
        let has_crm = sources.iter().any(|s| s.kind == SourceKind::Crm);
        if !has_crm {
            v_reasons.push(reason(
                "no_crm_source",
                format!(
                    "{} has no CRM data source: import accounts and opportunities with import_crm.",
                    actor.org.name
                ),
            ));
        }
        let fx = self.fx_table()?;
        let deals = store::opportunities::of_org(&self.conn, actor.org.id)?;
        let mut lacking: HashMap<&'static str, usize> = HashMap::new();
        let mut closed: Vec<(i64, ClosedDeal)> = Vec::new();
        for d in &deals {
            let Some(is_closed) = d.is_closed else {
                *lacking.entry("is_closed").or_default() += 1;
                continue;
            };
            if !is_closed {
                continue;
            }
            let open = d.open_date.as_deref().and_then(parse_day);
            let close = d.close_date.as_deref().and_then(parse_day);
            let usd = d
                .amount
                .and_then(|a| fx.to_usd(a, d.currency.as_deref().unwrap_or("USD")));
            let mut missing = false;
            for (field, absent) in [
                ("name", d.name.is_none()),
                ("stage", d.stage.is_none()),
                ("amount", usd.is_none()),
                ("open_date", open.is_none()),
                ("close_date", close.is_none()),
                ("is_won", d.is_won.is_none()),
            ] {
                if absent {
                    *lacking.entry(field).or_default() += 1;
                    missing = true;
                }
            }
            if missing {
                continue;
            }
            let (open, close) = (open.unwrap(), close.unwrap());
            if close > window_start && close <= as_of {
                closed.push((
                    d.record_id,
                    ClosedDeal {
                        won: d.is_won == Some(true),
                        amount_usd: usd.unwrap_or(0.0),
                        days: (close - open).num_days() as f64,
                    },
                ));
            }
        }
        if !lacking.is_empty() {
            let mut l: Vec<_> = lacking.into_iter().collect();
            l.sort();
            v_reasons.push(reason(
                "deals_missing_fields",
                format!(
                    "{}'s deals lack fields Partner Score needs ({}); re-import the CRM export with stage, name, amount, open_date, close_date, is_won and is_closed filled in.",
                    actor.org.name,
                    l.iter()
                        .map(|(f, n)| format!("{f} missing on {n} deal{}", if *n == 1 { "" } else { "s" }))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let own = store::populations::of_org(&self.conn, actor.org.id)?;
        if !own.iter().any(|p| p.pop_type == PopulationType::Customers) {
            v_reasons.push(reason(
                "no_customers_population",
                format!(
                    "{} has no customers population: create one (type customers) with create_population.",
                    actor.org.name
                ),
            ));
        }

        // V's key vectors, built once.
        let keys_of = |pred: &dyn Fn(PopulationType) -> bool| -> Result<PopKeys> {
            let ks = own
                .iter()
                .filter(|p| pred(p.pop_type))
                .map(|p| self.pop_keys(p.id))
                .collect::<Result<Vec<_>>>()?;
            Ok(union_keys(&ks))
        };
        let v_cov = keys_of(&|t| {
            matches!(
                t,
                PopulationType::Customers | PopulationType::OpenOpportunities
            )
        })?;
        // Every record of V (all data sources), for overlap counts.
        let v_all = {
            let mut entries = Vec::new();
            for s in &sources {
                entries.extend(store::records::keys_of_source(&self.conn, s.id)?);
            }
            PopKeys::new(entries)
        };
        let v_deals = {
            let mut seen = HashSet::new();
            PopKeys::new(
                deals
                    .iter()
                    .filter(|d| seen.insert(d.record_id))
                    .map(|d| Member {
                        record_id: d.record_id,
                        domain: d.domain_fp,
                        name: d.name_fp,
                    })
                    .collect(),
            )
        };

        // One join per visible partner population, shared by coverage, impact and overlap.
        let mut passes = Vec::with_capacity(partners.len());
        let mut covered_any: HashSet<i64> = HashSet::new();
        for p in partners {
            let mut pass = PartnerPass {
                reasons: Vec::new(),
                with_records: HashSet::new(),
                covered: HashSet::new(),
                overlap: HashSet::new(),
                active: p.status() == PartnershipStatus::Active,
                partner: p,
            };
            if !pass.active {
                pass.reasons.push(reason(
                    "partnership_not_active",
                    format!(
                        "The partnership is {}, not active: there is no shared data to score.",
                        pass.partner.status()
                    ),
                ));
                passes.push(pass);
                continue;
            }
            let visible = self.visible_populations(actor, &pass.partner)?;
            let (mut has_customers, mut shares_customers) = (false, false);
            for v in &visible {
                let keys = self.pop_keys(v.population.id)?;
                pass.covered.extend(v_cov.matched_ids(&keys));
                pass.overlap.extend(v_all.matched_ids(&keys));
                if v.population.pop_type == PopulationType::Customers {
                    has_customers = true;
                    if v.sharing.level >= SharingLevel::Overlaps {
                        shares_customers = true;
                        pass.with_records.extend(v_deals.matched_ids(&keys));
                    }
                }
            }
            covered_any.extend(pass.covered.iter().copied());
            if !has_customers {
                // A share request can only name a population the requester sees, so the advice
                // is what actually works: the partner must define and share one (offline: you do).
                let fix = if pass.partner.is_offline() {
                    "Upload its customer list with upload_partner_csv, then create_population type customers with this partner; Partner Score needs it."
                } else {
                    "It has none, or hides it from you: ask the partner's admin to create a customers population and share it with you at 'overlaps' (their set_sharing). A share request cannot name a population you cannot see."
                };
                pass.reasons.push(reason(
                    "partner_no_customers",
                    format!("The partner has no customers population that you can see. {fix}"),
                ));
            } else if !shares_customers {
                pass.reasons.push(reason(
                    "partner_not_sharing_customers",
                    "The partner shares its customers population with you at 'counts' only; Partner Score needs 'overlaps' or 'full'. Ask for it with create_share_request (population: its customers population, level overlaps).".to_string(),
                ));
            }
            passes.push(pass);
        }

        // Metrics, ratios and impact per partner; then percentiles among the scored.
        let mut out: Vec<PartnerScore> = Vec::with_capacity(passes.len());
        for pass in &passes {
            let mut reasons = v_reasons.clone();
            reasons.extend(pass.reasons.iter().cloned());
            let coverage =
                (pass.active).then(|| scoring::coverage_pct(pass.covered.len(), covered_any.len()));
            let mut score = PartnerScore {
                partner: PartnerId {
                    id: pass.partner.org.id,
                    name: pass.partner.org.name.clone(),
                },
                offline: pass.partner.is_offline(),
                pending_share_request: None,
                label: Label::Unknown,
                reasons: Vec::new(),
                impact: None,
                coverage_pct: coverage,
                impact_percentile: None,
                coverage_percentile: None,
                s: None,
                metrics: None,
                ratios: None,
                won_deals_with_partner: 0,
                overlap_count: pass.overlap.len(),
                win_rate_lift: None,
                as_of: as_of.to_string(),
                window_start: (window_start + chrono::Duration::days(1)).to_string(),
            };
            if !reasons.is_empty() {
                score.reasons = reasons;
                out.push(score);
                continue;
            }
            let (mut with, mut base) = (MetricsAcc::default(), MetricsAcc::default());
            for (record, d) in &closed {
                if pass.with_records.contains(record) {
                    with.add(d);
                } else {
                    base.add(d);
                }
            }
            let (with, base) = (with.finish(), base.finish());
            let ratios = scoring::ratios(&with, &base);
            let impact = scoring::impact(&ratios);
            score.won_deals_with_partner = with.won_deals;
            score.win_rate_lift = match (with.win_rate, base.win_rate) {
                (Some(w), Some(b)) if b > 0.0 => Some(w / b),
                _ => None,
            };
            score.metrics = Some(SideMetrics { with, base });
            score.label = Label::None;
            if with.won_deals < scoring::MIN_WON_WITH {
                score.reasons.push(reason(
                    "too_few_won_deals",
                    format!(
                        "Only {} won deal{} closed in the window on your accounts that are the partner's customers; a score needs at least {}.",
                        with.won_deals,
                        if with.won_deals == 1 { "" } else { "s" },
                        scoring::MIN_WON_WITH
                    ),
                ));
            } else if scoring::is_zero_impact(impact) {
                score.reasons.push(reason(
                    "zero_impact",
                    "Deals on the partner's customers do exactly as well as the rest (impact 0)."
                        .to_string(),
                ));
            } else {
                score.label = Label::Medium; // placeholder until percentiles are known
            }
            // SPEC §5: a ratio whose partner side is empty (no closed or no won deal with the
            // partner) is null, and so is impact; the label is None then (fewer than 10 won).
            if with.closed_deals > 0 && with.won_deals > 0 {
                score.ratios = Some(ratios);
                score.impact = Some(impact);
            }
            out.push(score);
        }
        let scored: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].reasons.is_empty() && out[i].label != Label::Unknown)
            .collect();
        let impacts: Vec<f64> = scored
            .iter()
            .map(|&i| out[i].impact.unwrap_or(0.0))
            .collect();
        let covs: Vec<f64> = scored
            .iter()
            .map(|&i| out[i].coverage_pct.unwrap_or(0.0))
            .collect();
        let ip = scoring::mid_rank_percentiles(&impacts);
        let cp = scoring::mid_rank_percentiles(&covs);
        for (k, &i) in scored.iter().enumerate() {
            let s = scoring::blended(ip[k], cp[k]);
            out[i].impact_percentile = Some(ip[k]);
            out[i].coverage_percentile = Some(cp[k]);
            out[i].s = Some(s);
            out[i].label = Label::from_s(s);
        }
        Ok(out)
    }

    /// Partner Score for one partner (computed with all the others: percentiles rank them).
    pub fn partner_score(
        &self,
        actor: &Actor,
        partner: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<PartnerScore> {
        let p = self.resolve_partner(actor, partner)?;
        let mut score = self
            .scores(actor, as_of)?
            .into_iter()
            .find(|s| s.partner.id == p.org.id)
            .ok_or_else(|| invalid(format!("No score for {}.", p.org.name)))?;
        score.pending_share_request = self
            .list_share_requests(
                actor,
                Some(RequestDirection::Outgoing),
                Some(ShareRequestStatus::Pending),
            )?
            .into_iter()
            .find(|r| r.partner.id == p.org.id)
            .map(|r| PendingRequest {
                id: r.id,
                level: r.level,
                created_at: r.created_at,
            });
        Ok(score)
    }

    /// Labels by partner id (for partner lists); empty when scoring fails.
    pub(crate) fn score_labels(&self, actor: &Actor) -> HashMap<i64, Label> {
        match self.scores(actor, None) {
            Ok(v) => v.into_iter().map(|s| (s.partner.id, s.label)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "scoring failed; partner labels left out");
                HashMap::new()
            }
        }
    }
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Whether the relationship allows record-level data at all (used by recommendations).
pub(crate) fn is_active(p: &PartnerRef) -> bool {
    match &p.relationship {
        Relationship::Offline => true,
        Relationship::Partnership(ps) => ps.status == PartnershipStatus::Active,
    }
}

/// Parses an `as_of` argument (YYYY-MM-DD).
pub fn parse_as_of(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(format!("as_of '{text}' is not a date: use YYYY-MM-DD.")))
}
