//! Sharing settings (SPEC §1, §3): per (owner org, partner, population) a level — `hidden`,
//! `counts` (the default), `overlaps`, `full` — and the fields shared. Only the owner sets its
//! own; every change is audited with before and after.

use super::Engine;
use super::access::{ALL_FIELDS, PartnerRef, list_or_none};
use crate::error::{Result, invalid};
use crate::model::{Actor, PartnershipStatus, Permission, Population, Sharing, SharingLevel};
use crate::store;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

/// Fields shared by default when a population is first shared at `overlaps` or `full` without
/// naming any.
pub const DEFAULT_FIELDS: [&str; 2] = ["name", "website"];

// A sharing setting of the actor's org, as the owner sees it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct SharingView {
    pub partner_id: i64,
    pub population_id: i64,
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub population: String,
    /// hidden, counts, overlaps or full.
    #[schemars(with = "String")]
    pub level: SharingLevel,
    /// The fields of your records the partner may see at overlaps/full (`*` = all).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::shape::as_clean_all"
    )]
    pub fields: Vec<String>,
    /// The partnership's status (a setting made while it is not active applies once it is).
    #[schemars(with = "String")]
    pub partnership_status: PartnershipStatus,
    /// {partner}: the partner's name.
    #[serde(
        rename = "partner_supplied",
        serialize_with = "crate::text::as_partner"
    )]
    #[schemars(with = "crate::text::PartnerName")]
    pub partner: String,
}

impl Engine {
    /// Sets what the actor's org shares of one of its populations with one partner. Needs an
    /// admin or `manage_sharing`; the partnership must exist and be online. `fields` None keeps
    /// the fields already shared (or `name`, `website` when sharing records for the first time).
    pub fn set_sharing(
        &mut self,
        actor: &Actor,
        partner: &str,
        population: &str,
        level: SharingLevel,
        fields: Option<&[String]>,
    ) -> Result<SharingView> {
        self.atomic(|e| e.set_sharing_checked(actor, partner, population, level, fields))
    }

    /// [`Self::set_sharing`], inside its write transaction (state read here is current).
    fn set_sharing_checked(
        &mut self,
        actor: &Actor,
        partner: &str,
        population: &str,
        level: SharingLevel,
        fields: Option<&[String]>,
    ) -> Result<SharingView> {
        self.require(actor, Permission::ManageSharing, "change sharing settings")?;
        let p = self.resolve_partner(actor, partner)?;
        let ps = self.require_online_partnership(&p)?;
        let pop = self.resolve_own_population(actor, population)?;
        let before = store::sharing::get(&self.conn, actor.org.id, p.org.id, pop.id)?;
        let fields = match fields {
            Some(f) => self.check_fields(&pop, f)?,
            None if before.fields.is_empty() && level >= SharingLevel::Overlaps => {
                DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect()
            }
            None => before.fields.clone(),
        };
        let after = Sharing { level, fields };
        self.write_sharing(actor, &p, &pop, &before, &after, "set_sharing")?;
        Ok(SharingView {
            partner_id: p.org.id,
            partner: p.org.name.clone(),
            population_id: pop.id,
            population: pop.name.clone(),
            level: after.level,
            fields: after.fields,
            partnership_status: ps.status,
        })
    }

    /// What the actor's org shares with one partner, for every own population (absent = `counts`).
    pub fn list_sharing(&self, actor: &Actor, partner: &str) -> Result<Vec<SharingView>> {
        let p = self.resolve_partner(actor, partner)?;
        let ps = self.require_online_partnership(&p)?;
        store::populations::of_org(&self.conn, actor.org.id)?
            .into_iter()
            .map(|pop| {
                let s = store::sharing::get(&self.conn, actor.org.id, p.org.id, pop.id)?;
                Ok(SharingView {
                    partner_id: p.org.id,
                    partner: p.org.name.clone(),
                    population_id: pop.id,
                    population: pop.name,
                    level: s.level,
                    fields: s.fields,
                    partnership_status: ps.status,
                })
            })
            .collect()
    }

    /// Writes one setting with its audit event, in one transaction. Callers have checked the
    /// permission and that `pop` belongs to the actor's org.
    pub(crate) fn write_sharing(
        &mut self,
        actor: &Actor,
        partner: &PartnerRef,
        pop: &Population,
        before: &Sharing,
        after: &Sharing,
        action: &str,
    ) -> Result<()> {
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        write_setting(&tx, &now, actor, partner.org.id, pop, before, after, action)?;
        tx.commit()?;
        Ok(())
    }

    /// Checks field names against the population's records (`name`, `website`, `domain`, every
    /// column, or `*`), case-insensitively; returns them spelled as stored, deduplicated.
    pub(crate) fn check_fields(&self, pop: &Population, fields: &[String]) -> Result<Vec<String>> {
        let mut known: Vec<String> = ["name", "website", "domain"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        known.extend(store::sharing::source_field_names(
            &self.conn,
            pop.source_id,
        )?);
        let mut out: Vec<String> = Vec::new();
        for f in fields {
            let f = f.trim();
            if f.is_empty() {
                continue;
            }
            let canon = if f == ALL_FIELDS {
                ALL_FIELDS.to_string()
            } else {
                known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(f))
                    .cloned()
                    .ok_or_else(|| {
                        invalid(format!(
                            "The population '{}' has no field '{f}'. Its fields: {} (or \"*\" for all).",
                            pop.name,
                            list_or_none(known.iter().cloned())
                        ))
                    })?
            };
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&canon)) {
                out.push(canon);
            }
        }
        Ok(out)
    }
}

/// Stores one setting and its audit event on `conn` (a transaction the caller commits).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_setting(
    conn: &Connection,
    now: &str,
    actor: &Actor,
    partner_org: i64,
    pop: &Population,
    before: &Sharing,
    after: &Sharing,
    action: &str,
) -> Result<()> {
    debug_assert_eq!(pop.org_id, actor.org.id);
    store::sharing::set(
        conn,
        actor.org.id,
        partner_org,
        pop.id,
        after,
        actor.user.id,
        now,
    )?;
    store::audit(
        conn,
        now,
        Some(actor.user.id),
        Some(actor.org.id),
        action,
        "sharing_setting",
        Some(pop.id),
        Some(&json!({"partner_org": partner_org, "population_id": pop.id,
                     "level": before.level, "fields": before.fields})),
        Some(&json!({"partner_org": partner_org, "population_id": pop.id,
                     "level": after.level, "fields": after.fields})),
    )?;
    Ok(())
}
