//! Binding names, in one place, and the lookup of vars and secrets by name.

use worker::Env;

/// D1 database binding.
pub const DB: &str = "DB";
/// KV namespace binding (rate limits, lockout flags, breaker state, caches).
pub const KV: &str = "KV";
/// Static assets of the built frontend.
pub const ASSETS: &str = "ASSETS";
/// Hyperdrive binding to Postgres.
pub const HYPERDRIVE: &str = "HYPERDRIVE";

/// A var or secret by name: secrets first (they must never sit in `[vars]`), then vars.
pub fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
}
