//! Partnerships across instances on the command line: `sync`, and the
//! code forms of `invite --remote`, `accept CODE` and `decline CODE` (dispatched from mod.rs).

use super::print::Out;
use clap::Subcommand;
use partnermap::federation::ops;
use partnermap::model::Actor;
use partnermap::{Engine, Error};

#[derive(Subcommand, Debug)]
pub enum FederationCmd {
    /// Exchange now with a partner on another instance (or all of them): deliver what is queued,
    /// collect what it queued for you.
    Sync { partner: Option<String> },
}

pub fn run_sync(
    engine: &mut Engine,
    a: &Actor,
    partner: Option<&str>,
    out: &Out,
) -> Result<(), Error> {
    let results = ops::sync(engine, a, partner)?;
    if out.json {
        out.value(&results);
    } else if results.is_empty() {
        println!("No partners on other instances.");
    } else {
        for r in &results {
            match &r.error {
                None => println!(
                    "{}: in sync ({} sent, {} received, {} pending)",
                    r.partner.name(),
                    r.sent,
                    r.received,
                    r.pending
                ),
                Some(e) => println!(
                    "{}: not reached ({e}); {} message(s) stay queued and are retried.",
                    r.partner.name(),
                    r.pending
                ),
            }
        }
    }
    Ok(())
}

pub fn invite_remote(
    engine: &mut Engine,
    a: &Actor,
    expires: Option<&str>,
    out: &Out,
) -> Result<(), Error> {
    let d = ops::parse_expiry(expires.unwrap_or("7d"))?;
    let inv = ops::invite_remote(engine, a, d, None)?;
    if out.json {
        out.value(&inv);
    } else {
        println!("{}", inv.code);
        eprintln!(
            "Send this code to your partner; it works once, until {}. They run: partnermap accept <code>\nYour instance ID: {}",
            inv.expires_at, inv.instance_id
        );
    }
    Ok(())
}

pub fn accept(engine: &mut Engine, a: &Actor, code: &str, out: &Out) -> Result<(), Error> {
    let v = ops::accept_code(engine, a, code)?;
    out.partnership(&v);
    // First exchange right away; a failure here is retried later.
    if let Some(l) = partnermap::store::federation::link_of_remote_org(engine.conn(), v.partner_id)?
    {
        let _ = ops::sync_link(engine, l.id);
    }
    Ok(())
}

pub fn decline(engine: &mut Engine, a: &Actor, code: &str) -> Result<(), Error> {
    let org = ops::decline_code(engine, a, code)?;
    println!("Declined the invitation from {org}.");
    Ok(())
}

/// After a revocation: try to deliver it to a remote partner now.
pub fn after_revoke(engine: &mut Engine, partner_id: i64) {
    if let Ok(Some(l)) =
        partnermap::store::federation::link_of_remote_org(engine.conn(), partner_id)
    {
        match ops::sync_link(engine, l.id) {
            Ok(r) if r.error.is_some() => eprintln!(
                "The partner was not reached; the revocation is queued and delivered on the next sync."
            ),
            _ => {}
        }
    }
}
