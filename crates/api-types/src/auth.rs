//! Request and response bodies of `/api/v1/auth/*` and the first admin route.
//!
//! Request DTOs deny unknown fields and hold raw strings only; the HTTP layer converts them
//! once into domain values (`Email`, `Username`, secrets). Their `Debug` never prints a
//! password, code or token.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Writes `Name { field: "[REDACTED]", … }` for DTOs that carry secrets.
macro_rules! redacted_debug {
    ($name:ident { $($field:ident),* }) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &"[REDACTED]"))*
                    .finish()
            }
        }
    };
}

/// `POST /auth/register`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email address (canonicalised server-side).
    pub email: String,
    /// 3–30 of `A–Z a–z 0–9 _`.
    pub username: String,
    /// The password, exactly as typed.
    pub password: String,
}
redacted_debug!(RegisterRequest {
    email,
    username,
    password
});

/// `POST /auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}
redacted_debug!(LoginRequest { email, password });

/// `POST /auth/login/totp`, `POST /auth/2fa/enable`: one code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// A 6-digit TOTP code, or (login only) a recovery code.
    pub code: String,
}
redacted_debug!(CodeRequest { code });

/// `POST /auth/verify-email`: the token from the link's URL fragment.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The one-time token.
    pub token: String,
}
redacted_debug!(TokenRequest { token });

/// `POST /auth/resend-verification`, `/auth/forgot-password`, `/auth/change-email`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    /// Email address.
    pub email: String,
}
redacted_debug!(EmailRequest { email });

/// `POST /auth/reset-password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The one-time token from the link's URL fragment.
    pub token: String,
    /// The new password.
    pub password: String,
}
redacted_debug!(ResetPasswordRequest { token, password });

/// `POST /auth/change-password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}
redacted_debug!(ChangePasswordRequest {
    current_password,
    new_password
});

/// `POST /auth/reauth` (`code` required when 2FA is on) and `POST /auth/2fa/disable`
/// (`code` always required).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordCodeRequest {
    /// The current password.
    pub password: String,
    /// A TOTP or recovery code.
    #[serde(default)]
    pub code: Option<String>,
}
redacted_debug!(PasswordCodeRequest { password, code });

/// A short confirmation: "check your email", "signed out", …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthMessage {
    /// Human-readable text; identical for every input of an enumeration-safe route.
    pub message: String,
}

/// What a successful password step led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoginStatus {
    /// Signed in.
    LoggedIn,
    /// 2FA is on: POST the code to `/auth/login/totp` with this pending session.
    TotpRequired,
}

/// `POST /auth/login` and `/auth/login/totp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResult {
    /// Signed in, or a TOTP code is required next.
    pub status: LoginStatus,
    /// The CSRF token of the new (or pending) session, for `X-CSRF-Token`.
    pub csrf_token: String,
}

/// `GET /auth/csrf`, and every operation that rotates the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsrfToken {
    /// The CSRF token of the cookie's session (or pre-session).
    pub csrf_token: String,
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = User))]
pub struct UserDto {
    /// User id.
    pub id: i64,
    /// Canonical email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Email verified.
    pub is_verified: bool,
    /// Admin.
    pub is_admin: bool,
    /// 2FA on.
    pub totp_enabled: bool,
    /// Signed in with a one-time password: only `change-password` (and `me`, sessions) work
    /// until it is changed.
    pub must_change_password: bool,
    /// UTC ms.
    pub created_at: i64,
}

/// The effective limits of the caller's tier; `null` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Limits))]
pub struct LimitsDto {
    /// Visible symbols (`null`: every active symbol).
    pub symbols: Option<Vec<String>>,
    /// Pattern types shown.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<cl_domain::PatternType>))]
    pub pattern_types: Vec<String>,
    /// Recent signals on the dashboard.
    pub dashboard_recent_signals: u32,
    /// Newest patterns listed (0: none).
    pub patterns_history: Option<u32>,
    /// Newest signals listed (0: none).
    pub signals_history: Option<u32>,
    /// Analytics page.
    pub analytics: bool,
    /// Risk settings.
    pub risk_settings: bool,
    /// Exchange credentials.
    pub exchange_credentials: bool,
    /// Notifications per UTC day.
    pub notifications_per_day: Option<u32>,
    /// Notification delay, ms.
    pub notification_delay_ms: i64,
    /// Per-symbol notification toggles.
    pub per_symbol_notifications: bool,
    /// Portfolios.
    pub portfolios: Option<u32>,
    /// New trades per UTC day.
    pub new_trades_per_day: Option<u32>,
    /// Backtests running at once.
    pub backtests_running: Option<u32>,
    /// Backtests per UTC day.
    pub backtests_per_day: Option<u32>,
    /// Active API keys.
    pub api_keys: Option<u32>,
}

/// `GET /auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user.
    pub user: UserDto,
    /// Effective tier: `free`, `pro` or `premium`.
    pub tier: String,
    /// Effective limits.
    pub limits: LimitsDto,
    /// Admin view-as tier in effect, if any.
    pub viewing_as: Option<String>,
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// One of the caller's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Session))]
pub struct SessionDto {
    /// Handle for `DELETE /auth/sessions/{id}` (32 hex characters).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// The session making this request.
    pub current: bool,
    /// `full` or `pending_2fa`.
    pub stage: String,
    /// UTC ms.
    pub created_at: i64,
    /// UTC ms.
    pub last_seen_at: i64,
    /// UTC ms.
    pub expires_at: i64,
    /// Client IP at creation.
    pub ip: Option<String>,
    /// User agent at creation.
    pub user_agent: Option<String>,
}

/// `DELETE /auth/sessions` and `/auth/sessions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoked {
    /// Sessions revoked.
    pub revoked: u64,
}

/// `POST /auth/2fa/setup`: shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TotpSetup))]
pub struct TotpSetupDto {
    /// `otpauth://totp/…` for the QR code.
    pub otpauth_uri: String,
    /// Base32 key for manual entry.
    pub manual_key: String,
}
redacted_debug!(TotpSetupDto {
    otpauth_uri,
    manual_key
});

/// `POST /auth/2fa/enable` and `/auth/2fa/recovery-codes`: shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RecoveryCodes))]
pub struct RecoveryCodesDto {
    /// 10 single-use recovery codes.
    pub recovery_codes: Vec<String>,
    /// The CSRF token of the rotated session.
    pub csrf_token: String,
}
redacted_debug!(RecoveryCodesDto {
    recovery_codes,
    csrf_token
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused_and_secrets_never_print() {
        let err = serde_json::from_str::<LoginRequest>(
            r#"{"email":"a@b.co","password":"Secret123","is_admin":true}"#,
        );
        assert!(err.is_err());
        let ok: LoginRequest =
            serde_json::from_str(r#"{"email":"a@b.co","password":"Secret123"}"#).unwrap();
        let printed = format!("{ok:?}");
        assert!(!printed.contains("Secret123") && !printed.contains("a@b.co"));
    }
}
