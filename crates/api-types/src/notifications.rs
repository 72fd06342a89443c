//! Notification settings DTOs (`/me/preferences`, `/me/symbols`, `/me/topic/regenerate`).

use serde::{Deserialize, Serialize};

/// A user's ntfy topic and notification preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = NotificationPrefs))]
pub struct NotificationPrefsDto {
    /// The ntfy topic to subscribe to (`cl_` + 16 hex).
    pub topic: String,
    /// Notifications on at all.
    pub enabled: bool,
    /// `both`, `long` or `short`.
    pub directions: String,
    /// Least confluence notified (1–7).
    pub min_confluence: u8,
    /// ntfy priority (1–5).
    pub priority: u8,
    /// Quiet hours start, UTC minute of the day; `null` = off.
    pub quiet_start_min: Option<u16>,
    /// Quiet hours end (exclusive), UTC minute of the day; `null` = off.
    pub quiet_end_min: Option<u16>,
}

/// `PUT /me/preferences`: the whole set (quiet hours both or neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationPrefsRequest {
    /// Notifications on at all.
    pub enabled: bool,
    /// `both`, `long` or `short`.
    pub directions: String,
    /// 1–7.
    pub min_confluence: i64,
    /// 1–5.
    pub priority: i64,
    /// 0–1439 or null.
    #[serde(default)]
    pub quiet_start_min: Option<i64>,
    /// 0–1439 or null.
    #[serde(default)]
    pub quiet_end_min: Option<i64>,
}

/// One of the caller's symbols with its notification flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SymbolNotify))]
pub struct SymbolNotifyDto {
    /// Canonical `BASE/QUOTE`.
    pub symbol: String,
    /// Notifications for this symbol.
    pub notify: bool,
    /// Signals of this symbol are notified at all (admin switch).
    pub symbol_enabled: bool,
    /// The caller may change `notify` (premium).
    pub editable: bool,
}

/// `PUT /me/symbols`: one toggle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SymbolNotifyRequest {
    /// Canonical `BASE/QUOTE`.
    pub symbol: String,
    /// On or off.
    pub notify: bool,
}

/// The new topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Topic))]
pub struct TopicDto {
    /// `cl_` + 16 hex.
    pub topic: String,
}
