//! The JSON body layer (product.md §3, §11.17): media type, size, UTF-8, nesting depth and
//! fields are checked here, once, before any handler runs; then each request DTO is converted
//! with `TryFrom` into domain values, so handlers hold no validation.
//!
//! Order: `Content-Type` must be `application/json` (415) → at most [`MAX_JSON_BODY`] bytes
//! (413) → UTF-8 and JSON syntax (`malformed_json`) → depth ≤ [`MAX_JSON_DEPTH`]
//! (`malformed_json`) → a JSON object whose every member is declared by the DTO, present when
//! required and a string (every problem reported at once as `validation_failed`) → serde
//! (`deny_unknown_fields` as a second lock) → the DTO's `TryFrom` into typed values.

use crate::error::ApiError;
use crate::http::Request;
use cl_api_types::{
    ChangePasswordRequest, CodeRequest, EmailRequest, ErrorCode, FieldError, LoginRequest,
    PasswordCodeRequest, RegisterRequest, ResetPasswordRequest, TokenRequest,
};
use cl_app::accounts::password_field_errors;
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest JSON body accepted (product.md §11.17).
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// The deepest nesting of arrays and objects accepted.
pub const MAX_JSON_DEPTH: usize = 32;
/// The longest string member accepted (passwords are capped lower by their policy).
const MAX_STRING_CHARS: usize = 1_024;
/// At most this many field errors are reported.
const MAX_FIELD_ERRORS: usize = 20;

/// A request DTO: its members, each with whether it is required. All members are strings.
pub trait JsonBody: DeserializeOwned {
    /// `(name, required)` of every accepted member.
    const FIELDS: &'static [(&'static str, bool)];
}

macro_rules! json_body {
    ($($ty:ty => [$(($name:literal, $req:literal)),*];)*) => {
        $(impl JsonBody for $ty {
            const FIELDS: &'static [(&'static str, bool)] = &[$(($name, $req)),*];
        })*
    };
}

json_body! {
    RegisterRequest => [("email", true), ("username", true), ("password", true)];
    LoginRequest => [("email", true), ("password", true)];
    CodeRequest => [("code", true)];
    TokenRequest => [("token", true)];
    EmailRequest => [("email", true)];
    ResetPasswordRequest => [("token", true), ("password", true)];
    ChangePasswordRequest => [("current_password", true), ("new_password", true)];
    PasswordCodeRequest => [("password", true), ("code", false)];
}

/// An empty body (or `{}`), for POST/DELETE routes that take no input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

impl JsonBody for Empty {
    const FIELDS: &'static [(&'static str, bool)] = &[];
}

fn field(name: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: name.chars().take(64).collect(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn invalid(fields: Vec<FieldError>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(fields)
}

/// Whether the request declares a JSON body (`application/json`, optionally `charset=utf-8`).
pub fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers.get("content-type") else {
        return false;
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| {
        let p = p.trim();
        p.is_empty() || p.eq_ignore_ascii_case("charset=utf-8")
    })
}

/// The nesting depth of a JSON text (strings skipped), without building it.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses the body into the DTO `T` with every check of this module.
///
/// # Errors
/// `unsupported_media_type`, `payload_too_large`, `malformed_json` or `validation_failed`
/// (with the list of unknown, missing and mistyped members).
pub fn json<T: JsonBody>(req: &Request) -> Result<T, ApiError> {
    // A bodiless POST of a route without input is fine without a content type.
    checked(
        req,
        T::FIELDS.is_empty(),
        T::FIELDS,
        |&(name, required)| (name, required),
        |_, v| match v {
            Value::String(s) if s.chars().count() > MAX_STRING_CHARS => {
                Some(("too_long", "This value is too long."))
            }
            Value::String(_) => None,
            _ => Some(("invalid_type", "This field must be a string.")),
        },
    )
}

/// The checks every JSON body layer shares, then serde: media type, size, UTF-8, nesting depth,
/// a JSON object, and every unknown, missing (`required`) or mistyped member reported at once
/// (at most [`MAX_FIELD_ERRORS`]). `bodiless`: an empty body reads as `{}`; `member` gives a
/// member's `(name, required)`; `issue` a present, non-null value's `(code, message)`.
pub(crate) fn checked<T: DeserializeOwned, M>(
    req: &Request,
    bodiless: bool,
    members: &[M],
    member: impl Fn(&M) -> (&'static str, bool),
    issue: impl Fn(&M, &Value) -> Option<(&'static str, &'static str)>,
) -> Result<T, ApiError> {
    if bodiless && req.body.is_empty() {
        return serde_json::from_str("{}").map_err(|e| ApiError::internal(e.to_string()));
    }
    if !is_json(req) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
    }
    if req.body.len() > MAX_JSON_BODY {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    let text = std::str::from_utf8(&req.body).map_err(|_| {
        ApiError::new(ErrorCode::MalformedJson).with_message("The request body is not UTF-8.")
    })?;
    if json_depth(text) > MAX_JSON_DEPTH {
        return Err(ApiError::new(ErrorCode::MalformedJson)
            .with_message("The request body is nested too deeply."));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|_| ApiError::new(ErrorCode::MalformedJson))?;
    let Value::Object(given) = &value else {
        return Err(invalid(vec![field(
            "(body)",
            "invalid_type",
            "The body must be a JSON object.",
        )]));
    };
    let mut errors = Vec::new();
    for name in given.keys() {
        if !members.iter().any(|m| member(m).0 == name) {
            errors.push(field(name, "unknown_field", "This field is not accepted."));
        }
    }
    for m in members {
        let (name, required) = member(m);
        match given.get(name) {
            None | Some(Value::Null) if required => {
                errors.push(field(name, "required", "This field is required."));
            }
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Some((code, message)) = issue(m, v) {
                    errors.push(field(name, code, message));
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.truncate(MAX_FIELD_ERRORS);
        return Err(invalid(errors));
    }
    serde_json::from_value(value).map_err(|e| {
        invalid(vec![field(
            "(body)",
            "invalid_format",
            "The body does not match.",
        )])
        .with_cause(format!("body: {e}"))
    })
}

/// Parses the body and converts it into typed values.
///
/// # Errors
/// As [`json`], plus the DTO's own `validation_failed` field errors.
pub fn typed<T, D>(req: &Request) -> Result<T, ApiError>
where
    D: JsonBody,
    T: TryFrom<D, Error = Vec<FieldError>>,
{
    T::try_from(json::<D>(req)?).map_err(invalid)
}

// ---------------------------------------------------------------------------------------------
// Typed inputs
// ---------------------------------------------------------------------------------------------

fn email(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Email> {
    Email::parse(raw)
        .map_err(|e| errors.push(field(name, e.code(), &e.to_string())))
        .ok()
}

/// THE password policy, reported under `name` with the same codes and messages on every route.
fn new_password(name: &'static str, raw: String, errors: &mut Vec<FieldError>) -> SecretString {
    let secret = SecretString::new(raw);
    errors.extend(
        password_field_errors(name, &secret)
            .into_iter()
            .map(|e| field(e.field, e.code, &e.message)),
    );
    secret
}

fn done<T>(errors: Vec<FieldError>, value: Option<T>) -> Result<T, Vec<FieldError>> {
    match value {
        Some(v) if errors.is_empty() => Ok(v),
        _ => Err(errors),
    }
}

/// A registration, validated.
#[derive(Debug)]
pub struct Register {
    /// Canonical email.
    pub email: Email,
    /// Username.
    pub username: Username,
    /// Password (passes the policy).
    pub password: SecretString,
}

impl TryFrom<RegisterRequest> for Register {
    type Error = Vec<FieldError>;

    fn try_from(r: RegisterRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let email = email("email", &r.email, &mut errors);
        let username = Username::parse(&r.username)
            .map_err(|e| errors.push(field("username", e.code(), &e.to_string())))
            .ok();
        let password = new_password("password", r.password, &mut errors);
        let value = email.zip(username).map(|(email, username)| Self {
            email,
            username,
            password,
        });
        done(errors, value)
    }
}

/// Login credentials. The email stays raw: a malformed one must fail exactly like a wrong
/// password (`invalid_credentials`), which the account service does.
#[derive(Debug)]
pub struct Login {
    /// As typed.
    pub email: String,
    /// As typed.
    pub password: SecretString,
}

impl TryFrom<LoginRequest> for Login {
    type Error = Vec<FieldError>;

    fn try_from(r: LoginRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            email: r.email,
            password: SecretString::new(r.password),
        })
    }
}

/// A TOTP or recovery code.
#[derive(Debug)]
pub struct Code(pub SecretString);

impl TryFrom<CodeRequest> for Code {
    type Error = Vec<FieldError>;

    fn try_from(r: CodeRequest) -> Result<Self, Self::Error> {
        Ok(Self(SecretString::new(r.code)))
    }
}

/// A one-time token.
#[derive(Debug)]
pub struct Token(pub SecretString);

impl TryFrom<TokenRequest> for Token {
    type Error = Vec<FieldError>;

    fn try_from(r: TokenRequest) -> Result<Self, Self::Error> {
        Ok(Self(SecretString::new(r.token)))
    }
}

/// A canonical email.
#[derive(Debug)]
pub struct EmailInput(pub Email);

impl TryFrom<EmailRequest> for EmailInput {
    type Error = Vec<FieldError>;

    fn try_from(r: EmailRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let value = email("email", &r.email, &mut errors).map(Self);
        done(errors, value)
    }
}

/// A reset: token plus a new password that passes the policy.
#[derive(Debug)]
pub struct ResetPassword {
    /// The one-time token.
    pub token: SecretString,
    /// The new password.
    pub password: SecretString,
}

impl TryFrom<ResetPasswordRequest> for ResetPassword {
    type Error = Vec<FieldError>;

    fn try_from(r: ResetPasswordRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let password = new_password("password", r.password, &mut errors);
        done(
            errors,
            Some(Self {
                token: SecretString::new(r.token),
                password,
            }),
        )
    }
}

/// A password change; the new password passes the policy.
#[derive(Debug)]
pub struct ChangePassword {
    /// The current password.
    pub current: SecretString,
    /// The new password.
    pub new: SecretString,
}

impl TryFrom<ChangePasswordRequest> for ChangePassword {
    type Error = Vec<FieldError>;

    fn try_from(r: ChangePasswordRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let new = new_password("new_password", r.new_password, &mut errors);
        done(
            errors,
            Some(Self {
                current: SecretString::new(r.current_password),
                new,
            }),
        )
    }
}

/// A password with an optional second-factor code.
#[derive(Debug)]
pub struct PasswordCode {
    /// The current password.
    pub password: SecretString,
    /// A TOTP or recovery code.
    pub code: Option<SecretString>,
}

impl TryFrom<PasswordCodeRequest> for PasswordCode {
    type Error = Vec<FieldError>;

    fn try_from(r: PasswordCodeRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            password: SecretString::new(r.password),
            code: r.code.map(SecretString::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn post(body: &str) -> Request {
        Request {
            method: crate::http::Method::Post,
            path: "/api/v1/auth/login".into(),
            query: String::new(),
            headers: [("content-type", "application/json")]
                .into_iter()
                .collect::<Headers>(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth(r#"{"a":"[[[[{{{"}"#), 1);
        assert_eq!(json_depth(r#"[[[]]]"#), 3);
        assert_eq!(json_depth(r#"{"a":"\"[["}"#), 1);
    }

    #[test]
    fn every_unknown_missing_and_mistyped_member_is_reported() {
        let err = json::<LoginRequest>(&post(r#"{"password":5,"is_admin":true,"tier":"pro"}"#))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let rendered = format!("{err:?}");
        for name in ["is_admin", "tier", "email", "password"] {
            assert!(rendered.contains(name), "{name}");
        }
    }

    #[test]
    fn the_media_type_is_exact() {
        let mut r = post("{}");
        r.headers
            .set("content-type", "application/json; charset=UTF-8");
        assert!(is_json(&r));
        r.headers.set("content-type", "application/json-patch+json");
        assert!(!is_json(&r));
        r.headers.set("content-type", "text/plain");
        assert!(!is_json(&r));
    }
}
