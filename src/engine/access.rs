//! The privacy gate. What the acting user may read or write is decided here and nowhere else:
//! roles and permissions (SPEC §4), which orgs are the actor's partners, and which of a
//! partner's populations the actor may see, at which sharing level (SPEC §3).

use super::Engine;
use crate::error::{Result, conflict, forbidden, not_found};
use crate::model::{
    Actor, Org, Partnership, PartnershipStatus, Permission, Population, Record, Role, Sharing,
    SharingLevel, User,
};
use crate::store;
use serde_json::{Map, Value};

/// How the actor relates to another org.
#[derive(Debug, Clone)]
pub enum Relationship {
    /// An offline partner the actor's org manages: full access to its data, never shared.
    Offline,
    /// A partnership in some state.
    Partnership(Partnership),
}

/// A partner of the actor, resolved from a name or id, with the relationship.
#[derive(Debug, Clone)]
pub struct PartnerRef {
    pub org: Org,
    pub relationship: Relationship,
}

impl PartnerRef {
    pub fn status(&self) -> PartnershipStatus {
        match &self.relationship {
            Relationship::Offline => PartnershipStatus::Active,
            Relationship::Partnership(p) => p.status,
        }
    }
    pub fn is_offline(&self) -> bool {
        matches!(self.relationship, Relationship::Offline)
    }
}

/// A partner population the actor may see, with the sharing that applies to the actor.
#[derive(Debug, Clone)]
pub struct VisiblePopulation {
    pub population: Population,
    pub sharing: Sharing,
}

impl VisiblePopulation {
    /// Whether a field of the partner's records may be shown (`*` = every field, offline partners).
    pub fn field_allowed(&self, field: &str) -> bool {
        self.sharing.level >= SharingLevel::Overlaps
            && self
                .sharing
                .fields
                .iter()
                .any(|f| f == "*" || f.eq_ignore_ascii_case(field))
    }
}

/// Which of a partner population's records the actor may read (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAccess {
    /// `counts`: overlap figures only, no record.
    CountsOnly,
    /// `overlaps`: the records that overlap the actor's populations, with the shared fields.
    Overlapping,
    /// `full`: every record of the population, with the shared fields.
    Everything,
}

impl VisiblePopulation {
    pub fn record_access(&self) -> RecordAccess {
        match self.sharing.level {
            SharingLevel::Hidden | SharingLevel::Counts => RecordAccess::CountsOnly,
            SharingLevel::Overlaps => RecordAccess::Overlapping,
            SharingLevel::Full => RecordAccess::Everything,
        }
    }

    /// The shared field names, as the partner spelled them (for `*`: name, website, domain and
    /// every field of this record). Empty below `overlaps`.
    pub fn shared_field_names(&self, rec: Option<&Record>) -> Vec<String> {
        if self.sharing.level < SharingLevel::Overlaps {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        for f in &self.sharing.fields {
            if f == ALL_FIELDS {
                for n in ["name", "website", "domain"] {
                    out.push(n.to_string());
                }
                if let Some(r) = rec {
                    out.extend(r.fields.keys().cloned());
                }
            } else {
                out.push(f.clone());
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|f| seen.insert(f.to_ascii_lowercase()));
        out
    }

    /// The partner's record cut down to exactly the fields shared with the actor. Nothing else
    /// of a partner's record (not its id) ever leaves the engine.
    pub fn project(&self, rec: &Record) -> Map<String, Value> {
        let mut m = Map::new();
        for f in self.shared_field_names(Some(rec)) {
            let v = rec.field(&f).map(Value::String).unwrap_or(Value::Null);
            m.insert(f, v);
        }
        m
    }
}

/// Every field name, for offline partners (their data is the actor's own upload).
pub const ALL_FIELDS: &str = "*";

impl Engine {
    /// Fails unless the actor holds `perm` (admins hold every permission).
    pub fn require(&self, actor: &Actor, perm: Permission, doing: &str) -> Result<()> {
        if actor.user.has(perm) {
            return Ok(());
        }
        let who = match actor.user.role {
            Role::Member => "members".to_string(),
            _ => format!("partner managers without '{perm}'"),
        };
        Err(forbidden(format!(
            "{} cannot {doing}: {who} may not. It needs an admin, or a partner manager with the '{perm}' permission; ask an admin of {}.",
            actor.user.email, actor.org.name
        )))
    }

    /// Fails unless the actor is an admin of their org.
    pub fn require_admin(&self, actor: &Actor, doing: &str) -> Result<()> {
        if actor.user.role == Role::Admin {
            return Ok(());
        }
        Err(forbidden(format!(
            "{} cannot {doing}: only an admin of {} may.",
            actor.user.email, actor.org.name
        )))
    }

    /// Every org the actor has a relationship with: partnerships in any state, and the offline
    /// partners the actor's org manages. Offline partners of other orgs never appear.
    pub fn partners_of(&self, actor: &Actor) -> Result<Vec<PartnerRef>> {
        let mut out = Vec::new();
        for p in store::partnerships::of_org(&self.conn, actor.org.id)? {
            if let Some(org) = store::orgs::org(&self.conn, p.other(actor.org.id))? {
                out.push(PartnerRef {
                    org,
                    relationship: Relationship::Partnership(p),
                });
            }
        }
        for org in store::orgs::offline_partners_of(&self.conn, actor.org.id)? {
            out.push(PartnerRef {
                org,
                relationship: Relationship::Offline,
            });
        }
        Ok(out)
    }

    /// Resolves a partner by id, name or domain (case-insensitive, unambiguous) among the actor's
    /// partners. The error lists the partners the actor has.
    pub fn resolve_partner(&self, actor: &Actor, text: &str) -> Result<PartnerRef> {
        let partners = self.partners_of(actor)?;
        let t = text.trim();
        let found = pick(&partners, t, |p| {
            (p.org.id, p.org.name.as_str(), p.org.domain.as_deref())
        });
        match found {
            Pick::One(p) => Ok(p.clone()),
            Pick::Many(names) => Err(not_found(format!(
                "'{t}' matches several partners ({}); use the full name or the id.",
                names.join(", ")
            ))),
            Pick::None => {
                let names: Vec<String> = partners
                    .iter()
                    .take(30)
                    .map(|p| format!("{} (id {}, {})", p.org.name, p.org.id, p.status()))
                    .collect();
                Err(not_found(if names.is_empty() {
                    format!(
                        "No partner named '{t}': {} has no partners yet. Invite one with invite_partner or add an offline partner.",
                        actor.org.name
                    )
                } else {
                    format!(
                        "No partner named '{t}'. Partners you have: {}.",
                        names.join(", ")
                    )
                }))
            }
        }
    }

    /// Fails unless the actor may see overlap data with this partner now: an active
    /// partnership, or an offline partner the actor's org manages.
    pub fn require_active(&self, actor: &Actor, partner: &PartnerRef) -> Result<()> {
        match &partner.relationship {
            Relationship::Offline => Ok(()),
            Relationship::Partnership(p) if p.status == PartnershipStatus::Active => Ok(()),
            Relationship::Partnership(p) => Err(conflict(format!(
                "Your partnership with {} is {}, not active: no overlap data exists for it. {}",
                partner.org.name,
                p.status,
                match p.status {
                    PartnershipStatus::Invited if p.inviter_org == actor.org.id =>
                        "Wait for them to accept the invitation.",
                    PartnershipStatus::Invited =>
                        "Accept their invitation with respond_to_invitation first.",
                    _ => "Invite them again with invite_partner.",
                }
            ))),
        }
    }

    /// The partner's populations the actor may see (not hidden from the actor), with the sharing
    /// that applies. Fails unless the partnership is active (or the partner is offline and managed
    /// by the actor's org).
    pub fn visible_populations(
        &self,
        actor: &Actor,
        partner: &PartnerRef,
    ) -> Result<Vec<VisiblePopulation>> {
        self.require_active(actor, partner)?;
        let mut out = Vec::new();
        for population in store::populations::of_org(&self.conn, partner.org.id)? {
            let sharing = if partner.is_offline() {
                Sharing {
                    level: SharingLevel::Full,
                    fields: vec![ALL_FIELDS.to_string()],
                }
            } else {
                store::sharing::get(&self.conn, partner.org.id, actor.org.id, population.id)?
            };
            if sharing.level != SharingLevel::Hidden {
                out.push(VisiblePopulation {
                    population,
                    sharing,
                });
            }
        }
        Ok(out)
    }

    /// The partner's populations whose overlapping records the actor may see: those shared at
    /// `overlaps` or `full` (offline partners: all). Record-level answers (pipeline generation,
    /// deal navigator, account lookup) use only these; a `counts` population gives figures only.
    pub fn record_level_populations(
        &self,
        actor: &Actor,
        partner: &PartnerRef,
    ) -> Result<Vec<VisiblePopulation>> {
        Ok(self
            .visible_populations(actor, partner)?
            .into_iter()
            .filter(|v| v.sharing.level >= SharingLevel::Overlaps)
            .collect())
    }

    /// One of the partner's populations by id or name, only if visible to the actor. The error is
    /// the same whether the population is hidden or does not exist.
    pub fn resolve_partner_population(
        &self,
        actor: &Actor,
        partner: &PartnerRef,
        text: &str,
    ) -> Result<VisiblePopulation> {
        let visible = self.visible_populations(actor, partner)?;
        match pick(&visible, text.trim(), |v| {
            (v.population.id, v.population.name.as_str(), None)
        }) {
            Pick::One(v) => Ok(v.clone()),
            _ => Err(not_found(format!(
                "{} has no population '{}' that you can see. Populations it shares with you: {}.",
                partner.org.name,
                text.trim(),
                list_or_none(visible.iter().map(|v| v.population.name.clone()))
            ))),
        }
    }

    /// One of the actor's own populations by id or name.
    pub fn resolve_own_population(&self, actor: &Actor, text: &str) -> Result<Population> {
        let own = store::populations::of_org(&self.conn, actor.org.id)?;
        match pick(&own, text.trim(), |p| (p.id, p.name.as_str(), None)) {
            Pick::One(p) => Ok(p.clone()),
            _ => Err(not_found(format!(
                "{} has no population '{}'. Your populations: {}.",
                actor.org.name,
                text.trim(),
                list_or_none(own.iter().map(|p| p.name.clone()))
            ))),
        }
    }

    /// Whether the actor's org may read the records of `org` at all (its own, or an offline
    /// partner it manages). Records of online partners are read only through
    /// [`Engine::visible_populations`] and their sharing.
    pub fn owns_data_of(&self, actor: &Actor, org: &Org) -> bool {
        org.id == actor.org.id || org.managed_by == Some(actor.org.id)
    }
}

impl Engine {
    /// Fails unless the partner shares the population's records (`overlaps` or `full`); the
    /// error gives the reason and the one figure the actor may see, the overlap count.
    pub fn require_records_shared(
        &self,
        partner: &PartnerRef,
        vis: &VisiblePopulation,
        overlap_count: usize,
    ) -> Result<()> {
        if vis.record_access() != RecordAccess::CountsOnly {
            return Ok(());
        }
        Err(forbidden(format!(
            "{} shares its population '{}' with you at the 'counts' level: you may see the overlap count ({overlap_count}) but not the records. Ask {} to share more with create_share_request (partner '{}', population '{}', level 'overlaps').",
            partner.org.name,
            vis.population.name,
            partner.org.name,
            partner.org.name,
            vis.population.name
        )))
    }

    /// Fails unless the actor's org and the partner have a partnership (in any state) across
    /// which sharing settings and share requests can exist: never with offline partners.
    pub fn require_online_partnership(&self, partner: &PartnerRef) -> Result<Partnership> {
        match &partner.relationship {
            Relationship::Partnership(p) => Ok(p.clone()),
            Relationship::Offline => Err(crate::error::invalid(format!(
                "{} is an offline partner: its data is yours alone and nothing is ever shared with it, so there are no sharing settings or requests for it.",
                partner.org.name
            ))),
        }
    }

    /// The partner's users the actor may see (name, email, role): only across an active,
    /// online partnership; none otherwise.
    pub fn visible_partner_users(&self, actor: &Actor, partner: &PartnerRef) -> Result<Vec<User>> {
        match &partner.relationship {
            Relationship::Partnership(p) if p.status == PartnershipStatus::Active => {
                let _ = actor;
                Ok(store::orgs::users_of(&self.conn, partner.org.id)?)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Whether the actor may see who `user` is: users of the actor's org, and users of orgs
    /// the actor's org is actively partnered with.
    pub fn user_visible(&self, actor: &Actor, user: &User) -> Result<bool> {
        if user.org_id == actor.org.id {
            return Ok(true);
        }
        Ok(
            store::partnerships::between(&self.conn, actor.org.id, user.org_id)?
                .is_some_and(|p| p.status == PartnershipStatus::Active),
        )
    }

    /// Fails unless the actor's org is one of the two sides of a thread. The error is the same
    /// whether the thread does not exist or belongs to others.
    pub fn require_thread_side(
        &self,
        actor: &Actor,
        thread_id: i64,
    ) -> Result<store::threads::ThreadRow> {
        match store::threads::get(&self.conn, thread_id)? {
            Some(t) if t.org_a == actor.org.id || t.org_b == actor.org.id => Ok(t),
            _ => Err(not_found(format!(
                "{} has no thread {thread_id}. List your threads with list_threads.",
                actor.org.name
            ))),
        }
    }

    /// Fails unless the actor's org is the requester or the owner of the share request (same
    /// error whether it does not exist or belongs to others).
    pub fn require_share_request_side(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<crate::model::ShareRequest> {
        match store::share_requests::get(&self.conn, id)? {
            Some(r) if r.requester_org == actor.org.id || r.owner_org == actor.org.id => Ok(r),
            _ => Err(not_found(format!(
                "{} has no share request {id}. List them with list_share_requests.",
                actor.org.name
            ))),
        }
    }
}

pub(crate) fn list_or_none(names: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = names.take(30).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

pub(crate) enum Pick<'a, T> {
    One(&'a T),
    Many(Vec<String>),
    None,
}

/// Picks one item by id, then by exact case-insensitive name or domain, then by a unique
/// case-insensitive substring of the name.
pub(crate) fn pick<'a, T>(
    items: &'a [T],
    text: &str,
    key: impl Fn(&T) -> (i64, &str, Option<&str>),
) -> Pick<'a, T> {
    if text.is_empty() {
        return Pick::None;
    }
    if let Ok(id) = text.parse::<i64>()
        && let Some(i) = items.iter().find(|i| key(i).0 == id)
    {
        return Pick::One(i);
    }
    let exact: Vec<&T> = items
        .iter()
        .filter(|i| {
            let (_, name, domain) = key(i);
            name.eq_ignore_ascii_case(text) || domain.is_some_and(|d| d.eq_ignore_ascii_case(text))
        })
        .collect();
    if exact.len() == 1 {
        return Pick::One(exact[0]);
    }
    let lower = text.to_lowercase();
    let partial: Vec<&T> = if exact.is_empty() {
        items
            .iter()
            .filter(|i| key(i).1.to_lowercase().contains(&lower))
            .collect()
    } else {
        exact
    };
    match partial.len() {
        0 => Pick::None,
        1 => Pick::One(partial[0]),
        _ => Pick::Many(partial.iter().map(|i| key(i).1.to_string()).collect()),
    }
}
