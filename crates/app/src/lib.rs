//! # cl-app
//!
//! Application services (use cases) and the port traits they depend on.
