//! # cl-api
//!
//! The framework-free HTTP surface: routing, envelope, errors, security headers, config checks.
