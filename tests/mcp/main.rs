//! MCP server tests (the real binary over stdio and HTTP) and the tool catalogue in one binary.
//! Each file is a module; shared builders live in the support folders beside this one.

#[path = "../common/mod.rs"]
mod common;
#[path = "../crm_fake/mod.rs"]
mod crm_fake;
#[path = "../insights_net/mod.rs"]
mod insights_net;
#[path = "../mcp_common/mod.rs"]
mod mcp_common;
#[path = "../privacy_net/mod.rs"]
mod privacy_net;
#[path = "../score_net/mod.rs"]
mod score_net;

mod crm_connectors;
mod insights;
mod mcp_concurrency;
mod mcp_economy;
mod mcp_federation;
mod mcp_files;
mod mcp_fuzz;
mod mcp_http;
mod mcp_output_safety;
mod mcp_privacy;
mod mcp_privacy_pairs;
mod mcp_questions;
mod mcp_races;
mod mcp_score;
mod mcp_sharing;
mod mcp_stdout;
mod mcp_tools;
mod tool_catalogue;
mod views;
