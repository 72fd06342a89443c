//! # cl-store-memory
//!
//! In-memory implementation of the storage ports, for replay and host tests.
