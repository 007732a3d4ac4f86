//! Share requests (SPEC §1): the receiving side asks an owner to share a population (optionally
//! at a level, with fields, with a message); the owner approves — which writes the sharing
//! setting — or declines; the requester may withdraw. Only a pending request ever changes, and
//! no request is made or answered across a partnership that is not active.

use super::Engine;
use super::access::{PartnerRef, Relationship};
use super::overlaps::PopRef;
use super::sharing::{DEFAULT_FIELDS, write_setting};
use crate::error::{Result, conflict, forbidden, invalid, not_found};
use crate::model::{
    Actor, Permission, Population, RequestDirection, ShareRequest, ShareRequestStatus, Sharing,
    SharingLevel,
};
use crate::store;
use serde::Serialize;
use serde_json::json;

/// What `create_share_request` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewShareRequest {
    pub partner: String,
    /// One of the partner's populations visible to the actor; None = all of them.
    pub population: Option<String>,
    /// None = `overlaps`.
    pub level: Option<SharingLevel>,
    pub fields: Vec<String>,
    pub message: String,
}

/// A user as another user may see them.
#[derive(Debug, Clone, Serialize)]
pub struct UserRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: crate::model::Role,
    pub org: String,
}

/// A share request as one of its sides sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ShareRequestView {
    pub id: i64,
    /// `incoming`: the partner asks you to share; `outgoing`: you asked the partner.
    pub direction: RequestDirection,
    pub status: ShareRequestStatus,
    pub partner: PopRef,
    /// The population asked for (None = every population the requester can see).
    pub population: Option<PopRef>,
    pub level: SharingLevel,
    pub fields: Vec<String>,
    pub message: String,
    /// Who asked, while you may see them (your own users, or an active partner's).
    pub requested_by: Option<UserRef>,
    pub created_at: String,
    pub updated_at: String,
}

const MAX_MESSAGE: usize = 2000;

impl Engine {
    /// Asks a partner to share one of its populations (or all it lets the actor see). Any user
    /// may ask; the partnership must be active.
    pub fn create_share_request(
        &mut self,
        actor: &Actor,
        spec: &NewShareRequest,
    ) -> Result<ShareRequestView> {
        self.atomic(|e| e.create_share_request_checked(actor, spec))
    }

    /// [`Self::create_share_request`], inside its write transaction (state read here is current).
    fn create_share_request_checked(
        &mut self,
        actor: &Actor,
        spec: &NewShareRequest,
    ) -> Result<ShareRequestView> {
        let p = self.resolve_partner(actor, &spec.partner)?;
        self.require_online_partnership(&p)?;
        self.require_active(actor, &p)?;
        let population = match spec.population.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                Some(self.resolve_partner_population(actor, &p, t)?.population)
            }
            _ => None,
        };
        if spec.level == Some(SharingLevel::Hidden) {
            return Err(invalid(
                "A share request asks for counts, overlaps or full; 'hidden' is not something to ask for.",
            ));
        }
        let message = spec.message.trim();
        if message.chars().count() > MAX_MESSAGE {
            return Err(invalid(format!(
                "The message is too long: at most {MAX_MESSAGE} characters."
            )));
        }
        let mut fields: Vec<String> = Vec::new();
        for f in &spec.fields {
            let f = f.trim();
            if !f.is_empty() && !fields.iter().any(|x| x.eq_ignore_ascii_case(f)) {
                fields.push(f.to_string());
            }
        }
        if fields.len() > 100 {
            return Err(invalid("A share request names at most 100 fields."));
        }
        let pop_id = population.as_ref().map(|x| x.id);
        if let Some(dup) = store::share_requests::of_org(&self.conn, actor.org.id)?
            .into_iter()
            .find(|r| {
                r.requester_org == actor.org.id
                    && r.owner_org == p.org.id
                    && r.status == ShareRequestStatus::Pending
                    && r.population_id == pop_id
            })
        {
            return Err(conflict(format!(
                "You already have a pending request ({}) to {} for this; wait for their answer or withdraw it first.",
                dup.id, p.org.name
            )));
        }
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let id = store::share_requests::insert(
            &tx,
            actor.org.id,
            p.org.id,
            pop_id,
            spec.level,
            &fields,
            message,
            actor.user.id,
            &now,
        )?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "create_share_request",
            "share_request",
            Some(id),
            None,
            Some(
                &json!({"owner_org": p.org.id, "population_id": pop_id, "level": spec.level,
                         "fields": fields, "message": message, "status": "pending"}),
            ),
        )?;
        // A partner on another instance gets it as a message of the partnership.
        crate::federation::messages::request_changed(&tx, id, &now)?;
        tx.commit()?;
        self.share_request(actor, id)
    }

    /// One share request the actor's org is a side of.
    pub fn share_request(&self, actor: &Actor, id: i64) -> Result<ShareRequestView> {
        let r = self.require_share_request_side(actor, id)?;
        self.request_view(actor, &r)
    }

    /// The actor's org's share requests, newest first: `incoming` (partners ask you), `outgoing`
    /// (you asked), or both; optionally of one status.
    pub fn list_share_requests(
        &self,
        actor: &Actor,
        direction: Option<RequestDirection>,
        status: Option<ShareRequestStatus>,
    ) -> Result<Vec<ShareRequestView>> {
        store::share_requests::of_org(&self.conn, actor.org.id)?
            .into_iter()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .filter(|r| direction.is_none_or(|d| direction_of(actor, r) == d))
            .map(|r| self.request_view(actor, &r))
            .collect()
    }

    /// Approves (writing the sharing settings) or declines a pending request made to the
    /// actor's org. Needs an admin or `manage_sharing`. On approval, `fields` (if given)
    /// replaces the fields asked for; a level already higher than the one asked for is kept.
    pub fn respond_to_share_request(
        &mut self,
        actor: &Actor,
        id: i64,
        approve: bool,
        fields: Option<&[String]>,
    ) -> Result<ShareRequestView> {
        self.atomic(|e| e.respond_to_share_request_checked(actor, id, approve, fields))
    }

    /// [`Self::respond_to_share_request`], inside its write transaction (state read here is current).
    fn respond_to_share_request_checked(
        &mut self,
        actor: &Actor,
        id: i64,
        approve: bool,
        fields: Option<&[String]>,
    ) -> Result<ShareRequestView> {
        self.require(
            actor,
            Permission::ManageSharing,
            "respond to share requests",
        )?;
        let r = self.require_share_request_side(actor, id)?;
        if r.owner_org != actor.org.id {
            return Err(forbidden(format!(
                "Share request {id} is yours to the partner: only they can answer it. You may withdraw it."
            )));
        }
        require_pending(&r)?;
        let partner = self.partner_by_org(actor, r.requester_org)?;
        self.require_active(actor, &partner)?;
        let now = self.now_str();
        let status = if approve {
            ShareRequestStatus::Approved
        } else {
            ShareRequestStatus::Declined
        };
        // Work out every setting first, so that a bad field name changes nothing.
        let mut writes: Vec<(Population, Sharing, Sharing)> = Vec::new();
        if approve {
            let level = r.level.unwrap_or(SharingLevel::Overlaps);
            for pop in self.requested_populations(actor, &r)? {
                let before = store::sharing::get(&self.conn, actor.org.id, partner.org.id, pop.id)?;
                let fields = match fields {
                    Some(f) => self.check_fields(&pop, f)?,
                    None => {
                        let mut v = before.fields.clone();
                        v.extend(self.check_fields(&pop, &r.fields)?);
                        if v.is_empty() && level >= SharingLevel::Overlaps {
                            v = DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect();
                        }
                        self.check_fields(&pop, &v)?
                    }
                };
                let after = Sharing {
                    level: level.max(before.level),
                    fields,
                };
                writes.push((pop, before, after));
            }
        }
        let tx = store::write_tx(&mut self.conn)?;
        store::share_requests::set_status(&tx, r.id, status, Some(actor.user.id), &now)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "respond_to_share_request",
            "share_request",
            Some(r.id),
            Some(&json!({"status": r.status})),
            Some(&json!({"status": status})),
        )?;
        for (pop, before, after) in &writes {
            write_setting(
                &tx,
                &now,
                actor,
                partner.org.id,
                pop,
                before,
                after,
                "approve_share_request",
            )?;
        }
        crate::federation::messages::request_changed(&tx, r.id, &now)?;
        tx.commit()?;
        self.share_request(actor, id)
    }

    /// Withdraws a pending request the actor's org made: its author, or an admin or user with
    /// `manage_sharing` of the requesting org.
    pub fn withdraw_share_request(&mut self, actor: &Actor, id: i64) -> Result<ShareRequestView> {
        self.atomic(|e| e.withdraw_share_request_checked(actor, id))
    }

    /// [`Self::withdraw_share_request`], inside its write transaction (state read here is current).
    fn withdraw_share_request_checked(
        &mut self,
        actor: &Actor,
        id: i64,
    ) -> Result<ShareRequestView> {
        let r = self.require_share_request_side(actor, id)?;
        if r.requester_org != actor.org.id {
            return Err(forbidden(format!(
                "Share request {id} was made to you: approve or decline it with respond_to_share_request; only the requester can withdraw it."
            )));
        }
        if r.created_by != Some(actor.user.id) && !actor.user.has(Permission::ManageSharing) {
            return Err(forbidden(format!(
                "{} cannot withdraw share request {id}: only the user who made it, an admin, or a partner manager with 'manage_sharing' may.",
                actor.user.email
            )));
        }
        require_pending(&r)?;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        store::share_requests::set_status(&tx, r.id, ShareRequestStatus::Withdrawn, None, &now)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "withdraw_share_request",
            "share_request",
            Some(r.id),
            Some(&json!({"status": r.status})),
            Some(&json!({"status": "withdrawn"})),
        )?;
        crate::federation::messages::request_changed(&tx, r.id, &now)?;
        tx.commit()?;
        self.share_request(actor, id)
    }

    /// The owner's populations a request covers: the one named, or every population not hidden
    /// from the requester (approval never reveals a hidden population).
    fn requested_populations(&self, actor: &Actor, r: &ShareRequest) -> Result<Vec<Population>> {
        let own = store::populations::of_org(&self.conn, actor.org.id)?;
        match r.population_id {
            Some(id) => Ok(own.into_iter().filter(|p| p.id == id).collect()),
            None => {
                let mut out = Vec::new();
                for p in own {
                    let s = store::sharing::get(&self.conn, actor.org.id, r.requester_org, p.id)?;
                    if s.level != SharingLevel::Hidden {
                        out.push(p);
                    }
                }
                Ok(out)
            }
        }
    }

    /// The actor's partner that is org `org` (a share request's other side).
    fn partner_by_org(&self, actor: &Actor, org: i64) -> Result<PartnerRef> {
        self.partners_of(actor)?
            .into_iter()
            .find(|p| p.org.id == org && matches!(p.relationship, Relationship::Partnership(_)))
            .ok_or_else(|| not_found("The other side of this request is no longer your partner."))
    }

    fn request_view(&self, actor: &Actor, r: &ShareRequest) -> Result<ShareRequestView> {
        let direction = direction_of(actor, r);
        let other = if direction == RequestDirection::Incoming {
            r.requester_org
        } else {
            r.owner_org
        };
        let other_org = store::orgs::org(&self.conn, other)?;
        let population = match r.population_id {
            Some(id) => store::populations::get(&self.conn, id)?.map(|p| PopRef {
                id: p.id,
                name: p.name,
            }),
            None => None,
        };
        let requested_by = match r.created_by {
            Some(u) => match store::orgs::user(&self.conn, u)? {
                Some(user) if self.user_visible(actor, &user)? => Some(UserRef {
                    id: user.id,
                    name: user.name.clone(),
                    email: user.email.clone(),
                    role: user.role,
                    org: store::orgs::org(&self.conn, user.org_id)?
                        .map(|o| o.name)
                        .unwrap_or_default(),
                }),
                _ => None,
            },
            None => None,
        };
        Ok(ShareRequestView {
            id: r.id,
            direction,
            status: r.status,
            partner: PopRef {
                id: other,
                name: other_org.map(|o| o.name).unwrap_or_default(),
            },
            population,
            level: r.level.unwrap_or(SharingLevel::Overlaps),
            fields: r.fields.clone(),
            message: r.message.clone(),
            requested_by,
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        })
    }
}

fn direction_of(actor: &Actor, r: &ShareRequest) -> RequestDirection {
    if r.owner_org == actor.org.id {
        RequestDirection::Incoming
    } else {
        RequestDirection::Outgoing
    }
}

fn require_pending(r: &ShareRequest) -> Result<()> {
    if r.status == ShareRequestStatus::Pending {
        return Ok(());
    }
    Err(conflict(format!(
        "Share request {} is already {}: only a pending request can be approved, declined or withdrawn. Make a new request with create_share_request if needed.",
        r.id, r.status
    )))
}
