//! The HTTP surface end to end on the host: fake dependency probes and the in-memory store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed unwrap is a failed test

mod admin;
mod auth;
mod health;
mod helpers;
mod keys;
mod metrics;
mod notifications;
mod notify_admin;
mod openapi;
mod ops;
mod optimizer;
mod payments;
mod portfolio;
mod read;
mod rig;
mod scheduler;
mod schema;
mod stats;
