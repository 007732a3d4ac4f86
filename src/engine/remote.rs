//! Remote partners (FEDERATION.md) as the engine sees them: a partner org that lives on another
//! instance, whose released data is stored here. The gate is the same; only the overlap count
//! of a cell the partner shows at `counts` comes from PSI cardinality instead of a merge (the
//! records behind it never left the partner's instance).

use super::Engine;
use super::access::{PartnerRef, VisiblePopulation};
use crate::error::Result;
use crate::matching::PopKeys;
use crate::model::SharingLevel;
use crate::store;
use serde::Serialize;

// How a remote partnership stands: shown by list_partners and get_partner.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct RemoteStatus {
    /// The partner instance's pinned ID (SHA-256 of its certificate's public key, base32).
    pub instance_id: String,
    /// Where this instance reaches it; null when it connects to you.
    #[serde(serialize_with = "crate::shape::as_clean_opt")]
    pub url: Option<String>,
    /// When the last exchange with it succeeded (RFC 3339); null if never.
    pub last_sync: Option<String>,
    /// Messages queued for it and not yet acknowledged.
    pub pending_messages: i64,
    /// Whether the last attempt to reach it succeeded; null if never tried.
    pub reachable: Option<bool>,
    /// Why the last attempt failed.
    #[serde(serialize_with = "crate::shape::as_clean_opt")]
    pub last_error: Option<String>,
}

impl Engine {
    /// The remote status of a partner org, if it lives on another instance.
    pub fn remote_status(&self, org: i64) -> Result<Option<RemoteStatus>> {
        let Some(l) = store::federation::link_of_remote_org(&self.conn, org)? else {
            return Ok(None);
        };
        let id = crate::federation::identity::InstanceId::from_slice(&l.remote_instance)
            .map(|i| i.display())
            .unwrap_or_default();
        Ok(Some(RemoteStatus {
            instance_id: id,
            url: l.remote_url.filter(|u| !u.is_empty()),
            last_sync: l.last_sync,
            pending_messages: store::federation::pending_count(&self.conn, l.id)?,
            reachable: l.last_attempt.as_ref().map(|_| l.last_error.is_none()),
            last_error: l.last_error,
        }))
    }

    /// The overlap count for a cell where the partner is remote and shows the population at
    /// `counts`: the PSI cardinality received (0 until the first exchange). None otherwise.
    pub(crate) fn remote_cell_count(
        &self,
        partner: &PartnerRef,
        my_pop: i64,
        vis: &VisiblePopulation,
    ) -> Result<Option<usize>> {
        if vis.sharing.level != SharingLevel::Counts
            || store::federation::link_of_remote_org(&self.conn, partner.org.id)?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(
            store::federation::cell_count(&self.conn, my_pop, vis.population.id)?.unwrap_or(0)
                as usize,
        ))
    }

    /// A cell's overlap count: the merge of the key vectors, or the remote PSI count.
    pub(crate) fn cell_overlap_count(
        &self,
        partner: &PartnerRef,
        my_pop: i64,
        my_keys: &PopKeys,
        vis: &VisiblePopulation,
        their_keys: &PopKeys,
    ) -> Result<usize> {
        Ok(match self.remote_cell_count(partner, my_pop, vis)? {
            Some(n) => n,
            None => my_keys.overlap_count(their_keys),
        })
    }
}
