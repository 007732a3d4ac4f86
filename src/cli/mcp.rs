//! `partnermap mcp`: the stdio MCP server. stdout carries only JSON-RPC; logs go to stderr
//! (set up in [`super::init_tracing`]).

use clap::Subcommand;
use partnermap::{Engine, Error};

#[derive(Subcommand, Debug)]
pub enum McpCmd {
    /// Serve the engine over MCP on stdin/stdout, for Claude Desktop, Claude Code, Cursor, VS Code or any MCP client.
    Mcp {
        /// Toolsets to serve, separated by commas (partners, score, insights, sharing, threads, admin, data, connectors, federation; `all` = every tool; default: partners, score, insights, sharing, threads).
        #[arg(
            long,
            env = "PARTNERMAP_TOOLSETS",
            value_name = "LIST",
            value_delimiter = ','
        )]
        toolsets: Vec<String>,
        /// Serve only tools that read (no tool that writes, imports, shares or deletes).
        #[arg(
            long,
            env = "PARTNERMAP_READ_ONLY",
            value_parser = clap::builder::BoolishValueParser::new(),
            action = clap::ArgAction::SetTrue
        )]
        read_only: bool,
    },
}

pub fn run(cmd: McpCmd, engine: Engine, user: Option<String>) -> Result<(), Error> {
    match cmd {
        McpCmd::Mcp {
            toolsets,
            read_only,
        } => {
            let options = partnermap::mcp::ToolsetOptions::new(&toolsets, read_only)
                .map_err(Error::Invalid)?;
            if let Err(e) = engine.actor(user.as_deref()) {
                // Not fatal: the user may be created while the server runs; each tool call
                // explains the problem to the model.
                tracing::warn!(error = %e, "no acting user yet");
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
            rt.block_on(partnermap::mcp::serve_stdio(engine, user, &options))
                .map_err(|e| Error::Io(format!("MCP server stopped: {e}")))
        }
    }
}
