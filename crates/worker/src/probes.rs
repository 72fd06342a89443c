//! Dependency probes over the bindings: each answers only "does it work".

use crate::bindings;
use cl_api::health::DependencyProbes;
use worker::Env;

/// Probes bound to this request's `Env`.
pub struct Probes<'a> {
    env: &'a Env,
}

impl<'a> Probes<'a> {
    /// Binds the probes to the environment.
    pub fn new(env: &'a Env) -> Self {
        Self { env }
    }
}

impl DependencyProbes for Probes<'_> {
    async fn d1(&self) -> bool {
        let Ok(db) = self.env.d1(bindings::DB) else {
            return false;
        };
        db.prepare("SELECT 1 AS ok")
            .first::<serde_json::Value>(Some("ok"))
            .await
            .is_ok()
    }

    async fn kv(&self) -> bool {
        let Ok(kv) = self.env.kv(bindings::KV) else {
            return false;
        };
        kv.get("health:probe").text().await.is_ok()
    }

    async fn breakers(&self) -> Vec<(&'static str, cl_app::metrics::BreakerGauge)> {
        let kv = self.env.kv(bindings::KV).ok();
        crate::metrics::breakers(kv.as_ref(), worker::Date::now().as_millis() as i64).await
    }

    async fn request_metrics(&self) -> Vec<cl_app::metrics::RequestMetrics> {
        let kv = self.env.kv(bindings::KV).ok();
        crate::metrics::all_isolates(kv.as_ref()).await
    }

    fn matrix_cache(&self) -> impl cl_app::jobs::matrix_cache::MatrixCache + '_ {
        crate::matrix_cache::KvMatrixCache::new(self.env.kv(bindings::KV).ok())
    }

    async fn postgres(&self) -> Option<bool> {
        // Only probed when Postgres is the configured store; the binding alone may point
        // at a database that this deployment does not use.
        if crate::bindings::lookup(self.env, cl_api::config::keys::STORAGE).as_deref()
            != Some("postgres")
        {
            return None;
        }
        match crate::pg::ping(self.env).await {
            Ok(()) => Some(true),
            Err(err) => {
                // The cause is for operators; the health body only says "postgres: false".
                worker::console_warn!(
                    "{}",
                    serde_json::json!({"level": "warn", "event": "postgres_probe_failed", "error": err.0})
                );
                Some(false)
            }
        }
    }
}
