//! The operations client for the admin pages (product.md §9 "Crons, quick actions" and
//! "Symbols"): the scheduler's jobs with their switches and run history, and the symbol
//! catalogue (add, activate/deactivate, notify, fetch start, historical fetch, candle import),
//! and the quick actions that queue a run. Queued runs are executed by the every-minute
//! dispatch job, never in the request: the pages poll `GET /runs/{id}`. Every route here is
//! admin-only; the server answers `forbidden` to anyone else.

use cl_api_types::ops::{HistoricalFetchRequest, ImportRequest, ImportResultDto, QueuedRunDto};
use cl_api_types::scheduler::{CronRunDto, SchedulerJobDto, SchedulerStatusDto};
use cl_api_types::{AdminSymbolDto, SymbolCreateRequest, SymbolPatchRequest};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{encode, get_data, get_page, query_string, ApiError, Page};

/// `GET /scheduler/status`: every job with its switch and newest run.
///
/// # Errors
/// `forbidden` for a non-admin, any [`ApiError`].
pub async fn scheduler_status() -> Result<SchedulerStatusDto, ApiError> {
    get_data("/scheduler/status").await.map(|(d, _)| d)
}

/// `POST /scheduler/jobs/{name}/toggle`: flips the job's switch.
///
/// # Errors
/// `rate_limited` (2 a minute per admin), any [`ApiError`].
pub async fn toggle_job(name: &str) -> Result<SchedulerJobDto, ApiError> {
    send_empty(
        Method::POST,
        &format!("/scheduler/jobs/{}/toggle", encode(name)),
    )
    .await
}

/// `GET /admin/crons/{name}/runs?limit&cursor`: a job's runs, newest first.
///
/// # Errors
/// Any [`ApiError`].
pub async fn cron_runs(
    name: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<CronRunDto>, ApiError> {
    get_page(&format!(
        "/admin/crons/{}/runs{}",
        encode(name),
        query_string(&[
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}

/// `GET /admin/symbols`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn symbols() -> Result<Vec<AdminSymbolDto>, ApiError> {
    get_data("/admin/symbols").await.map(|(d, _)| d)
}

/// `POST /admin/symbols`.
///
/// # Errors
/// `validation_failed` (field errors on `symbol`, `fetch_start_ms`), `conflict` when the
/// symbol exists, any [`ApiError`].
pub async fn add_symbol(body: &SymbolCreateRequest) -> Result<AdminSymbolDto, ApiError> {
    send_json(Method::POST, "/admin/symbols", body).await
}

/// `PATCH /admin/symbols/{id}`: absent members stay.
///
/// # Errors
/// `validation_failed`, `not_found`, any [`ApiError`].
pub async fn patch_symbol(id: i64, body: &SymbolPatchRequest) -> Result<AdminSymbolDto, ApiError> {
    send_json(Method::PATCH, &format!("/admin/symbols/{id}"), body).await
}

/// `POST /admin/crons/{action}/run`: queues a quick action (`scan`, `full-cycle`, `fetch`,
/// `stats`, `cleanup`, `db-health`); the dispatch job runs it within a minute.
///
/// # Errors
/// `rate_limited` (2 a minute per admin), any [`ApiError`].
pub async fn run_now(action: &str) -> Result<QueuedRunDto, ApiError> {
    send_empty(
        Method::POST,
        &format!("/admin/crons/{}/run", encode(action)),
    )
    .await
}

/// `GET /runs/{id}`: one queued run (poll it until it ends).
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn run(id: i64) -> Result<QueuedRunDto, ApiError> {
    let (data, _) = get_data_fresh(&format!("/runs/{id}")).await?;
    Ok(data)
}

/// `POST /admin/symbols/{id}/historical-fetch`: queues a chunked fetch from `from_ms` (or the
/// symbol's fetch start).
///
/// # Errors
/// `validation_failed` on `from_ms`, `rate_limited`, any [`ApiError`].
pub async fn historical_fetch(id: i64, from_ms: Option<i64>) -> Result<QueuedRunDto, ApiError> {
    send_json(
        Method::POST,
        &format!("/admin/symbols/{id}/historical-fetch"),
        &HistoricalFetchRequest { from_ms },
    )
    .await
}

/// `POST /admin/symbols/{id}/import`: candle text (`csv` or `json`, ≤ 5 MiB).
///
/// # Errors
/// `validation_failed` (field errors), `payload_too_large`, any [`ApiError`].
pub async fn import(id: i64, body: &ImportRequest) -> Result<ImportResultDto, ApiError> {
    send_json(Method::POST, &format!("/admin/symbols/{id}/import"), body).await
}

/// A `GET` that bypasses the browser cache (a polled resource must never be answered stale).
async fn get_data_fresh<T: serde::de::DeserializeOwned>(
    path: &str,
) -> Result<(T, cl_api_types::Meta), ApiError> {
    let response = super::builder(path)
        .cache(web_sys::RequestCache::NoStore)
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    super::decode(response).await
}
