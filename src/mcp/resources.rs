//! Resources: `partnermap://partners` (the partner list), `partnermap://partners/{id}` (one
//! partner in one document: detail, overlap matrix and score, which take three tool calls) and
//! `partnermap://partners/{id}/overlaps` (the overlap matrix with it), as compact JSON. Same
//! engine calls and rendering (and `partner_supplied` marking) as the tools.

use super::PartnermapServer;
use super::render;
use super::tools::data::GetOverlapsIn;
use super::tools::partners::PartnerIn;
use super::tools::score::PartnerScoreIn;
use rmcp::ErrorData as McpError;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use serde_json::json;

pub const PARTNERS_URI: &str = "partnermap://partners";
pub const PARTNER_TEMPLATE: &str = "partnermap://partners/{id}";
pub const OVERLAPS_TEMPLATE: &str = "partnermap://partners/{id}/overlaps";
const JSON_MIME: &str = "application/json";
/// Most partners listed as individual resources (all remain readable through the template).
const MAX_LISTED: usize = 100;
/// Most partners in the `partnermap://partners` document.
const MAX_IN_INDEX: usize = 1_000;

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(PARTNER_TEMPLATE, "partner")
            .with_title("One partner")
            .with_description(
                "A partner by id in one document: status, populations you can see, what each side shares, the overlap matrix (overlaps) and its Partner Score (score).",
            )
            .with_mime_type(JSON_MIME),
        ResourceTemplate::new(OVERLAPS_TEMPLATE, "partner-overlaps")
            .with_title("Overlaps with one partner")
            .with_description(
                "The overlap matrix with a partner by id: for each of your populations and each of its populations you may see, the overlap count (as get_overlaps, first 200 cells).",
            )
            .with_mime_type(JSON_MIME),
    ]
}

fn not_found(uri: &str, msg: String) -> McpError {
    McpError::resource_not_found(msg, Some(json!({ "uri": uri })))
}

impl PartnermapServer {
    pub(crate) async fn resources_list(&self) -> Result<ListResourcesResult, McpError> {
        let mut resources = vec![
            Resource::new(PARTNERS_URI, "partners")
                .with_title("Your partners")
                .with_description("Every partner of your organization with its status.")
                .with_mime_type(JSON_MIME),
        ];
        // Without an acting user there is nothing more to list; reading will explain why.
        if let Ok(partners) = self.call(|e, a| e.list_partners(a, None)).await {
            for p in partners.into_iter().take(MAX_LISTED) {
                resources.push(
                    Resource::new(
                        format!("{PARTNERS_URI}/{}", p.id),
                        format!("partner-{}", p.id),
                    )
                    .with_title(render::clean(p.name()))
                    .with_description(format!("Partner ({}).", p.status))
                    .with_mime_type(JSON_MIME),
                );
            }
        }
        resources.extend(super::views::resources());
        Ok(ListResourcesResult::with_all_items(resources))
    }

    pub(crate) async fn resource_read(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        if let Some(view) = super::views::read(uri) {
            return Ok(view);
        }
        let value = if uri == PARTNERS_URI {
            let partners = self
                .call(|e, a| e.list_partners(a, None))
                .await
                .map_err(|m| not_found(uri, m))?;
            let total = partners.len();
            let (partners, truncated) = render::cap(partners, MAX_IN_INDEX);
            json!({
                "partners": partners,
                "total": total,
                "truncated": truncated,
            })
        } else if let Some(id) = uri
            .strip_prefix(PARTNERS_URI)
            .and_then(|r| r.strip_prefix('/'))
        {
            let (id, overlaps) = match id.strip_suffix("/overlaps") {
                Some(id) => (id, true),
                None => (id, false),
            };
            if id.is_empty() || id.parse::<i64>().is_err() {
                return Err(not_found(
                    uri,
                    format!(
                        "'{}' is not a partner id; use {PARTNER_TEMPLATE} with an id from {PARTNERS_URI}.",
                        render::clean(id)
                    ),
                ));
            }
            if overlaps {
                let cells = self
                    .get_overlaps(Parameters(GetOverlapsIn {
                        partner: id.to_string(),
                        cursor: String::new(),
                        limit: render::MAX_PAGE,
                    }))
                    .await
                    .map_err(|m| not_found(uri, m))?;
                serde_json::to_value(cells.0)
            } else {
                // One document with what the tools give in three calls: the partner, the
                // overlap matrix and the score (each left out when the partnership has none).
                let detail = self
                    .get_partner(Parameters(PartnerIn {
                        partner: id.to_string(),
                    }))
                    .await
                    .map_err(|m| not_found(uri, m))?;
                let mut v = serde_json::to_value(detail.0)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                if let Ok(o) = self
                    .get_overlaps(Parameters(GetOverlapsIn {
                        partner: id.to_string(),
                        cursor: String::new(),
                        limit: render::MAX_PAGE,
                    }))
                    .await
                {
                    v["overlaps"] = serde_json::to_value(&o.0.list.cells).unwrap_or_default();
                }
                if let Ok(s) = self
                    .partner_score(Parameters(PartnerScoreIn {
                        partner: id.to_string(),
                        as_of: String::new(),
                    }))
                    .await
                {
                    v["score"] = serde_json::to_value(&s.0).unwrap_or_default();
                    if let Some(m) = v["score"].as_object_mut() {
                        // the partner is the document's subject already
                        m.remove("partner");
                        m.remove("offline");
                    }
                }
                Ok(v)
            }
            .map_err(|e| McpError::internal_error(e.to_string(), None))?
        } else {
            return Err(not_found(
                uri,
                format!(
                    "No resource '{}'. Resources: {PARTNERS_URI}, {PARTNER_TEMPLATE}, {OVERLAPS_TEMPLATE} and the ui://partnermap/ views in resources/list.",
                    render::clean(uri)
                ),
            ));
        };
        let text = serde_json::to_string(&value)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type(JSON_MIME),
        ]))
    }
}
