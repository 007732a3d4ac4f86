//! CLI verbs for data sharing: sharing settings, share requests, account-mapping reports,
//! exports and threads.

use super::print::Out;
use clap::{Args, Subcommand};
use partnermap::engine::{
    NewShareRequest, NewThread, Report, ReportQuery, ShareRequestView, SharingView, ThreadView,
};
use partnermap::error::invalid;
use partnermap::model::{Actor, RequestDirection, ShareRequestStatus, SharingLevel};
use partnermap::{Engine, Error};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum SharingCmd {
    /// Sharing settings and share requests.
    #[command(subcommand)]
    Share(ShareCmd),
    /// The account-mapping report for one cell of the overlap matrix.
    Report(ReportArgs),
    /// Write the account-mapping report as CSV (counts against the export allowance).
    Export {
        #[command(flatten)]
        report: ReportArgs,
        /// Where to write the CSV.
        #[arg(long)]
        path: PathBuf,
    },
    /// Threads with partners about your accounts.
    #[command(subcommand)]
    Thread(ThreadCmd),
    /// Your threads, optionally with one partner.
    Threads {
        #[arg(long)]
        partner: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ShareCmd {
    /// Set what you share of one of your populations with a partner (admins, manage_sharing).
    Set {
        partner: String,
        population: String,
        /// hidden, counts, overlaps or full.
        level: SharingLevel,
        /// Fields to share (repeatable, or comma-separated; "*" for all). Default: keep.
        #[arg(long = "field", value_delimiter = ',')]
        fields: Vec<String>,
    },
    /// What you share with a partner, per population.
    Show { partner: String },
    /// Ask a partner to share a population with you.
    Request {
        partner: String,
        /// One of their populations you can see (default: all of them).
        #[arg(long)]
        population: Option<String>,
        /// counts, overlaps or full (default overlaps).
        #[arg(long)]
        level: Option<SharingLevel>,
        #[arg(long = "field", value_delimiter = ',')]
        fields: Vec<String>,
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Your share requests (incoming, outgoing, or both).
    Requests {
        #[arg(long)]
        direction: Option<RequestDirection>,
        #[arg(long)]
        status: Option<ShareRequestStatus>,
    },
    /// Approve a share request made to you (writes the sharing setting).
    Approve {
        id: i64,
        /// Fields to share instead of the ones asked for.
        #[arg(long = "field", value_delimiter = ',')]
        fields: Vec<String>,
    },
    /// Decline a share request made to you.
    Decline { id: i64 },
    /// Withdraw a share request you made.
    Withdraw { id: i64 },
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    pub partner: String,
    /// Your population (row of the matrix).
    #[arg(long = "mine")]
    pub my_population: String,
    /// The partner's population (column of the matrix).
    #[arg(long = "theirs")]
    pub partner_population: String,
    /// Filters as JSON; the partner's fields as "partner.<field>".
    #[arg(long)]
    pub filter: Option<String>,
    /// Columns to show (repeatable or comma-separated); the partner's as partner.<field>.
    #[arg(long = "column", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Sort by a field: "name", "-employees", "partner.owner desc".
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub cursor: Option<String>,
}

impl ReportArgs {
    fn query(self) -> Result<ReportQuery, Error> {
        let filters = match self.filter {
            Some(f) => serde_json::from_str(&f)
                .map_err(|e| invalid(format!("--filter is not valid JSON: {e}")))?,
            None => serde_json::Value::Null,
        };
        Ok(ReportQuery {
            partner: self.partner,
            my_population: self.my_population,
            partner_population: self.partner_population,
            filters,
            columns: (!self.columns.is_empty()).then_some(self.columns),
            sort: self.sort,
            limit: self.limit,
            cursor: self.cursor,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum ThreadCmd {
    /// Open a thread with a partner about one of your accounts.
    Create {
        partner: String,
        /// Your account: id, domain or name.
        #[arg(long)]
        account: String,
        #[arg(long)]
        message: String,
        /// Owners from either org, by email or name (repeatable).
        #[arg(long = "owner")]
        owners: Vec<String>,
    },
    /// Post to a thread (optionally adding owners).
    Post {
        thread: i64,
        #[arg(long)]
        message: String,
        #[arg(long = "owner")]
        owners: Vec<String>,
    },
    /// The partner's users you can see (while the partnership is active).
    Users { partner: String },
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

fn sharing_text(v: &[SharingView]) -> String {
    v.iter()
        .map(|s| {
            format!(
                "{:<28} shared with {:<24} at {:<8} fields: {}\n",
                s.population,
                s.partner,
                s.level.as_str(),
                if s.fields.is_empty() {
                    "-".into()
                } else {
                    s.fields.join(", ")
                }
            )
        })
        .collect()
}

fn requests_text(v: &[ShareRequestView]) -> String {
    if v.is_empty() {
        return "No share requests.\n".into();
    }
    v.iter()
        .map(|r| {
            format!(
                "{:>4}  {:<8} {:<9} {:<24} {:<24} {:<8} {}\n",
                r.id,
                r.direction.as_str(),
                r.status.as_str(),
                r.partner.name,
                r.population_name().unwrap_or("(all)"),
                r.level.as_str(),
                r.message()
            )
        })
        .collect()
}

fn report_text(r: &Report) -> String {
    let mut s = format!(
        "{} x {} ({}, shared at {}): {} rows of {} ({} overlapping, {} greenfield)\n",
        r.my_population.name,
        r.partner_population.name,
        r.partner.name,
        r.sharing_level,
        r.rows.len(),
        r.total,
        r.overlap_count,
        r.greenfield_count
    );
    for row in &r.rows {
        let mine = row
            .my_record
            .as_ref()
            .and_then(|m| m.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or("(greenfield)");
        let theirs = row
            .partner_record
            .as_ref()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "  {:<32} {:<28} {}\n",
            mine,
            row.matched_on.as_deref().unwrap_or(""),
            theirs
        ));
    }
    if let Some(c) = &r.next_cursor {
        s.push_str(&format!("  more: --cursor {c}\n"));
    }
    s
}

fn threads_text(v: &[ThreadView]) -> String {
    if v.is_empty() {
        return "No threads.\n".into();
    }
    let mut s = String::new();
    for t in v {
        s.push_str(&format!(
            "thread {} with {} about {} ({} messages, owners: {})\n",
            t.id,
            t.partner.name,
            t.account_name(),
            t.messages.len(),
            t.owners
                .iter()
                .map(|o| o.email().unwrap_or(o.name()).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for m in &t.messages {
            s.push_str(&format!(
                "  [{}] {}: {}\n",
                m.created_at,
                m.author.email().unwrap_or(m.author.name()),
                m.body()
            ));
        }
    }
    s
}

pub fn run(cmd: SharingCmd, engine: &mut Engine, a: &Actor, out: &Out) -> Result<(), Error> {
    let opt = |v: Vec<String>| (!v.is_empty()).then_some(v);
    match cmd {
        SharingCmd::Share(ShareCmd::Set {
            partner,
            population,
            level,
            fields,
        }) => {
            let fields = opt(fields);
            let v = engine.set_sharing(a, &partner, &population, level, fields.as_deref())?;
            emit(out, &v, || sharing_text(std::slice::from_ref(&v)));
        }
        SharingCmd::Share(ShareCmd::Show { partner }) => {
            let v = engine.list_sharing(a, &partner)?;
            emit(out, &v, || sharing_text(&v));
        }
        SharingCmd::Share(ShareCmd::Request {
            partner,
            population,
            level,
            fields,
            message,
        }) => {
            let v = engine.create_share_request(
                a,
                &NewShareRequest {
                    partner,
                    population,
                    level,
                    fields,
                    message,
                },
            )?;
            emit(out, &v, || requests_text(std::slice::from_ref(&v)));
        }
        SharingCmd::Share(ShareCmd::Requests { direction, status }) => {
            let v = engine.list_share_requests(a, direction, status)?;
            emit(out, &v, || requests_text(&v));
        }
        SharingCmd::Share(ShareCmd::Approve { id, fields }) => {
            let fields = opt(fields);
            let v = engine.respond_to_share_request(a, id, true, fields.as_deref())?;
            emit(out, &v, || requests_text(std::slice::from_ref(&v)));
        }
        SharingCmd::Share(ShareCmd::Decline { id }) => {
            let v = engine.respond_to_share_request(a, id, false, None)?;
            emit(out, &v, || requests_text(std::slice::from_ref(&v)));
        }
        SharingCmd::Share(ShareCmd::Withdraw { id }) => {
            let v = engine.withdraw_share_request(a, id)?;
            emit(out, &v, || requests_text(std::slice::from_ref(&v)));
        }
        SharingCmd::Report(args) => {
            let r = engine.account_mapping_report(a, &args.query()?)?;
            emit(out, &r, || report_text(&r));
        }
        SharingCmd::Export { report, path } => {
            let r = engine.export_report(a, &report.query()?, &path)?;
            emit(out, &r, || {
                format!(
                    "Wrote {} rows to {} ({} partner records, {} newly counted); {} of {} export allowance left this term (ends {}).\n",
                    r.rows_written,
                    r.path,
                    r.partner_records,
                    r.newly_counted,
                    r.allowance_left,
                    r.allowance,
                    &r.term_end[..10]
                )
            });
        }
        SharingCmd::Thread(ThreadCmd::Create {
            partner,
            account,
            message,
            owners,
        }) => {
            let t = engine.create_thread(
                a,
                &NewThread {
                    partner,
                    account,
                    message,
                    owners,
                },
            )?;
            emit(out, &t, || threads_text(std::slice::from_ref(&t)));
        }
        SharingCmd::Thread(ThreadCmd::Post {
            thread,
            message,
            owners,
        }) => {
            let t = engine.post_to_thread(a, thread, &message, &owners)?;
            emit(out, &t, || threads_text(std::slice::from_ref(&t)));
        }
        SharingCmd::Thread(ThreadCmd::Users { partner }) => {
            let v = engine.partner_users(a, &partner)?;
            emit(out, &v, || {
                if v.is_empty() {
                    return "No users visible (the partnership is not active).\n".into();
                }
                v.iter()
                    .map(|u| {
                        format!(
                            "{:<24} {:<32} {}\n",
                            u.name(),
                            u.email().unwrap_or(""),
                            u.role.map(|r| r.as_str()).unwrap_or("")
                        )
                    })
                    .collect()
            });
        }
        SharingCmd::Threads { partner } => {
            let v = engine.list_threads(a, partner.as_deref())?;
            emit(out, &v, || threads_text(&v));
        }
    }
    Ok(())
}
