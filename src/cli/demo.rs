//! `partnermap demo`: builds the demo network into an empty database and says what to ask.

use super::print::Out;
use clap::Subcommand;
use partnermap::Error;
use partnermap::demo::{self, Options, Summary};
use partnermap::engine::parse_as_of;
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum DemoCmd {
    /// Build a realistic demo network (an org you act as, 25 partners, thousands of accounts,
    /// two years of deals) into an empty database, then ask your assistant about it.
    Demo {
        /// The generator's seed: the same seed (on the same day) gives the same database.
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
        /// Size factor of every account count (1 = the full demo).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Build the demo as of this day (YYYY-MM-DD; default today).
        #[arg(long)]
        as_of: Option<String>,
    },
}

pub fn run(cmd: DemoCmd, db: &Path, out: &Out) -> Result<(), Error> {
    let DemoCmd::Demo { seed, scale, as_of } = cmd;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(partnermap::error::invalid(
            "--scale must be a positive number (1 = the full demo).",
        ));
    }
    let today = as_of.as_deref().map(parse_as_of).transpose()?;
    let started = std::time::Instant::now();
    let s = demo::build(
        db,
        &Options {
            seed,
            scale,
            today,
            progress: !out.json,
        },
    )?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo built"
    );
    if out.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&s).unwrap_or_else(|_| "null".into())
        );
    } else {
        print!("{}", text(&s, started.elapsed()));
    }
    Ok(())
}

fn text(s: &Summary, took: std::time::Duration) -> String {
    let mut t = String::new();
    let online = s.partners.iter().filter(|p| !p.offline).count();
    t.push_str(&format!(
        "Demo network built in {:.1} s: {} ({} plan) with {} partners ({} online, {} offline), {} accounts of its own, {} records in all, {} deals over two years in {}.\n",
        took.as_secs_f64(),
        s.org.name,
        s.org.plan,
        s.partners.len(),
        online,
        s.partners.len() - online,
        s.accounts,
        s.records_total,
        s.deals,
        s.currencies.join(", ")
    ));
    t.push_str(&format!(
        "Partner Scores: {}. Share requests waiting: {} for you, {} sent. Threads: {}.\n\n",
        ["High", "Medium", "Low", "None", "Unknown"]
            .iter()
            .map(|l| format!("{} {l}", s.labels.get(*l).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", "),
        s.pending_share_requests_incoming,
        s.pending_share_requests_outgoing,
        s.threads
    ));
    t.push_str(&format!("Database:  {}\n", s.db));
    t.push_str(&format!(
        "Acting as: {} <{}>, {} at {} (the database's default user)\n",
        s.acting_user.name, s.acting_user.email, s.acting_user.role, s.org.name
    ));
    t.push_str("\nConnect your assistant (the MCP server reads PARTNERMAP_DB):\n");
    for c in &s.connect {
        t.push_str(&format!("  {c}\n"));
    }
    t.push_str("  (Claude Desktop, Cursor: see mcp.json.example, with PARTNERMAP_DB set to the path above.)\n");
    t.push_str("\nThen ask it:\n");
    for q in &s.questions {
        t.push_str(&format!("  - {q}\n"));
    }
    t
}
