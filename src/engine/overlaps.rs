//! The overlap matrix (SPEC §3): rows = the actor's populations, columns = the partner's
//! populations visible to the actor; each cell counts distinct records of the actor.

use super::Engine;
use crate::error::Result;
use crate::model::Actor;
use crate::store;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PopRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverlapCell {
    pub my_population: PopRef,
    pub partner_population: PopRef,
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
