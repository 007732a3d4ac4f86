//! Data sharing with partners: set_sharing, create_share_request, respond_to_share_request,
//! withdraw_share_request, list_share_requests, account_mapping_report, export_report,
//! create_thread, post_to_thread, list_threads.

use super::{default_limit, opt_arg, opt_text};
use crate::engine::{
    ExportResult, NewShareRequest, NewThread, Report, ReportQuery, ShareRequestView, SharingView,
    ThreadView,
};
use crate::mcp::PartnermapServer;
use crate::mcp::render;
use crate::model::{RequestDirection, ShareRequestStatus, SharingLevel};
use crate::shape::Page;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Messages shown per thread in list_threads (the newest); create_thread and post_to_thread
/// show up to [`MESSAGES_IN_THREAD`].
const MESSAGES_IN_LIST: usize = 5;
const MESSAGES_IN_THREAD: usize = 20;
/// Page sizes of the lists here: the default and the largest.
const THREADS_DEFAULT: usize = 20;
const THREADS_MAX: usize = 50;
const REPORT_DEFAULT: usize = 20;
const REPORT_MAX: usize = 70;

// ---------- outputs ----------

#[derive(Debug, Serialize, JsonSchema)]
pub struct SetSharingOut {
    pub setting: SharingView,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ShareRequestOut {
    pub request: ShareRequestView,
}

/// list_share_requests: a page of requests, with the pending ones counted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RequestList {
    /// Newest first.
    pub requests: Vec<ShareRequestView>,
    /// Pending requests in all, by direction (every page).
    pub pending: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ThreadOut {
    pub thread: ThreadView,
}

/// list_threads: a page of threads.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ThreadList {
    /// Most recently active first, each with its newest messages.
    pub threads: Vec<ThreadView>,
}

// ---------- inputs ----------

fn default_report_limit() -> usize {
    REPORT_DEFAULT
}

fn default_threads_limit() -> usize {
    THREADS_DEFAULT
}

/// Accepts an id given as a number or as a numeric string.
fn lenient_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = super::id_or_name(d)?;
    s.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "'{}' is not an id (a whole number)",
            render::clean(&s)
        ))
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SetSharingIn {
    /// The partner (id, name or domain).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// One of your populations (id or name).
    #[serde(deserialize_with = "super::id_or_name")]
    pub population: String,
    /// hidden (left out of everything the partner sees), counts (overlap counts only; the default), overlaps (the partner sees your listed fields on the accounts it shares with you) or full (also your accounts it does not have).
    pub level: String,
    /// Your fields the partner may see at overlaps/full: name, website, domain, any column of your data ("*" = all). Empty: keep the fields already shared (name and website when records are first shared).
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateShareRequestIn {
    /// The partner to ask (id, name or domain).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// One of the partner's populations you can see (id or name); empty: all of them.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub population: String,
    /// The level to ask for: counts, overlaps or full. Empty: overlaps.
    #[serde(default)]
    pub level: String,
    /// A note for the partner (at most 2000 characters).
    #[serde(default)]
    pub message: String,
    /// The partner's fields you would like to see (e.g. owner, industry); empty: their choice.
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RespondShareRequestIn {
    /// The request's id (from list_share_requests, direction incoming).
    #[serde(deserialize_with = "lenient_id")]
    pub request: i64,
    /// true to approve (writes your sharing setting for the partner), false to decline.
    pub approve: bool,
    /// On approval: the fields to share instead of the ones asked for ("*" = all). Empty: the fields asked for, added to those already shared.
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RequestIdIn {
    /// The request's id (from list_share_requests, direction outgoing).
    #[serde(deserialize_with = "lenient_id")]
    pub request: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListShareRequestsIn {
    /// incoming (partners ask you to share) or outgoing (you asked them). Empty: both.
    #[serde(default)]
    pub direction: String,
    /// Only requests in this status: pending, approved, declined or withdrawn. Empty: all.
    #[serde(default)]
    pub status: String,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
    /// Page size (1-200, default 50).
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
}

/// What shapes an account-mapping report's rows: the cell of the matrix, filters, columns and
/// sort. account_mapping_report and export_report both take it (flattened).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportArgs {
    /// The partner (id, name or domain).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// Your population (id or name): the matrix row.
    #[serde(deserialize_with = "super::id_or_name")]
    pub my_population: String,
    /// The partner's population (id or name): the matrix column.
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner_population: String,
    /// Conditions every row must meet, each an object {"field": "...", "op": "...", "value": ...}; op is eq (default), ne, in (value a list), contains, gt, gte, lt, lte or is_empty. Your fields by name (country), the partner's shared fields as partner.<field> (partner.owner). {"or": [..]} groups alternatives. Empty: every row.
    #[serde(default)]
    pub filters: Vec<Map<String, Value>>,
    /// Columns to show: yours by name, the partner's as partner.<field>. Empty: all your fields and all the partner shares.
    #[serde(default)]
    pub columns: Vec<String>,
    /// A field to sort by: "name", "-employees" or "employees desc" for descending, "partner.owner". Empty: matched accounts by name, then greenfield.
    #[serde(default)]
    pub sort: String,
}

impl ReportArgs {
    /// The cursor scope of a report: the arguments that decide its rows (not the page size);
    /// names are case-insensitive, as the engine resolves them.
    fn scope(&self) -> String {
        render::scope_of(
            "account_mapping_report",
            &json!([
                self.partner.trim().to_lowercase(),
                self.my_population.trim().to_lowercase(),
                self.partner_population.trim().to_lowercase(),
                self.filters,
                self.columns,
                self.sort.trim()
            ]),
        )
    }

    /// The engine's query for these arguments (the whole report: no page yet).
    fn query(self) -> ReportQuery {
        ReportQuery {
            partner: self.partner,
            my_population: self.my_population,
            partner_population: self.partner_population,
            filters: Value::Array(self.filters.into_iter().map(Value::Object).collect()),
            columns: (!self.columns.is_empty()).then_some(self.columns),
            sort: opt_text(self.sort),
            limit: None,
            cursor: None,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportIn {
    #[serde(flatten)]
    pub report: ReportArgs,
    /// Page size (1-70, default 20).
    #[serde(default = "default_report_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExportIn {
    /// The full path of a new CSV file, inside a folder partnermap may use (the client's roots, PARTNERMAP_FILES, else Downloads); an existing file is never replaced.
    pub path: String,
    #[serde(flatten)]
    pub report: ReportArgs,
    /// Rows to export (1-1000), from `cursor` on. 0: every row of the report (or, with a cursor, a page of 50).
    #[serde(default)]
    pub limit: usize,
    /// A `next_cursor` of account_mapping_report (same arguments) to export from that page on; empty: from the first row.
    #[serde(default)]
    pub cursor: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateThreadIn {
    /// The partner (id, name or domain); the partnership must be active.
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// One of your own accounts the thread is about: its record id, domain or name (search finds them).
    #[serde(deserialize_with = "super::id_or_name")]
    pub account: String,
    /// The first message.
    pub message: String,
    /// Users of either organization (email or name) to own the thread.
    #[serde(default)]
    pub owners: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PostToThreadIn {
    /// The thread's id (from list_threads or create_thread).
    #[serde(deserialize_with = "lenient_id")]
    pub thread: i64,
    pub message: String,
    /// Users of either organization (email or name) to add as owners.
    #[serde(default)]
    pub owners: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListThreadsIn {
    /// Only threads with this partner (id, name or domain); empty: all.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// The `next_cursor` of the previous page; empty for the first page.
    #[serde(default)]
    pub cursor: String,
    /// Page size (1-50, default 20).
    #[serde(default = "default_threads_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
}

// ---------- tools ----------

#[tool_router(router = sharing_router, vis = "pub(crate)")]
impl PartnermapServer {
    #[tool(
        description = "Sets what your organization shares with one partner of one of your populations: hidden (left out of everything the partner sees), counts (overlap counts only, the default), overlaps (the partner may see the listed fields of your accounts it also has) or full (also your accounts it does not have). Replaces the current setting for that partner and population; takes effect at once. Needs admin or manage_sharing. Confirm with the user before sharing more. To answer a partner's request use respond_to_share_request instead.",
        annotations(
            title = "Set sharing",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn set_sharing(
        &self,
        Parameters(args): Parameters<SetSharingIn>,
    ) -> Result<Json<SetSharingOut>, String> {
        let level: SharingLevel = args.level.parse().map_err(render::error)?;
        let fields = (!args.fields.is_empty()).then_some(args.fields);
        let setting = self
            .call(move |e, a| {
                e.set_sharing(a, &args.partner, &args.population, level, fields.as_deref())
            })
            .await?;
        Ok(Json(SetSharingOut { setting }))
    }

    #[tool(
        description = "Asks an active partner to share more of one of its populations with you (or of every population it lets you see): a level (overlaps by default, or full), fields you want, and a note. Use it when account_mapping_report is refused because the partner shares only counts, or lacks a field you need. Any user may ask. The partner approves or declines; follow it with list_share_requests (direction outgoing), and withdraw it with withdraw_share_request.",
        annotations(
            title = "Create share request",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn create_share_request(
        &self,
        Parameters(args): Parameters<CreateShareRequestIn>,
    ) -> Result<Json<ShareRequestOut>, String> {
        let spec = NewShareRequest {
            partner: args.partner,
            population: opt_text(args.population),
            level: opt_arg(&args.level)?,
            fields: args.fields,
            message: args.message,
        };
        let r = self
            .call(move |e, a| e.create_share_request(a, &spec))
            .await?;
        Ok(Json(ShareRequestOut { request: r }))
    }

    #[tool(
        description = "Approves (approve=true) or declines (approve=false) a share request a partner made to your organization; find them with list_share_requests direction incoming, status pending. Approving writes your sharing setting for that partner at the level asked (a higher level you already share is kept), with the fields asked for unless you pass `fields`. Needs admin or manage_sharing. Confirm with the user before approving.",
        annotations(
            title = "Respond to share request",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn respond_to_share_request(
        &self,
        Parameters(args): Parameters<RespondShareRequestIn>,
    ) -> Result<Json<ShareRequestOut>, String> {
        let fields = (!args.fields.is_empty()).then_some(args.fields);
        let r = self
            .call(move |e, a| {
                e.respond_to_share_request(a, args.request, args.approve, fields.as_deref())
            })
            .await?;
        Ok(Json(ShareRequestOut { request: r }))
    }

    #[tool(
        description = "Withdraws a pending share request your organization made (its author, an admin or a manage_sharing user may). A withdrawn request can no longer be approved and changes nothing; ask again with create_share_request.",
        annotations(
            title = "Withdraw share request",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn withdraw_share_request(
        &self,
        Parameters(args): Parameters<RequestIdIn>,
    ) -> Result<Json<ShareRequestOut>, String> {
        let r = self
            .call(move |e, a| e.withdraw_share_request(a, args.request))
            .await?;
        Ok(Json(ShareRequestOut { request: r }))
    }

    #[tool(
        description = "Lists your organization's share requests, newest first: incoming (partners ask you to share: answer with respond_to_share_request) and outgoing (you asked them), with status pending, approved, declined or withdrawn. Filter with `direction` and `status`. Pages with `cursor`/`next_cursor`.",
        annotations(
            title = "List share requests",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn list_share_requests(
        &self,
        Parameters(args): Parameters<ListShareRequestsIn>,
    ) -> Result<Json<Page<RequestList>>, String> {
        let direction: Option<RequestDirection> = opt_arg(&args.direction)?;
        let status: Option<ShareRequestStatus> = opt_arg(&args.status)?;
        let requests = self
            .read(move |e, a| e.list_share_requests(a, direction, status))
            .await?;
        let total = requests.len();
        let mut pending = BTreeMap::new();
        for r in requests
            .iter()
            .filter(|r| r.status == ShareRequestStatus::Pending)
        {
            *pending.entry(r.direction.to_string()).or_insert(0) += 1;
        }
        render::limit_in(args.limit, render::MAX_PAGE)?;
        let scope = format!(
            "list_share_requests|{}|{}",
            direction.map(|d| d.as_str()).unwrap_or(""),
            status.map(|s| s.as_str()).unwrap_or("")
        );
        let (page, next_cursor) = render::page(requests, &scope, &args.cursor, args.limit)?;
        Ok(Json(Page {
            list: RequestList {
                requests: page,
                pending,
            },
            total,
            next_cursor,
        }))
    }

    #[tool(
        description = "The account-mapping report for one cell of the overlap matrix (your population × the partner's): the accounts you share, each with your fields, the partner's fields as far as it shares them, and what they matched on; at the partner's 'full' level also its accounts you do not have (greenfield, my_record null). Answers 'which of my prospects are Acme's customers, and who owns them there?'. Refused when the partner shares that population only at 'counts' (the error gives the count): then suggest create_share_request. Filters, columns, sort; pages with `cursor`/`next_cursor`. Next: export_report to write it as CSV, create_thread to discuss an account.",
        annotations(
            title = "Account-mapping report",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn account_mapping_report(
        &self,
        Parameters(args): Parameters<ReportIn>,
    ) -> Result<Json<Report>, String> {
        let scope = args.report.scope();
        let offset = render::cursor_offset(&args.cursor, &scope)?;
        let size = render::limit_in(args.limit, REPORT_MAX)?;
        let mut q = args.report.query();
        q.limit = Some(size);
        q.cursor = (offset > 0).then(|| crate::engine::report_cursor(offset));
        let r = self
            .read(move |e, a| e.account_mapping_report(a, &q))
            .await?;
        Ok(Json(report_page(r, &scope, offset)))
    }

    #[tool(
        description = "Writes an account-mapping report (same arguments as account_mapping_report, plus `path`) as a CSV file. Each distinct partner account exported counts once per 365-day term against your plan's record-export allowance; past the allowance nothing is written and the error says how much is left (narrow with filters or a limit). Writes a new file only (never replaces one). Tell the user the path and the allowance left.",
        annotations(
            title = "Export report",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn export_report(
        &self,
        Parameters(args): Parameters<ExportIn>,
    ) -> Result<Json<ExportResult>, String> {
        let scope = args.report.scope();
        let offset = render::cursor_offset(&args.cursor, &scope)?;
        let mut q = args.report.query();
        if args.limit > 0 || offset > 0 {
            q.limit = Some(match args.limit {
                0 => render::DEFAULT_PAGE,
                n => n.min(crate::engine::REPORT_MAX_LIMIT),
            });
            q.cursor = (offset > 0).then(|| crate::engine::report_cursor(offset));
        }
        let path = self.files().check_write(&args.path)?;
        Ok(Json(
            self.call(move |e, a| e.export_report(a, &q, &path)).await?,
        ))
    }

    #[tool(
        description = "Opens a conversation with an active partner about one of your accounts (such as one found with account_mapping_report), with a first message and optional owners from either organization (by email or name). If your organization already has a thread with that partner on that account, the message is posted there (created false). Users of both organizations see it with list_threads. Next: post_to_thread.",
        annotations(
            title = "Create thread",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn create_thread(
        &self,
        Parameters(args): Parameters<CreateThreadIn>,
    ) -> Result<Json<ThreadOut>, String> {
        let spec = NewThread {
            partner: args.partner,
            account: args.account,
            message: args.message,
            owners: args.owners,
        };
        let t = self.call(move |e, a| e.create_thread(a, &spec)).await?;
        Ok(Json(ThreadOut {
            thread: t.newest(MESSAGES_IN_THREAD),
        }))
    }

    #[tool(
        description = "Posts a message to a thread with a partner (ids from list_threads or create_thread), optionally adding owners from either organization. Any user may post while the partnership is active. Returns the thread with its latest messages.",
        annotations(
            title = "Post to thread",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn post_to_thread(
        &self,
        Parameters(args): Parameters<PostToThreadIn>,
    ) -> Result<Json<ThreadOut>, String> {
        let t = self
            .call(move |e, a| e.post_to_thread(a, args.thread, &args.message, &args.owners))
            .await?;
        Ok(Json(ThreadOut {
            thread: t.newest(MESSAGES_IN_THREAD),
        }))
    }

    #[tool(
        description = "Lists your organization's threads with partners (opened by either side), most recently active first, each with its owners and newest messages; optionally only those with one `partner`. Use it to catch up on co-selling conversations or to find a thread id for post_to_thread. Pages with `cursor`/`next_cursor`.",
        annotations(title = "List threads", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn list_threads(
        &self,
        Parameters(args): Parameters<ListThreadsIn>,
    ) -> Result<Json<Page<ThreadList>>, String> {
        let partner = opt_text(args.partner);
        let (partner_id, threads) = self
            .read(move |e, a| {
                let id = match partner.as_deref() {
                    Some(p) => Some(e.resolve_partner(a, p)?.org.id),
                    None => None,
                };
                Ok((id, e.list_threads(a, partner.as_deref())?))
            })
            .await?;
        let limit = render::limit_in(args.limit, THREADS_MAX)?;
        let total = threads.len();
        let scope = format!(
            "list_threads|{}",
            partner_id.map(|i| i.to_string()).unwrap_or_default()
        );
        let (page, next_cursor) = render::page(threads, &scope, &args.cursor, limit)?;
        Ok(Json(Page {
            list: ThreadList {
                threads: page
                    .into_iter()
                    .map(|t| t.newest(MESSAGES_IN_LIST))
                    .collect(),
            },
            total,
            next_cursor,
        }))
    }
}

// ---------- rendering ----------

/// One page of a report as served, cut short past [`render::MAX_OUTPUT`] bytes of rows; the
/// cursor (scoped to the report's arguments) continues after the last row shown.
fn report_page(mut r: Report, scope: &str, offset: usize) -> Report {
    let next = offset + r.fit(render::MAX_OUTPUT);
    r.next_cursor = (next < r.total).then(|| render::cursor_at(scope, next));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{PopRef, ReportRow};

    fn wide_report(rows: usize, columns: usize) -> Report {
        let row = |i: usize| {
            let mut m = Map::new();
            m.insert("id".into(), Value::from(i as i64));
            for c in 0..columns {
                m.insert(format!("c{c}"), Value::String("v".repeat(1_000)));
            }
            ReportRow {
                my_record: Some(m),
                partner_record: None,
                matched_on: Some("domain x.com".into()),
                partner_record_id: i as i64,
            }
        };
        let pop = |id: i64, name: &str| PopRef {
            id,
            name: name.into(),
        };
        Report {
            partner: pop(2, "P\u{1b}"),
            my_population: pop(1, "A"),
            partner_population: pop(3, "B"),
            sharing_level: SharingLevel::Overlaps,
            overlap_count: 100,
            greenfield_count: 0,
            total: 100,
            columns: crate::engine::ReportColumns {
                my_record: vec!["id".into()],
                partner_record: vec![],
            },
            rows: (0..rows).map(row).collect(),
            next_cursor: None,
            truncated: false,
        }
    }

    #[test]
    fn wide_pages_are_cut_and_continue_where_they_stopped() {
        // 1000 columns, cut to MAX_FIELDS columns of values capped at 300 characters: ~30 KB a
        // row, so about 33 rows fit in MAX_OUTPUT and a page of 60 is cut.
        let out = report_page(wide_report(60, 1_000), "s", 20);
        let n = out.rows.len();
        assert!((20..60).contains(&n), "{n} rows");
        assert!(out.truncated);
        assert_eq!(
            render::cursor_offset(out.next_cursor.as_deref().unwrap(), "s"),
            Ok(20 + n)
        );
        // Rows are cleaned and capped as they are served.
        let row = serde_json::to_value(&out.rows[0]).unwrap();
        assert_eq!(
            row["my_record"].as_object().unwrap().len(),
            render::MAX_FIELDS
        );
        assert_eq!(
            serde_json::to_value(&out).unwrap()["partner"]["partner_supplied"]["name"],
            "P"
        );
        let v = &row["my_record"]["c0"];
        assert_eq!(v.as_str().unwrap().chars().count(), render::MAX_TEXT + 1);
        // A narrow page is whole; the last page has no cursor.
        let out = report_page(wide_report(4, 2), "s", 96);
        assert_eq!((out.rows.len(), out.truncated), (4, false));
        assert!(out.next_cursor.is_none());
    }
}
