//! The stats port (product.md §2 `/analytics`, §9 subscriptions, global stats and settings,
//! §10 `settings` / `stats_cache`).
//!
//! Design:
//! - Every read is ONE statement whose round trips do not grow with the data: the analytics
//!   counts are one grouped `UNION ALL` over patterns and signals, the admin counts one row of
//!   scalar sub-selects, the subscription list one joined keyset page, the settings one scan of
//!   a small table.
//! - The settings write replaces the given keys and appends its audit row in ONE atomic unit
//!   (Postgres transaction, D1 batch, one memory mutation): a change is never applied without
//!   its audit row.
//! - Values are stored as the raw JSON text of `settings.value`; typing and range checks live
//!   in [`crate::global_settings`], not in the adapters.

use super::admin::NewAuditEntry;
use super::{Cursor, Page, PageRequest, SignalStatus, StoreError, SymbolId, UserId};
use crate::jobs::maintenance::StatsEntry;
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};

/// How many patterns of one symbol, TF, type, direction and status exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternCount {
    /// The symbol.
    pub symbol: SymbolId,
    /// The series.
    pub tf: Timeframe,
    /// The type.
    pub pattern_type: PatternType,
    /// The direction.
    pub direction: Direction,
    /// The status.
    pub status: PatternStatus,
    /// How many.
    pub count: u64,
}

/// How many signals of one symbol have a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalCount {
    /// The symbol.
    pub symbol: SymbolId,
    /// The status.
    pub status: SignalStatus,
    /// How many.
    pub count: u64,
}

/// The grouped counts the analytics entries are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsCounts {
    /// Patterns, one row per non-empty group.
    pub patterns: Vec<PatternCount>,
    /// Signals, one row per non-empty group.
    pub signals: Vec<SignalCount>,
}

/// The figures of the admin's global stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminCounts {
    /// Every user.
    pub users: u64,
    /// Active users.
    pub users_active: u64,
    /// Verified users.
    pub users_verified: u64,
    /// Admins.
    pub admins: u64,
    /// Users with 2FA on.
    pub users_totp: u64,
    /// Users created at or after `since`.
    pub users_new: u64,
    /// Subscriptions with status `active`, by plan: pro, premium, lifetime.
    pub active_by_plan: [u64; 3],
    /// Subscriptions by status: active, expired, cancelled, suspended.
    pub by_status: [u64; 4],
    /// Active subscriptions with `now <= expires_at < expiring_before`.
    pub expiring: u64,
    /// User notifications by status: queued, sent, failed, skipped.
    pub notifications: [u64; 4],
    /// Error groups with status `new`.
    pub errors_new: u64,
}

/// Filters of the admin subscription list; `None` = any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    /// Only this plan.
    pub plan: Option<Plan>,
    /// Only this status.
    pub status: Option<SubscriptionStatus>,
    /// Only rows with `from <= expires_at < to` (a lifetime row never matches).
    pub expiring: Option<(i64, i64)>,
}

/// One row of the admin subscription list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSubscriptionRow {
    /// `subscriptions.id`.
    pub id: i64,
    /// The owner.
    pub user_id: UserId,
    /// The owner's email.
    pub email: String,
    /// The owner's username.
    pub username: String,
    /// Plan.
    pub plan: Plan,
    /// Status.
    pub status: SubscriptionStatus,
    /// Start of validity.
    pub starts_at: i64,
    /// Expiry (`None`: lifetime).
    pub expires_at: Option<i64>,
    /// `lemonsqueezy`, `nowpayments`, `admin` or none.
    pub provider: Option<String>,
    /// Creation time (the keyset's `ts`).
    pub created_at: i64,
}

impl AdminSubscriptionRow {
    /// The row's keyset position (`created_at` desc, id desc).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            ts: self.created_at,
            id: self.id,
        }
    }
}

/// One `settings` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRow {
    /// The key, e.g. `signal.min_confluence`.
    pub key: String,
    /// Raw JSON text.
    pub value: String,
    /// Last write (UTC ms).
    pub updated_at: i64,
}

/// Longest settings key.
pub const MAX_SETTING_KEY: usize = 64;
/// Longest settings value (raw JSON), in bytes.
pub const MAX_SETTING_VALUE: usize = 512;

/// Checks settings before writing: keys of `a–z 0–9 . _`, short JSON scalar texts.
///
/// # Errors
/// [`StoreError::Invalid`].
pub fn validate_settings(values: &[(String, String)]) -> Result<(), StoreError> {
    if values.is_empty() {
        return Err(StoreError::Invalid("no settings to write".into()));
    }
    for (k, v) in values {
        let key_ok = !k.is_empty()
            && k.len() <= MAX_SETTING_KEY
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b));
        if !key_ok || v.is_empty() || v.len() > MAX_SETTING_VALUE {
            return Err(StoreError::Invalid(
                "setting key or value out of bounds".into(),
            ));
        }
    }
    Ok(())
}

/// The stats and settings tables, as one port.
#[allow(async_fn_in_trait)]
pub trait StatsStore {
    /// Pattern counts by (symbol, tf, type, direction, status) and signal counts by (symbol,
    /// status), in ONE query.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn analytics_counts(&self) -> Result<AnalyticsCounts, StoreError>;

    /// The `stats_cache` row with this key, in ONE query.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn cached_stats(&self, key: &str) -> Result<Option<StatsEntry>, StoreError>;

    /// The admin's global counts at `now` (`since`: start of the "new users" window;
    /// `expiring_before`: end of the expiring window), in ONE query.
    ///
    /// # Errors
    /// `Invalid` (a bound beyond 2^53); `Unavailable` or `Corrupt`.
    async fn admin_counts(
        &self,
        now: i64,
        since: i64,
        expiring_before: i64,
    ) -> Result<AdminCounts, StoreError>;

    /// Subscriptions matching `filter` with their owner, newest first (`created_at` desc, id
    /// desc), keyset-paged, in ONE query.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn admin_subscriptions(
        &self,
        filter: &SubscriptionFilter,
        page: PageRequest,
    ) -> Result<Page<AdminSubscriptionRow>, StoreError>;

    /// Every `settings` row, by key, in ONE query.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn settings(&self) -> Result<Vec<SettingRow>, StoreError>;

    /// Upserts these settings (raw JSON text) by key with `updated_at = now`, `updated_by =
    /// actor`, and appends the audit row, atomically.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`. Nothing is written on any error.
    async fn put_settings(
        &self,
        values: &[(String, String)],
        actor: UserId,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError>;
}
