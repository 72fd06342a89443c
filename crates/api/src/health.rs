//! Health checks (product.md §3, §12): liveness, readiness and a summary. Bodies name each
//! check and whether it passed; never versions, hosts or configuration values.

use crate::config::{Config, StorageBackend};
use cl_api_types::{HealthCheck, HealthReport, HealthStatus};
use cl_app::metrics::{BreakerGauge, RequestMetrics};

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

    /// The circuit breakers of the upstreams (exchange, ntfy, payment providers), by name.
    /// Read from shared state; none by default.
    async fn breakers(&self) -> Vec<(&'static str, BreakerGauge)> {
        Vec::new()
    }

    /// Every isolate's last flushed request counters; none by default.
    async fn request_metrics(&self) -> Vec<RequestMetrics> {
        Vec::new()
    }

    /// The shared matrix cache (KV in the worker, refreshed by the pipeline); none by default.
    fn matrix_cache(&self) -> impl cl_app::jobs::matrix_cache::MatrixCache + '_ {
        cl_app::jobs::matrix_cache::NoMatrixCache
    }
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
    // An open breaker degrades (the pipeline or notifications are paused), never downs.
    for (name, state) in probes.breakers().await {
        checks.push(HealthCheck {
            name: format!("{name}_breaker"),
            ok: state != BreakerGauge::Open,
            critical: false,
        });
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
