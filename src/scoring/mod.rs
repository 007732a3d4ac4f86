//! Partner Score math (SPEC §5), pure: no SQL, no policy. The engine (engine/score.rs) gathers
//! deals and overlaps in one pass and hands them here.
//!
//! - metrics per side: win rate = won / closed; average size = mean USD amount of won deals;
//!   average days to close = mean days from open to close of won deals;
//! - ratios with / base (days: base / with), each clamped to [1/4, 4]; a ratio whose baseline
//!   (the `base` side's metric) is empty or zero is 1; a ratio whose `with` side is zero is the
//!   clamp bound its direction implies (the engine reports no ratio at all when the `with` side is
//!   empty: no closed or no won deal with the partner, SPEC §5);
//! - impact = mean of the natural logs of the three ratios;
//! - percentiles: mid-rank among the scored partners; s = 0.7 × impact pct + 0.3 × coverage pct.

use serde::Serialize;

/// A ratio is clamped to [1/4, 4].
pub const RATIO_MIN: f64 = 0.25;
pub const RATIO_MAX: f64 = 4.0;
/// s at or above this is High.
pub const HIGH_AT: f64 = 66.7;
/// s below this is Low.
pub const LOW_BELOW: f64 = 33.3;
/// The fewest won deals with a partner for a score.
pub const MIN_WON_WITH: usize = 10;
/// Impact and percentile values closer than this count as equal (floating-point noise only).
pub const EPS: f64 = 1e-12;

/// One closed deal, converted to USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedDeal {
    pub won: bool,
    pub amount_usd: f64,
    /// Days from open to close.
    pub days: f64,
}

// The three metrics of one side (with or without the partner). `None` = empty side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Metrics {
    /// Deals closed in the window.
    pub closed_deals: usize,
    pub won_deals: usize,
    /// won ÷ closed (0-1, 3 significant digits); absent with no closed deal.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_sig3_opt"
    )]
    pub win_rate: Option<f64>,
    /// Mean amount of won deals, whole USD at the current rates; absent with no won deal.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_money_opt"
    )]
    #[schemars(with = "Option<i64>")]
    pub avg_size_usd: Option<f64>,
    /// Mean days from open to close of won deals; absent with no won deal.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_sig3_opt"
    )]
    pub avg_days_to_close: Option<f64>,
}

/// Accumulates deals into [`Metrics`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsAcc {
    closed: usize,
    won: usize,
    sum_usd: f64,
    sum_days: f64,
}

impl MetricsAcc {
    pub fn add(&mut self, d: &ClosedDeal) {
        self.closed += 1;
        if d.won {
            self.won += 1;
            self.sum_usd += d.amount_usd;
            self.sum_days += d.days;
        }
    }

    pub fn finish(&self) -> Metrics {
        let won = self.won as f64;
        Metrics {
            closed_deals: self.closed,
            won_deals: self.won,
            win_rate: (self.closed > 0).then(|| won / self.closed as f64),
            avg_size_usd: (self.won > 0).then(|| self.sum_usd / won),
            avg_days_to_close: (self.won > 0).then(|| self.sum_days / won),
        }
    }
}

pub fn metrics<'a>(deals: impl IntoIterator<Item = &'a ClosedDeal>) -> Metrics {
    let mut acc = MetricsAcc::default();
    for d in deals {
        acc.add(d);
    }
    acc.finish()
}

/// `numerator / denominator` clamped to [1/4, 4], where `baseline` is the `base` side's metric
/// (the denominator for win rate and size, the numerator for days): an empty or zero baseline
/// gives 1.
pub fn clamped_ratio(
    numerator: Option<f64>,
    denominator: Option<f64>,
    baseline: Option<f64>,
) -> f64 {
    if baseline.is_none_or(|b| b == 0.0) {
        return 1.0;
    }
    let (n, d) = (numerator.unwrap_or(0.0), denominator.unwrap_or(0.0));
    let r = if d == 0.0 {
        if n == 0.0 { 1.0 } else { f64::INFINITY }
    } else {
        n / d
    };
    r.clamp(RATIO_MIN, RATIO_MAX)
}

// The three clamped ratios of a partner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Ratios {
    /// win_rate with ÷ base, clamped to [0.25, 4].
    #[serde(serialize_with = "crate::shape::as_sig3")]
    pub win_rate: f64,
    /// avg_size with ÷ base, clamped to [0.25, 4].
    #[serde(serialize_with = "crate::shape::as_sig3")]
    pub avg_size: f64,
    /// avg_days base ÷ with (faster with the partner = above 1), clamped to [0.25, 4].
    #[serde(serialize_with = "crate::shape::as_sig3")]
    pub days_to_close: f64,
}

pub fn ratios(with: &Metrics, base: &Metrics) -> Ratios {
    Ratios {
        win_rate: clamped_ratio(with.win_rate, base.win_rate, base.win_rate),
        avg_size: clamped_ratio(with.avg_size_usd, base.avg_size_usd, base.avg_size_usd),
        days_to_close: clamped_ratio(
            base.avg_days_to_close,
            with.avg_days_to_close,
            base.avg_days_to_close,
        ),
    }
}

/// Mean of the natural logs of the three ratios.
pub fn impact(r: &Ratios) -> f64 {
    (r.win_rate.ln() + r.avg_size.ln() + r.days_to_close.ln()) / 3.0
}

/// Impact exactly zero (up to floating-point noise): no score.
pub fn is_zero_impact(impact: f64) -> bool {
    impact.abs() < EPS
}

/// Coverage % = covered ÷ covered-by-any-partner × 100 (0 when no partner covers anything).
pub fn coverage_pct(covered: usize, covered_by_any: usize) -> f64 {
    if covered_by_any == 0 {
        0.0
    } else {
        covered as f64 * 100.0 / covered_by_any as f64
    }
}

/// Mid-rank percentile of each value among `values`:
/// 100 × (number below + ½ × number equal, itself included) ÷ n.
pub fn mid_rank_percentiles(values: &[f64]) -> Vec<f64> {
    let n = values.len() as f64;
    values
        .iter()
        .map(|&v| {
            let below = values.iter().filter(|&&o| o < v - EPS).count() as f64;
            let equal = values.iter().filter(|&&o| (o - v).abs() <= EPS).count() as f64;
            100.0 * (below + 0.5 * equal) / n
        })
        .collect()
}

/// s = 0.7 × impact percentile + 0.3 × coverage percentile.
pub fn blended(impact_pct: f64, coverage_pct: f64) -> f64 {
    0.7 * impact_pct + 0.3 * coverage_pct
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Label {
    Unknown,
    None,
    Low,
    Medium,
    High,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Unknown => "Unknown",
            Label::None => "None",
            Label::Low => "Low",
            Label::Medium => "Medium",
            Label::High => "High",
        }
    }
    /// High when s ≥ 66.7, Low when s < 33.3, else Medium.
    pub fn from_s(s: f64) -> Label {
        if s >= HIGH_AT {
            Label::High
        } else if s < LOW_BELOW {
            Label::Low
        } else {
            Label::Medium
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn deal(won: bool, usd: f64, days: f64) -> ClosedDeal {
        ClosedDeal {
            won,
            amount_usd: usd,
            days,
        }
    }

    #[test]
    fn metrics_by_hand() {
        // 3 won (100, 200, 600 USD; 10, 20, 60 days), 1 lost: 3/4, 300 USD, 30 days.
        let d = [
            deal(true, 100.0, 10.0),
            deal(true, 200.0, 20.0),
            deal(false, 9999.0, 999.0),
            deal(true, 600.0, 60.0),
        ];
        let m = metrics(&d);
        assert_eq!((m.closed_deals, m.won_deals), (4, 3));
        assert!(close(m.win_rate.unwrap(), 0.75));
        assert!(close(m.avg_size_usd.unwrap(), 300.0));
        assert!(close(m.avg_days_to_close.unwrap(), 30.0));
        // only lost deals: win rate 0, no size, no days
        let m = metrics(&[deal(false, 5.0, 5.0)]);
        assert_eq!(m.win_rate, Some(0.0));
        assert_eq!(m.avg_size_usd, None);
        assert_eq!(metrics(&[]).win_rate, None);
    }

    #[test]
    fn ratios_clamp_and_baselines() {
        // in range: 0.5 / 0.25 = 2
        assert!(close(clamped_ratio(Some(0.5), Some(0.25), Some(0.25)), 2.0));
        // 6 is clamped to 4, 0.1 to 0.25
        assert!(close(clamped_ratio(Some(6.0), Some(1.0), Some(1.0)), 4.0));
        assert!(close(clamped_ratio(Some(0.1), Some(1.0), Some(1.0)), 0.25));
        // empty or zero baseline: 1
        assert_eq!(clamped_ratio(Some(0.5), None, None), 1.0);
        assert_eq!(clamped_ratio(Some(0.5), Some(0.0), Some(0.0)), 1.0);
        // days: base 0 is the baseline (numerator) -> 1; with 0 (same-day closes) -> 4
        assert_eq!(clamped_ratio(Some(0.0), Some(10.0), Some(0.0)), 1.0);
        assert_eq!(clamped_ratio(Some(30.0), Some(0.0), Some(30.0)), 4.0);
        // with side empty (no won deals with the partner): size ratio 0 -> 1/4
        assert_eq!(clamped_ratio(None, Some(10.0), Some(10.0)), 0.25);
    }

    #[test]
    fn ratios_and_impact_by_hand() {
        // with: win 1/2, size 2000, 30 days; base: win 1/4, size 500, 45 days
        // ratios: 2, 4 (from 4), 1.5  -> impact = (ln 2 + ln 4 + ln 1.5) / 3 = ln(12)/3
        let with = Metrics {
            closed_deals: 20,
            won_deals: 10,
            win_rate: Some(0.5),
            avg_size_usd: Some(2000.0),
            avg_days_to_close: Some(30.0),
        };
        let base = Metrics {
            closed_deals: 40,
            won_deals: 10,
            win_rate: Some(0.25),
            avg_size_usd: Some(500.0),
            avg_days_to_close: Some(45.0),
        };
        let r = ratios(&with, &base);
        assert!(close(r.win_rate, 2.0));
        assert!(close(r.avg_size, 4.0));
        assert!(close(r.days_to_close, 1.5));
        let i = impact(&r);
        assert!(close(i, 12f64.ln() / 3.0)); // 0.828302...
        assert!(close(i, 0.828_302_216_596_000_1));
        // clamped below: ratios 1/4, 1/4, 1/4 -> impact ln(1/4) = -1.386294...
        let r = Ratios {
            win_rate: 0.25,
            avg_size: 0.25,
            days_to_close: 0.25,
        };
        assert!(close(impact(&r), -1.386_294_361_119_890_6));
        // empty base: every ratio 1, impact exactly zero
        let r = ratios(&with, &Metrics::default());
        assert_eq!(impact(&r), 0.0);
        assert!(is_zero_impact(impact(&r)));
        // 2 and 1/2 cancel
        let r = Ratios {
            win_rate: 2.0,
            avg_size: 0.5,
            days_to_close: 1.0,
        };
        assert!(is_zero_impact(impact(&r)));
    }

    #[test]
    fn coverage_by_hand() {
        assert!(close(coverage_pct(5, 8), 62.5));
        assert_eq!(coverage_pct(0, 0), 0.0);
        assert_eq!(coverage_pct(3, 3), 100.0);
    }

    #[test]
    fn mid_rank_by_hand() {
        // n = 4: values 1, 2, 2, 3
        // 1: below 0, equal 1 -> 100 * 0.5 / 4 = 12.5
        // 2: below 1, equal 2 -> 100 * 2 / 4 = 50
        // 3: below 3, equal 1 -> 100 * 3.5 / 4 = 87.5
        let p = mid_rank_percentiles(&[2.0, 1.0, 3.0, 2.0]);
        assert_eq!(p, vec![50.0, 12.5, 87.5, 50.0]);
        // one partner alone: 50
        assert_eq!(mid_rank_percentiles(&[0.3]), vec![50.0]);
        // all equal: 50 each
        assert_eq!(mid_rank_percentiles(&[1.0, 1.0, 1.0]), vec![50.0; 3]);
    }

    #[test]
    fn blend_and_labels_by_hand() {
        // 0.7 * 87.5 + 0.3 * 12.5 = 61.25 + 3.75 = 65 -> Medium
        assert!(close(blended(87.5, 12.5), 65.0));
        assert_eq!(Label::from_s(65.0), Label::Medium);
        assert_eq!(Label::from_s(66.7), Label::High);
        assert_eq!(Label::from_s(66.69), Label::Medium);
        assert_eq!(Label::from_s(33.3), Label::Medium);
        assert_eq!(Label::from_s(33.29), Label::Low);
        // 0.7 * 75 + 0.3 * 75 = 75 -> High ; 0.7 * 12.5 + 0.3 * 25 = 16.25 -> Low
        assert!(close(blended(75.0, 75.0), 75.0));
        assert!(close(blended(12.5, 25.0), 16.25));
        assert!(Label::High > Label::Medium && Label::None > Label::Unknown);
    }
}
