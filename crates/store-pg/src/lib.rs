//! # cl-store-pg
//!
//! Storage adapter over tokio-postgres (native tests, Hyperdrive in the worker).
