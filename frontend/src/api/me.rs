//! The `/me/exchange-credentials` client (product.md §7, §11): pro and premium. Reads are
//! masked (`****` + the last 4 characters of the key); a store needs a re-authentication in
//! the last 10 minutes (`reauth_required` otherwise). The per-symbol toggles of `/me/symbols`
//! live in [`super::notify`].

use cl_api_types::{CredentialsDeleted, ExchangeCredentialDto, ExchangeCredentialRequest};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{get_data, ApiError};

/// `GET /me/exchange-credentials` (masked).
///
/// # Errors
/// `tier_required` on the free tier, or any [`ApiError`].
pub async fn credentials() -> Result<Vec<ExchangeCredentialDto>, ApiError> {
    get_data("/me/exchange-credentials").await.map(|(d, _)| d)
}

/// `PUT /me/exchange-credentials`: stores or replaces the credential of `(exchange, label)`.
///
/// # Errors
/// `reauth_required`, `validation_failed` (field errors), `tier_required`, any [`ApiError`].
pub async fn save_credential(
    body: &ExchangeCredentialRequest,
) -> Result<ExchangeCredentialDto, ApiError> {
    send_json(Method::PUT, "/me/exchange-credentials", body).await
}

/// `DELETE /me/exchange-credentials`: every credential of the caller.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_credentials() -> Result<CredentialsDeleted, ApiError> {
    send_empty(Method::DELETE, "/me/exchange-credentials").await
}
