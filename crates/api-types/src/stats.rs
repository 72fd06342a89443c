//! Wire types of `/stats` (the analytics page) and the admin's stats, subscriptions and
//! settings (product.md §2, §9).

use serde::{Deserialize, Deserializer, Serialize};

/// Pattern counts of one group by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PatternCounts))]
pub struct PatternCountsDto {
    /// The group: a type, TF or direction word, or `all`.
    pub key: String,
    /// Every pattern.
    pub total: u64,
    /// Still active.
    pub active: u64,
    /// Filled.
    pub filled: u64,
    /// Invalidated.
    pub invalidated: u64,
    /// Expired.
    pub expired: u64,
}

/// Outcome rates over the ended patterns (0..=1, 4 decimals); `null` when none has ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Rates))]
pub struct RatesDto {
    /// Ended patterns (filled + invalidated + expired).
    pub ended: u64,
    /// filled / ended.
    pub fill: Option<f64>,
    /// expired / ended.
    pub expiry: Option<f64>,
    /// invalidated / ended.
    pub invalidation: Option<f64>,
}

/// A count under a name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = KeyCount))]
pub struct KeyCountDto {
    /// The name (e.g. a signal status).
    pub key: String,
    /// How many.
    pub count: u64,
}

/// `GET /api/v1/stats`: the analytics of the caller's tier, or of one symbol.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Analytics))]
pub struct AnalyticsDto {
    /// `pro`, `premium` (tier-wide) or the symbol.
    pub scope: String,
    /// When the stats job computed it (UTC ms); `null` before its first run.
    pub computed_at: Option<i64>,
    /// Every pattern of the scope.
    pub patterns: PatternCountsDto,
    /// By pattern type (every type listed).
    pub by_type: Vec<PatternCountsDto>,
    /// By timeframe (every TF listed).
    pub by_tf: Vec<PatternCountsDto>,
    /// By direction (both listed).
    pub by_direction: Vec<PatternCountsDto>,
    /// Fill, expiry and invalidation rates.
    pub rates: RatesDto,
    /// Every signal of the scope.
    pub signals_total: u64,
    /// Signal outcomes: counts by status (every status listed).
    pub signals_by_status: Vec<KeyCountDto>,
}

/// User counts of the admin stats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UserCounts))]
pub struct UserCountsDto {
    /// Every user.
    pub total: u64,
    /// Active.
    pub active: u64,
    /// Email verified.
    pub verified: u64,
    /// Admins.
    pub admins: u64,
    /// 2FA on.
    pub totp_enabled: u64,
    /// Created within the window.
    pub new_in_window: u64,
}

/// Subscription counts of the admin stats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SubscriptionCounts))]
pub struct SubscriptionCountsDto {
    /// Active pro.
    pub active_pro: u64,
    /// Active premium.
    pub active_premium: u64,
    /// Active lifetime.
    pub active_lifetime: u64,
    /// Status active.
    pub active: u64,
    /// Status expired.
    pub expired: u64,
    /// Status cancelled.
    pub cancelled: u64,
    /// Status suspended.
    pub suspended: u64,
    /// Active and expiring within the window.
    pub expiring_in_window: u64,
}

/// Notification delivery counts of the admin stats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = NotificationCounts))]
pub struct NotificationCountsDto {
    /// Waiting.
    pub queued: u64,
    /// Sent.
    pub sent: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
}

/// `GET /api/v1/admin/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AdminStats))]
pub struct AdminStatsDto {
    /// Users.
    pub users: UserCountsDto,
    /// Subscriptions.
    pub subscriptions: SubscriptionCountsDto,
    /// User notifications.
    pub notifications: NotificationCountsDto,
    /// Error groups not looked at yet.
    pub errors_new: u64,
    /// The window of the `*_in_window` figures, in days.
    pub window_days: u32,
    /// Pattern and signal analytics over every symbol (from the stats cache).
    pub analytics: AnalyticsDto,
}

/// One row of `GET /api/v1/admin/subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SubscriptionRow))]
pub struct SubscriptionRowDto {
    /// Subscription id.
    pub id: i64,
    /// Owner id.
    pub user_id: i64,
    /// Owner email.
    pub email: String,
    /// Owner username.
    pub username: String,
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// `active`, `expired`, `cancelled` or `suspended`.
    pub status: String,
    /// Start (UTC ms).
    pub starts_at: i64,
    /// Expiry (UTC ms); `null` for lifetime.
    pub expires_at: Option<i64>,
    /// `lemonsqueezy`, `nowpayments`, `admin`, or `null`.
    pub provider: Option<String>,
    /// Created (UTC ms).
    pub created_at: i64,
}

/// `GET /api/v1/admin/settings`: the global settings (retention days: `null` keeps forever).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GlobalSettings))]
pub struct GlobalSettingsDto {
    /// Signal: agreeing TFs needed (1–7).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 7))]
    pub min_confluence: i64,
    /// Signal: 4h or 1d must agree.
    pub require_htf: bool,
    /// Signal: cooldown per symbol and direction, hours (0–168).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 168))]
    pub cooldown_hours: f64,
    /// Signal: TP3 multiple (0.5–20).
    #[cfg_attr(feature = "openapi", schema(minimum = 0.5, maximum = 20))]
    pub default_rr: f64,
    /// Signal: minimum risk, % of entry (0–10).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub min_risk_pct: f64,
    /// Detection: minimum zone size, % (0–10).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub min_zone_pct: f64,
    /// The global ntfy topic (1–64 of `A–Z a–z 0–9 _ -`), or `null`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")
    )]
    pub global_topic: Option<String>,
    /// Whether every signal is also sent to the global topic (needs a topic).
    pub global_topic_enabled: bool,
    /// `debug`, `info`, `warn` or `error`.
    pub log_level: String,
    /// Retention of 1m candles, days (1–3650) or `null`.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_candles_1m_days: Option<i64>,
    /// Retention of logs.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_logs_days: Option<i64>,
    /// Retention of cron runs.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_cron_runs_days: Option<i64>,
    /// Retention of notifications.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_notifications_days: Option<i64>,
    /// Retention of ended patterns.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_ended_patterns_days: Option<i64>,
    /// Retention of resolved errors.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_resolved_errors_days: Option<i64>,
    /// Retention of expired sessions and tokens.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_sessions_tokens_days: Option<i64>,
    /// Retention of API key usage buckets.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_api_key_usage_days: Option<i64>,
    /// Retention of webhook events.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_webhook_events_days: Option<i64>,
    /// Cleanup batch size (1–5000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5000))]
    pub retention_batch_size: i64,
    /// Last change (UTC ms); `null` if never changed since the seed.
    pub updated_at: Option<i64>,
}

/// Tells a present `null` (`Some(None)`) from an absent member (`None`, via `default`).
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// `PUT /api/v1/admin/settings`: absent members keep their value; `null` on a nullable member
/// clears it (no topic, keep forever).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GlobalSettingsRequest {
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 7))]
    pub min_confluence: Option<i64>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_htf: Option<bool>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 168))]
    pub cooldown_hours: Option<f64>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.5, maximum = 20))]
    pub default_rr: Option<f64>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub min_risk_pct: Option<f64>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub min_zone_pct: Option<f64>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")
    )]
    pub global_topic: Option<Option<String>>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_topic_enabled: Option<bool>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_candles_1m_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_logs_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_cron_runs_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_notifications_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_ended_patterns_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_resolved_errors_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_sessions_tokens_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_api_key_usage_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_webhook_events_days: Option<Option<i64>>,
    /// See [`GlobalSettingsDto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5000))]
    pub retention_batch_size: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_members_differ() {
        let r: GlobalSettingsRequest =
            serde_json::from_str(r#"{"retention_logs_days":null,"min_confluence":4}"#).unwrap();
        assert_eq!(r.retention_logs_days, Some(None));
        assert_eq!(r.retention_cron_runs_days, None);
        assert_eq!(r.min_confluence, Some(4));
        let back = serde_json::to_string(&r).unwrap();
        assert_eq!(back, r#"{"min_confluence":4,"retention_logs_days":null}"#);
    }
}
