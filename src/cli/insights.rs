//! CLI verbs for the answers built across partners: suggestions, influence, new-accounts.

use clap::Subcommand;
use partnermap::engine::{InfluenceGroup, Measures, Period, SuggestionSignal};
use partnermap::model::{Actor, PopulationType};
use partnermap::{Engine, Error};
use serde::Serialize;

#[derive(Subcommand, Debug)]
pub enum InsightsCmd {
    /// Organizations to partner with next, with the signals behind each.
    Suggestions {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Pipeline opened, won and lost with and without partners in a period (USD).
    Influence {
        /// A quarter (2026-Q4), a month (2026-11) or a year (2026); default the current quarter.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Last day, included (YYYY-MM-DD; default today).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Only this partner.
        #[arg(long)]
        partner: Option<String>,
        /// partner (one row per partner) or period (one row per month).
        #[arg(long, default_value = "partner")]
        group_by: InfluenceGroup,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Partner accounts you do not have, from partners sharing at full.
    NewAccounts {
        #[arg(long)]
        partner: Option<String>,
        /// customers, open_opportunities, prospects or custom.
        #[arg(long)]
        population_type: Option<PopulationType>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many accounts (the next page).
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
}

fn emit<T: Serialize>(json: bool, v: &T, text: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
        );
    } else {
        print!("{}", text());
    }
}

fn measures(m: &Measures) -> String {
    format!(
        "opened {:>4} {:>12}  won {:>4} {:>12}  lost {:>4} {:>12}  win rate {}",
        m.opened,
        usd(m.opened_usd),
        m.won,
        usd(m.won_usd),
        m.lost,
        usd(m.lost_usd),
        m.win_rate_pct.map_or("-".into(), |w| format!("{w:.1}%"))
    )
}

fn usd(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if v < 0 { "-" } else { "" })
}

pub fn run(engine: &Engine, actor: &Actor, cmd: InsightsCmd, json: bool) -> Result<(), Error> {
    match cmd {
        InsightsCmd::Suggestions { limit } => {
            let s = engine.partner_suggestions(actor, limit.max(1))?;
            emit(json, &s, || {
                let mut t = format!(
                    "{} suggestion(s) among {} organizations you are not partnered with.\n",
                    s.total, s.reachable
                );
                for x in &s.suggestions {
                    let signals: Vec<String> = x
                        .signals
                        .iter()
                        .map(|g| match g {
                            SuggestionSignal::YourAccount {
                                population_type,
                                population,
                            } => format!("your {population_type} ({population})"),
                            SuggestionSignal::MutualPartners { count } => {
                                format!("{count} mutual partner(s)")
                            }
                            SuggestionSignal::PastPartnership { status } => {
                                format!("past partnership ({status})")
                            }
                        })
                        .collect();
                    t.push_str(&format!(
                        "{:>4}  {:<28} {:<20} {:<20} {}\n",
                        x.org.id,
                        x.org.text.name.0,
                        x.org.text.domain.as_ref().map_or("-", |d| d.0.as_str()),
                        serde_json::to_value(x.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        signals.join("; ")
                    ));
                }
                t
            });
        }
        InsightsCmd::Influence {
            period,
            from,
            to,
            partner,
            group_by,
            limit,
        } => {
            let p = Period::parse(
                period.as_deref(),
                from.as_deref(),
                to.as_deref(),
                engine.today(),
            )?;
            let r =
                engine.partner_influence(actor, p, partner.as_deref(), group_by, limit.max(1))?;
            emit(json, &r, || {
                let mut t = format!(
                    "Partner influence {} to {}:\n  {:<24} {}\n  {:<24} {}\n",
                    r.period.from,
                    r.period.to,
                    "with partner",
                    measures(&r.totals.with_partner),
                    "without partner",
                    measures(&r.totals.without_partner)
                );
                for row in &r.rows {
                    let label = match (&row.partner, &row.period) {
                        (Some(p), _) => p.name().to_string(),
                        (_, Some(m)) => m.clone(),
                        _ => String::new(),
                    };
                    t.push_str(&format!("  {label:<24} {}\n", measures(&row.measures)));
                }
                if let Some(n) = r.rows_omitted {
                    t.push_str(&format!("  … {n} more partner(s); raise --limit\n"));
                }
                t
            });
        }
        InsightsCmd::NewAccounts {
            partner,
            population_type,
            limit,
            offset,
        } => {
            let r = engine.new_accounts(
                actor,
                partner.as_deref(),
                population_type,
                offset,
                limit.max(1),
            )?;
            emit(json, &r, || {
                let mut t = format!(
                    "{} account(s) you do not have ({} a partner's customer), from {} partner(s) sharing at full.\n",
                    r.total, r.customer_accounts, r.partners_sharing_full
                );
                for a in &r.accounts {
                    let f = |k: &str| {
                        a.partner_record
                            .get(k)
                            .and_then(|v| v.as_str())
                            .unwrap_or("-")
                            .to_string()
                    };
                    let partners: Vec<String> = a
                        .partners
                        .iter()
                        .map(|p| format!("{} ({})", p.text.name.0, p.text.partner_population.0))
                        .collect();
                    t.push_str(&format!(
                        "  {:<32} {:<28} {}\n",
                        f("name"),
                        f("website"),
                        partners.join(", ")
                    ));
                }
                t
            });
        }
    }
    Ok(())
}
