//! Partnerships across instances (FEDERATION.md): an instance identity, mutual TLS with pinned
//! IDs, invitation codes, a durable outbox, and private set intersection. What a remote
//! partner releases is stored here as rows the engine already reads (its populations, its
//! sharing settings toward us, its released records, per-cell counts), so every tool works on
//! a remote partnership through the same privacy gate. No MCP or CLI types here.

pub mod elements;
pub mod identity;
pub mod messages;
pub mod net;
pub mod ops;
pub mod protocol;
pub mod psi;
pub mod serve;
pub mod tls;
pub mod wire;
