//! # cl-api-types
//!
//! Serde DTOs shared by the worker and the frontend: the JSON wire contract of /api/v1.
