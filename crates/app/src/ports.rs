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
