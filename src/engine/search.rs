//! Search over what the actor may see: its partners (by name or domain) and its own accounts.

use super::Engine;
use crate::error::{Result, invalid};
use crate::model::{Actor, Record};
use crate::store;
use serde::Serialize;

use super::partnerships::PartnerSummary;

#[derive(Debug, Clone, Serialize)]
pub struct AccountHit {
    pub id: i64,
    pub name: String,
    pub website: String,
    pub domain: Option<String>,
    pub data_source_id: i64,
}

impl From<Record> for AccountHit {
    fn from(r: Record) -> Self {
        AccountHit {
            id: r.id,
            domain: r
                .key_text
                .clone()
                .filter(|_| r.key_kind == Some(crate::matching::KeyKind::Domain)),
            name: r.name,
            website: r.website,
            data_source_id: r.source_id,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub partners: Vec<PartnerSummary>,
    pub accounts: Vec<AccountHit>,
    /// Whether more accounts matched than are listed.
    pub accounts_truncated: bool,
}

/// The longest search text (a name or a domain is far shorter).
pub const MAX_QUERY: usize = 200;

impl Engine {
    /// Partners and own accounts whose name, domain or website contains `query`.
    pub fn search(&self, actor: &Actor, query: &str, limit: usize) -> Result<SearchResult> {
        let q = query.trim();
        if q.is_empty() {
            return Err(invalid("Give a search text: a company name or domain."));
        }
        if q.chars().count() > MAX_QUERY {
            return Err(invalid(format!(
                "The search text is {} characters long; search for a company name or domain of at most {MAX_QUERY} characters.",
                q.chars().count()
            )));
        }
        let lower = q.to_lowercase();
        let partners = self
            .list_partners(actor, None)?
            .into_iter()
            .filter(|p| {
                p.name.to_lowercase().contains(&lower)
                    || p.domain.as_deref().is_some_and(|d| d.contains(&lower))
            })
            .collect();
        let limit = limit.clamp(1, 200);
        let mut accounts: Vec<AccountHit> =
            store::records::search_own(&self.conn, actor.org.id, q, limit + 1)?
                .into_iter()
                .map(AccountHit::from)
                .collect();
        let accounts_truncated = accounts.len() > limit;
        accounts.truncate(limit);
        Ok(SearchResult {
            partners,
            accounts,
            accounts_truncated,
        })
    }
}
