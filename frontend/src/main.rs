//! # cl-frontend
//!
//! The Leptos CSR app.

fn main() {}
