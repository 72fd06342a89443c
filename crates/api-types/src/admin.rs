//! Admin DTOs (product.md §9, §12): users, subscriptions granted by an admin, symbols, the
//! signal status override, the audit log, logs and the error tracker.
//!
//! Request bodies hold only writable fields and reject unknown ones (`is_admin`, `user_id`, …
//! in a body are a 400, product.md §11.1).

use serde::{Deserialize, Serialize};

/// A user's subscription as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdminSubscription))]
pub struct AdminSubscriptionDto {
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// `active`, `expired`, `cancelled` or `suspended`.
    pub status: String,
    /// Expiry, UTC ms (`null`: lifetime).
    pub expires_at: Option<i64>,
}

/// One user in the admin list (no hash, no TOTP secret, no topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdminUser))]
pub struct AdminUserDto {
    /// Id.
    pub id: i64,
    /// Canonical email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Can log in.
    pub is_active: bool,
    /// Email confirmed.
    pub is_verified: bool,
    /// Administrator.
    pub is_admin: bool,
    /// 2FA on.
    pub totp_enabled: bool,
    /// Created, UTC ms.
    pub created_at: i64,
    /// Last completed login, UTC ms.
    pub last_login_at: Option<i64>,
    /// The subscription, if any.
    pub subscription: Option<AdminSubscriptionDto>,
}

/// `POST /admin/users/{id}/subscription`: `days` for pro/premium (1..=3650), none for
/// lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetSubscriptionRequest {
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// Days from now.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub days: Option<i64>,
}

/// A symbol as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdminSymbol))]
pub struct AdminSymbolDto {
    /// Id.
    pub id: i64,
    /// `BASE/QUOTE`.
    pub symbol: String,
    /// Exchange.
    pub exchange: String,
    /// Fetched, detected and shown.
    pub is_active: bool,
    /// Its signals are notified.
    pub notify_enabled: bool,
    /// First 1m candle to fetch, UTC ms.
    pub fetch_start_ms: i64,
    /// Created, UTC ms.
    pub created_at: i64,
}

/// `POST /admin/symbols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SymbolCreateRequest {
    /// `BASE/QUOTE` or `BASE-QUOTE`.
    pub symbol: String,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub notify_enabled: Option<bool>,
    /// Default 2024-01-01, UTC ms.
    #[serde(default)]
    pub fetch_start_ms: Option<i64>,
}

/// `PATCH /admin/symbols/{id}`: absent members stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SymbolPatchRequest {
    /// Active.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Notify.
    #[serde(default)]
    pub notify_enabled: Option<bool>,
    /// Fetch start, UTC ms.
    #[serde(default)]
    pub fetch_start_ms: Option<i64>,
}

/// `PATCH /signals/{id}` (admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignalStatusRequest {
    /// The new status.
    pub status: String,
}

/// A signal after a status override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SignalStatusChange))]
pub struct SignalStatusDto {
    /// Id.
    pub id: i64,
    /// Its status now.
    pub status: String,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AuditEntry))]
pub struct AuditEntryDto {
    /// Id.
    pub id: i64,
    /// The admin who acted (`null`: the system or a deleted user).
    pub actor_id: Option<i64>,
    /// E.g. `user.deactivate`.
    pub action: String,
    /// E.g. `user:42`.
    pub target: String,
    /// The change summary, a JSON object as text.
    pub details: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// UTC ms.
    pub at: i64,
}

/// One log row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = LogEntry))]
pub struct LogEntryDto {
    /// Id.
    pub id: i64,
    /// UTC ms.
    pub ts: i64,
    /// Category.
    pub category: String,
    /// Level.
    pub level: String,
    /// Message.
    pub message: String,
    /// Symbol.
    pub symbol: Option<String>,
    /// Timeframe.
    pub tf: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

/// One error group of the tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ErrorGroup))]
pub struct ErrorGroupDto {
    /// Id.
    pub id: i64,
    /// Hex SHA-256 of kind, source and normalized message.
    pub fingerprint: String,
    /// Class, e.g. `internal_error`.
    pub kind: String,
    /// Route template or job.
    pub source: String,
    /// Normalized message.
    pub message: String,
    /// First occurrence, UTC ms.
    pub first_seen: i64,
    /// Latest occurrence, UTC ms.
    pub last_seen: i64,
    /// Occurrences.
    pub occurrences: i64,
    /// `new`, `acknowledged`, `resolved` or `ignored`.
    pub status: String,
    /// Request id of the latest occurrence.
    pub sample_request_id: Option<String>,
}
