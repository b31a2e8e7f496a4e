//! postpilot-core's integration tests, one binary with a module per area (the layout of
//! zero-to-production's `tests/api/main.rs`): a change to the crate relinks one test executable,
//! not one per file. `test_engine` is the arrangement the modules share; nothing else is shared
//! between tests.
#![allow(clippy::unwrap_used)]

// The arrangement every module uses; its items are `pub` inside a private module, so it allows
// the workspace's `unreachable_pub` lint itself.
mod test_engine;

mod accounts;
mod api_keys;
mod auth;
mod billing;
mod brute_force;
mod caps;
mod dispatcher;
mod endpoints;
mod failing_ports;
mod imports;
mod isolation;
mod oauth;
mod posts;
mod products;
mod queue;
mod slots;
mod steps;
mod store_conformance;
mod worker;
