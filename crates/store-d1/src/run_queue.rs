//! [`RunQueueStore`] over D1. Every call is ONE statement: the claim is
//! `UPDATE … WHERE id = (SELECT the oldest claimable) AND (still claimable) RETURNING …`, which
//! D1 runs serialised, so two dispatch triggers never both win a run; progress and finish are
//! `UPDATE … WHERE id = ? AND status = 'running' AND lease_until = ? RETURNING id` (an empty
//! result: the lease was lost). Counts are the `cron_runs` JSON object.

use crate::rows::FoundRow;
use crate::values::{count, flag, int, opt_int, opt_text, read_int, read_opt_int, text};
use crate::{decode, D1Store};
use cl_app::cron::{CronRun, CronRunId, RunCounts, RunStatus, RunTrigger};
use cl_app::ports::run_queue::{
    validate_claim, NewQueuedRun, QueueStatus, QueuedRun, QueuedRunFinish, QueuedRunId, RunKind,
    RunProgress, RunQueueStore, RunSource,
};
use cl_app::ports::{Cursor, StoreError, SymbolId, UserId};
use cl_domain::Timeframe;
use serde::Deserialize;

const T: &str = "run_queue";
const COLS: &str = "id, kind, symbol_id, tf, requested_by, source, from_ms, status, cursor, \
progress, attempts, lease_until, created_at, started_at, ended_at, error, counts, cron_run_id";
const CLAIMABLE: &str = "(status = 'queued' OR (status = 'running' AND \
(lease_until IS NULL OR lease_until <= ?2)))";

#[derive(Deserialize)]
struct Row {
    id: f64,
    kind: String,
    symbol_id: Option<f64>,
    tf: Option<String>,
    requested_by: Option<f64>,
    source: String,
    from_ms: Option<f64>,
    status: String,
    cursor: Option<f64>,
    progress: f64,
    attempts: f64,
    lease_until: Option<f64>,
    created_at: f64,
    started_at: Option<f64>,
    ended_at: Option<f64>,
    error: Option<String>,
    counts: Option<String>,
    cron_run_id: Option<f64>,
}

impl TryFrom<Row> for QueuedRun {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let small = |what: &'static str, v: f64| -> Result<u32, StoreError> {
            u32::try_from(read_int(T, at, what, v)?)
                .map_err(|_| StoreError::corrupt(T, at, format!("{what} out of range")))
        };
        Ok(QueuedRun {
            id: QueuedRunId(id),
            new: NewQueuedRun {
                kind: RunKind::parse(&r.kind)?,
                symbol: read_opt_int(T, at, "symbol_id", r.symbol_id)?.map(SymbolId),
                tf: r
                    .tf
                    .map(|t| {
                        Timeframe::parse(&t).map_err(|e| StoreError::corrupt(T, at, e.to_string()))
                    })
                    .transpose()?,
                requested_by: read_opt_int(T, at, "requested_by", r.requested_by)?.map(UserId),
                source: RunSource::parse(&r.source)?,
                from_ms: read_opt_int(T, at, "from_ms", r.from_ms)?,
                created_at: read_int(T, at, "created_at", r.created_at)?,
            },
            status: QueueStatus::parse(&r.status)?,
            cursor: read_opt_int(T, at, "cursor", r.cursor)?,
            progress: u8::try_from(small("progress", r.progress)?.min(100)).unwrap_or(100),
            attempts: small("attempts", r.attempts)?,
            lease_until: read_opt_int(T, at, "lease_until", r.lease_until)?,
            started_at: read_opt_int(T, at, "started_at", r.started_at)?,
            ended_at: read_opt_int(T, at, "ended_at", r.ended_at)?,
            error: r.error,
            counts: r.counts.as_deref().map(RunCounts::from_json).transpose()?,
            cron_run: read_opt_int(T, at, "cron_run_id", r.cron_run_id)?.map(CronRunId),
        })
    }
}

#[derive(Deserialize)]
struct IdRow {
    #[allow(dead_code)]
    id: f64,
}

#[derive(Deserialize)]
struct CronRow {
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

impl TryFrom<CronRow> for CronRun {
    type Error = StoreError;

    fn try_from(r: CronRow) -> Result<Self, StoreError> {
        let id = read_int("cron_runs", None, "id", r.id)?;
        let at = Some(id);
        Ok(CronRun {
            id: CronRunId(id),
            job: r.job,
            trigger: RunTrigger::parse(&r.run_trigger)?,
            started_at: read_int("cron_runs", at, "started_at", r.started_at)?,
            ended_at: read_opt_int("cron_runs", at, "ended_at", r.ended_at)?,
            duration_ms: read_opt_int("cron_runs", at, "duration_ms", r.duration_ms)?,
            status: RunStatus::parse(&r.status)?,
            error: r.error,
            counts: r.counts.as_deref().map(RunCounts::from_json).transpose()?,
        })
    }
}

impl D1Store {
    async fn one_run(
        &self,
        sql: &str,
        args: &[worker::wasm_bindgen::JsValue],
    ) -> Result<Option<QueuedRun>, StoreError> {
        let stmt = self.stmt(sql, args)?;
        self.opt_row::<Row, QueuedRun>(T, stmt, "run").await
    }

    async fn changed(
        &self,
        sql: &str,
        args: &[worker::wasm_bindgen::JsValue],
    ) -> Result<bool, StoreError> {
        let stmt = self.stmt(sql, args)?;
        let res = self.exec(stmt, "run").await?;
        Ok(!decode::<IdRow>(T, &res)?.is_empty())
    }
}

impl RunQueueStore for D1Store {
    async fn enqueue_run(&self, new: &NewQueuedRun) -> Result<QueuedRun, StoreError> {
        new.validate()?;
        let sql = format!(
            "INSERT INTO run_queue (kind, symbol_id, tf, requested_by, source, from_ms, status, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7) RETURNING {COLS}"
        );
        let args = [
            text(new.kind.as_str()),
            opt_int("symbol id", new.symbol.map(|s| s.0))?,
            opt_text(new.tf.map(Timeframe::as_str)),
            opt_int("user id", new.requested_by.map(|u| u.0))?,
            text(new.source.as_str()),
            opt_int("from_ms", new.from_ms)?,
            int("created_at", new.created_at)?,
        ];
        match self.one_run(&sql, &args).await {
            Ok(Some(run)) => Ok(run),
            Ok(None) => Err(StoreError::Unavailable("insert returned no row".into())),
            Err(StoreError::NotFound(_)) => {
                // The foreign key does not say which row is missing: ask.
                let probe = self.stmt(
                    "SELECT EXISTS (SELECT 1 FROM symbols WHERE id = ?1) AS found",
                    &[opt_int("symbol id", new.symbol.map(|s| s.0))?],
                )?;
                let res = self.exec(probe, "symbol").await?;
                let symbol = new.symbol.is_none()
                    || decode::<FoundRow>(T, &res)?
                        .first()
                        .is_some_and(|f| f.found != 0.0);
                Err(StoreError::NotFound(if symbol { "user" } else { "symbol" }))
            }
            Err(e) => Err(e),
        }
    }

    async fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError> {
        self.one_run(
            &format!("SELECT {COLS} FROM run_queue WHERE id = ?1"),
            &[int("run id", id.0)?],
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
        let sql = format!(
            "UPDATE run_queue SET status = 'running', started_at = COALESCE(started_at, ?2), \
             lease_until = ?3, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM run_queue WHERE id > ?1 AND {CLAIMABLE} \
             ORDER BY id LIMIT 1) AND {CLAIMABLE} RETURNING {COLS}"
        );
        self.one_run(
            &sql,
            &[
                int("after", after.map_or(0, |a| a.0))?,
                int("now", now_ms)?,
                int("lease_until", lease_until)?,
            ],
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
        self.changed(
            "UPDATE run_queue SET cursor = ?3, progress = ?4, counts = ?5, lease_until = NULL, \
             attempts = CASE WHEN ?6 THEN 0 ELSE attempts END \
             WHERE id = ?1 AND status = 'running' AND lease_until = ?2 RETURNING id",
            &[
                int("run id", id.0)?,
                int("lease_until", lease_until)?,
                opt_int("cursor", progress.cursor)?,
                count(u32::from(progress.progress)),
                text(&progress.counts.to_json()),
                flag(progress.reset_attempts),
            ],
        )
        .await
    }

    async fn finish_queued_run(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        finish: &QueuedRunFinish,
    ) -> Result<bool, StoreError> {
        finish.validate()?;
        self.changed(
            "UPDATE run_queue SET status = ?3, ended_at = ?4, error = ?5, counts = ?6, \
             cron_run_id = ?7, cursor = ?8, lease_until = NULL, \
             progress = CASE WHEN ?3 = 'ok' THEN 100 ELSE progress END \
             WHERE id = ?1 AND status = 'running' AND lease_until = ?2 RETURNING id",
            &[
                int("run id", id.0)?,
                int("lease_until", lease_until)?,
                text(finish.status.as_str()),
                int("ended_at", finish.ended_at)?,
                opt_text(finish.error.as_deref()),
                text(&finish.counts.to_json()),
                opt_int("cron run", finish.cron_run.map(|c| c.0))?,
                opt_int("cursor", finish.cursor)?,
            ],
        )
        .await
    }

    async fn cron_runs_page(
        &self,
        job: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CronRun>, StoreError> {
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let (ts, id) = before.map_or((None, None), |c| (Some(c.ts), Some(c.id)));
        let stmt = self.stmt(
            "SELECT r.id AS id, j.name AS job, r.trigger AS run_trigger, \
             r.started_at AS started_at, r.ended_at AS ended_at, r.duration_ms AS duration_ms, \
             r.status AS status, r.error AS error, r.counts AS counts \
             FROM cron_runs r JOIN cron_jobs j ON j.id = r.job_id \
             WHERE j.name = ?1 AND (?2 IS NULL OR r.started_at < ?2 \
             OR (r.started_at = ?2 AND r.id < ?3)) \
             ORDER BY r.started_at DESC, r.id DESC LIMIT ?4",
            &[
                text(job),
                opt_int("cursor ts", ts)?,
                opt_int("cursor id", id)?,
                count(limit),
            ],
        )?;
        self.rows::<CronRow, CronRun>("cron_runs", stmt, "cron job")
            .await
    }
}
