//! The admin client (product.md §9): users (search, verify, activate/deactivate, unlock,
//! make/revoke admin), the error tracker (ack, resolve) and the audit log. Admin routes answer
//! `forbidden` to anyone else; deactivate and the admin-rights changes need a recent
//! re-authentication (`reauth_required`).

use cl_api_types::{AdminUserDto, AuditEntryDto, ErrorGroupDto};
use gloo_net::http::Method;
use serde::de::IgnoredAny;

use super::auth::send_empty;
use super::{get_page, non_empty, query_string, ApiError, Page};

/// What an admin can do to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Mark the email verified.
    Verify,
    /// Allow logins again.
    Activate,
    /// Block logins and end the sessions.
    Deactivate,
    /// Lift the login lockout.
    Unlock,
    /// Grant admin rights.
    MakeAdmin,
    /// Revoke admin rights.
    RevokeAdmin,
}

impl UserAction {
    /// The path segment of the route.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Activate => "activate",
            Self::Deactivate => "deactivate",
            Self::Unlock => "unlock",
            Self::MakeAdmin => "make-admin",
            Self::RevokeAdmin => "revoke-admin",
        }
    }
}

/// `GET /admin/users?q&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn users(
    q: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<AdminUserDto>, ApiError> {
    get_page(&format!(
        "/admin/users{}",
        query_string(&[
            ("q", non_empty(q.trim())),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}

/// `POST /admin/users/{id}/<action>`.
///
/// # Errors
/// `reauth_required`, `conflict` (e.g. the last admin), any [`ApiError`].
pub async fn user_action(id: i64, action: UserAction) -> Result<(), ApiError> {
    send_empty::<IgnoredAny>(
        Method::POST,
        &format!("/admin/users/{id}/{}", action.segment()),
    )
    .await
    .map(|_| ())
}

/// `GET /admin/errors?status&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn errors(
    status: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<ErrorGroupDto>, ApiError> {
    get_page(&format!(
        "/admin/errors{}",
        query_string(&[
            ("status", non_empty(status)),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}

/// `POST /admin/errors/{id}/ack` (`resolve = false`) or `/resolve`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn error_action(id: i64, resolve: bool) -> Result<ErrorGroupDto, ApiError> {
    let verb = if resolve { "resolve" } else { "ack" };
    send_empty(Method::POST, &format!("/admin/errors/{id}/{verb}")).await
}

/// `GET /admin/audit?action&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn audit(
    action: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<AuditEntryDto>, ApiError> {
    get_page(&format!(
        "/admin/audit{}",
        query_string(&[
            ("action", non_empty(action.trim())),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    ))
    .await
}
