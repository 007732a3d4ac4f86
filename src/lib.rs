//! partnermap: a local-first partner-ecosystem engine (account mapping, data sharing,
//! Partner Score, recommendations) with an MCP server in front of it.
//!
//! Layers: [`model`] (the domain), [`engine`] (the product, behind one privacy gate),
//! [`store`] (SQLite), [`matching`] (keys and joins), [`ingest`] (files from outside),
//! and on top the MCP server ([`mcp`], thin: parse, call the engine, render) and the CLI.

pub mod connectors;
pub mod demo;
pub mod engine;
pub mod error;
pub mod federation;
pub mod ingest;
pub mod matching;
pub mod mcp;
pub mod model;
pub mod scoring;
pub mod serve;
pub mod shape;
pub mod store;
pub mod text;
pub mod views;

pub use engine::Engine;
pub use error::{Error, Result};
