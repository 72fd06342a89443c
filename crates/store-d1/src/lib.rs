//! # cl-store-d1
//!
//! Storage adapter over Cloudflare D1 (wasm32 only): translates rows and errors to the app ports.
