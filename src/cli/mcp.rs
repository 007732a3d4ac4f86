//! `partnermap mcp`: the stdio MCP server. stdout carries only JSON-RPC; logs go to stderr
//! (set up in [`super::init_tracing`]).

use clap::Subcommand;
use partnermap::{Engine, Error};

#[derive(Subcommand, Debug)]
pub enum McpCmd {
    /// Serve the engine over MCP on stdin/stdout, for Claude Desktop, Claude Code, Cursor, VS Code or any MCP client.
    Mcp,
}

pub fn run(cmd: McpCmd, engine: Engine, user: Option<String>) -> Result<(), Error> {
    match cmd {
        McpCmd::Mcp => {
            if let Err(e) = engine.actor(user.as_deref()) {
                // Not fatal: the user may be created while the server runs; each tool call
                // explains the problem to the model.
                tracing::warn!(error = %e, "no acting user yet");
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
            rt.block_on(partnermap::mcp::serve_stdio(engine, user))
                .map_err(|e| Error::Io(format!("MCP server stopped: {e}")))
        }
    }
}
