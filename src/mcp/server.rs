//! The server: shared engine, acting user, tool and prompt routers, server info and resources.

use super::files::{AllowedFolders, FILE_TOOLS};
use super::render;
use super::toolsets::{self, ToolsetOptions};
use crate::Engine;
use crate::Result as EngineResult;
use crate::model::Actor;
use rmcp::handler::server::router::{prompt::PromptRouter, tool::ToolRouter};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, prompt_handler, tool_handler};
use std::sync::{Arc, Mutex};

/// The MCP server. Cheap to clone (the engine is shared behind a mutex: `Engine` is `Send` but
/// not `Sync`).
#[derive(Clone)]
pub struct PartnermapServer {
    engine: Arc<Mutex<Engine>>,
    /// The acting user's email (`--as` / `PARTNERMAP_USER`), or the database's default user.
    user: Option<String>,
    /// The folders file tools may use (SPEC §7 "Files").
    files: AllowedFolders,
    tool_router: ToolRouter<PartnermapServer>,
    prompt_router: PromptRouter<PartnermapServer>,
    /// Generated from the served tools and their toolsets.
    instructions: String,
}

impl PartnermapServer {
    /// The stdio server with the default toolsets: files inside the client's roots,
    /// `PARTNERMAP_FILES`, else Downloads.
    pub fn new(engine: Engine, user: Option<String>) -> Self {
        Self::with_options(engine, user, &ToolsetOptions::default())
    }

    /// The stdio server offering the tools `options` choose (toolsets, read-only mode).
    pub fn with_options(engine: Engine, user: Option<String>, options: &ToolsetOptions) -> Self {
        Self::with_files(engine, user, options, AllowedFolders::from_env())
    }

    /// A server offering the tools `options` choose, whose file tools use `files` (e.g.
    /// [`AllowedFolders::env_only`] for a remote server: only `PARTNERMAP_FILES`, no client
    /// roots).
    pub fn with_files(
        engine: Engine,
        user: Option<String>,
        options: &ToolsetOptions,
        files: AllowedFolders,
    ) -> Self {
        let mut tool_router = Self::tool_router();
        options.filter(&mut tool_router);
        let instructions = toolsets::instructions(options, &tool_router.list_all());
        PartnermapServer {
            engine: Arc::new(Mutex::new(engine)),
            user,
            files,
            tool_router,
            prompt_router: Self::prompt_router(),
            instructions,
        }
    }

    /// The folders file tools may use.
    pub fn files(&self) -> &AllowedFolders {
        &self.files
    }

    /// Every tool group's router, combined (every toolset), with schemas cut to standard JSON
    /// Schema. A new group file adds its router here.
    pub fn tool_router() -> ToolRouter<Self> {
        let all = Self::partners_router()
            + Self::data_router()
            + Self::sharing_router()
            + Self::score_router()
            + Self::insights_router()
            + Self::connectors_router();
        let mut out = ToolRouter::new();
        for mut route in all {
            route.attr.input_schema = Arc::new(render::standard_schema(&route.attr.input_schema));
            if let Some(o) = &route.attr.output_schema {
                let o = render::standard_schema(o);
                // A tool whose output can carry another organization's text says so.
                if serde_json::Value::Object(o.clone())
                    .to_string()
                    .contains("\"partner_supplied\"")
                    && let Some(d) = &route.attr.description
                {
                    route.attr.description =
                        Some(format!("{d} {}", toolsets::PARTNER_SUPPLIED_NOTE).into());
                }
                route.attr.output_schema = Some(Arc::new(o));
            }
            out.add_route(route);
        }
        super::views::attach(&mut out);
        out
    }

    /// Runs one engine operation as the acting user, off the async runtime (imports and
    /// overlap counts are CPU and disk work). The actor is resolved afresh on every call.
    /// Engine errors come back as the sentence to show the model.
    /// Runs a read-only engine operation in one read transaction: one consistent snapshot of
    /// the database, and one lock instead of one per statement.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&Engine, &Actor) -> EngineResult<T> + Send + 'static,
    {
        self.call(move |engine, actor| engine.snapshot(|e| f(e, actor)))
            .await
    }

    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &Actor) -> EngineResult<T> + Send + 'static,
    {
        let engine = self.engine.clone();
        let user = self.user.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in an earlier call rolled its transaction back; the engine is still usable.
            let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
            let actor = engine.actor(user.as_deref())?;
            f(&mut engine, &actor)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "tool task failed");
            "partnermap hit an internal error running this tool; try again.".to_string()
        })?
        .map_err(render::error)
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for PartnermapServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("partnermap", env!("CARGO_PKG_VERSION"))
                .with_title("partnermap: partner ecosystem and account mapping"),
        )
        .with_instructions(self.instructions.clone())
    }

    /// The router's call, with every error sentence made safe: rmcp's own argument errors
    /// ("failed to deserialize parameters: invalid type: string \"...\"") and unknown-tool errors
    /// quote what the caller sent, which may be 100 KB long or carry control characters.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if FILE_TOOLS.contains(&request.name.as_ref()) {
            self.files.refresh(&context.peer).await;
        }
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        match self.tool_router.call(tcc).await {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => {
                let content = r
                    .content
                    .iter()
                    .map(|c| match c.as_text() {
                        Some(t) => ContentBlock::text(render::clean_error(&t.text)),
                        None => c.clone(),
                    })
                    .collect();
                Ok(CallToolResult::error(content).into())
            }
            Ok(other) => Ok(other),
            Err(mut e) => {
                e.message = render::clean_error(&e.message).into();
                Err(e)
            }
        }
    }

    async fn on_roots_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<RoleServer>,
    ) {
        self.files.roots_changed();
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.resources_list().await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            super::resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.resource_read(&request.uri).await.map(Into::into)
    }
}
