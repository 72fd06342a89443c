//! Postgres integration suite: the store contract, the schema agreement with D1, the
//! migration runner and the matrix round-trip count, against a real database.
//!
//! Needs `DATABASE_URL` (e.g. from `scripts/pg.sh start`). Without it every test FAILS,
//! unless `CL_SKIP_PG=1` says explicitly to skip them. Each test runs in a fresh schema.

// Test code: helpers outside #[test] fns may panic with context like assertions do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod api_keys;
mod backtests;
mod billing;
mod broadcast_delivery;
mod contract;
mod credentials;
mod helpers;
mod maintenance;
mod migrations;
mod notification_admin;
mod notifications;
mod optimization;
mod portfolio;
mod round_trips;
mod run_queue;
mod schema;
mod stats;
