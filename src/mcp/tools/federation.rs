//! Partnerships across instances over MCP: sync_partner.

use crate::federation::ops;
use crate::mcp::PartnermapServer;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SyncIn {
    /// The partner to exchange with (id or name); empty: every partner on another instance.
    #[serde(default)]
    pub partner: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncOut {
    pub results: Vec<ops::SyncOutcome>,
}

#[tool_router(router = federation_router, vis = "pub(crate)")]
impl PartnermapServer {
    #[tool(
        description = "Exchanges now with a partner on another partnermap instance (or with all of them when `partner` is empty): delivers what is queued for it (your sharing changes, your counts queries, answers to its queries) and collects what it queued for you, over mutual TLS. Overlaps, reports and scores for that partner reflect the result. Partners in this database need no sync. Needs no special permission.",
        annotations(
            title = "Sync partner",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn sync_partner(
        &self,
        Parameters(args): Parameters<SyncIn>,
    ) -> Result<Json<SyncOut>, String> {
        let partner = crate::mcp::tools::opt_text(args.partner);
        let results = self
            .call(move |e, a| ops::sync(e, a, partner.as_deref()))
            .await?;
        Ok(Json(SyncOut { results }))
    }
}
