//! `partnermap demo`: a realistic network a new user can question at once (SPEC §8).
//!
//! One org you act as (Lumora Analytics, supernode plan: an admin, a partner manager with every
//! permission — the acting user, made the database's default user — and a member) and 25
//! partners: 22 online (each its own org with users, a CRM export or a CSV, standard populations
//! and sharing settings from `hidden` to `full`; active, plus invited both ways, declined and
//! revoked) and 3 offline (uploaded CSVs). Every company is drawn from one generated universe
//! (syllable names, plausible domains; no real company data) by popularity, so large partners
//! overlap more and six megacorps overlap everyone. The acting org has two years of deals in
//! several currencies whose win rates, sizes and cycle times depend on which partners' customers
//! the account is, tuned so that Partner Scores come out High, Medium, Low, None and Unknown.
//!
//! Everything goes through the engine's public operations (so it is audited and consistent):
//! the generated files are written to a temporary directory and imported as a user would.
//!
//! Reproducible: the same seed and the same day give a byte-identical database. The generator
//! is a ChaCha8 stream seeded by `--seed`; the engine's clock is fixed to times derived from the
//! day the demo is built "as of" (default: today, so the deals stay recent); and the database's
//! fingerprint seed, otherwise random per database, is derived from `--seed` before any import.
//! (A predictable fingerprint seed is harmless here: it only guards against crafted collisions
//! in data from outside, and the demo's data is generated.) The audit log records the paths of
//! the imported files, which live in a fresh temporary directory: [`Summary::import_dir`] names
//! it so that a comparison can set it aside.

mod data;
mod names;

use crate::engine::{
    Engine, ImportSpec, InitOrg, NewPopulation, NewShareRequest, NewThread, NewUser,
};
use crate::error::{Error, Result, conflict};
use crate::model::{
    Actor, PartnershipStatus, Permission, Plan, PopulationType, RequestDirection,
    ShareRequestStatus, SharingLevel, User,
};
use crate::store;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use data::{Acct, Company, MEGACORPS, Status};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use names::{COUNTRIES, Namer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const DEFAULT_SEED: u64 = 42;

/// How to build the demo.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Size factor of every account count (1.0: the full demo, ~25k records; tests may use
    /// less, but the promised spread of labels is tuned at 1.0).
    pub scale: f64,
    /// The day the demo is built "as of" (deals run up to it); default: the engine's today
    /// (`PARTNERMAP_NOW` or the clock).
    pub today: Option<NaiveDate>,
    /// Show a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: DEFAULT_SEED,
            scale: 1.0,
            today: None,
            progress: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgLine {
    pub name: String,
    pub domain: String,
    pub plan: Plan,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserLine {
    pub name: String,
    pub email: String,
    pub role: crate::model::Role,
}

impl From<&User> for UserLine {
    fn from(u: &User) -> Self {
        UserLine {
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerLine {
    pub name: String,
    pub status: PartnershipStatus,
    pub offline: bool,
    /// For an invitation: `incoming` or `outgoing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    pub score_label: Option<crate::scoring::Label>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub db: String,
    pub seed: u64,
    pub as_of: String,
    pub org: OrgLine,
    /// The user partnermap acts as by default in this database.
    pub acting_user: UserLine,
    pub other_users: Vec<UserLine>,
    pub partners: Vec<PartnerLine>,
    /// Partners per Partner Score label.
    pub labels: BTreeMap<String, usize>,
    /// The acting org's accounts.
    pub accounts: usize,
    /// Records of every org (acting org, online and offline partners).
    pub records_total: usize,
    /// The acting org's deals (two years), and their currencies.
    pub deals: usize,
    pub currencies: Vec<String>,
    pub pending_share_requests_incoming: usize,
    pub pending_share_requests_outgoing: usize,
    pub threads: usize,
    /// Questions to ask the assistant.
    pub questions: Vec<String>,
    /// How to connect an assistant to this database.
    pub connect: Vec<String>,
    /// Where the generated files were written (and imported from); deleted when the demo ends.
    #[serde(skip)]
    pub import_dir: PathBuf,
}

type L = SharingLevel;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Active,
    InvitedByUs,
    InvitedUs,
    Declined,
    Revoked,
    Offline,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Src {
    Csv,
    Crm,
}

/// One partner of the demo: its size, how much deals on its customers go better (or worse),
/// its partnership, its data and what each side shares.
struct Role {
    size: usize,
    effect: f64,
    state: State,
    src: Src,
    /// What the partner shares its customers at with the acting org; None: it has no customers
    /// population at all.
    customers: Option<L>,
    prospects: L,
    open: L,
    /// What the acting org shares its customers at with the partner.
    we_share: L,
    words: &'static [&'static str],
}

const TECH: &[&str] = &[
    "Cloud",
    "Data",
    "Systems",
    "Labs",
    "Software",
    "Security",
    "Integrations",
];
const SERVICES: &[&str] = &["Consulting", "Partners", "Advisory", "Group", "Solutions"];
const CHANNEL: &[&str] = &["Resellers", "Distribution", "IT Services", "Channel"];

#[allow(clippy::too_many_arguments)]
const fn role(
    size: usize,
    effect: f64,
    state: State,
    src: Src,
    customers: Option<L>,
    prospects: L,
    open: L,
    we_share: L,
    words: &'static [&'static str],
) -> Role {
    Role {
        size,
        effect,
        state,
        src,
        customers,
        prospects,
        open,
        we_share,
        words,
    }
}

use SharingLevel::{Counts as C, Full as F, Hidden as H, Overlaps as O};
use Src::{Crm, Csv};
use State::*;

/// The partners, in the order they are created. Sizes are accounts at scale 1.
const ROLES: &[Role] = &[
    // Scored partners of every size; `effect` drives their impact.
    role(3200, 0.9, Active, Crm, Some(F), O, O, F, TECH),
    role(2600, 0.5, Active, Csv, Some(O), C, O, O, TECH),
    role(2100, -0.35, Active, Crm, Some(O), C, H, O, SERVICES),
    role(1600, 0.7, Active, Csv, Some(F), O, C, O, TECH),
    role(1300, 0.1, Active, Csv, Some(O), C, C, C, SERVICES),
    role(1000, 0.6, Active, Crm, Some(O), O, O, O, TECH),
    role(800, -0.5, Active, Csv, Some(O), C, H, C, SERVICES),
    role(600, 0.35, Active, Csv, Some(O), C, C, O, TECH),
    role(450, 0.2, Active, Crm, Some(O), H, O, O, SERVICES),
    role(1900, 0.0, Active, Csv, Some(O), C, C, O, TECH),
    role(850, 0.45, Active, Csv, Some(O), O, C, C, SERVICES),
    role(350, -0.2, Active, Csv, Some(O), O, C, C, TECH),
    // Too small to score (None): few won deals on their customers.
    role(70, 0.5, Active, Csv, Some(O), C, C, O, SERVICES),
    role(50, 0.3, Active, Csv, Some(F), C, C, C, TECH),
    role(40, 0.2, Active, Crm, Some(O), C, C, C, SERVICES),
    // Unknown: no customers population; customers at counts only; customers hidden.
    role(900, 0.3, Active, Csv, None, O, O, C, SERVICES),
    role(1400, 0.4, Active, Crm, Some(C), C, C, O, TECH),
    role(700, 0.2, Active, Csv, Some(H), C, H, C, SERVICES),
    // Not active (Unknown too).
    role(1100, 0.2, InvitedByUs, Csv, Some(O), C, C, C, TECH),
    role(600, 0.2, InvitedUs, Crm, Some(O), C, C, C, SERVICES),
    role(500, 0.1, Declined, Csv, Some(O), C, C, C, TECH),
    role(800, 0.3, Revoked, Csv, Some(O), C, C, C, SERVICES),
    // Offline partners, from CSV.
    role(500, 0.4, Offline, Csv, Some(F), F, F, C, CHANNEL),
    role(300, -0.1, Offline, Csv, Some(F), F, F, C, CHANNEL),
    role(180, 0.6, Offline, Csv, Some(F), F, F, C, CHANNEL),
];

/// Roles the share requests and threads refer to.
const STAR: usize = 0;
const COUNTS_ONLY: usize = 16;

const ORG_NAME: &str = "Lumora Analytics";
const ORG_DOMAIN: &str = "lumora.io";
const POP_CUSTOMERS: &str = "Customers";
const POP_PROSPECTS: &str = "Prospects";
const POP_OPEN: &str = "Open Opportunities";

/// The database's fingerprint seed, derived from the demo's seed (splitmix64).
fn fingerprint_seed(seed: u64) -> u64 {
    let mut z = seed ^ 0x5061_7274_6e65_724d;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Refuses a database that holds orgs; fixes the fingerprint seed of an empty one.
fn prepare(path: &Path, seed: u64) -> Result<()> {
    let conn = store::open(path)?;
    let n = store::orgs::count_orgs(&conn)?;
    if n > 0 {
        return Err(conflict(format!(
            "The database {} already holds {n} organization{}; the demo builds its own network and runs only into an empty database. Choose a new file: partnermap demo --db /path/to/partnermap-demo.db",
            path.display(),
            if n == 1 { "" } else { "s" }
        )));
    }
    store::set_fingerprint_seed(&conn, fingerprint_seed(seed))?;
    Ok(())
}

fn io_err(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("demo: {e}"))
}

fn email_of(first: &str, last: &str, domain: &str) -> String {
    format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase())
}

/// One online or offline partner as built.
struct Built {
    name: String,
    domain: String,
    /// The partner's admin and its partner manager (online partners).
    admin: Option<Actor>,
    pm_email: Option<String>,
    accts: Vec<Acct>,
}

struct Builder {
    engine: Engine,
    rng: ChaCha8Rng,
    today: NaiveDate,
    clock: DateTime<Utc>,
    dir: tempfile::TempDir,
    pb: ProgressBar,
    scale: f64,
}

impl Builder {
    /// Moves the engine's clock to `days_ago` (never backwards), then a minute per operation.
    fn day(&mut self, days_ago: i64) {
        let t =
            self.today.and_hms_opt(9, 0, 0).expect("valid").and_utc() - Duration::days(days_ago);
        if t > self.clock {
            self.clock = t;
        }
        self.engine.set_now(self.clock);
    }

    fn tick(&mut self) {
        self.clock += Duration::minutes(1);
        self.engine.set_now(self.clock);
    }

    fn step(&self, msg: impl Into<String>) {
        self.pb.set_message(msg.into());
        self.pb.inc(1);
    }

    fn scaled(&self, n: usize) -> usize {
        ((n as f64) * self.scale).round().max(12.0) as usize
    }

    fn population(
        &mut self,
        actor: &Actor,
        name: &str,
        t: PopulationType,
        filters: serde_json::Value,
        partner: Option<&str>,
    ) -> Result<()> {
        self.tick();
        self.engine.create_population(
            actor,
            &NewPopulation {
                name: name.to_string(),
                pop_type: t,
                data_source: None,
                filters,
                partner: partner.map(str::to_string),
            },
        )?;
        Ok(())
    }

    /// A partner's data: a CSV (imported by its admin, or by the acting org for an offline
    /// partner) or a CRM export, with its standard populations.
    fn partner_data(
        &mut self,
        importer: &Actor,
        offline_name: Option<&str>,
        r: &Role,
        prefix: &str,
        u: &[Company],
        accts: &[Acct],
    ) -> Result<()> {
        let reps: Vec<String> = (0..4)
            .map(|_| {
                let (f, l) = names::person(&mut self.rng);
                format!("{f} {l}")
            })
            .collect();
        let customers = r.customers.is_some();
        self.tick();
        let (field, cust, pros, open) = match r.src {
            Src::Csv => {
                let path = self.dir.path().join(format!("{prefix}.csv"));
                data::write_partner_csv(&mut self.rng, &path, u, accts, &reps)?;
                let spec = ImportSpec {
                    path,
                    name: "Account list".into(),
                    name_column: "Company".into(),
                    website_column: "Website".into(),
                };
                self.engine.import_csv(importer, &spec, offline_name)?;
                (
                    "Status",
                    json!("Customer"),
                    json!("Prospect"),
                    json!("Open Opportunity"),
                )
            }
            Src::Crm => {
                let companies: Vec<usize> = accts.iter().map(|a| a.company).collect();
                let customer: Vec<bool> =
                    accts.iter().map(|a| a.status == Status::Customer).collect();
                let deals: Vec<_> = accts
                    .iter()
                    .map(|a| data::partner_deals(&mut self.rng, a, &u[a.company], self.today))
                    .collect();
                let fx = self.engine.fx_table()?;
                let (ap, op) = data::write_crm(
                    &mut self.rng,
                    self.dir.path(),
                    prefix,
                    u,
                    &companies,
                    &customer,
                    &deals,
                    &reps,
                    &fx,
                )?;
                self.engine.import_crm(importer, &ap, &op, "CRM")?;
                ("type", json!("Customer"), json!("Prospect"), json!(null))
            }
        };
        if customers {
            self.population(
                importer,
                POP_CUSTOMERS,
                PopulationType::Customers,
                json!({"field": field, "op": "eq", "value": cust}),
                offline_name,
            )?;
        }
        self.population(
            importer,
            POP_PROSPECTS,
            PopulationType::Prospects,
            json!({"field": field, "op": "eq", "value": pros}),
            offline_name,
        )?;
        let open_filter = if open.is_null() {
            json!({"field": "has_open_opportunity", "op": "eq", "value": "true"})
        } else {
            json!({"field": field, "op": "eq", "value": open})
        };
        self.population(
            importer,
            POP_OPEN,
            PopulationType::OpenOpportunities,
            open_filter,
            offline_name,
        )
    }
}

fn share_fields(src: Src) -> Vec<String> {
    let f: &[&str] = match src {
        Src::Csv => &["name", "website", "Industry", "Country", "Account Owner"],
        Src::Crm => &["name", "website", "industry", "country", "owner"],
    };
    f.iter().map(|s| s.to_string()).collect()
}

/// Builds the demo network into the (empty) database at `path`.
pub fn build(path: &Path, opts: &Options) -> Result<Summary> {
    let existed = path.exists();
    let result = build_into(path, opts);
    if result.is_err() && !existed {
        // Leave no half-built database behind (the demo would refuse it next time).
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
    result
}

fn build_into(path: &Path, opts: &Options) -> Result<Summary> {
    prepare(path, opts.seed)?;
    let engine = Engine::open(path)?;
    let today = opts.today.unwrap_or_else(|| engine.today());
    let online = ROLES.iter().filter(|r| r.state != Offline).count();
    let offline = ROLES.len() - online;
    let pb = if opts.progress && std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(
            Some((online + offline + 6) as u64),
            ProgressDrawTarget::stderr(),
        );
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} building the demo [{bar:30}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let dir = tempfile::Builder::new()
        .prefix("partnermap-demo-")
        .tempdir()
        .map_err(io_err)?;
    let mut b = Builder {
        engine,
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        today,
        clock: DateTime::<Utc>::MIN_UTC,
        dir,
        pb,
        scale: opts.scale.clamp(0.05, 10.0),
    };
    let summary = run(&mut b, path, opts.seed);
    b.pb.finish_and_clear();
    summary
}

fn run(b: &mut Builder, path: &Path, seed: u64) -> Result<Summary> {
    // The acting org and its users.
    b.day(400);
    b.step(format!("{ORG_NAME} and its users"));
    let admin = b.engine.init_org(&InitOrg {
        name: ORG_NAME.into(),
        domain: ORG_DOMAIN.into(),
        admin_email: format!("avery.chen@{ORG_DOMAIN}"),
        admin_name: Some("Avery Chen".into()),
        plan: Plan::Supernode,
    })?;
    b.tick();
    let pm = b.engine.add_user(
        &admin,
        &NewUser {
            email: format!("jordan.rivera@{ORG_DOMAIN}"),
            name: Some("Jordan Rivera".into()),
            role: crate::model::Role::PartnerManager,
            permissions: Permission::ALL.to_vec(),
        },
    )?;
    b.tick();
    let member = b.engine.add_user(
        &admin,
        &NewUser {
            email: format!("sam.okafor@{ORG_DOMAIN}"),
            name: Some("Sam Okafor".into()),
            role: crate::model::Role::Member,
            permissions: Vec::new(),
        },
    )?;
    b.engine.set_default_user(pm.id)?;
    let me = b.engine.actor(Some(&pm.email))?;
    let sam = b.engine.actor(Some(&member.email))?;

    // Names first (so the universe never takes a partner's domain), then the universe and
    // every partner's accounts.
    let mut namer = Namer::default();
    namer.reserve("Lumora", ORG_DOMAIN);
    let partner_names: Vec<names::CompanyName> = ROLES
        .iter()
        .map(|r| {
            let country = &COUNTRIES[[0, 0, 0, 1, 2, 6][b.rng.random_range(0..6)]];
            namer.company(&mut b.rng, r.words, country, false)
        })
        .collect();
    let n_universe = b.scaled(9000).max(MEGACORPS * 20);
    let u = data::universe(&mut b.rng, &mut namer, n_universe);
    let mut all_accts: Vec<Vec<Acct>> = Vec::with_capacity(ROLES.len());
    for r in ROLES {
        let n = if r.size < 100 {
            r.size
        } else {
            b.scaled(r.size)
        };
        all_accts.push(data::partner_accounts(
            &mut b.rng,
            &u,
            n,
            0.4,
            r.size >= 300,
        ));
    }
    // How much better deals go on an account: the sum, over the partners that have it as a
    // customer, of their effect minus the customer-weighted mean effect. An account no partner
    // has as a customer is the baseline (0); each partner's customers lean its way.
    let customers_of = |i: usize| all_accts[i].iter().filter(|a| a.status == Status::Customer);
    let (mut total, mut count) = (0.0, 0usize);
    for (i, r) in ROLES.iter().enumerate() {
        let n = customers_of(i).count();
        total += r.effect * n as f64;
        count += n;
    }
    let centre = total / count.max(1) as f64;
    let mut boost_of = vec![0.0f64; u.len()];
    for (i, r) in ROLES.iter().enumerate() {
        for a in customers_of(i) {
            boost_of[a.company] += r.effect - centre;
        }
    }

    // The acting org's CRM: accounts with two years of deals.
    b.step(format!("{ORG_NAME} CRM: accounts and two years of deals"));
    let n_mine = b.scaled(2600);
    let mine = data::sample(&mut b.rng, &u, n_mine);
    let mut deals = Vec::with_capacity(mine.len());
    let mut customer = Vec::with_capacity(mine.len());
    for &c in &mine {
        let boost = boost_of[c].clamp(-1.5, 1.5);
        let d = data::acting_deals(&mut b.rng, &u[c], boost, c < MEGACORPS, b.today);
        let legacy = d.is_empty() && b.rng.random_bool(0.12);
        customer.push(legacy || d.iter().any(|d| d.won));
        deals.push(d);
    }
    let reps: Vec<String> = [
        "Dana Whitfield",
        "Marco Bellini",
        "Yuki Tanaka",
        "Priya Raman",
        "Tom Becker",
        "Ines Duarte",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let fx = b.engine.fx_table()?;
    b.day(7);
    let (ap, op) = data::write_crm(
        &mut b.rng,
        b.dir.path(),
        "lumora",
        &u,
        &mine,
        &customer,
        &deals,
        &reps,
        &fx,
    )?;
    b.engine.import_crm(&me, &ap, &op, "Salesforce")?;
    for (name, t, f) in [
        (
            POP_CUSTOMERS,
            PopulationType::Customers,
            json!({"field": "type", "op": "eq", "value": "Customer"}),
        ),
        (
            POP_PROSPECTS,
            PopulationType::Prospects,
            json!({"field": "type", "op": "eq", "value": "Prospect"}),
        ),
        (
            POP_OPEN,
            PopulationType::OpenOpportunities,
            json!({"field": "has_open_opportunity", "op": "eq", "value": "true"}),
        ),
        (
            "Enterprise accounts",
            PopulationType::Custom,
            json!({"field": "employees", "op": "gte", "value": 5000}),
        ),
        (
            "EMEA accounts",
            PopulationType::Custom,
            json!({"field": "country", "op": "in", "value": ["GB", "DE", "FR", "NL", "SE"]}),
        ),
    ] {
        b.population(&me, name, t, f, None)?;
    }

    // Online partners: each its own org with users and data.
    let mut built: Vec<Built> = Vec::with_capacity(ROLES.len());
    for (i, r) in ROLES.iter().enumerate() {
        let cn = &partner_names[i];
        let accts = std::mem::take(&mut all_accts[i]);
        if r.state == Offline {
            built.push(Built {
                name: cn.name.clone(),
                domain: cn.domain.clone(),
                admin: None,
                pm_email: None,
                accts,
            });
            continue;
        }
        b.day(380 - 10 * i as i64);
        b.step(format!("partner {}", cn.name));
        let (af, al) = names::person(&mut b.rng);
        let (mut pf, mut pl) = names::person(&mut b.rng);
        while pf == af {
            (pf, pl) = names::person(&mut b.rng);
        }
        let admin = b.engine.init_org(&InitOrg {
            name: cn.name.clone(),
            domain: cn.domain.clone(),
            admin_email: email_of(&af, &al, &cn.domain),
            admin_name: Some(format!("{af} {al}")),
            plan: if r.size < 100 {
                Plan::Explorer
            } else {
                Plan::Connector
            },
        })?;
        b.tick();
        let pm_user = b.engine.add_user(
            &admin,
            &NewUser {
                email: email_of(&pf, &pl, &cn.domain),
                name: Some(format!("{pf} {pl}")),
                role: crate::model::Role::PartnerManager,
                permissions: vec![Permission::ManagePartnerships, Permission::ManageSharing],
            },
        )?;
        b.day(200 - 5 * i as i64);
        b.partner_data(&admin, None, r, &format!("partner{:02}", i + 1), &u, &accts)?;
        built.push(Built {
            name: cn.name.clone(),
            domain: cn.domain.clone(),
            admin: Some(admin),
            pm_email: Some(pm_user.email),
            accts,
        });
    }

    // Partnerships, in every state, and what each side shares.
    b.step("partnerships and sharing settings");
    for (i, r) in ROLES.iter().enumerate() {
        let p = &built[i];
        let Some(padmin) = p.admin.clone() else {
            continue;
        };
        b.day(150 - 4 * i as i64);
        match r.state {
            Active | Revoked if i % 2 == 0 => {
                b.engine.invite(&me, &p.domain)?;
                b.tick();
                b.engine.respond_to_invitation(&padmin, ORG_NAME, true)?;
            }
            Active | Revoked => {
                b.engine.invite(&padmin, ORG_DOMAIN)?;
                b.tick();
                b.engine.respond_to_invitation(&me, &p.name, true)?;
            }
            InvitedByUs => {
                b.day(3);
                b.engine.invite(&me, &p.domain)?;
            }
            InvitedUs => {
                b.day(2);
                b.engine.invite(&padmin, ORG_DOMAIN)?;
            }
            Declined => {
                b.engine.invite(&me, &p.domain)?;
                b.tick();
                b.engine.respond_to_invitation(&padmin, ORG_NAME, false)?;
            }
            Offline => unreachable!("offline partners have no admin"),
        }
        if r.state != Active {
            if r.state == Revoked {
                b.tick();
                b.engine.revoke(&padmin, ORG_NAME)?;
            }
            continue;
        }
        // The partner's side.
        let fields = share_fields(r.src);
        for (pop, level) in [
            (POP_CUSTOMERS, r.customers),
            (POP_PROSPECTS, Some(r.prospects)),
            (POP_OPEN, Some(r.open)),
        ] {
            if let Some(level) = level.filter(|l| *l != L::Counts) {
                b.tick();
                let f = (level >= L::Overlaps).then_some(fields.as_slice());
                b.engine.set_sharing(&padmin, ORG_NAME, pop, level, f)?;
            }
        }
        // The acting org's side.
        let mine_fields = share_fields(Src::Crm);
        if r.we_share != L::Counts {
            b.tick();
            b.engine
                .set_sharing(&me, &p.name, POP_CUSTOMERS, r.we_share, Some(&mine_fields))?;
        }
        let open = if r.effect >= 0.5 {
            L::Overlaps
        } else if r.effect < 0.0 {
            L::Hidden
        } else {
            L::Counts
        };
        if open != L::Counts {
            b.tick();
            b.engine
                .set_sharing(&me, &p.name, POP_OPEN, open, Some(&mine_fields))?;
        }
    }

    // Offline partners: added and uploaded by the acting org.
    for (i, r) in ROLES.iter().enumerate() {
        if r.state != Offline {
            continue;
        }
        let (name, domain) = (built[i].name.clone(), built[i].domain.clone());
        b.day(90 - i as i64);
        b.step(format!("offline partner {name}"));
        b.engine.add_offline_partner(&me, &name, Some(&domain))?;
        let accts = std::mem::take(&mut built[i].accts);
        b.partner_data(
            &me,
            Some(&name),
            r,
            &format!("offline{:02}", i + 1),
            &u,
            &accts,
        )?;
        built[i].accts = accts;
    }

    // Share requests: pending both ways, plus one approved and one declined.
    b.step("share requests");
    let ask = |partner: &str, pop: &str, level: L, message: &str| NewShareRequest {
        partner: partner.to_string(),
        population: Some(pop.to_string()),
        level: Some(level),
        fields: Vec::new(),
        message: message.to_string(),
    };
    let pa = |i: usize| built[i].admin.clone().expect("online partner");
    b.day(12);
    let r = b.engine.create_share_request(
        &pa(7),
        &ask(
            ORG_NAME,
            POP_PROSPECTS,
            L::Overlaps,
            "Could we see which of your prospects we already sell to? Happy to make intros.",
        ),
    )?;
    b.tick();
    b.engine.respond_to_share_request(&me, r.id, true, None)?;
    b.day(10);
    let r = b.engine.create_share_request(
        &me,
        &ask(
            &built[11].name,
            POP_PROSPECTS,
            L::Overlaps,
            "Would you share your prospects at overlaps so we can plan joint campaigns?",
        ),
    )?;
    b.tick();
    b.engine
        .respond_to_share_request(&pa(11), r.id, false, None)?;
    b.day(4);
    b.engine.create_share_request(
        &me,
        &ask(&built[COUNTS_ONLY].name, POP_CUSTOMERS, L::Overlaps, "Could you share your customers with us at overlaps? We'd like to see where our deals line up, and it is the one thing missing for your Partner Score."),
    )?;
    b.tick();
    b.engine.create_share_request(
        &me,
        &ask(&built[4].name, POP_OPEN, L::Overlaps, "Sharing open opportunities at overlaps would let us co-sell on live deals this quarter."),
    )?;
    b.day(3);
    b.engine.create_share_request(
        &pa(STAR),
        &ask(
            ORG_NAME,
            POP_OPEN,
            L::Full,
            "We'd love to see all your open opportunities so our AEs can help close them.",
        ),
    )?;
    b.day(2);
    b.engine.create_share_request(
        &pa(5),
        &ask(
            ORG_NAME,
            POP_PROSPECTS,
            L::Full,
            "Could you share your prospect list? We can introduce you to many of them.",
        ),
    )?;
    b.day(1);
    b.engine.create_share_request(
        &pa(9),
        &ask(
            ORG_NAME,
            POP_CUSTOMERS,
            L::Overlaps,
            "Please share your customers at overlaps so we can plan a joint renewal push.",
        ),
    )?;

    // Threads about accounts, with messages from both sides.
    b.step("threads");
    let open_deal_on = |k: usize| deals[k].iter().any(|d| !d.closed);
    let customer_of = |i: usize, c: usize| {
        built[i]
            .accts
            .iter()
            .any(|a| a.company == c && a.status == Status::Customer)
    };
    let pick_account = |i: usize, skip: &[usize]| -> Option<usize> {
        (MEGACORPS..mine.len())
            .find(|&k| open_deal_on(k) && customer_of(i, mine[k]) && !skip.contains(&mine[k]))
            .map(|k| mine[k])
    };
    let mut thread_accounts: Vec<usize> = Vec::new();
    let mut threads = 0;
    let plan: [(usize, bool); 3] = [(STAR, true), (3, false), (5, true)];
    for (n, (i, by_pm)) in plan.into_iter().enumerate() {
        let Some(c) = pick_account(i, &thread_accounts) else {
            continue;
        };
        thread_accounts.push(c);
        let company = &u[c];
        let p = &built[i];
        let opener = if by_pm { me.clone() } else { sam.clone() };
        b.day(9 - 3 * n as i64);
        let t = b.engine.create_thread(
            &opener,
            &NewThread {
                partner: p.name.clone(),
                account: company.domain.clone(),
                message: format!(
                    "We have an open deal with {} and see they are your customer. Who owns the relationship on your side? An intro to their team would help a lot.",
                    company.name
                ),
                owners: vec![opener.user.email.clone(), p.pm_email.clone().unwrap_or_default()],
            },
        )?;
        b.tick();
        b.tick();
        b.engine.post_to_thread(
            &pa(i),
            t.id,
            &format!(
                "Happy to help: we've worked with {} for two years and know their platform lead well. Send me a short brief and I'll make the intro this week.",
                company.name
            ),
            &[],
        )?;
        b.day(8 - 3 * n as i64);
        b.engine.post_to_thread(
            &opener,
            t.id,
            "Thanks! Brief sent by email; let's sync on Thursday.",
            &[],
        )?;
        threads += 1;
    }
    // One thread opened by a partner, on a megacorp.
    let mega = &u[0];
    b.day(1);
    let t = b.engine.create_thread(
        &pa(1),
        &NewThread {
            partner: ORG_NAME.into(),
            account: mega.domain.clone(),
            message: format!(
                "{} is rolling out a new data platform next quarter. Shall we put together a joint proposal?",
                mega.name
            ),
            owners: Vec::new(),
        },
    )?;
    b.tick();
    b.engine.post_to_thread(
        &me,
        t.id,
        "Yes, count us in. I'll loop in our account executive.",
        &[],
    )?;
    threads += 1;

    // The summary, as the acting user sees it today.
    b.step("Partner Scores");
    b.day(0);
    let partners = b.engine.list_partners(&me, None)?;
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for p in &partners {
        if let Some(l) = p.score_label {
            *labels.entry(l.as_str().to_string()).or_default() += 1;
        }
    }
    let pending = |d| {
        b.engine
            .list_share_requests(&me, Some(d), Some(ShareRequestStatus::Pending))
            .map(|v| v.len())
    };
    let (incoming, outgoing) = (
        pending(RequestDirection::Incoming)?,
        pending(RequestDirection::Outgoing)?,
    );
    let mut currencies: Vec<String> = mine
        .iter()
        .zip(&deals)
        .filter(|(_, d)| !d.is_empty())
        .map(|(&c, _)| u[c].country.currency.to_string())
        .collect();
    currencies.sort();
    currencies.dedup();
    let records_total = mine.len() + built.iter().map(|p| p.accts.len()).sum::<usize>();
    let db = std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    let co_sell = thread_accounts
        .first()
        .map(|&c| u[c].name.clone())
        .unwrap_or_else(|| u[0].name.clone());
    let questions = vec![
        "Who are my top partners?".to_string(),
        "Which of my open deals can a partner help with?".to_string(),
        "Which of my prospects are customers of my best partners?".to_string(),
        format!(
            "Why doesn't {} have a Partner Score, and what should I ask them for?",
            built[COUNTS_ONLY].name
        ),
        format!("Prepare a co-sell plan for {co_sell}."),
    ];
    let connect = vec![
        format!("PARTNERMAP_DB={db} partnermap mcp"),
        format!("claude mcp add --env PARTNERMAP_DB={db} partnermap -- partnermap mcp"),
    ];
    Ok(Summary {
        db,
        seed,
        as_of: b.today.to_string(),
        org: OrgLine {
            name: me.org.name.clone(),
            domain: ORG_DOMAIN.into(),
            plan: me.org.plan,
        },
        acting_user: UserLine::from(&me.user),
        other_users: vec![UserLine::from(&admin.user), UserLine::from(&sam.user)],
        partners: partners
            .iter()
            .map(|p| PartnerLine {
                name: p.name().to_string(),
                status: p.status,
                offline: p.offline,
                direction: p.direction,
                score_label: p.score_label,
            })
            .collect(),
        labels,
        accounts: mine.len(),
        records_total,
        deals: deals.iter().map(Vec::len).sum(),
        currencies,
        pending_share_requests_incoming: incoming,
        pending_share_requests_outgoing: outgoing,
        threads,
        questions,
        connect,
        import_dir: b.dir.path().to_path_buf(),
    })
}
