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
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool_handler};
use std::sync::{Arc, Mutex};
use std::time::Instant;

tokio::task_local! {
    /// The acting user of the request being handled, when the transport names one per request
    /// (remote MCP: the bearer token's user). Set around each request in the handler below.
    static REQUEST_USER: String;
}

/// The acting user a transport attaches to one HTTP request (as an `http` extension; rmcp hands
/// the request's parts to the handler). `partnermap serve`'s auth layer inserts it after
/// checking the bearer token.
#[derive(Debug, Clone)]
pub struct RequestUser(pub String);

/// The [`RequestUser`] of the HTTP request behind `context`, if any.
fn request_user(context: &RequestContext<RoleServer>) -> Option<String> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<RequestUser>())
        .map(|u| u.0.clone())
}

/// The MCP server. Cheap to clone (the engine is shared behind a mutex: `Engine` is `Send` but
/// not `Sync`).
#[derive(Clone)]
pub struct PartnermapServer {
    engine: Arc<Mutex<Engine>>,
    /// The acting user's email (`--as` / `PARTNERMAP_USER`), or the database's default user.
    user: Option<String>,
    /// The folders file tools may use (SPEC §7 "Files").
    files: AllowedFolders,
    /// Remote MCP: every request must name its user ([`RequestUser`]); never fall back to
    /// `user` or the database's default user.
    per_request_user: bool,
    /// The largest tool result sent, in bytes of JSON; a larger one becomes an `isError` result
    /// asking for a narrower call.
    result_cap: Option<usize>,
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
            per_request_user: false,
            result_cap: None,
            tool_router,
            prompt_router: Self::prompt_router(),
            instructions,
        }
    }

    /// The folders file tools may use.
    pub fn files(&self) -> &AllowedFolders {
        &self.files
    }

    /// The server for remote MCP: the acting user comes from each request ([`RequestUser`]);
    /// a request without one is refused.
    /// Its tools are those `options` choose, and its file tools use only `PARTNERMAP_FILES`
    /// (folders on the server; never the client's roots or a Downloads folder).
    pub fn per_request(engine: Arc<Mutex<Engine>>, options: &ToolsetOptions) -> Self {
        let mut tool_router = Self::tool_router();
        options.filter(&mut tool_router);
        let instructions = toolsets::instructions(options, &tool_router.list_all());
        PartnermapServer {
            engine,
            user: None,
            files: AllowedFolders::env_only(),
            per_request_user: true,
            result_cap: None,
            tool_router,
            prompt_router: Self::prompt_router(),
            instructions,
        }
    }

    /// Whether this server answers remote MCP (`partnermap serve`): the allowed folders for file
    /// paths are then only `PARTNERMAP_FILES` on the server, never the client's roots or the
    /// Downloads folder (SPEC §10).
    pub fn is_remote(&self) -> bool {
        self.per_request_user
    }

    /// Caps each tool result at `bytes` of JSON.
    pub fn with_result_cap(mut self, bytes: usize) -> Self {
        self.result_cap = Some(bytes);
        self
    }

    /// Keeps only the tools for which `keep(name)` holds (toolsets, read-only mode, file tools
    /// over the network).
    pub fn retain_tools(mut self, keep: impl Fn(&str) -> bool) -> Self {
        let drop: Vec<String> = self
            .tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .filter(|n| !keep(n))
            .collect();
        for name in drop {
            self.tool_router.remove_route(&name);
        }
        self
    }

    /// Runs `fut` with the acting user of the request behind `context` (remote MCP).
    async fn as_request_user<T>(
        &self,
        context: &RequestContext<RoleServer>,
        fut: impl Future<Output = T>,
    ) -> T {
        match request_user(context) {
            Some(u) => REQUEST_USER.scope(u, fut).await,
            None => fut.await,
        }
    }

    /// Every tool group's router, combined (every toolset), with schemas cut to standard JSON
    /// Schema. A new group file adds its router here.
    pub fn tool_router() -> ToolRouter<Self> {
        let all = Self::partners_router()
            + Self::data_router()
            + Self::sharing_router()
            + Self::score_router()
            + Self::insights_router()
            + Self::connectors_router()
            + Self::federation_router();
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
        let user = match REQUEST_USER.try_with(Clone::clone) {
            Ok(u) => Some(u),
            Err(_) if self.per_request_user => {
                return Err("this request carries no user; send a bearer token.".to_string());
            }
            Err(_) => self.user.clone(),
        };
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
impl ServerHandler for PartnermapServer {
    /// A prompt, run as the request's user (remote MCP): prompts embed the acting org's data.
    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, McpError> {
        let user_context = context.clone();
        let prompt_context = rmcp::handler::server::prompt::PromptContext::new(
            self,
            request.name,
            request.arguments,
            context,
        );
        self.as_request_user(&user_context, self.prompt_router.get_prompt(prompt_context))
            .await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, McpError> {
        let cache_hints = context
            .protocol_version()
            .is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28);
        Ok(rmcp::model::ListPromptsResult {
            result_type: Some(rmcp::model::ResultType::COMPLETE),
            prompts: self.prompt_router.list_all(),
            meta: None,
            next_cursor: None,
            ttl_ms: cache_hints.then_some(0),
            cache_scope: cache_hints.then_some(rmcp::model::CacheScope::Public),
        })
    }

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
        let started = Instant::now();
        if FILE_TOOLS.contains(&request.name.as_ref()) && !self.per_request_user {
            // The client's roots are folders on its machine: only a local (stdio) client's count.
            self.files.refresh(&context.peer).await;
        }
        // For the log line only: the request's user (remote), else the stdio server's `--as`.
        let user = request_user(&context).or_else(|| self.user.clone());
        let tool = request.name.to_string();
        let mut result = self
            .as_request_user(&context.clone(), self.call_tool_inner(request, context))
            .await;
        if let (Some(cap), Ok(CallToolResponse::Complete(r))) = (self.result_cap, &result) {
            let size = serde_json::to_vec(r).map_or(0, |v| v.len());
            if size > cap {
                result = Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "the result is {size} bytes, more than this server sends ({cap}); ask for less: a smaller limit, a filter, or fewer columns."
                ))])
                .into());
            }
        }
        // One line per call: who, what, how long, how it ended; never the arguments.
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => "tool_error",
            Ok(_) => "ok",
            Err(_) => "rpc_error",
        };
        tracing::info!(
            target: "partnermap::calls",
            user = %user.as_deref().unwrap_or("-"),
            tool = %render::clean_error(&tool),
            duration_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            outcome = %outcome,
            "tool call"
        );
        result
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.as_request_user(&context, self.resources_list()).await
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
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.as_request_user(&context, self.resource_read(&request.uri))
            .await
            .map(Into::into)
    }
}

impl PartnermapServer {
    async fn call_tool_inner(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
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
}
