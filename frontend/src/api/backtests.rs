//! The backtest client (product.md §8): list, queue (202; the first chunk runs in the request),
//! progress and results, delete. Premium only: other tiers get `tier_required`, which the
//! pages turn into the upgrade prompt.

use cl_api_types::{BacktestDetailDto, BacktestDto, BacktestRequest, Removed};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{get_data, ApiError};

/// `GET /backtests`: mine, newest first.
///
/// # Errors
/// `tier_required` below premium, or any [`ApiError`].
pub async fn list() -> Result<Vec<BacktestDto>, ApiError> {
    get_data("/backtests").await.map(|(d, _)| d)
}

/// `POST /backtests`: queues a run and answers it as it stands after the first chunk.
///
/// # Errors
/// `validation_failed` (field errors), `quota_exceeded`, or any [`ApiError`].
pub async fn create(body: &BacktestRequest) -> Result<BacktestDto, ApiError> {
    send_json(Method::POST, "/backtests", body).await
}

/// `GET /backtests/{id}`: progress, statistics, trades and equity curve so far.
///
/// # Errors
/// `not_found` (also for another user's run), or any [`ApiError`].
pub async fn get(id: i64) -> Result<BacktestDetailDto, ApiError> {
    get_data(&format!("/backtests/{id}")).await.map(|(d, _)| d)
}

/// `DELETE /backtests/{id}` (with its trades).
///
/// # Errors
/// `not_found`, or any [`ApiError`].
pub async fn delete(id: i64) -> Result<Removed, ApiError> {
    send_empty(Method::DELETE, &format!("/backtests/{id}")).await
}
