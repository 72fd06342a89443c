//! [`OptimizationStore`] over D1. A status move or progress save is one `batch()` (D1 runs it
//! as one serialised transaction): `UPDATE … WHERE status IN (predecessors)` and an existence
//! probe, the change read from `meta.changes`. A run insert is `ON CONFLICT (job, symbol, tf,
//! type, params_hash) DO NOTHING RETURNING id`. JSON columns are TEXT (`json_valid` checked by
//! the schema), parsed on read; integers go through the exact-int helpers. Tuned params are
//! ONE `INSERT … SELECT FROM json_each(?) … ON CONFLICT (user_id, symbol_id) DO UPDATE`; a
//! foreign-key failure is followed by probes naming the missing user, symbol or run.

use crate::rows::FoundRow;
use crate::values::{
    count, flag, int, opt_int, opt_real, opt_text, read_int, read_opt_int, real, text,
};
use crate::{changes, decode, D1Store};
use cl_app::ports::optimization::{
    DefaultRr, JobProgress, JobStatus, JsonText, NewOptimizationJob, NewOptimizationRun,
    OptimizationJobId, OptimizationRunId, OptimizationStore, RiskPerTradePct, RunScore,
    StoredOptimizationJob, StoredOptimizationRun, TradingPrefs, TradingPrefsStore, TunedParams,
};
use cl_app::ports::{exact_int, StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};
use serde::Deserialize;

const JT: &str = "optimization_jobs";
const RT: &str = "optimization_runs";

const JOB_COLS: &str = "id, grid, scope, status, progress, cursor, error, created_by, \
created_at, started_at, finished_at";
const RUN_COLS: &str = "id, job_id, symbol_id, tf, pattern_type, params, params_hash, rr, \
sl_buffer_pct, tp_method, entry_method, min_zone_pct, overlap, expiry_mult, metrics, \
total_profit_pct, win_rate, sharpe, trade_count, created_at";

fn json(table: &'static str, id: Option<i64>, s: &str) -> Result<JsonText, StoreError> {
    JsonText::parse(s).map_err(|e| StoreError::corrupt(table, id, e))
}

#[derive(Deserialize)]
struct JobRow {
    id: f64,
    grid: String,
    scope: String,
    status: String,
    progress: f64,
    cursor: Option<String>,
    error: Option<String>,
    created_by: Option<f64>,
    created_at: f64,
    started_at: Option<f64>,
    finished_at: Option<f64>,
}

impl TryFrom<JobRow> for StoredOptimizationJob {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let id = read_int(JT, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredOptimizationJob {
            id: OptimizationJobId(id),
            new: NewOptimizationJob {
                grid: json(JT, at, &r.grid)?,
                scope: json(JT, at, &r.scope)?,
                created_by: read_opt_int(JT, at, "created_by", r.created_by)?.map(UserId),
                created_at: read_int(JT, at, "created_at", r.created_at)?,
            },
            status: JobStatus::parse(&r.status).map_err(|e| StoreError::corrupt(JT, at, e))?,
            progress: r.progress,
            cursor: r.cursor.map(|c| json(JT, at, &c)).transpose()?,
            error: r.error,
            started_at: read_opt_int(JT, at, "started_at", r.started_at)?,
            finished_at: read_opt_int(JT, at, "finished_at", r.finished_at)?,
        })
    }
}

#[derive(Deserialize)]
struct RunRow {
    id: f64,
    job_id: f64,
    symbol_id: f64,
    tf: String,
    pattern_type: String,
    params: String,
    params_hash: String,
    rr: f64,
    sl_buffer_pct: f64,
    tp_method: String,
    entry_method: String,
    min_zone_pct: f64,
    overlap: f64,
    expiry_mult: f64,
    metrics: Option<String>,
    total_profit_pct: Option<f64>,
    win_rate: Option<f64>,
    sharpe: Option<f64>,
    trade_count: f64,
    created_at: f64,
}

impl TryFrom<RunRow> for StoredOptimizationRun {
    type Error = StoreError;

    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        let id = read_int(RT, None, "id", r.id)?;
        let at = Some(id);
        let bad = |e: String| StoreError::corrupt(RT, at, e);
        Ok(StoredOptimizationRun {
            id: OptimizationRunId(id),
            new: NewOptimizationRun {
                job: OptimizationJobId(read_int(RT, at, "job_id", r.job_id)?),
                symbol: SymbolId(read_int(RT, at, "symbol_id", r.symbol_id)?),
                tf: Timeframe::parse(&r.tf).map_err(|e| bad(e.to_string()))?,
                pattern_type: PatternType::parse(&r.pattern_type)
                    .map_err(|e| bad(e.to_string()))?,
                params: json(RT, at, &r.params)?,
                params_key: r.params_hash,
                rr: r.rr,
                sl_buffer_pct: r.sl_buffer_pct,
                tp_method: r.tp_method,
                entry_method: r.entry_method,
                min_zone_pct: r.min_zone_pct,
                overlap: r.overlap,
                expiry_mult: r.expiry_mult,
                metrics: r.metrics.map(|m| json(RT, at, &m)).transpose()?,
                total_profit_pct: r.total_profit_pct,
                win_rate: r.win_rate,
                sharpe: r.sharpe,
                trade_count: u32::try_from(read_int(RT, at, "trade_count", r.trade_count)?)
                    .map_err(|e| bad(e.to_string()))?,
                created_at: read_int(RT, at, "created_at", r.created_at)?,
            },
        })
    }
}

#[derive(Deserialize)]
struct IdRow {
    id: f64,
}

/// `status IN (…)` for the statuses that may move to `to` (static words of the enum).
fn from_clause(to: JobStatus) -> String {
    let words: Vec<String> = to
        .predecessors()
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    if words.is_empty() {
        "0".to_owned()
    } else {
        format!("status IN ({})", words.join(", "))
    }
}

fn limit_of(limit: u32) -> Result<u32, StoreError> {
    if limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    Ok(limit)
}

impl OptimizationStore for D1Store {
    async fn create_job(
        &self,
        new: &NewOptimizationJob,
    ) -> Result<StoredOptimizationJob, StoreError> {
        let stmt = self.stmt(
            &format!(
                "INSERT INTO optimization_jobs (grid, scope, status, progress, created_by, \
                 created_at) VALUES (?1, ?2, 'queued', 0, ?3, ?4) RETURNING {JOB_COLS}"
            ),
            &[
                text(&new.grid.text()),
                text(&new.scope.text()),
                opt_int("user id", new.created_by.map(|u| u.0))?,
                int("created_at", new.created_at)?,
            ],
        )?;
        self.opt_row::<JobRow, StoredOptimizationJob>(JT, stmt, "user")
            .await?
            .ok_or_else(|| StoreError::Unavailable("insert returned no row".into()))
    }

    async fn job(
        &self,
        id: OptimizationJobId,
    ) -> Result<Option<StoredOptimizationJob>, StoreError> {
        let stmt = self.stmt(
            &format!("SELECT {JOB_COLS} FROM optimization_jobs WHERE id = ?1"),
            &[int("job id", id.0)?],
        )?;
        self.opt_row::<JobRow, StoredOptimizationJob>(JT, stmt, "optimization job")
            .await
    }

    async fn jobs(
        &self,
        before: Option<(i64, OptimizationJobId)>,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationJob>, StoreError> {
        let (at, id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id.0)));
        let stmt = self.stmt(
            &format!(
                "SELECT {JOB_COLS} FROM optimization_jobs \
                 WHERE ?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3) \
                 ORDER BY created_at DESC, id DESC LIMIT ?1"
            ),
            &[
                count(limit_of(limit)?),
                opt_int("before", at)?,
                opt_int("before id", id)?,
            ],
        )?;
        self.rows::<JobRow, StoredOptimizationJob>(JT, stmt, "optimization job")
            .await
    }

    async fn next_active_job(&self) -> Result<Option<StoredOptimizationJob>, StoreError> {
        let stmt = self.stmt(
            &format!(
                "SELECT {JOB_COLS} FROM optimization_jobs \
                 WHERE status IN ('queued', 'running') ORDER BY created_at, id LIMIT 1"
            ),
            &[],
        )?;
        self.opt_row::<JobRow, StoredOptimizationJob>(JT, stmt, "optimization job")
            .await
    }

    async fn set_job_status(
        &self,
        id: OptimizationJobId,
        to: JobStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let update = format!(
            "UPDATE optimization_jobs SET status = ?2, \
             started_at = CASE WHEN ?5 THEN COALESCE(started_at, ?4) ELSE started_at END, \
             finished_at = CASE WHEN ?6 THEN ?4 ELSE finished_at END, \
             error = CASE WHEN ?6 THEN COALESCE(?3, error) ELSE error END \
             WHERE id = ?1 AND {}",
            from_clause(to)
        );
        self.update_once(
            &update,
            JT,
            &[
                int("job id", id.0)?,
                text(to.as_str()),
                opt_text(error),
                int("now", now)?,
                flag(to == JobStatus::Running),
                flag(to.is_terminal()),
            ],
            "optimization job",
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
        self.update_once(
            "UPDATE optimization_jobs SET progress = ?2, cursor = ?3 \
             WHERE id = ?1 AND status = 'running'",
            JT,
            &[
                int("job id", id.0)?,
                real("progress", progress.progress)?,
                opt_text(cursor.as_deref()),
            ],
            "optimization job",
        )
        .await
    }

    async fn insert_run(
        &self,
        r: &NewOptimizationRun,
    ) -> Result<Option<OptimizationRunId>, StoreError> {
        r.validate()?;
        let metrics = r.metrics.as_ref().map(JsonText::text);
        let stmt = self.stmt(
            "INSERT INTO optimization_runs (job_id, symbol_id, tf, pattern_type, params, \
             params_hash, rr, sl_buffer_pct, tp_method, entry_method, min_zone_pct, overlap, \
             expiry_mult, metrics, total_profit_pct, win_rate, sharpe, trade_count, \
             created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18, ?19, ?19) \
             ON CONFLICT (job_id, symbol_id, tf, pattern_type, params_hash) DO NOTHING \
             RETURNING id",
            &[
                int("job id", r.job.0)?,
                int("symbol id", r.symbol.0)?,
                text(r.tf.as_str()),
                text(r.pattern_type.as_str()),
                text(&r.params.text()),
                text(&r.params_key),
                real("rr", r.rr)?,
                real("sl_buffer_pct", r.sl_buffer_pct)?,
                text(&r.tp_method),
                text(&r.entry_method),
                real("min_zone_pct", r.min_zone_pct)?,
                real("overlap", r.overlap)?,
                real("expiry_mult", r.expiry_mult)?,
                opt_text(metrics.as_deref()),
                opt_real("total_profit_pct", r.total_profit_pct)?,
                opt_real("win_rate", r.win_rate)?,
                opt_real("sharpe", r.sharpe)?,
                count(r.trade_count),
                int("created_at", r.created_at)?,
            ],
        )?;
        match self.exec(stmt, "optimization job").await {
            Ok(res) => decode::<IdRow>(RT, &res)?
                .first()
                .map(|row| read_int(RT, None, "id", row.id).map(OptimizationRunId))
                .transpose(),
            Err(StoreError::NotFound(_)) => {
                // The foreign key does not say which row is missing: ask.
                let probe = self.stmt(
                    "SELECT EXISTS (SELECT 1 FROM optimization_jobs WHERE id = ?1) AS found",
                    &[int("job id", r.job.0)?],
                )?;
                let res = self.exec(probe, "optimization job").await?;
                let job = decode::<FoundRow>(JT, &res)?
                    .first()
                    .is_some_and(|f| f.found != 0.0);
                Err(StoreError::NotFound(if job {
                    "symbol"
                } else {
                    "optimization job"
                }))
            }
            Err(e) => Err(e),
        }
    }

    async fn best_runs(
        &self,
        job: OptimizationJobId,
        score: RunScore,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationRun>, StoreError> {
        let col = score.column();
        let stmt = self.stmt(
            &format!(
                "SELECT {RUN_COLS} FROM optimization_runs WHERE job_id = ?1 \
                 ORDER BY ({col} IS NULL), {col} DESC, id LIMIT ?2"
            ),
            &[int("job id", job.0)?, count(limit_of(limit)?)],
        )?;
        self.rows::<RunRow, StoredOptimizationRun>(RT, stmt, "optimization job")
            .await
    }
}

const UT: &str = "users";
const PT: &str = "user_symbol_preferences";

#[derive(Deserialize)]
struct TradingRow {
    id: f64,
    risk_per_trade: Option<f64>,
    default_rr: Option<f64>,
}

impl TryFrom<TradingRow> for TradingPrefs {
    type Error = StoreError;

    fn try_from(r: TradingRow) -> Result<Self, StoreError> {
        let at = Some(read_int(UT, None, "id", r.id)?);
        let bad = |e| StoreError::corrupt(UT, at, e);
        Ok(TradingPrefs {
            risk_per_trade_pct: r
                .risk_per_trade
                .map(RiskPerTradePct::new)
                .transpose()
                .map_err(bad)?,
            default_rr: r.default_rr.map(DefaultRr::new).transpose().map_err(bad)?,
        })
    }
}

#[derive(Deserialize)]
struct TunedRow {
    id: f64,
    symbol_id: f64,
    pattern_params: String,
    optimization_run_id: Option<f64>,
    updated_at: f64,
}

impl TryFrom<TunedRow> for TunedParams {
    type Error = StoreError;

    fn try_from(r: TunedRow) -> Result<Self, StoreError> {
        let at = Some(read_int(PT, None, "id", r.id)?);
        Ok(TunedParams {
            symbol: SymbolId(read_int(PT, at, "symbol_id", r.symbol_id)?),
            params: json(PT, at, &r.pattern_params)?,
            run: read_opt_int(PT, at, "optimization_run_id", r.optimization_run_id)?
                .map(OptimizationRunId),
            updated_at: read_int(PT, at, "updated_at", r.updated_at)?,
        })
    }
}

impl D1Store {
    /// `SELECT EXISTS (…) AS found` with one parameter.
    async fn exists(
        &self,
        sql: &str,
        param: worker::wasm_bindgen::JsValue,
    ) -> Result<bool, StoreError> {
        let stmt = self.stmt(sql, &[param])?;
        let res = self.exec(stmt, "row").await?;
        Ok(decode::<FoundRow>(PT, &res)?
            .first()
            .is_some_and(|r| r.found != 0.0))
    }
}

impl TradingPrefsStore for D1Store {
    async fn trading_prefs(&self, user: UserId) -> Result<Option<TradingPrefs>, StoreError> {
        let stmt = self.stmt(
            "SELECT id, risk_per_trade, default_rr FROM users WHERE id = ?1",
            &[int("user id", user.0)?],
        )?;
        self.opt_row::<TradingRow, TradingPrefs>(UT, stmt, "user")
            .await
    }

    async fn set_trading_prefs(
        &self,
        user: UserId,
        prefs: &TradingPrefs,
    ) -> Result<(), StoreError> {
        let stmt = self.stmt(
            "UPDATE users SET risk_per_trade = ?2, default_rr = ?3 WHERE id = ?1",
            &[
                int("user id", user.0)?,
                opt_real(
                    "risk_per_trade",
                    prefs.risk_per_trade_pct.map(RiskPerTradePct::get),
                )?,
                opt_real("default_rr", prefs.default_rr.map(DefaultRr::get))?,
            ],
        )?;
        let res = self.exec(stmt, "user").await?;
        if changes(&res)? == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn tuned_params(&self, user: UserId) -> Result<Vec<TunedParams>, StoreError> {
        let stmt = self.stmt(
            "SELECT id, symbol_id, pattern_params, optimization_run_id, updated_at \
             FROM user_symbol_preferences WHERE user_id = ?1 AND params_source = 'optimizer' \
             AND pattern_params IS NOT NULL ORDER BY symbol_id",
            &[int("user id", user.0)?],
        )?;
        self.rows::<TunedRow, TunedParams>(PT, stmt, "user").await
    }

    async fn apply_tuned_params(
        &self,
        user: UserId,
        params: &[TunedParams],
    ) -> Result<(), StoreError> {
        // `[[symbol, {params}, run|null, updated_at], …]`; json_extract of an object gives its
        // JSON text back, which the schema's json_valid check accepts.
        let mut rows = Vec::with_capacity(params.len());
        for p in params {
            let run = p
                .run
                .map(|r| exact_int("run id", r.0))
                .transpose()?
                .map_or_else(|| "null".to_owned(), |r| r.to_string());
            rows.push(format!(
                "[{},{},{},{}]",
                exact_int("symbol id", p.symbol.0)?,
                p.params.text(),
                run,
                exact_int("updated_at", p.updated_at)?
            ));
        }
        let user_id = int("user id", user.0)?;
        // `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint.
        let stmt = self.stmt(
            "INSERT INTO user_symbol_preferences (user_id, symbol_id, pattern_params, \
             params_source, optimization_run_id, updated_at) \
             SELECT ?1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), \
             'optimizer', json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]') \
             FROM json_each(?2) j WHERE true \
             ON CONFLICT (user_id, symbol_id) DO UPDATE SET \
             pattern_params = excluded.pattern_params, params_source = 'optimizer', \
             optimization_run_id = excluded.optimization_run_id, \
             updated_at = excluded.updated_at",
            &[user_id.clone(), text(&format!("[{}]", rows.join(",")))],
        )?;
        match self.exec(stmt, "user").await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => {
                if !self
                    .exists(
                        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1) AS found",
                        user_id,
                    )
                    .await?
                {
                    return Err(StoreError::NotFound("user"));
                }
                for p in params {
                    if !self
                        .exists(
                            "SELECT EXISTS (SELECT 1 FROM symbols WHERE id = ?1) AS found",
                            int("symbol id", p.symbol.0)?,
                        )
                        .await?
                    {
                        return Err(StoreError::NotFound("symbol"));
                    }
                }
                Err(StoreError::NotFound("optimization run"))
            }
            Err(e) => Err(e),
        }
    }

    async fn clear_tuned_params(&self, user: UserId, now: i64) -> Result<u64, StoreError> {
        let stmt = self.stmt(
            "UPDATE user_symbol_preferences SET pattern_params = NULL, params_source = NULL, \
             optimization_run_id = NULL, updated_at = ?2 \
             WHERE user_id = ?1 AND params_source = 'optimizer'",
            &[int("user id", user.0)?, int("now", now)?],
        )?;
        let res = self.exec(stmt, "user").await?;
        changes(&res)
    }
}
