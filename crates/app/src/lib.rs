//! # cl-app
//!
//! Application services (use cases) and the port traits they depend on.
//!
//! [`ports`] holds the storage traits, grouped by aggregate, with their row structs and the
//! typed [`ports::StoreError`]. Adapters (`cl-store-memory`, `cl-store-pg`, `cl-store-d1`)
//! implement them; `cl-store-contract` pins their shared behaviour.
//!
//! [`pipeline`] is the live pipeline's per-symbol tick (detection.md §4) over those ports, with
//! an injected [`ports::Clock`] ([`clock`]); [`convert`] is the one place where domain patterns
//! and signals meet the stored rows.

pub mod ports;

pub mod clock;
pub mod convert;
pub mod pipeline;

pub mod cron;
pub mod jobs;
pub mod notify;

pub mod notify_admin;

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod billing;
pub mod global_settings;
pub mod metrics;
pub mod policy;
pub mod portfolio;
pub mod stats;
pub mod trading_prefs;

pub mod exchange_credentials;

pub mod backtests;

pub mod optimizer;

pub mod candle_import;
pub mod runs;
