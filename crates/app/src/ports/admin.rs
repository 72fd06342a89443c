//! The admin ports (product.md §9, §11.23, §12): the append-only audit log, the admin user
//! list, the user flag changes, symbol administration, the signal status override, the error
//! tracker and the log viewer.
//!
//! Design:
//! - Every admin WRITE takes the [`NewAuditEntry`] that records it and stores both in ONE
//!   atomic unit (a Postgres transaction, a D1 `batch()`, one memory mutation): an action is
//!   never applied without its audit row, nor audited without being applied.
//! - Flag changes that alter what a session may do ([`UserChange::Active`] off,
//!   [`UserChange::Admin`]) delete every session of the user in the same unit (product.md
//!   §11.6: deactivation revokes all; a privilege change forces a new login, i.e. a new id).
//! - The store refuses to leave the system without an active admin ([`ChangeOutcome::LastAdmin`]),
//!   in the same statement as the change, so two admins demoting each other cannot both win.
//! - Lists are keyset pages, newest first ([`Cursor`] `ts` = the list's time column).
//! - The user list carries each user's subscription summary from ONE joined query (no N+1).

use super::{exact_int, NewSymbol, SignalId, SignalStatus};
use super::{Cursor, Page, PageRequest, StoreError, StoredSignal, StoredSymbol, SymbolId, UserId};
use cl_auth::email::{Email, Username};
use cl_billing::plan::Plan;
use cl_billing::subscription::SubscriptionStatus;
use cl_billing::Subscription as BillingSubscription;
use cl_domain::UnknownVariant;
use std::fmt;

/// Longest audit `action` / `target`.
pub const MAX_AUDIT_WORD: usize = 64;
/// Longest audit `details` JSON, in bytes.
pub const MAX_AUDIT_DETAILS: usize = 2_000;
/// Longest search prefix of the user list.
pub const MAX_SEARCH_CHARS: usize = 64;
/// Longest error message / source kept by the error tracker.
pub const MAX_ERROR_TEXT: usize = 200;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal { $($(#[$vm:meta])* $v:ident => $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The stored word.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }

            /// Parses the stored word.
            ///
            /// # Errors
            /// [`UnknownVariant`] for anything else.
            pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
                match s {
                    $($s => Ok($name::$v),)+
                    other => Err(UnknownVariant { kind: $kind, value: other.chars().take(32).collect() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// `logs.level`.
    LogLevel, "log level" {
        /// Debug.
        Debug => "debug",
        /// Info.
        Info => "info",
        /// Warning.
        Warn => "warn",
        /// Error.
        Error => "error",
    }
);

word_enum!(
    /// `logs.category` (product.md §12).
    LogCategory, "log category" {
        /// Candle fetches.
        Fetch => "fetch",
        /// Aggregation.
        Aggregate => "aggregate",
        /// Detection scans.
        Scan => "scan",
        /// Signals.
        Signal => "signal",
        /// Notifications.
        Notify => "notify",
        /// System.
        System => "system",
        /// Errors.
        Error => "error",
        /// Authentication.
        Auth => "auth",
        /// User actions.
        User => "user",
        /// Trades.
        Trade => "trade",
        /// Payments.
        Payment => "payment",
        /// Backtests.
        Backtest => "backtest",
        /// API.
        Api => "api",
        /// Admin.
        Admin => "admin",
        /// CSP reports.
        Csp => "csp",
    }
);

word_enum!(
    /// `error_logs.status`.
    ErrorStatus, "error status" {
        /// Not looked at yet (also a resolved error that came back).
        New => "new",
        /// Seen by an admin.
        Acknowledged => "acknowledged",
        /// Fixed.
        Resolved => "resolved",
        /// Deliberately ignored.
        Ignored => "ignored",
    }
);

/// Checks a short audit word: 1..=64 of `a–z 0–9 . _ : / -` (no spaces, no control chars).
///
/// # Errors
/// [`StoreError::Invalid`].
pub fn audit_word(what: &'static str, v: &str) -> Result<(), StoreError> {
    let ok = !v.is_empty()
        && v.len() <= MAX_AUDIT_WORD
        && v.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_uppercase()
                || b.is_ascii_digit()
                || b"._:/-".contains(&b)
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "audit {what} is not a short word"
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

/// One audit row to append (product.md §11.23: actor, action, target, change summary, IP,
/// request id, time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// The admin who acted (`None`: the system).
    pub actor: Option<UserId>,
    /// What was done, e.g. `user.deactivate` (see [`audit_word`]).
    pub action: String,
    /// What it was done to, e.g. `user:42`, `symbol:BTC/USDT`.
    pub target: String,
    /// The change summary as a JSON object (never secrets).
    pub details: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// UTC ms.
    pub at: i64,
}

impl NewAuditEntry {
    /// Checks what every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        audit_word("action", &self.action)?;
        audit_word("target", &self.target)?;
        exact_int("audit at", self.at)?;
        if let Some(d) = &self.details {
            // The stores check the JSON itself (D1 `json_valid`, Postgres `jsonb`).
            let valid = d.len() <= MAX_AUDIT_DETAILS && d.starts_with('{') && d.ends_with('}');
            if !valid {
                return Err(StoreError::Invalid(
                    "audit details must be a JSON object ≤ 2000 bytes".into(),
                ));
            }
        }
        if self.ip.as_ref().is_some_and(|v| v.len() > 64)
            || self.request_id.as_ref().is_some_and(|v| v.len() > 64)
        {
            return Err(StoreError::Invalid("audit ip/request id too long".into()));
        }
        Ok(())
    }
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEntry {
    /// `audit_log.id`.
    pub id: i64,
    /// The entry.
    pub entry: NewAuditEntry,
}

/// Filters of the audit list; `None` = any. `since` is inclusive, `until` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<UserId>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this target.
    pub target: Option<String>,
    /// `at >= since`.
    pub since: Option<i64>,
    /// `at < until`.
    pub until: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// Filters of the admin user list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Lower-case prefix of the email or of the lower-cased username.
    pub search: Option<String>,
}

/// The subscription columns shown in the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionSummary {
    /// Plan.
    pub plan: Plan,
    /// Status.
    pub status: SubscriptionStatus,
    /// Expiry (`None`: lifetime).
    pub expires_at: Option<i64>,
}

/// One row of the admin user list (no hash, no TOTP secret, no topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUserRow {
    /// Id.
    pub id: UserId,
    /// Canonical email.
    pub email: Email,
    /// Username.
    pub username: Username,
    /// Active.
    pub is_active: bool,
    /// Email verified.
    pub is_verified: bool,
    /// Admin.
    pub is_admin: bool,
    /// 2FA on.
    pub totp_enabled: bool,
    /// Created.
    pub created_at: i64,
    /// Last completed login.
    pub last_login_at: Option<i64>,
    /// The user's subscription, if any.
    pub subscription: Option<SubscriptionSummary>,
}

/// A flag change on a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    /// Sets `is_verified`.
    Verified(bool),
    /// Sets `is_active`; `false` also deletes every session of the user.
    Active(bool),
    /// Sets `is_admin`; also deletes every session of the user (privilege change).
    Admin(bool),
}

impl UserChange {
    /// Whether the change ends the user's sessions.
    pub const fn revokes_sessions(self) -> bool {
        matches!(self, Self::Active(false) | Self::Admin(_))
    }
}

/// What [`AdminStore::change_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Applied and audited; carries the number of sessions deleted.
    Applied {
        /// Sessions deleted.
        sessions_revoked: u64,
    },
    /// No such user; nothing written.
    NotFound,
    /// It would leave no active admin; nothing written.
    LastAdmin,
}

// ---------------------------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------------------------

/// A partial symbol update; `None` keeps the column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolPatch {
    /// `is_active`.
    pub is_active: Option<bool>,
    /// `notify_enabled`.
    pub notify_enabled: Option<bool>,
    /// `fetch_start_date` (UTC ms).
    pub fetch_start_ms: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Error tracker and logs
// ---------------------------------------------------------------------------------------------

/// One occurrence of a fingerprinted error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorOccurrence {
    /// Hex SHA-256 of (kind, source, normalized message).
    pub fingerprint: String,
    /// Class, e.g. `internal_error`, `service_unavailable`.
    pub kind: String,
    /// Route template or job name.
    pub source: String,
    /// Normalized message (no ids, no secrets, ≤ 200 chars).
    pub message: String,
    /// Request id of this occurrence.
    pub request_id: Option<String>,
    /// UTC ms.
    pub at: i64,
}

impl ErrorOccurrence {
    /// Checks what every adapter can store.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("error at", self.at)?;
        let fp_ok =
            self.fingerprint.len() == 64 && self.fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
        if !fp_ok
            || self.kind.is_empty()
            || self.kind.len() > MAX_AUDIT_WORD
            || self.source.is_empty()
            || self.source.len() > MAX_ERROR_TEXT
            || self.message.len() > MAX_ERROR_TEXT
            || self.request_id.as_ref().is_some_and(|r| r.len() > 64)
        {
            return Err(StoreError::Invalid("error occurrence out of bounds".into()));
        }
        Ok(())
    }
}

/// A fingerprint group of `error_logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredError {
    /// `error_logs.id`.
    pub id: i64,
    /// Fingerprint.
    pub fingerprint: String,
    /// Class.
    pub kind: String,
    /// Route or job.
    pub source: String,
    /// Normalized message.
    pub message: String,
    /// First occurrence.
    pub first_seen: i64,
    /// Latest occurrence.
    pub last_seen: i64,
    /// Occurrences.
    pub occurrences: i64,
    /// Triage status.
    pub status: ErrorStatus,
    /// Request id of the latest occurrence.
    pub sample_request_id: Option<String>,
}

/// One log row to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEntry {
    /// UTC ms.
    pub ts: i64,
    /// Category.
    pub category: LogCategory,
    /// Level.
    pub level: LogLevel,
    /// Message.
    pub message: String,
    /// Symbol concerned.
    pub symbol: Option<String>,
    /// Timeframe concerned.
    pub tf: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

/// A stored log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogEntry {
    /// `logs.id`.
    pub id: i64,
    /// The row.
    pub entry: NewLogEntry,
}

/// Filters of the log list; times as in [`AuditFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this level.
    pub level: Option<LogLevel>,
    /// Only this category.
    pub category: Option<LogCategory>,
    /// `ts >= since`.
    pub since: Option<i64>,
    /// `ts < until`.
    pub until: Option<i64>,
    /// Only rows about this symbol (exact, canonical `BTC/USDT`).
    pub symbol: Option<String>,
}

/// Checks a page request (limit ≥ 1, cursor within 2^53).
///
/// # Errors
/// [`StoreError::Invalid`].
pub fn validate_page(page: PageRequest) -> Result<(), StoreError> {
    if page.limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    if let Some(Cursor { ts, id }) = page.after {
        exact_int("cursor ts", ts)?;
        exact_int("cursor id", id)?;
    }
    Ok(())
}

/// Splits `limit + 1` fetched rows into a page (the extra row proves a next page).
pub fn page_of<T>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(key)
    } else {
        None
    };
    Page { items: rows, next }
}

/// Escapes a prefix for `LIKE … ESCAPE '\'` and appends `%`.
pub fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The admin tables, as one port.
#[allow(async_fn_in_trait)]
pub trait AdminStore {
    /// Appends one audit row (actions audited elsewhere, e.g. by other admin areas).
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError>;

    /// The audit rows matching `filter`, newest first (`at` desc, id desc), keyset-paged.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<StoredAuditEntry>, StoreError>;

    /// Users matching `filter`, newest first (`created_at` desc, id desc), keyset-paged, with
    /// their subscription summary, in ONE query.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn admin_users(
        &self,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<AdminUserRow>, StoreError>;

    /// One user's admin row.
    ///
    /// # Errors
    /// `Unavailable` or `Corrupt`.
    async fn admin_user(&self, id: UserId) -> Result<Option<AdminUserRow>, StoreError>;

    /// Applies a flag change and its audit row atomically (see the module documentation).
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`. Nothing is written on any error.
    async fn change_user(
        &self,
        user: UserId,
        change: UserChange,
        audit: &NewAuditEntry,
    ) -> Result<ChangeOutcome, StoreError>;

    /// Upserts the user's subscription (on its unique `user_id`) and the audit row
    /// atomically.
    ///
    /// # Errors
    /// `NotFound("user")`; `Invalid`; `Unavailable`. Nothing is written on any error.
    async fn set_subscription(
        &self,
        subscription: &BillingSubscription,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError>;

    /// Adds a symbol and its audit row atomically.
    ///
    /// # Errors
    /// `Conflict("symbols.symbol")`; `Invalid`; `Unavailable`.
    async fn add_symbol_audited(
        &self,
        new: &NewSymbol,
        audit: &NewAuditEntry,
    ) -> Result<StoredSymbol, StoreError>;

    /// Patches a symbol and writes its audit row atomically; `None` (nothing written) when
    /// the symbol does not exist.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn update_symbol(
        &self,
        id: SymbolId,
        patch: SymbolPatch,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSymbol>, StoreError>;

    /// Overrides a signal's status and writes its audit row atomically; `None` (nothing
    /// written) when the signal does not exist.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn set_signal_status(
        &self,
        id: SignalId,
        status: SignalStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredSignal>, StoreError>;

    /// Records one occurrence: a new fingerprint inserts a group (`new`, count 1); a known one
    /// counts up, moves `last_seen` forward and keeps the latest request id; a `resolved`
    /// group that recurs becomes `new` again. One statement. Returns the group id.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn record_error(&self, occurrence: &ErrorOccurrence) -> Result<i64, StoreError>;

    /// The error groups (optionally of one status), most recently seen first (`last_seen`
    /// desc, id desc), keyset-paged.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn errors(
        &self,
        status: Option<ErrorStatus>,
        page: PageRequest,
    ) -> Result<Page<StoredError>, StoreError>;

    /// Sets a group's status and writes its audit row atomically; `None` (nothing written)
    /// when the group does not exist.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn set_error_status(
        &self,
        id: i64,
        status: ErrorStatus,
        audit: &NewAuditEntry,
    ) -> Result<Option<StoredError>, StoreError>;

    /// Appends one log row.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable`.
    async fn append_log(&self, entry: &NewLogEntry) -> Result<i64, StoreError>;

    /// The log rows matching `filter`, newest first (`ts` desc, id desc), keyset-paged.
    ///
    /// # Errors
    /// `Invalid`; `Unavailable` or `Corrupt`.
    async fn logs(
        &self,
        filter: &LogFilter,
        page: PageRequest,
    ) -> Result<Page<StoredLogEntry>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefixes_escape_the_wildcards() {
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn audit_words_are_short_and_plain() {
        assert!(audit_word("action", "user.make_admin").is_ok());
        assert!(audit_word("target", "symbol:BTC/USDT").is_ok());
        assert!(audit_word("action", "").is_err());
        assert!(audit_word("action", "a b").is_err());
        assert!(audit_word("action", &"a".repeat(65)).is_err());
    }

    #[test]
    fn pages_keep_a_cursor_only_when_more_rows_exist() {
        let key = |v: &i64| Cursor { ts: *v, id: *v };
        assert_eq!(
            page_of(vec![3, 2, 1], 2, key).next,
            Some(Cursor { ts: 2, id: 2 })
        );
        assert_eq!(page_of(vec![3, 2], 2, key).next, None);
    }
}
