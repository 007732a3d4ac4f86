//! CLI verbs for CRM connectors (SPEC §11): `connect hubspot|salesforce`, `crm sync [--full]`,
//! `crm status`. Tokens come from environment variables only, never from a flag.

use super::print::Out;
use clap::Subcommand;
use partnermap::connectors::sync::{self, SyncOptions};
use partnermap::engine::{CrmConnection, CrmKind, NewCrmConnection};
use partnermap::error::invalid;
use partnermap::model::Actor;
use partnermap::{Engine, Error};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;

#[derive(Subcommand, Debug)]
pub enum CrmCmd {
    /// Connect your organization's CRM; then `partnermap crm sync` fills the crm data source.
    #[command(subcommand)]
    Connect(ConnectCmd),
    /// Sync the connected CRM, or show where the connection stands.
    #[command(subcommand)]
    Crm(CrmSub),
}

#[derive(Subcommand, Debug)]
pub enum ConnectCmd {
    /// HubSpot, with a private app's access token in PARTNERMAP_HUBSPOT_TOKEN (or --token-env).
    Hubspot {
        #[command(flatten)]
        common: ConnectArgs,
    },
    /// Salesforce, with an OAuth access token in PARTNERMAP_SALESFORCE_TOKEN (or --token-env),
    /// or a connected app's refresh flow (PARTNERMAP_SALESFORCE_REFRESH_TOKEN, _CLIENT_ID, _CLIENT_SECRET).
    Salesforce {
        /// Your org's URL, such as https://acme.my.salesforce.com.
        #[arg(long)]
        instance_url: String,
        #[command(flatten)]
        common: ConnectArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// The environment variable holding the token (its NAME, never the token itself).
    #[arg(long, value_name = "NAME")]
    token_env: Option<String>,
    /// The crm data source to fill.
    #[arg(long, default_value = "crm")]
    source: String,
    /// A record field from a CRM property: FIELD=PROPERTY (repeatable), e.g. tier=partner_tier__c.
    #[arg(long = "map", value_name = "FIELD=PROPERTY")]
    map: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum CrmSub {
    /// Sync accounts and deals: what changed since the last sync, or everything with --full
    /// (which also removes what the CRM deleted).
    Sync {
        #[arg(long)]
        full: bool,
    },
    /// The connection: CRM, data source, last sync, counts.
    Status,
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

fn field_map(pairs: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut m = BTreeMap::new();
    for p in pairs {
        let Some((f, prop)) = p.split_once('=') else {
            return Err(invalid(format!(
                "--map '{p}' is not FIELD=PROPERTY (for example tier=partner_tier__c)."
            )));
        };
        let (f, prop) = (f.trim(), prop.trim());
        if f.is_empty() || prop.is_empty() {
            return Err(invalid(format!(
                "--map '{p}' needs a field and a property."
            )));
        }
        m.insert(f.to_string(), prop.to_string());
    }
    Ok(m)
}

fn status_text(c: &CrmConnection) -> String {
    let mut s = format!(
        "{}{} → data source '{}' (token from {}).\n",
        c.kind.label(),
        c.instance_url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default(),
        c.data_source,
        c.token_env
    );
    match &c.last_sync_at {
        Some(t) => s.push_str(&format!(
            "Last sync {t} (last full sync {}): {} accounts, {} deals.\n",
            c.last_full_sync_at.as_deref().unwrap_or("never"),
            c.accounts,
            c.opportunities
        )),
        None => s.push_str("Not synced yet: run 'partnermap crm sync'.\n"),
    }
    s
}

pub fn run(engine: &mut Engine, actor: &Actor, cmd: CrmCmd, out: &Out) -> Result<(), Error> {
    match cmd {
        CrmCmd::Connect(c) => {
            let (kind, instance_url, common) = match c {
                ConnectCmd::Hubspot { common } => (CrmKind::Hubspot, None, common),
                ConnectCmd::Salesforce {
                    instance_url,
                    common,
                } => (CrmKind::Salesforce, Some(instance_url), common),
            };
            let conn = engine.crm_connect(
                actor,
                &NewCrmConnection {
                    kind,
                    instance_url,
                    token_env: common.token_env,
                    source_name: common.source,
                    field_map: field_map(&common.map)?,
                },
            )?;
            let has_token = partnermap::connectors::process_env(&conn.token_env).is_some();
            emit(out, &conn, || {
                format!(
                    "Connected {} to {}.{}\nNext: partnermap crm sync\n",
                    actor.org.name,
                    status_text(&conn).trim_end(),
                    if has_token {
                        String::new()
                    } else {
                        format!(
                            "\nNote: {} is not set in this shell; set it before syncing.",
                            conn.token_env
                        )
                    }
                )
            });
        }
        CrmCmd::Crm(CrmSub::Sync { full }) => {
            let opts = SyncOptions {
                full,
                progress: std::io::stderr().is_terminal(),
                checkpoint: sync::checkpoint_path(engine),
                ..SyncOptions::default()
            };
            let r = sync::run(engine, actor, &opts)?;
            emit(out, &r, || {
                let mut s = format!(
                    "Synced {} ({}) into '{}' in {} requests: accounts +{} ~{} -{}, deals +{} ~{} -{}; now {} accounts and {} deals; {} rows left out.\n",
                    r.crm.label(),
                    if r.full {
                        "full"
                    } else {
                        "changes since the last sync"
                    },
                    r.data_source.name,
                    r.requests,
                    r.accounts_added,
                    r.accounts_updated,
                    r.accounts_removed,
                    r.deals_added,
                    r.deals_updated,
                    r.deals_removed,
                    r.accounts,
                    r.opportunities,
                    r.rows_rejected
                );
                for e in r.errors.iter().take(20) {
                    s.push_str(&format!("  {} {}: {}\n", e.object, e.id, e.reason));
                }
                if r.errors.len() > 20 {
                    s.push_str(&format!("  … and {} more\n", r.errors.len() - 20));
                }
                s
            });
        }
        CrmCmd::Crm(CrmSub::Status) => match engine.crm_connection(actor)? {
            Some(c) => emit(out, &c, || status_text(&c)),
            None => emit(out, &serde_json::json!({"connected": false}), || {
                "No CRM connected: run 'partnermap connect hubspot' or 'partnermap connect salesforce --instance-url URL'.\n".into()
            }),
        },
    }
    Ok(())
}
