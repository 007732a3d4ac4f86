//! CLI verbs for CRM data, exchange rates, Partner Score and recommendations.

use super::print::Out;
use clap::Subcommand;
use partnermap::engine::{DealQuery, PipelineQuery, TopSort, as_of_arg, parse_as_of, parse_label};
use partnermap::model::Actor;
use partnermap::{Engine, Error};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ScoreCmd {
    /// Import a CRM export (accounts.csv + opportunities.csv) as a crm data source.
    ImportCrm {
        #[arg(long)]
        accounts: PathBuf,
        #[arg(long)]
        opportunities: PathBuf,
        /// The data source's name (importing again under the same name replaces it).
        #[arg(long, default_value = "crm")]
        name: String,
    },
    /// Exchange rates (units per 1 USD) used to convert deal amounts.
    #[command(subcommand)]
    Fx(FxCmd),
    /// Partner Score for one partner, with its breakdown.
    Score {
        partner: String,
        /// The last day of the 365-day window (YYYY-MM-DD; default today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Your top partners (leaderboard).
    Top {
        /// score (default), overlap_count, coverage or win_rate_lift.
        #[arg(long, default_value = "score")]
        sort: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Pipeline generation: your prospects that are partners' customers or open opportunities.
    Pipeline {
        /// One of your populations instead of your prospects.
        #[arg(long)]
        population: Option<String>,
        /// Only accounts this partner (id, name or domain) has.
        #[arg(long)]
        partner: Option<String>,
        /// Only partners with this Partner Score label (High, Medium, Low, None, Unknown).
        #[arg(long)]
        label: Option<String>,
        /// Only the partners' customers or open_opportunities.
        #[arg(long)]
        partner_population_type: Option<String>,
        /// partners (top prospects first, the default) or label.
        #[arg(long, default_value = "partners")]
        sort: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Deal navigator: your open opportunities with the partners that can help.
    Deals {
        /// One of your accounts: id, domain or name.
        #[arg(long)]
        account: Option<String>,
        /// Only recommendations of this partner (id, name or domain).
        #[arg(long)]
        partner: Option<String>,
        /// Only partners with this Partner Score label.
        #[arg(long)]
        label: Option<String>,
        /// Only recommendations with this signal: customer, open_opportunity or prospect.
        #[arg(long)]
        signal: Option<String>,
        /// Only deals in this stage.
        #[arg(long)]
        stage: Option<String>,
        /// Smallest amount in USD.
        #[arg(long)]
        min_amount: Option<f64>,
        /// Largest amount in USD.
        #[arg(long)]
        max_amount: Option<f64>,
        /// Close date from (YYYY-MM-DD, inclusive).
        #[arg(long)]
        close_from: Option<String>,
        /// Close date to (YYYY-MM-DD, inclusive).
        #[arg(long)]
        close_to: Option<String>,
        /// Only deals a partner can help with.
        #[arg(long)]
        with_help: bool,
        /// help (the default), amount or close_date.
        #[arg(long, default_value = "help")]
        sort: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Which partners have one of your accounts (id, domain or name), and what you may see.
    Lookup { account: String },
}

#[derive(Subcommand, Debug)]
pub enum FxCmd {
    /// Replace rates from an ECB daily XML (eurofxref-daily.xml) URL or file.
    Update {
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        url: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Set one currency's rate: units of CUR per 1 USD.
    Set { currency: String, rate: f64 },
    /// The current table.
    List,
}

fn emit<T: Serialize>(out: &Out, v: &T, text: impl FnOnce() -> String) {
    if out.json {
        println!(
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
        );
    } else {
        print!("{}", text());
    }
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

pub fn run(engine: &mut Engine, actor: &Actor, cmd: ScoreCmd, out: &Out) -> Result<(), Error> {
    match cmd {
        ScoreCmd::ImportCrm {
            accounts,
            opportunities,
            name,
        } => {
            let r = engine.import_crm(actor, &accounts, &opportunities, &name)?;
            emit(out, &r, || {
                let mut s = format!(
                    "Imported {} accounts and {} opportunities into '{}' (id {}){}; {} rows rejected.\n",
                    r.accounts,
                    r.opportunities,
                    r.data_source.name,
                    r.data_source.id,
                    if r.replaced { ", replacing it" } else { "" },
                    r.rows_rejected
                );
                if !r.missing_columns.is_empty() {
                    s.push_str(&format!(
                        "opportunities.csv lacks: {} (Partner Score needs them)\n",
                        r.missing_columns.join(", ")
                    ));
                }
                for e in &r.errors {
                    s.push_str(&format!("  {} line {}: {}\n", e.file, e.line, e.reason));
                }
                s
            });
        }
        ScoreCmd::Fx(FxCmd::Update { url, file }) => {
            let r = match (url, file) {
                (Some(u), _) => engine.fx_update_url(actor, &u)?,
                (None, Some(f)) => engine.fx_update_file(actor, &f)?,
                (None, None) => {
                    return Err(partnermap::error::invalid("Pass --url URL or --file FILE."));
                }
            };
            emit(out, &r, || {
                format!(
                    "Updated {} rates dated {} from {}.\n",
                    r.rates_updated, r.as_of, r.source
                )
            });
        }
        ScoreCmd::Fx(FxCmd::Set { currency, rate }) => {
            let r = engine.fx_set(actor, &currency, rate)?;
            emit(out, &r, || {
                format!(
                    "{} = {} per USD (as of {}).\n",
                    r.currency, r.per_usd, r.as_of
                )
            });
        }
        ScoreCmd::Fx(FxCmd::List) => {
            let rates = engine.fx_rates()?;
            emit(out, &serde_json::json!({ "rates": rates }), || {
                rates
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {:>14.6} per USD  {}  {}\n",
                            r.currency, r.per_usd, r.as_of, r.source
                        )
                    })
                    .collect()
            });
        }
        ScoreCmd::Score { partner, as_of } => {
            let s = engine.partner_score(actor, &partner, as_of_arg(as_of.as_deref())?)?;
            emit(out, &s, || {
                let mut t = format!(
                    "{}: {} (s {}, impact {} at percentile {}, coverage {}% at percentile {}; {} won deals with them; window to {})\n",
                    s.partner.name,
                    s.label,
                    num(s.s, 1),
                    num(s.impact, 3),
                    num(s.impact_percentile, 1),
                    num(s.coverage_pct, 1),
                    num(s.coverage_percentile, 1),
                    s.won_deals_with_partner,
                    s.as_of
                );
                if let Some(m) = &s.metrics {
                    t.push_str(&format!(
                        "  with:    win rate {}  avg size {} USD  avg days {}\n  without: win rate {}  avg size {} USD  avg days {}\n",
                        num(m.with.win_rate, 3),
                        num(m.with.avg_size_usd, 0),
                        num(m.with.avg_days_to_close, 1),
                        num(m.base.win_rate, 3),
                        num(m.base.avg_size_usd, 0),
                        num(m.base.avg_days_to_close, 1)
                    ));
                }
                for r in &s.reasons {
                    t.push_str(&format!("  {}: {}\n", r.code, r.message));
                }
                t
            });
        }
        ScoreCmd::Top { sort, limit, as_of } => {
            let sort: TopSort = sort.parse()?;
            let v = engine.top_partners(actor, sort, limit, as_of_arg(as_of.as_deref())?)?;
            emit(out, &serde_json::json!({ "partners": v }), || {
                v.iter()
                    .map(|p| {
                        format!(
                            "{:<28} {:<8} s {:>6}  coverage {:>6}%  overlap {:>6}\n",
                            p.name,
                            p.label.as_str(),
                            num(p.s, 1),
                            num(p.coverage_pct, 1),
                            p.overlap_count
                        )
                    })
                    .collect()
            });
        }
        ScoreCmd::Pipeline {
            population,
            partner,
            label,
            partner_population_type,
            sort,
            limit,
        } => {
            let q = PipelineQuery {
                population,
                partner,
                label: label.as_deref().map(parse_label).transpose()?,
                partner_population_type: partner_population_type
                    .as_deref()
                    .map(str::parse)
                    .transpose()?,
                sort: sort.parse()?,
            };
            let p = engine.pipeline_generation(actor, &q, limit)?;
            emit(out, &p, || {
                let mut s = format!("{} accounts ({}):\n", p.total, p.populations.join(", "));
                for a in &p.accounts {
                    s.push_str(&format!(
                        "{}{:<32} {}\n",
                        if a.top_prospect { "* " } else { "  " },
                        a.record.name,
                        a.partners
                            .iter()
                            .map(|x| {
                                format!(
                                    "{} ({}, {})",
                                    x.text.name.0, x.text.partner_population.0, x.label
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
                s
            });
        }
        ScoreCmd::Deals {
            account,
            partner,
            label,
            signal,
            stage,
            min_amount,
            max_amount,
            close_from,
            close_to,
            with_help,
            sort,
            limit,
        } => {
            let q = DealQuery {
                account,
                partner,
                label: label.as_deref().map(parse_label).transpose()?,
                signal: signal.as_deref().map(str::parse).transpose()?,
                stage,
                min_amount_usd: min_amount,
                max_amount_usd: max_amount,
                close_from: close_from.as_deref().map(parse_as_of).transpose()?,
                close_to: close_to.as_deref().map(parse_as_of).transpose()?,
                only_with_help: with_help,
                sort: sort.parse()?,
            };
            let d = engine.deal_navigator(actor, &q, limit, None)?;
            emit(out, &d, || {
                let m = &d.summary;
                let mut s = format!(
                    "{} deals ({} USD), {} a partner can help with ({} USD)\n",
                    m.deals,
                    num(Some(m.amount_usd), 0),
                    m.deals_with_help,
                    num(Some(m.amount_usd_with_help), 0)
                );
                for i in &d.opportunities {
                    s.push_str(&format!(
                        "{} / {} ({} USD)\n",
                        i.account.name,
                        i.opportunity.name.as_deref().unwrap_or("-"),
                        num(i.opportunity.usd_amount(), 0)
                    ));
                    for r in &i.recommendations {
                        s.push_str(&format!(
                            "    {} — {:?} in {} [{}]{}\n",
                            r.partner.name,
                            r.signal,
                            r.partner_population,
                            r.label,
                            if r.recent_thread_activity() {
                                ", recent thread"
                            } else {
                                ""
                            }
                        ));
                    }
                }
                s
            });
        }
        ScoreCmd::Lookup { account } => {
            let l = engine.account_lookup(actor, &account)?;
            emit(out, &l, || {
                let mut s = format!("{} ({})\n", l.account.name, l.account.site());
                for p in &l.partners {
                    s.push_str(&format!(
                        "  {} [{}]: {}\n",
                        p.partner.name,
                        p.label,
                        p.partner_populations
                            .iter()
                            .map(|x| format!("{} ({})", x.name, x.sharing_level))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                s
            });
        }
    }
    Ok(())
}
