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

    /// Jobs newest first (`created_at` desc, id desc), at most `limit`.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn jobs(&self, limit: u32) -> Result<Vec<StoredOptimizationJob>, StoreError>;

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
}
