//! # cl-app
//!
//! Application services (use cases) and the port traits they depend on.
//!
//! [`ports`] holds the storage traits, grouped by aggregate, with their row structs and the
//! typed [`ports::StoreError`]. Adapters (`cl-store-memory`, `cl-store-pg`, `cl-store-d1`)
//! implement them; `cl-store-contract` pins their shared behaviour.

pub mod ports;

pub mod clock;
