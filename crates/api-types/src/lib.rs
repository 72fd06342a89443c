//! # cl-api-types: the JSON wire contract of `/api/v1`
//!
//! Plain serde DTOs shared by the worker (which serializes them) and the Leptos frontend
//! (which deserializes them), so both sides agree by construction. No validation lives here:
//! request DTOs are converted into domain types once, at the edge, with `TryFrom`.
//!
//! Every response uses one [`Envelope`]: `{success, data, error, meta}`.

use serde::{Deserialize, Serialize};

mod admin;
mod auth;
mod billing;
mod keys;
mod market;
mod notifications;
mod notify_admin;
pub mod ops;
mod optimizer;
mod portfolio;
pub mod scheduler;
pub mod spa;
mod stats;
pub use admin::*;
pub use auth::*;
pub use billing::*;
pub use keys::*;
pub use market::*;
pub use notifications::*;
pub use notify_admin::*;
pub use optimizer::*;
pub use portfolio::*;
pub use stats::*;

/// The one response envelope (product.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// True for 2xx responses.
    pub success: bool,
    /// The payload on success, `null` on error.
    pub data: Option<T>,
    /// The error on failure, `null` on success.
    pub error: Option<ErrorBody>,
    /// Request metadata.
    pub meta: Meta,
}

/// Response metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meta {
    /// The request id, also echoed in `X-Request-ID`.
    pub request_id: String,
    /// Server time of the response, UTC ms.
    pub timestamp: i64,
    /// Keyset lists only: the opaque cursor of the next page, `null` on the last page.
    /// `None` (absent) on every other response; `Some(None)` serializes as `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub next_cursor: Option<Option<String>>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present_or_null<'de, D>(de: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(de).map(Some)
}

/// A stable, machine-readable error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable code, e.g. `validation_failed` (see [`ErrorCode`]).
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorCode))]
    pub code: String,
    /// Human-readable text; never internals.
    pub message: String,
    /// Field-level errors for `validation_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<FieldError>))]
    pub fields: Option<Vec<FieldError>>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's JSON name (dotted path for nested fields).
    pub field: String,
    /// A stable code, e.g. `out_of_range`, `too_long`, `unknown_field`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]*$"))]
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

/// The stable error codes and their HTTP statuses (product.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: one or more fields are invalid.
    ValidationFailed,
    /// 400: the body is not valid JSON (or not UTF-8).
    MalformedJson,
    /// 401: no or bad credentials.
    Unauthorized,
    /// 401: login failed (identical for every cause).
    InvalidCredentials,
    /// 403: missing or wrong CSRF token or origin.
    CsrfFailed,
    /// 403: not allowed.
    Forbidden,
    /// 403: the API key lacks a scope.
    ScopeMissing,
    /// 403: the caller's tier is too low.
    TierRequired,
    /// 403: the email is not verified.
    EmailUnverified,
    /// 403: a tier quota is used up.
    QuotaExceeded,
    /// 404: no such route or object (also for other users' objects).
    NotFound,
    /// 405: wrong method for the route.
    MethodNotAllowed,
    /// 409: conflicts with existing state.
    Conflict,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: slow down; see `Retry-After`.
    RateLimited,
    /// 503: a dependency or the configuration is not ready.
    ServiceUnavailable,
    /// 500: generic; never carries internals.
    InternalError,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 18] = [
        Self::ValidationFailed,
        Self::MalformedJson,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::CsrfFailed,
        Self::Forbidden,
        Self::ScopeMissing,
        Self::TierRequired,
        Self::EmailUnverified,
        Self::QuotaExceeded,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::ServiceUnavailable,
        Self::InternalError,
    ];

    /// The HTTP status this code is always sent with.
    pub const fn status(self) -> u16 {
        match self {
            Self::ValidationFailed | Self::MalformedJson => 400,
            Self::Unauthorized | Self::InvalidCredentials => 401,
            Self::CsrfFailed
            | Self::Forbidden
            | Self::ScopeMissing
            | Self::TierRequired
            | Self::EmailUnverified
            | Self::QuotaExceeded => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited => 429,
            Self::ServiceUnavailable => 503,
            Self::InternalError => 500,
        }
    }

    /// The wire string, e.g. `"not_found"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::MalformedJson => "malformed_json",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::CsrfFailed => "csrf_failed",
            Self::Forbidden => "forbidden",
            Self::ScopeMissing => "scope_missing",
            Self::TierRequired => "tier_required",
            Self::EmailUnverified => "email_unverified",
            Self::QuotaExceeded => "quota_exceeded",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }
}

/// Overall health of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Every check passed.
    Ok,
    /// Some non-critical check failed.
    Degraded,
    /// A critical check (database or configuration) failed.
    Down,
}

/// One dependency check. Names are fixed (`config`, `database`, `kv`, `postgres`, …); the
/// body never carries versions, hosts or configuration values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthCheck {
    /// The dependency checked.
    pub name: String,
    /// Whether it answered correctly.
    pub ok: bool,
    /// True when a failure of this check makes the service not ready.
    pub critical: bool,
}

/// `GET /api/v1/health` and `/health/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// Summary.
    pub status: HealthStatus,
    /// Each check.
    pub checks: Vec<HealthCheck>,
}

/// `GET /api/v1/health/live`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Liveness {
    /// Always `true` when the worker answers.
    pub live: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_serialize_to_their_stable_strings() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!((400..=503).contains(&code.status()));
        }
    }

    #[test]
    fn an_envelope_without_cursor_omits_it() {
        let env: Envelope<Liveness> = Envelope {
            success: true,
            data: Some(Liveness { live: true }),
            error: None,
            meta: Meta {
                request_id: "abc".into(),
                timestamp: 1,
                next_cursor: None,
            },
        };
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(
            json,
            r#"{"success":true,"data":{"live":true},"error":null,"meta":{"request_id":"abc","timestamp":1}}"#
        );
        let back: Envelope<Liveness> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, env);
    }
}
