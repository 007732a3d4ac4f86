//! Partnerships and their lifecycle; offline partners.

use super::Engine;
use super::access::{PartnerRef, Pick, Relationship, pick};
use super::populations::PopulationSummary;
use crate::error::{Result, conflict, forbidden, invalid, not_found};
use crate::matching::domain_key;
use crate::model::{Actor, Partnership, PartnershipStatus, Permission, Plan, SharingLevel};
use crate::store;
use crate::text::{Supplied, supplied_all};
use serde::Serialize;
use serde_json::json;

// One partner as listed to the acting org.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PartnerSummary {
    /// The partner's id (an organization id); pass it as `partner` to other tools.
    pub id: i64,
    /// invited, active, declined or revoked (offline partners are always active).
    #[schemars(with = "String")]
    pub status: PartnershipStatus,
    /// An offline partner: a company that does not use partnermap, whose lists you upload.
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub offline: bool,
    /// For an invitation: `incoming` (they invited you: answer with respond_to_invitation) or `outgoing` (waiting for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    // The partnership's id (None for offline partners); not shown: the partner's id names it.
    #[serde(skip)]
    pub partnership_id: Option<i64>,
    /// Partner Score label (High, Medium, Low, None, Unknown), once scores are computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub score_label: Option<crate::scoring::Label>,
    /// For a partner on another partnermap instance: its ID, address, last sync, pending
    /// messages and reachability (sync_partner exchanges now). Absent for partners in this
    /// database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<super::RemoteStatus>,
    /// The partner's name and domain, as the partner wrote them.
    #[serde(rename = "partner_supplied")]
    pub text: crate::text::OrgText,
}

impl PartnerSummary {
    /// The partner's name, as it wrote it.
    pub fn name(&self) -> &str {
        &self.text.name.0
    }

    /// The partner's domain, as it wrote it.
    pub fn domain(&self) -> Option<&str> {
        self.text.domain.as_ref().map(|d| d.0.as_str())
    }
}

/// What your organization shares with the partner, for one of your populations.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct SideSharing {
    pub population_id: i64,
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub population: String,
    /// hidden, counts, overlaps or full.
    #[schemars(with = "String")]
    pub level: SharingLevel,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::shape::as_clean_all"
    )]
    pub fields: Vec<String>,
}

// Its population's name and the fields it lists, as it wrote them, under `partner_supplied`.
/// What the partner shares with you, for one of its populations.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct TheirSharing {
    pub population_id: i64,
    /// hidden, counts, overlaps or full.
    #[schemars(with = "String")]
    pub level: SharingLevel,
    pub partner_supplied: TheirSharingText,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct TheirSharingText {
    pub population: Supplied,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Supplied>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PartnerDetail {
    #[serde(flatten)]
    pub summary: PartnerSummary,
    /// The partner's populations you can see (none unless the partnership is active).
    pub populations: Vec<PopulationSummary>,
    /// What the partner shares with you, per visible population.
    pub they_share: Vec<TheirSharing>,
    /// What your organization shares with the partner, per population of yours.
    pub you_share: Vec<SideSharing>,
}

// The partnership as the caller sees it after a change.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PartnershipView {
    pub id: i64,
    /// invited, active, declined or revoked.
    #[schemars(with = "String")]
    pub status: PartnershipStatus,
    pub partner_id: i64,
    /// {partner}: the partner's name.
    #[serde(
        rename = "partner_supplied",
        serialize_with = "crate::text::as_partner"
    )]
    #[schemars(with = "crate::text::PartnerName")]
    pub partner: String,
}

// What deleting an offline partner removed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Deleted {
    pub id: i64,
    /// Records removed with the partner.
    pub records: i64,
    /// Populations removed with the partner.
    #[serde(skip_serializing_if = "crate::shape::is_zero")]
    pub populations: usize,
    #[serde(rename = "partner_supplied", serialize_with = "crate::text::as_name")]
    #[schemars(with = "crate::text::Name")]
    pub name: String,
}

fn summary(actor: &Actor, p: &PartnerRef) -> PartnerSummary {
    let (direction, partnership_id) = match &p.relationship {
        Relationship::Offline => (None, None),
        Relationship::Partnership(ps) => (
            (ps.status == PartnershipStatus::Invited).then_some(
                if ps.inviter_org == actor.org.id {
                    "outgoing"
                } else {
                    "incoming"
                },
            ),
            Some(ps.id),
        ),
    };
    PartnerSummary {
        id: p.org.id,
        text: crate::text::OrgText::new(&p.org.name, p.org.domain.as_deref()),
        status: p.status(),
        offline: p.is_offline(),
        direction,
        partnership_id,
        score_label: None,
        remote: None,
    }
}

impl Engine {
    /// The actor's partners, optionally of one status.
    pub fn list_partners(
        &self,
        actor: &Actor,
        status: Option<PartnershipStatus>,
    ) -> Result<Vec<PartnerSummary>> {
        let labels = self.score_labels(actor);
        self.partners_of(actor)?
            .iter()
            .map(|p| {
                Ok(PartnerSummary {
                    score_label: labels.get(&p.org.id).copied(),
                    remote: self.remote_status(p.org.id)?,
                    ..summary(actor, p)
                })
            })
            .filter(|s| {
                s.as_ref()
                    .map_or(true, |s| status.is_none_or(|st| s.status == st))
            })
            .collect::<Result<_>>()
    }

    pub fn get_partner(&self, actor: &Actor, partner: &str) -> Result<PartnerDetail> {
        let p = self.resolve_partner(actor, partner)?;
        let visible = match self.visible_populations(actor, &p) {
            Ok(v) => v,
            Err(crate::Error::Conflict(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let you_share = if p.is_offline() {
            Vec::new() // nothing is ever shared with an offline partner
        } else {
            store::populations::of_org(&self.conn, actor.org.id)?
                .iter()
                .map(|pop| {
                    let s = store::sharing::get(&self.conn, actor.org.id, p.org.id, pop.id)?;
                    Ok(SideSharing {
                        population_id: pop.id,
                        population: pop.name.clone(),
                        level: s.level,
                        fields: s.fields,
                    })
                })
                .collect::<Result<_>>()?
        };
        let labels = self.score_labels(actor);
        Ok(PartnerDetail {
            summary: PartnerSummary {
                score_label: labels.get(&p.org.id).copied(),
                remote: self.remote_status(p.org.id)?,
                ..summary(actor, &p)
            },
            populations: visible.iter().map(PopulationSummary::theirs).collect(),
            they_share: visible
                .iter()
                .map(|v| TheirSharing {
                    population_id: v.population.id,
                    level: v.sharing.level,
                    partner_supplied: TheirSharingText {
                        population: Supplied::new(v.population.name.clone()),
                        fields: supplied_all(&v.sharing.fields),
                    },
                })
                .collect(),
            you_share,
        })
    }

    fn view(&self, partnership: &Partnership, partner: &crate::model::Org) -> PartnershipView {
        PartnershipView {
            id: partnership.id,
            status: partnership.status,
            partner: partner.name.clone(),
            partner_id: partner.id,
        }
    }

    /// Invites another org (by name, domain or id) to partner. A declined or revoked partnership
    /// can be invited again.
    pub fn invite(&mut self, actor: &Actor, org: &str) -> Result<PartnershipView> {
        self.atomic(|e| e.invite_checked(actor, org))
    }

    /// [`Self::invite`], inside its write transaction (state read here is current).
    fn invite_checked(&mut self, actor: &Actor, org: &str) -> Result<PartnershipView> {
        self.require(actor, Permission::ManagePartnerships, "invite partners")?;
        let others: Vec<_> = store::orgs::online_orgs(&self.conn)?
            .into_iter()
            .filter(|o| o.id != actor.org.id)
            .collect();
        let t = org.trim();
        let by_domain = domain_key(t);
        let target = match pick(&others, t, |o| (o.id, o.name.as_str(), o.domain.as_deref())) {
            Pick::One(o) => o.clone(),
            Pick::Many(names) => {
                return Err(not_found(format!(
                    "'{t}' matches several organizations ({}); use the full name or the domain.",
                    names.join(", ")
                )));
            }
            Pick::None => match others
                .iter()
                .find(|o| by_domain.is_some() && o.domain == by_domain)
            {
                Some(o) => o.clone(),
                None => {
                    return Err(not_found(format!(
                        "No organization '{t}' uses partnermap in this database. For a company that does not, add it as an offline partner (add_offline_partner) and upload its CSV."
                    )));
                }
            },
        };
        if store::federation::link_of_remote_org(&self.conn, target.id)?.is_some() {
            return Err(conflict(format!(
                "{} is on another instance: invite it with a code (partnermap invite --remote, or invite_partner with remote true).",
                target.name
            )));
        }
        let now = self.now_str();
        let existing = store::partnerships::between(&self.conn, actor.org.id, target.id)?;
        if let Some(p) = &existing {
            match p.status {
                PartnershipStatus::Active => {
                    return Err(conflict(format!(
                        "You are already partnered with {}.",
                        target.name
                    )));
                }
                PartnershipStatus::Invited if p.inviter_org == actor.org.id => {
                    return Err(conflict(format!(
                        "{} already has your invitation; it is waiting for them to accept.",
                        target.name
                    )));
                }
                PartnershipStatus::Invited => {
                    return Err(conflict(format!(
                        "{} has already invited you; accept with respond_to_invitation (partner '{}', accept true).",
                        target.name, target.name
                    )));
                }
                PartnershipStatus::Declined | PartnershipStatus::Revoked => {}
            }
        }
        let tx = store::write_tx(&mut self.conn)?;
        let id = store::partnerships::upsert(
            &tx,
            actor.org.id,
            target.id,
            actor.org.id,
            PartnershipStatus::Invited,
            &now,
        )?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "invite_partner",
            "partnership",
            Some(id),
            existing
                .as_ref()
                .map(|p| json!({"status": p.status}))
                .as_ref(),
            Some(
                &json!({"status": "invited", "inviter_org": actor.org.id, "invitee_org": target.id}),
            ),
        )?;
        tx.commit()?;
        let p = store::partnerships::between(&self.conn, actor.org.id, target.id)?
            .expect("just written");
        Ok(self.view(&p, &target))
    }

    /// Accepts or declines an invitation the partner sent.
    pub fn respond_to_invitation(
        &mut self,
        actor: &Actor,
        partner: &str,
        accept: bool,
    ) -> Result<PartnershipView> {
        self.atomic(|e| e.respond_to_invitation_checked(actor, partner, accept))
    }

    /// [`Self::respond_to_invitation`], inside its write transaction (state read here is current).
    fn respond_to_invitation_checked(
        &mut self,
        actor: &Actor,
        partner: &str,
        accept: bool,
    ) -> Result<PartnershipView> {
        self.require(actor, Permission::ManagePartnerships, "answer invitations")?;
        let p = self.resolve_partner(actor, partner)?;
        let ps = match &p.relationship {
            Relationship::Partnership(ps)
                if ps.status == PartnershipStatus::Invited && ps.inviter_org != actor.org.id =>
            {
                ps.clone()
            }
            Relationship::Partnership(ps) if ps.status == PartnershipStatus::Invited => {
                return Err(conflict(format!(
                    "You invited {}; only they can answer the invitation.",
                    p.org.name
                )));
            }
            Relationship::Partnership(ps) => {
                return Err(conflict(format!(
                    "There is no pending invitation from {}: the partnership is {}.",
                    p.org.name, ps.status
                )));
            }
            Relationship::Offline => {
                return Err(invalid(format!(
                    "{} is an offline partner: there is no invitation to answer.",
                    p.org.name
                )));
            }
        };
        let status = if accept {
            PartnershipStatus::Active
        } else {
            PartnershipStatus::Declined
        };
        self.change_status(actor, &ps, status, "respond_to_invitation")?;
        let ps = store::partnerships::between(&self.conn, actor.org.id, p.org.id)?.expect("exists");
        Ok(self.view(&ps, &p.org))
    }

    /// Ends an active partnership (or withdraws an invitation the actor sent). All access ends
    /// at once; sharing settings are kept for a later re-invitation.
    pub fn revoke(&mut self, actor: &Actor, partner: &str) -> Result<PartnershipView> {
        self.atomic(|e| e.revoke_checked(actor, partner))
    }

    /// [`Self::revoke`], inside its write transaction (state read here is current).
    fn revoke_checked(&mut self, actor: &Actor, partner: &str) -> Result<PartnershipView> {
        self.require(actor, Permission::ManagePartnerships, "revoke partnerships")?;
        let p = self.resolve_partner(actor, partner)?;
        let ps = match &p.relationship {
            Relationship::Offline => {
                return Err(invalid(format!(
                    "{} is an offline partner; remove it with delete_offline_partner instead.",
                    p.org.name
                )));
            }
            Relationship::Partnership(ps) => ps.clone(),
        };
        match ps.status {
            PartnershipStatus::Active => {}
            PartnershipStatus::Invited if ps.inviter_org == actor.org.id => {}
            PartnershipStatus::Invited => {
                return Err(conflict(format!(
                    "{} invited you; decline with respond_to_invitation (accept false) instead.",
                    p.org.name
                )));
            }
            other => {
                return Err(conflict(format!(
                    "The partnership with {} is already {other}.",
                    p.org.name
                )));
            }
        }
        self.change_status(actor, &ps, PartnershipStatus::Revoked, "revoke_partnership")?;
        let ps = store::partnerships::between(&self.conn, actor.org.id, p.org.id)?.expect("exists");
        Ok(self.view(&ps, &p.org))
    }

    fn change_status(
        &mut self,
        actor: &Actor,
        ps: &Partnership,
        status: PartnershipStatus,
        action: &str,
    ) -> Result<()> {
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        store::partnerships::set_status(&tx, ps.id, status, &now)?;
        if status == PartnershipStatus::Revoked {
            // A partner on another instance: delete what it released here and the
            // partnership's secrets, and queue the revocation for it (FEDERATION.md).
            let other = ps.other(actor.org.id);
            if let Some(link) = store::federation::link_of_remote_org(&tx, other)? {
                store::federation::purge(&tx, &link)?;
                store::federation::enqueue(&tx, link.id, "revoke", br#"{"type":"revoke"}"#, &now)?;
            }
        }
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            action,
            "partnership",
            Some(ps.id),
            Some(&json!({"status": ps.status})),
            Some(&json!({"status": status})),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn require_offline_manager(&self, actor: &Actor, doing: &str) -> Result<()> {
        self.require(actor, Permission::ManageDataSources, doing)?;
        self.require(actor, Permission::ManagePartnerships, doing)
    }

    /// Adds an offline partner: an org with no users, managed by the actor's org, active at once.
    pub fn add_offline_partner(
        &mut self,
        actor: &Actor,
        name: &str,
        domain: Option<&str>,
    ) -> Result<PartnerSummary> {
        self.atomic(|e| e.add_offline_partner_checked(actor, name, domain))
    }

    /// [`Self::add_offline_partner`], inside its write transaction (state read here is current).
    fn add_offline_partner_checked(
        &mut self,
        actor: &Actor,
        name: &str,
        domain: Option<&str>,
    ) -> Result<PartnerSummary> {
        self.require_offline_manager(actor, "add offline partners")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid(
                "An offline partner needs a name of 1 to 200 characters.",
            ));
        }
        let domain = match domain.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(domain_key(d).ok_or_else(|| {
                invalid(format!("'{d}' is not a company domain (e.g. acme.com)."))
            })?),
            None => None,
        };
        let limits = self.plan_limits(actor.org.plan)?;
        let existing = store::orgs::offline_partners_of(&self.conn, actor.org.id)?;
        if let Some(max) = limits.max_offline_partners
            && existing.len() as i64 >= max
        {
            return Err(forbidden(format!(
                "The {} plan allows {max} offline partner{}; {} has {}. Upgrade the plan or delete one.",
                actor.org.plan,
                if max == 1 { "" } else { "s" },
                actor.org.name,
                existing.len()
            )));
        }
        if self
            .partners_of(actor)?
            .iter()
            .any(|p| p.org.name.eq_ignore_ascii_case(name))
        {
            return Err(conflict(format!(
                "You already have a partner named '{name}'."
            )));
        }
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let id = store::orgs::insert_org(
            &tx,
            name,
            domain.as_deref(),
            Plan::Explorer,
            Some(actor.org.id),
            &now,
        )?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "add_offline_partner",
            "org",
            Some(id),
            None,
            Some(&json!({"name": name, "domain": domain})),
        )?;
        tx.commit()?;
        Ok(PartnerSummary {
            id,
            text: crate::text::OrgText::new(name, domain.as_deref()),
            status: PartnershipStatus::Active,
            offline: true,
            direction: None,
            partnership_id: None,
            score_label: None,
            remote: None,
        })
    }

    /// Deletes an offline partner with its data sources, records and populations. `confirm`
    /// must be exactly "DELETE".
    pub fn delete_offline_partner(
        &mut self,
        actor: &Actor,
        partner: &str,
        confirm: &str,
    ) -> Result<Deleted> {
        self.atomic(|e| e.delete_offline_partner_checked(actor, partner, confirm))
    }

    /// [`Self::delete_offline_partner`], inside its write transaction (state read here is current).
    fn delete_offline_partner_checked(
        &mut self,
        actor: &Actor,
        partner: &str,
        confirm: &str,
    ) -> Result<Deleted> {
        self.require_offline_manager(actor, "delete offline partners")?;
        let p = self.resolve_partner(actor, partner)?;
        if !p.is_offline() {
            return Err(invalid(format!(
                "{} is not an offline partner; end an online partnership with revoke_partnership.",
                p.org.name
            )));
        }
        if confirm != "DELETE" {
            return Err(invalid(format!(
                "Deleting {} removes its data and populations for good. Pass confirm \"DELETE\" to go ahead.",
                p.org.name
            )));
        }
        let records = store::records::record_count(&self.conn, p.org.id)?;
        let populations = store::populations::of_org(&self.conn, p.org.id)?.len();
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        store::orgs::delete_org(&tx, p.org.id)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "delete_offline_partner",
            "org",
            Some(p.org.id),
            Some(&json!({"name": p.org.name, "records": records, "populations": populations})),
            None,
        )?;
        tx.commit()?;
        Ok(Deleted {
            id: p.org.id,
            name: p.org.name,
            records,
            populations,
        })
    }
}
