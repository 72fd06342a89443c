//! Who may call a route (product.md §3, §11.1, §11.7, §11.10): deny by default. Every entry of
//! the route table declares an [`Access`]; [`guard`] is the ONE gate every request passes before
//! its handler runs, and [`decide`] / [`decide_key`] are its pure core.
//!
//! The guard, in order:
//! 1. A credential in the query string (`api_key`, `key`, `token`, …) → `401`: keys travel in
//!    headers only.
//! 2. `Authorization: Bearer <key>` or `X-API-Key: <key>` present → the request is
//!    key-authenticated (`crate::keys::authenticate`: 401 for any bad, revoked, expired or
//!    IP-refused key or unfit owner; 429 + `Retry-After` over the per-key / per-IP limits) and
//!    its cookies are ignored entirely (no session, so no CSRF either). The key must hold
//!    every scope of an [`Access::ApiKey`] route (`403 scope_missing`); session and admin
//!    routes refuse keys (`403 forbidden`).
//! 3. Every state-changing request (anything but GET/HEAD; the CSP sink and signed webhooks
//!    are exempt) needs BOTH an `Origin` equal to the `APP_URL` origin (or, without `Origin`,
//!    `Sec-Fetch-Site: same-origin`) AND an `X-CSRF-Token` that matches the session cookie
//!    (or the pre-session cookie of the login and register forms); else `403 csrf_failed`.
//! 4. The access level: `Public` passes; `Session` and `ApiKey` need a full session (a
//!    `pending_2fa` one is refused by `AccountService::authenticate`, so it reaches only
//!    `/auth/login/totp`, which is public and reads the cookie itself); `Admin` also needs
//!    `is_admin` (`403`).
//! 5. The account's state ([`decide_account_state`]): an account that signed in with a
//!    one-time password (`must_change_password`, set by `cryptolens create-user`) reaches only
//!    `/auth/me`, its sessions and `/auth/change-password` (`403` + `password_change_required`);
//!    admin routes need the admin to have 2FA on when the config says so, which production
//!    always does (`403` + `two_factor_required`, product.md §9).
//! 6. Every authenticated caller carries its effective tier access (the one policy of
//!    `cl_app::policy`, from the stored subscription; a session's admin view-as included):
//!    handlers read [`Caller::tier_access`] and never compare tiers themselves.

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
use cl_app::api_keys::KeyAuthenticated;
use cl_app::policy::Access as TierAccess;
use cl_app::ports::StoredUser;

pub use cl_app::ports::api_keys::{Scope, ScopeSet};

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
        /// The effective tier access (subscription, admin view-as).
        access: TierAccess,
    },
    /// A valid API key (cookies ignored).
    Key {
        /// The key, its owner, its scopes and the owner's access.
        key: Box<KeyAuthenticated>,
    },
}

impl Caller {
    /// The cookie token, if the request carried one (never for a key caller).
    pub fn cookie(&self) -> Option<&str> {
        match self {
            Self::Anonymous { cookie } => cookie.as_deref(),
            Self::User { cookie, .. } => Some(cookie),
            Self::Key { .. } => None,
        }
    }

    /// The authenticated session, if any (a key caller has none).
    pub fn auth(&self) -> Option<&Authenticated> {
        match self {
            Self::Anonymous { .. } | Self::Key { .. } => None,
            Self::User { auth, .. } => Some(auth),
        }
    }

    /// The user behind a session or a key.
    pub fn user(&self) -> Option<&StoredUser> {
        match self {
            Self::Anonymous { .. } => None,
            Self::User { auth, .. } => Some(auth.user()),
            Self::Key { key } => Some(&key.user),
        }
    }

    /// The caller's effective tier access: the ONE input of every tier rule. `None` for
    /// anonymous callers (public routes only).
    pub fn tier_access(&self) -> Option<&TierAccess> {
        match self {
            Self::Anonymous { .. } => None,
            Self::User { access, .. } => Some(access),
            Self::Key { key } => Some(&key.access),
        }
    }
}

/// The pure decision of an access level given the (optional) authenticated session.
///
/// # Errors
/// `unauthorized` without a session; `forbidden` for a non-admin on an [`Access::Admin`]
/// route.
pub fn decide(access: Access, auth: Option<&Authenticated>) -> Result<(), ApiError> {
    match (access, auth) {
        (Access::Public | Access::Signature, _) => Ok(()),
        (Access::Session | Access::ApiKey(_), Some(_)) => Ok(()),
        (Access::Admin, Some(a)) if a.user().is_admin => Ok(()),
        (Access::Admin, Some(_)) => Err(ApiError::new(ErrorCode::Forbidden)),
        (Access::Session | Access::Admin | Access::ApiKey(_), None) => {
            Err(ApiError::new(ErrorCode::Unauthorized))
        }
    }
}

/// Routes an account that must change its one-time password may still reach.
const BEFORE_PASSWORD_CHANGE: [Route; 5] = [
    Route::AuthMe,
    Route::AuthChangePassword,
    Route::AuthSessions,
    Route::AuthSessionRevoke,
    Route::AuthSessionsRevokeOthers,
];

/// Why [`decide_account_state`] refused: the refusal, its answer and its log reason in one
/// place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStateRefusal {
    /// The one-time password is unchanged.
    PasswordChangeRequired,
    /// An admin route, 2FA required by the config, and the admin has none.
    TwoFactorRequired,
}

impl AccountStateRefusal {
    /// The reason written to the security log.
    pub fn reason(self) -> &'static str {
        match self {
            Self::PasswordChangeRequired => "password_change_required",
            Self::TwoFactorRequired => "two_factor_required",
        }
    }

    /// The answer: `forbidden` with the matching detail code.
    pub fn error(self) -> ApiError {
        match self {
            Self::PasswordChangeRequired => crate::error::password_change_required(),
            Self::TwoFactorRequired => crate::error::two_factor_required(),
        }
    }
}

/// The pure decision on the signed-in account's state, after [`decide`] let it through.
///
/// # Errors
/// [`AccountStateRefusal::PasswordChangeRequired`] while the one-time password is unchanged
/// (except on [`BEFORE_PASSWORD_CHANGE`]); [`AccountStateRefusal::TwoFactorRequired`] on an
/// admin route when `admin_requires_2fa` and the admin has no 2FA.
pub fn decide_account_state(
    spec: &RouteSpec,
    user: &StoredUser,
    admin_requires_2fa: bool,
) -> Result<(), AccountStateRefusal> {
    if user.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&spec.route) {
        return Err(AccountStateRefusal::PasswordChangeRequired);
    }
    if spec.access == Access::Admin && admin_requires_2fa && !user.totp.enabled {
        return Err(AccountStateRefusal::TwoFactorRequired);
    }
    Ok(())
}

/// The pure decision of an access level for an API key holding `scopes`.
///
/// # Errors
/// `scope_missing` when an [`Access::ApiKey`] scope is missing; `forbidden` on session and
/// admin routes (keys never manage accounts, keys or admin state).
pub fn decide_key(access: Access, scopes: ScopeSet) -> Result<(), ApiError> {
    match access {
        Access::ApiKey(required) if scopes.contains_all(required) => Ok(()),
        Access::ApiKey(_) => Err(ApiError::new(ErrorCode::ScopeMissing)),
        Access::Session | Access::Admin => Err(ApiError::new(ErrorCode::Forbidden)),
        _ => Ok(()),
    }
}

/// The key presented in `Authorization: Bearer` or `X-API-Key`: `Ok(None)` when neither
/// header is there.
///
/// # Errors
/// `unauthorized` for another `Authorization` scheme, an empty value, or two different keys.
pub fn presented_key(req: &Request) -> Result<Option<String>, ApiError> {
    let bearer = match req.headers.get("authorization") {
        None => None,
        Some(value) => {
            let value = value.trim();
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") || rest.trim().is_empty() {
                return Err(ApiError::new(ErrorCode::Unauthorized));
            }
            Some(rest.trim().to_owned())
        }
    };
    let header = req.headers.get("x-api-key").map(|v| v.trim().to_owned());
    match (bearer, header) {
        (Some(a), Some(b)) if a != b => Err(ApiError::new(ErrorCode::Unauthorized)),
        (Some(k), _) | (None, Some(k)) if k.is_empty() => {
            Err(ApiError::new(ErrorCode::Unauthorized))
        }
        (Some(k), _) | (None, Some(k)) => Ok(Some(k)),
        (None, None) => Ok(None),
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
    // Every caller, before any credential is looked at: 10/s per client IP.
    crate::client_limit::check(accounts, config, spec, ctx).await?;
    if key_in_query(&req.query) {
        return Err(deny(
            "key_denied",
            "credential_in_query",
            ApiError::new(ErrorCode::Unauthorized),
        ));
    }
    let presented = match presented_key(req) {
        Ok(p) => p,
        Err(err) => return Err(deny("key_denied", "malformed_header", err)),
    };
    if let Some(presented) = presented {
        if !accounts.wired() {
            return Err(deny(
                "key_denied",
                "api_keys_unavailable",
                ApiError::new(ErrorCode::Unauthorized),
            ));
        }
        let key = accounts
            .authenticate_key(&presented, ctx, spec.path)
            .await?;
        if let Err(err) = decide_key(spec.access, key.scopes) {
            let reason = match err.code() {
                ErrorCode::ScopeMissing => "scope_missing",
                _ => "key_not_allowed",
            };
            return Err(deny("authorization_failed", reason, err));
        }
        return Ok(Caller::Key { key: Box::new(key) });
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
        (Access::Session | Access::Admin | Access::ApiKey(_), Some(c)) => {
            accounts.authenticate(c).await?
        }
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
    if let Some(a) = auth.as_ref() {
        if let Err(refusal) = decide_account_state(spec, a.user(), config.admin_requires_2fa) {
            return Err(deny(
                "authorization_failed",
                refusal.reason(),
                refusal.error(),
            ));
        }
    }
    match (auth, cookie) {
        (Some(auth), Some(cookie)) => {
            let access = accounts.session_access(&auth, ctx).await?;
            Ok(Caller::User {
                auth: Box::new(auth),
                cookie,
                access,
            })
        }
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
    fn keys_need_every_scope_and_never_reach_session_routes() {
        let both = ScopeSet::of(&[Scope::ReadCandles, Scope::ReadPatterns]);
        let one = ScopeSet::of(&[Scope::ReadCandles]);
        let chart = Access::ApiKey(&[Scope::ReadCandles, Scope::ReadPatterns]);
        assert!(decide_key(chart, both).is_ok());
        assert_eq!(
            decide_key(chart, one).unwrap_err().code(),
            ErrorCode::ScopeMissing
        );
        let all = ScopeSet::all_non_admin();
        for refused in [Access::Session, Access::Admin] {
            assert_eq!(
                decide_key(refused, all).unwrap_err().code(),
                ErrorCode::Forbidden
            );
        }
        assert!(decide_key(Access::Public, ScopeSet::EMPTY).is_ok());
    }

    fn with_headers(pairs: &[(&str, &str)]) -> Request {
        let mut req = Request::get("/api/v1/symbols");
        for (k, v) in pairs {
            req.headers.set(k, *v);
        }
        req
    }

    #[test]
    fn keys_come_from_bearer_or_x_api_key_only() {
        assert_eq!(presented_key(&with_headers(&[])).unwrap(), None);
        assert_eq!(
            presented_key(&with_headers(&[("authorization", "Bearer abc")])).unwrap(),
            Some("abc".into())
        );
        assert_eq!(
            presented_key(&with_headers(&[("x-api-key", "abc")])).unwrap(),
            Some("abc".into())
        );
        for bad in [
            vec![("authorization", "Basic abc")],
            vec![("authorization", "Bearer ")],
            vec![("x-api-key", " ")],
            vec![("authorization", "Bearer a"), ("x-api-key", "b")],
        ] {
            assert!(presented_key(&with_headers(&bad)).is_err(), "{bad:?}");
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

    fn user(must_change_password: bool, totp: bool) -> StoredUser {
        use cl_app::ports::{TotpColumns, UserId};
        use cl_auth::email::{Email, Username};
        StoredUser {
            id: UserId(7),
            email: Email::parse("ops@example.com").unwrap(),
            username: Username::parse("ops").unwrap(),
            password_hash: cl_auth::SecretString::new("x"),
            is_active: true,
            is_verified: true,
            is_admin: true,
            must_change_password,
            ntfy_topic: "cl_ops".into(),
            totp: TotpColumns {
                secret_enc: None,
                key_id: None,
                enabled: totp,
                last_step: None,
            },
            password_changed_at: None,
            created_at: 0,
            last_login_at: None,
        }
    }

    fn spec_of(route: Route) -> &'static RouteSpec {
        crate::routes::TABLE
            .iter()
            .find(|s| s.route == route)
            .unwrap()
    }

    #[test]
    fn a_one_time_password_reaches_only_me_sessions_and_change_password() {
        let fresh = user(true, true);
        for spec in crate::routes::TABLE {
            let allowed = decide_account_state(spec, &fresh, false).is_ok();
            assert_eq!(
                allowed,
                BEFORE_PASSWORD_CHANGE.contains(&spec.route),
                "{}",
                spec.path
            );
        }
        let refusal = decide_account_state(spec_of(Route::Matrix), &fresh, false).unwrap_err();
        assert_eq!(refusal, AccountStateRefusal::PasswordChangeRequired);
        assert_eq!(refusal.reason(), "password_change_required");
        assert_eq!(refusal.error().code(), ErrorCode::Forbidden);
        // Both refusals apply: the password change wins (it is what the user can act on).
        let admin_route = spec_of(Route::AdminUsers);
        assert_eq!(
            decide_account_state(admin_route, &user(true, false), true),
            Err(AccountStateRefusal::PasswordChangeRequired)
        );
        let changed = user(false, true);
        assert!(crate::routes::TABLE
            .iter()
            .all(|s| decide_account_state(s, &changed, true).is_ok()));
    }

    #[test]
    fn admin_routes_need_2fa_when_the_config_says_so() {
        let admin_route = spec_of(Route::AdminUsers);
        let no_2fa = user(false, false);
        assert!(decide_account_state(admin_route, &no_2fa, false).is_ok());
        let refusal = decide_account_state(admin_route, &no_2fa, true).unwrap_err();
        assert_eq!(refusal, AccountStateRefusal::TwoFactorRequired);
        assert_eq!(refusal.reason(), "two_factor_required");
        assert_eq!(refusal.error().code(), ErrorCode::Forbidden);
        assert!(decide_account_state(admin_route, &user(false, true), true).is_ok());
        // Non-admin routes never need it.
        assert!(decide_account_state(spec_of(Route::AuthMe), &no_2fa, true).is_ok());
    }

    #[test]
    fn credentials_in_the_query_are_spotted_by_name() {
        assert!(key_in_query("api_key=x"));
        assert!(key_in_query("a=1&TOKEN=x"));
        assert!(key_in_query("%6Bey=x"));
        assert!(!key_in_query("limit=5&cursor=abc"));
    }
}
