//! [`RunQueueStore`] over Postgres. Every call is ONE statement. The claim picks the oldest
//! claimable row `FOR UPDATE SKIP LOCKED` and repeats the claimable condition in the outer
//! `UPDATE` (re-checked after the row lock under READ COMMITTED), so two dispatch triggers
//! never both win a run; progress and finish are conditional on `status = 'running' AND
//! lease_until = $lease`. Counts are JSONB, bound and read as text.

use crate::rows::{limit_of, named as get, returned};
use crate::PgStore;
use cl_app::cron::{CronRun, CronRunId, RunCounts, RunStatus, RunTrigger};
use cl_app::ports::run_queue::{
    validate_claim, NewQueuedRun, QueueStatus, QueuedRun, QueuedRunFinish, QueuedRunId, RunKind,
    RunProgress, RunQueueStore, RunSource,
};
use cl_app::ports::{Cursor, StoreError, SymbolId, UserId};
use cl_domain::Timeframe;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const T: &str = "run_queue";
const COLS: &str = "id, kind, symbol_id, tf, requested_by, source, from_ms, status, cursor, \
progress, attempts, lease_until, created_at, started_at, ended_at, error, counts::text AS counts, \
cron_run_id";
const CLAIMABLE: &str = "(status = 'queued' OR (status = 'running' AND \
(lease_until IS NULL OR lease_until <= $2)))";

fn run_row(row: &Row) -> Result<QueuedRun, StoreError> {
    let id: i64 = get(row, T, "id")?;
    let bad = |e: String| StoreError::corrupt(T, Some(id), e);
    let kind: String = get(row, T, "kind")?;
    let source: String = get(row, T, "source")?;
    let status: String = get(row, T, "status")?;
    let tf: Option<String> = get(row, T, "tf")?;
    let progress: i64 = get(row, T, "progress")?;
    let attempts: i64 = get(row, T, "attempts")?;
    let counts: Option<String> = get(row, T, "counts")?;
    Ok(QueuedRun {
        id: QueuedRunId(id),
        new: NewQueuedRun {
            kind: RunKind::parse(&kind)?,
            symbol: get::<Option<i64>>(row, T, "symbol_id")?.map(SymbolId),
            tf: tf
                .map(|t| Timeframe::parse(&t).map_err(|e| bad(e.to_string())))
                .transpose()?,
            requested_by: get::<Option<i64>>(row, T, "requested_by")?.map(UserId),
            source: RunSource::parse(&source)?,
            from_ms: get(row, T, "from_ms")?,
            created_at: get(row, T, "created_at")?,
        },
        status: QueueStatus::parse(&status)?,
        cursor: get(row, T, "cursor")?,
        progress: u8::try_from(progress.clamp(0, 100)).map_err(|e| bad(e.to_string()))?,
        attempts: u32::try_from(attempts).map_err(|e| bad(e.to_string()))?,
        lease_until: get(row, T, "lease_until")?,
        started_at: get(row, T, "started_at")?,
        ended_at: get(row, T, "ended_at")?,
        error: get(row, T, "error")?,
        counts: counts.as_deref().map(RunCounts::from_json).transpose()?,
        cron_run: get::<Option<i64>>(row, T, "cron_run_id")?.map(CronRunId),
    })
}

fn cron_row(row: &Row) -> Result<CronRun, StoreError> {
    const R: &str = "cron_runs";
    let trigger: String = get(row, R, "run_trigger")?;
    let status: String = get(row, R, "status")?;
    let counts: Option<String> = get(row, R, "counts")?;
    Ok(CronRun {
        id: CronRunId(get(row, R, "id")?),
        job: get(row, R, "job")?,
        trigger: RunTrigger::parse(&trigger)?,
        started_at: get(row, R, "started_at")?,
        ended_at: get(row, R, "ended_at")?,
        duration_ms: get(row, R, "duration_ms")?,
        status: RunStatus::parse(&status)?,
        error: get(row, R, "error")?,
        counts: counts.as_deref().map(RunCounts::from_json).transpose()?,
    })
}

impl RunQueueStore for PgStore<'_> {
    async fn enqueue_run(&self, new: &NewQueuedRun) -> Result<QueuedRun, StoreError> {
        new.validate()?;
        let symbol = new.symbol.map(|s| s.0);
        let by = new.requested_by.map(|u| u.0);
        let tf = new.tf.map(Timeframe::as_str);
        let rows = self
            .query(
                &format!(
                    "INSERT INTO run_queue (kind, symbol_id, tf, requested_by, source, from_ms, \
                     status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) \
                     RETURNING {COLS}"
                ),
                &[
                    (&new.kind.as_str(), Type::TEXT),
                    (&symbol, Type::INT8),
                    (&tf, Type::TEXT),
                    (&by, Type::INT8),
                    (&new.source.as_str(), Type::TEXT),
                    (&new.from_ms, Type::INT8),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await;
        match rows {
            Ok(rows) => returned(&rows, run_row, "insert returned no row"),
            Err(StoreError::NotFound(_)) => {
                // The foreign key does not say which row is missing: ask.
                let found = self
                    .query(
                        "SELECT EXISTS (SELECT 1 FROM symbols WHERE id = $1) AS found",
                        &[(&symbol, Type::INT8)],
                    )
                    .await?;
                let symbol_ok = symbol.is_none()
                    || found
                        .first()
                        .map(|r| get::<bool>(r, T, "found"))
                        .transpose()?
                        .unwrap_or(false);
                Err(StoreError::NotFound(if symbol_ok {
                    "user"
                } else {
                    "symbol"
                }))
            }
            Err(e) => Err(e),
        }
    }

    async fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError> {
        self.opt(
            &format!("SELECT {COLS} FROM run_queue WHERE id = $1"),
            &[(&id.0, Type::INT8)],
            run_row,
        )
        .await
    }

    async fn claim_next_run(
        &self,
        after: Option<QueuedRunId>,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<Option<QueuedRun>, StoreError> {
        validate_claim(now_ms, lease_until)?;
        let after = after.map_or(0, |a| a.0);
        self.opt(
            &format!(
                "UPDATE run_queue SET status = 'running', started_at = COALESCE(started_at, $2), \
                 lease_until = $3, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM run_queue WHERE id > $1 AND {CLAIMABLE} \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) AND {CLAIMABLE} RETURNING {COLS}"
            ),
            &[
                (&after, Type::INT8),
                (&now_ms, Type::INT8),
                (&lease_until, Type::INT8),
            ],
            run_row,
        )
        .await
    }

    async fn save_run_progress(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        progress: &RunProgress,
    ) -> Result<bool, StoreError> {
        if progress.progress > 100 {
            return Err(StoreError::Invalid("progress above 100".into()));
        }
        let pct = i64::from(progress.progress);
        let counts = progress.counts.to_json();
        let rows = self
            .query(
                "UPDATE run_queue SET cursor = $3, progress = $4, counts = $5::text::jsonb, \
                 lease_until = NULL, attempts = CASE WHEN $6 THEN 0 ELSE attempts END \
                 WHERE id = $1 AND status = 'running' AND lease_until = $2 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&lease_until, Type::INT8),
                    (&progress.cursor, Type::INT8),
                    (&pct, Type::INT8),
                    (&counts, Type::TEXT),
                    (&progress.reset_attempts, Type::BOOL),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn finish_queued_run(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        finish: &QueuedRunFinish,
    ) -> Result<bool, StoreError> {
        finish.validate()?;
        let counts = finish.counts.to_json();
        let cron = finish.cron_run.map(|c| c.0);
        let rows = self
            .query(
                "UPDATE run_queue SET status = $3, ended_at = $4, error = $5, \
                 counts = $6::text::jsonb, cron_run_id = $7, cursor = $8, lease_until = NULL, \
                 progress = CASE WHEN $3 = 'ok' THEN 100 ELSE progress END \
                 WHERE id = $1 AND status = 'running' AND lease_until = $2 RETURNING id",
                &[
                    (&id.0, Type::INT8),
                    (&lease_until, Type::INT8),
                    (&finish.status.as_str(), Type::TEXT),
                    (&finish.ended_at, Type::INT8),
                    (&finish.error, Type::TEXT),
                    (&counts, Type::TEXT),
                    (&cron, Type::INT8),
                    (&finish.cursor, Type::INT8),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn cron_runs_page(
        &self,
        job: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CronRun>, StoreError> {
        let limit = limit_of(limit)?;
        let (ts, id) = before.map_or((None, None), |c| (Some(c.ts), Some(c.id)));
        self.all(
            "SELECT r.id AS id, j.name AS job, r.trigger AS run_trigger, \
             r.started_at AS started_at, r.ended_at AS ended_at, r.duration_ms AS duration_ms, \
             r.status AS status, r.error AS error, r.counts::text AS counts \
             FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id \
             WHERE j.name = $1 AND ($2::int8 IS NULL OR (r.started_at, r.id) < ($2, $3)) \
             ORDER BY r.started_at DESC, r.id DESC LIMIT $4",
            &[
                (&job, Type::TEXT),
                (&ts, Type::INT8),
                (&id, Type::INT8),
                (&limit, Type::INT8),
            ],
            cron_row,
        )
        .await
    }
}
