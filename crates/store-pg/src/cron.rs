//! [`CronStore`] over Postgres: every call is one statement; the lease claim is one conditional
//! `UPDATE` (a concurrent update of the same row re-checks the condition after the row lock, so
//! exactly one claim wins).

use crate::PgStore;
use cl_app::cron::{
    validate_finish, validate_lease, CronJob, CronRun, CronRunId, CronStore, RunCounts, RunFinish,
    RunStatus, RunTrigger,
};
use cl_app::ports::StoreError;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const JOB: &str = "cron job";

const CRON_JOB: &str = "\
SELECT name, schedule, is_enabled, cursor::text AS cursor, lease_until FROM cron_jobs WHERE name = $1";

const CLAIM_LEASE: &str = "\
UPDATE cron_jobs SET lease_until = $3
WHERE name = $1 AND is_enabled AND (lease_until IS NULL OR lease_until <= $2)
RETURNING id";

const RELEASE_LEASE: &str = "\
UPDATE cron_jobs SET lease_until = NULL WHERE name = $1 AND lease_until = $2 RETURNING id";

const SET_ENABLED: &str = "\
UPDATE cron_jobs SET is_enabled = $2, updated_at = $3 WHERE name = $1 RETURNING id";

const SET_CURSOR: &str = "\
UPDATE cron_jobs SET cursor = $2::text::jsonb, updated_at = $3 WHERE name = $1 RETURNING id";

const START_RUN: &str = "\
INSERT INTO cron_runs (job_id, trigger, started_at, status)
SELECT id, $2, $3, 'running' FROM cron_jobs WHERE name = $1
RETURNING id";

const FINISH_RUN: &str = "\
UPDATE cron_runs SET ended_at = $2, duration_ms = $2 - started_at, status = $3, error = $4,
    counts = $5::text::jsonb
WHERE id = $1 RETURNING id";

const LIST_RUNS: &str = "\
SELECT r.id, j.name, r.trigger, r.started_at, r.ended_at, r.duration_ms, r.status, r.error,
    r.counts::text AS counts
FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id
WHERE j.name = $1 ORDER BY r.started_at DESC, r.id DESC LIMIT $2";

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    col: &str,
) -> Result<T, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt("cron_runs", None, e))
}

fn run_row(row: &Row) -> Result<CronRun, StoreError> {
    let trigger: String = get(row, "trigger")?;
    let status: String = get(row, "status")?;
    let counts: Option<String> = get(row, "counts")?;
    Ok(CronRun {
        id: CronRunId(get(row, "id")?),
        job: get(row, "name")?,
        trigger: RunTrigger::parse(&trigger)?,
        started_at: get(row, "started_at")?,
        ended_at: get(row, "ended_at")?,
        duration_ms: get(row, "duration_ms")?,
        status: RunStatus::parse(&status)?,
        error: get(row, "error")?,
        counts: counts.as_deref().map(RunCounts::from_json).transpose()?,
    })
}

fn found(rows: &[Row], what: &'static str) -> Result<(), StoreError> {
    if rows.is_empty() {
        Err(StoreError::NotFound(what))
    } else {
        Ok(())
    }
}

impl CronStore for PgStore<'_> {
    async fn cron_job(&self, name: &str) -> Result<Option<CronJob>, StoreError> {
        let rows = self.query(CRON_JOB, &[(&name, Type::TEXT)]).await?;
        rows.first()
            .map(|row| {
                Ok(CronJob {
                    name: get(row, "name")?,
                    schedule: get(row, "schedule")?,
                    enabled: get(row, "is_enabled")?,
                    cursor: get(row, "cursor")?,
                    lease_until: get(row, "lease_until")?,
                })
            })
            .transpose()
    }

    async fn claim_lease(
        &self,
        name: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        validate_lease(now_ms, until_ms)?;
        let rows = self
            .query(
                CLAIM_LEASE,
                &[
                    (&name, Type::TEXT),
                    (&now_ms, Type::INT8),
                    (&until_ms, Type::INT8),
                ],
            )
            .await?;
        Ok(rows.len() == 1)
    }

    async fn release_lease(&self, name: &str, until_ms: i64) -> Result<(), StoreError> {
        self.query(
            RELEASE_LEASE,
            &[(&name, Type::TEXT), (&until_ms, Type::INT8)],
        )
        .await
        .map(|_| ())
    }

    async fn set_job_enabled(
        &self,
        name: &str,
        enabled: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let rows = self
            .query(
                SET_ENABLED,
                &[
                    (&name, Type::TEXT),
                    (&enabled, Type::BOOL),
                    (&now_ms, Type::INT8),
                ],
            )
            .await?;
        found(&rows, JOB)
    }

    async fn set_cursor(
        &self,
        name: &str,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let rows = self
            .query(
                SET_CURSOR,
                &[
                    (&name, Type::TEXT),
                    (&cursor, Type::TEXT),
                    (&now_ms, Type::INT8),
                ],
            )
            .await?;
        found(&rows, JOB)
    }

    async fn start_run(
        &self,
        name: &str,
        trigger: RunTrigger,
        started_at: i64,
    ) -> Result<CronRunId, StoreError> {
        let trigger = trigger.as_str();
        let rows = self
            .query(
                START_RUN,
                &[
                    (&name, Type::TEXT),
                    (&trigger, Type::TEXT),
                    (&started_at, Type::INT8),
                ],
            )
            .await?;
        let row = rows.first().ok_or(StoreError::NotFound(JOB))?;
        Ok(CronRunId(get(row, "id")?))
    }

    async fn finish_run(&self, id: CronRunId, finish: &RunFinish) -> Result<(), StoreError> {
        validate_finish(finish)?;
        let status = finish.status.as_str();
        let counts = finish.counts.to_json();
        let rows = self
            .query(
                FINISH_RUN,
                &[
                    (&id.0, Type::INT8),
                    (&finish.ended_at, Type::INT8),
                    (&status, Type::TEXT),
                    (&finish.error, Type::TEXT),
                    (&counts, Type::TEXT),
                ],
            )
            .await?;
        found(&rows, "cron run")
    }

    async fn list_runs(&self, name: &str, limit: u32) -> Result<Vec<CronRun>, StoreError> {
        let limit = i64::from(limit);
        self.all(
            LIST_RUNS,
            &[(&name, Type::TEXT), (&limit, Type::INT8)],
            run_row,
        )
        .await
    }
}
