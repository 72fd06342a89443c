//! The storage port of the maintenance jobs (product.md §4: stats, gaps, db-health, cleanup).
//!
//! Every method is ONE statement (or one atomic batch) whose cost does not grow with the
//! number of rows it looks at in round trips: the stats are one grouped query, the gap scan is
//! one window query per symbol, a retention purge deletes at most one batch per call. Writes
//! are idempotent by key: stats overwrite by key, known gaps are insert-if-absent on
//! `(symbol, tf, gap_start)`, deletes by age are naturally repeatable. The contract cases
//! (`cl_store_contract::maintenance`) pin the behaviour for the memory, Postgres and D1
//! adapters.

use crate::ports::{StoreError, SymbolId};
use cl_domain::{Candle, Timeframe};

/// Per-symbol figures for the stats cache, computed by [`MaintenanceStore::symbol_stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolStats {
    /// The symbol.
    pub symbol: SymbolId,
    /// Its canonical name.
    pub name: String,
    /// Whether it is active.
    pub is_active: bool,
    /// Patterns with status `active`.
    pub active_patterns: u64,
    /// Patterns created at or after `since`.
    pub patterns_since: u64,
    /// Signals created at or after `since`.
    pub signals_since: u64,
    /// Open time of the newest stored 1m candle.
    pub last_1m_ts: Option<i64>,
}

/// One `stats_cache` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsEntry {
    /// `global` or `symbol:BTC/USDT`.
    pub key: String,
    /// A JSON object.
    pub data: String,
    /// When it was computed (UTC ms).
    pub computed_at: i64,
}

/// A run of missing 1m candles: every minute open in `start..=end` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteGap {
    /// First missing open time.
    pub start: i64,
    /// Last missing open time (inclusive).
    pub end: i64,
}

impl MinuteGap {
    /// How many 1m candles are missing.
    pub fn missing(&self) -> u64 {
        u64::try_from((self.end - self.start) / 60_000 + 1).unwrap_or(0)
    }
}

/// A `known_gaps` row to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKnownGap {
    /// The symbol.
    pub symbol: SymbolId,
    /// The series (the gaps job records `1m`).
    pub tf: Timeframe,
    /// The gap.
    pub gap: MinuteGap,
    /// Why it is recorded (`exchange_empty`).
    pub reason: String,
    /// The exchange confirmed that no candle exists in it.
    pub verified_empty: bool,
    /// When it was recorded.
    pub created_at: i64,
}

/// A stored candle's key, for rows that fail the db-health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CandleKey {
    /// The symbol.
    pub symbol: SymbolId,
    /// The series.
    pub tf: Timeframe,
    /// The open time.
    pub ts: i64,
}

/// What the retention policy deletes (product.md §4), one table (or table part) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RetentionTarget {
    /// 1m candles by open time (higher TFs are kept).
    Candles1m,
    /// `logs` by `ts`.
    Logs,
    /// Finished `cron_runs` by `started_at`.
    CronRuns,
    /// `user_notifications` and channel `notifications` by `created_at`.
    Notifications,
    /// Patterns that are no longer `active`, by `detected_at`.
    EndedPatterns,
    /// `error_logs` resolved or ignored, by `last_seen`.
    ResolvedErrors,
    /// Sessions past `expires_at`, and auth tokens used or expired.
    SessionsTokens,
    /// `api_key_usage` hour buckets by `hour_start`.
    ApiKeyUsage,
    /// `webhook_events` by `received_at`.
    WebhookEvents,
    /// Finished `run_queue` rows (`ok`, `partial`, `failed`) by `ended_at`; queued and running
    /// runs are kept. Uses the cron runs' retention.
    RunQueue,
    /// Finished `broadcast_deliveries` rows (`sent`, `failed`) by `sent_at` (else
    /// `created_at`); queued rows are kept. Uses the notifications' retention ("user
    /// notifications and deliveries", product.md §4).
    BroadcastDeliveries,
}

impl RetentionTarget {
    /// Every target with a setting of its own (`retention.<name>_days`, the admin form).
    pub const ALL: [Self; 9] = [
        Self::Candles1m,
        Self::Logs,
        Self::CronRuns,
        Self::Notifications,
        Self::EndedPatterns,
        Self::ResolvedErrors,
        Self::SessionsTokens,
        Self::ApiKeyUsage,
        Self::WebhookEvents,
    ];

    /// Every target, in the order the cleanup job runs them: [`Self::ALL`], then the tables
    /// that follow another target's setting ([`Self::setting_target`]).
    pub const PURGED: [Self; 11] = [
        Self::Candles1m,
        Self::Logs,
        Self::CronRuns,
        Self::Notifications,
        Self::EndedPatterns,
        Self::ResolvedErrors,
        Self::SessionsTokens,
        Self::ApiKeyUsage,
        Self::WebhookEvents,
        Self::RunQueue,
        Self::BroadcastDeliveries,
    ];

    /// The target whose setting this one follows (itself for [`Self::ALL`]).
    pub fn setting_target(self) -> Self {
        match self {
            Self::RunQueue => Self::CronRuns,
            Self::BroadcastDeliveries => Self::Notifications,
            other => other,
        }
    }

    /// The counter name in the run record (`deleted.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Candles1m => "candles_1m",
            Self::Logs => "logs",
            Self::CronRuns => "cron_runs",
            Self::Notifications => "notifications",
            Self::EndedPatterns => "ended_patterns",
            Self::ResolvedErrors => "resolved_errors",
            Self::SessionsTokens => "sessions_tokens",
            Self::ApiKeyUsage => "api_key_usage",
            Self::WebhookEvents => "webhook_events",
            Self::RunQueue => "run_queue",
            Self::BroadcastDeliveries => "broadcast_deliveries",
        }
    }

    /// The `settings` key holding its retention in days (`null` = keep forever).
    pub fn setting_key(self) -> &'static str {
        match self {
            Self::Candles1m => "retention.candles_1m_days",
            Self::Logs => "retention.logs_days",
            Self::CronRuns => "retention.cron_runs_days",
            Self::Notifications => "retention.notifications_days",
            Self::EndedPatterns => "retention.ended_patterns_days",
            Self::ResolvedErrors => "retention.resolved_errors_days",
            Self::SessionsTokens => "retention.sessions_tokens_days",
            Self::ApiKeyUsage => "retention.api_key_usage_days",
            Self::WebhookEvents => "retention.webhook_events_days",
            Self::RunQueue | Self::BroadcastDeliveries => self.setting_target().setting_key(),
        }
    }

    /// The product.md §4 default in days, used when the setting is absent or unreadable.
    pub fn default_days(self) -> u32 {
        match self {
            Self::Candles1m | Self::Logs | Self::CronRuns | Self::RunQueue => 30,
            Self::Notifications
            | Self::ResolvedErrors
            | Self::ApiKeyUsage
            | Self::BroadcastDeliveries => 90,
            Self::EndedPatterns => 365,
            Self::SessionsTokens => 1,
            Self::WebhookEvents => 180,
        }
    }
}

/// Storage for the maintenance jobs.
#[allow(async_fn_in_trait)]
pub trait MaintenanceStore {
    /// Per-symbol figures for every symbol, by id, in ONE query.
    ///
    /// # Errors
    /// `Invalid` (a bound beyond 2^53); `Unavailable` or `Corrupt`.
    async fn symbol_stats(&self, since: i64) -> Result<Vec<SymbolStats>, StoreError>;

    /// Writes the entries, each overwriting the row with its key, atomically.
    ///
    /// # Errors
    /// `Invalid` (data that is not a JSON object, an empty key); `Unavailable`.
    async fn put_stats(&self, entries: &[StatsEntry]) -> Result<(), StoreError>;

    /// The stats row with this key.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn stats_entry(&self, key: &str) -> Result<Option<StatsEntry>, StoreError>;

    /// The missing 1m ranges of the symbol with opens in `from..to` (stored opens are minute
    /// steps from `from`), oldest first, at most `limit`, in ONE query; a range whose start is already a
    /// verified-empty known gap is left out.
    ///
    /// # Errors
    /// `Invalid` (reversed bounds); `Unavailable`.
    async fn minute_gaps(
        &self,
        symbol: SymbolId,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<MinuteGap>, StoreError>;

    /// Records known gaps, insert-if-absent on `(symbol, tf, gap_start)`, atomically; returns
    /// how many were new.
    ///
    /// # Errors
    /// `NotFound("symbol")`; `Invalid` (end before start); `Unavailable`.
    async fn record_known_gaps(&self, gaps: &[NewKnownGap]) -> Result<u64, StoreError>;

    /// Stored candles that break the candle rules (detection.md §1: OHLC order, positive
    /// finite prices, non-negative volume) or are not aligned to their TF's bucket, at most
    /// `limit`, in ONE query.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn flagged_candles(&self, limit: u32) -> Result<Vec<CandleKey>, StoreError>;

    /// Deletes these candles atomically; returns how many existed.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_candles(&self, keys: &[CandleKey]) -> Result<u64, StoreError>;

    /// Writes these candles, overwriting stored rows with the same key (db-health's
    /// re-aggregation of flagged buckets; the pipeline never rewrites), atomically.
    ///
    /// # Errors
    /// `NotFound("symbol")`; `Invalid`; `Unavailable`.
    async fn rewrite_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError>;

    /// The raw JSON text of a `settings` row.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Deletes at most `batch` rows of `target` older than `cutoff` (ONE statement per table);
    /// returns how many.
    ///
    /// # Errors
    /// `Invalid` (batch 0); `Unavailable`.
    async fn purge(
        &self,
        target: RetentionTarget,
        cutoff: i64,
        batch: u32,
    ) -> Result<u64, StoreError>;
}

/// Checks gap scan bounds.
///
/// # Errors
/// `Invalid` for reversed bounds.
pub fn validate_gap_window(from: i64, to: i64) -> Result<(), StoreError> {
    crate::ports::exact_int("gap from", from)?;
    crate::ports::exact_int("gap to", to)?;
    if to < from {
        return Err(StoreError::Invalid(
            "gap window must have from <= to".into(),
        ));
    }
    Ok(())
}

/// Checks a stats entry: a non-empty key of at most 200 bytes and an object text (the SQL
/// stores check it is valid JSON).
///
/// # Errors
/// `Invalid`.
pub fn validate_stats_entry(e: &StatsEntry) -> Result<(), StoreError> {
    if e.key.is_empty() || e.key.len() > 200 {
        return Err(StoreError::Invalid("stats key length".into()));
    }
    let data = e.data.trim();
    if data.starts_with('{') && data.ends_with('}') {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "stats data must be a JSON object".into(),
        ))
    }
}

/// Checks known gaps before writing.
///
/// # Errors
/// `Invalid`.
pub fn validate_known_gap(g: &NewKnownGap) -> Result<(), StoreError> {
    crate::ports::exact_int("gap start", g.gap.start)?;
    crate::ports::exact_int("gap end", g.gap.end)?;
    if g.gap.end < g.gap.start {
        return Err(StoreError::Invalid("gap end before start".into()));
    }
    Ok(())
}
