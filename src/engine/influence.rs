//! Partner influence (SPEC §6): how much of the acting org's pipeline was opened, won and lost
//! in a period on accounts its partners also have. A deal is *with partner* when its account
//! overlaps a standard population (customers, open opportunities, prospects) of an active
//! partner that the partner shares with the actor record by record (`overlaps` or `full`;
//! offline partners: all). A population shared at `counts` gives overlap figures in the matrix
//! and nothing per deal, so no period or partner filter can isolate one account (SPEC §3).
//! Only totals leave this module: never a partner's record.

use super::Engine;
use super::score::is_active;
use crate::error::{Result, invalid};
use crate::matching::{Member, PopKeys};
use crate::model::{Actor, PopulationType};
use crate::store;
use crate::text::Ref;
use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashSet;

/// The longest period accepted (about ten years): per-period rows stay a short list.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

/// A closed date range, both days included.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct Period {
    /// First day, YYYY-MM-DD.
    #[schemars(with = "String")]
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD (included).
    #[schemars(with = "String")]
    pub to: NaiveDate,
}

impl Period {
    fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// The calendar quarter holding `day`.
    pub fn quarter_of(day: NaiveDate) -> Period {
        let q = (day.month0() / 3) as i32;
        quarter(day.year(), q + 1).expect("a valid quarter")
    }

    /// Parses the period arguments: `period` (`2026-Q4`, `2026-11` or `2026`), or `from`/`to`
    /// (ISO dates; `to` defaults to today), or neither: the quarter holding `today`.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period> {
        let p = match (period, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(invalid(
                    "Give either `period` (2026-Q4, 2026-11 or 2026) or `from`/`to` dates, not both.",
                ));
            }
            (Some(p), None, None) => parse_period(p)?,
            (None, Some(f), t) => Period {
                from: parse_date("from", f)?,
                to: t.map(|t| parse_date("to", t)).transpose()?.unwrap_or(today),
            },
            (None, None, Some(_)) => {
                return Err(invalid(
                    "`to` needs `from` too (YYYY-MM-DD), or give `period` (2026-Q4, 2026-11 or 2026).",
                ));
            }
            (None, None, None) => Period::quarter_of(today),
        };
        if p.from.year() < 1900 || p.to.year() > 2999 {
            return Err(invalid(
                "The period must lie between the years 1900 and 2999.",
            ));
        }
        if p.from > p.to {
            return Err(invalid(format!(
                "The period starts ({}) after it ends ({}); swap `from` and `to`.",
                p.from, p.to
            )));
        }
        if (p.to - p.from).num_days() > MAX_PERIOD_DAYS {
            return Err(invalid(
                "The period is longer than ten years; give a shorter one.",
            ));
        }
        Ok(p)
    }

    /// The calendar months the period touches, as (label `2026-10`, the part of the period in it).
    fn months(&self) -> Vec<(String, Period)> {
        let mut out = Vec::new();
        let mut start = NaiveDate::from_ymd_opt(self.from.year(), self.from.month(), 1)
            .expect("first of a month");
        while start <= self.to {
            let next = next_month(start);
            let end = next.pred_opt().expect("a day before");
            out.push((
                format!("{:04}-{:02}", start.year(), start.month()),
                Period {
                    from: start.max(self.from),
                    to: end.min(self.to),
                },
            ));
            start = next;
        }
        out
    }
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("first of a month")
}

fn quarter(year: i32, q: i32) -> Option<Period> {
    if !(1..=4).contains(&q) {
        return None;
    }
    let from = NaiveDate::from_ymd_opt(year, (q as u32 - 1) * 3 + 1, 1)?;
    let to = next_month(next_month(next_month(from))).pred_opt()?;
    Some(Period { from, to })
}

fn parse_date(what: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(format!("`{what}` '{s}' is not a date: use YYYY-MM-DD.")))
}

fn parse_period(s: &str) -> Result<Period> {
    let t = s.trim().to_ascii_uppercase();
    let bad = || {
        invalid(format!(
            "period '{s}' is not a period: use a quarter (2026-Q4), a month (2026-11) or a year (2026)."
        ))
    };
    let year = |y: &str| -> Result<i32> {
        (y.len() == 4)
            .then(|| y.parse::<i32>().ok())
            .flatten()
            .filter(|y| (1900..=2999).contains(y))
            .ok_or_else(bad)
    };
    if let Some((y, q)) = t.split_once("-Q").or_else(|| t.split_once(" Q")) {
        let q: i32 = q.parse().map_err(|_| bad())?;
        return quarter(year(y)?, q).ok_or_else(bad);
    }
    if let Some((y, m)) = t.split_once('-') {
        let m: u32 = m.parse().map_err(|_| bad())?;
        let from = NaiveDate::from_ymd_opt(year(y)?, m, 1).ok_or_else(bad)?;
        return Ok(Period {
            from,
            to: next_month(from).pred_opt().expect("a day before"),
        });
    }
    let y = year(&t)?;
    Ok(Period {
        from: NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?,
        to: NaiveDate::from_ymd_opt(y, 12, 31).ok_or_else(bad)?,
    })
}

/// How the rows of an influence answer are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[schemars(inline)]
#[serde(rename_all = "snake_case")]
pub enum InfluenceGroup {
    /// One row per partner.
    #[default]
    Partner,
    /// One row per calendar month of the period.
    Period,
}

impl std::str::FromStr for InfluenceGroup {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<InfluenceGroup> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "partner" | "partners" => Ok(InfluenceGroup::Partner),
            "period" | "month" | "months" => Ok(InfluenceGroup::Period),
            _ => Err(invalid(format!(
                "group_by '{s}' is not known; use partner or period."
            ))),
        }
    }
}

/// Deals opened, won and lost, with their amounts in whole USD at the current exchange rates.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
#[schemars(inline)]
pub struct Measures {
    /// Deals whose open date is in the period.
    pub opened: i64,
    /// Their total amount, whole USD.
    pub opened_usd: i64,
    /// Deals closed won with the close date in the period.
    pub won: i64,
    pub won_usd: i64,
    /// Deals closed lost with the close date in the period.
    pub lost: i64,
    pub lost_usd: i64,
    /// won ÷ (won + lost) × 100, one decimal; absent when no deal closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_rate_pct: Option<f64>,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    opened: i64,
    opened_usd: f64,
    won: i64,
    won_usd: f64,
    lost: i64,
    lost_usd: f64,
}

impl Acc {
    fn add(&mut self, d: &DealFacts, p: &Period) {
        if d.open.is_some_and(|o| p.contains(o)) {
            self.opened += 1;
            self.opened_usd += d.usd;
        }
        if d.close.is_some_and(|c| p.contains(c)) {
            match d.won {
                Some(true) => {
                    self.won += 1;
                    self.won_usd += d.usd;
                }
                Some(false) => {
                    self.lost += 1;
                    self.lost_usd += d.usd;
                }
                None => {}
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.opened == 0 && self.won == 0 && self.lost == 0
    }

    fn finish(&self) -> Measures {
        let closed = self.won + self.lost;
        Measures {
            opened: self.opened,
            opened_usd: self.opened_usd.round() as i64,
            won: self.won,
            won_usd: self.won_usd.round() as i64,
            lost: self.lost,
            lost_usd: self.lost_usd.round() as i64,
            win_rate_pct: (closed > 0)
                .then(|| (self.won as f64 * 1000.0 / closed as f64).round() / 10.0),
        }
    }
}

/// What influence needs of one deal.
struct DealFacts {
    record_id: i64,
    open: Option<NaiveDate>,
    close: Option<NaiveDate>,
    /// Some(won?) for a closed deal, None for an open one (or one whose state is unknown).
    won: Option<bool>,
    usd: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[schemars(inline)]
pub struct InfluenceTotals {
    /// Deals on accounts that overlap a partner (the named one, or any active partner).
    pub with_partner: Measures,
    /// All your other deals.
    pub without_partner: Measures,
}

/// One row: a partner (group_by partner) or a month (group_by period), with the measures of
/// the deals with that partner (or, per month, with any partner / the named one).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[schemars(inline)]
pub struct InfluenceRow {
    /// The partner; pass its id as `partner` to other tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<Ref>,
    /// The month, YYYY-MM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(flatten)]
    pub measures: Measures,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Influence {
    pub period: Period,
    /// partner or period.
    pub group_by: InfluenceGroup,
    pub totals: InfluenceTotals,
    /// group_by partner: partners with at least one deal in the period, most won USD first;
    /// group_by period: every month of the period, in order.
    pub rows: Vec<InfluenceRow>,
    /// Rows left out past `limit` (group_by partner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_omitted: Option<i64>,
    /// Active partners whose overlaps were counted (offline partners included).
    pub partners_counted: i64,
}

impl Engine {
    /// Partner influence over `period`, optionally for one partner, split per partner or per
    /// month. `limit` caps the partner rows.
    pub fn partner_influence(
        &self,
        actor: &Actor,
        period: Period,
        partner: Option<&str>,
        group_by: InfluenceGroup,
        limit: usize,
    ) -> Result<Influence> {
        let partners = match partner {
            Some(p) => {
                let p = self.resolve_partner(actor, p)?;
                self.require_active(actor, &p)?;
                vec![p]
            }
            None => self
                .partners_of(actor)?
                .into_iter()
                .filter(is_active)
                .collect(),
        };
        let fx = self.fx_table()?;
        let deals = store::opportunities::of_org(&self.conn, actor.org.id)?;
        let keys = {
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
        // partner -> V's deal records that overlap one of its standard populations shared record
        // by record (overlaps, full, offline): a counts-level population gives matrix figures
        // only, never a per-deal one (SPEC §3).
        let mut with: Vec<(Ref, HashSet<i64>)> = Vec::with_capacity(partners.len());
        for p in &partners {
            let mut records = HashSet::new();
            for v in self.record_level_populations(actor, p)? {
                if v.population.pop_type == PopulationType::Custom {
                    continue;
                }
                let theirs = self.pop_keys(v.population.id)?;
                records.extend(keys.overlapping(&theirs).iter().map(|m| m.mine.record_id));
            }
            with.push((Ref::new(p.org.id, &p.org.name), records));
        }
        let any: HashSet<i64> = with.iter().flat_map(|(_, r)| r.iter().copied()).collect();
        let day = |s: &Option<String>| {
            s.as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        let facts: Vec<DealFacts> = deals
            .iter()
            .map(|d| DealFacts {
                record_id: d.record_id,
                open: day(&d.open_date),
                close: day(&d.close_date),
                won: match d.is_closed {
                    Some(true) => d.is_won,
                    _ => None,
                },
                usd: d
                    .amount
                    .and_then(|a| fx.to_usd(a, d.currency.as_deref().unwrap_or("USD")))
                    .unwrap_or(0.0),
            })
            .collect();
        let (mut w, mut wo) = (Acc::default(), Acc::default());
        for d in &facts {
            if any.contains(&d.record_id) {
                w.add(d, &period);
            } else {
                wo.add(d, &period);
            }
        }
        let (rows, rows_omitted) = match group_by {
            InfluenceGroup::Partner => {
                let mut rows: Vec<(Acc, Ref)> = with
                    .iter()
                    .map(|(p, recs)| {
                        let mut a = Acc::default();
                        for d in facts.iter().filter(|d| recs.contains(&d.record_id)) {
                            a.add(d, &period);
                        }
                        (a, p.clone())
                    })
                    .filter(|(a, _)| partner.is_some() || !a.is_empty())
                    .collect();
                rows.sort_by(|(a, pa), (b, pb)| {
                    b.won_usd
                        .total_cmp(&a.won_usd)
                        .then(b.opened_usd.total_cmp(&a.opened_usd))
                        .then((b.won + b.opened).cmp(&(a.won + a.opened)))
                        .then(pa.name().to_lowercase().cmp(&pb.name().to_lowercase()))
                        .then(pa.id.cmp(&pb.id))
                });
                let omitted = rows.len().saturating_sub(limit);
                rows.truncate(limit);
                (
                    rows.into_iter()
                        .map(|(a, p)| InfluenceRow {
                            partner: Some(p),
                            period: None,
                            measures: a.finish(),
                        })
                        .collect(),
                    (omitted > 0).then_some(omitted as i64),
                )
            }
            InfluenceGroup::Period => (
                period
                    .months()
                    .into_iter()
                    .map(|(label, m)| {
                        let mut a = Acc::default();
                        for d in facts.iter().filter(|d| any.contains(&d.record_id)) {
                            a.add(d, &m);
                        }
                        InfluenceRow {
                            partner: None,
                            period: Some(label),
                            measures: a.finish(),
                        }
                    })
                    .collect(),
                None,
            ),
        };
        Ok(Influence {
            period,
            group_by,
            totals: InfluenceTotals {
                with_partner: w.finish(),
                without_partner: wo.finish(),
            },
            rows,
            rows_omitted,
            partners_counted: with.len() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_parse() {
        let today = d("2026-11-23");
        let p = |x: &str| Period::parse(Some(x), None, None, today).unwrap();
        assert_eq!(
            p("2026-Q4"),
            Period {
                from: d("2026-10-01"),
                to: d("2026-12-31")
            }
        );
        assert_eq!(p("2026-q1").to, d("2026-03-31"));
        assert_eq!(
            p("2024-02"),
            Period {
                from: d("2024-02-01"),
                to: d("2024-02-29")
            }
        );
        assert_eq!(p(" 2025 ").to, d("2025-12-31"));
        assert_eq!(
            Period::parse(None, None, None, today).unwrap(),
            p("2026-Q4")
        );
        assert_eq!(
            Period::parse(None, Some("2026-11-01"), None, today).unwrap(),
            Period {
                from: d("2026-11-01"),
                to: today
            }
        );
        for bad in ["2026-Q5", "2026-13", "26", "Q4", "2026-Q", "abc", ""] {
            assert!(
                Period::parse(Some(bad), None, None, today).is_err(),
                "{bad}"
            );
        }
        assert!(Period::parse(Some("2026"), Some("2026-01-01"), None, today).is_err());
        assert!(Period::parse(None, None, Some("2026-01-01"), today).is_err());
        assert!(Period::parse(None, Some("2026-02-01"), Some("2026-01-01"), today).is_err());
        assert!(Period::parse(None, Some("2000-01-01"), Some("2026-01-01"), today).is_err());
        assert!(Period::parse(None, Some("9999-01-01"), Some("9999-12-31"), today).is_err());
    }

    #[test]
    fn months_cover_the_period() {
        let p = Period {
            from: d("2026-10-15"),
            to: d("2026-12-02"),
        };
        let m = p.months();
        assert_eq!(
            m.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            ["2026-10", "2026-11", "2026-12"]
        );
        assert_eq!(m[0].1.from, d("2026-10-15"));
        assert_eq!(m[1].1.to, d("2026-11-30"));
        assert_eq!(m[2].1.to, d("2026-12-02"));
    }

    #[test]
    fn win_rate_rounds_to_one_decimal() {
        let a = Acc {
            won: 1,
            lost: 2,
            won_usd: 1000.4,
            ..Acc::default()
        };
        let m = a.finish();
        assert_eq!(m.win_rate_pct, Some(33.3));
        assert_eq!(m.won_usd, 1000);
        assert_eq!(Acc::default().finish().win_rate_pct, None);
    }
}
