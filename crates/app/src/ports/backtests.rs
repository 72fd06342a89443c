//! The backtest port (product.md §8, §10 `backtests`, `backtest_trades`).
//!
//! Design:
//! - A backtest row carries its parameters and its resume point (`cursor`, the next candle
//!   time to detect from) so a run advances in chunks across invocations.
//! - Creation enforces the tier quotas (running, per UTC day) in the same transaction/statement
//!   as the insert ([`BacktestQuota`]); a full quota is `Conflict(quota::…)`.
//! - A chunk is saved with [`BacktestStore::save_chunk`]: its trades and the row's new
//!   progress/cursor/status in ONE atomic write, compare-and-set on the cursor read, so two
//!   invocations continuing the same run never store a chunk twice.
//! - Owner-facing reads and the delete take the owner's [`UserId`] (another user's backtest is
//!   absent).

use super::{StoreError, SymbolId, UserId};
use cl_domain::{PatternType, Timeframe};

/// `Conflict` keys of this port.
pub mod quota {
    /// The user already has a queued or running backtest.
    pub const RUNNING: &str = "quota.backtests_running";
    /// The user created the day's allowance of backtests.
    pub const PER_DAY: &str = "quota.backtests_per_day";
    /// The chunk's cursor moved meanwhile (another invocation saved it).
    pub const CURSOR_MOVED: &str = "backtests.cursor";
}

/// Id of a row of `backtests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BacktestId(pub i64);

/// Lifecycle of a backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BacktestStatus {
    /// Waiting for its first chunk.
    Queued,
    /// Some chunks done.
    Running,
    /// Finished; stats stored.
    Done,
    /// Stopped with an error.
    Failed,
}

impl BacktestStatus {
    /// Stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`cl_domain::UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, cl_domain::UnknownVariant> {
        match s {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            _ => Err(cl_domain::UnknownVariant {
                kind: "backtest status",
                value: s.to_owned(),
            }),
        }
    }

    /// Queued or running.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// A backtest to create (validated by the use case).
#[derive(Debug, Clone, PartialEq)]
pub struct NewBacktest {
    /// Owner.
    pub user_id: UserId,
    /// Optional name (≤ 50).
    pub name: Option<String>,
    /// Symbol.
    pub symbol: SymbolId,
    /// Timeframe (5m..1d).
    pub tf: Timeframe,
    /// Detector.
    pub pattern_type: PatternType,
    /// The run parameters as JSON (`rr`, `sl_buffer_pct`, `slippage_pct`, `from`, `to`).
    pub params: String,
    /// The first candle time to detect from.
    pub cursor: i64,
    /// Creation time.
    pub created_at: i64,
}

/// A stored backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBacktest {
    /// Id.
    pub id: BacktestId,
    /// The creation values.
    pub new: NewBacktest,
    /// State.
    pub status: BacktestStatus,
    /// 0–100.
    pub progress: f64,
    /// The next candle time to detect from (`None` once done or failed).
    pub cursor: Option<i64>,
    /// Final statistics as JSON (done only).
    pub stats: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// First chunk time.
    pub started_at: Option<i64>,
    /// Finish time.
    pub finished_at: Option<i64>,
}

/// One stored simulated trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestTradeRow {
    /// Bullish → long.
    pub long: bool,
    /// The detection's time.
    pub detected_at: i64,
    /// Entry candle time.
    pub entry_time: i64,
    /// Fill price.
    pub entry_price: f64,
    /// Exit candle time.
    pub exit_time: Option<i64>,
    /// Exit price (`None` when inconclusive).
    pub exit_price: Option<f64>,
    /// `win`, `loss` or `inconclusive`.
    pub outcome: cl_domain::backtest::Outcome,
    /// Realised R multiple.
    pub r: f64,
}

/// The tier quotas checked atomically at creation (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestQuota {
    /// Queued or running at once.
    pub max_running: Option<u32>,
    /// Created since `day_start`.
    pub max_per_day: Option<u32>,
    /// Start of the current UTC day.
    pub day_start: i64,
}

/// The row changes of one saved chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkUpdate {
    /// New state.
    pub status: BacktestStatus,
    /// New progress (0–100).
    pub progress: f64,
    /// New cursor (`None` when finished).
    pub cursor: Option<i64>,
    /// Final stats JSON (done).
    pub stats: Option<String>,
    /// Failure text (failed).
    pub error: Option<String>,
    /// When the chunk ran.
    pub now: i64,
}

/// The `backtests` and `backtest_trades` tables.
#[allow(async_fn_in_trait)]
pub trait BacktestStore {
    /// Creates a queued backtest within `quota` (counted in the same transaction).
    ///
    /// # Errors
    /// `Conflict(quota::RUNNING | quota::PER_DAY)`; `NotFound("user" | "symbol")`; `Invalid`;
    /// `Unavailable`.
    async fn create_backtest(
        &self,
        new: &NewBacktest,
        quota: BacktestQuota,
    ) -> Result<StoredBacktest, StoreError>;

    /// One backtest of the user.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn backtest(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Option<StoredBacktest>, StoreError>;

    /// The user's backtests, newest first.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn backtests_of(&self, user: UserId) -> Result<Vec<StoredBacktest>, StoreError>;

    /// Deletes a backtest of the user with its trades.
    ///
    /// # Errors
    /// `NotFound("backtest")`; `Unavailable`.
    async fn delete_backtest(&self, user: UserId, id: BacktestId) -> Result<(), StoreError>;

    /// Queued or running backtests of every user, oldest first, at most `limit`.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn active_backtests(&self, limit: u32) -> Result<Vec<StoredBacktest>, StoreError>;

    /// Stores a chunk's trades and the row's update atomically, if the row's cursor is still
    /// `expected_cursor` and it is queued or running.
    ///
    /// # Errors
    /// `Conflict(quota::CURSOR_MOVED)` (nothing written); `NotFound("backtest")`; `Invalid`;
    /// `Unavailable`.
    async fn save_chunk(
        &self,
        id: BacktestId,
        expected_cursor: i64,
        update: &ChunkUpdate,
        trades: &[BacktestTradeRow],
    ) -> Result<(), StoreError>;

    /// The trades of a backtest of the user, by entry time.
    ///
    /// # Errors
    /// `NotFound("backtest")`; `Unavailable` or `Corrupt`.
    async fn backtest_trades(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Vec<BacktestTradeRow>, StoreError>;
}
