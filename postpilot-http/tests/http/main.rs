//! postpilot-http's integration tests, one binary with a module per area (the layout of
//! zero-to-production's `tests/api/main.rs`): a change to the crate relinks one test executable,
//! not one per file. The route tests drive the router with `oneshot` (no socket), each on an
//! app of its own (`test_app::TestApp`); nothing is shared between tests.
#![allow(clippy::unwrap_used)]

mod test_app;

mod account_routes;
mod api_doc;
mod api_key_limits;
mod auth_routes;
mod billing_routes;
mod bola;
mod brute_force;
mod contract;
mod endpoint_routes;
mod idempotency;
mod import_routes;
mod input_strictness;
mod jwt;
mod metrics;
mod mock_billing_pages;
mod post_routes;
mod queue_routes;
mod schedule_routes;
mod scope_matrix;
mod security_headers;
mod sessions;
mod template_routes;
mod ui_pages;
mod webhooks;
