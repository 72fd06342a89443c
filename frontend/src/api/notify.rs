//! The notification settings client (`/me/preferences`, `/me/symbols`,
//! `/me/topic/regenerate`; product.md §5).

use cl_api_types::{
    NotificationPrefsDto, NotificationPrefsRequest, SymbolNotifyDto, SymbolNotifyRequest, TopicDto,
};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{get_data, ApiError};

/// `GET /me/preferences`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn prefs() -> Result<NotificationPrefsDto, ApiError> {
    get_data("/me/preferences").await.map(|(d, _)| d)
}

/// `PUT /me/preferences` (replaces every preference).
///
/// # Errors
/// `validation_failed` with field errors, or any [`ApiError`].
pub async fn save_prefs(body: &NotificationPrefsRequest) -> Result<NotificationPrefsDto, ApiError> {
    send_json(Method::PUT, "/me/preferences", body).await
}

/// `POST /me/topic/regenerate`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn regenerate_topic() -> Result<TopicDto, ApiError> {
    send_empty(Method::POST, "/me/topic/regenerate").await
}

/// `GET /me/symbols`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn symbols() -> Result<Vec<SymbolNotifyDto>, ApiError> {
    get_data("/me/symbols").await.map(|(d, _)| d)
}

/// `PUT /me/symbols` (premium): one symbol's toggle; answers the updated list.
///
/// # Errors
/// `tier_required`, `not_found`, or any [`ApiError`].
pub async fn set_symbol(symbol: &str, notify: bool) -> Result<Vec<SymbolNotifyDto>, ApiError> {
    let body = SymbolNotifyRequest {
        symbol: symbol.to_owned(),
        notify,
    };
    send_json(Method::PUT, "/me/symbols", &body).await
}
