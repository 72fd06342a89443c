//! The optimizer client (product.md §8, §9; admin only) and the caller's trading preferences
//! (`/me/preferences/trading`: risk per trade %, default R:R for pro and premium, and the
//! optimizer-tuned params applied to the caller, read-only, with a reset). Job reads bypass
//! the browser cache: the page polls them while the dispatch job advances the job.

use cl_api_types::{
    OptimizerAppliedDto, OptimizerApplyRequest, OptimizerComparisonDto, OptimizerJobDetailDto,
    OptimizerJobDto, OptimizerJobRequest, TradingPrefsDto, TradingPrefsRequest,
};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{encode, get_data, get_page, ApiError, Page};

/// `GET /admin/optimizer/jobs?limit&cursor`: jobs, newest first.
///
/// # Errors
/// `forbidden` for a non-admin, any [`ApiError`].
pub async fn jobs(cursor: Option<String>) -> Result<Page<OptimizerJobDto>, ApiError> {
    let q = cursor.map_or_else(String::new, |c| format!("&cursor={}", encode(&c)));
    get_page(&format!("/admin/optimizer/jobs?limit=20{q}")).await
}

/// `POST /admin/optimizer/jobs`: queues a job (202).
///
/// # Errors
/// `validation_failed` (field errors), any [`ApiError`].
pub async fn create(body: &OptimizerJobRequest) -> Result<OptimizerJobDto, ApiError> {
    send_json(Method::POST, "/admin/optimizer/jobs", body).await
}

/// `GET /admin/optimizer/jobs/{id}?metric=`: progress, top runs and best params.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn job(id: i64, metric: &str) -> Result<OptimizerJobDetailDto, ApiError> {
    get_data(&format!(
        "/admin/optimizer/jobs/{id}?metric={}",
        encode(metric)
    ))
    .await
    .map(|(d, _)| d)
}

/// `GET /admin/optimizer/jobs/{id}/compare/{other}?metric=`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn compare(
    id: i64,
    other: i64,
    metric: &str,
) -> Result<Vec<OptimizerComparisonDto>, ApiError> {
    get_data(&format!(
        "/admin/optimizer/jobs/{id}/compare/{other}?metric={}",
        encode(metric)
    ))
    .await
    .map(|(d, _)| d)
}

/// `POST /admin/optimizer/jobs/{id}/apply`.
///
/// # Errors
/// `conflict` (no run with 10 trades), `not_found`, any [`ApiError`].
pub async fn apply(id: i64, body: &OptimizerApplyRequest) -> Result<OptimizerAppliedDto, ApiError> {
    send_json(
        Method::POST,
        &format!("/admin/optimizer/jobs/{id}/apply"),
        body,
    )
    .await
}

/// `DELETE /admin/optimizer/users/{id}/params`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn clear(user: i64) -> Result<OptimizerAppliedDto, ApiError> {
    send_empty(
        Method::DELETE,
        &format!("/admin/optimizer/users/{user}/params"),
    )
    .await
}

/// `GET /me/preferences/trading`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn trading() -> Result<TradingPrefsDto, ApiError> {
    get_data("/me/preferences/trading").await.map(|(d, _)| d)
}

/// `PUT /me/preferences/trading` (pro and premium).
///
/// # Errors
/// `tier_required`, `validation_failed` (field errors), any [`ApiError`].
pub async fn save_trading(body: &TradingPrefsRequest) -> Result<TradingPrefsDto, ApiError> {
    send_json(Method::PUT, "/me/preferences/trading", body).await
}

/// `DELETE /me/preferences/tuned`: the tuned params back to the defaults.
///
/// # Errors
/// Any [`ApiError`].
pub async fn reset_tuned() -> Result<TradingPrefsDto, ApiError> {
    send_empty(Method::DELETE, "/me/preferences/tuned").await
}
