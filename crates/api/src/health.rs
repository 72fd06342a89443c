//! Health checks (product.md §3, §12): liveness, readiness and a summary. Bodies name each
//! check and whether it passed; never versions, hosts or configuration values.

use crate::config::{Config, StorageBackend};
use cl_api_types::{HealthCheck, HealthReport, HealthStatus};

/// Probes of the platform's dependencies. Implemented by the worker over its bindings;
/// each probe only answers whether the dependency works.
#[allow(async_fn_in_trait)] // The worker's futures are !Send; no Send bound is wanted.
pub trait DependencyProbes {
    /// Round trip to D1 (`SELECT 1`).
    async fn d1(&self) -> bool;
    /// Round trip to KV (a read of a fixed key).
    async fn kv(&self) -> bool;
    /// Round trip to Postgres through Hyperdrive, or `None` when no Postgres is configured.
    async fn postgres(&self) -> Option<bool>;
}

/// Runs every probe and summarises. The primary store and the configuration are critical;
/// the rest degrade.
pub async fn report<P: DependencyProbes>(config: &Config, probes: &P) -> HealthReport {
    let primary_is_pg = config.storage == StorageBackend::Postgres;
    let mut checks = vec![
        HealthCheck {
            name: "config".into(),
            ok: config.is_valid(),
            critical: true,
        },
        HealthCheck {
            name: "d1".into(),
            ok: probes.d1().await,
            critical: !primary_is_pg,
        },
        HealthCheck {
            name: "kv".into(),
            ok: probes.kv().await,
            critical: false,
        },
    ];
    match probes.postgres().await {
        Some(ok) => checks.push(HealthCheck {
            name: "postgres".into(),
            ok,
            critical: primary_is_pg,
        }),
        None if primary_is_pg => checks.push(HealthCheck {
            name: "postgres".into(),
            ok: false,
            critical: true,
        }),
        None => {}
    }
    let status = if checks.iter().any(|c| c.critical && !c.ok) {
        HealthStatus::Down
    } else if checks.iter().any(|c| !c.ok) {
        HealthStatus::Degraded
    } else {
        HealthStatus::Ok
    };
    HealthReport { status, checks }
}
