//! The analytics and admin-operations client (product.md §2 `/analytics`, §9): `/stats`, the
//! admin's global stats, subscription list, logs and global settings.

use cl_api_types::{
    AdminStatsDto, AnalyticsDto, GlobalSettingsDto, GlobalSettingsRequest, LogEntryDto,
    SubscriptionRowDto,
};
use gloo_net::http::Method;

use super::auth::send_json;
use super::{get_data, get_page, non_empty, query_string, ApiError, Page};

/// `GET /stats[?symbol=]` (pro and premium; `tier_required` otherwise).
///
/// # Errors
/// Any [`ApiError`].
pub async fn analytics(symbol: &str) -> Result<AnalyticsDto, ApiError> {
    let q = query_string(&[("symbol", non_empty(symbol.trim()))]);
    get_data(&format!("/stats{q}")).await.map(|(d, _)| d)
}

/// `GET /admin/stats`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn admin_stats() -> Result<AdminStatsDto, ApiError> {
    get_data("/admin/stats").await.map(|(d, _)| d)
}

/// Filters of `GET /admin/subscriptions` (empty = any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionQuery {
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// A subscription status.
    pub status: String,
    /// Days (digits), for "expiring within".
    pub expiring_within_days: String,
}

/// `GET /admin/subscriptions?plan&status&expiring_within_days&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`] (`validation_failed` names the bad filter).
pub async fn subscriptions(
    q: &SubscriptionQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<SubscriptionRowDto>, ApiError> {
    get_page(&format!(
        "/admin/subscriptions{}",
        query_string(&[
            ("plan", non_empty(&q.plan)),
            ("status", non_empty(&q.status)),
            (
                "expiring_within_days",
                non_empty(q.expiring_within_days.trim())
            ),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}

/// Filters of `GET /admin/logs` (empty = any; times as UTC ms digits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// A log category.
    pub category: String,
    /// A log level.
    pub level: String,
    /// A symbol (`BTC/USDT`).
    pub symbol: String,
    /// From (UTC ms, inclusive).
    pub since: Option<i64>,
    /// Until (UTC ms, exclusive).
    pub until: Option<i64>,
}

/// `GET /admin/logs?category&level&symbol&since&until&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn logs(
    q: &LogQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<LogEntryDto>, ApiError> {
    get_page(&format!(
        "/admin/logs{}",
        query_string(&[
            ("category", non_empty(&q.category)),
            ("level", non_empty(&q.level)),
            ("symbol", non_empty(q.symbol.trim())),
            ("since", q.since.map(|v| v.to_string())),
            ("until", q.until.map(|v| v.to_string())),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}

/// `GET /admin/settings`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn settings() -> Result<GlobalSettingsDto, ApiError> {
    get_data("/admin/settings").await.map(|(d, _)| d)
}

/// `PUT /admin/settings` (absent members keep their value).
///
/// # Errors
/// `validation_failed` with every bad field, any [`ApiError`].
pub async fn save_settings(body: &GlobalSettingsRequest) -> Result<GlobalSettingsDto, ApiError> {
    send_json(Method::PUT, "/admin/settings", body).await
}
