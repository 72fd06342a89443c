//! # cryptolens
//!
//! The native command-line tool over the same detection core the worker runs.

fn main() {}
