//! postpilot-sqlx's integration tests on PostgreSQL, one binary with a module per area (the
//! layout of zero-to-production's `tests/api/main.rs`). Each test works on a fresh, migrated
//! database of its own; `DATABASE_URL` names the server (`bash .ci/with-postgres …`).
//!
//! `tests/restart.rs` stays a binary of its own: it restarts the server, which would take the
//! database away from every test of this binary running at the time.
#![allow(clippy::unwrap_used)]

mod conformance;
mod counters;
mod differential;
mod postgres;
mod scheduler;
