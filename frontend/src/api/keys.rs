//! The `/api/v1/keys` client (product.md §3, §11.10): list, create (secret shown once),
//! revoke, IP rules. Managing keys needs a session (an API key cannot manage keys).

use cl_api_types::{ApiKeyDto, CreateKeyRequest, CreatedApiKeyDto, IpRuleDto, IpRuleRequest};
use gloo_net::http::Method;
use serde::de::IgnoredAny;

use super::auth::{send_empty, send_json};
use super::{get_data, ApiError};

/// `GET /keys`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn list() -> Result<Vec<ApiKeyDto>, ApiError> {
    get_data("/keys").await.map(|(d, _)| d)
}

/// `POST /keys` (premium, verified, recent re-authentication).
///
/// # Errors
/// `tier_required`, `reauth_required`, `quota_exceeded`, `validation_failed`.
pub async fn create(
    name: &str,
    scopes: &str,
    expires_at: Option<i64>,
) -> Result<CreatedApiKeyDto, ApiError> {
    let body = CreateKeyRequest {
        name: name.to_owned(),
        scopes: scopes.to_owned(),
        expires_at: expires_at.map(|ms| ms.to_string()),
    };
    send_json(Method::POST, "/keys", &body).await
}

/// `DELETE /keys/{id}`.
///
/// # Errors
/// `not_found`, or any [`ApiError`].
pub async fn revoke(id: i64) -> Result<(), ApiError> {
    send_empty::<IgnoredAny>(Method::DELETE, &format!("/keys/{id}"))
        .await
        .map(|_| ())
}

/// `GET /keys/{id}/ip-rules`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn ip_rules(id: i64) -> Result<Vec<IpRuleDto>, ApiError> {
    get_data(&format!("/keys/{id}/ip-rules"))
        .await
        .map(|(d, _)| d)
}

/// `POST /keys/{id}/ip-rules`.
///
/// # Errors
/// `validation_failed` for a bad CIDR, or any [`ApiError`].
pub async fn add_ip_rule(id: i64, action: &str, cidr: &str) -> Result<IpRuleDto, ApiError> {
    let body = IpRuleRequest {
        action: action.to_owned(),
        cidr: cidr.to_owned(),
    };
    send_json(Method::POST, &format!("/keys/{id}/ip-rules"), &body).await
}

/// `DELETE /keys/{id}/ip-rules/{rule}`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_ip_rule(id: i64, rule: i64) -> Result<(), ApiError> {
    send_empty::<IgnoredAny>(Method::DELETE, &format!("/keys/{id}/ip-rules/{rule}"))
        .await
        .map(|_| ())
}
