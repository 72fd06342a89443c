//! Who may call a route (product.md §3, §11.1, §11.7): deny by default. Every entry of the
//! route table declares an [`Access`]; [`guard`] is the ONE gate every request passes before
//! its handler runs, and [`decide`] is its pure core.
//!
//! The guard, in order:
//! 1. A credential in the query string (`api_key`, `key`, `token`, …) → `401`: keys travel in
//!    headers only.
//! 2. `Authorization` or `X-API-Key` present → the request is key-authenticated and its
//!    cookies are ignored. API keys do not exist yet, so every such request is `401`.
//! 3. Every state-changing request (anything but GET/HEAD; only the CSP sink is exempt) needs
//!    BOTH an `Origin` equal to the `APP_URL` origin (or, without `Origin`,
//!    `Sec-Fetch-Site: same-origin`) AND an `X-CSRF-Token` that matches the session cookie
//!    (or the pre-session cookie of the login and register forms); else `403 csrf_failed`.
//! 4. The access level: `Public` passes; `Session` needs a full session (a `pending_2fa` one
//!    is refused by `AccountService::authenticate`, so it reaches only `/auth/login/totp`,
//!    which is public and reads the cookie itself); `Admin` also needs `is_admin` (`403`);
//!    `ApiKey` is `401` until keys exist.

use crate::auth::AccountDeps;
use crate::config::Config;
use crate::context::RequestContext;
use crate::cookies;
use crate::error::ApiError;
use crate::events::{redact, AuthEvent};
use crate::http::{Method, Request};
use crate::routes::{Route, RouteSpec};
use cl_api_types::ErrorCode;
use cl_app::accounts::Authenticated;

/// An API-key scope (product.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `read:symbols`
    ReadSymbols,
    /// `read:candles`
    ReadCandles,
    /// `read:patterns`
    ReadPatterns,
    /// `read:signals`
    ReadSignals,
    /// `read:matrix`
    ReadMatrix,
    /// `read:portfolio`
    ReadPortfolio,
    /// `write:portfolio`
    WritePortfolio,
    /// `write:backtest`
    WriteBacktest,
    /// `write:scan`
    WriteScan,
    /// `write:fetch`
    WriteFetch,
    /// `admin:scheduler` (admin keys only)
    AdminScheduler,
    /// `admin:metrics` (admin keys only)
    AdminMetrics,
}

impl Scope {
    /// The wire name, e.g. `read:candles`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadSymbols => "read:symbols",
            Self::ReadCandles => "read:candles",
            Self::ReadPatterns => "read:patterns",
            Self::ReadSignals => "read:signals",
            Self::ReadMatrix => "read:matrix",
            Self::ReadPortfolio => "read:portfolio",
            Self::WritePortfolio => "write:portfolio",
            Self::WriteBacktest => "write:backtest",
            Self::WriteScan => "write:scan",
            Self::WriteFetch => "write:fetch",
            Self::AdminScheduler => "admin:scheduler",
            Self::AdminMetrics => "admin:metrics",
        }
    }
}

/// The access level a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in user (session cookie; CSRF on state changes).
    Session,
    /// A session, or an API key holding every listed scope.
    ApiKey(&'static [Scope]),
    /// An admin session.
    Admin,
    /// A provider webhook: no session and no CSRF (product.md §11.7); the handler verifies the
    /// provider's signature over the raw body before anything else (§11.20).
    Signature,
}

impl Access {
    /// Whether the route needs credentials (drives the OpenAPI `security` and 401 entries).
    pub const fn needs_credentials(self) -> bool {
        !matches!(self, Self::Public | Self::Signature)
    }
}

/// Who is calling, as established by [`guard`].
#[derive(Debug, Clone)]
pub enum Caller {
    /// No authenticated session (public routes). Carries the raw cookie token, if any: a
    /// pre-session, a pending 2FA login or a stale session, for the routes that need it.
    Anonymous {
        /// The `__Host-cl_session` value.
        cookie: Option<String>,
    },
    /// A full session of an active user.
    User {
        /// The authenticated session.
        auth: Box<Authenticated>,
        /// The cookie token (re-issued with the refreshed `Max-Age`).
        cookie: String,
    },
}

impl Caller {
    /// The cookie token, if the request carried one.
    pub fn cookie(&self) -> Option<&str> {
        match self {
            Self::Anonymous { cookie } => cookie.as_deref(),
            Self::User { cookie, .. } => Some(cookie),
        }
    }

    /// The authenticated session, if any.
    pub fn auth(&self) -> Option<&Authenticated> {
        match self {
            Self::Anonymous { .. } => None,
            Self::User { auth, .. } => Some(auth),
        }
    }
}

/// The pure decision of an access level given the (optional) authenticated session.
///
/// # Errors
/// `unauthorized` without a session (and always for [`Access::ApiKey`] until keys exist);
/// `forbidden` for a non-admin on an [`Access::Admin`] route.
pub fn decide(access: Access, auth: Option<&Authenticated>) -> Result<(), ApiError> {
    match (access, auth) {
        (Access::Public | Access::Signature, _) => Ok(()),
        (Access::Session, Some(_)) => Ok(()),
        (Access::Admin, Some(a)) if a.user().is_admin => Ok(()),
        (Access::Admin, Some(_)) => Err(ApiError::new(ErrorCode::Forbidden)),
        (Access::Session | Access::Admin, None) | (Access::ApiKey(_), _) => {
            Err(ApiError::new(ErrorCode::Unauthorized))
        }
    }
}

/// Whether the request changes state (anything but GET and HEAD).
pub fn is_state_changing(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head)
}

/// The origin (`scheme://host[:port]`) of a URL, lowercased.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!scheme.is_empty() && !host.is_empty())
        .then(|| format!("{}://{}", scheme, host).to_ascii_lowercase())
}

/// The Origin / `Sec-Fetch-Site` half of the CSRF check.
pub fn same_origin(config: &Config, req: &Request) -> bool {
    let Some(expected) = origin_of(&config.app_url) else {
        return false;
    };
    match req.headers.get("origin") {
        Some(origin) => origin.trim().eq_ignore_ascii_case(&expected),
        None => req
            .headers
            .get("sec-fetch-site")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("same-origin")),
    }
}

/// Whether the query string carries something that looks like a credential.
pub fn key_in_query(query: &str) -> bool {
    query.split('&').filter(|p| !p.is_empty()).any(|pair| {
        redact::is_secret_query_name(&redact::decode_name(pair.split('=').next().unwrap_or("")))
    })
}

/// THE gate: runs the checks of the module documentation and returns the caller.
///
/// # Errors
/// `unauthorized`, `csrf_failed`, `forbidden`, or `service_unavailable` when the accounts
/// are not wired; each failure is also logged as an event.
pub async fn guard<A: AccountDeps>(
    accounts: &A,
    config: &Config,
    spec: &RouteSpec,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Caller, ApiError> {
    let deny = |event: &'static str, reason: &'static str, err: ApiError| {
        let line = AuthEvent {
            ts: ctx.now_ms,
            level: "warn",
            category: "auth",
            event,
            request_id: &ctx.request_id,
            route: spec.path,
            user_id: None,
            reason: Some(reason),
        };
        accounts.emit(&line);
        err
    };
    if key_in_query(&req.query) {
        return Err(deny(
            "key_denied",
            "credential_in_query",
            ApiError::new(ErrorCode::Unauthorized),
        ));
    }
    if req.headers.get("authorization").is_some() || req.headers.get("x-api-key").is_some() {
        return Err(deny(
            "key_denied",
            "api_keys_unavailable",
            ApiError::new(ErrorCode::Unauthorized),
        ));
    }
    let needs_accounts = spec.access != Access::Public || spec.route.is_account_route();
    if needs_accounts && !accounts.wired() {
        return Err(ApiError::new(ErrorCode::ServiceUnavailable)
            .with_cause("account dependencies are not wired"));
    }
    let cookie = cookies::session_cookie(req).map(str::to_owned);
    // Signed webhooks carry no cookie and no token; their signature is the credential.
    let csrf_exempt = spec.route == Route::CspReport || spec.access == Access::Signature;
    if is_state_changing(req.method) && !csrf_exempt {
        let token_ok = match (cookie.as_deref(), req.headers.get("x-csrf-token")) {
            (Some(c), Some(t)) => accounts.verify_csrf(c, t.trim()),
            _ => false,
        };
        if !token_ok {
            return Err(deny(
                "csrf_failed",
                "token",
                ApiError::new(ErrorCode::CsrfFailed),
            ));
        }
        if !same_origin(config, req) {
            return Err(deny(
                "csrf_failed",
                "origin",
                ApiError::new(ErrorCode::CsrfFailed),
            ));
        }
    }
    if matches!(spec.access, Access::Public | Access::Signature) {
        return Ok(Caller::Anonymous { cookie });
    }
    let auth = match (&spec.access, cookie.as_deref()) {
        (Access::Session | Access::Admin, Some(c)) => accounts.authenticate(c).await?,
        _ => None,
    };
    if let Err(err) = decide(spec.access, auth.as_ref()) {
        let (event, reason) = match err.code() {
            ErrorCode::Forbidden => ("authorization_failed", "not_admin"),
            _ => ("authorization_failed", "no_session"),
        };
        let err = deny(event, reason, err);
        return Err(err);
    }
    match (auth, cookie) {
        (Some(auth), Some(cookie)) => Ok(Caller::User {
            auth: Box::new(auth),
            cookie,
        }),
        _ => Err(ApiError::new(ErrorCode::Unauthorized)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_session_only_public_routes_pass() {
        assert!(decide(Access::Public, None).is_ok());
        for denied in [
            Access::Session,
            Access::ApiKey(&[Scope::ReadCandles, Scope::ReadPatterns]),
            Access::Admin,
        ] {
            let err = decide(denied, None).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Unauthorized);
        }
    }

    #[test]
    fn scopes_have_their_spec_names() {
        assert_eq!(Scope::ReadMatrix.as_str(), "read:matrix");
        assert_eq!(Scope::AdminMetrics.as_str(), "admin:metrics");
    }

    #[test]
    fn origins_compare_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("https://App.example/x?y").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("http://localhost:8787").as_deref(),
            Some("http://localhost:8787")
        );
        assert_eq!(origin_of(""), None);
    }

    #[test]
    fn credentials_in_the_query_are_spotted_by_name() {
        assert!(key_in_query("api_key=x"));
        assert!(key_in_query("a=1&TOKEN=x"));
        assert!(key_in_query("%6Bey=x"));
        assert!(!key_in_query("limit=5&cursor=abc"));
    }
}
