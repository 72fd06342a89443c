//! State-changing requests and the `/api/v1/auth/*` client.
//!
//! Every POST/PATCH/PUT/DELETE carries `X-CSRF-Token` (access.rs): the token of the session
//! cookie, or of the pre-session cookie that `GET /auth/csrf` hands out to the login and
//! register forms. The current token lives here, in one place: responses that rotate the
//! session (login, password change, 2FA) replace it, and a `csrf_failed` answer (the session
//! changed in another tab) fetches a fresh one and retries the request once.

use std::cell::RefCell;

use cl_api_types::{
    AuthMessage, ChangePasswordRequest, CodeRequest, CsrfToken, EmailRequest, LoginRequest,
    LoginResult, Me, PasswordCodeRequest, RecoveryCodesDto, RegisterRequest, ResetPasswordRequest,
    Revoked, SessionDto, TokenRequest, TotpSetupDto,
};
use gloo_net::http::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use web_sys::RequestCache;

use super::{builder, decode, get_data, ApiError, API_BASE};

thread_local! {
    /// The CSRF token of the current (pre-)session; `None` until first needed.
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Remembers the token of a new or rotated session.
pub fn remember_csrf(token: &str) {
    CSRF.with(|c| *c.borrow_mut() = Some(token.to_owned()));
}

/// Forgets the token (after logout or account deletion).
pub fn forget_csrf() {
    CSRF.with(|c| *c.borrow_mut() = None);
}

async fn csrf_token(fresh: bool) -> Result<String, ApiError> {
    if !fresh {
        if let Some(token) = CSRF.with(|c| c.borrow().clone()) {
            return Ok(token);
        }
    }
    let response = builder("/auth/csrf")
        .cache(RequestCache::NoStore)
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    let (CsrfToken { csrf_token }, _) = decode::<CsrfToken>(response).await?;
    remember_csrf(&csrf_token);
    Ok(csrf_token)
}

/// Sends a state-changing request with the CSRF token (and an optional JSON body); on
/// `csrf_failed` it refreshes the token once and retries.
pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let mut fresh = false;
    loop {
        let token = csrf_token(fresh).await?;
        let request = RequestBuilder::new(&format!("{API_BASE}{path}"))
            .method(method.clone())
            .header("Accept", "application/json")
            .header("X-CSRF-Token", &token);
        let sent = match body {
            Some(b) => {
                request
                    .json(b)
                    .map_err(|err| ApiError::Network(err.to_string()))?
                    .send()
                    .await
            }
            None => request.send().await,
        };
        let response = sent.map_err(|err| ApiError::Network(err.to_string()))?;
        match decode::<T>(response).await {
            Err(err) if !fresh && err.code() == Some("csrf_failed") => fresh = true,
            other => return other.map(|(data, _)| data),
        }
    }
}

/// [`send`] with a JSON body.
pub(crate) async fn send_json<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: &B,
) -> Result<T, ApiError> {
    send(method, path, Some(body)).await
}

/// [`send`] without a body.
pub(crate) async fn send_empty<T: DeserializeOwned>(
    method: Method,
    path: &str,
) -> Result<T, ApiError> {
    send::<(), T>(method, path, None).await
}

/// `GET /auth/me`: the signed-in user, tier, limits and the session's CSRF token.
///
/// # Errors
/// `unauthorized` when signed out, or any [`ApiError`].
pub async fn me() -> Result<Me, ApiError> {
    let response = builder("/auth/me")
        .cache(RequestCache::NoStore)
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    let (me, _) = decode::<Me>(response).await?;
    remember_csrf(&me.csrf_token);
    Ok(me)
}

/// Stores the token of a login step's new session.
fn logged(result: LoginResult) -> LoginResult {
    remember_csrf(&result.csrf_token);
    result
}

/// `POST /auth/login`.
///
/// # Errors
/// `invalid_credentials`, `validation_failed`, `rate_limited`, …
pub async fn login(email: &str, password: &str) -> Result<LoginResult, ApiError> {
    let body = LoginRequest {
        email: email.to_owned(),
        password: password.to_owned(),
    };
    send_json(Method::POST, "/auth/login", &body)
        .await
        .map(logged)
}

/// `POST /auth/login/totp`: the second step with a TOTP or recovery code.
///
/// # Errors
/// `invalid_credentials` for a wrong code, `unauthorized` when the pending login expired.
pub async fn login_totp(code: &str) -> Result<LoginResult, ApiError> {
    let body = CodeRequest {
        code: code.to_owned(),
    };
    send_json(Method::POST, "/auth/login/totp", &body)
        .await
        .map(logged)
}

/// `POST /auth/logout`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn logout() -> Result<AuthMessage, ApiError> {
    let result = send_empty(Method::POST, "/auth/logout").await;
    forget_csrf();
    result
}

/// `POST /auth/register`.
///
/// # Errors
/// `validation_failed` with field errors, `rate_limited`, …
pub async fn register(
    email: &str,
    username: &str,
    password: &str,
) -> Result<AuthMessage, ApiError> {
    let body = RegisterRequest {
        email: email.to_owned(),
        username: username.to_owned(),
        password: password.to_owned(),
    };
    send_json(Method::POST, "/auth/register", &body).await
}

/// `POST /auth/verify-email` with the token from the link's fragment.
///
/// # Errors
/// `validation_failed` for an unknown, used or expired token.
pub async fn verify_email(token: &str) -> Result<AuthMessage, ApiError> {
    let body = TokenRequest {
        token: token.to_owned(),
    };
    send_json(Method::POST, "/auth/verify-email", &body).await
}

fn email_body(email: &str) -> EmailRequest {
    EmailRequest {
        email: email.to_owned(),
    }
}

/// `POST /auth/resend-verification`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn resend_verification(email: &str) -> Result<AuthMessage, ApiError> {
    send_json(
        Method::POST,
        "/auth/resend-verification",
        &email_body(email),
    )
    .await
}

/// `POST /auth/forgot-password`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn forgot_password(email: &str) -> Result<AuthMessage, ApiError> {
    send_json(Method::POST, "/auth/forgot-password", &email_body(email)).await
}

/// `POST /auth/reset-password` with the token from the link's fragment.
///
/// # Errors
/// `validation_failed` (token or password).
pub async fn reset_password(token: &str, password: &str) -> Result<AuthMessage, ApiError> {
    let body = ResetPasswordRequest {
        token: token.to_owned(),
        password: password.to_owned(),
    };
    send_json(Method::POST, "/auth/reset-password", &body).await
}

/// `GET /auth/sessions`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn sessions() -> Result<Vec<SessionDto>, ApiError> {
    get_data("/auth/sessions").await.map(|(d, _)| d)
}

/// `DELETE /auth/sessions/{id}`.
///
/// # Errors
/// `not_found`, or any [`ApiError`].
pub async fn revoke_session(id: &str) -> Result<Revoked, ApiError> {
    send_empty(
        Method::DELETE,
        &format!("/auth/sessions/{}", super::encode(id)),
    )
    .await
}

/// `DELETE /auth/sessions`: every other session.
///
/// # Errors
/// Any [`ApiError`].
pub async fn revoke_other_sessions() -> Result<Revoked, ApiError> {
    send_empty(Method::DELETE, "/auth/sessions").await
}

/// `POST /auth/change-password` (rotates the session: the new CSRF token is kept).
///
/// # Errors
/// `invalid_credentials` or `validation_failed`.
pub async fn change_password(current: &str, new: &str) -> Result<(), ApiError> {
    let body = ChangePasswordRequest {
        current_password: current.to_owned(),
        new_password: new.to_owned(),
    };
    let CsrfToken { csrf_token } = send_json(Method::POST, "/auth/change-password", &body).await?;
    remember_csrf(&csrf_token);
    Ok(())
}

fn password_code(password: &str, code: &str) -> PasswordCodeRequest {
    PasswordCodeRequest {
        password: password.to_owned(),
        code: (!code.trim().is_empty()).then(|| code.trim().to_owned()),
    }
}

/// `POST /auth/reauth`: opens the 10-minute window for sensitive changes.
///
/// # Errors
/// `invalid_credentials`.
pub async fn reauth(password: &str, code: &str) -> Result<AuthMessage, ApiError> {
    send_json(Method::POST, "/auth/reauth", &password_code(password, code)).await
}

/// `POST /auth/change-email` (needs a recent re-authentication).
///
/// # Errors
/// `reauth_required`, `validation_failed`.
pub async fn change_email(email: &str) -> Result<AuthMessage, ApiError> {
    send_json(Method::POST, "/auth/change-email", &email_body(email)).await
}

/// `POST /auth/2fa/setup` (needs a recent re-authentication).
///
/// # Errors
/// `reauth_required`, `conflict` when 2FA is already on.
pub async fn totp_setup() -> Result<TotpSetupDto, ApiError> {
    send_empty(Method::POST, "/auth/2fa/setup").await
}

/// `POST /auth/2fa/enable` with the first code of the new key.
///
/// # Errors
/// `validation_failed` for a wrong code, `conflict`.
pub async fn totp_enable(code: &str) -> Result<RecoveryCodesDto, ApiError> {
    let body = CodeRequest {
        code: code.trim().to_owned(),
    };
    let codes: RecoveryCodesDto = send_json(Method::POST, "/auth/2fa/enable", &body).await?;
    remember_csrf(&codes.csrf_token);
    Ok(codes)
}

/// `POST /auth/2fa/disable` with the password and a code.
///
/// # Errors
/// `invalid_credentials`, `conflict`.
pub async fn totp_disable(password: &str, code: &str) -> Result<(), ApiError> {
    let CsrfToken { csrf_token } = send_json(
        Method::POST,
        "/auth/2fa/disable",
        &password_code(password, code),
    )
    .await?;
    remember_csrf(&csrf_token);
    Ok(())
}

/// `POST /auth/2fa/recovery-codes` (needs a recent re-authentication).
///
/// # Errors
/// `reauth_required`, `conflict`.
pub async fn recovery_codes() -> Result<RecoveryCodesDto, ApiError> {
    let codes: RecoveryCodesDto = send_empty(Method::POST, "/auth/2fa/recovery-codes").await?;
    remember_csrf(&codes.csrf_token);
    Ok(codes)
}

/// `DELETE /auth/account` (needs a recent re-authentication).
///
/// # Errors
/// `reauth_required`.
pub async fn delete_account() -> Result<AuthMessage, ApiError> {
    let result = send_empty(Method::DELETE, "/auth/account").await;
    if result.is_ok() {
        forget_csrf();
    }
    result
}
