//! Search over what the actor may see: its partners (by name or domain) and its own accounts.

use super::Engine;
use crate::error::{Result, invalid};
use crate::matching::{KeyKind, domain_key, name_key};
use crate::model::{Actor, Record};
use crate::shape;
use crate::store;
use serde::Serialize;

use super::partnerships::PartnerSummary;
use super::recommendations::AccountRef;

// One of your accounts, and the data source it is in.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct AccountHit {
    #[serde(flatten)]
    pub account: AccountRef,
    pub data_source_id: i64,
}

impl From<Record> for AccountHit {
    fn from(r: Record) -> Self {
        AccountHit {
            account: AccountRef::of(&r),
            data_source_id: r.source_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SearchResult {
    /// Partners whose name or domain contains the query.
    #[serde(serialize_with = "shape::as_first")]
    pub partners: Vec<PartnerSummary>,
    /// Your own accounts whose name, website or domain contains the query.
    pub accounts: Vec<AccountHit>,
    /// More accounts matched than are listed (raise `limit` or refine the query).
    #[serde(skip_serializing_if = "shape::is_false")]
    pub accounts_truncated: bool,
}

/// The longest search text (a name or a domain is far shorter).
pub const MAX_QUERY: usize = 200;

impl Engine {
    /// Partners whose name or domain contains `query`; own accounts with that domain or company
    /// name (by key, through the indexes), else whose name, domain or website contains it.
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
                p.name().to_lowercase().contains(&lower)
                    || p.domain().is_some_and(|d| d.contains(&lower))
            })
            .collect();
        let limit = limit.clamp(1, 200);
        // A domain or a company name finds its records through the key indexes; only a text
        // that is neither (a fragment) falls back to a substring scan.
        let mut found: Vec<Record> = Vec::new();
        let domain_shaped = domain_key(q).is_some() && q.contains('.') && !q.contains(' ');
        if let Some(d) = domain_key(q).filter(|_| q.contains('.')) {
            let fp = self.keyer.fingerprint(KeyKind::Domain, &d);
            found.extend(
                store::records::by_domain_fp(&self.conn, actor.org.id, fp, limit + 1)?
                    .into_iter()
                    .filter(|r| r.domain_key.as_deref() == Some(&d)),
            );
        }
        if found.is_empty()
            && !domain_shaped
            && let Some(n) = name_key(q)
        {
            let fp = self.keyer.fingerprint(KeyKind::Name, &n);
            found.extend(
                store::records::by_name_fp(&self.conn, actor.org.id, fp, limit + 1)?
                    .into_iter()
                    .filter(|r| r.name_key.as_deref() == Some(&n)),
            );
            found.sort_by_key(|r| r.name.to_lowercase());
        }
        // A domain that no record carries is an answer (none): no scan for it.
        if found.is_empty() && !domain_shaped {
            found = store::records::search_own(&self.conn, actor.org.id, q, limit + 1)?;
        }
        let mut accounts: Vec<AccountHit> = found.into_iter().map(AccountHit::from).collect();
        let accounts_truncated = accounts.len() > limit;
        accounts.truncate(limit);
        Ok(SearchResult {
            partners,
            accounts,
            accounts_truncated,
        })
    }
}
