//! The admin optimizer and the user's trading preferences (product.md §8, §2, §3;
//! detection.md §8 "Optimizer").
//!
//! Design:
//! - A job is a grid search over `symbols × TFs × pattern types` (the "combos", in that order)
//!   × the grid points of [`OptimizerGrid`] (detection.md's rr {1..5} × SL buffer % {3..30} ×
//!   expiry multiplier {0.5, 1, 2} unless the admin narrows it). [`OptimizerService::create`]
//!   validates everything into typed values and stores the scope and grid as JSON.
//! - Work advances in chunks ([`run_chunk`]) from the every-minute dispatch job
//!   ([`continue_optimizations`]): one chunk = up to [`POINTS_PER_CHUNK`] grid points of one
//!   combo. The cursor `{combo, point}` is saved with the progress after each chunk, so a job
//!   resumes where it stopped; a run is inserted once per `(job, symbol, tf, type, params
//!   key)`, so a chunk repeated after a crash or by a racing invocation stores nothing twice
//!   and the result equals one run in one go (pinned by a test).
//! - Each grid point is simulated by the domain backtester (`run_backtest_scaled`) on the raw
//!   detections of the combo's stored candles in `[from, to)` (at most [`MAX_CANDLES`], the
//!   oldest first); nothing here re-implements the simulation.
//! - "Best params" per (symbol, type, TF) by total profit %, win rate or Sharpe with at least
//!   10 trades is `cl_domain::backtest::best_runs` over the stored runs (same rule and ties).
//! - Apply writes each symbol's best entries into the user's `user_symbol_preferences` (source
//!   `optimizer`, the best run's id recorded); clear removes them. Admin writes are audited.
//! - Trading prefs (risk per trade %, default R:R) are pro+ through the ONE policy
//!   (`Limits::risk_settings`); values are typed ([`RiskPerTradePct`], [`DefaultRr`]).

use crate::accounts::{Authenticated, FieldError};
use crate::admin::AuditContext;
use crate::backtests::stats_json;
use crate::policy::Access;
use crate::portfolio::{decimals, MAX_DECIMALS};
use crate::ports::admin::{AdminStore, NewAuditEntry};
use crate::ports::optimization::{
    DefaultRr, JobProgress, JobStatus, JsonText, NewOptimizationJob, NewOptimizationRun,
    OptimizationJobId, OptimizationRunId, OptimizationStore, RiskPerTradePct, RunScore,
    StoredOptimizationJob, StoredOptimizationRun, TradingPrefError, TradingPrefs,
    TradingPrefsStore, TunedParams,
};
use crate::ports::{CandleStore, StoreError, SymbolId, SymbolStore, UserId, UserStore};
use cl_domain::backtest::{
    best_runs, run_backtest_scaled, BacktestParams, BacktestStats, GridPoint, OptimizationRun,
    OptimizerGrid, SelectionMetric, RR_MAX, RR_MIN, SLIPPAGE_PCT_MAX, SL_BUFFER_PCT_MAX,
};
use cl_domain::detect::{detect, Mode};
use cl_domain::{DetectionParams, PatternType, Timeframe};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Grid points simulated per chunk.
pub const POINTS_PER_CHUNK: usize = 35;
/// Candles loaded per combo (the oldest in the range).
pub const MAX_CANDLES: u32 = 5_000;
/// Most symbols in one job.
pub const MAX_SYMBOLS: usize = 20;
/// Most values on one grid axis.
pub const MAX_AXIS_VALUES: usize = 10;
/// Largest expiry multiplier.
pub const EXPIRY_MULT_MAX: f64 = 5.0;
/// Most runs one job may produce (combos × grid points).
pub const MAX_RUNS_PER_JOB: usize = 5_000;
/// Longest date range (2 years, as for user backtests).
pub const MAX_RANGE_MS: i64 = 731 * 86_400_000;
/// Runs read for ranking: every run of the largest job.
const RUNS_READ: u32 = 5_000;

/// A job request as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobInput {
    /// Canonical symbols.
    pub symbols: Vec<String>,
    /// `5m` … `1d`.
    pub tfs: Vec<String>,
    /// Detector names.
    pub pattern_types: Vec<String>,
    /// Start (UTC ms, inclusive).
    pub from: i64,
    /// End (UTC ms, exclusive).
    pub to: i64,
    /// rr axis (default 1..5).
    pub rr: Option<Vec<f64>>,
    /// SL buffer % axis (default 3..30).
    pub sl_buffer_pct: Option<Vec<f64>>,
    /// Expiry multiplier axis (default 0.5, 1, 2).
    pub expiry_multiplier: Option<Vec<f64>>,
    /// Slippage % for every run (default 0).
    pub slippage_pct: Option<f64>,
}

/// What a job covers (stored as `optimization_jobs.scope`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobScope {
    /// `(id, canonical name)` of each symbol.
    pub symbols: Vec<(i64, String)>,
    /// Timeframes.
    pub tfs: Vec<Timeframe>,
    /// Detectors.
    pub pattern_types: Vec<PatternType>,
    /// Start (inclusive).
    pub from: i64,
    /// End (exclusive).
    pub to: i64,
    /// Slippage % of every run.
    pub slippage_pct: f64,
}

impl JobScope {
    /// Every `(symbol, tf, type)` in work order.
    pub fn combos(&self) -> Vec<(SymbolId, Timeframe, PatternType)> {
        let mut out = Vec::new();
        for (id, _) in &self.symbols {
            for tf in &self.tfs {
                for t in &self.pattern_types {
                    out.push((SymbolId(*id), *tf, *t));
                }
            }
        }
        out
    }

    /// The name of a symbol of the scope.
    pub fn symbol_name(&self, id: SymbolId) -> Option<&str> {
        self.symbols
            .iter()
            .find(|(i, _)| *i == id.0)
            .map(|(_, n)| n.as_str())
    }
}

/// Where a job resumes: the next combo and grid point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobCursor {
    /// Index into [`JobScope::combos`].
    pub combo: usize,
    /// Index into [`OptimizerGrid::points`].
    pub point: usize,
}

/// A job with its decoded scope and grid.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// The row.
    pub job: StoredOptimizationJob,
    /// Its scope.
    pub scope: JobScope,
    /// Its grid.
    pub grid: OptimizerGrid,
}

impl JobView {
    /// Decodes a stored job.
    ///
    /// # Errors
    /// `Corrupt` when the JSON does not decode.
    pub fn of(job: StoredOptimizationJob) -> Result<Self, StoreError> {
        let bad = |e: serde_json::Error| {
            StoreError::corrupt("optimization_jobs", Some(job.id.0), e.to_string())
        };
        let scope = serde_json::from_value(job.new.scope.value().clone()).map_err(bad)?;
        let grid = serde_json::from_value(job.new.grid.value().clone()).map_err(bad)?;
        Ok(Self { job, scope, grid })
    }

    /// Runs the job produces.
    pub fn total_runs(&self) -> usize {
        self.scope.combos().len() * self.grid.points().len()
    }
}

/// The selection metric of a request (`total_profit`, `win_rate`, `sharpe`).
pub fn parse_metric(s: &str) -> Option<SelectionMetric> {
    match s {
        "total_profit" => Some(SelectionMetric::TotalProfit),
        "win_rate" => Some(SelectionMetric::WinRate),
        "sharpe" => Some(SelectionMetric::Sharpe),
        _ => None,
    }
}

/// The wire word of a metric.
pub const fn metric_str(m: SelectionMetric) -> &'static str {
    match m {
        SelectionMetric::TotalProfit => "total_profit",
        SelectionMetric::WinRate => "win_rate",
        SelectionMetric::Sharpe => "sharpe",
    }
}

const fn score_of(m: SelectionMetric) -> RunScore {
    match m {
        SelectionMetric::TotalProfit => RunScore::TotalProfit,
        SelectionMetric::WinRate => RunScore::WinRate,
        SelectionMetric::Sharpe => RunScore::Sharpe,
    }
}

/// Why an optimizer operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizerError {
    /// Invalid fields (400).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// Not an admin (403).
    #[error("admin only")]
    NotAdmin,
    /// Absent (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The job has no run with ≥ 10 trades to apply (409).
    #[error("no eligible runs")]
    NothingToApply,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OptimizerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(w) => Self::NotFound(w),
            other => Self::Store(other),
        }
    }
}

/// Why a trading-preferences change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TradingPrefsError {
    /// Not pro or premium (403 `tier_required`).
    #[error("trading preferences need pro")]
    TierRequired,
    /// Invalid fields (400).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The store failed (an unknown user included).
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &'static str, code: &'static str, message: &str) {
        self.0.push(FieldError {
            field,
            code,
            message: message.to_owned(),
        });
    }

    /// An optional axis: absent → the default; each value finite, in range, ≤ 8 decimals;
    /// 1..=10 distinct values.
    fn axis(
        &mut self,
        field: &'static str,
        v: Option<&[f64]>,
        default: Vec<f64>,
        ok: impl Fn(f64) -> bool,
        range: &str,
    ) -> Vec<f64> {
        let Some(values) = v else { return default };
        if values.is_empty() || values.len() > MAX_AXIS_VALUES {
            self.add(field, "out_of_range", "1 to 10 values");
            return default;
        }
        if values.iter().any(|x| !(x.is_finite() && ok(*x))) {
            self.add(field, "out_of_range", range);
            return default;
        }
        if values.iter().any(|x| decimals(*x) > MAX_DECIMALS) {
            self.add(field, "too_many_decimals", "at most 8 decimal places");
            return default;
        }
        let mut out: Vec<f64> = Vec::with_capacity(values.len());
        for x in values {
            if out.contains(x) {
                self.add(field, "duplicate", "each value once");
                return default;
            }
            out.push(*x);
        }
        out
    }
}

/// One `(symbol, type, TF)` of a comparison: the best run of each job.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Symbol.
    pub symbol: SymbolId,
    /// Detector.
    pub pattern_type: PatternType,
    /// TF.
    pub tf: Timeframe,
    /// The first job's best run.
    pub a: Option<StoredOptimizationRun>,
    /// The second job's best run.
    pub b: Option<StoredOptimizationRun>,
}

/// One applied (type, TF) entry of a user's tuned params (`pattern_params.entries[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedEntry {
    /// Detector.
    pub pattern_type: PatternType,
    /// TF.
    pub tf: Timeframe,
    /// Target R.
    pub rr: f64,
    /// SL buffer %.
    pub sl_buffer_pct: f64,
    /// Window multiplier.
    pub expiry_multiplier: f64,
    /// The run it came from.
    pub run_id: i64,
    /// That run's trades.
    pub trade_count: u32,
}

/// The JSON of `user_symbol_preferences.pattern_params` written by the optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedDoc {
    /// The job.
    pub job_id: i64,
    /// The metric the runs were chosen by.
    pub metric: SelectionMetric,
    /// One entry per (type, TF).
    pub entries: Vec<TunedEntry>,
}

/// A user's tuned params for one symbol, decoded for display.
#[derive(Debug, Clone, PartialEq)]
pub struct TunedView {
    /// Canonical symbol (`#id` when the symbol is gone).
    pub symbol: String,
    /// The applied document.
    pub doc: TunedDoc,
    /// The source run.
    pub run: Option<OptimizationRunId>,
    /// When it was applied.
    pub updated_at: i64,
}

/// The admin optimizer use cases.
#[derive(Debug)]
pub struct OptimizerService<'a, S> {
    store: &'a S,
}

fn require_admin(auth: &Authenticated) -> Result<(), OptimizerError> {
    if auth.user().is_admin {
        Ok(())
    } else {
        Err(OptimizerError::NotAdmin)
    }
}

fn domain_run(r: &StoredOptimizationRun) -> OptimizationRun {
    OptimizationRun {
        symbol: r.new.symbol.0.to_string(),
        pattern_type: r.new.pattern_type,
        timeframe: r.new.tf,
        point: GridPoint {
            rr: r.new.rr,
            sl_buffer_pct: r.new.sl_buffer_pct,
            expiry_multiplier: r.new.expiry_mult,
        },
        stats: BacktestStats {
            total: usize::try_from(r.new.trade_count).unwrap_or(usize::MAX),
            // A missing value is not finite, so the metric skips the run.
            total_profit_pct: r.new.total_profit_pct.unwrap_or(f64::NAN),
            win_rate: r.new.win_rate.unwrap_or(f64::NAN),
            sharpe: r.new.sharpe,
            ..BacktestStats::default()
        },
    }
}

/// The best stored run per (symbol, type, TF) by `metric` with ≥ 10 trades (the domain rule).
pub fn best_of(
    runs: &[StoredOptimizationRun],
    metric: SelectionMetric,
) -> Vec<StoredOptimizationRun> {
    let domain: Vec<OptimizationRun> = runs.iter().map(domain_run).collect();
    best_runs(&domain, metric)
        .into_iter()
        .filter_map(|best| {
            domain
                .iter()
                .position(|d| std::ptr::eq(d, best))
                .and_then(|i| runs.get(i).cloned())
        })
        .collect()
}

impl<'a, S> OptimizerService<'a, S>
where
    S: OptimizationStore + TradingPrefsStore + SymbolStore + UserStore + AdminStore,
{
    /// Borrows the store.
    pub fn new(store: &'a S) -> Self {
        Self { store }
    }

    async fn audit(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        action: &str,
        target: String,
        details: String,
        now: i64,
    ) -> Result<(), OptimizerError> {
        let entry = NewAuditEntry {
            actor: Some(auth.user().id),
            action: action.to_owned(),
            target,
            details: Some(details),
            ip: ctx.ip.clone().map(|ip| ip.chars().take(64).collect()),
            request_id: Some(ctx.request_id.chars().take(64).collect()),
            at: now,
        };
        self.store.append_audit(&entry).await?;
        Ok(())
    }

    /// Validates and queues a job (audited).
    ///
    /// # Errors
    /// `NotAdmin`, `Invalid`, `Store`.
    pub async fn create(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        input: &JobInput,
        now: i64,
    ) -> Result<JobView, OptimizerError> {
        require_admin(auth)?;
        let mut e = Errors(Vec::new());
        let mut symbols = Vec::new();
        if input.symbols.is_empty() || input.symbols.len() > MAX_SYMBOLS {
            e.add("symbols", "out_of_range", "1 to 20 symbols");
        } else {
            for name in &input.symbols {
                match self.store.symbol_by_name(name.trim()).await? {
                    Some(s) if !symbols.iter().any(|(id, _)| *id == s.id.0) => {
                        symbols.push((s.id.0, s.symbol));
                    }
                    Some(_) => {
                        e.add("symbols", "duplicate", "each symbol once");
                        break;
                    }
                    None => {
                        e.add("symbols", "invalid_choice", "unknown symbol");
                        break;
                    }
                }
            }
        }
        let mut tfs = Vec::new();
        for t in &input.tfs {
            match Timeframe::parse(t)
                .ok()
                .filter(|t| t.backtest_lookback().is_some())
            {
                Some(tf) if !tfs.contains(&tf) => tfs.push(tf),
                _ => {
                    e.add("tfs", "invalid_choice", "distinct values of 5m … 1d");
                    break;
                }
            }
        }
        if input.tfs.is_empty() {
            e.add("tfs", "required", "at least one timeframe");
        }
        let mut pattern_types = Vec::new();
        for t in &input.pattern_types {
            match PatternType::parse(t).ok() {
                Some(pt) if !pattern_types.contains(&pt) => pattern_types.push(pt),
                _ => {
                    e.add("pattern_types", "invalid_choice", "distinct pattern types");
                    break;
                }
            }
        }
        if input.pattern_types.is_empty() {
            e.add("pattern_types", "required", "at least one pattern type");
        }
        if !(0 <= input.from && input.from < input.to && input.to <= now) {
            e.add("to", "out_of_range", "0 ≤ from < to ≤ now");
        } else if input.to - input.from > MAX_RANGE_MS {
            e.add("to", "out_of_range", "at most 2 years");
        }
        let d = OptimizerGrid::default();
        let grid = OptimizerGrid {
            rr: e.axis(
                "rr",
                input.rr.as_deref(),
                d.rr,
                |x| (RR_MIN..=RR_MAX).contains(&x),
                "between 0.5 and 10",
            ),
            sl_buffer_pct: e.axis(
                "sl_buffer_pct",
                input.sl_buffer_pct.as_deref(),
                d.sl_buffer_pct,
                |x| (0.0..=SL_BUFFER_PCT_MAX).contains(&x),
                "between 0 and 100",
            ),
            expiry_multiplier: e.axis(
                "expiry_multiplier",
                input.expiry_multiplier.as_deref(),
                d.expiry_multiplier,
                |x| x > 0.0 && x <= EXPIRY_MULT_MAX,
                "greater than 0, at most 5",
            ),
        };
        let slippage_pct = match input.slippage_pct {
            None => 0.0,
            Some(x) if x.is_finite() && (0.0..=SLIPPAGE_PCT_MAX).contains(&x) => {
                if decimals(x) > MAX_DECIMALS {
                    e.add(
                        "slippage_pct",
                        "too_many_decimals",
                        "at most 8 decimal places",
                    );
                }
                x
            }
            Some(_) => {
                e.add("slippage_pct", "out_of_range", "between 0 and 5");
                0.0
            }
        };
        let scope = JobScope {
            symbols,
            tfs,
            pattern_types,
            from: input.from,
            to: input.to,
            slippage_pct,
        };
        if e.0.is_empty() && scope.combos().len() * grid.points().len() > MAX_RUNS_PER_JOB {
            e.add("symbols", "too_large", "at most 5000 runs per job");
        }
        if !e.0.is_empty() {
            return Err(OptimizerError::Invalid(e.0));
        }
        let to_json = |v: serde_json::Result<serde_json::Value>| {
            v.map(JsonText::new)
                .map_err(|err| StoreError::Invalid(err.to_string()))
        };
        let new = NewOptimizationJob {
            grid: to_json(serde_json::to_value(&grid))?,
            scope: to_json(serde_json::to_value(&scope))?,
            created_by: Some(auth.user().id),
            created_at: now,
        };
        let job = self.store.create_job(&new).await?;
        let view = JobView::of(job)?;
        self.audit(
            auth,
            ctx,
            "optimizer.create",
            format!("optimization_job:{}", view.job.id.0),
            format!("{{\"runs\":{}}}", view.total_runs()),
            now,
        )
        .await?;
        Ok(view)
    }

    /// Jobs newest first, keyset after `before`.
    ///
    /// # Errors
    /// `NotAdmin`, `Store`.
    pub async fn jobs(
        &self,
        auth: &Authenticated,
        before: Option<(i64, OptimizationJobId)>,
        limit: u32,
    ) -> Result<Vec<JobView>, OptimizerError> {
        require_admin(auth)?;
        let jobs = self.store.jobs(before, limit).await?;
        Ok(jobs
            .into_iter()
            .map(JobView::of)
            .collect::<Result<_, _>>()?)
    }

    /// One job.
    ///
    /// # Errors
    /// `NotAdmin`, `NotFound`, `Store`.
    pub async fn job(
        &self,
        auth: &Authenticated,
        id: OptimizationJobId,
    ) -> Result<JobView, OptimizerError> {
        require_admin(auth)?;
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(OptimizerError::NotFound("optimization job"))?;
        Ok(JobView::of(job)?)
    }

    /// A job's runs best-first by `metric` (at most `limit`).
    ///
    /// # Errors
    /// `NotAdmin`, `Store`.
    pub async fn results(
        &self,
        auth: &Authenticated,
        id: OptimizationJobId,
        metric: SelectionMetric,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationRun>, OptimizerError> {
        require_admin(auth)?;
        Ok(self.store.best_runs(id, score_of(metric), limit).await?)
    }

    /// The best run per (symbol, type, TF) of a job by `metric` (≥ 10 trades).
    ///
    /// # Errors
    /// `NotAdmin`, `Store`.
    pub async fn best(
        &self,
        auth: &Authenticated,
        id: OptimizationJobId,
        metric: SelectionMetric,
    ) -> Result<Vec<StoredOptimizationRun>, OptimizerError> {
        require_admin(auth)?;
        let runs = self
            .store
            .best_runs(id, score_of(metric), RUNS_READ)
            .await?;
        Ok(best_of(&runs, metric))
    }

    /// Side by side: the best run of each job per (symbol, type, TF) either of them has.
    ///
    /// # Errors
    /// `NotAdmin`, `NotFound` (either job), `Store`.
    pub async fn compare(
        &self,
        auth: &Authenticated,
        a: OptimizationJobId,
        b: OptimizationJobId,
        metric: SelectionMetric,
    ) -> Result<Vec<Comparison>, OptimizerError> {
        self.job(auth, a).await?;
        self.job(auth, b).await?;
        let mut rows: BTreeMap<(i64, PatternType, Timeframe), Comparison> = BTreeMap::new();
        for (first, id) in [(true, a), (false, b)] {
            for run in self.best(auth, id, metric).await? {
                let key = (run.new.symbol.0, run.new.pattern_type, run.new.tf);
                let row = rows.entry(key).or_insert_with(|| Comparison {
                    symbol: run.new.symbol,
                    pattern_type: run.new.pattern_type,
                    tf: run.new.tf,
                    a: None,
                    b: None,
                });
                if first {
                    row.a = Some(run);
                } else {
                    row.b = Some(run);
                }
            }
        }
        Ok(rows.into_values().collect())
    }

    /// Writes the job's best params by `metric` into `user`'s preferences, one row per symbol
    /// with its (type, TF) entries and the best of them recorded as the run (audited).
    ///
    /// # Errors
    /// `NotAdmin`, `NotFound` (job or user), `NothingToApply`, `Store`.
    pub async fn apply(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        id: OptimizationJobId,
        metric: SelectionMetric,
        user: UserId,
        now: i64,
    ) -> Result<Vec<TunedParams>, OptimizerError> {
        self.job(auth, id).await?;
        if self.store.user(user).await?.is_none() {
            return Err(OptimizerError::NotFound("user"));
        }
        let best = self.best(auth, id, metric).await?;
        if best.is_empty() {
            return Err(OptimizerError::NothingToApply);
        }
        let score = score_of(metric);
        let mut by_symbol: BTreeMap<i64, Vec<StoredOptimizationRun>> = BTreeMap::new();
        for run in best {
            by_symbol.entry(run.new.symbol.0).or_default().push(run);
        }
        let mut tuned = Vec::new();
        for (symbol, runs) in by_symbol {
            let top = runs
                .iter()
                .max_by(|x, y| {
                    let (sx, sy) = (score.of(&x.new), score.of(&y.new));
                    sx.unwrap_or(f64::MIN)
                        .total_cmp(&sy.unwrap_or(f64::MIN))
                        .then(y.id.cmp(&x.id))
                })
                .map(|r| r.id);
            let doc = TunedDoc {
                job_id: id.0,
                metric,
                entries: runs
                    .iter()
                    .map(|r| TunedEntry {
                        pattern_type: r.new.pattern_type,
                        tf: r.new.tf,
                        rr: r.new.rr,
                        sl_buffer_pct: r.new.sl_buffer_pct,
                        expiry_multiplier: r.new.expiry_mult,
                        run_id: r.id.0,
                        trade_count: r.new.trade_count,
                    })
                    .collect(),
            };
            let params = serde_json::to_value(&doc)
                .map(JsonText::new)
                .map_err(|err| StoreError::Invalid(err.to_string()))?;
            tuned.push(TunedParams {
                symbol: SymbolId(symbol),
                params,
                run: top,
                updated_at: now,
            });
        }
        self.store.apply_tuned_params(user, &tuned).await?;
        self.audit(
            auth,
            ctx,
            "optimizer.apply",
            format!("user:{}", user.0),
            format!(
                "{{\"job\":{},\"metric\":\"{}\",\"symbols\":{}}}",
                id.0,
                metric_str(metric),
                tuned.len()
            ),
            now,
        )
        .await?;
        Ok(tuned)
    }

    /// Clears every optimizer-tuned param of `user` (audited); how many symbols.
    ///
    /// # Errors
    /// `NotAdmin`, `NotFound` (user), `Store`.
    pub async fn clear(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        user: UserId,
        now: i64,
    ) -> Result<u64, OptimizerError> {
        require_admin(auth)?;
        if self.store.user(user).await?.is_none() {
            return Err(OptimizerError::NotFound("user"));
        }
        let n = self.store.clear_tuned_params(user, now).await?;
        self.audit(
            auth,
            ctx,
            "optimizer.clear",
            format!("user:{}", user.0),
            format!("{{\"symbols\":{n}}}"),
            now,
        )
        .await?;
        Ok(n)
    }
}

/// Runs the next chunk of `job`; returns whether the job is finished (done or failed).
///
/// # Errors
/// Store failures (a chunk may then be retried: runs are idempotent).
pub async fn run_chunk<S>(
    store: &S,
    job: &StoredOptimizationJob,
    now: i64,
) -> Result<bool, StoreError>
where
    S: OptimizationStore + CandleStore,
{
    if job.status.is_terminal() {
        return Ok(true);
    }
    if job.status == JobStatus::Queued
        && !store
            .set_job_status(job.id, JobStatus::Running, None, now)
            .await?
    {
        // Another invocation moved it first; the next pass sees the fresh row.
        return Ok(false);
    }
    let fail = |msg: String| async move {
        store
            .set_job_status(job.id, JobStatus::Failed, Some(&msg), now)
            .await
            .map(|_| true)
    };
    let view = match JobView::of(job.clone()) {
        Ok(v) => v,
        Err(e) => return fail(e.to_string()).await,
    };
    let cursor: JobCursor = match &job.cursor {
        None => JobCursor::default(),
        Some(c) => match serde_json::from_value(c.value().clone()) {
            Ok(c) => c,
            Err(e) => return fail(format!("bad cursor: {e}")).await,
        },
    };
    let combos = view.scope.combos();
    let points = view.grid.points();
    let total = combos.len() * points.len();
    let finish = |cursor: JobCursor| async move {
        let progress = JobProgress {
            progress: 100.0,
            cursor: serde_json::to_value(cursor).ok().map(JsonText::new),
        };
        store.save_job_progress(job.id, &progress).await?;
        store
            .set_job_status(job.id, JobStatus::Done, None, now)
            .await
            .map(|_| true)
    };
    let Some(&(symbol, tf, pattern_type)) = combos.get(cursor.combo) else {
        return finish(cursor).await;
    };
    let candles = store
        .candles_in_range(symbol, tf, view.scope.from, view.scope.to, MAX_CANDLES)
        .await?;
    let detection = DetectionParams::default();
    let detections = detect(&candles, pattern_type, Mode::Raw, &detection);
    let end = (cursor.point + POINTS_PER_CHUNK).min(points.len());
    for (i, p) in points.iter().enumerate().take(end).skip(cursor.point) {
        let params = BacktestParams {
            rr: p.rr,
            sl_buffer_pct: p.sl_buffer_pct,
            slippage_pct: view.scope.slippage_pct,
        };
        let report =
            match run_backtest_scaled(tf, &candles, &detections, &params, p.expiry_multiplier) {
                Ok(r) => r,
                Err(e) => return fail(format!("grid point {i}: {e}")).await,
            };
        let s = &report.stats;
        let run = NewOptimizationRun {
            job: job.id,
            symbol,
            tf,
            pattern_type,
            params: JsonText::new(serde_json::json!({
                "rr": p.rr,
                "sl_buffer_pct": p.sl_buffer_pct,
                "expiry_multiplier": p.expiry_multiplier,
                "slippage_pct": view.scope.slippage_pct,
            })),
            params_key: format!(
                "rr={};sl={};x={};s={}",
                p.rr, p.sl_buffer_pct, p.expiry_multiplier, view.scope.slippage_pct
            ),
            rr: p.rr,
            sl_buffer_pct: p.sl_buffer_pct,
            tp_method: "rr_multiple".into(),
            entry_method: "zone_edge".into(),
            min_zone_pct: detection.min_zone_pct,
            overlap: detection.dedup_overlap,
            expiry_mult: p.expiry_multiplier,
            metrics: JsonText::parse(&stats_json(s)).ok(),
            total_profit_pct: Some(s.total_profit_pct).filter(|v| v.is_finite()),
            win_rate: Some(s.win_rate).filter(|v| v.is_finite()),
            sharpe: s.sharpe.filter(|v| v.is_finite()),
            trade_count: u32::try_from(s.total).unwrap_or(u32::MAX),
            created_at: now,
        };
        store.insert_run(&run).await?;
    }
    let next = if end >= points.len() {
        JobCursor {
            combo: cursor.combo + 1,
            point: 0,
        }
    } else {
        JobCursor {
            combo: cursor.combo,
            point: end,
        }
    };
    if next.combo >= combos.len() {
        return finish(next).await;
    }
    let done = next.combo * points.len() + next.point;
    let progress = JobProgress {
        progress: (done as f64 / total.max(1) as f64 * 100.0).clamp(0.0, 100.0),
        cursor: serde_json::to_value(next).ok().map(JsonText::new),
    };
    store.save_job_progress(job.id, &progress).await?;
    Ok(false)
}

/// Runs up to `max_chunks` chunks of the oldest active jobs (the dispatch job's entry point);
/// returns how many ran.
///
/// # Errors
/// Store failures.
pub async fn continue_optimizations<S>(
    store: &S,
    max_chunks: u32,
    now: i64,
) -> Result<u32, StoreError>
where
    S: OptimizationStore + CandleStore,
{
    let mut ran = 0;
    while ran < max_chunks {
        let Some(job) = store.next_active_job().await? else {
            break;
        };
        run_chunk(store, &job, now).await?;
        ran += 1;
    }
    Ok(ran)
}

// ---------------------------------------------------------------------------------------------
// The user's side: trading preferences and tuned params (product.md §2 `/settings/trading`)
// ---------------------------------------------------------------------------------------------

/// A trading-preferences request: `None` = back to the default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TradingPrefsInput {
    /// Risk per trade %, 0.1–10.
    pub risk_per_trade_pct: Option<f64>,
    /// Default R:R, 0.5–10.
    pub default_rr: Option<f64>,
}

fn pref_field(field: &'static str, e: TradingPrefError) -> FieldError {
    FieldError {
        field,
        code: match e {
            TradingPrefError::OutOfRange(..) => "out_of_range",
            TradingPrefError::TooManyDecimals => "too_many_decimals",
        },
        message: e.to_string(),
    }
}

impl TryFrom<TradingPrefsInput> for TradingPrefs {
    type Error = Vec<FieldError>;

    fn try_from(i: TradingPrefsInput) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let risk = i
            .risk_per_trade_pct
            .map(RiskPerTradePct::new)
            .transpose()
            .map_err(|e| errors.push(pref_field("risk_per_trade_pct", e)))
            .ok()
            .flatten();
        let rr = i
            .default_rr
            .map(DefaultRr::new)
            .transpose()
            .map_err(|e| errors.push(pref_field("default_rr", e)))
            .ok()
            .flatten();
        if errors.is_empty() {
            Ok(TradingPrefs {
                risk_per_trade_pct: risk,
                default_rr: rr,
            })
        } else {
            Err(errors)
        }
    }
}

/// Sets the caller's trading preferences: pro+ (the policy's `risk_settings`), then the values.
///
/// # Errors
/// `TierRequired`, `Invalid`, `Store`.
pub async fn set_trading_prefs<S: TradingPrefsStore>(
    store: &S,
    user: UserId,
    access: &Access,
    input: TradingPrefsInput,
) -> Result<TradingPrefs, TradingPrefsError> {
    if !access.limits.risk_settings {
        return Err(TradingPrefsError::TierRequired);
    }
    let prefs = TradingPrefs::try_from(input).map_err(TradingPrefsError::Invalid)?;
    store.set_trading_prefs(user, &prefs).await?;
    Ok(prefs)
}

/// The caller's tuned params, decoded (rows that do not decode are skipped: they are not the
/// optimizer's format).
///
/// # Errors
/// Store failures.
pub async fn my_tuned_params<S: TradingPrefsStore + SymbolStore>(
    store: &S,
    user: UserId,
) -> Result<Vec<TunedView>, StoreError> {
    let rows = store.tuned_params(user).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let symbols = store.list_symbols(false).await?;
    Ok(rows
        .into_iter()
        .filter_map(|t| {
            let doc: TunedDoc = serde_json::from_value(t.params.value().clone()).ok()?;
            let symbol = symbols
                .iter()
                .find(|s| s.id == t.symbol)
                .map_or_else(|| format!("#{}", t.symbol.0), |s| s.symbol.clone());
            Some(TunedView {
                symbol,
                doc,
                run: t.run,
                updated_at: t.updated_at,
            })
        })
        .collect())
}

/// Resets the caller's tuned params to the defaults; how many symbols.
///
/// # Errors
/// Store failures.
pub async fn reset_my_tuned_params<S: TradingPrefsStore>(
    store: &S,
    user: UserId,
    now: i64,
) -> Result<u64, StoreError> {
    store.clear_tuned_params(user, now).await
}
