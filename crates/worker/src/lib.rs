//! # cl-worker
//!
//! The Cloudflare worker entry point.
