//! [`MetricsStore`] over D1: the one `UNION ALL` statement of `store-pg/src/metrics.rs`, in
//! SQLite (the text is identical; both dialects accept it).

use crate::values::read_int;
use crate::D1Store;
use cl_app::metrics::{MetricsStore, StoredMetrics};
use cl_app::ports::StoreError;
use serde::Deserialize;

const SNAPSHOT: &str = "\
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

#[derive(Deserialize)]
struct Row {
    metric: String,
    label: String,
    value: f64,
}

impl TryFrom<Row> for (String, String, i64) {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        // Counts and durations arrive as JS numbers: read exactly, like every integer here.
        let value = read_int("metrics", None, "value", r.value)?;
        Ok((r.metric, r.label, value))
    }
}

impl MetricsStore for D1Store {
    async fn metrics_snapshot(&self) -> Result<StoredMetrics, StoreError> {
        let stmt = self.stmt(SNAPSHOT, &[])?;
        let rows = self
            .rows::<Row, (String, String, i64)>("metrics", stmt, "metrics")
            .await?;
        Ok(StoredMetrics::from_rows(rows))
    }
}
