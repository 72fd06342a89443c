//! The optimizer port (product.md §10 `optimization_jobs`, `optimization_runs`).
//!
//! Design:
//! - A job holds its parameter grid and scope as JSON ([`JsonText`], parsed once, compared as
//!   values since Postgres JSONB does not keep the text) and a resume cursor, so a long grid
//!   search advances in chunks across invocations.
//! - Status only moves forward: queued → running | cancelled | failed, running → done |
//!   failed | cancelled ([`JobStatus::can_move_to`]). Adapters guard the move in the write
//!   itself (`UPDATE … WHERE status IN (predecessors)`), so a stale invocation cannot revive a
//!   finished job; a refused move answers `false`.
//! - A run is one result per `(job, symbol, tf, pattern type, params key)`; inserting it again
//!   is a no-op (`None`), so a chunk retried after a crash stores nothing twice.
//! - Runs are listed best-first by one [`RunScore`] (missing scores last, ties by id).

use super::{exact_int, finite, StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};

/// A JSON value stored as text (`grid`, `scope`, `cursor`, `params`, `metrics`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonText(serde_json::Value);

impl JsonText {
    /// Parses JSON text.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when it is not JSON.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        serde_json::from_str(s)
            .map(Self)
            .map_err(|_| StoreError::Invalid("not valid JSON".into()))
    }

    /// Wraps a value.
    pub fn new(v: serde_json::Value) -> Self {
        Self(v)
    }

    /// The value.
    pub fn value(&self) -> &serde_json::Value {
        &self.0
    }

    /// Compact JSON text.
    pub fn text(&self) -> String {
        self.0.to_string()
    }
}

/// Id of a row of `optimization_jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptimizationJobId(pub i64);

/// Id of a row of `optimization_runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptimizationRunId(pub i64);

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its first chunk.
    Queued,
    /// Some chunks done.
    Running,
    /// Every parameter set ran.
    Done,
    /// Stopped with an error.
    Failed,
    /// Stopped by an admin.
    Cancelled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Done,
        Self::Failed,
        Self::Cancelled,
    ];

    /// Stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| cl_domain::UnknownVariant {
                kind: "optimization job status",
                value: s.chars().take(32).collect(),
            })
    }

    /// Done, failed or cancelled.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }

    /// Whether a job in `self` may move to `next` (forward only).
    pub const fn can_move_to(self, next: JobStatus) -> bool {
        matches!(
            (self, next),
            (Self::Queued, Self::Running | Self::Cancelled | Self::Failed)
                | (Self::Running, Self::Done | Self::Failed | Self::Cancelled)
        )
    }

    /// The statuses a job may be in to move to `self`.
    pub fn predecessors(self) -> Vec<JobStatus> {
        Self::ALL
            .into_iter()
            .filter(|from| from.can_move_to(self))
            .collect()
    }
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOptimizationJob {
    /// The parameter grid.
    pub grid: JsonText,
    /// Symbols, timeframes, pattern types and range.
    pub scope: JsonText,
    /// The admin.
    pub created_by: Option<UserId>,
    /// Now.
    pub created_at: i64,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOptimizationJob {
    /// Id.
    pub id: OptimizationJobId,
    /// The creation values.
    pub new: NewOptimizationJob,
    /// State.
    pub status: JobStatus,
    /// 0–100.
    pub progress: f64,
    /// Where to resume.
    pub cursor: Option<JsonText>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started running.
    pub started_at: Option<i64>,
    /// When it ended.
    pub finished_at: Option<i64>,
}

/// One parameter set's result.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOptimizationRun {
    /// The job.
    pub job: OptimizationJobId,
    /// Symbol.
    pub symbol: SymbolId,
    /// Timeframe.
    pub tf: Timeframe,
    /// Detector.
    pub pattern_type: PatternType,
    /// The parameter set.
    pub params: JsonText,
    /// A stable key of the parameter set (the idempotency key with job, symbol, tf, type).
    pub params_key: String,
    /// Risk:reward.
    pub rr: f64,
    /// SL buffer %.
    pub sl_buffer_pct: f64,
    /// TP method name.
    pub tp_method: String,
    /// Entry method name.
    pub entry_method: String,
    /// Minimum zone %.
    pub min_zone_pct: f64,
    /// Dedup overlap.
    pub overlap: f64,
    /// Expiry multiplier.
    pub expiry_mult: f64,
    /// Full metrics.
    pub metrics: Option<JsonText>,
    /// Total profit %.
    pub total_profit_pct: Option<f64>,
    /// Win rate.
    pub win_rate: Option<f64>,
    /// Sharpe ratio.
    pub sharpe: Option<f64>,
    /// Trades simulated.
    pub trade_count: u32,
    /// Now.
    pub created_at: i64,
}

impl NewOptimizationRun {
    /// Checks the numbers every adapter stores exactly and the key's length.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("job id", self.job.0)?;
        exact_int("symbol id", self.symbol.0)?;
        exact_int("created_at", self.created_at)?;
        for (what, v) in [
            ("rr", self.rr),
            ("sl_buffer_pct", self.sl_buffer_pct),
            ("min_zone_pct", self.min_zone_pct),
            ("overlap", self.overlap),
            ("expiry_mult", self.expiry_mult),
        ] {
            finite(what, v)?;
        }
        for (what, v) in [
            ("total_profit_pct", self.total_profit_pct),
            ("win_rate", self.win_rate),
            ("sharpe", self.sharpe),
        ] {
            if let Some(v) = v {
                finite(what, v)?;
            }
        }
        if self.params_key.is_empty() || self.params_key.len() > 128 {
            return Err(StoreError::Invalid("params key must be 1-128 bytes".into()));
        }
        Ok(())
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOptimizationRun {
    /// Id.
    pub id: OptimizationRunId,
    /// The values.
    pub new: NewOptimizationRun,
}

/// What "best" means for a run list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunScore {
    /// `total_profit_pct` desc.
    TotalProfit,
    /// `win_rate` desc.
    WinRate,
    /// `sharpe` desc.
    Sharpe,
}

impl RunScore {
    /// The column.
    pub const fn column(self) -> &'static str {
        match self {
            Self::TotalProfit => "total_profit_pct",
            Self::WinRate => "win_rate",
            Self::Sharpe => "sharpe",
        }
    }

    /// The run's score.
    pub fn of(self, r: &NewOptimizationRun) -> Option<f64> {
        match self {
            Self::TotalProfit => r.total_profit_pct,
            Self::WinRate => r.win_rate,
            Self::Sharpe => r.sharpe,
        }
    }
}

/// A progress save.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// 0–100.
    pub progress: f64,
    /// Where to resume.
    pub cursor: Option<JsonText>,
}

impl JobProgress {
    /// Checks the range.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        if finite("progress", self.progress).is_ok_and(|p| (0.0..=100.0).contains(&p)) {
            Ok(())
        } else {
            Err(StoreError::Invalid("progress must be 0-100".into()))
        }
    }
}

/// The optimizer tables.
#[allow(async_fn_in_trait)]
pub trait OptimizationStore {
    /// Queues a job.
    ///
    /// # Errors
    /// `NotFound("user")`; `Invalid`; `Unavailable`.
    async fn create_job(
        &self,
        new: &NewOptimizationJob,
    ) -> Result<StoredOptimizationJob, StoreError>;

    /// One job.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn job(&self, id: OptimizationJobId)
        -> Result<Option<StoredOptimizationJob>, StoreError>;

    /// Jobs newest first (`created_at` desc, id desc), at most `limit`, strictly after the
    /// keyset position `before` = `(created_at, id)` of the last job of the previous page.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn jobs(
        &self,
        before: Option<(i64, OptimizationJobId)>,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationJob>, StoreError>;

    /// The oldest queued or running job (`created_at`, id ascending): the next to advance.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn next_active_job(&self) -> Result<Option<StoredOptimizationJob>, StoreError>;

    /// Moves a job to `to` if its current status may move there; `false` when it may not.
    /// Running stamps `started_at`, a terminal status `finished_at` (and `error` when given).
    ///
    /// # Errors
    /// `NotFound("optimization job")`; `Invalid`; `Unavailable`.
    async fn set_job_status(
        &self,
        id: OptimizationJobId,
        to: JobStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Saves progress and cursor of a running job; `false` when it is not running.
    ///
    /// # Errors
    /// `NotFound("optimization job")`; `Invalid`; `Unavailable`.
    async fn save_job_progress(
        &self,
        id: OptimizationJobId,
        progress: &JobProgress,
    ) -> Result<bool, StoreError>;

    /// Stores one result; `None` when the job already has it (same symbol, tf, type, key).
    ///
    /// # Errors
    /// `NotFound("optimization job" | "symbol")`; `Invalid`; `Unavailable`.
    async fn insert_run(
        &self,
        run: &NewOptimizationRun,
    ) -> Result<Option<OptimizationRunId>, StoreError>;

    /// A job's runs best-first by `score` (runs without it last, ties by id), at most `limit`.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn best_runs(
        &self,
        job: OptimizationJobId,
        score: RunScore,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationRun>, StoreError>;
}

/// A user's risk per trade, % of the balance: `0.1..=10`, at most 2 decimals.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct RiskPerTradePct(f64);

/// A user's default reward:risk target: `0.5..=10`, at most 2 decimals.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct DefaultRr(f64);

/// Why a trading preference was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TradingPrefError {
    /// Not finite or outside the range.
    #[error("must be between {0} and {1}")]
    OutOfRange(&'static str, &'static str),
    /// More than 2 decimals.
    #[error("at most 2 decimal places")]
    TooManyDecimals,
}

/// Whether `v` has at most 2 decimals (tolerating binary representation noise).
fn two_decimals(v: f64) -> bool {
    let scaled = v * 100.0;
    (scaled - scaled.round()).abs() < 1e-6
}

fn checked(
    v: f64,
    lo: f64,
    hi: f64,
    names: (&'static str, &'static str),
) -> Result<f64, TradingPrefError> {
    if !(v.is_finite() && (lo..=hi).contains(&v)) {
        return Err(TradingPrefError::OutOfRange(names.0, names.1));
    }
    if !two_decimals(v) {
        return Err(TradingPrefError::TooManyDecimals);
    }
    Ok(v)
}

impl RiskPerTradePct {
    /// The default when the user has not set one.
    pub const DEFAULT: f64 = 1.0;

    /// Checks range and decimals.
    ///
    /// # Errors
    /// [`TradingPrefError`].
    pub fn new(v: f64) -> Result<Self, TradingPrefError> {
        checked(v, 0.1, 10.0, ("0.1", "10")).map(Self)
    }

    /// The percent.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl DefaultRr {
    /// The default when the user has not set one (detection.md §6 `default_rr`).
    pub const DEFAULT: f64 = 3.0;

    /// Checks range and decimals.
    ///
    /// # Errors
    /// [`TradingPrefError`].
    pub fn new(v: f64) -> Result<Self, TradingPrefError> {
        checked(v, 0.5, 10.0, ("0.5", "10")).map(Self)
    }

    /// The ratio.
    pub const fn get(self) -> f64 {
        self.0
    }
}

/// The trading columns of `users`; `None` = the default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TradingPrefs {
    /// `users.risk_per_trade`.
    pub risk_per_trade_pct: Option<RiskPerTradePct>,
    /// `users.default_rr`.
    pub default_rr: Option<DefaultRr>,
}

/// Optimizer-tuned params applied to one of a user's symbols
/// (`user_symbol_preferences.pattern_params` with `params_source = 'optimizer'`).
#[derive(Debug, Clone, PartialEq)]
pub struct TunedParams {
    /// The symbol.
    pub symbol: SymbolId,
    /// The per (type, TF) entries, as the optimizer wrote them.
    pub params: JsonText,
    /// The run recorded as the source (`optimization_run_id`; `None` once that run is gone).
    pub run: Option<OptimizationRunId>,
    /// When it was applied.
    pub updated_at: i64,
}

/// The user's trading preferences and the optimizer's tuned params.
///
/// Lives with the optimizer port because tuned params are the optimizer's output; the two
/// trading columns of `users` ride along as the settings page shows them together.
#[allow(async_fn_in_trait)]
pub trait TradingPrefsStore {
    /// The user's trading preferences; `None` for an unknown user.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn trading_prefs(&self, user: UserId) -> Result<Option<TradingPrefs>, StoreError>;

    /// Replaces the user's trading preferences.
    ///
    /// # Errors
    /// `NotFound("user")`; `Unavailable`.
    async fn set_trading_prefs(&self, user: UserId, prefs: &TradingPrefs)
        -> Result<(), StoreError>;

    /// The user's tuned params, by symbol id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn tuned_params(&self, user: UserId) -> Result<Vec<TunedParams>, StoreError>;

    /// Upserts the tuned params of each listed symbol in ONE write (source `optimizer`,
    /// the run recorded), keeping the rows' notification flags.
    ///
    /// # Errors
    /// `NotFound("user" | "symbol" | "optimization run")`; `Invalid`; `Unavailable`.
    async fn apply_tuned_params(
        &self,
        user: UserId,
        params: &[TunedParams],
    ) -> Result<(), StoreError>;

    /// Clears every optimizer-tuned param of the user (back to defaults); how many symbols.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn clear_tuned_params(&self, user: UserId, now: i64) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_moves_forward_only() {
        use JobStatus::*;
        assert!(Queued.can_move_to(Running) && Running.can_move_to(Done));
        assert!(Queued.can_move_to(Cancelled) && Running.can_move_to(Failed));
        assert!(!Running.can_move_to(Queued) && !Queued.can_move_to(Done));
        for t in [Done, Failed, Cancelled] {
            assert!(JobStatus::ALL.iter().all(|n| !t.can_move_to(*n)), "{t:?}");
        }
        assert_eq!(Running.predecessors(), vec![Queued]);
        assert_eq!(Done.predecessors(), vec![Running]);
        assert_eq!(JobStatus::parse("cancelled"), Ok(Cancelled));
        assert!(JobStatus::parse("paused").is_err());
    }

    #[test]
    fn json_compares_as_values() {
        let a = JobProgress {
            progress: 1.0,
            cursor: None,
        };
        assert!(a.validate().is_ok());
        assert!(JobProgress {
            progress: f64::NAN,
            ..a.clone()
        }
        .validate()
        .is_err());
        assert!(JobProgress {
            progress: 101.0,
            ..a
        }
        .validate()
        .is_err());
        let x = JsonText::parse(r#"{"b": [1, 2], "a": 1}"#).map(|j| j.value().clone());
        let y = JsonText::parse(r#"{"a":1,"b":[1,2]}"#).map(|j| j.value().clone());
        assert_eq!(x, y);
        assert!(JsonText::parse("{").is_err());
    }

    #[test]
    fn trading_prefs_check_range_and_decimals() {
        assert_eq!(
            RiskPerTradePct::new(1.25).map(RiskPerTradePct::get),
            Ok(1.25)
        );
        assert!(RiskPerTradePct::new(0.1).is_ok() && RiskPerTradePct::new(10.0).is_ok());
        for bad in [0.0, 0.09, 10.01, f64::NAN, f64::INFINITY, -1.0] {
            assert!(RiskPerTradePct::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RiskPerTradePct::new(1.234),
            Err(TradingPrefError::TooManyDecimals)
        );
        assert_eq!(DefaultRr::new(2.5).map(DefaultRr::get), Ok(2.5));
        assert!(DefaultRr::new(0.49).is_err() && DefaultRr::new(10.5).is_err());
        assert_eq!(
            DefaultRr::new(3.001),
            Err(TradingPrefError::TooManyDecimals)
        );
    }
}
