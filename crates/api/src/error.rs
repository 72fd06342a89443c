//! The single `ApiError`: maps every failure to a status, a stable code and the JSON
//! envelope. Its `cause` is for the log only and never reaches the response body.

use crate::context::RequestContext;
use crate::http::Response;
use cl_api_types::{Envelope, ErrorBody, ErrorCode, FieldError, Meta};
use cl_app::accounts::{
    AdminError, AuthError, ChangeEmailError, ChangePasswordError, DeleteAccountError, FieldErrors,
    ForgotPasswordError, InternalError, LoginError, LoginTotpError, ReauthError,
    RecoveryCodesError, RegisterError, ResendError, ResetPasswordError, SessionsError,
    TotpDisableError, TotpEnableError, TotpSetupError, VerifyEmailError,
};
use cl_app::ports::{HashError, StoreError};
use serde::Serialize;

/// An error on its way to becoming a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    fields: Option<Vec<FieldError>>,
    retry_after_secs: Option<u32>,
    cause: Option<String>,
}

impl ApiError {
    /// An error with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: default_message(code).to_owned(),
            fields: None,
            retry_after_secs: None,
            cause: None,
        }
    }

    /// Replaces the public message. Only for text that is safe to show.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Attaches field-level errors (`validation_failed`).
    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = Some(fields);
        self
    }

    /// Sets `Retry-After` (`rate_limited`).
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Records the internal cause for the log; it is never sent to the client.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// An internal error whose cause is logged but hidden.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError).with_cause(cause)
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The internal cause, for logging.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Renders the envelope.
    pub fn into_response(self, ctx: &RequestContext) -> Response {
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message,
            fields: self.fields,
        };
        let envelope: Envelope<()> = Envelope {
            success: false,
            data: None,
            error: Some(body),
            meta: meta(ctx),
        };
        let mut resp = Response::json(self.code.status(), to_json(&envelope));
        if let Some(secs) = self.retry_after_secs {
            resp.headers.set("retry-after", secs.to_string());
        }
        resp
    }
}

/// The one mapping of store failures onto the API: the store's text becomes the logged cause,
/// never the body.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            // A row we cannot read, or a value we asked the store to take that it cannot
            // hold: both are our bugs, not the caller's.
            StoreError::Corrupt { .. } | StoreError::Invalid(_) => ErrorCode::InternalError,
        };
        Self::new(code).with_cause(err.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The account errors (docs/accounts.md "For the HTTP layer", point 5)
// ---------------------------------------------------------------------------------------------

fn fields_of(errors: &FieldErrors) -> Vec<FieldError> {
    errors
        .as_slice()
        .iter()
        .map(|e| FieldError {
            field: e.field.to_owned(),
            code: e.code.to_owned(),
            message: e.message.clone(),
        })
        .collect()
}

fn invalid_fields(errors: &FieldErrors) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(fields_of(errors))
}

fn one_field(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }])
}

/// `403 forbidden` with the `reauth_required` marker: re-authenticate, then retry.
pub fn reauth_required() -> ApiError {
    ApiError::new(ErrorCode::Forbidden)
        .with_message("Confirm your password first (reauth_required).")
        .with_fields(vec![FieldError {
            field: "session".to_owned(),
            code: "reauth_required".to_owned(),
            message: "Confirm your password with POST /api/v1/auth/reauth, then retry.".to_owned(),
        }])
}

/// `403 forbidden` with the `password_change_required` marker: the account signed in with a
/// one-time password and must change it (`POST /auth/change-password`) before anything else.
pub fn password_change_required() -> ApiError {
    ApiError::new(ErrorCode::Forbidden)
        .with_message("Change your one-time password first (password_change_required).")
        .with_fields(vec![FieldError {
            field: "session".to_owned(),
            code: "password_change_required".to_owned(),
            message: "Set a new password with POST /api/v1/auth/change-password.".to_owned(),
        }])
}

/// `403 forbidden` with the `two_factor_required` marker: the admin area needs 2FA on.
pub fn two_factor_required() -> ApiError {
    ApiError::new(ErrorCode::Forbidden)
        .with_message("Turn on two-factor authentication first (two_factor_required).")
        .with_fields(vec![FieldError {
            field: "session".to_owned(),
            code: "two_factor_required".to_owned(),
            message: "The admin area needs 2FA: enrol in Settings → Security.".to_owned(),
        }])
}

/// THE invalid-credentials answer: one fixed body, no extra header (no `Retry-After` from the
/// lockout), whatever the cause.
pub fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials)
}

fn hash_error(e: &HashError) -> ApiError {
    match e {
        HashError::Unavailable(_) => ApiError::new(ErrorCode::ServiceUnavailable),
        HashError::Malformed(_) => ApiError::new(ErrorCode::InternalError),
    }
    .with_cause(e.to_string())
}

/// The infrastructure variants every account error shares.
macro_rules! account_error {
    ($ty:ident, |$e:ident| { $($pat:pat => $val:expr,)* }) => {
        impl From<$ty> for ApiError {
            fn from($e: $ty) -> Self {
                #[allow(unreachable_patterns)]
                match $e {
                    $($pat => $val,)*
                    $ty::Store(s) => ApiError::from(s),
                    $ty::Hash(h) => hash_error(&h),
                    $ty::Internal(i) => ApiError::internal(i.to_string()),
                }
            }
        }
    };
}

account_error!(RegisterError, |e| {
    RegisterError::Invalid(f) => invalid_fields(&f),
    RegisterError::UsernameTaken => ApiError::new(ErrorCode::Conflict)
        .with_message("This username is taken."),
});
account_error!(ResendError, |e| { ResendError::Invalid(f) => invalid_fields(&f), });
account_error!(ForgotPasswordError, |e| { ForgotPasswordError::Invalid(f) => invalid_fields(&f), });
account_error!(VerifyEmailError, |e| {
    VerifyEmailError::InvalidToken => one_field("token", "invalid_token", "This link is invalid or has expired."),
    VerifyEmailError::EmailTaken => ApiError::new(ErrorCode::Conflict),
});
account_error!(LoginError, |e| { LoginError::InvalidCredentials => invalid_credentials(), });
account_error!(LoginTotpError, |e| {
    LoginTotpError::InvalidCode => invalid_credentials(),
    LoginTotpError::SessionInvalid => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(AuthError, |e| { AuthError::Unauthenticated => ApiError::new(ErrorCode::Unauthorized), });
account_error!(ResetPasswordError, |e| {
    ResetPasswordError::Invalid(f) => invalid_fields(&f),
    ResetPasswordError::InvalidToken => one_field("token", "invalid_token", "This link is invalid or has expired."),
});
account_error!(ChangePasswordError, |e| {
    ChangePasswordError::Invalid(f) => invalid_fields(&f),
    ChangePasswordError::WrongPassword => invalid_credentials(),
    ChangePasswordError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(ReauthError, |e| {
    ReauthError::InvalidCredentials => invalid_credentials(),
    ReauthError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(ChangeEmailError, |e| {
    ChangeEmailError::ReauthRequired => reauth_required(),
    ChangeEmailError::Invalid(f) => invalid_fields(&f),
});
account_error!(TotpSetupError, |e| {
    TotpSetupError::ReauthRequired => reauth_required(),
    TotpSetupError::AlreadyEnabled => ApiError::new(ErrorCode::Conflict)
        .with_message("Two-factor authentication is already on."),
});
account_error!(TotpEnableError, |e| {
    TotpEnableError::NotSetUp => ApiError::new(ErrorCode::Conflict)
        .with_message("Start the two-factor setup first."),
    TotpEnableError::AlreadyEnabled => ApiError::new(ErrorCode::Conflict)
        .with_message("Two-factor authentication is already on."),
    TotpEnableError::InvalidCode => one_field("code", "invalid_code", "The code does not match."),
    TotpEnableError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(TotpDisableError, |e| {
    TotpDisableError::NotEnabled => ApiError::new(ErrorCode::Conflict)
        .with_message("Two-factor authentication is off."),
    TotpDisableError::InvalidCredentials => invalid_credentials(),
    TotpDisableError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(RecoveryCodesError, |e| {
    RecoveryCodesError::ReauthRequired => reauth_required(),
    RecoveryCodesError::NotEnabled => ApiError::new(ErrorCode::Conflict)
        .with_message("Two-factor authentication is off."),
    RecoveryCodesError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});
account_error!(SessionsError, |e| { SessionsError::NotFound => ApiError::new(ErrorCode::NotFound), });
account_error!(DeleteAccountError, |e| { DeleteAccountError::ReauthRequired => reauth_required(), });
account_error!(AdminError, |e| {
    AdminError::NotAdmin => ApiError::new(ErrorCode::Forbidden),
    AdminError::NotFound => ApiError::new(ErrorCode::NotFound),
    AdminError::Invalid(f) => invalid_fields(&f),
    AdminError::SessionGone => ApiError::new(ErrorCode::Unauthorized),
});

/// Server-side cryptography or randomness failed.
impl From<InternalError> for ApiError {
    fn from(e: InternalError) -> Self {
        ApiError::internal(e.to_string())
    }
}

fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ValidationFailed => "One or more fields are invalid.",
        ErrorCode::MalformedJson => "The request body is not valid JSON.",
        ErrorCode::Unauthorized => "Authentication is required.",
        ErrorCode::InvalidCredentials => "Invalid email or password.",
        ErrorCode::CsrfFailed => "The request failed the CSRF check.",
        ErrorCode::Forbidden => "You are not allowed to do this.",
        ErrorCode::ScopeMissing => "The API key lacks the required scope.",
        ErrorCode::TierRequired => "Your plan does not include this feature.",
        ErrorCode::EmailUnverified => "Verify your email address first.",
        ErrorCode::QuotaExceeded => "Your plan's quota is used up.",
        ErrorCode::NotFound => "Not found.",
        ErrorCode::MethodNotAllowed => "Method not allowed for this resource.",
        ErrorCode::Conflict => "The request conflicts with existing data.",
        ErrorCode::PayloadTooLarge => "The request body is too large.",
        ErrorCode::UnsupportedMediaType => "The request body must be application/json.",
        ErrorCode::RateLimited => "Too many requests; retry later.",
        ErrorCode::ServiceUnavailable => "The service is temporarily unavailable.",
        ErrorCode::InternalError => "Something went wrong on our side.",
    }
}

/// The envelope's `meta` for this request.
pub fn meta(ctx: &RequestContext) -> Meta {
    Meta {
        request_id: ctx.request_id.clone(),
        timestamp: ctx.now_ms,
        next_cursor: None,
    }
}

/// A success envelope with `data`.
///
/// # Errors
/// `internal_error` when `data` does not serialize (e.g. a non-finite float from a corrupt
/// row): a 500, never a 2xx carrying an error body.
pub fn ok<T: Serialize>(ctx: &RequestContext, status: u16, data: T) -> Result<Response, ApiError> {
    envelope(ctx, status, data, None)
}

/// A success envelope of a keyset page: `meta.next_cursor` is the next page's opaque cursor,
/// `null` on the last page.
///
/// # Errors
/// As [`ok`].
pub fn ok_page<T: Serialize>(
    ctx: &RequestContext,
    data: T,
    next_cursor: Option<String>,
) -> Result<Response, ApiError> {
    envelope(ctx, 200, data, Some(next_cursor))
}

fn envelope<T: Serialize>(
    ctx: &RequestContext,
    status: u16,
    data: T,
    next_cursor: Option<Option<String>>,
) -> Result<Response, ApiError> {
    let mut meta = meta(ctx);
    meta.next_cursor = next_cursor;
    let envelope = Envelope {
        success: true,
        data: Some(data),
        error: None,
        meta,
    };
    serde_json::to_vec(&envelope)
        .map(|body| Response::json(status, body))
        .map_err(|err| ApiError::internal(format!("serialize response: {err}")))
}

/// Serializes a DTO. Our DTOs hold no maps with non-string keys and no non-finite floats
/// by construction, so failure is a bug; it still degrades to a generic 500 body, never a
/// panic.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| {
        br#"{"success":false,"data":null,"error":{"code":"internal_error","message":"Something went wrong on our side."},"meta":null}"#.to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::new(None, || "req-00000001".into(), 42, None)
    }

    #[test]
    fn an_error_renders_the_envelope_with_its_stable_code_and_status() {
        let resp = ApiError::new(ErrorCode::NotFound).into_response(&ctx());
        assert_eq!(resp.status, 404);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["error"]["code"], "not_found");
        assert_eq!(v["meta"]["request_id"], "req-00000001");
        assert_eq!(v["data"], serde_json::Value::Null);
    }

    #[test]
    fn the_cause_of_an_internal_error_never_reaches_the_body() {
        let err = ApiError::internal("D1_ERROR: no such table: users at line 3");
        assert!(err.cause().is_some());
        let resp = err.into_response(&ctx());
        let body = String::from_utf8(resp.body).unwrap();
        assert_eq!(resp.status, 500);
        assert!(!body.contains("D1_ERROR"));
        assert!(!body.contains("users"));
    }

    #[test]
    fn rate_limited_errors_carry_retry_after() {
        let resp = ApiError::new(ErrorCode::RateLimited)
            .with_retry_after(30)
            .into_response(&ctx());
        assert_eq!(resp.status, 429);
        assert_eq!(resp.headers.get("retry-after"), Some("30"));
    }
}
