//! The billing client (product.md §6): checkout, payment history, a payment's status (and a
//! check with the provider), and the caller's subscription. Session routes; the state changes
//! carry the CSRF token through [`send_json`] / [`send_empty`].

use cl_api_types::{CheckoutRequest, CheckoutStarted, PaymentCheck, PaymentDto, SubscriptionDto};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{get_data, get_page, query_string, ApiError, Page};

/// `GET /me/subscription`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn subscription() -> Result<SubscriptionDto, ApiError> {
    get_data("/me/subscription").await.map(|(d, _)| d)
}

/// `GET /payments?limit&cursor` (newest first).
///
/// # Errors
/// Any [`ApiError`].
pub async fn payments(limit: u32, cursor: Option<&str>) -> Result<Page<PaymentDto>, ApiError> {
    let path = format!(
        "/payments{}",
        query_string(&[
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    );
    get_page(&path).await
}

/// `GET /payments/{id}`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn payment(id: i64) -> Result<PaymentDto, ApiError> {
    get_data(&format!("/payments/{id}")).await.map(|(d, _)| d)
}

/// `POST /payments/{id}/check`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn check(id: i64) -> Result<PaymentCheck, ApiError> {
    send_empty(Method::POST, &format!("/payments/{id}/check")).await
}

/// `POST /payments/checkout`: the pending payment and the provider's hosted page.
///
/// # Errors
/// `validation_failed`, `email_unverified`, `conflict`, `rate_limited`, any [`ApiError`].
pub async fn checkout(body: &CheckoutRequest) -> Result<CheckoutStarted, ApiError> {
    send_json(Method::POST, "/payments/checkout", body).await
}
