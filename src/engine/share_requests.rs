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
use crate::text::{PersonText, Supplied, SuppliedBody, supplied_all};
use schemars::JsonSchema;
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

// A share request as one of its sides sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ShareRequestView {
    /// The request's id; pass it as `request` to respond_to_share_request or withdraw_share_request.
    pub id: i64,
    /// incoming (the partner asks your organization to share: approve or decline it) or outgoing (you asked the partner).
    #[schemars(with = "String")]
    pub direction: RequestDirection,
    /// pending, approved, declined or withdrawn.
    #[schemars(with = "String")]
    pub status: ShareRequestStatus,
    /// The other organization.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PopRef,
    /// The level asked for: counts, overlaps or full.
    #[schemars(with = "String")]
    pub level: SharingLevel,
    /// The population asked for (the owner's); absent means every population the requester can see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population_id: Option<i64>,
    /// The text of each side: the acting org's in place, the partner's under partner_supplied.
    #[serde(flatten)]
    pub text: RequestSides,
    pub created_at: String,
    // When it was answered or withdrawn (absent while unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

// What each side of a request wrote: the requester the fields, the note and who asked; the
// owner the population's name.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct RequestSides {
    /// The text your organization wrote: the population's name (incoming), or the fields, note and requester (outgoing).
    #[serde(flatten)]
    pub yours: RequestText,
    /// The text the partner wrote: its population's name (outgoing) or the fields, note and requester (incoming).
    #[serde(skip_serializing_if = "RequestText::is_empty")]
    pub partner_supplied: RequestText,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct RequestText {
    /// The population's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<Supplied>,
    /// The fields asked for (absent: the owner's choice).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Supplied>,
    /// The requester's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<SuppliedBody>,
    /// Who asked, while you may see them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<PersonText>,
}

impl RequestText {
    pub fn is_empty(&self) -> bool {
        self.population.is_none()
            && self.fields.is_empty()
            && self.message.is_none()
            && self.requested_by.is_none()
    }
}

impl ShareRequestView {
    /// What the requester wrote (the fields, the note, who asked).
    pub fn asked(&self) -> &RequestText {
        match self.direction {
            RequestDirection::Outgoing => &self.text.yours,
            RequestDirection::Incoming => &self.text.partner_supplied,
        }
    }

    /// The name of the population asked for (None: every population).
    pub fn population_name(&self) -> Option<&str> {
        let owner = match self.direction {
            RequestDirection::Incoming => &self.text.yours,
            RequestDirection::Outgoing => &self.text.partner_supplied,
        };
        owner.population.as_ref().map(|p| p.0.as_str())
    }

    /// The requester's note ("" when none).
    pub fn message(&self) -> &str {
        self.asked().message.as_ref().map_or("", |m| m.0.as_str())
    }

    /// The fields asked for.
    pub fn fields(&self) -> Vec<&str> {
        self.asked().fields.iter().map(|f| f.0.as_str()).collect()
    }
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
            Some(id) => store::populations::get(&self.conn, id)?.map(|p| p.name),
            None => None,
        };
        let requested_by = match r.created_by {
            Some(u) => match store::orgs::user(&self.conn, u)? {
                Some(user) if self.user_visible(actor, &user)? => {
                    Some(PersonText::new(user.name, Some(user.email)))
                }
                _ => None,
            },
            None => None,
        };
        // The requester wrote the fields and the note; the population belongs to the owner.
        let asked = RequestText {
            fields: supplied_all(&r.fields),
            message: (!r.message.trim().is_empty()).then(|| SuppliedBody::new(r.message.clone())),
            requested_by,
            ..RequestText::default()
        };
        let owner = RequestText {
            population: population.map(Supplied::new),
            ..RequestText::default()
        };
        let text = match direction {
            RequestDirection::Outgoing => RequestSides {
                yours: asked,
                partner_supplied: owner,
            },
            RequestDirection::Incoming => RequestSides {
                yours: owner,
                partner_supplied: asked,
            },
        };
        Ok(ShareRequestView {
            id: r.id,
            direction,
            status: r.status,
            partner: PopRef {
                id: other,
                name: other_org.map(|o| o.name).unwrap_or_default(),
            },
            level: r.level.unwrap_or(SharingLevel::Overlaps),
            population_id: r.population_id,
            text,
            created_at: r.created_at.clone(),
            updated_at: (r.updated_at != r.created_at).then(|| r.updated_at.clone()),
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
