//! The demo's data: a universe of generated companies, each org's accounts drawn from it by
//! popularity, partner files (CSV or CRM export) and the acting org's two years of deals, whose
//! win rates, sizes and cycle times depend on which partners' customers the account is.

use super::names::{self, COUNTRIES, Country, INDUSTRIES, Namer, pick, pick_str};
use crate::engine::FxTable;
use crate::error::{Error, Result};
use chrono::{Duration, NaiveDate};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Companies every org has (they overlap everyone).
pub const MEGACORPS: usize = 6;

pub struct Company {
    pub name: String,
    pub domain: String,
    pub country: &'static Country,
    pub industry: &'static str,
    pub employees: u32,
    /// How likely an org is to have this company among its accounts.
    pub weight: f64,
}

/// The shared universe: megacorps first, then the rest.
pub fn universe(rng: &mut ChaCha8Rng, namer: &mut Namer, n: usize) -> Vec<Company> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (industry, words) = *pick(rng, INDUSTRIES);
        let country = if i < MEGACORPS {
            &COUNTRIES[[0, 0, 1, 2, 5, 0][i]]
        } else {
            names::country(rng)
        };
        let cn = namer.company(rng, words, country, true);
        let employees = if i < MEGACORPS {
            rng.random_range(60_000..300_000)
        } else {
            10f64.powf(rng.random_range(1.0..4.4)).round() as u32
        };
        out.push(Company {
            name: cn.name,
            domain: cn.domain,
            country,
            industry,
            employees,
            weight: (employees as f64).powf(0.45),
        });
    }
    out
}

/// `n` distinct companies drawn by weight (Efraimidis–Spirakis), the megacorps always among
/// them; sorted by index.
pub fn sample(rng: &mut ChaCha8Rng, u: &[Company], n: usize) -> Vec<usize> {
    let n = n.clamp(MEGACORPS, u.len());
    let mut keys: Vec<(f64, usize)> = (MEGACORPS..u.len())
        .map(|i| {
            let r: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
            (r.ln() / u[i].weight, i)
        })
        .collect();
    let k = n - MEGACORPS;
    if k < keys.len() {
        keys.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keys.truncate(k);
    }
    let mut out: Vec<usize> = (0..MEGACORPS)
        .chain(keys.into_iter().map(|k| k.1))
        .collect();
    out.sort_unstable();
    out
}

/// A website as people type it: `velora.com`, `https://www.velora.com/`, …
pub fn website(rng: &mut ChaCha8Rng, domain: &str) -> String {
    match rng.random_range(0..20) {
        0..=6 => domain.to_string(),
        7..=12 => format!("https://www.{domain}/"),
        13..=15 => format!("www.{domain}"),
        16..=17 => format!("http://{domain}/about"),
        _ => format!("https://{domain}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Customer,
    Prospect,
    OpenOpportunity,
}

impl Status {
    pub fn csv(self) -> &'static str {
        match self {
            Status::Customer => "Customer",
            Status::Prospect => "Prospect",
            Status::OpenOpportunity => "Open Opportunity",
        }
    }
}

/// One account of a partner.
pub struct Acct {
    pub company: usize,
    pub status: Status,
    /// No website in the partner's file (only a name key: such rows rarely match).
    pub no_website: bool,
}

/// A partner's accounts: `customer_share` of them customers (megacorps are among everyone's
/// accounts, customers of most partners with `mega_customers`), 15% of the rest open
/// opportunities.
pub fn partner_accounts(
    rng: &mut ChaCha8Rng,
    u: &[Company],
    n: usize,
    customer_share: f64,
    mega_customers: bool,
) -> Vec<Acct> {
    sample(rng, u, n)
        .into_iter()
        .map(|c| {
            let status = if c < MEGACORPS {
                if mega_customers && rng.random_bool(0.6) {
                    Status::Customer
                } else if rng.random_bool(0.3) {
                    Status::OpenOpportunity
                } else {
                    Status::Prospect
                }
            } else if rng.random_bool(customer_share) {
                Status::Customer
            } else if rng.random_bool(0.15) {
                Status::OpenOpportunity
            } else {
                Status::Prospect
            };
            Acct {
                company: c,
                status,
                no_website: c >= MEGACORPS && rng.random_bool(0.02),
            }
        })
        .collect()
}

fn csv_err(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("could not write the demo's CSV files: {e}"))
}

fn writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).map_err(csv_err)
}

fn owner(rng: &mut ChaCha8Rng, reps: &[String]) -> String {
    pick(rng, reps).clone()
}

/// A partner's company list as a CSV export: Company, Website, Status, Industry, Country,
/// Employees, Account Owner.
pub fn write_partner_csv(
    rng: &mut ChaCha8Rng,
    path: &Path,
    u: &[Company],
    accts: &[Acct],
    reps: &[String],
) -> Result<()> {
    let mut w = writer(path)?;
    w.write_record([
        "Company",
        "Website",
        "Status",
        "Industry",
        "Country",
        "Employees",
        "Account Owner",
    ])
    .map_err(csv_err)?;
    for a in accts {
        let c = &u[a.company];
        let site = if a.no_website {
            String::new()
        } else {
            website(rng, &c.domain)
        };
        let o = owner(rng, reps);
        w.write_record([
            c.name.as_str(),
            &site,
            a.status.csv(),
            c.industry,
            c.country.code,
            &c.employees.to_string(),
            &o,
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(csv_err)
}

const ACCOUNT_HEADERS: [&str; 8] = [
    "id",
    "name",
    "website",
    "type",
    "owner",
    "industry",
    "country",
    "employees",
];
const OPP_HEADERS: [&str; 10] = [
    "id",
    "account_id",
    "name",
    "stage",
    "amount",
    "currency",
    "open_date",
    "close_date",
    "is_won",
    "is_closed",
];
const PRODUCTS: &[&str] = &[
    "Platform",
    "Analytics Suite",
    "Data Pipeline",
    "Enterprise Plan",
    "Expansion",
    "Renewal",
    "Pilot",
];
const OPEN_STAGES: &[&str] = &["Discovery", "Qualification", "Proposal", "Negotiation"];

/// One deal of a CRM export.
pub struct Deal {
    pub name: String,
    pub stage: &'static str,
    pub amount_usd: f64,
    pub open: NaiveDate,
    pub close: NaiveDate,
    pub won: bool,
    pub closed: bool,
}

fn amount_text(usd: f64, currency: &str, fx: &FxTable) -> String {
    let local = fx.per_usd(currency).unwrap_or(1.0) * usd;
    if local >= 10_000.0 {
        format!("{:.0}", (local / 100.0).round() * 100.0)
    } else {
        format!("{local:.2}")
    }
}

/// Writes accounts.csv and opportunities.csv of a CRM export. `deals[i]` are the deals of
/// `accounts[i]`; an account is a Customer when `customer[i]`.
#[allow(clippy::too_many_arguments)]
pub fn write_crm(
    rng: &mut ChaCha8Rng,
    dir: &Path,
    prefix: &str,
    u: &[Company],
    accounts: &[usize],
    customer: &[bool],
    deals: &[Vec<Deal>],
    reps: &[String],
    fx: &FxTable,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let ap = dir.join(format!("{prefix}-accounts.csv"));
    let op = dir.join(format!("{prefix}-opportunities.csv"));
    let mut aw = writer(&ap)?;
    let mut ow = writer(&op)?;
    aw.write_record(ACCOUNT_HEADERS).map_err(csv_err)?;
    ow.write_record(OPP_HEADERS).map_err(csv_err)?;
    let mut opp_no = 0usize;
    for (i, &ci) in accounts.iter().enumerate() {
        let c = &u[ci];
        let id = format!("{}-A{:05}", prefix.to_uppercase(), i + 1);
        let site = website(rng, &c.domain);
        let o = owner(rng, reps);
        aw.write_record([
            id.as_str(),
            &c.name,
            &site,
            if customer[i] { "Customer" } else { "Prospect" },
            &o,
            c.industry,
            c.country.code,
            &c.employees.to_string(),
        ])
        .map_err(csv_err)?;
        for d in &deals[i] {
            opp_no += 1;
            ow.write_record([
                format!("{}-O{:06}", prefix.to_uppercase(), opp_no).as_str(),
                &id,
                &d.name,
                d.stage,
                &amount_text(d.amount_usd, c.country.currency, fx),
                c.country.currency,
                &d.open.to_string(),
                &d.close.to_string(),
                if d.won { "true" } else { "false" },
                if d.closed { "true" } else { "false" },
            ])
            .map_err(csv_err)?;
        }
    }
    aw.flush().map_err(csv_err)?;
    ow.flush().map_err(csv_err)?;
    Ok((ap, op))
}

/// Log-normal-ish noise around 1 (sum of uniforms, cheap and deterministic).
fn noise(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    let z: f64 = (0..4).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * 0.866;
    (sigma * z).exp()
}

/// The deal model of the acting org. `boost` > 0 when the account is a customer of partners
/// that help (more wins, bigger deals, shorter cycles), < 0 for partners that get in the way.
pub fn acting_deals(
    rng: &mut ChaCha8Rng,
    c: &Company,
    boost: f64,
    mega: bool,
    today: NaiveDate,
) -> Vec<Deal> {
    let n = if mega {
        rng.random_range(2..4)
    } else {
        match rng.random_range(0..100) {
            0..=29 => 0,
            30..=69 => 1,
            70..=89 => 2,
            _ => 3,
        }
    };
    let base_name = c
        .name
        .trim_end_matches('.')
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let open = today - Duration::days(rng.random_range(10..730));
        let cycle = (55.0 * noise(rng, 0.45) * (-0.5 * boost).exp()).clamp(7.0, 300.0) as i64;
        let close = open + Duration::days(cycle);
        let size = (6_000.0 + 25.0 * (c.employees as f64).sqrt() * 40.0)
            * noise(rng, 0.4)
            * (0.45 * boost).exp();
        let product = pick_str(rng, PRODUCTS);
        let name = format!("{base_name} – {product}");
        if close > today {
            out.push(Deal {
                name,
                stage: pick_str(rng, OPEN_STAGES),
                amount_usd: size,
                open,
                close,
                won: false,
                closed: false,
            });
        } else {
            let p = (0.26 * (1.1 * boost).exp()).clamp(0.03, 0.92);
            let won = rng.random_bool(p);
            out.push(Deal {
                name,
                stage: if won { "Closed Won" } else { "Closed Lost" },
                amount_usd: size,
                open,
                close,
                won,
                closed: true,
            });
        }
    }
    out
}

/// A partner's own CRM deals: one won deal per customer, one open deal per open opportunity,
/// a lost one now and then on prospects.
pub fn partner_deals(rng: &mut ChaCha8Rng, a: &Acct, c: &Company, today: NaiveDate) -> Vec<Deal> {
    let size = (4_000.0 + 600.0 * (c.employees as f64).sqrt()) * noise(rng, 0.5);
    let open = today - Duration::days(rng.random_range(30..700));
    let cycle = Duration::days(rng.random_range(20..160));
    let name = format!("{} – {}", c.name, pick(rng, PRODUCTS));
    match a.status {
        Status::Customer => vec![Deal {
            name,
            stage: "Closed Won",
            amount_usd: size,
            open,
            close: (open + cycle).min(today),
            won: true,
            closed: true,
        }],
        Status::OpenOpportunity => {
            let open = today - Duration::days(rng.random_range(5..90));
            vec![Deal {
                name,
                stage: pick_str(rng, OPEN_STAGES),
                amount_usd: size,
                open,
                close: today + Duration::days(rng.random_range(15..120)),
                won: false,
                closed: false,
            }]
        }
        Status::Prospect if rng.random_bool(0.2) => vec![Deal {
            name,
            stage: "Closed Lost",
            amount_usd: size,
            open,
            close: (open + cycle).min(today),
            won: false,
            closed: true,
        }],
        Status::Prospect => Vec::new(),
    }
}
