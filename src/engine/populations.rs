//! Populations: standard and custom sets of an org's records, materialized as key vectors.

use super::Engine;
use super::access::{Pick, VisiblePopulation, list_or_none, pick};
use super::filters::Filter;
use crate::error::{Result, conflict, forbidden, invalid, not_found};
use crate::matching::{Member, PopKeys};
use crate::model::{Actor, DataSource, Permission, Population, PopulationType, SharingLevel};
use crate::store;
use crate::text::Supplied;
use rayon::prelude::*;
use rusqlite::Connection;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct NewPopulation {
    pub name: String,
    pub pop_type: PopulationType,
    /// Data source id or name; may be omitted when the org has exactly one source.
    pub data_source: Option<String>,
    pub filters: serde_json::Value,
    /// An offline partner of the actor's org, to define the population on its data.
    pub partner: Option<String>,
}

/// A population: the acting org's own (its `name` outside), or a partner's one the partner lets
/// it see (its name and shared fields under `partner_supplied`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PopulationSummary {
    pub id: i64,
    /// Your population's name (a partner's is under partner_supplied).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_clean_opt"
    )]
    pub name: Option<String>,
    /// prospects, customers, open_opportunities or custom.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub pop_type: PopulationType,
    pub record_count: i64,
    /// For a partner's population: the level it is shared with you at (counts, overlaps, full).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub sharing_level: Option<SharingLevel>,
    #[serde(rename = "partner_supplied", skip_serializing_if = "Option::is_none")]
    pub theirs: Option<PopulationText>,
}

/// A partner's population name and the fields it shares with you (`*` = all).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PopulationText {
    pub name: Supplied,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_fields: Vec<Supplied>,
}

impl PopulationSummary {
    pub(crate) fn own(p: &Population) -> Self {
        PopulationSummary {
            id: p.id,
            name: Some(p.name.clone()),
            pop_type: p.pop_type,
            record_count: p.record_count,
            sharing_level: None,
            theirs: None,
        }
    }

    /// A partner's population as the actor sees it.
    pub(crate) fn theirs(v: &VisiblePopulation) -> Self {
        PopulationSummary {
            id: v.population.id,
            name: None,
            pop_type: v.population.pop_type,
            record_count: v.population.record_count,
            sharing_level: Some(v.sharing.level),
            theirs: Some(PopulationText {
                name: Supplied::new(v.population.name.clone()),
                shared_fields: crate::text::supplied_all(&v.sharing.fields),
            }),
        }
    }

    /// The population's name (its owner's words).
    pub fn name(&self) -> &str {
        match (&self.name, &self.theirs) {
            (Some(n), _) => n,
            (None, Some(t)) => &t.name.0,
            (None, None) => "",
        }
    }

    /// For a partner's population: the fields it shares with the actor (`*` = all).
    pub fn shared_fields(&self) -> Option<Vec<String>> {
        self.theirs
            .as_ref()
            .map(|t| t.shared_fields.iter().map(|f| f.0.clone()).collect())
    }
}

impl Engine {
    /// The actor's populations, or a partner's populations visible to the actor.
    pub fn list_populations(
        &self,
        actor: &Actor,
        partner: Option<&str>,
    ) -> Result<Vec<PopulationSummary>> {
        match partner {
            None => Ok(store::populations::of_org(&self.conn, actor.org.id)?
                .iter()
                .map(PopulationSummary::own)
                .collect()),
            Some(p) => {
                let partner = self.resolve_partner(actor, p)?;
                Ok(self
                    .visible_populations(actor, &partner)?
                    .into_iter()
                    .map(|v| PopulationSummary::theirs(&v))
                    .collect())
            }
        }
    }

    /// Creates a population on one of the actor's data sources (or an offline partner's),
    /// within the plan's custom-population allowance, and materializes it.
    pub fn create_population(
        &mut self,
        actor: &Actor,
        spec: &NewPopulation,
    ) -> Result<PopulationSummary> {
        self.atomic(|e| e.create_population_checked(actor, spec))
    }

    /// [`Self::create_population`], inside its write transaction (state read here is current).
    fn create_population_checked(
        &mut self,
        actor: &Actor,
        spec: &NewPopulation,
    ) -> Result<PopulationSummary> {
        self.require(actor, Permission::ManageDataSources, "create populations")?;
        let name = spec.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("A population needs a name of 1 to 100 characters."));
        }
        let owner = match &spec.partner {
            None => actor.org.clone(),
            Some(p) => {
                let partner = self.resolve_partner(actor, p)?;
                if !partner.is_offline() {
                    return Err(forbidden(format!(
                        "{} manages its own populations; you can define populations only for offline partners you manage.",
                        partner.org.name
                    )));
                }
                if spec.pop_type == PopulationType::Custom {
                    return Err(invalid(
                        "Offline partners have standard populations only (prospects, customers, open_opportunities).",
                    ));
                }
                partner.org
            }
        };
        if spec.pop_type == PopulationType::Custom {
            let limits = self.plan_limits(actor.org.plan)?;
            if let Some(max) = limits.max_custom_populations {
                let used = store::populations::count_custom(&self.conn, owner.id)?;
                if used >= max {
                    return Err(forbidden(format!(
                        "The {} plan allows {max} custom population{}; {} has {used}. Upgrade the plan or use a standard population.",
                        actor.org.plan,
                        if max == 1 { "" } else { "s" },
                        actor.org.name
                    )));
                }
            }
        }
        let sources = store::records::sources_of(&self.conn, owner.id)?;
        let source: DataSource = match &spec.data_source {
            Some(s) => match pick(&sources, s.trim(), |d| (d.id, d.name.as_str(), None)) {
                Pick::One(d) => d.clone(),
                _ => {
                    return Err(not_found(format!(
                        "{} has no data source '{}'. Its data sources: {}.",
                        owner.name,
                        s.trim(),
                        list_or_none(sources.iter().map(|d| d.name.clone()))
                    )));
                }
            },
            None if sources.len() == 1 => sources[0].clone(),
            None => {
                return Err(invalid(format!(
                    "Name the data source for the population. {} has: {}.",
                    owner.name,
                    list_or_none(sources.iter().map(|d| d.name.clone()))
                )));
            }
        };
        let filter = Filter::parse(&spec.filters)?;
        let mut known: Vec<String> = ["name", "website", "domain"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        known.extend(store::sharing::source_field_names(&self.conn, source.id)?);
        if let Some(f) = filter
            .fields()
            .into_iter()
            .find(|f| !known.iter().any(|k| k.eq_ignore_ascii_case(f)))
        {
            return Err(invalid(format!(
                "The data source '{}' has no field '{f}' to filter on. Its fields: {}.",
                source.name,
                known.join(", ")
            )));
        }
        let existing = store::populations::of_org(&self.conn, owner.id)?;
        if existing.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(conflict(format!(
                "{} already has a population named '{name}'.",
                owner.name
            )));
        }
        if owner.is_offline() && existing.iter().any(|p| p.pop_type == spec.pop_type) {
            return Err(conflict(format!(
                "{} already has its {} population.",
                owner.name, spec.pop_type
            )));
        }
        let filters_json = match &spec.filters {
            serde_json::Value::Null => serde_json::json!([]),
            v => v.clone(),
        };
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let id = store::populations::insert(
            &tx,
            owner.id,
            name,
            spec.pop_type,
            source.id,
            &filters_json,
            &now,
        )?;
        let pop = store::populations::get(&tx, id)?.expect("just inserted");
        materialize(&tx, &pop, &filter)?;
        let pop = store::populations::get(&tx, id)?.expect("just inserted");
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "create_population",
            "population",
            Some(id),
            None,
            Some(&serde_json::to_value(&pop).unwrap_or_default()),
        )?;
        tx.commit()?;
        Ok(PopulationSummary::own(&pop))
    }

    /// The key vector of a population, from the process cache when its version is current.
    /// Callers must have passed the privacy gate for this population.
    pub(crate) fn pop_keys(&self, population_id: i64) -> Result<Arc<PopKeys>> {
        let version = store::populations::version(&self.conn, population_id)?
            .ok_or_else(|| not_found("That population no longer exists."))?;
        if let Some((v, keys)) = self.keys_cache.borrow().get(&population_id)
            && *v == version
        {
            return Ok(keys.clone());
        }
        let (version, keys) = store::populations::members(&self.conn, population_id)?
            .ok_or_else(|| not_found("That population no longer exists."))?;
        let keys = Arc::new(keys);
        self.keys_cache
            .borrow_mut()
            .insert(population_id, (version, keys.clone()));
        Ok(keys)
    }
}

/// Records per parallel chunk when evaluating filters.
const CHUNK: usize = 16_384;

/// Recomputes the members of every population on `source` (after an import).
pub(crate) fn refresh_source(conn: &Connection, source: i64) -> Result<()> {
    for pop in store::populations::of_source(conn, source)? {
        let filter = Filter::parse(&pop.filters)?;
        materialize(conn, &pop, &filter)?;
    }
    Ok(())
}

/// After the key migration (SPEC §2 rewritten): re-materializes every population once, in one
/// transaction, and clears the flag the migration set.
pub(crate) fn refresh_if_stale(conn: &mut Connection) -> Result<()> {
    if store::meta_get(conn, "populations_stale")?.as_deref() != Some("1") {
        return Ok(());
    }
    let tx = store::write_tx(conn)?;
    if store::meta_get(&tx, "populations_stale")?.as_deref() == Some("1") {
        let sources: Vec<i64> = tx
            .prepare("SELECT DISTINCT source_id FROM populations ORDER BY source_id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for s in sources {
            refresh_source(&tx, s)?;
        }
        store::meta_set(&tx, "populations_stale", "0")?;
    }
    tx.commit()?;
    Ok(())
}

/// Evaluates the population's filters over its source's columns and stores the key vector:
/// the source's own, restricted to the records the filter selects.
fn materialize(conn: &Connection, pop: &Population, filter: &Filter) -> Result<()> {
    if let Some((first, n, all)) = super::columns::source_keys(conn, pop.source_id)? {
        let keys = if filter.is_empty() {
            all
        } else {
            let selected = super::columns::select(conn, pop.source_id, filter, n)?;
            all.restrict(|id| {
                usize::try_from(id - first)
                    .ok()
                    .and_then(|i| selected.get(i).copied())
                    .unwrap_or(false)
            })
        };
        store::populations::store_members(conn, pop.id, &keys)?;
        return Ok(());
    }
    // No side tables (record ids not contiguous): read the records and their fields.
    let mut v = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<crate::model::Record>, v: &mut Vec<Member>| {
        v.par_extend(chunk.par_drain(..).filter_map(|r| {
            filter.matches(&r).then_some(Member {
                record_id: r.id,
                domain: r.domain_fp,
                name: r.name_fp,
            })
        }));
    };
    store::records::for_each_in_source(conn, pop.source_id, |r| {
        chunk.push(r);
        if chunk.len() == CHUNK {
            flush(&mut chunk, &mut v);
        }
    })?;
    flush(&mut chunk, &mut v);
    store::populations::store_members(conn, pop.id, &PopKeys::new(v))?;
    Ok(())
}
