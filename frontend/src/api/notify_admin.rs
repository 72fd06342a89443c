//! The admin notification client (`/admin/notifications/*`; product.md §5, §9): templates,
//! the audience count, broadcasts, schedules with cancel and the ntfy test send.

use cl_api_types::{
    AdminTestDto, AdminTestRequest, AudienceCountDto, BroadcastDto, BroadcastRequest,
    NoticeTemplateDto, NoticeTemplateRequest, ScheduleDto, ScheduleRequest,
};
use gloo_net::http::Method;
use serde::Serialize;

use super::auth::{send_empty, send_json};
use super::{get_data, ApiError};

const BASE: &str = "/admin/notifications";

#[derive(Serialize)]
struct AudienceBody<'a> {
    audience: &'a str,
    topics: &'a [String],
}

#[derive(serde::Deserialize)]
struct Deleted {
    #[allow(dead_code)]
    id: i64,
}

/// `GET …/templates`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn templates() -> Result<Vec<NoticeTemplateDto>, ApiError> {
    get_data(&format!("{BASE}/templates")).await.map(|(d, _)| d)
}

/// `POST …/templates` (no id) or `PUT …/templates/{id}`.
///
/// # Errors
/// `validation_failed` with field errors, `conflict` (name taken), or any [`ApiError`].
pub async fn save_template(
    id: Option<i64>,
    body: &NoticeTemplateRequest,
) -> Result<NoticeTemplateDto, ApiError> {
    match id {
        None => send_json(Method::POST, &format!("{BASE}/templates"), body).await,
        Some(id) => send_json(Method::PUT, &format!("{BASE}/templates/{id}"), body).await,
    }
}

/// `DELETE …/templates/{id}`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_template(id: i64) -> Result<(), ApiError> {
    send_empty::<Deleted>(Method::DELETE, &format!("{BASE}/templates/{id}"))
        .await
        .map(|_| ())
}

/// `POST …/audience`: how many would receive it now.
///
/// # Errors
/// `validation_failed` (e.g. no global topic), or any [`ApiError`].
pub async fn audience(audience: &str, topics: &[String]) -> Result<AudienceCountDto, ApiError> {
    let body = AudienceBody { audience, topics };
    send_json(Method::POST, &format!("{BASE}/audience"), &body).await
}

/// `GET …/broadcasts`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn broadcasts() -> Result<Vec<BroadcastDto>, ApiError> {
    get_data(&format!("{BASE}/broadcasts"))
        .await
        .map(|(d, _)| d)
}

/// `POST …/broadcasts` (queued; the next dispatch run sends it).
///
/// # Errors
/// `validation_failed` with field errors, or any [`ApiError`].
pub async fn broadcast(body: &BroadcastRequest) -> Result<BroadcastDto, ApiError> {
    send_json(Method::POST, &format!("{BASE}/broadcasts"), body).await
}

/// `GET …/schedules`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn schedules() -> Result<Vec<ScheduleDto>, ApiError> {
    get_data(&format!("{BASE}/schedules")).await.map(|(d, _)| d)
}

/// `POST …/schedules`.
///
/// # Errors
/// `validation_failed` with field errors, or any [`ApiError`].
pub async fn schedule(body: &ScheduleRequest) -> Result<ScheduleDto, ApiError> {
    send_json(Method::POST, &format!("{BASE}/schedules"), body).await
}

/// `POST …/schedules/{id}/cancel`.
///
/// # Errors
/// `conflict` when it is no longer scheduled, or any [`ApiError`].
pub async fn cancel(id: i64) -> Result<ScheduleDto, ApiError> {
    send_empty(Method::POST, &format!("{BASE}/schedules/{id}/cancel")).await
}

/// `POST …/test`: to `topic`, or the global topic when `None`.
///
/// # Errors
/// `validation_failed`, or any [`ApiError`].
pub async fn test_send(topic: Option<String>) -> Result<AdminTestDto, ApiError> {
    send_json(
        Method::POST,
        &format!("{BASE}/test"),
        &AdminTestRequest { topic },
    )
    .await
}
