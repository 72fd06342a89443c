//! Storage ports: the traits the use cases (pipeline, matrix, API reads) depend on, grouped by
//! aggregate, plus the plain row structs they exchange and one typed [`StoreError`].
//!
//! Design:
//! - Native `async fn` in traits, with **no `Send` bound**: the worker's JS-backed futures are
//!   `!Send`, and every adapter (D1, Postgres over Hyperdrive, memory) runs on one thread.
//! - Rows hold domain types ([`Timeframe`], [`PatternType`], [`Direction`], [`PatternStatus`],
//!   [`Zone`], [`Candle`]); adapters translate their rows once and report a row they cannot
//!   translate as [`StoreError::Corrupt`]. No driver type appears here.
//! - Every behaviour below is pinned by the contract suite (`cl-store-contract`), which every
//!   adapter runs, so the memory store, Postgres and D1 behave identically.
//! - Times are `i64` UTC milliseconds and ids are `i64` (both stay below 2^53, see
//!   docs/storage.md); "now" is always a parameter.

use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe, UnknownVariant, Zone};
use std::fmt;

pub mod notifications;

pub mod notification_admin;

pub mod broadcast_delivery;

pub mod optimization;

pub mod admin;

pub mod api_keys;

pub mod exchange_credentials;

pub mod backtests;

pub mod stats;

pub mod run_queue;

pub mod gate;
// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What went wrong in a store. Adapters map their driver errors onto these variants; the text
/// they carry is for logs, never for API responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique key already holds another row; names the key (e.g. `"symbols.symbol"`).
    #[error("conflict on unique key {0}")]
    Conflict(&'static str),
    /// The row addressed, or a row it refers to, does not exist (e.g. `"symbol"`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store could not be reached or failed to answer; the context is for logs.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be translated into domain types.
    #[error("corrupt row in {table} (id {id:?}): {reason}")]
    Corrupt {
        /// The table the row came from.
        table: &'static str,
        /// The row's id (or the key's leading integer) when known.
        id: Option<i64>,
        /// What was wrong with it.
        reason: String,
    },
    /// A value this store cannot hold exactly (e.g. an integer above 2^53 on D1, a non-finite
    /// price, a limit of 0); nothing was written.
    #[error("value not storable: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Builds a [`StoreError::Corrupt`].
    pub fn corrupt(table: &'static str, id: Option<i64>, reason: impl fmt::Display) -> Self {
        Self::Corrupt {
            table,
            id,
            reason: reason.to_string(),
        }
    }
}

/// The largest integer every adapter stores exactly: 2^53 (D1 carries numbers as f64).
pub const MAX_EXACT_INT: i64 = 1 << 53;

/// Checks that an integer is stored exactly by every adapter (`|v| <= 2^53`).
///
/// # Errors
/// [`StoreError::Invalid`] naming `what`.
pub fn exact_int(what: &'static str, v: i64) -> Result<i64, StoreError> {
    if v.unsigned_abs() <= MAX_EXACT_INT.unsigned_abs() {
        Ok(v)
    } else {
        Err(StoreError::Invalid(format!("{what} {v} is beyond 2^53")))
    }
}

/// Checks that a float is finite (SQLite turns NaN into NULL; no adapter stores it).
///
/// # Errors
/// [`StoreError::Invalid`] naming `what`.
pub fn finite(what: &'static str, v: f64) -> Result<f64, StoreError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(StoreError::Invalid(format!("{what} is not finite")))
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and pagination
// ---------------------------------------------------------------------------------------------

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// Id of a row of `symbols`.
    SymbolId
);
id_type!(
    /// Id of a row of `patterns`. Ids follow the storing order.
    PatternId
);
id_type!(
    /// Id of a row of `signals`.
    SignalId
);

/// A keyset position: the `(time, id)` of the last row of a page, newest first with ties by
/// id descending. The next page holds the rows strictly "older" than it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort time of the last row (e.g. `created_at`).
    pub ts: i64,
    /// The id of the last row.
    pub id: i64,
}

/// A malformed opaque cursor string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed cursor")]
pub struct CursorError;

impl Cursor {
    /// The opaque form handed to API clients: `<ts>.<id>` in lower-case hex.
    pub fn encode(&self) -> String {
        format!("{:x}.{:x}", self.ts, self.id)
    }

    /// Parses [`Cursor::encode`]'s output.
    ///
    /// # Errors
    /// [`CursorError`] for anything else (including negative or oversized values).
    pub fn decode(s: &str) -> Result<Self, CursorError> {
        let (ts, id) = s.split_once('.').ok_or(CursorError)?;
        let parse = |part: &str| {
            if part.is_empty() || part.len() > 16 {
                return Err(CursorError);
            }
            i64::from_str_radix(part, 16).map_err(|_| CursorError)
        };
        let (ts, id) = (parse(ts)?, parse(id)?);
        if ts < 0 || id < 0 {
            return Err(CursorError);
        }
        Ok(Self { ts, id })
    }

    /// True when a row at `(ts, id)` comes after this cursor in newest-first order.
    pub fn is_before(&self, ts: i64, id: i64) -> bool {
        (ts, id) < (self.ts, self.id)
    }
}

/// Which page of a newest-first list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Maximum rows on the page (≥ 1; callers clamp to the endpoint's cap).
    pub limit: u32,
    /// Rows strictly after this position; `None` for the first page.
    pub after: Option<Cursor>,
}

/// One page of a newest-first list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

// ---------------------------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------------------------

/// A symbol to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSymbol {
    /// Canonical `BASE/QUOTE`, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Exchange it is fetched from.
    pub exchange: String,
    /// Fetched, detected and shown in the matrix.
    pub is_active: bool,
    /// Signals of this symbol are notified.
    pub notify_enabled: bool,
    /// UTC ms of the first 1m candle to fetch on the first run.
    pub fetch_start_ms: i64,
    /// UTC ms of creation.
    pub created_at: i64,
}

/// A stored symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSymbol {
    /// Its id.
    pub id: SymbolId,
    /// Canonical `BASE/QUOTE`.
    pub symbol: String,
    /// Exchange it is fetched from.
    pub exchange: String,
    /// Fetched, detected and shown in the matrix.
    pub is_active: bool,
    /// Signals of this symbol are notified.
    pub notify_enabled: bool,
    /// UTC ms of the first 1m candle to fetch on the first run.
    pub fetch_start_ms: i64,
    /// UTC ms of creation.
    pub created_at: i64,
}

/// The `symbols` aggregate.
#[allow(async_fn_in_trait)]
pub trait SymbolStore {
    /// Adds a symbol; ids follow the storing order.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (`"symbols.symbol"`) when the symbol exists; `Unavailable`.
    async fn add_symbol(&self, new: &NewSymbol) -> Result<StoredSymbol, StoreError>;

    /// The symbol with this canonical name, if any.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn symbol_by_name(&self, symbol: &str) -> Result<Option<StoredSymbol>, StoreError>;

    /// Every symbol (or only the active ones), ordered by id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn list_symbols(&self, active_only: bool) -> Result<Vec<StoredSymbol>, StoreError>;

    /// Turns a symbol on or off.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"symbol"`) for an unknown id; `Unavailable`.
    async fn set_symbol_active(&self, id: SymbolId, active: bool) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/// Most series [`CandleStore::last_candles_many`] reads at once (D1 binds at most 100
/// parameters per statement; each series takes 2).
pub const MAX_SERIES_PER_READ: usize = 16;

/// The `Invalid` error of [`CandleStore::last_candles_many`] for too many series; adapters
/// call it first so all three reject the same input.
///
/// # Errors
/// `Invalid` when `len > MAX_SERIES_PER_READ`.
pub fn check_series_per_read(len: usize) -> Result<(), StoreError> {
    if len > MAX_SERIES_PER_READ {
        return Err(StoreError::Invalid(format!(
            "{len} series in one read (at most {MAX_SERIES_PER_READ})"
        )));
    }
    Ok(())
}

/// The `candles` aggregate, keyed by `(symbol, tf, ts)`.
#[allow(async_fn_in_trait)]
pub trait CandleStore {
    /// Stores the candles that are not stored yet, atomically (all or nothing), and returns how
    /// many were newly inserted. A stored candle is never rewritten (detection.md §1), so
    /// running the same batch twice inserts 0 the second time.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"symbol"`) for an unknown symbol (nothing is written);
    /// `Invalid` for a timestamp above [`MAX_EXACT_INT`]; `Unavailable`.
    async fn upsert_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError>;

    /// The newest `n` candles of the series, oldest first.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn last_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        n: u32,
    ) -> Result<Vec<Candle>, StoreError>;

    /// [`Self::last_candles`] of several series of one symbol in ONE statement (the pipeline
    /// loads every TF's window per tick): entry `i` of the result is the newest `n` candles of
    /// `wants[i] = (tf, n)`, oldest first, exactly as `last_candles(symbol, tf, n)` returns them.
    ///
    /// # Errors
    /// `Invalid` for more than [`MAX_SERIES_PER_READ`] entries; `Unavailable` or `Corrupt`.
    async fn last_candles_many(
        &self,
        symbol: SymbolId,
        wants: &[(Timeframe, u32)],
    ) -> Result<Vec<Vec<Candle>>, StoreError>;

    /// The open time of the newest candle of the series.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn last_candle_ts(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
    ) -> Result<Option<i64>, StoreError>;

    /// Candles with `from <= ts < to`, oldest first, at most `limit` (the oldest ones).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn candles_in_range(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError>;

    /// The newest `limit` candles with `ts < before`, oldest first (charts page backwards).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn candles_before(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------

/// Entry, stop, targets and reward ratios of a pattern (detection.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TradeLevels {
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profit 1.
    pub tp1: f64,
    /// Take-profit 2.
    pub tp2: f64,
    /// Take-profit 3.
    pub tp3: f64,
    /// R = |entry − stop|.
    pub risk: f64,
    /// Reward ratio of TP1.
    pub rr1: f64,
    /// Reward ratio of TP2.
    pub rr2: f64,
    /// Reward ratio of TP3.
    pub rr3: f64,
}

/// A pattern to store. It is stored `active` with fill 0% (detection.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewPattern {
    /// Symbol.
    pub symbol: SymbolId,
    /// Timeframe.
    pub tf: Timeframe,
    /// Detector.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// Zone.
    pub zone: Zone,
    /// For sweeps, the swing price that was swept.
    pub swept_level: Option<f64>,
    /// UTC ms of the detecting candle.
    pub detected_at: i64,
    /// `detected_at` + the TF's expiry.
    pub expires_at: i64,
    /// Trading levels.
    pub levels: TradeLevels,
    /// UTC ms when stored (the run's "now").
    pub created_at: i64,
}

/// A stored pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredPattern {
    /// Its id.
    pub id: PatternId,
    /// Symbol.
    pub symbol: SymbolId,
    /// Timeframe.
    pub tf: Timeframe,
    /// Detector.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// Zone.
    pub zone: Zone,
    /// For sweeps, the swing price that was swept.
    pub swept_level: Option<f64>,
    /// UTC ms of the detecting candle.
    pub detected_at: i64,
    /// When it expires while still active.
    pub expires_at: i64,
    /// Lifecycle status.
    pub status: PatternStatus,
    /// UTC ms when it was filled.
    pub filled_at: Option<i64>,
    /// Fill percentage, 0–100.
    pub fill_pct: f64,
    /// Trading levels.
    pub levels: TradeLevels,
    /// UTC ms when stored.
    pub created_at: i64,
}

/// A new status for one active pattern (detection.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusUpdate {
    /// Which pattern.
    pub id: PatternId,
    /// Its new status (may stay `active`).
    pub status: PatternStatus,
    /// Its new fill percentage.
    pub fill_pct: f64,
    /// When it was filled, for `filled`.
    pub filled_at: Option<i64>,
}

/// One timeframe's span for [`PatternStore::pattern_keys`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyWindow {
    /// Timeframe.
    pub tf: Timeframe,
    /// Lowest `detected_at` wanted, UTC ms.
    pub from: i64,
}

/// The insert-if-absent key of a stored pattern within one symbol (detection.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredPatternKey {
    /// Timeframe.
    pub tf: Timeframe,
    /// Detector.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// UTC ms of the detecting candle.
    pub detected_at: i64,
}

/// The latest active pattern of a matrix cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixPattern {
    /// Its id.
    pub id: PatternId,
    /// Detector.
    pub pattern_type: PatternType,
    /// Direction shown by the cell.
    pub direction: Direction,
    /// Zone shown on hover.
    pub zone: Zone,
    /// UTC ms of the detecting candle.
    pub detected_at: i64,
}

/// One cell of the pattern matrix (detection.md §7): an active symbol × a TF in 5m..1d.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixCell {
    /// Symbol id.
    pub symbol: SymbolId,
    /// Canonical symbol name.
    pub symbol_name: String,
    /// Timeframe (never 1m).
    pub tf: Timeframe,
    /// The active pattern with the greatest `detected_at`, ties → higher id; `None` = neutral.
    pub latest: Option<MatrixPattern>,
    /// How many active patterns the cell has.
    pub active_count: u32,
}

/// Filters of the pattern list ([`PatternStore::list_patterns`]); `None` = any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatternFilter {
    /// Only this symbol.
    pub symbol: Option<SymbolId>,
    /// Only this timeframe.
    pub tf: Option<Timeframe>,
    /// Only this detector.
    pub pattern_type: Option<PatternType>,
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only this status.
    pub status: Option<PatternStatus>,
}

/// The `patterns` aggregate.
#[allow(async_fn_in_trait)]
pub trait PatternStore {
    /// Stores the pattern unless `(symbol, tf, type, direction, detected_at)` exists; returns
    /// the new id, or `None` when it existed (the stored row is left untouched).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"symbol"`) for an unknown symbol; `Invalid`; `Unavailable`.
    async fn insert_pattern(&self, new: &NewPattern) -> Result<Option<PatternId>, StoreError>;

    /// [`PatternStore::insert_pattern`] for each pattern in order, atomically: when one fails,
    /// none is stored. Ids follow the input order; one result per input.
    ///
    /// # Errors
    /// As [`PatternStore::insert_pattern`]; on error nothing was written.
    async fn insert_patterns(
        &self,
        new: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError>;

    /// One pattern by id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn pattern(&self, id: PatternId) -> Result<Option<StoredPattern>, StoreError>;

    /// The active patterns of a symbol (of one TF, or all), ordered by id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn active_patterns(
        &self,
        symbol: SymbolId,
        tf: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError>;

    /// Applies the updates atomically to the patterns that are still `active` (an ended
    /// pattern is never revived); returns how many active patterns were updated. Unknown or
    /// ended ids are skipped.
    ///
    /// # Errors
    /// `Invalid` (non-finite fill, an id twice; nothing written); `Unavailable`.
    async fn update_statuses(&self, updates: &[StatusUpdate]) -> Result<u64, StoreError>;

    /// Marks `expired` (fill kept) every active pattern of the symbol with `expires_at < now`;
    /// returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn expire_patterns(&self, symbol: SymbolId, now: i64) -> Result<u64, StoreError>;

    /// The whole matrix in ONE query: for every active symbol (by name) and each TF of
    /// [`Timeframe::VOTING`] (shortest first), the latest active pattern and the active count.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError>;

    /// The keys of the symbol's stored patterns of ANY status, in ONE query: for each window,
    /// those on `window.tf` with `detected_at >= window.from` (no particular order). The live
    /// pipeline asks this once per run for the span its detectors rescanned, so it can apply
    /// the insert-if-absent rule (detection.md §4.4) while it checks candidates one at a time
    /// in memory, and then store the survivors in one [`PatternStore::insert_patterns`] batch.
    /// An empty `windows` returns nothing.
    ///
    /// # Errors
    /// `Invalid` (a bound beyond 2^53); `Unavailable` or `Corrupt`.
    async fn pattern_keys(
        &self,
        symbol: SymbolId,
        windows: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError>;

    /// The patterns matching `filter` (any status), newest first: `detected_at` descending,
    /// ties by id descending, keyset-paged on `(detected_at, id)` ([`Cursor`] `ts` is
    /// `detected_at`), in ONE query.
    ///
    /// # Errors
    /// `Invalid` (limit 0, a cursor beyond 2^53); `Unavailable` or `Corrupt`.
    async fn list_patterns(
        &self,
        filter: &PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

/// Lifecycle status of a signal. `pending` at creation; `notified` at the first successful
/// send; the others end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignalStatus {
    /// Created, not yet sent.
    Pending,
    /// Sent to at least one subscriber.
    Notified,
    /// Price reached the entry.
    Triggered,
    /// Target or stop reached.
    Closed,
    /// Timed out.
    Expired,
    /// Cancelled by an admin.
    Cancelled,
}

impl SignalStatus {
    /// Every status.
    pub const ALL: [SignalStatus; 6] = [
        Self::Pending,
        Self::Notified,
        Self::Triggered,
        Self::Closed,
        Self::Expired,
        Self::Cancelled,
    ];

    /// The stored string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Notified => "notified",
            Self::Triggered => "triggered",
            Self::Closed => "closed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored string.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "signal status",
                value: s.chars().take(32).collect(),
            })
    }
}

/// The stored side of a signal direction: bullish → `long`, bearish → `short`.
pub const fn side_str(direction: Direction) -> &'static str {
    direction.side()
}

/// Parses a stored side (`long`/`short`) back into a direction.
///
/// # Errors
/// [`UnknownVariant`] for anything else.
pub fn parse_side(s: &str) -> Result<Direction, UnknownVariant> {
    match s {
        "long" => Ok(Direction::Bullish),
        "short" => Ok(Direction::Bearish),
        other => Err(UnknownVariant {
            kind: "side",
            value: other.chars().take(32).collect(),
        }),
    }
}

/// Joins timeframes into the stored form, e.g. `"5m,1h"`.
pub fn join_timeframes(tfs: &[Timeframe]) -> String {
    tfs.iter()
        .map(|tf| tf.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses the stored form of [`join_timeframes`] (empty string → empty list).
///
/// # Errors
/// The first unknown timeframe.
pub fn split_timeframes(s: &str) -> Result<Vec<Timeframe>, cl_domain::TimeframeError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(Timeframe::parse).collect()
}

/// A signal to store (detection.md §6). It is stored `pending`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSignal {
    /// Symbol.
    pub symbol: SymbolId,
    /// Direction (stored as `long`/`short`).
    pub direction: Direction,
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profit 1.
    pub tp1: f64,
    /// Take-profit 2.
    pub tp2: f64,
    /// Take-profit 3.
    pub tp3: f64,
    /// Reward ratio (`default_rr`).
    pub risk_reward: f64,
    /// Number of agreeing TFs, 0–7.
    pub confluence_score: u8,
    /// The agreeing TFs, shortest first.
    pub timeframes_aligned: Vec<Timeframe>,
    /// Source pattern.
    pub pattern_id: Option<PatternId>,
    /// UTC ms of creation (the run's "now").
    pub created_at: i64,
}

/// A stored signal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSignal {
    /// Its id.
    pub id: SignalId,
    /// Symbol.
    pub symbol: SymbolId,
    /// Direction (stored as `long`/`short`).
    pub direction: Direction,
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profit 1.
    pub tp1: f64,
    /// Take-profit 2.
    pub tp2: f64,
    /// Take-profit 3.
    pub tp3: f64,
    /// Reward ratio.
    pub risk_reward: f64,
    /// Number of agreeing TFs.
    pub confluence_score: u8,
    /// The agreeing TFs.
    pub timeframes_aligned: Vec<Timeframe>,
    /// Source pattern.
    pub pattern_id: Option<PatternId>,
    /// Lifecycle status.
    pub status: SignalStatus,
    /// UTC ms of creation.
    pub created_at: i64,
    /// UTC ms of the first successful send.
    pub notified_at: Option<i64>,
}

/// Filters of the signal list; `None` = any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalFilter {
    /// Only this symbol.
    pub symbol: Option<SymbolId>,
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only this status.
    pub status: Option<SignalStatus>,
}

/// The `signals` aggregate.
#[allow(async_fn_in_trait)]
pub trait SignalStore {
    /// Stores the signal unless a signal of the same symbol and direction was created within
    /// the cooldown, i.e. with `new.created_at − cooldown_ms < created_at <= new.created_at`
    /// (a cooldown of 0 blocks nothing); the check and the insert are ONE statement. Returns
    /// the new id, or `None` when the cooldown blocked it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (`"symbol"`/`"pattern"`) for a dangling reference; `Invalid`;
    /// `Unavailable`.
    async fn insert_signal(
        &self,
        new: &NewSignal,
        cooldown_ms: i64,
    ) -> Result<Option<SignalId>, StoreError>;

    /// One signal by id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn signal(&self, id: SignalId) -> Result<Option<StoredSignal>, StoreError>;

    /// `created_at` of the newest signal of this symbol and direction.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn last_signal_at(
        &self,
        symbol: SymbolId,
        direction: Direction,
    ) -> Result<Option<i64>, StoreError>;

    /// Signals newest first (`created_at` desc, ties by id desc), keyset-paginated.
    ///
    /// # Errors
    /// `Invalid` for a limit of 0; `Unavailable` or `Corrupt`.
    async fn list_signals(
        &self,
        filter: &SignalFilter,
        page: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Validation shared by every adapter (so they all reject the same inputs, before writing)
// ---------------------------------------------------------------------------------------------

impl NewSymbol {
    /// Checks the values every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.symbol.is_empty() || self.symbol.len() > 20 {
            return Err(StoreError::Invalid("symbol must be 1-20 bytes".into()));
        }
        exact_int("fetch_start_ms", self.fetch_start_ms)?;
        exact_int("created_at", self.created_at)?;
        Ok(())
    }
}

impl TradeLevels {
    /// Checks that every level is finite.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        finite("entry", self.entry)?;
        finite("stop_loss", self.stop_loss)?;
        finite("tp1", self.tp1)?;
        finite("tp2", self.tp2)?;
        finite("tp3", self.tp3)?;
        finite("risk", self.risk)?;
        finite("rr1", self.rr1)?;
        finite("rr2", self.rr2)?;
        finite("rr3", self.rr3)?;
        Ok(())
    }
}

impl NewPattern {
    /// Checks the values every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("symbol id", self.symbol.0)?;
        exact_int("detected_at", self.detected_at)?;
        exact_int("expires_at", self.expires_at)?;
        exact_int("created_at", self.created_at)?;
        if let Some(level) = self.swept_level {
            finite("swept_level", level)?;
        }
        self.levels.validate()
    }
}

impl StatusUpdate {
    /// Checks a batch: finite fills, exact times, no id twice.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate_batch(updates: &[StatusUpdate]) -> Result<(), StoreError> {
        let mut seen = std::collections::BTreeSet::new();
        for u in updates {
            exact_int("pattern id", u.id.0)?;
            finite("fill_pct", u.fill_pct)?;
            if let Some(t) = u.filled_at {
                exact_int("filled_at", t)?;
            }
            if !seen.insert(u.id) {
                return Err(StoreError::Invalid(format!(
                    "pattern {} updated twice",
                    u.id
                )));
            }
        }
        Ok(())
    }
}

impl NewSignal {
    /// Checks the values every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self, cooldown_ms: i64) -> Result<(), StoreError> {
        exact_int("symbol id", self.symbol.0)?;
        exact_int("created_at", self.created_at)?;
        exact_int("cooldown_ms", cooldown_ms)?;
        if cooldown_ms < 0 {
            return Err(StoreError::Invalid("cooldown_ms is negative".into()));
        }
        if self.confluence_score > 7 {
            return Err(StoreError::Invalid("confluence_score above 7".into()));
        }
        finite("entry", self.entry)?;
        finite("stop_loss", self.stop_loss)?;
        finite("tp1", self.tp1)?;
        finite("tp2", self.tp2)?;
        finite("tp3", self.tp3)?;
        finite("risk_reward", self.risk_reward)?;
        Ok(())
    }
}

impl PageRequest {
    /// Checks the limit (≥ 1) and the cursor (exact integers).
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 {
            return Err(StoreError::Invalid("page limit is 0".into()));
        }
        if let Some(c) = self.after {
            exact_int("cursor time", c.ts)?;
            exact_int("cursor id", c.id)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

/// Readiness check of a store (`/health/ready`).
#[allow(async_fn_in_trait)]
pub trait HealthProbe {
    /// One cheap round trip.
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer.
    async fn ping(&self) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/// The clock of a scheduled run: "now" in UTC ms. Injected (never `SystemTime::now()`, which
/// panics on wasm32) so that the pipeline is deterministic under replay and in tests; see
/// [`crate::clock`] for the fixed and manual clocks.
pub trait Clock {
    /// The current time, UTC ms.
    fn now_ms(&self) -> i64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_opaque_form() {
        let c = Cursor {
            ts: 1_700_000_000_000,
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        let big = Cursor {
            ts: MAX_EXACT_INT,
            id: i64::MAX,
        };
        assert_eq!(Cursor::decode(&big.encode()), Ok(big));
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "x.1",
            "1.1.1",
            "-1.2",
            "11111111111111111.1",
        ] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad:?}");
        }
    }

    #[test]
    fn newest_first_order_puts_lower_ids_after_on_ties() {
        let c = Cursor { ts: 10, id: 5 };
        assert!(c.is_before(10, 4));
        assert!(c.is_before(9, 100));
        assert!(!c.is_before(10, 5));
        assert!(!c.is_before(11, 0));
    }

    #[test]
    fn signal_statuses_and_sides_round_trip() {
        for s in SignalStatus::ALL {
            assert_eq!(SignalStatus::parse(s.as_str()), Ok(s));
        }
        assert!(SignalStatus::parse("done").is_err());
        for d in Direction::ALL {
            assert_eq!(parse_side(side_str(*d)), Ok(*d));
        }
        assert!(parse_side("bullish").is_err());
    }

    #[test]
    fn timeframe_lists_round_trip() {
        let tfs = [Timeframe::M5, Timeframe::H1, Timeframe::D1];
        assert_eq!(join_timeframes(&tfs), "5m,1h,1d");
        assert_eq!(split_timeframes("5m,1h,1d"), Ok(tfs.to_vec()));
        assert_eq!(split_timeframes(""), Ok(vec![]));
        assert!(split_timeframes("5m,,1h").is_err());
    }
}

// =============================================================================================
// Accounts and authentication (product.md §1, §3, §10, §11)
// =============================================================================================
//
// The account use cases (`crate::accounts`) depend on these ports. The security rules that
// need atomicity live in ONE statement (or transaction) of the adapter, and the contract suite
// (`cl-store-contract`, `accounts` cases) pins them:
// - `LockoutStore::reserve`: read-modify-write of the lockout row, so parallel guesses get ≤ 5
//   tries;
// - `SessionStore::reserve_totp_attempt`: at most `max` TOTP checks per pending login;
// - `SessionStore::promote_session` / `rotate_session`: the old id stops working in the same
//   statement that creates the new one, and only once;
// - `AuthTokenStore::consume_token`, `RecoveryCodeStore::consume_recovery_code`: single use;
// - `UserStore::record_totp_step`: a TOTP step is accepted once (compare-and-set).

use crate::policy::Tier;
use cl_auth::email::{Email, Username};
use cl_auth::lockout::{LockoutState, Reservation};
use cl_auth::tokens::TokenHash;
use cl_auth::SecretString;

id_type!(
    /// Id of a row of `users`.
    UserId
);

/// A user to create (registration). Active, unverified, not admin, 2FA off.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Canonical email (unique).
    pub email: Email,
    /// Username (unique, case-insensitively).
    pub username: Username,
    /// PHC string of the password hash.
    pub password_hash: SecretString,
    /// The user's ntfy topic (unique).
    pub ntfy_topic: String,
    /// UTC ms of creation (also stored as `password_changed_at`).
    pub created_at: i64,
}

impl NewUser {
    /// Checks the values every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("created_at", self.created_at)?;
        if self.password_hash.is_empty() || self.ntfy_topic.is_empty() {
            return Err(StoreError::Invalid(
                "password hash and ntfy topic are required".into(),
            ));
        }
        Ok(())
    }
}

/// The TOTP columns of a user. The secret is only ever stored sealed (AES-256-GCM envelope,
/// `cl_auth::crypto::Sealed::encode`), with the id of the key that sealed it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TotpColumns {
    /// The sealed secret (set at setup, kept while enabled).
    pub secret_enc: Option<String>,
    /// Id of the key that sealed it.
    pub key_id: Option<String>,
    /// 2FA is on (the secret was confirmed with a code).
    pub enabled: bool,
    /// The last accepted TOTP step (a step at or before it is refused).
    pub last_step: Option<i64>,
}

impl fmt::Debug for TotpColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpColumns")
            .field("secret", &self.secret_enc.as_ref().map(|_| "[SEALED]"))
            .field("key_id", &self.key_id)
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A stored user (the account columns; preferences live with their own ports).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// Its id.
    pub id: UserId,
    /// Canonical email.
    pub email: Email,
    /// Username as registered.
    pub username: Username,
    /// PHC string of the password hash.
    pub password_hash: SecretString,
    /// Off → no login, sessions revoked.
    pub is_active: bool,
    /// The email was confirmed.
    pub is_verified: bool,
    /// Administrator.
    pub is_admin: bool,
    /// Must change the password at the next login (bootstrap admin).
    pub must_change_password: bool,
    /// The user's ntfy topic.
    pub ntfy_topic: String,
    /// 2FA state.
    pub totp: TotpColumns,
    /// UTC ms of the last password change.
    pub password_changed_at: Option<i64>,
    /// UTC ms of creation.
    pub created_at: i64,
    /// UTC ms of the last completed login.
    pub last_login_at: Option<i64>,
}

impl fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No hash, no topic (it is a capability to read the user's notifications).
        f.debug_struct("StoredUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .field("is_verified", &self.is_verified)
            .field("is_admin", &self.is_admin)
            .field("totp", &self.totp)
            .finish_non_exhaustive()
    }
}

/// The account columns of `users`.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// Creates a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] `"users.email"`, `"users.username"` (case-insensitive) or
    /// `"users.ntfy_topic"`; `Invalid`; `Unavailable`.
    async fn create_user(&self, new: &NewUser) -> Result<StoredUser, StoreError>;

    /// One user by id.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn user(&self, id: UserId) -> Result<Option<StoredUser>, StoreError>;

    /// One user by canonical email.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError>;

    /// Whether a user has this username, compared case-insensitively.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn username_taken(&self, username: &Username) -> Result<bool, StoreError>;

    /// Replaces the password hash; when `changed_at` is given (a real change, not a rehash at
    /// login) also sets `password_changed_at` and clears `must_change_password`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &SecretString,
        changed_at: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Sets `is_verified`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn set_verified(&self, id: UserId, verified: bool) -> Result<(), StoreError>;

    /// Sets `is_active` (the caller revokes the sessions when turning it off).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StoreError>;

    /// Sets `is_admin`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StoreError>;

    /// Replaces the email (already verified by the caller).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] `"users.email"`; [`StoreError::NotFound`] `"user"`;
    /// `Unavailable`.
    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), StoreError>;

    /// Records a completed login.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn set_last_login(&self, id: UserId, at: i64) -> Result<(), StoreError>;

    /// Stores a new, not yet confirmed TOTP secret (sealed) with its key id, clearing the last
    /// step; refused (→ `false`) when 2FA is already on or the user does not exist.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_totp_secret(
        &self,
        id: UserId,
        secret_enc: &str,
        key_id: &str,
    ) -> Result<bool, StoreError>;

    /// Turns 2FA on with the confirming step, only if 2FA is off and the stored secret is still
    /// `secret_enc` (the one the code was checked against). `false` otherwise.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn enable_totp(
        &self,
        id: UserId,
        secret_enc: &str,
        step: i64,
    ) -> Result<bool, StoreError>;

    /// Compare-and-set of the last used step: records `step` only if 2FA is on and no step at
    /// or after it was recorded. `false` = the step was already used (a replay).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn record_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError>;

    /// Turns 2FA off and forgets the secret and the last step.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn clear_totp(&self, id: UserId) -> Result<(), StoreError>;

    /// Deletes the user; sessions, tokens and recovery codes go with it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn delete_user(&self, id: UserId) -> Result<(), StoreError>;
}

/// How far a session got: `pending_2fa` reaches only the TOTP step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStage {
    /// Password checked, TOTP still due.
    Pending2fa,
    /// Fully logged in.
    Full,
}

impl SessionStage {
    /// Every stage (the OpenAPI document lists these).
    pub const ALL: [SessionStage; 2] = [Self::Pending2fa, Self::Full];

    /// The stored string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending2fa => "pending_2fa",
            Self::Full => "full",
        }
    }

    /// Parses the stored string.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "pending_2fa" => Ok(Self::Pending2fa),
            "full" => Ok(Self::Full),
            other => Err(UnknownVariant {
                kind: "session stage",
                value: other.chars().take(32).collect(),
            }),
        }
    }
}

/// Longest stored `sessions.user_agent`, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 200;
/// Longest stored `sessions.ip`, in characters.
pub const MAX_IP_CHARS: usize = 64;

/// A session to create. `last_seen_at` starts at `created_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session token (the key).
    pub token_hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Stage.
    pub stage: SessionStage,
    /// Admin "view as" tier.
    pub view_as: Option<Tier>,
    /// UTC ms of creation.
    pub created_at: i64,
    /// Idle expiry (sliding).
    pub expires_at: i64,
    /// Absolute expiry (never extended).
    pub absolute_expires_at: i64,
    /// UTC ms of the last re-authentication.
    pub reauth_at: Option<i64>,
    /// Client IP (display only).
    pub ip: Option<String>,
    /// User agent, at most [`MAX_USER_AGENT_CHARS`] characters.
    pub user_agent: Option<String>,
}

impl NewSession {
    /// Checks the values every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("created_at", self.created_at)?;
        exact_int("expires_at", self.expires_at)?;
        exact_int("absolute_expires_at", self.absolute_expires_at)?;
        if let Some(t) = self.reauth_at {
            exact_int("reauth_at", t)?;
        }
        if self
            .user_agent
            .as_ref()
            .is_some_and(|ua| ua.chars().count() > MAX_USER_AGENT_CHARS)
        {
            return Err(StoreError::Invalid(
                "user agent above 200 characters".into(),
            ));
        }
        if self
            .ip
            .as_ref()
            .is_some_and(|ip| ip.chars().count() > MAX_IP_CHARS)
        {
            return Err(StoreError::Invalid("ip above 64 characters".into()));
        }
        Ok(())
    }
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the session token.
    pub token_hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Stage.
    pub stage: SessionStage,
    /// Admin "view as" tier.
    pub view_as: Option<Tier>,
    /// TOTP checks reserved on this pending login.
    pub totp_failures: u32,
    /// UTC ms of creation (of the current id).
    pub created_at: i64,
    /// UTC ms of the last use.
    pub last_seen_at: i64,
    /// Idle expiry (sliding); the session is valid while `now < expires_at`.
    pub expires_at: i64,
    /// Absolute expiry.
    pub absolute_expires_at: i64,
    /// UTC ms of the last re-authentication.
    pub reauth_at: Option<i64>,
    /// Client IP at creation.
    pub ip: Option<String>,
    /// User agent at creation.
    pub user_agent: Option<String>,
}

/// The `sessions` table: server-side, revocable sessions keyed by the token hash.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Creates a session.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Conflict` on a duplicate hash; `Invalid`;
    /// `Unavailable`.
    async fn create_session(&self, new: &NewSession) -> Result<(), StoreError>;

    /// One session by token hash, expired or not (the caller checks).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn session(&self, hash: &TokenHash) -> Result<Option<StoredSession>, StoreError>;

    /// Records a use: `last_seen_at = now`, `expires_at = expires_at` (the caller caps it at
    /// the absolute expiry), only while the session is unexpired (`now < expires_at`).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn touch_session(
        &self,
        hash: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Completes a 2FA login in one step: the unexpired `pending_2fa` session `pending`
    /// becomes a `full` session under the new id `new` (the old id stops working), with
    /// `created_at = last_seen_at = reauth_at = now`, the given expiries and the TOTP counter
    /// reset. `false` when no such pending session exists (expired, promoted already, deleted).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn promote_session(
        &self,
        pending: &TokenHash,
        new: &TokenHash,
        now: i64,
        expires_at: i64,
        absolute_expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Rotates the id of an unexpired `full` session: the row moves to `new` (everything else
    /// kept, `last_seen_at = now`) and `old` stops working. `false` when there is no such
    /// session.
    ///
    /// # Errors
    /// `Conflict` on a duplicate new hash; `Unavailable`.
    async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Sets the admin "view as" tier of a session.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_view_as(
        &self,
        hash: &TokenHash,
        view_as: Option<Tier>,
    ) -> Result<bool, StoreError>;

    /// Records a successful re-authentication at `at`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_reauth(&self, hash: &TokenHash, at: i64) -> Result<bool, StoreError>;

    /// Reserves one TOTP check on an unexpired `pending_2fa` session: increments its counter
    /// when below `max` and returns the new count; `None` when the session is missing, not
    /// pending, expired or out of attempts. One atomic statement, so parallel guesses on one
    /// pending login get at most `max` checks.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn reserve_totp_attempt(
        &self,
        hash: &TokenHash,
        now: i64,
        max: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Deletes one session; `false` when it did not exist.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Deletes every session of a user except `keep`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError>;

    /// The sessions of a user, most recently used first (ties by hash).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn user_sessions(&self, user: UserId) -> Result<Vec<StoredSession>, StoreError>;

    /// Deletes the sessions with `expires_at <= now` or `absolute_expires_at <= now`
    /// (cleanup job); returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError>;
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Confirms the registration email (24 h).
    VerifyEmail,
    /// Resets the password (1 h).
    ResetPassword,
    /// Confirms a new email address (24 h).
    ChangeEmail,
}

impl TokenPurpose {
    /// Every purpose.
    pub const ALL: [TokenPurpose; 3] = [Self::VerifyEmail, Self::ResetPassword, Self::ChangeEmail];

    /// The stored string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
        }
    }

    /// Parses the stored string.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "token purpose",
                value: s.chars().take(32).collect(),
            })
    }
}

/// A one-time token to store (hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthToken {
    /// Purpose.
    pub purpose: TokenPurpose,
    /// SHA-256 of the token.
    pub token_hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// The address to switch to (`change_email` only).
    pub new_email: Option<Email>,
    /// UTC ms of creation.
    pub created_at: i64,
    /// The token is valid while `now < expires_at`.
    pub expires_at: i64,
}

/// A token that was just consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedToken {
    /// Purpose.
    pub purpose: TokenPurpose,
    /// Owner.
    pub user_id: UserId,
    /// The address to switch to (`change_email` only).
    pub new_email: Option<Email>,
    /// UTC ms of creation.
    pub created_at: i64,
}

/// The `auth_tokens` table: email verification, password reset and email change tokens.
#[allow(async_fn_in_trait)]
pub trait AuthTokenStore {
    /// Stores a token and voids every older token of the same user and purpose (one
    /// statement). A token issued later always wins, even against a concurrent issue: only
    /// the newest token of a user and purpose can be consumed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Conflict` on a duplicate hash; `Invalid`;
    /// `Unavailable`.
    async fn issue_token(&self, new: &NewAuthToken) -> Result<(), StoreError>;

    /// Consumes a token atomically: returns its row once if it has this purpose, is unused,
    /// unexpired (`now < expires_at`) and the newest of its user and purpose; `None` otherwise
    /// and on every later call.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<ConsumedToken>, StoreError>;
}

/// The `recovery_codes` table (hashes of single-use 2FA recovery codes).
#[allow(async_fn_in_trait)]
pub trait RecoveryCodeStore {
    /// Replaces all recovery codes of a user with these hashes, atomically (an empty slice
    /// deletes them all).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] `"user"`; `Unavailable`.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        code_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError>;

    /// Marks one unused code with this hash as used; `true` once, `false` for an unknown or
    /// used code (atomic: two parallel uses of one code succeed once).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn consume_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// How many unused codes the user has.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn remaining_recovery_codes(&self, user: UserId) -> Result<u32, StoreError>;
}

/// The `auth_lockouts` table: one [`LockoutState`] per account key
/// (`cl_auth::lockout::account_key`, unknown emails included).
#[allow(async_fn_in_trait)]
pub trait LockoutStore {
    /// Reserve-then-verify, atomically: applies [`LockoutState::reserve`] to the row (created
    /// on first use) in ONE statement or transaction and returns its answer. Called BEFORE the
    /// password or TOTP check, so N parallel guesses get at most 5 `Allowed`.
    ///
    /// # Errors
    /// `Invalid` (time beyond 2^53); `Unavailable` (the caller fails closed).
    async fn reserve(&self, acct_hash: &str, now: i64) -> Result<Reservation, StoreError>;

    /// The login (2FA included) succeeded: the count and the doubling reset.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn record_success(&self, acct_hash: &str) -> Result<(), StoreError>;

    /// An admin unlock (same effect as a success).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn unlock(&self, acct_hash: &str) -> Result<(), StoreError>;

    /// The stored state (admin view, tests); `None` when there is no row.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn lockout_state(&self, acct_hash: &str) -> Result<Option<LockoutState>, StoreError>;
}

/// Every store port the account use cases need, as one bound.
pub trait AccountStores:
    UserStore
    + run_queue::RunQueueStore
    + CandleStore
    + crate::jobs::maintenance::MaintenanceStore
    + SessionStore
    + AuthTokenStore
    + RecoveryCodeStore
    + LockoutStore
    + BillingStore
    + admin::AdminStore
    + optimization::OptimizationStore
    + optimization::TradingPrefsStore
    + notifications::NotificationStore
    + SymbolStore
    + crate::cron::CronStore
    + crate::notify_admin::NotifyAdminStores
    + stats::StatsStore
    + gate::GateStore
{
}
impl<
        T: UserStore
            + run_queue::RunQueueStore
            + CandleStore
            + crate::jobs::maintenance::MaintenanceStore
            + SessionStore
            + AuthTokenStore
            + RecoveryCodeStore
            + LockoutStore
            + BillingStore
            + admin::AdminStore
            + optimization::OptimizationStore
            + optimization::TradingPrefsStore
            + notifications::NotificationStore
            + crate::cron::CronStore
            + crate::notify_admin::NotifyAdminStores
            + stats::StatsStore
            + gate::GateStore
            + SymbolStore,
    > AccountStores for T
{
}

// ---------------------------------------------------------------------------------------------
// Outbound ports of the account use cases: mail and password hashing
// ---------------------------------------------------------------------------------------------

/// The templated messages the account flows send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// Confirm your address (params: `token`, `username`).
    VerifyEmail,
    /// Someone tried to register with your address (no params): sent instead of an error.
    AccountExists,
    /// Reset your password (params: `token`).
    PasswordReset,
    /// Your password was changed or reset (no params).
    PasswordChanged,
    /// To the OLD address: an email change was requested (params: `new_email`).
    EmailChangeRequested,
    /// To the NEW address: confirm it (params: `token`).
    ConfirmNewEmail,
    /// To the NEW address when it already belongs to an account (no params).
    EmailChangeRejected,
    /// 2FA was turned on (no params).
    TwoFactorEnabled,
    /// 2FA was turned off (no params).
    TwoFactorDisabled,
    /// The account was deleted (no params).
    AccountDeleted,
    /// The subscription expires soon (params: `days_before`, `expires_at`, `plan`; sent by the
    /// subscriptions job, `crate::jobs::subscriptions`).
    SubscriptionExpiring,
}

/// Names of the mail template parameters.
pub mod mail_param {
    /// A one-time token; the mailer builds the link with it in the URL fragment (`#t=…`).
    pub const TOKEN: &str = "token";
    /// The username.
    pub const USERNAME: &str = "username";
    /// The new address of an email change.
    pub const NEW_EMAIL: &str = "new_email";
}

/// One message to send. Parameter values are [`SecretString`]s (tokens among them), so a
/// `Debug` print of a message shows only the parameter names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Template.
    pub kind: MailKind,
    /// Recipient.
    pub to: Email,
    /// Template parameters ([`mail_param`]).
    pub params: Vec<(&'static str, SecretString)>,
}

impl Mail {
    /// The value of a parameter.
    pub fn param(&self, name: &str) -> Option<&SecretString> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// Why a message could not be handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The provider or queue failed; the context is for logs.
    #[error("mail unavailable: {0}")]
    Unavailable(String),
}

/// Sends templated mail. Implementations should hand the message to a queue or
/// `waitUntil` rather than block the request, so that flows which send mail for some inputs
/// only (forgot password, resend) take the same time either way.
#[allow(async_fn_in_trait)]
pub trait Mailer {
    /// Hands one message over for delivery.
    ///
    /// # Errors
    /// [`MailError::Unavailable`].
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// A password hashing failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The stored hash is not a PHC string this hasher understands.
    #[error("malformed password hash: {0}")]
    Malformed(String),
    /// The hasher could not run (no randomness, WebCrypto failure).
    #[error("password hasher unavailable: {0}")]
    Unavailable(String),
}

/// Password hashing (PHC strings). The app's default is `accounts::Pbkdf2Hasher` (cl-auth's
/// PBKDF2); the worker supplies a WebCrypto one producing identical hashes.
#[allow(async_fn_in_trait)]
pub trait PasswordHasher {
    /// Hashes a password (exactly as received) with a fresh salt at the current parameters.
    ///
    /// # Errors
    /// [`HashError::Unavailable`].
    async fn hash(&self, password: &SecretString) -> Result<SecretString, HashError>;

    /// Checks a password against a stored PHC string in constant time.
    ///
    /// # Errors
    /// [`HashError::Malformed`] for an unreadable stored hash; `Unavailable`.
    async fn verify(&self, password: &SecretString, phc: &SecretString) -> Result<bool, HashError>;

    /// Does the work of a verification at the current parameters and returns nothing: used for
    /// unknown and locked accounts so that they take as long as a wrong password.
    async fn verify_dummy(&self, password: &SecretString);

    /// Whether a stored hash is weaker than the current parameters (rehash after login).
    fn needs_rehash(&self, phc: &SecretString) -> bool;
}

// ---------------------------------------------------------------------------------------------
// Rate limits (product.md §11.13)
// ---------------------------------------------------------------------------------------------

/// Soft rate-limit counters (Workers KV in production, memory in tests). The window math is
/// `cl_auth::ratelimit::Rule`; an adapter only counts. The authoritative brute-force guard
/// for logins stays the database lockout ([`LockoutStore`]).
#[allow(async_fn_in_trait)]
pub trait RateLimitStore {
    /// Counts one request of `subject` under `rule` at `now_ms` and says whether it may
    /// proceed (a limited request is not counted).
    ///
    /// # Errors
    /// `Unavailable` when the counters cannot be read or written (auth routes fail closed);
    /// `Invalid` for a subject the key format refuses.
    async fn hit(
        &self,
        rule: &cl_auth::ratelimit::Rule,
        subject: &str,
        now_ms: i64,
    ) -> Result<cl_auth::ratelimit::Decision, StoreError>;
}

// =============================================================================================
// Billing: payments, subscriptions, webhook events, expiry warnings (product.md §6, §10)
// =============================================================================================

// The billing use cases (`crate::billing`) depend on these ports. The rows are the pure types
// of `cl-billing` ([`PaymentRecord`], [`BillingSubscription`]); every decision is made there
// (`cl_billing::apply_event`), and the adapter only writes it, atomically:
// [`BillingStore::apply_webhook`] inserts the `webhook_events` row, writes the payment and
// upserts the subscription in ONE transaction (Postgres) or ONE batch (D1), after checking that
// the rows the decision was computed from are still unchanged (optimistic guard; the service
// re-reads and re-decides on [`ApplyOutcome::Stale`]). The contract suite
// (`cl-store-contract`, `billing` cases) pins it.

pub use cl_billing::checkout::NewPayment;
pub use cl_billing::plan::SubscriptionId;
pub use cl_billing::subscription::WarningKey;
pub use cl_billing::{
    PaymentId, PaymentRecord, PaymentStatus, Provider, Subscription as BillingSubscription,
};

/// A stored payment: the record `cl-billing` decides on, plus bookkeeping columns.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPayment {
    /// `payments.id`.
    pub id: PaymentId,
    /// The row as `cl-billing` sees it (`record.id == Some(id)`).
    pub record: PaymentRecord,
    /// Creation time (the checkout, or the renewal event).
    pub created_at: i64,
    /// Last write.
    pub updated_at: i64,
}

/// A stored subscription (one per user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    /// `subscriptions.id`.
    pub id: SubscriptionId,
    /// The row as `cl-billing` sees it.
    pub subscription: BillingSubscription,
    /// Creation time.
    pub created_at: i64,
    /// Last write.
    pub updated_at: i64,
}

/// The writes of one webhook event, run atomically by [`BillingStore::apply_webhook`].
///
/// `read_payment` / `read_subscription` are the rows the decision was computed from (as
/// returned by the store); the adapter refuses the whole unit with [`ApplyOutcome::Stale`]
/// when the stored rows differ from them at write time.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookWrite {
    /// The provider that sent the event.
    pub provider: Provider,
    /// The dedup key (`cl_billing::EventKey::as_str`); unique per provider.
    pub event_key: String,
    /// When we received it.
    pub received_at: i64,
    /// `webhook_events.outcome` (an `Outcome` word or `mismatch_<field>`).
    pub outcome: String,
    /// The payment the event concerns, for `webhook_events.payment_id` (an inserted renewal
    /// row's new id is used instead).
    pub payment_id: Option<PaymentId>,
    /// The payment row as read (`None`: not read, e.g. a renewal row about to be inserted or a
    /// rejected event).
    pub read_payment: Option<PaymentRecord>,
    /// The new payment state (`None`: unchanged; `id: None`: insert a renewal row). Its status
    /// must not rank below the stored one.
    pub payment: Option<PaymentRecord>,
    /// The user whose subscription was read for the decision (then `read_subscription` is
    /// what was read: `None` = no row); `None`: not read, not checked.
    pub subscription_user: Option<cl_billing::UserId>,
    /// The user's subscription row as read.
    pub read_subscription: Option<BillingSubscription>,
    /// The subscription's new state, upserted on its unique `user_id` (`None`: unchanged).
    pub subscription: Option<BillingSubscription>,
}

/// A recorded webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookEvent {
    /// Provider.
    pub provider: Provider,
    /// Dedup key.
    pub event_key: String,
    /// When it was received.
    pub received_at: i64,
    /// The payment it concerned, if any.
    pub payment_id: Option<PaymentId>,
    /// What applying it amounted to.
    pub outcome: String,
}

/// What [`BillingStore::apply_webhook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Every write was made; carries the payment id (a renewal row's new id).
    Applied {
        /// The payment written or referenced, if any.
        payment_id: Option<PaymentId>,
    },
    /// `(provider, event_key)` was already recorded: nothing was written.
    Replay,
    /// A row read for the decision changed in between: nothing was written; re-read and
    /// decide again.
    Stale,
}

/// The `payments`, `subscriptions`, `webhook_events` and `expiry_warnings` tables.
#[allow(async_fn_in_trait)]
pub trait BillingStore {
    /// Stores a pending checkout payment and returns its id.
    ///
    /// # Errors
    /// `NotFound("user")`; `Invalid` (time or amount not storable); `Unavailable`.
    async fn create_payment(&self, new: &NewPayment) -> Result<PaymentId, StoreError>;

    /// A payment by id, whoever owns it (webhooks).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn payment_by_id(&self, id: PaymentId) -> Result<Option<StoredPayment>, StoreError>;

    /// A payment by `(provider, external_id)` (LemonSqueezy renewal invoices).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn payment_by_external_id(
        &self,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError>;

    /// A payment of `user` (another user's payment reads as `None`).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn payment(
        &self,
        id: PaymentId,
        user: cl_billing::UserId,
    ) -> Result<Option<StoredPayment>, StoreError>;

    /// The payments of `user`, newest first (`created_at`, then id), keyset-paged.
    ///
    /// # Errors
    /// `Invalid` (limit 0); `Unavailable` or `Corrupt`.
    async fn payments_of(
        &self,
        user: cl_billing::UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError>;

    /// The user's subscription row, if any.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn subscription_of(
        &self,
        user: cl_billing::UserId,
    ) -> Result<Option<StoredSubscription>, StoreError>;

    /// Applies one webhook event atomically: inserts the `webhook_events` row (a duplicate
    /// `(provider, event_key)` → [`ApplyOutcome::Replay`], nothing written), checks the read
    /// rows are unchanged (else [`ApplyOutcome::Stale`], nothing written), writes the payment
    /// (insert, or an update that never lowers the status rank) and upserts the subscription.
    /// Any failure leaves nothing written.
    ///
    /// # Errors
    /// `Invalid` (a status moving backwards, a value not storable); `NotFound` (user);
    /// `Unavailable`. In every error case nothing was written.
    async fn apply_webhook(&self, write: &WebhookWrite) -> Result<ApplyOutcome, StoreError>;

    /// The recorded event `(provider, event_key)`, if any (admin view, tests).
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn webhook_event(
        &self,
        provider: Provider,
        event_key: &str,
    ) -> Result<Option<StoredWebhookEvent>, StoreError>;

    /// Marks `active` subscriptions whose `expires_at < now` as `expired` (grace still
    /// applies, see `cl_billing::subscription`); returns how many.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn expire_subscriptions(&self, now: i64) -> Result<u64, StoreError>;

    /// `active` and `cancelled` subscriptions with `now < expires_at <= now + within_ms`.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn subscriptions_expiring(
        &self,
        now: i64,
        within_ms: i64,
    ) -> Result<Vec<StoredSubscription>, StoreError>;

    /// Records expiry warnings (unique on `(subscription_id, expires_at, days_before)`; an
    /// existing key is left alone) in one statement; returns whether `send` was newly
    /// recorded (then, and only then, the warning is sent).
    ///
    /// # Errors
    /// `NotFound("subscription")`; `Invalid`; `Unavailable`.
    async fn record_expiry_warnings(
        &self,
        send: &WarningKey,
        record: &[WarningKey],
        sent_at: i64,
    ) -> Result<bool, StoreError>;
}

/// A checkout request body for a payment provider, built by `cl_billing::checkout`.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderCheckout {
    /// `POST https://api.lemonsqueezy.com/v1/checkouts`.
    LemonSqueezy(cl_billing::checkout::LemonSqueezyCheckoutBody),
    /// `POST https://api.nowpayments.io/v1/invoice`.
    NowPayments(cl_billing::checkout::NowPaymentsInvoiceBody),
}

/// The hosted payment page the customer is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutUrl(pub String);

/// A payment provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered 5xx; the context is for logs.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (4xx) or answered something unreadable.
    #[error("payment provider refused the request: {0}")]
    Rejected(String),
}

/// Creates hosted checkouts at LemonSqueezy / NOWPayments and reads a NOWPayments payment's
/// status (the HTTP clients live in the worker, `crates/worker/src/payments.rs`; host tests use
/// a fake).
#[allow(async_fn_in_trait)]
pub trait PaymentProvider {
    /// Sends the checkout/invoice request and returns the URL to redirect to.
    ///
    /// # Errors
    /// [`ProviderError`].
    async fn create_checkout(
        &self,
        request: &ProviderCheckout,
    ) -> Result<CheckoutUrl, ProviderError>;

    /// The provider's current record of the NOWPayments payment `payment_id`
    /// (`GET /v1/payment/{payment_id}`), as the raw JSON body: it has the fields of an IPN, so
    /// `cl_billing::parse_nowpayments` reads it and the result goes through the same atomic
    /// apply as a webhook (a server-side status check, product.md §6).
    ///
    /// # Errors
    /// [`ProviderError`].
    async fn nowpayments_payment(&self, payment_id: &str) -> Result<Vec<u8>, ProviderError>;
}

fn payment_record_valid(p: &PaymentRecord) -> Result<(), StoreError> {
    if let Some(v) = p.actually_paid {
        finite("payments.actually_paid", v)?;
    }
    if let Some(t) = p.completed_at {
        exact_int("payments.completed_at", t)?;
    }
    if let Some(t) = p.last_event_at {
        exact_int("payments.provider_updated_at", t)?;
    }
    Ok(())
}

fn subscription_valid(s: &BillingSubscription) -> Result<(), StoreError> {
    exact_int("subscriptions.starts_at", s.starts_at)?;
    for t in [s.expires_at, s.cancelled_at].into_iter().flatten() {
        exact_int("subscriptions time", t)?;
    }
    Ok(())
}

/// Checks a new checkout payment (every adapter calls it before writing).
///
/// # Errors
/// [`StoreError::Invalid`] for a time beyond 2^53.
pub fn validate_new_payment(new: &NewPayment) -> Result<(), StoreError> {
    exact_int("payments.created_at", new.created_at)?;
    Ok(())
}

impl WebhookWrite {
    /// Checks the write before any adapter touches a row: storable values, a payment whose
    /// status does not rank below the one read (a status only moves forward), a new payment
    /// for the same row as read, a subscription of the user that was read.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("webhook_events.received_at", self.received_at)?;
        if self.event_key.is_empty() || self.outcome.is_empty() {
            return Err(StoreError::Invalid(
                "webhook event key and outcome must not be empty".into(),
            ));
        }
        if let Some(p) = &self.payment {
            payment_record_valid(p)?;
            if let Some(read) = &self.read_payment {
                if read.id != p.id {
                    return Err(StoreError::Invalid(
                        "the payment written is not the payment read".into(),
                    ));
                }
                if !(read.status == p.status || read.status.can_become(p.status)) {
                    return Err(StoreError::Invalid(format!(
                        "payment status may not move from {} to {}",
                        read.status.as_str(),
                        p.status.as_str()
                    )));
                }
            } else if p.id.is_some() {
                return Err(StoreError::Invalid(
                    "an updated payment must come with the row read".into(),
                ));
            }
        }
        if let Some(s) = &self.subscription {
            subscription_valid(s)?;
            if self.subscription_user != Some(s.user_id) {
                return Err(StoreError::Invalid(
                    "a subscription is written only after reading the user's row".into(),
                ));
            }
        }
        Ok(())
    }
}

// =============================================================================================
// Portfolio: portfolios, trades, tags, journal (product.md §7, §10)
// =============================================================================================

// Every read and write is scoped by the owner: a row of another user reads as absent and
// writes answer `NotFound` (no IDOR). The rules that need atomicity live in the adapter:
// - the portfolio balance is recomputed as `initial + Σ pnl of closed trades` in the SAME
//   transaction as every trade write (close, edit, delete), so it never drifts;
// - trade writes are compare-and-set on the status read ([`PortfolioStore::save_trade`]);
// - quotas (portfolios per user, trades per portfolio and per UTC day, tags, journal entries)
//   are counted and enforced in the same transaction as the insert, under a row lock.

use cl_domain::levels::trade::Side;

id_type!(
    /// Id of a row of `portfolios`.
    PortfolioId
);
id_type!(
    /// Id of a row of `trades`.
    TradeId
);
id_type!(
    /// Id of a row of `tags`.
    TagId
);
id_type!(
    /// Id of a row of `journal_entries`.
    JournalEntryId
);

/// The named quota conflicts a store reports (`StoreError::Conflict`).
pub mod quota {
    /// Portfolios per user.
    pub const PORTFOLIOS: &str = "quota.portfolios";
    /// Trades per portfolio.
    pub const TRADES: &str = "quota.trades";
    /// Trades created per UTC day (all portfolios of the user).
    pub const TRADES_PER_DAY: &str = "quota.trades_per_day";
    /// Tags per user.
    pub const TAGS: &str = "quota.tags";
    /// Journal entries per trade.
    pub const JOURNAL: &str = "quota.journal_entries";
    /// A trade changed since it was read (compare-and-set lost).
    pub const TRADE_CHANGED: &str = "trades.changed";
    /// Tag name taken (unique per user).
    pub const TAG_NAME: &str = "tags.name";
}

/// Currency of a portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortfolioCurrency {
    /// US dollar.
    Usd,
    /// Tether.
    Usdt,
    /// Euro.
    Eur,
}

impl PortfolioCurrency {
    /// Stored / API form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Usdt => "USDT",
            Self::Eur => "EUR",
        }
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "USD" => Ok(Self::Usd),
            "USDT" => Ok(Self::Usdt),
            "EUR" => Ok(Self::Eur),
            _ => Err(UnknownVariant {
                kind: "currency",
                value: s.to_owned(),
            }),
        }
    }
}

/// Lifecycle of a trade: `pending → open → closed`, `pending → cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    /// Planned, not entered.
    Pending,
    /// Entered.
    Open,
    /// Exited (PnL set).
    Closed,
    /// Never entered.
    Cancelled,
}

impl TradeStatus {
    /// Stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`UnknownVariant`].
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "pending" => Ok(Self::Pending),
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(UnknownVariant {
                kind: "trade status",
                value: s.to_owned(),
            }),
        }
    }

    /// Whether the state machine allows `self → next` (staying is allowed: edits).
    pub const fn can_become(self, next: TradeStatus) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Open | Self::Cancelled | Self::Pending)
                | (Self::Open, Self::Closed | Self::Open)
                | (Self::Closed, Self::Closed)
                | (Self::Cancelled, Self::Cancelled)
        )
    }
}

/// The stored form of a side.
pub const fn side_as_str(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}

/// Parses a stored side.
///
/// # Errors
/// [`UnknownVariant`].
pub fn parse_trade_side(s: &str) -> Result<Side, UnknownVariant> {
    match s {
        "long" => Ok(Side::Long),
        "short" => Ok(Side::Short),
        _ => Err(UnknownVariant {
            kind: "side",
            value: s.to_owned(),
        }),
    }
}

/// A portfolio to create (`current_balance` starts at `initial_balance`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPortfolio {
    /// Owner.
    pub user_id: UserId,
    /// Name (≤ 50).
    pub name: String,
    /// Description (≤ 2000).
    pub description: Option<String>,
    /// `0 < x ≤ 1e12`.
    pub initial_balance: f64,
    /// Currency.
    pub currency: PortfolioCurrency,
    /// Creation time.
    pub created_at: i64,
}

/// A stored portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPortfolio {
    /// Id.
    pub id: PortfolioId,
    /// Owner.
    pub user_id: UserId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Starting balance.
    pub initial_balance: f64,
    /// `initial + Σ pnl of closed trades`.
    pub current_balance: f64,
    /// Currency.
    pub currency: PortfolioCurrency,
    /// Active flag.
    pub is_active: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last write.
    pub updated_at: i64,
}

/// The editable columns of a portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioEdit {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Active flag.
    pub is_active: bool,
}

/// The value columns of a trade (everything but ids and bookkeeping times).
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRecord {
    /// Symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Long or short.
    pub side: Side,
    /// Timeframe of the setup.
    pub tf: Option<Timeframe>,
    /// Pattern type of the setup.
    pub pattern_type: Option<PatternType>,
    /// Source signal.
    pub signal_id: Option<SignalId>,
    /// Source pattern.
    pub pattern_id: Option<PatternId>,
    /// Entry price.
    pub entry_price: f64,
    /// Entry time.
    pub entry_time: Option<i64>,
    /// Quantity.
    pub quantity: f64,
    /// Stop loss.
    pub stop_loss: Option<f64>,
    /// Take profit.
    pub take_profit: Option<f64>,
    /// Risk amount (default `|entry − SL|·qty`).
    pub risk_amount: Option<f64>,
    /// Risk as % of the balance at open.
    pub risk_percent: Option<f64>,
    /// Fees (≥ 0).
    pub fees: f64,
    /// Exit price (closed).
    pub exit_price: Option<f64>,
    /// Exit time (closed).
    pub exit_time: Option<i64>,
    /// Setup notes.
    pub setup_notes: Option<String>,
    /// Exit notes.
    pub exit_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
    /// PnL (closed).
    pub pnl_amount: Option<f64>,
    /// PnL % (closed).
    pub pnl_percent: Option<f64>,
    /// R multiple (closed; null when risk is 0).
    pub pnl_r: Option<f64>,
    /// State.
    pub status: TradeStatus,
}

/// A stored trade.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTrade {
    /// Id.
    pub id: TradeId,
    /// Portfolio.
    pub portfolio_id: PortfolioId,
    /// Values.
    pub record: TradeRecord,
    /// Creation time (daily quota).
    pub created_at: i64,
    /// Last write.
    pub updated_at: i64,
}

/// Quotas checked atomically by [`PortfolioStore::create_trade`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeQuota {
    /// Trades per portfolio.
    pub per_portfolio: u32,
    /// Trades created per UTC day across the user's portfolios (`None`: unlimited).
    pub per_day: Option<u32>,
    /// Start of the current UTC day (ms).
    pub day_start: i64,
}

/// A tag to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTag {
    /// Owner.
    pub user_id: UserId,
    /// Name (≤ 30, unique per user).
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    /// Description (≤ 200).
    pub description: Option<String>,
    /// Creation time.
    pub created_at: i64,
}

/// A stored tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTag {
    /// Id.
    pub id: TagId,
    /// Owner.
    pub user_id: UserId,
    /// Name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: i64,
}

/// Kind of a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalType {
    /// Before the trade.
    PreTrade,
    /// While open.
    During,
    /// After closing.
    PostTrade,
    /// A lesson.
    Lesson,
}

/// Mood of a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mood {
    /// Confident.
    Confident,
    /// Neutral.
    Neutral,
    /// Fearful.
    Fearful,
    /// Greedy.
    Greedy,
    /// Fear of missing out.
    Fomo,
    /// Revenge trading.
    Revenge,
}

macro_rules! word_enum {
    ($ty:ident, $kind:literal, $($variant:ident => $word:literal),+ $(,)?) => {
        impl $ty {
            /// Stored / API form.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word,)+ }
            }

            /// Parses the stored / API form.
            ///
            /// # Errors
            /// [`UnknownVariant`].
            pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(UnknownVariant { kind: $kind, value: s.to_owned() }),
                }
            }
        }
    };
}

word_enum!(JournalType, "journal entry type", PreTrade => "pre_trade", During => "during",
    PostTrade => "post_trade", Lesson => "lesson");
word_enum!(Mood, "mood", Confident => "confident", Neutral => "neutral", Fearful => "fearful",
    Greedy => "greedy", Fomo => "fomo", Revenge => "revenge");

/// A journal entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJournalEntry {
    /// Kind.
    pub entry_type: JournalType,
    /// Content (≤ 2000).
    pub content: String,
    /// Mood.
    pub mood: Option<Mood>,
    /// Up to 5 https links (≤ 500 chars each).
    pub screenshots: Vec<String>,
    /// Creation time.
    pub created_at: i64,
}

/// A stored journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredJournalEntry {
    /// Id.
    pub id: JournalEntryId,
    /// Trade.
    pub trade_id: TradeId,
    /// Values.
    pub entry: NewJournalEntry,
}

/// The `portfolios`, `trades`, `tags`, `trade_tags` and `journal_entries` tables, always
/// scoped by the owner `user`.
#[allow(async_fn_in_trait)]
pub trait PortfolioStore {
    /// Creates a portfolio if the user has fewer than `max` (counted in the same transaction).
    ///
    /// # Errors
    /// `Conflict(quota::PORTFOLIOS)`; `NotFound("user")`; `Invalid`; `Unavailable`.
    async fn create_portfolio(
        &self,
        new: &NewPortfolio,
        max: u32,
    ) -> Result<StoredPortfolio, StoreError>;

    /// The user's portfolios, oldest first.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn portfolios_of(&self, user: UserId) -> Result<Vec<StoredPortfolio>, StoreError>;

    /// One portfolio of the user.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<Option<StoredPortfolio>, StoreError>;

    /// Edits name, description and the active flag.
    ///
    /// # Errors
    /// `NotFound("portfolio")` (absent or another user's); `Invalid`; `Unavailable`.
    async fn edit_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
        edit: &PortfolioEdit,
        now: i64,
    ) -> Result<StoredPortfolio, StoreError>;

    /// Deletes a portfolio with its trades, their tags links and journal entries.
    ///
    /// # Errors
    /// `NotFound("portfolio")`; `Unavailable`.
    async fn delete_portfolio(&self, user: UserId, id: PortfolioId) -> Result<(), StoreError>;

    /// Creates a trade in the user's portfolio, enforcing `quota` in the same transaction
    /// (the portfolio row is locked while counting). A closed trade updates the balance in
    /// the same transaction.
    ///
    /// # Errors
    /// `NotFound("portfolio")`; `Conflict(quota::TRADES | quota::TRADES_PER_DAY)`;
    /// `NotFound("signal" | "pattern")`; `Invalid`; `Unavailable`.
    async fn create_trade(
        &self,
        user: UserId,
        portfolio: PortfolioId,
        record: &TradeRecord,
        quota: TradeQuota,
        now: i64,
    ) -> Result<StoredTrade, StoreError>;

    /// One trade of the user.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn trade(&self, user: UserId, id: TradeId) -> Result<Option<StoredTrade>, StoreError>;

    /// The trades of one of the user's portfolios, by id.
    ///
    /// # Errors
    /// `NotFound("portfolio")`; `Unavailable` or `Corrupt`.
    async fn trades_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<StoredTrade>, StoreError>;

    /// Replaces a trade's values if its stored status is still `expected` (compare-and-set)
    /// and the move is allowed by [`TradeStatus::can_become`]; the portfolio balance is
    /// recomputed in the same transaction.
    ///
    /// # Errors
    /// `NotFound("trade")`; `Conflict(quota::TRADE_CHANGED)`; `Invalid` (a disallowed move,
    /// an unstorable value); `Unavailable`.
    async fn save_trade(
        &self,
        user: UserId,
        id: TradeId,
        expected: TradeStatus,
        record: &TradeRecord,
        now: i64,
    ) -> Result<StoredTrade, StoreError>;

    /// Deletes a trade; the balance is recomputed in the same transaction.
    ///
    /// # Errors
    /// `NotFound("trade")`; `Unavailable`.
    async fn delete_trade(&self, user: UserId, id: TradeId, now: i64) -> Result<(), StoreError>;

    /// Trades created by the user since `since` (all portfolios), for the daily quota view.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn trades_created_since(&self, user: UserId, since: i64) -> Result<u32, StoreError>;

    /// Creates a tag if the user has fewer than `max`.
    ///
    /// # Errors
    /// `Conflict(quota::TAG_NAME | quota::TAGS)`; `NotFound("user")`; `Invalid`; `Unavailable`.
    async fn create_tag(&self, new: &NewTag, max: u32) -> Result<StoredTag, StoreError>;

    /// The user's tags, by name.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn tags_of(&self, user: UserId) -> Result<Vec<StoredTag>, StoreError>;

    /// Deletes a tag (and its links).
    ///
    /// # Errors
    /// `NotFound("tag")`; `Unavailable`.
    async fn delete_tag(&self, user: UserId, id: TagId) -> Result<(), StoreError>;

    /// Replaces the tags of a trade; every tag must be the user's.
    ///
    /// # Errors
    /// `NotFound("trade" | "tag")`; `Unavailable`.
    async fn set_trade_tags(
        &self,
        user: UserId,
        trade: TradeId,
        tags: &[TagId],
    ) -> Result<(), StoreError>;

    /// `(trade, tag)` links of the trades of one of the user's portfolios.
    ///
    /// # Errors
    /// `NotFound("portfolio")`; `Unavailable`.
    async fn trade_tags_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<(TradeId, TagId)>, StoreError>;

    /// Adds a journal entry to the user's trade if it has fewer than `max`.
    ///
    /// # Errors
    /// `NotFound("trade")`; `Conflict(quota::JOURNAL)`; `Invalid`; `Unavailable`.
    async fn add_journal_entry(
        &self,
        user: UserId,
        trade: TradeId,
        entry: &NewJournalEntry,
        max: u32,
    ) -> Result<StoredJournalEntry, StoreError>;

    /// The journal of the user's trade, oldest first.
    ///
    /// # Errors
    /// `NotFound("trade")`; `Unavailable` or `Corrupt`.
    async fn journal_of(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<StoredJournalEntry>, StoreError>;

    /// Deletes a journal entry of the user.
    ///
    /// # Errors
    /// `NotFound("journal entry")`; `Unavailable`.
    async fn delete_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<(), StoreError>;

    /// One journal entry of the user.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<Option<StoredJournalEntry>, StoreError>;

    /// Replaces the type, content, mood and screenshots of the user's journal entry (its
    /// trade and `created_at` stay).
    ///
    /// # Errors
    /// `NotFound("journal entry")`; `Invalid`; `Unavailable`.
    async fn edit_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
        entry: &NewJournalEntry,
    ) -> Result<StoredJournalEntry, StoreError>;

    /// Replaces the name, colour and description of the user's tag (`tag.user_id` and
    /// `tag.created_at` are ignored).
    ///
    /// # Errors
    /// `NotFound("tag")`; `Conflict(quota::TAG_NAME)` (another tag of the user has the name);
    /// `Invalid`; `Unavailable`.
    async fn edit_tag(
        &self,
        user: UserId,
        id: TagId,
        tag: &NewTag,
    ) -> Result<StoredTag, StoreError>;
}

impl TradeRecord {
    /// Checks the values every adapter must refuse the same way before writing: finite
    /// numbers, exact times, text lengths of the schema.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        finite("trades.entry_price", self.entry_price)?;
        finite("trades.quantity", self.quantity)?;
        finite("trades.fees", self.fees)?;
        if self.fees < 0.0 {
            return Err(StoreError::Invalid("trades.fees is negative".into()));
        }
        for v in [
            self.stop_loss,
            self.take_profit,
            self.risk_amount,
            self.risk_percent,
            self.exit_price,
            self.pnl_amount,
            self.pnl_percent,
            self.pnl_r,
        ]
        .into_iter()
        .flatten()
        {
            finite("trades value", v)?;
        }
        for t in [self.entry_time, self.exit_time].into_iter().flatten() {
            exact_int("trades time", t)?;
        }
        for text in [&self.setup_notes, &self.exit_notes, &self.lessons]
            .into_iter()
            .flatten()
        {
            if text.chars().count() > 2000 {
                return Err(StoreError::Invalid("trades notes longer than 2000".into()));
            }
        }
        if self.status == TradeStatus::Closed && self.pnl_amount.is_none() {
            return Err(StoreError::Invalid("a closed trade needs its PnL".into()));
        }
        Ok(())
    }

    /// The PnL this trade contributes to the balance (closed trades only).
    pub fn realised_pnl(&self) -> f64 {
        match (self.status, self.pnl_amount) {
            (TradeStatus::Closed, Some(p)) => p,
            _ => 0.0,
        }
    }
}
