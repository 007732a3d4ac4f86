//! The `partnermap` binary: parses the command line, picks the acting user, calls the engine,
//! prints. `partnermap mcp` serves the same engine over MCP on stdio.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
