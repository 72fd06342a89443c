//! [`CronStore`] over D1: every call is one statement; the lease claim is one conditional
//! `UPDATE` (D1 serialises writes, so exactly one of two concurrent claims changes the row).

use crate::values::{count, flag, int, opt_text, read_int, read_opt_int, text};
use crate::{changes, decode, D1Store};
use cl_app::cron::{
    validate_finish, validate_lease, CronJob, CronRun, CronRunId, CronStore, RunCounts, RunFinish,
    RunStatus, RunTrigger,
};
use cl_app::ports::StoreError;
use serde::Deserialize;

const JOB: &str = "cron job";
const RUNS: &str = "cron_runs";

const CRON_JOB: &str = "\
SELECT name, schedule, is_enabled, cursor, lease_until FROM cron_jobs WHERE name = ?1";

const CLAIM_LEASE: &str = "\
UPDATE cron_jobs SET lease_until = ?3
WHERE name = ?1 AND is_enabled = 1 AND (lease_until IS NULL OR lease_until <= ?2)";

const RELEASE_LEASE: &str = "\
UPDATE cron_jobs SET lease_until = NULL WHERE name = ?1 AND lease_until = ?2";

const SET_ENABLED: &str = "\
UPDATE cron_jobs SET is_enabled = ?2, updated_at = ?3 WHERE name = ?1";

const SET_CURSOR: &str = "\
UPDATE cron_jobs SET cursor = ?2, updated_at = ?3 WHERE name = ?1";

const START_RUN: &str = "\
INSERT INTO cron_runs (job_id, trigger, started_at, status)
SELECT id, ?2, ?3, 'running' FROM cron_jobs WHERE name = ?1
RETURNING id";

const FINISH_RUN: &str = "\
UPDATE cron_runs SET ended_at = ?2, duration_ms = ?2 - started_at, status = ?3, error = ?4,
    counts = ?5
WHERE id = ?1";

const LIST_RUNS: &str = "\
SELECT r.id AS id, j.name AS job, r.trigger AS run_trigger, r.started_at AS started_at,
    r.ended_at AS ended_at, r.duration_ms AS duration_ms, r.status AS status, r.error AS error,
    r.counts AS counts
FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id
WHERE j.name = ?1 ORDER BY r.started_at DESC, r.id DESC LIMIT ?2";

#[derive(Debug, Deserialize)]
struct JobRow {
    name: String,
    schedule: String,
    is_enabled: f64,
    cursor: Option<String>,
    lease_until: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RunIdRow {
    id: f64,
}

#[derive(Debug, Deserialize)]
struct RunRow {
    id: f64,
    job: String,
    run_trigger: String,
    started_at: f64,
    ended_at: Option<f64>,
    duration_ms: Option<f64>,
    status: String,
    error: Option<String>,
    counts: Option<String>,
}

impl TryFrom<RunRow> for CronRun {
    type Error = StoreError;

    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        let id = read_int(RUNS, None, "id", r.id)?;
        let at = Some(id);
        Ok(CronRun {
            id: CronRunId(id),
            job: r.job,
            trigger: RunTrigger::parse(&r.run_trigger)?,
            started_at: read_int(RUNS, at, "started_at", r.started_at)?,
            ended_at: read_opt_int(RUNS, at, "ended_at", r.ended_at)?,
            duration_ms: read_opt_int(RUNS, at, "duration_ms", r.duration_ms)?,
            status: RunStatus::parse(&r.status)?,
            error: r.error,
            counts: r.counts.as_deref().map(RunCounts::from_json).transpose()?,
        })
    }
}

impl CronStore for D1Store {
    async fn cron_job(&self, name: &str) -> Result<Option<CronJob>, StoreError> {
        let stmt = self.stmt(CRON_JOB, &[text(name)])?;
        let res = self.exec(stmt, JOB).await?;
        decode::<JobRow>("cron_jobs", &res)?
            .into_iter()
            .next()
            .map(|r| {
                Ok(CronJob {
                    enabled: r.is_enabled != 0.0,
                    lease_until: read_opt_int("cron_jobs", None, "lease_until", r.lease_until)?,
                    name: r.name,
                    schedule: r.schedule,
                    cursor: r.cursor,
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
        let stmt = self.stmt(
            CLAIM_LEASE,
            &[
                text(name),
                int("now", now_ms)?,
                int("lease until", until_ms)?,
            ],
        )?;
        let res = self.exec(stmt, JOB).await?;
        Ok(changes(&res)? == 1)
    }

    async fn release_lease(&self, name: &str, until_ms: i64) -> Result<(), StoreError> {
        let stmt = self.stmt(RELEASE_LEASE, &[text(name), int("lease until", until_ms)?])?;
        self.exec(stmt, JOB).await.map(|_| ())
    }

    async fn set_job_enabled(
        &self,
        name: &str,
        enabled: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let stmt = self.stmt(
            SET_ENABLED,
            &[text(name), flag(enabled), int("now", now_ms)?],
        )?;
        let res = self.exec(stmt, JOB).await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound(JOB));
        }
        Ok(())
    }

    async fn set_cursor(
        &self,
        name: &str,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let stmt = self.stmt(
            SET_CURSOR,
            &[text(name), opt_text(cursor), int("now", now_ms)?],
        )?;
        let res = self.exec(stmt, JOB).await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound(JOB));
        }
        Ok(())
    }

    async fn start_run(
        &self,
        name: &str,
        trigger: RunTrigger,
        started_at: i64,
    ) -> Result<CronRunId, StoreError> {
        let stmt = self.stmt(
            START_RUN,
            &[
                text(name),
                text(trigger.as_str()),
                int("started_at", started_at)?,
            ],
        )?;
        let res = self.exec(stmt, JOB).await?;
        let row = decode::<RunIdRow>(RUNS, &res)?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound(JOB))?;
        Ok(CronRunId(read_int(RUNS, None, "id", row.id)?))
    }

    async fn finish_run(&self, id: CronRunId, finish: &RunFinish) -> Result<(), StoreError> {
        validate_finish(finish)?;
        let counts = finish.counts.to_json();
        let stmt = self.stmt(
            FINISH_RUN,
            &[
                int("run id", id.0)?,
                int("ended_at", finish.ended_at)?,
                text(finish.status.as_str()),
                opt_text(finish.error.as_deref()),
                text(&counts),
            ],
        )?;
        let res = self.exec(stmt, "cron run").await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound("cron run"));
        }
        Ok(())
    }

    async fn list_runs(&self, name: &str, limit: u32) -> Result<Vec<CronRun>, StoreError> {
        let stmt = self.stmt(LIST_RUNS, &[text(name), count(limit)])?;
        self.rows::<RunRow, CronRun>(RUNS, stmt, JOB).await
    }
}
