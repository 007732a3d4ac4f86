//! The MCP server (SPEC §7): the engine served to AI assistants over stdio with rmcp.
//!
//! The layer is thin: each tool parses its arguments, calls one engine operation as the acting
//! user (re-resolved on every call, so role and plan changes apply at once), and renders the
//! result. No SQL and no permission logic live here; the engine's errors become `isError`
//! results carrying the engine's sentence ([`render::error`]).
//!
//! # Adding a tool
//! 1. Pick (or create) the tool-group file under `src/mcp/tools/` (e.g. `sharing.rs`). A group is
//!    one `#[tool_router(router = NAME, vis = "pub(crate)")] impl PartnermapServer` block; a new
//!    group is added to [`server::PartnermapServer::tool_router`] with `+`.
//! 2. Write the input struct (`Deserialize + JsonSchema`, flat: `#[serde(default)]` plain types
//!    rather than `Option<T>`, `#[schemars(inline)]` on nested types, doc comments on fields for
//!    the model) and the output struct (`Serialize + JsonSchema`, always an object: wrap lists).
//! 3. Write the fn: `#[tool(description = "...", annotations(...))]`, body
//!    `self.call(move |engine, actor| engine.op(actor, ...)).await` then map to the output,
//!    lists through [`render::page`] (with `cursor`/`limit` inputs, `render::limit_in` refusing
//!    0) or [`render::cap`] (with a count of what was left out).
//! 4. Outputs are written for a context window (SPEC §7): `skip_serializing_if` on every
//!    optional, empty or default field; numbers through `render::pct` / `money` / `sig3`; a
//!    summary (totals) beside every list. Text another organization wrote is a
//!    [`render::Supplied`] inside the object's `partner_supplied` member, under the field name
//!    it would otherwise have (`render::Ref` for a partner by id); the tool's description then
//!    gets the partner-supplied sentence automatically.
//!    A tool that takes a file path checks it with `self.files().check_read(..)` /
//!    `check_write(..)` (the allowed folders, [`files`]) and is listed in [`files::FILE_TOOLS`].
//! 5. A tool whose result is better looked at than read gets a view: an entry in
//!    [`crate::views::View`] and its drawing in `src/views/views.js` ([`views`] attaches the
//!    `_meta.ui.resourceUri` and serves the `ui://` resource).
//! 6. Put the tool in one toolset in [`toolsets`] (the server instructions list it from there).
//! 7. Run `UPDATE_TOOLS=1 cargo test --test mcp tool_catalogue::` to write `tools/<name>.json` and the
//!    README table; review the diff; add calls to the end-to-end tests in `tests/mcp/mcp_tools.rs`,
//!    and to the size test in `tests/mcp/mcp_economy.rs` if it needs arguments.

pub mod dashboard;
pub mod files;
pub mod prompts;
pub mod render;
pub mod resources;
pub mod server;
pub mod stdio_guard;
pub mod tools;
pub mod toolsets;
pub mod views;

pub use files::AllowedFolders;
pub use server::PartnermapServer;
pub use toolsets::ToolsetOptions;

use crate::Engine;
use rmcp::ServiceExt;

/// Every tool definition (all toolsets) exactly as `tools/list` returns it (sorted by name).
pub fn tool_definitions() -> Vec<rmcp::model::Tool> {
    PartnermapServer::tool_router().list_all()
}

/// The tool definitions a server with these options serves.
pub fn served_tool_definitions(options: &ToolsetOptions) -> Vec<rmcp::model::Tool> {
    let mut router = PartnermapServer::tool_router();
    options.filter(&mut router);
    router.list_all()
}

/// The server instructions a server with these options sends.
pub fn instructions(options: &ToolsetOptions) -> String {
    toolsets::instructions(options, &served_tool_definitions(options))
}

/// Serves MCP on stdin/stdout until the client disconnects. Only JSON-RPC goes to stdout;
/// logs go through `tracing` (the binary sends them to stderr).
pub async fn serve_stdio(
    engine: Engine,
    user: Option<String>,
    options: &ToolsetOptions,
) -> anyhow::Result<()> {
    let server = PartnermapServer::with_options(engine, user, options);
    // Through the guard: a request rmcp cannot parse still gets an answer.
    let service = server.serve(stdio_guard::stdio()).await?;
    tracing::info!("partnermap MCP server ready on stdio");
    service.waiting().await?;
    Ok(())
}
