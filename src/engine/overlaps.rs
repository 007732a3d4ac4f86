//! The overlap matrix (SPEC §3): rows = the actor's populations, columns = the partner's
//! populations visible to the actor; each cell counts distinct records of the actor.

use super::Engine;
use crate::error::Result;
use crate::model::Actor;
use crate::store;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

// A population by id and name: the actor's own (name cleaned), or a partner's (serialized as a
// `Ref`, its name partner-supplied).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct PopRef {
    pub id: i64,
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub name: String,
}

impl crate::text::Named for PopRef {
    fn id(&self) -> i64 {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct OverlapCell {
    /// Your population (the matrix row).
    pub my_population: PopRef,
    /// The partner's population (the matrix column): {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner_population: PopRef,
    /// Distinct records of yours in `my_population` that match a record of the partner's population (same registrable domain, or same normalized name when there is no domain).
    pub overlap_count: usize,
}

impl Engine {
    /// The overlap matrix with one partner. Fails unless the partnership is active.
    pub fn overlaps(&self, actor: &Actor, partner: &str) -> Result<Vec<OverlapCell>> {
        let partner = self.resolve_partner(actor, partner)?;
        let theirs = self.visible_populations(actor, &partner)?;
        let mine = store::populations::of_org(&self.conn, actor.org.id)?;
        let my_keys = mine
            .iter()
            .map(|p| self.pop_keys(p.id))
            .collect::<Result<Vec<_>>>()?;
        let their_keys = theirs
            .iter()
            .map(|v| self.pop_keys(v.population.id))
            .collect::<Result<Vec<_>>>()?;
        let pairs: Vec<(usize, usize)> = (0..mine.len())
            .flat_map(|i| (0..theirs.len()).map(move |j| (i, j)))
            .collect();
        let mut counts: Vec<usize> = pairs
            .par_iter()
            .map(|&(i, j)| my_keys[i].overlap_count(&their_keys[j]))
            .collect();
        // A remote partner's `counts` populations: the PSI cardinality it gave.
        for (c, &(i, j)) in counts.iter_mut().zip(&pairs) {
            if let Some(n) = self.remote_cell_count(&partner, mine[i].id, &theirs[j])? {
                *c = n;
            }
        }
        Ok(pairs
            .iter()
            .zip(counts)
            .map(|(&(i, j), overlap_count)| OverlapCell {
                my_population: PopRef {
                    id: mine[i].id,
                    name: mine[i].name.clone(),
                },
                partner_population: PopRef {
                    id: theirs[j].population.id,
                    name: theirs[j].population.name.clone(),
                },
                overlap_count,
            })
            .collect())
    }
}
