//! [`MetricsStore`] over Postgres: one `UNION ALL` statement of `(metric, label, value)` rows.

use crate::PgStore;
use cl_app::metrics::{MetricsStore, StoredMetrics};
use cl_app::ports::StoreError;

/// The one round trip of the snapshot; `store-d1/src/metrics.rs` runs the same text on
/// SQLite, so the two backends count alike.
pub const SNAPSHOT: &str = "\
SELECT 'pattern' AS metric, pattern_type AS label, COUNT(*) AS value
    FROM patterns WHERE status = 'active' GROUP BY pattern_type
UNION ALL SELECT 'signal', status, COUNT(*) FROM signals GROUP BY status
UNION ALL SELECT 'notification', status, COUNT(*) FROM user_notifications GROUP BY status
UNION ALL SELECT 'cron_ms', j.name, r.duration_ms
    FROM cron_jobs j JOIN cron_runs r ON r.id = (
        SELECT r2.id FROM cron_runs r2
        WHERE r2.job_id = j.id AND r2.status <> 'running' AND r2.duration_ms IS NOT NULL
        ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1)
UNION ALL SELECT 'cron_ok', j.name, CASE WHEN r.status IN ('ok', 'partial') THEN 1 ELSE 0 END
    FROM cron_jobs j JOIN cron_runs r ON r.id = (
        SELECT r2.id FROM cron_runs r2
        WHERE r2.job_id = j.id AND r2.status <> 'running' AND r2.duration_ms IS NOT NULL
        ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1)";

impl MetricsStore for PgStore<'_> {
    async fn metrics_snapshot(&self) -> Result<StoredMetrics, StoreError> {
        let rows = self.query(SNAPSHOT, &[]).await?;
        let mut triples = Vec::with_capacity(rows.len());
        for row in &rows {
            let get = |col: &str| -> Result<String, StoreError> {
                row.try_get(col)
                    .map_err(|e| StoreError::corrupt("metrics", None, e))
            };
            let value: i64 = row
                .try_get("value")
                .map_err(|e| StoreError::corrupt("metrics", None, e))?;
            triples.push((get("metric")?, get("label")?, value));
        }
        Ok(StoredMetrics::from_rows(triples))
    }
}
