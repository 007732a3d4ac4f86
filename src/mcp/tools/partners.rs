//! Who you are, your partners, and partnership lifecycle: whoami, list_partners, get_partner,
//! search, invite_partner, respond_to_invitation, revoke_partnership, add_offline_partner,
//! delete_offline_partner.

use super::{default_limit, opt_arg, opt_text};
use crate::engine::{Deleted, PartnerSummary, PartnershipView, SearchResult};
use crate::mcp::PartnermapServer;
use crate::mcp::render::{self, clean, clean_opt};
use crate::model::PartnershipStatus;
use crate::shape::Page;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------- outputs ----------

#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoamiOut {
    pub org: OrgOut,
    pub user: UserOut,
    /// The connected CRM (sync_crm) and its last sync; absent when none is connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm: Option<super::connectors::CrmStatusOut>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct OrgOut {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// explorer, connector, supernode or enterprise.
    pub plan: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct UserOut {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// admin, partner_manager or member.
    pub role: String,
    /// For partner managers: manage_data_sources, manage_partnerships, manage_sharing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

/// list_partners: a page of partners, with every page's partners counted by status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PartnerList {
    pub partners: Vec<PartnerSummary>,
    /// Partners matching, by status (every page).
    pub by_status: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PartnershipOut {
    pub partnership: PartnershipView,
}

/// invite_partner's answer: the partnership (an organization in this database), or the code
/// of a remote invitation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InviteOut {
    pub partnership: Option<PartnershipView>,
    pub invitation: Option<crate::federation::ops::RemoteInvite>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AddOfflineOut {
    pub partner: PartnerSummary,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOfflineOut {
    pub deleted: Deleted,
}

// ---------- inputs ----------

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListPartnersIn {
    /// Only partners in this status: invited, active, declined or revoked. Empty: all.
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

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PartnerIn {
    /// The partner: its id, name or domain (case-insensitive, unambiguous).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchIn {
    /// Text to find in partner names/domains and in your accounts' names, websites and domains.
    pub query: String,
    /// Most accounts to return (1-200, default 20).
    #[serde(default = "default_search_limit")]
    #[schemars(range(min = 1))]
    pub limit: usize,
}

fn default_search_limit() -> usize {
    20
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InviteIn {
    /// The organization to invite: its name or domain (it must use partnermap in this database).
    /// Leave empty with `remote` true.
    #[serde(default)]
    pub org: String,
    /// true: make a one-time invitation code for an organization on another partnermap
    /// instance (returned as `invitation.code`; send it to them by any channel). This instance
    /// must be served to partners (`partnermap serve --peer-listen`).
    #[serde(default)]
    pub remote: bool,
    /// With `remote`: how long the code is valid, e.g. 7d (default), 12h, 30m.
    #[serde(default)]
    pub expires: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RespondIn {
    /// The partner whose invitation you answer (id, name or domain). Leave empty with `code`.
    #[serde(default, deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// true to accept (the partnership becomes active), false to decline.
    pub accept: bool,
    /// An invitation code (pmi1.…) from an organization on another partnermap instance.
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddOfflineIn {
    /// The company's name.
    pub name: String,
    /// Its website domain (e.g. acme.com), if known.
    #[serde(default)]
    pub domain: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteOfflineIn {
    /// The offline partner (id or name).
    #[serde(deserialize_with = "super::id_or_name")]
    pub partner: String,
    /// Must be exactly "DELETE": the partner's data and populations are removed for good.
    pub confirm: String,
}

// ---------- tools ----------

#[tool_router(router = partners_router, vis = "pub(crate)")]
impl PartnermapServer {
    #[tool(
        description = "Who you are acting as: your organization (id, name, plan) and your user (name, email, role, permissions). Call this first to know which org's view you get and what you may change; roles and plan decide which tools will succeed.",
        annotations(title = "Who am I", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn whoami(&self) -> Result<Json<WhoamiOut>, String> {
        let (a, crm) = self
            .read(|e, actor| Ok((actor.clone(), e.crm_connection(actor)?)))
            .await?;
        Ok(Json(WhoamiOut {
            crm: crm.map(Into::into),
            org: OrgOut {
                id: a.org.id,
                name: clean(&a.org.name),
                domain: clean_opt(a.org.domain.as_deref()),
                plan: a.org.plan.to_string(),
            },
            user: UserOut {
                id: a.user.id,
                name: clean(&a.user.name),
                email: clean(&a.user.email),
                role: a.user.role.to_string(),
                permissions: a.user.permissions.iter().map(|p| p.to_string()).collect(),
            },
        }))
    }

    #[tool(
        description = "Lists your partners (online partnerships in any state, and offline partners you manage) with id, status and whether they are offline. Use it to answer 'who are my partners?' or to find a partner's id; filter with `status` (e.g. invited to see pending invitations). Pages with `cursor`/`next_cursor`. Next: get_partner or get_overlaps for one partner.",
        annotations(
            title = "List partners",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn list_partners(
        &self,
        Parameters(args): Parameters<ListPartnersIn>,
    ) -> Result<Json<Page<PartnerList>>, String> {
        let status: Option<PartnershipStatus> = opt_arg(&args.status)?;
        let partners = self.read(move |e, a| e.list_partners(a, status)).await?;
        let total = partners.len();
        let mut by_status = BTreeMap::new();
        for p in &partners {
            *by_status.entry(p.status.to_string()).or_insert(0) += 1;
        }
        let scope = format!("list_partners|{}", status.map(|s| s.as_str()).unwrap_or(""));
        render::limit_in(args.limit, render::MAX_PAGE)?;
        let (page, next_cursor) = render::page(partners, &scope, &args.cursor, args.limit)?;
        Ok(Json(Page {
            list: PartnerList {
                partners: page,
                by_status,
            },
            total,
            next_cursor,
        }))
    }

    #[tool(
        description = "One partner in detail: partnership status, the partner's populations you can see (with record counts and the sharing level each is shared with you at), and what each side shares. Use it before asking for overlaps or to explain why data is missing (e.g. a population shared only at 'counts'). Next: get_overlaps for the overlap counts.",
        annotations(title = "Get partner", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_partner(
        &self,
        Parameters(args): Parameters<PartnerIn>,
    ) -> Result<Json<crate::engine::PartnerDetail>, String> {
        let d = self
            .read(move |e, a| e.get_partner(a, &args.partner))
            .await?;
        Ok(Json(d))
    }

    #[tool(
        description = "Finds partners (by name or domain) and your own accounts (by name, website or domain) containing a text. Use it to resolve a company the user mentions ('do we have Acme?') to a partner id or an account id. Next: get_partner for a partner.",
        annotations(title = "Search", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn search(
        &self,
        Parameters(args): Parameters<SearchIn>,
    ) -> Result<Json<SearchResult>, String> {
        let limit = render::limit_in(args.limit, render::MAX_LIST)?;
        Ok(Json(
            self.read(move |e, a| e.search(a, &args.query, limit))
                .await?,
        ))
    }

    #[tool(
        description = "Invites another organization that uses partnermap (by name or domain) to partner with yours. The partnership stays 'invited' until they accept; no data is exchanged before that. A declined or revoked partnership can be invited again. For an organization on its own partnermap instance (another machine), pass remote true instead of org: you get a one-time invitation code (invitation.code) to send them; overlaps are then computed by private set intersection and no list leaves either instance beyond what sharing settings release. Needs admin or the manage_partnerships permission. For a company that does not use partnermap, use add_offline_partner instead.",
        annotations(
            title = "Invite partner",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn invite_partner(
        &self,
        Parameters(args): Parameters<InviteIn>,
    ) -> Result<Json<InviteOut>, String> {
        if args.remote {
            let expires = super::opt_text(args.expires);
            let inv = self
                .call(move |e, a| {
                    let d =
                        crate::federation::ops::parse_expiry(expires.as_deref().unwrap_or("7d"))?;
                    crate::federation::ops::invite_remote(e, a, d, None)
                })
                .await?;
            return Ok(Json(InviteOut {
                partnership: None,
                invitation: Some(inv),
            }));
        }
        let v = self.call(move |e, a| e.invite(a, &args.org)).await?;
        Ok(Json(InviteOut {
            partnership: Some(v),
            invitation: None,
        }))
    }

    #[tool(
        description = "Accepts (accept=true) or declines (accept=false) an invitation another organization sent you; list pending ones with list_partners status 'invited' (direction 'incoming'). For an invitation code (pmi1.…) from an organization on another partnermap instance, pass it as code (partner may be left empty): this instance connects to theirs over mutual TLS, proves the code, and pins their instance ID. Accepting makes the partnership active: both sides then see overlap counts under each other's sharing settings. Needs admin or manage_partnerships.",
        annotations(
            title = "Respond to invitation",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn respond_to_invitation(
        &self,
        Parameters(args): Parameters<RespondIn>,
    ) -> Result<Json<PartnershipOut>, String> {
        if crate::federation::ops::is_code(&args.code) {
            let (code, accept) = (args.code, args.accept);
            let v = self
                .call(move |e, a| {
                    use crate::federation::ops;
                    if accept {
                        let v = ops::accept_code(e, a, &code)?;
                        // The first exchange right away; a failure is retried later.
                        if let Some(l) =
                            crate::store::federation::link_of_remote_org(e.conn(), v.partner_id)?
                        {
                            let _ = ops::sync_link(e, l.id);
                        }
                        Ok(v)
                    } else {
                        let org = ops::decline_code(e, a, &code)?;
                        Ok(PartnershipView {
                            id: 0,
                            status: PartnershipStatus::Declined,
                            partner: org,
                            partner_id: 0,
                        })
                    }
                })
                .await?;
            return Ok(Json(PartnershipOut { partnership: v }));
        }
        let v = self
            .call(move |e, a| e.respond_to_invitation(a, &args.partner, args.accept))
            .await?;
        Ok(Json(PartnershipOut { partnership: v }))
    }

    #[tool(
        description = "Ends an active partnership (or withdraws an invitation you sent). All overlap data between the two organizations stops at once for both sides; sharing settings are kept in case you partner again. Needs admin or manage_partnerships. Confirm with the user before calling. For offline partners use delete_offline_partner.",
        annotations(
            title = "Revoke partnership",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn revoke_partnership(
        &self,
        Parameters(args): Parameters<PartnerIn>,
    ) -> Result<Json<PartnershipOut>, String> {
        let v = self
            .call(move |e, a| {
                let v = e.revoke(a, &args.partner)?;
                // A partner on another instance: deliver the revocation now if it is reachable
                // (it stays queued otherwise).
                if let Some(l) =
                    crate::store::federation::link_of_remote_org(e.conn(), v.partner_id)?
                {
                    let _ = crate::federation::ops::sync_link(e, l.id);
                }
                Ok(v)
            })
            .await?;
        Ok(Json(PartnershipOut { partnership: v }))
    }

    #[tool(
        description = "Adds an offline partner: a company that does not use partnermap, whose account lists you upload yourself (upload_partner_csv) and define populations for (create_population with `partner`). It is active at once and its data is visible only to your organization. Needs admin, or a partner manager with manage_data_sources and manage_partnerships; the explorer plan allows one.",
        annotations(
            title = "Add offline partner",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn add_offline_partner(
        &self,
        Parameters(args): Parameters<AddOfflineIn>,
    ) -> Result<Json<AddOfflineOut>, String> {
        let domain = opt_text(args.domain);
        let p = self
            .call(move |e, a| e.add_offline_partner(a, &args.name, domain.as_deref()))
            .await?;
        Ok(Json(AddOfflineOut { partner: p }))
    }

    #[tool(
        description = "Deletes an offline partner with all its uploaded data and populations, for good. Pass confirm \"DELETE\" only after the user has confirmed. Needs admin, or a partner manager with manage_data_sources and manage_partnerships. Online partnerships end with revoke_partnership instead.",
        annotations(
            title = "Delete offline partner",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn delete_offline_partner(
        &self,
        Parameters(args): Parameters<DeleteOfflineIn>,
    ) -> Result<Json<DeleteOfflineOut>, String> {
        let deleted = self
            .call(move |e, a| e.delete_offline_partner(a, &args.partner, &args.confirm))
            .await?;
        Ok(Json(DeleteOfflineOut { deleted }))
    }
}
