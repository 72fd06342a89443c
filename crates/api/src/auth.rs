//! The account routes (`/auth/*`, the first admin route and the CSP sink), thin over
//! `cl_app::accounts::AccountService`.
//!
//! Handlers only: parse the body ([`crate::body`]) into typed values, apply the KV rate
//! limits of product.md §11.13 (failing closed), call the service, set or clear the session
//! cookie, log the security event, and map the typed error through the ONE mapping in
//! [`crate::error`]. The access gate ([`crate::access::guard`]) has already run.
//!
//! The dependencies come as one bundle, [`Accounts`], behind the [`AccountDeps`] trait so that
//! a worker without account ports can pass [`NoAccounts`] (every account route → 503).

use crate::access::Caller;
use crate::body::{
    self, ChangePassword, Code, EmailInput, Empty, Login, PasswordCode, Register, ResetPassword,
    Token,
};
use crate::context::RequestContext;
use crate::cookies;
use crate::error::{self, ApiError};
use crate::events::{AuthEvent, EventSink};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, NoParams, SessionIdParams};
use crate::routes::{Matched, PathParams, Route};
use cl_api_types::{
    AuthMessage, ChangePasswordRequest, CodeRequest, CsrfToken, EmailRequest, ErrorCode,
    FieldError, LimitsDto, LoginRequest, LoginResult, LoginStatus, Me, PasswordCodeRequest,
    RecoveryCodesDto, RegisterRequest, ResetPasswordRequest, Revoked, SessionDto, TokenRequest,
    TotpSetupDto, UserDto,
};
use cl_app::accounts::{
    AccountService, AuthKeys, Authenticated, ClientInfo, IssuedSession, LoginError, LoginOutcome,
};
use cl_app::policy::{Access as TierAccess, HistoryAccess, Quota, SymbolAccess};
use cl_app::ports::{Clock, Mailer, PasswordHasher, RateLimitStore, UserId};
use cl_auth::email::Email;
use cl_auth::lockout::account_key;
use cl_auth::net::{parse_client_ip, rate_limit_subject};
use cl_auth::ratelimit::{rules, Decision, Rule};
use cl_auth::tokens::{OneTimeToken, SessionToken};
use cl_auth::SecretString;

/// The one answer of register, resend and forgot password (product.md §11.5).
pub const CHECK_YOUR_EMAIL: &str =
    "If the address can receive mail, a message is on its way. Check your email.";
/// `Retry-After` when the limiter itself fails (auth routes fail closed).
const LIMITER_DOWN_RETRY_SECS: u32 = 60;
/// Largest CSP report accepted.
pub const MAX_CSP_REPORT: usize = 8 * 1024;

/// What the HTTP layer needs from the account side; implemented by [`Accounts`] and
/// [`NoAccounts`].
#[allow(async_fn_in_trait)]
pub trait AccountDeps {
    /// Whether account routes can be served at all.
    fn wired(&self) -> bool;

    /// Writes one security event.
    fn emit(&self, event: &AuthEvent<'_>);

    /// Resolves a session cookie; `Ok(None)` when it is no usable full session.
    ///
    /// # Errors
    /// Store or server failures (→ 503/500).
    async fn authenticate(&self, token: &str) -> Result<Option<Authenticated>, ApiError>;

    /// Checks `X-CSRF-Token` against the cookie token (constant time).
    fn verify_csrf(&self, cookie: &str, presented: &str) -> bool;

    /// Authenticates a presented API key, applies its rate limits and counts its use
    /// (`crate::keys::authenticate`).
    ///
    /// # Errors
    /// `unauthorized`, `rate_limited`, store failures.
    async fn authenticate_key(
        &self,
        presented: &str,
        ctx: &RequestContext,
        route: &str,
    ) -> Result<cl_app::api_keys::KeyAuthenticated, ApiError>;

    /// Counts one request of `subject` against the per-IP API limit (`crate::client_limit`).
    ///
    /// # Errors
    /// The limiter's failure.
    async fn hit_ip_limit(
        &self,
        _subject: &str,
    ) -> Result<cl_auth::ratelimit::Decision, cl_app::ports::StoreError> {
        Ok(cl_auth::ratelimit::Decision::Allowed { remaining: 0 })
    }

    /// The session's effective tier access (subscription and view-as; `crate::keys`).
    ///
    /// # Errors
    /// Store failures.
    async fn session_access(
        &self,
        auth: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<TierAccess, ApiError>;

    /// Serves an account route after the gate.
    ///
    /// # Errors
    /// The route's mapped errors.
    async fn serve(
        &self,
        matched: &Matched,
        caller: &Caller,
        req: &Request,
        ctx: &RequestContext,
    ) -> Result<Response, ApiError>;
}

/// No account dependencies: every account route answers 503.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccounts;

impl AccountDeps for NoAccounts {
    fn wired(&self) -> bool {
        false
    }

    fn emit(&self, _: &AuthEvent<'_>) {}

    async fn authenticate(&self, _: &str) -> Result<Option<Authenticated>, ApiError> {
        Ok(None)
    }

    fn verify_csrf(&self, _: &str, _: &str) -> bool {
        false
    }

    async fn authenticate_key(
        &self,
        _: &str,
        _: &RequestContext,
        _: &str,
    ) -> Result<cl_app::api_keys::KeyAuthenticated, ApiError> {
        Err(ApiError::new(ErrorCode::Unauthorized))
    }

    async fn session_access(
        &self,
        auth: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<TierAccess, ApiError> {
        Ok(auth.access(None, ctx.now_ms))
    }

    async fn serve(
        &self,
        _: &Matched,
        _: &Caller,
        _: &Request,
        _: &RequestContext,
    ) -> Result<Response, ApiError> {
        Err(ApiError::new(ErrorCode::ServiceUnavailable).with_cause("accounts are not wired"))
    }
}

/// The account dependencies of one request, borrowed.
pub struct Accounts<'a, S, M, H, C, L, E> {
    /// The account store ports.
    pub store: &'a S,
    /// Outgoing mail.
    pub mailer: &'a M,
    /// Password hashing.
    pub hasher: &'a H,
    /// The clock of the account flows (session expiry, cookie `Max-Age`).
    pub clock: &'a C,
    /// Rate-limit counters.
    pub limits: &'a L,
    /// The account secrets.
    pub keys: &'a AuthKeys,
    /// Keys per-account rate-limit subjects and lockout lookups: the SAME pepper as the
    /// lockout key in `keys`, so the subject never holds an email.
    pub account_pepper: &'a SecretString,
    /// Security events.
    pub events: &'a E,
    /// The payment provider and billing config (`None`: the payment routes answer 503).
    pub payments: Option<&'a crate::payments::Payments<'a>>,
    /// The portfolio and exchange-credential routes (`None`: they answer 503).
    pub portfolio: Option<&'a dyn crate::portfolio::FamilyRoutes>,
}

impl<S, M, H, C, L, E> std::fmt::Debug for Accounts<'_, S, M, H, C, L, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

/// One request's view: what every handler needs.
struct Call<'r> {
    req: &'r Request,
    path: &'r PathParams,
    ctx: &'r RequestContext,
    route: &'static str,
    caller: &'r Caller,
    /// The rate-limit subject of the client IP (`CF-Connecting-IP` only, IPv6 per /64).
    ip: String,
}

impl Call<'_> {
    fn user(&self) -> Result<&Authenticated, ApiError> {
        self.caller
            .auth()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
    }

    fn client(&self) -> ClientInfo {
        ClientInfo {
            ip: self.ctx.client_ip.clone(),
            user_agent: self.req.headers.get("user-agent").map(str::to_owned),
        }
    }
}

fn message(ctx: &RequestContext, status: u16, text: &str) -> Result<Response, ApiError> {
    error::ok(
        ctx,
        status,
        AuthMessage {
            message: text.to_owned(),
        },
    )
}

fn quota(q: Quota) -> Option<u32> {
    match q {
        Quota::Limited(n) => Some(n),
        Quota::Unlimited => None,
    }
}

fn history(h: HistoryAccess) -> Option<u32> {
    match h {
        HistoryAccess::None => Some(0),
        HistoryAccess::Newest(n) => Some(n),
        HistoryAccess::Unlimited => None,
    }
}

fn limits_dto(a: &TierAccess) -> LimitsDto {
    let l = &a.limits;
    LimitsDto {
        symbols: match l.symbols {
            SymbolAccess::Only(list) => Some(list.iter().map(|s| (*s).to_owned()).collect()),
            SymbolAccess::All => None,
        },
        pattern_types: l
            .pattern_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        dashboard_recent_signals: l.dashboard_recent_signals,
        patterns_history: history(l.patterns_history),
        signals_history: history(l.signals_history),
        analytics: l.analytics,
        risk_settings: l.risk_settings,
        exchange_credentials: l.exchange_credentials,
        notifications_per_day: quota(l.notifications_per_day),
        notification_delay_ms: l.notification_delay_ms,
        per_symbol_notifications: l.per_symbol_notifications,
        portfolios: quota(l.portfolios),
        new_trades_per_day: quota(l.new_trades_per_day),
        backtests_running: quota(l.backtests_running),
        backtests_per_day: quota(l.backtests_per_day),
        api_keys: quota(l.api_keys),
    }
}

impl<'a, S, M, H, C, L, E> Accounts<'a, S, M, H, C, L, E>
where
    S: crate::keys::KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    fn service(&self) -> AccountService<'a, S, M, H, C> {
        AccountService::new(self.store, self.mailer, self.hasher, self.clock, self.keys)
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Logs `mail_failed` for `op` when the operation's mail could not be sent. The response
    /// stays the same either way (no enumeration through mail errors).
    fn note_mail_failure<F>(
        &self,
        call: &Call<'_>,
        failure: Option<&F>,
        user: Option<UserId>,
        op: &'static str,
    ) {
        if failure.is_some() {
            self.event(call, "error", "mail_failed", user, Some(op));
        }
    }

    fn event(
        &self,
        call: &Call<'_>,
        level: &'static str,
        event: &'static str,
        user: Option<UserId>,
        reason: Option<&'static str>,
    ) {
        self.emit(&AuthEvent {
            ts: call.ctx.now_ms,
            level,
            category: "auth",
            event,
            request_id: &call.ctx.request_id,
            route: call.route,
            user_id: user.map(|u| u.0),
            reason,
        });
    }

    /// The per-account subject: HMAC(pepper, canonical email), never the address itself.
    fn account_subject(&self, email: &str) -> Option<String> {
        let email = Email::parse(email).ok()?;
        account_key(self.account_pepper, &email).ok()
    }

    /// Counts the request under every rule, in order; the first refusal answers 429 with
    /// `Retry-After`. A limiter failure fails closed (429).
    async fn limit(&self, call: &Call<'_>, checks: &[(Rule, &str)]) -> Result<(), ApiError> {
        let now = self.now();
        for (rule, subject) in checks {
            match self.limits.hit(rule, subject, now).await {
                Ok(Decision::Allowed { .. }) => {}
                Ok(Decision::Limited { retry_after_secs }) => {
                    self.event(call, "warn", "rate_limited", None, Some(rule.scope));
                    return Err(
                        ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs)
                    );
                }
                Err(e) => {
                    self.event(call, "error", "rate_limiter_failed", None, Some(rule.scope));
                    return Err(ApiError::new(ErrorCode::RateLimited)
                        .with_retry_after(LIMITER_DOWN_RETRY_SECS)
                        .with_cause(format!("rate limiter ({}): {e}", rule.scope)));
                }
            }
        }
        Ok(())
    }

    /// Sets the session cookie of an issued session.
    fn with_session(&self, mut resp: Response, issued: &IssuedSession) -> Response {
        cookies::set_session(
            &mut resp.headers,
            issued.token.expose_secret(),
            cookies::max_age(issued.expires_at, self.now()),
        );
        resp
    }

    fn rotated(&self, call: &Call<'_>, issued: &IssuedSession) -> Result<Response, ApiError> {
        let resp = error::ok(
            call.ctx,
            200,
            CsrfToken {
                csrf_token: issued.csrf_token.expose_secret().to_owned(),
            },
        )?;
        Ok(self.with_session(resp, issued))
    }

    // ----- public routes -------------------------------------------------------------

    async fn csrf(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        let svc = self.service();
        if let Some(cookie) = call.caller.cookie() {
            if let Some(auth) = self.authenticate(cookie).await? {
                let token = svc.csrf_token(&auth)?;
                return error::ok(
                    call.ctx,
                    200,
                    CsrfToken {
                        csrf_token: token.expose_secret().to_owned(),
                    },
                );
            }
        }
        let (token, csrf) = svc.pre_session()?;
        let mut resp = error::ok(
            call.ctx,
            200,
            CsrfToken {
                csrf_token: csrf.expose_secret().to_owned(),
            },
        )?;
        cookies::set_session(
            &mut resp.headers,
            token.expose_secret(),
            cookies::PRE_SESSION_SECS,
        );
        Ok(resp)
    }

    async fn register(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: Register = body::typed::<Register, RegisterRequest>(call.req)?;
        self.limit(call, &[(rules::REGISTER_PER_IP, &call.ip)])
            .await?;
        let outcome = self
            .service()
            .register(
                input.email.as_str(),
                input.username.as_str(),
                &input.password,
            )
            .await?;
        self.note_mail_failure(call, outcome.mail_failure.as_ref(), None, "register");
        self.event(call, "info", "register_requested", None, None);
        message(call.ctx, 202, CHECK_YOUR_EMAIL)
    }

    /// The address of an email-only request (resend, forgot) once its per-IP and per-account
    /// limits allow it.
    async fn limited_email(
        &self,
        call: &Call<'_>,
        per_ip: Rule,
        per_account: Rule,
    ) -> Result<Email, ApiError> {
        let EmailInput(email) = body::typed::<EmailInput, EmailRequest>(call.req)?;
        let acct = self.account_subject(email.as_str()).unwrap_or_default();
        self.limit(call, &[(per_ip, &call.ip), (per_account, &acct)])
            .await?;
        Ok(email)
    }

    async fn resend(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let email = self
            .limited_email(call, rules::RESEND_PER_IP, rules::RESEND_PER_ACCOUNT)
            .await?;
        let outcome = self.service().resend_verification(email.as_str()).await?;
        self.note_mail_failure(call, outcome.mail_failure.as_ref(), None, "resend");
        message(call.ctx, 202, CHECK_YOUR_EMAIL)
    }

    async fn forgot(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let email = self
            .limited_email(call, rules::FORGOT_PER_IP, rules::FORGOT_PER_ACCOUNT)
            .await?;
        let outcome = self.service().forgot_password(email.as_str()).await?;
        self.note_mail_failure(call, outcome.mail_failure.as_ref(), None, "forgot");
        self.event(call, "info", "password_reset_requested", None, None);
        message(call.ctx, 202, CHECK_YOUR_EMAIL)
    }

    async fn reset(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: ResetPassword = body::typed::<ResetPassword, ResetPasswordRequest>(call.req)?;
        // The token stands for the account: it is the only account handle this route has.
        let acct = OneTimeToken::parse(input.token.expose_secret())
            .map(|t| t.hash().to_hex())
            .unwrap_or_else(|_| "malformed".to_owned());
        self.limit(
            call,
            &[
                (rules::RESET_PER_IP, &call.ip),
                (rules::RESET_PER_ACCOUNT, &acct),
            ],
        )
        .await?;
        let user = self
            .service()
            .reset_password(input.token.expose_secret(), &input.password)
            .await
            .inspect_err(|_| self.event(call, "warn", "password_reset_failed", None, None))?;
        self.event(call, "info", "password_reset", Some(user), None);
        let mut resp = message(
            call.ctx,
            200,
            "Your password was changed. Sign in with the new one.",
        )?;
        cookies::clear_session(&mut resp.headers);
        Ok(resp)
    }

    async fn verify_email(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let Token(token) = body::typed::<Token, TokenRequest>(call.req)?;
        self.service()
            .verify_email(token.expose_secret())
            .await
            .inspect_err(|_| self.event(call, "warn", "email_verification_failed", None, None))?;
        self.event(call, "info", "email_verified", None, None);
        message(call.ctx, 200, "Your email address is confirmed.")
    }

    async fn login(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: Login = body::typed::<Login, LoginRequest>(call.req)?;
        let acct = self.account_subject(&input.email);
        let mut checks = vec![
            (rules::LOGIN_PER_IP_MINUTE, call.ip.as_str()),
            (rules::LOGIN_PER_IP_HOUR, call.ip.as_str()),
        ];
        if let Some(acct) = acct.as_deref() {
            checks.push((rules::LOGIN_PER_ACCOUNT_MINUTE, acct));
            checks.push((rules::LOGIN_PER_ACCOUNT_HOUR, acct));
        }
        self.limit(call, &checks).await?;
        let result = self
            .service()
            .login(
                &input.email,
                &input.password,
                &call.client(),
                call.caller.cookie(),
            )
            .await;
        match result {
            Ok(outcome) => {
                let (status, event, s) = match outcome {
                    LoginOutcome::LoggedIn(s) => (LoginStatus::LoggedIn, "login_succeeded", s),
                    LoginOutcome::TotpRequired(s) => {
                        (LoginStatus::TotpRequired, "login_totp_required", s)
                    }
                };
                self.event(call, "info", event, Some(s.user_id), None);
                let resp = error::ok(
                    call.ctx,
                    200,
                    LoginResult {
                        status,
                        csrf_token: s.csrf_token.expose_secret().to_owned(),
                    },
                )?;
                Ok(self.with_session(resp, &s))
            }
            Err(e) => {
                if matches!(e, LoginError::InvalidCredentials) {
                    let locked = self.is_locked(acct.as_deref()).await;
                    self.event(call, "warn", "login_failed", None, None);
                    if locked {
                        self.event(call, "warn", "account_locked", None, None);
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Whether the account behind `acct` is locked now (log only; errors read as `false`).
    async fn is_locked(&self, acct: Option<&str>) -> bool {
        let Some(acct) = acct else { return false };
        match self.store.lockout_state(acct).await {
            Ok(Some(state)) => state.locked_until.is_some_and(|t| t > self.now()),
            _ => false,
        }
    }

    async fn login_totp(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let Code(code) = body::typed::<Code, CodeRequest>(call.req)?;
        let Some(pending) = call
            .caller
            .cookie()
            .and_then(|c| SessionToken::parse(c).ok())
        else {
            self.event(
                call,
                "warn",
                "login_totp_failed",
                None,
                Some("no_pending_login"),
            );
            return Err(ApiError::new(ErrorCode::Unauthorized));
        };
        let subject = pending.hash().to_hex();
        self.limit(call, &[(rules::TOTP_PER_PENDING_LOGIN, &subject)])
            .await?;
        match self
            .service()
            .login_totp(pending.expose_secret(), &code)
            .await
        {
            Ok(s) => {
                self.event(
                    call,
                    "info",
                    "login_succeeded",
                    Some(s.user_id),
                    Some("totp"),
                );
                let resp = error::ok(
                    call.ctx,
                    200,
                    LoginResult {
                        status: LoginStatus::LoggedIn,
                        csrf_token: s.csrf_token.expose_secret().to_owned(),
                    },
                )?;
                Ok(self.with_session(resp, &s))
            }
            Err(e) => {
                self.event(call, "warn", "login_totp_failed", None, None);
                Err(e.into())
            }
        }
    }

    async fn logout(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        body::json::<Empty>(call.req)?;
        if let Some(cookie) = call.caller.cookie() {
            self.service().logout(cookie).await?;
        }
        self.event(call, "info", "logout", None, None);
        let mut resp = message(call.ctx, 200, "Signed out.")?;
        cookies::clear_session(&mut resp.headers);
        Ok(resp)
    }

    // ----- session routes ------------------------------------------------------------

    async fn me(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        let auth = call.user()?;
        let user = auth.user();
        // The gate computed it from the stored subscription and the session's view-as.
        let access = call
            .caller
            .tier_access()
            .copied()
            .unwrap_or_else(|| auth.access(None, self.now()));
        let csrf = self.service().csrf_token(auth)?;
        error::ok(
            call.ctx,
            200,
            Me {
                user: UserDto {
                    id: user.id.0,
                    email: user.email.as_str().to_owned(),
                    username: user.username.as_str().to_owned(),
                    is_verified: user.is_verified,
                    is_admin: user.is_admin,
                    totp_enabled: user.totp.enabled,
                    must_change_password: user.must_change_password,
                    created_at: user.created_at,
                },
                tier: access.tier.as_str().to_owned(),
                limits: limits_dto(&access),
                viewing_as: access.viewing_as.map(|t| t.as_str().to_owned()),
                csrf_token: csrf.expose_secret().to_owned(),
            },
        )
    }

    async fn sessions(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        let list = self.service().list_sessions(call.user()?).await?;
        let dto: Vec<SessionDto> = list
            .into_iter()
            .map(|s| SessionDto {
                id: s.id.as_str().to_owned(),
                current: s.current,
                stage: s.stage.as_str().to_owned(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect();
        error::ok(call.ctx, 200, dto)
    }

    async fn revoke_others(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        body::json::<Empty>(call.req)?;
        let auth = call.user()?;
        let revoked = self.service().revoke_other_sessions(auth).await?;
        self.event(call, "info", "sessions_revoked", Some(auth.user().id), None);
        error::ok(call.ctx, 200, Revoked { revoked })
    }

    async fn revoke_one(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let params = SessionIdParams::extract(call.req, call.path)?;
        body::json::<Empty>(call.req)?;
        let auth = call.user()?;
        let current = self
            .service()
            .revoke_session(auth, &params.handle)
            .await
            .inspect_err(|_| {
                self.event(
                    call,
                    "warn",
                    "authorization_failed",
                    Some(auth.user().id),
                    Some("session_not_found"),
                );
            })?;
        self.event(call, "info", "session_revoked", Some(auth.user().id), None);
        let mut resp = error::ok(call.ctx, 200, Revoked { revoked: 1 })?;
        if current {
            cookies::clear_session(&mut resp.headers);
        }
        Ok(resp)
    }

    async fn change_password(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: ChangePassword = body::typed::<ChangePassword, ChangePasswordRequest>(call.req)?;
        let auth = call.user()?;
        let issued = self
            .service()
            .change_password(auth, &input.current, &input.new)
            .await
            .inspect_err(|_| {
                self.event(
                    call,
                    "warn",
                    "password_change_failed",
                    Some(auth.user().id),
                    None,
                )
            })?;
        self.event(call, "info", "password_changed", Some(auth.user().id), None);
        self.rotated(call, &issued)
    }

    async fn change_email(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let EmailInput(email) = body::typed::<EmailInput, EmailRequest>(call.req)?;
        let auth = call.user()?;
        let outcome = self.service().change_email(auth, email.as_str()).await?;
        self.note_mail_failure(
            call,
            outcome.mail_failure.as_ref(),
            Some(auth.user().id),
            "change_email",
        );
        self.event(
            call,
            "info",
            "email_change_requested",
            Some(auth.user().id),
            None,
        );
        message(call.ctx, 202, CHECK_YOUR_EMAIL)
    }

    async fn reauth(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: PasswordCode = body::typed::<PasswordCode, PasswordCodeRequest>(call.req)?;
        let auth = call.user()?;
        self.service()
            .reauthenticate(auth, &input.password, input.code.as_ref())
            .await
            .inspect_err(|_| {
                self.event(call, "warn", "reauth_failed", Some(auth.user().id), None)
            })?;
        self.event(call, "info", "reauth_succeeded", Some(auth.user().id), None);
        message(call.ctx, 200, "Confirmed for the next 10 minutes.")
    }

    async fn totp_setup(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        body::json::<Empty>(call.req)?;
        let auth = call.user()?;
        let setup = self.service().setup_totp(auth).await?;
        self.event(
            call,
            "info",
            "totp_setup_started",
            Some(auth.user().id),
            None,
        );
        error::ok(
            call.ctx,
            200,
            TotpSetupDto {
                otpauth_uri: setup.otpauth_uri.expose_secret().to_owned(),
                manual_key: setup.manual_key.expose_secret().to_owned(),
            },
        )
    }

    async fn totp_enable(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let Code(code) = body::typed::<Code, CodeRequest>(call.req)?;
        let auth = call.user()?;
        let enabled = self
            .service()
            .enable_totp(auth, &code)
            .await
            .inspect_err(|_| {
                self.event(
                    call,
                    "warn",
                    "totp_enable_failed",
                    Some(auth.user().id),
                    None,
                )
            })?;
        self.event(call, "info", "totp_enabled", Some(auth.user().id), None);
        self.with_recovery_codes(call, &enabled.recovery_codes, &enabled.session)
    }

    /// The one-time showing of fresh recovery codes, with the rotated session they came with.
    fn with_recovery_codes(
        &self,
        call: &Call<'_>,
        codes: &[SecretString],
        session: &IssuedSession,
    ) -> Result<Response, ApiError> {
        let resp = error::ok(
            call.ctx,
            200,
            RecoveryCodesDto {
                recovery_codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
                csrf_token: session.csrf_token.expose_secret().to_owned(),
            },
        )?;
        Ok(self.with_session(resp, session))
    }

    async fn totp_disable(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let input: PasswordCode = body::typed::<PasswordCode, PasswordCodeRequest>(call.req)?;
        let Some(code) = input.code else {
            return Err(
                ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
                    field: "code".into(),
                    code: "required".into(),
                    message: "This field is required.".into(),
                }]),
            );
        };
        let auth = call.user()?;
        let issued = self
            .service()
            .disable_totp(auth, &input.password, &code)
            .await
            .inspect_err(|_| {
                self.event(
                    call,
                    "warn",
                    "totp_disable_failed",
                    Some(auth.user().id),
                    None,
                )
            })?;
        self.event(call, "info", "totp_disabled", Some(auth.user().id), None);
        self.rotated(call, &issued)
    }

    async fn recovery_codes(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        body::json::<Empty>(call.req)?;
        let auth = call.user()?;
        let codes = self.service().regenerate_recovery_codes(auth).await?;
        self.event(
            call,
            "info",
            "recovery_codes_regenerated",
            Some(auth.user().id),
            None,
        );
        self.with_recovery_codes(call, &codes.codes, &codes.session)
    }

    async fn delete_account(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        body::json::<Empty>(call.req)?;
        let auth = call.user()?;
        self.service().delete_account(auth).await?;
        self.event(call, "info", "account_deleted", Some(auth.user().id), None);
        let mut resp = message(call.ctx, 200, "Your account was deleted.")?;
        cookies::clear_session(&mut resp.headers);
        Ok(resp)
    }

    // ----- admin ---------------------------------------------------------------------

    async fn admin_unlock(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let params = IdParams::extract(call.req, call.path)?;
        body::json::<Empty>(call.req)?;
        let admin = call.user()?;
        let Some(target) = self.store.user(UserId(params.id)).await? else {
            return Err(ApiError::new(ErrorCode::NotFound));
        };
        self.service()
            .admin_unlock(admin, target.email.as_str())
            .await?;
        self.event(call, "info", "admin_unlock", Some(admin.user().id), None);
        message(call.ctx, 200, "The account is unlocked.")
    }

    // ----- CSP sink ------------------------------------------------------------------

    async fn csp_report(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        NoParams::extract(call.req, call.path)?;
        let media = call
            .req
            .headers
            .get("content-type")
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        if !matches!(
            media.as_deref(),
            Some("application/csp-report" | "application/reports+json")
        ) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_message(
                "The body must be application/csp-report or application/reports+json.",
            ));
        }
        if call.req.body.len() > MAX_CSP_REPORT {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge));
        }
        self.limit(call, &[(rules::CSP_REPORT, &call.ip)]).await?;
        let line = crate::csp::log_line(call.ctx, &call.req.body);
        self.events.emit(&line);
        Ok(Response::empty(204))
    }
}

impl<S, M, H, C, L, E> AccountDeps for Accounts<'_, S, M, H, C, L, E>
where
    S: crate::keys::KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    fn wired(&self) -> bool {
        true
    }

    fn emit(&self, event: &AuthEvent<'_>) {
        self.events.emit(&event.to_json());
    }

    async fn authenticate(&self, token: &str) -> Result<Option<Authenticated>, ApiError> {
        match self.service().authenticate(token).await {
            Ok(auth) => Ok(Some(auth)),
            Err(cl_app::accounts::AuthError::Unauthenticated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn verify_csrf(&self, cookie: &str, presented: &str) -> bool {
        self.service().verify_csrf(cookie, presented)
    }

    async fn authenticate_key(
        &self,
        presented: &str,
        ctx: &RequestContext,
        route: &str,
    ) -> Result<cl_app::api_keys::KeyAuthenticated, ApiError> {
        crate::keys::authenticate(self, presented, ctx, route).await
    }

    async fn hit_ip_limit(
        &self,
        subject: &str,
    ) -> Result<cl_auth::ratelimit::Decision, cl_app::ports::StoreError> {
        let rule = cl_auth::ratelimit::rules::API_PER_IP;
        self.limits.hit(&rule, subject, self.clock.now_ms()).await
    }

    async fn session_access(
        &self,
        auth: &Authenticated,
        _: &RequestContext,
    ) -> Result<TierAccess, ApiError> {
        crate::keys::session_access(self, auth).await
    }

    async fn serve(
        &self,
        matched: &Matched,
        caller: &Caller,
        req: &Request,
        ctx: &RequestContext,
    ) -> Result<Response, ApiError> {
        let (route, template, path) = (matched.spec.route, matched.spec.path, &matched.params);
        let ip = ctx
            .client_ip
            .as_deref()
            .and_then(|h| parse_client_ip(h).ok())
            .map(rate_limit_subject)
            // No usable client IP: one shared bucket, so the limit still holds.
            .unwrap_or_else(|| "unknown".to_owned());
        let call = Call {
            req,
            path,
            ctx,
            route: template,
            caller,
            ip,
        };
        let mut resp = match route {
            Route::AuthCsrf => self.csrf(&call).await,
            Route::AuthRegister => self.register(&call).await,
            Route::AuthLogin => self.login(&call).await,
            Route::AuthLoginTotp => self.login_totp(&call).await,
            Route::AuthLogout => self.logout(&call).await,
            Route::AuthVerifyEmail => self.verify_email(&call).await,
            Route::AuthResendVerification => self.resend(&call).await,
            Route::AuthForgotPassword => self.forgot(&call).await,
            Route::AuthResetPassword => self.reset(&call).await,
            Route::AuthMe => self.me(&call).await,
            Route::AuthSessions => self.sessions(&call).await,
            Route::AuthSessionsRevokeOthers => self.revoke_others(&call).await,
            Route::AuthSessionRevoke => self.revoke_one(&call).await,
            Route::AuthChangePassword => self.change_password(&call).await,
            Route::AuthChangeEmail => self.change_email(&call).await,
            Route::AuthReauth => self.reauth(&call).await,
            Route::AuthTotpSetup => self.totp_setup(&call).await,
            Route::AuthTotpEnable => self.totp_enable(&call).await,
            Route::AuthTotpDisable => self.totp_disable(&call).await,
            Route::AuthRecoveryCodes => self.recovery_codes(&call).await,
            Route::AuthDeleteAccount => self.delete_account(&call).await,
            Route::AdminUnlockUser => self.admin_unlock(&call).await,
            r if crate::scheduler::handles(r) => {
                crate::scheduler::serve(
                    self.store,
                    self.clock,
                    self.limits,
                    matched,
                    caller,
                    req,
                    ctx,
                )
                .await
            }
            r if crate::stats::handles(r) => {
                crate::stats::serve(self.store, self.clock, matched, caller, req, ctx).await
            }
            r if crate::admin::handles(r) => {
                crate::admin::serve(self.store, self.clock, matched, caller, req, ctx).await
            }
            r if crate::notify_admin::handles(r) => {
                crate::notify_admin::serve(self.store, self.clock, matched, caller, req, ctx).await
            }
            r if crate::ops::handles(r) => {
                crate::ops::serve(
                    self.store,
                    self.clock,
                    self.limits,
                    matched,
                    caller,
                    req,
                    ctx,
                )
                .await
            }
            Route::CspReport => self.csp_report(&call).await,
            r if crate::portfolio::family_handles(r) => match self.portfolio {
                Some(family) => family.serve(r, path, caller, req, ctx).await,
                None => Err(ApiError::new(ErrorCode::ServiceUnavailable)),
            },
            r if crate::keys::handles(r) => {
                crate::keys::serve(self, matched, caller, req, ctx).await
            }
            r if crate::payments::handles(r) => {
                if r == Route::PaymentCheckout {
                    let user = call.user()?.user().id.0;
                    self.limit(&call, &[(rules::CHECKOUT, &format!("u{user}"))])
                        .await?;
                }
                let pay = crate::payments::PayCall {
                    req,
                    path,
                    ctx,
                    caller,
                };
                crate::payments::serve(self.store, self.payments, self.events, r, &pay).await
            }
            r if crate::notifications::handles(r) => {
                crate::notifications::serve(self, matched, caller, req, ctx).await
            }
            r if crate::optimizer::handles(r) => {
                crate::optimizer::serve(self.store, self.clock, matched, caller, req, ctx).await
            }
            _ => Err(ApiError::new(ErrorCode::NotFound)),
        }?;
        // Refresh the cookie of an authenticated request unless the handler set or cleared it.
        if let Caller::User { auth, cookie, .. } = caller {
            if resp.headers.get("set-cookie").is_none() {
                cookies::set_session(
                    &mut resp.headers,
                    cookie,
                    cookies::max_age(auth.session().expires_at, self.now()),
                );
            }
        }
        Ok(resp)
    }
}
