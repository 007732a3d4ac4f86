//! Engine, storage, CLI and demo tests in one binary: one link instead of one per file.
//! Each file is a module; shared builders live in the support folders beside this one.

#[path = "../common/mod.rs"]
mod common;
#[path = "../privacy_net/mod.rs"]
mod privacy_net;
#[path = "../score_net/mod.rs"]
mod score_net;

mod bad_csv;
mod cli;
mod demo;
mod engine_core;
mod export_paths;
mod federation;
mod federation_messages;
mod matching_rules;
mod privacy_suite;
mod reliability;
mod score;
mod sharing;
