//! The command line (clap). Every verb parses its flags, resolves the acting user, calls one
//! engine operation and prints the result: a short human form, or JSON with `--json`.

mod crm;
mod dashboard;
mod demo;
mod federation;
mod insights;
mod mcp;
mod print;
mod score;
mod serve;
mod sharing;
mod token;

use clap::{Args, Parser, Subcommand};
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation, NewUser};
use partnermap::model::{Actor, PartnershipStatus, Permission, Plan, PopulationType, Role};
use partnermap::{Engine, Error};
use print::Out;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "partnermap",
    version,
    about = "Local-first partner-ecosystem engine: account mapping, data sharing and Partner Score, served to AI assistants over MCP.",
    after_help = "The database: --db PATH or PARTNERMAP_DB (default: the user's data directory).\nThe acting user: --as EMAIL or PARTNERMAP_USER (default: the first admin, or the demo user)."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// The SQLite database file.
    #[arg(long, global = true, env = "PARTNERMAP_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// Act as this user (email).
    #[arg(
        long = "as",
        global = true,
        env = "PARTNERMAP_USER",
        value_name = "EMAIL"
    )]
    as_user: Option<String>,
    /// Print JSON (for scripts) instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create an organization with its first admin.
    Init {
        #[arg(long)]
        org: String,
        #[arg(long)]
        domain: String,
        #[arg(long)]
        admin: String,
        #[arg(long)]
        admin_name: Option<String>,
        #[arg(long, default_value = "connector")]
        plan: Plan,
    },
    /// Users of your organization.
    #[command(subcommand)]
    User(UserCmd),
    /// Who you are acting as.
    Whoami,
    /// Your partners (online and offline), optionally of one status.
    Partners {
        #[arg(long)]
        status: Option<PartnershipStatus>,
    },
    /// One partner: status, populations you can see, what each side shares.
    Partner { partner: String },
    /// Invite another organization (name or domain) to partner; with --remote, make an
    /// invitation code for an organization on another instance.
    Invite {
        #[arg(required_unless_present = "remote")]
        org: Option<String>,
        /// Print a one-time invitation code (pmi1.…) for a partner on another instance.
        #[arg(long, conflicts_with = "org")]
        remote: bool,
        /// How long the code is valid: 7d (default), 12h, 30m.
        #[arg(long, requires = "remote")]
        expires: Option<String>,
    },
    /// Accept a partner's invitation (a partner name, or an invitation code pmi1.…).
    Accept { partner: String },
    /// Decline a partner's invitation (a partner name, or an invitation code pmi1.…).
    Decline { partner: String },
    /// End a partnership (or withdraw your invitation).
    Revoke { partner: String },
    /// Offline partners: companies that do not use partnermap, whose lists you upload.
    #[command(subcommand)]
    Offline(OfflineCmd),
    /// Import a CSV of companies as a data source (yours, or an offline partner's with --partner).
    Import {
        path: PathBuf,
        /// The data source's name (importing again under the same name replaces it).
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "name")]
        name_column: String,
        #[arg(long, default_value = "website")]
        website_column: String,
        /// An offline partner to upload the file for.
        #[arg(long)]
        partner: Option<String>,
    },
    /// Your populations, or a partner's that you can see.
    Populations {
        #[arg(long)]
        partner: Option<String>,
    },
    /// Populations.
    #[command(subcommand)]
    Population(PopulationCmd),
    /// The overlap matrix with one partner.
    Overlaps { partner: String },
    /// Search your partners and your own accounts.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Change your organization's plan (admins).
    Plan { plan: Plan },
    #[command(flatten)]
    Score(score::ScoreCmd),
    #[command(flatten)]
    Crm(crm::CrmCmd),
    #[command(flatten)]
    Sharing(sharing::SharingCmd),
    #[command(flatten)]
    Insights(insights::InsightsCmd),
    #[command(flatten)]
    Mcp(mcp::McpCmd),
    #[command(flatten)]
    Demo(demo::DemoCmd),
    #[command(flatten)]
    Dashboard(dashboard::DashboardCmd),
    /// Serve MCP over streamable HTTP for your team (remote MCP; `/mcp`, bearer tokens).
    Serve(serve::ServeArgs),
    /// Bearer tokens for remote MCP (`partnermap serve`).
    #[command(subcommand)]
    Token(token::TokenCmd),
    #[command(flatten)]
    Federation(federation::FederationCmd),
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add a user to your organization (admins).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "member")]
        role: Role,
        /// For partner managers: manage_data_sources, manage_partnerships, manage_sharing (repeatable).
        #[arg(long = "perm")]
        permissions: Vec<Permission>,
    },
    /// The users of your organization.
    List,
}

#[derive(Subcommand, Debug)]
enum OfflineCmd {
    /// Add an offline partner.
    Add {
        name: String,
        #[arg(long)]
        domain: Option<String>,
    },
    /// Delete an offline partner with its data (needs --confirm DELETE).
    Delete {
        partner: String,
        #[arg(long, default_value = "")]
        confirm: String,
    },
}

#[derive(Subcommand, Debug)]
enum PopulationCmd {
    /// Create a population on a data source, with optional filters (JSON).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "type", default_value = "custom")]
        pop_type: PopulationType,
        /// The data source (name or id); optional when there is only one.
        #[arg(long)]
        source: Option<String>,
        /// Filters as JSON: {"field":"type","op":"eq","value":"Customer"} or a list of them.
        #[arg(long)]
        filter: Option<String>,
        /// An offline partner to define the population for.
        #[arg(long)]
        partner: Option<String>,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARTNERMAP_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "warn,partnermap::calls=info,partnermap::serve=info",
                )
            }),
        )
        .init();
}

fn open(g: &Global) -> Result<Engine, Error> {
    let path = g.db.clone().unwrap_or_else(partnermap::store::default_path);
    tracing::info!(db = %path.display(), "opening database");
    Engine::open(&path)
}

fn actor(engine: &Engine, g: &Global) -> Result<Actor, Error> {
    engine.actor(g.as_user.as_deref())
}

fn dispatch(cli: Cli) -> Result<(), Error> {
    let g = cli.global;
    let out = Out { json: g.json };
    // The demo opens the database itself: it must find it empty and fix its fingerprint seed
    // before the engine opens it.
    let command = match cli.command {
        Command::Demo(cmd) => {
            let path = g.db.clone().unwrap_or_else(partnermap::store::default_path);
            return demo::run(cmd, &path, &out);
        }
        c => c,
    };
    let mut engine = open(&g)?;
    match command {
        Command::Init {
            org,
            domain,
            admin,
            admin_name,
            plan,
        } => {
            let a = engine.init_org(&InitOrg {
                name: org,
                domain,
                admin_email: admin,
                admin_name,
                plan,
            })?;
            out.whoami(&a);
        }
        Command::User(UserCmd::Add {
            email,
            name,
            role,
            permissions,
        }) => {
            let a = actor(&engine, &g)?;
            let u = engine.add_user(
                &a,
                &NewUser {
                    email,
                    name,
                    role,
                    permissions,
                },
            )?;
            out.users(&[u]);
        }
        Command::User(UserCmd::List) => {
            let a = actor(&engine, &g)?;
            out.users(&engine.users(&a)?);
        }
        Command::Whoami => out.whoami(&actor(&engine, &g)?),
        Command::Partners { status } => {
            let a = actor(&engine, &g)?;
            out.partners(&engine.list_partners(&a, status)?);
        }
        Command::Partner { partner } => {
            let a = actor(&engine, &g)?;
            out.value(&engine.get_partner(&a, &partner)?);
        }
        Command::Invite {
            org,
            remote,
            expires,
        } => {
            let a = actor(&engine, &g)?;
            match org {
                Some(org) if !remote => out.partnership(&engine.invite(&a, &org)?),
                _ => federation::invite_remote(&mut engine, &a, expires.as_deref(), &out)?,
            }
        }
        Command::Accept { partner } => {
            let a = actor(&engine, &g)?;
            if partnermap::federation::ops::is_code(&partner) {
                federation::accept(&mut engine, &a, &partner, &out)?;
            } else {
                out.partnership(&engine.respond_to_invitation(&a, &partner, true)?);
            }
        }
        Command::Decline { partner } => {
            let a = actor(&engine, &g)?;
            if partnermap::federation::ops::is_code(&partner) {
                federation::decline(&mut engine, &a, &partner)?;
            } else {
                out.partnership(&engine.respond_to_invitation(&a, &partner, false)?);
            }
        }
        Command::Revoke { partner } => {
            let a = actor(&engine, &g)?;
            let v = engine.revoke(&a, &partner)?;
            out.partnership(&v);
            federation::after_revoke(&mut engine, v.partner_id);
        }
        Command::Federation(federation::FederationCmd::Sync { partner }) => {
            let a = actor(&engine, &g)?;
            federation::run_sync(&mut engine, &a, partner.as_deref(), &out)?;
        }
        Command::Offline(OfflineCmd::Add { name, domain }) => {
            let a = actor(&engine, &g)?;
            out.partners(&[engine.add_offline_partner(&a, &name, domain.as_deref())?]);
        }
        Command::Offline(OfflineCmd::Delete { partner, confirm }) => {
            let a = actor(&engine, &g)?;
            out.value(&engine.delete_offline_partner(&a, &partner, &confirm)?);
        }
        Command::Import {
            path,
            name,
            name_column,
            website_column,
            partner,
        } => {
            let a = actor(&engine, &g)?;
            let spec = ImportSpec {
                path,
                name,
                name_column,
                website_column,
            };
            out.import(&engine.import_csv(&a, &spec, partner.as_deref())?);
        }
        Command::Populations { partner } => {
            let a = actor(&engine, &g)?;
            out.populations(&engine.list_populations(&a, partner.as_deref())?);
        }
        Command::Population(PopulationCmd::Create {
            name,
            pop_type,
            source,
            filter,
            partner,
        }) => {
            let a = actor(&engine, &g)?;
            let filters = match filter {
                Some(f) => serde_json::from_str(&f).map_err(|e| {
                    partnermap::error::invalid(format!("--filter is not valid JSON: {e}"))
                })?,
                None => serde_json::Value::Null,
            };
            let p = engine.create_population(
                &a,
                &NewPopulation {
                    name,
                    pop_type,
                    data_source: source,
                    filters,
                    partner,
                },
            )?;
            out.populations(&[p]);
        }
        Command::Overlaps { partner } => {
            let a = actor(&engine, &g)?;
            out.overlaps(&engine.overlaps(&a, &partner)?);
        }
        Command::Search { query, limit } => {
            let a = actor(&engine, &g)?;
            out.value(&engine.search(&a, &query, limit)?);
        }
        Command::Plan { plan } => {
            let a = actor(&engine, &g)?;
            out.whoami(&engine.set_plan(&a, plan)?);
        }
        Command::Score(cmd) => {
            let a = actor(&engine, &g)?;
            score::run(&mut engine, &a, cmd, &out)?;
        }
        Command::Crm(cmd) => {
            let a = actor(&engine, &g)?;
            crm::run(&mut engine, &a, cmd, &out)?;
        }
        Command::Sharing(cmd) => {
            let a = actor(&engine, &g)?;
            sharing::run(cmd, &mut engine, &a, &out)?;
        }
        Command::Insights(cmd) => {
            let a = actor(&engine, &g)?;
            engine.snapshot(|e| insights::run(e, &a, cmd, g.json))?;
        }
        Command::Mcp(cmd) => mcp::run(cmd, engine, g.as_user.clone())?,
        Command::Dashboard(cmd) => dashboard::run(cmd, engine, g.as_user.clone(), g.json)?,
        Command::Serve(args) => {
            let path = g.db.clone().unwrap_or_else(partnermap::store::default_path);
            serve::run(args, engine, path)?
        }
        Command::Token(cmd) => token::run(cmd, &mut engine, &out)?,
        Command::Demo(_) => unreachable!("handled before the database is opened"),
    }
    Ok(())
}
