//! [`OptimizationStore`] over Postgres. Every write is one statement: a status move is
//! `UPDATE … WHERE status IN (predecessors)` (the row lock serialises racers), a run insert is
//! `ON CONFLICT (job, symbol, tf, type, params_hash) DO NOTHING`. JSON columns are JSONB,
//! bound as text and read back as text, then parsed (JSONB re-formats the text).

use crate::PgStore;
use cl_app::ports::optimization::{
    JobProgress, JobStatus, JsonText, NewOptimizationJob, NewOptimizationRun, OptimizationJobId,
    OptimizationRunId, OptimizationStore, RunScore, StoredOptimizationJob, StoredOptimizationRun,
};
use cl_app::ports::{exact_int, StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

const JT: &str = "optimization_jobs";
const RT: &str = "optimization_runs";

const JOB_COLS: &str = "id, grid::text AS grid, scope::text AS scope, status, progress, \
cursor::text AS cursor, error, created_by, created_at, started_at, finished_at";
const RUN_COLS: &str = "id, job_id, symbol_id, tf, pattern_type, params::text AS params, \
params_hash, rr, sl_buffer_pct, tp_method, entry_method, min_zone_pct, overlap, expiry_mult, \
metrics::text AS metrics, total_profit_pct, win_rate, sharpe, trade_count, created_at";

fn get<'r, V: FromSql<'r>>(row: &'r Row, table: &'static str, col: &str) -> Result<V, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(table, row.try_get::<_, i64>("id").ok(), e))
}

fn json(row: &Row, table: &'static str, col: &str) -> Result<Option<JsonText>, StoreError> {
    get::<Option<String>>(row, table, col)?
        .map(|t| JsonText::parse(&t).map_err(|e| StoreError::corrupt(table, None, e)))
        .transpose()
}

fn required(v: Option<JsonText>, table: &'static str) -> Result<JsonText, StoreError> {
    v.ok_or_else(|| StoreError::corrupt(table, None, "null JSON"))
}

fn job_row(row: &Row) -> Result<StoredOptimizationJob, StoreError> {
    let status: String = get(row, JT, "status")?;
    Ok(StoredOptimizationJob {
        id: OptimizationJobId(get(row, JT, "id")?),
        new: NewOptimizationJob {
            grid: required(json(row, JT, "grid")?, JT)?,
            scope: required(json(row, JT, "scope")?, JT)?,
            created_by: get::<Option<i64>>(row, JT, "created_by")?.map(UserId),
            created_at: get(row, JT, "created_at")?,
        },
        status: JobStatus::parse(&status).map_err(|e| StoreError::corrupt(JT, None, e))?,
        progress: get(row, JT, "progress")?,
        cursor: json(row, JT, "cursor")?,
        error: get(row, JT, "error")?,
        started_at: get(row, JT, "started_at")?,
        finished_at: get(row, JT, "finished_at")?,
    })
}

fn run_row(row: &Row) -> Result<StoredOptimizationRun, StoreError> {
    let bad = |e: String| StoreError::corrupt(RT, None, e);
    let tf: String = get(row, RT, "tf")?;
    let pt: String = get(row, RT, "pattern_type")?;
    let count: i64 = get(row, RT, "trade_count")?;
    Ok(StoredOptimizationRun {
        id: OptimizationRunId(get(row, RT, "id")?),
        new: NewOptimizationRun {
            job: OptimizationJobId(get(row, RT, "job_id")?),
            symbol: SymbolId(get(row, RT, "symbol_id")?),
            tf: Timeframe::parse(&tf).map_err(|e| bad(e.to_string()))?,
            pattern_type: PatternType::parse(&pt).map_err(|e| bad(e.to_string()))?,
            params: required(json(row, RT, "params")?, RT)?,
            params_key: get(row, RT, "params_hash")?,
            rr: get(row, RT, "rr")?,
            sl_buffer_pct: get(row, RT, "sl_buffer_pct")?,
            tp_method: get(row, RT, "tp_method")?,
            entry_method: get(row, RT, "entry_method")?,
            min_zone_pct: get(row, RT, "min_zone_pct")?,
            overlap: get(row, RT, "overlap")?,
            expiry_mult: get(row, RT, "expiry_mult")?,
            metrics: json(row, RT, "metrics")?,
            total_profit_pct: get(row, RT, "total_profit_pct")?,
            win_rate: get(row, RT, "win_rate")?,
            sharpe: get(row, RT, "sharpe")?,
            trade_count: u32::try_from(count).map_err(|e| bad(e.to_string()))?,
            created_at: get(row, RT, "created_at")?,
        },
    })
}

/// `status IN (…)` for the statuses that may move to `to` (static words of the enum).
fn from_clause(to: JobStatus) -> String {
    let words: Vec<String> = to
        .predecessors()
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    if words.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("status IN ({})", words.join(", "))
    }
}

fn limit_of(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    Ok(i64::from(limit))
}

impl PgStore<'_> {
    /// A conditional update answering `(changed, found)` in one statement.
    async fn job_update(
        &self,
        update: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "WITH up AS ({update} RETURNING id) SELECT (SELECT count(*) FROM up) AS changed, \
             EXISTS (SELECT 1 FROM optimization_jobs WHERE id = $1) AS found"
        );
        let rows = self.query(&sql, params).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Unavailable("no answer".into()))?;
        let changed: i64 = get(row, JT, "changed")?;
        let found: bool = get(row, JT, "found")?;
        if !found {
            return Err(StoreError::NotFound("optimization job"));
        }
        Ok(changed > 0)
    }
}

impl OptimizationStore for PgStore<'_> {
    async fn create_job(
        &self,
        new: &NewOptimizationJob,
    ) -> Result<StoredOptimizationJob, StoreError> {
        exact_int("created_at", new.created_at)?;
        let by = new.created_by.map(|u| u.0);
        let rows = self
            .query(
                &format!(
                    "INSERT INTO optimization_jobs (grid, scope, status, progress, created_by, \
                     created_at) VALUES ($1::text::jsonb, $2::text::jsonb, 'queued', 0, $3, $4) \
                     RETURNING {JOB_COLS}"
                ),
                &[
                    (&new.grid.text(), Type::TEXT),
                    (&new.scope.text(), Type::TEXT),
                    (&by, Type::INT8),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => StoreError::NotFound("user"),
                other => other,
            })?;
        rows.first()
            .map(job_row)
            .unwrap_or_else(|| Err(StoreError::Unavailable("insert returned no row".into())))
    }

    async fn job(
        &self,
        id: OptimizationJobId,
    ) -> Result<Option<StoredOptimizationJob>, StoreError> {
        self.query(
            &format!("SELECT {JOB_COLS} FROM optimization_jobs WHERE id = $1"),
            &[(&id.0, Type::INT8)],
        )
        .await?
        .first()
        .map(job_row)
        .transpose()
    }

    async fn jobs(&self, limit: u32) -> Result<Vec<StoredOptimizationJob>, StoreError> {
        let limit = limit_of(limit)?;
        self.query(
            &format!(
                "SELECT {JOB_COLS} FROM optimization_jobs \
                 ORDER BY created_at DESC, id DESC LIMIT $1"
            ),
            &[(&limit, Type::INT8)],
        )
        .await?
        .iter()
        .map(job_row)
        .collect()
    }

    async fn set_job_status(
        &self,
        id: OptimizationJobId,
        to: JobStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let running = to == JobStatus::Running;
        let terminal = to.is_terminal();
        let update = format!(
            "UPDATE optimization_jobs SET status = $2, \
             started_at = CASE WHEN $5 THEN COALESCE(started_at, $4) ELSE started_at END, \
             finished_at = CASE WHEN $6 THEN $4 ELSE finished_at END, \
             error = CASE WHEN $6 THEN COALESCE($3, error) ELSE error END \
             WHERE id = $1 AND {}",
            from_clause(to)
        );
        self.job_update(
            &update,
            &[
                (&id.0, Type::INT8),
                (&to.as_str(), Type::TEXT),
                (&error, Type::TEXT),
                (&now, Type::INT8),
                (&running, Type::BOOL),
                (&terminal, Type::BOOL),
            ],
        )
        .await
    }

    async fn save_job_progress(
        &self,
        id: OptimizationJobId,
        progress: &JobProgress,
    ) -> Result<bool, StoreError> {
        progress.validate()?;
        let cursor = progress.cursor.as_ref().map(JsonText::text);
        self.job_update(
            "UPDATE optimization_jobs SET progress = $2, cursor = $3::text::jsonb \
             WHERE id = $1 AND status = 'running'",
            &[
                (&id.0, Type::INT8),
                (&progress.progress, Type::FLOAT8),
                (&cursor, Type::TEXT),
            ],
        )
        .await
    }

    async fn insert_run(
        &self,
        r: &NewOptimizationRun,
    ) -> Result<Option<OptimizationRunId>, StoreError> {
        r.validate()?;
        let metrics = r.metrics.as_ref().map(JsonText::text);
        let count = i64::from(r.trade_count);
        let result = self
            .query(
                "INSERT INTO optimization_runs (job_id, symbol_id, tf, pattern_type, params, \
                 params_hash, rr, sl_buffer_pct, tp_method, entry_method, min_zone_pct, overlap, \
                 expiry_mult, metrics, total_profit_pct, win_rate, sharpe, trade_count, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14::text::jsonb, $15, $16, $17, $18, $19, $19) \
                 ON CONFLICT (job_id, symbol_id, tf, pattern_type, params_hash) DO NOTHING \
                 RETURNING id",
                &[
                    (&r.job.0, Type::INT8),
                    (&r.symbol.0, Type::INT8),
                    (&r.tf.as_str(), Type::TEXT),
                    (&r.pattern_type.as_str(), Type::TEXT),
                    (&r.params.text(), Type::TEXT),
                    (&r.params_key, Type::TEXT),
                    (&r.rr, Type::FLOAT8),
                    (&r.sl_buffer_pct, Type::FLOAT8),
                    (&r.tp_method, Type::TEXT),
                    (&r.entry_method, Type::TEXT),
                    (&r.min_zone_pct, Type::FLOAT8),
                    (&r.overlap, Type::FLOAT8),
                    (&r.expiry_mult, Type::FLOAT8),
                    (&metrics, Type::TEXT),
                    (&r.total_profit_pct, Type::FLOAT8),
                    (&r.win_rate, Type::FLOAT8),
                    (&r.sharpe, Type::FLOAT8),
                    (&count, Type::INT8),
                    (&r.created_at, Type::INT8),
                ],
            )
            .await;
        match result {
            Ok(rows) => rows
                .first()
                .map(|row| get::<i64>(row, RT, "id").map(OptimizationRunId))
                .transpose(),
            Err(StoreError::NotFound(what)) => Err(StoreError::NotFound(if what == "symbol" {
                "symbol"
            } else {
                "optimization job"
            })),
            Err(e) => Err(e),
        }
    }

    async fn best_runs(
        &self,
        job: OptimizationJobId,
        score: RunScore,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationRun>, StoreError> {
        let limit = limit_of(limit)?;
        let col = score.column();
        self.query(
            &format!(
                "SELECT {RUN_COLS} FROM optimization_runs WHERE job_id = $1 \
                 ORDER BY ({col} IS NULL), {col} DESC, id LIMIT $2"
            ),
            &[(&job.0, Type::INT8), (&limit, Type::INT8)],
        )
        .await?
        .iter()
        .map(run_row)
        .collect()
    }
}
