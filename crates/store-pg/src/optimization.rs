//! [`OptimizationStore`] over Postgres. Every write is one statement: a status move is
//! `UPDATE … WHERE status IN (predecessors)` (the row lock serialises racers), a run insert is
//! `ON CONFLICT (job, symbol, tf, type, params_hash) DO NOTHING`. JSON columns are JSONB,
//! bound as text and read back as text, then parsed (JSONB re-formats the text). Tuned params
//! are one `INSERT … SELECT FROM unnest(…) ON CONFLICT (user_id, symbol_id) DO UPDATE`, after a
//! read that names a missing user, symbol or run.

use crate::rows::{limit_of, named as get, returned};
use crate::PgStore;
use cl_app::ports::optimization::{
    DefaultRr, JobProgress, JobStatus, JsonText, NewOptimizationJob, NewOptimizationRun,
    OptimizationJobId, OptimizationRunId, OptimizationStore, RiskPerTradePct, RunScore,
    StoredOptimizationJob, StoredOptimizationRun, TradingPrefs, TradingPrefsStore, TunedParams,
};
use cl_app::ports::{exact_int, StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const JT: &str = "optimization_jobs";
const RT: &str = "optimization_runs";

const JOB_COLS: &str = "id, grid::text AS grid, scope::text AS scope, status, progress, \
cursor::text AS cursor, error, created_by, created_at, started_at, finished_at";
const RUN_COLS: &str = "id, job_id, symbol_id, tf, pattern_type, params::text AS params, \
params_hash, rr, sl_buffer_pct, tp_method, entry_method, min_zone_pct, overlap, expiry_mult, \
metrics::text AS metrics, total_profit_pct, win_rate, sharpe, trade_count, created_at";

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
        returned(&rows, job_row, "insert returned no row")
    }

    async fn job(
        &self,
        id: OptimizationJobId,
    ) -> Result<Option<StoredOptimizationJob>, StoreError> {
        self.opt(
            &format!("SELECT {JOB_COLS} FROM optimization_jobs WHERE id = $1"),
            &[(&id.0, Type::INT8)],
            job_row,
        )
        .await
    }

    async fn jobs(
        &self,
        before: Option<(i64, OptimizationJobId)>,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationJob>, StoreError> {
        let limit = limit_of(limit)?;
        let (at, id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id.0)));
        self.all(
            &format!(
                "SELECT {JOB_COLS} FROM optimization_jobs \
                 WHERE $2::int8 IS NULL OR (created_at, id) < ($2, $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $1"
            ),
            &[(&limit, Type::INT8), (&at, Type::INT8), (&id, Type::INT8)],
            job_row,
        )
        .await
    }

    async fn next_active_job(&self) -> Result<Option<StoredOptimizationJob>, StoreError> {
        self.opt(
            &format!(
                "SELECT {JOB_COLS} FROM optimization_jobs \
                 WHERE status IN ('queued', 'running') ORDER BY created_at, id LIMIT 1"
            ),
            &[],
            job_row,
        )
        .await
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
        self.guarded_update(
            &update,
            JT,
            "optimization job",
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
        self.guarded_update(
            "UPDATE optimization_jobs SET progress = $2, cursor = $3::text::jsonb \
             WHERE id = $1 AND status = 'running'",
            JT,
            "optimization job",
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
        self.all(
            &format!(
                "SELECT {RUN_COLS} FROM optimization_runs WHERE job_id = $1 \
                 ORDER BY ({col} IS NULL), {col} DESC, id LIMIT $2"
            ),
            &[(&job.0, Type::INT8), (&limit, Type::INT8)],
            run_row,
        )
        .await
    }
}

const UT: &str = "users";
const PT: &str = "user_symbol_preferences";

impl TradingPrefsStore for PgStore<'_> {
    async fn trading_prefs(&self, user: UserId) -> Result<Option<TradingPrefs>, StoreError> {
        let rows = self
            .query(
                "SELECT id, risk_per_trade, default_rr FROM users WHERE id = $1",
                &[(&user.0, Type::INT8)],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let bad = |e| StoreError::corrupt(UT, Some(user.0), e);
        Ok(Some(TradingPrefs {
            risk_per_trade_pct: get::<Option<f64>>(row, UT, "risk_per_trade")?
                .map(RiskPerTradePct::new)
                .transpose()
                .map_err(bad)?,
            default_rr: get::<Option<f64>>(row, UT, "default_rr")?
                .map(DefaultRr::new)
                .transpose()
                .map_err(bad)?,
        }))
    }

    async fn set_trading_prefs(
        &self,
        user: UserId,
        prefs: &TradingPrefs,
    ) -> Result<(), StoreError> {
        let risk = prefs.risk_per_trade_pct.map(RiskPerTradePct::get);
        let rr = prefs.default_rr.map(DefaultRr::get);
        let rows = self
            .query(
                "UPDATE users SET risk_per_trade = $2, default_rr = $3 WHERE id = $1 RETURNING id",
                &[
                    (&user.0, Type::INT8),
                    (&risk, Type::FLOAT8),
                    (&rr, Type::FLOAT8),
                ],
            )
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn tuned_params(&self, user: UserId) -> Result<Vec<TunedParams>, StoreError> {
        self.query(
            "SELECT id, symbol_id, pattern_params::text AS pattern_params, optimization_run_id, \
             updated_at FROM user_symbol_preferences \
             WHERE user_id = $1 AND params_source = 'optimizer' AND pattern_params IS NOT NULL \
             ORDER BY symbol_id",
            &[(&user.0, Type::INT8)],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(TunedParams {
                symbol: SymbolId(get(row, PT, "symbol_id")?),
                params: required(json(row, PT, "pattern_params")?, PT)?,
                run: get::<Option<i64>>(row, PT, "optimization_run_id")?.map(OptimizationRunId),
                updated_at: get(row, PT, "updated_at")?,
            })
        })
        .collect()
    }

    async fn apply_tuned_params(
        &self,
        user: UserId,
        params: &[TunedParams],
    ) -> Result<(), StoreError> {
        let symbols: Vec<i64> = params.iter().map(|p| p.symbol.0).collect();
        let texts: Vec<String> = params.iter().map(|p| p.params.text()).collect();
        let runs: Vec<Option<i64>> = params.iter().map(|p| p.run.map(|r| r.0)).collect();
        let known_runs: Vec<i64> = runs.iter().flatten().copied().collect();
        let times: Vec<i64> = params
            .iter()
            .map(|p| exact_int("updated_at", p.updated_at))
            .collect::<Result<_, _>>()?;
        // Name what is missing before the write (a foreign key error does not say which).
        let probe = self
            .query(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS user_ok, \
                 (SELECT count(DISTINCT id) FROM symbols WHERE id = ANY($2)) AS symbols, \
                 (SELECT count(DISTINCT id) FROM optimization_runs WHERE id = ANY($3)) AS runs, \
                 cardinality(ARRAY(SELECT DISTINCT unnest($2::int8[]))) AS want_symbols, \
                 cardinality(ARRAY(SELECT DISTINCT unnest($3::int8[]))) AS want_runs",
                &[
                    (&user.0, Type::INT8),
                    (&symbols, Type::INT8_ARRAY),
                    (&known_runs, Type::INT8_ARRAY),
                ],
            )
            .await?;
        let row = probe
            .first()
            .ok_or_else(|| StoreError::Unavailable("no answer".into()))?;
        if !get::<bool>(row, PT, "user_ok")? {
            return Err(StoreError::NotFound("user"));
        }
        let count = |c: &str| -> Result<i64, StoreError> {
            get::<Option<i64>>(row, PT, c).map(|v| v.unwrap_or(0))
        };
        if count("symbols")? != i64::from(get::<i32>(row, PT, "want_symbols")?) {
            return Err(StoreError::NotFound("symbol"));
        }
        if count("runs")? != i64::from(get::<i32>(row, PT, "want_runs")?) {
            return Err(StoreError::NotFound("optimization run"));
        }
        self.query(
            "INSERT INTO user_symbol_preferences (user_id, symbol_id, pattern_params, \
             params_source, optimization_run_id, updated_at) \
             SELECT $1, x.s, x.p::jsonb, 'optimizer', x.r, x.t \
             FROM unnest($2::int8[], $3::text[], $4::int8[], $5::int8[]) AS x(s, p, r, t) \
             ON CONFLICT (user_id, symbol_id) DO UPDATE SET \
             pattern_params = EXCLUDED.pattern_params, params_source = 'optimizer', \
             optimization_run_id = EXCLUDED.optimization_run_id, \
             updated_at = EXCLUDED.updated_at",
            &[
                (&user.0, Type::INT8),
                (&symbols, Type::INT8_ARRAY),
                (&texts, Type::TEXT_ARRAY),
                (&runs, Type::INT8_ARRAY),
                (&times, Type::INT8_ARRAY),
            ],
        )
        .await?;
        Ok(())
    }

    async fn clear_tuned_params(&self, user: UserId, now: i64) -> Result<u64, StoreError> {
        exact_int("now", now)?;
        let rows = self
            .query(
                "UPDATE user_symbol_preferences SET pattern_params = NULL, \
                 params_source = NULL, optimization_run_id = NULL, updated_at = $2 \
                 WHERE user_id = $1 AND params_source = 'optimizer' RETURNING id",
                &[(&user.0, Type::INT8), (&now, Type::INT8)],
            )
            .await?;
        Ok(rows.len() as u64)
    }
}
