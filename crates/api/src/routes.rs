//! The route table: every `/api/v1` route is declared here once, with its method, path
//! template, access level, parameters and response shape. The dispatcher, the access gate and
//! the OpenAPI generator all read this one table, so a route cannot be served without being
//! documented, nor documented without being served.
//!
//! Matching: a template is split on `/`; a `{name}` segment captures one non-empty raw path
//! segment (percent-decoded later, by the typed parameter layer), every other segment must
//! match exactly. Unknown paths get `not_found`; known paths with the wrong method get
//! `method_not_allowed` with an `Allow` header. A `GET` route also answers `HEAD`.

use crate::access::{Access, Scope};
use crate::http::Method;
use crate::params::{
    CandlesParams, Extract, IdParams, MatrixParams, NoParams, ParamDoc, PatternsParams,
    PaymentsParams, SessionIdParams, SignalsParams, SymbolsParams, TradesParams,
};

/// The API prefix.
pub const API_PREFIX: &str = "/api/v1";

/// A route's identity. The dispatcher matches on it; everything else about the route lives in
/// its [`RouteSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Health summary.
    Health,
    /// Liveness.
    HealthLive,
    /// Readiness.
    HealthReady,
    /// The OpenAPI document.
    OpenApi,
    /// Symbol list.
    Symbols,
    /// Candles of a series.
    Candles,
    /// Candles plus active patterns of a series.
    Chart,
    /// Pattern list.
    Patterns,
    /// One pattern.
    Pattern,
    /// Signal list.
    Signals,
    /// One signal.
    Signal,
    /// The pattern matrix.
    Matrix,
    /// Every scheduled job with its switch and last run (crate::scheduler).
    SchedulerStatus,
    /// Switch a scheduled job on or off (crate::scheduler).
    SchedulerToggle,
    /// Admin: a scheduled job's run history (crate::scheduler).
    AdminCronRuns,
    /// A pre-session (or the session's) CSRF token.
    AuthCsrf,
    /// Registration.
    AuthRegister,
    /// Login, password step.
    AuthLogin,
    /// Login, TOTP step.
    AuthLoginTotp,
    /// Logout.
    AuthLogout,
    /// Email verification.
    AuthVerifyEmail,
    /// Resend the verification mail.
    AuthResendVerification,
    /// Forgot password.
    AuthForgotPassword,
    /// Reset password with a token.
    AuthResetPassword,
    /// The signed-in user.
    AuthMe,
    /// The user's sessions.
    AuthSessions,
    /// Revoke every other session.
    AuthSessionsRevokeOthers,
    /// Revoke one session.
    AuthSessionRevoke,
    /// Change password.
    AuthChangePassword,
    /// Change email.
    AuthChangeEmail,
    /// Re-authenticate.
    AuthReauth,
    /// Start 2FA enrolment.
    AuthTotpSetup,
    /// Confirm 2FA enrolment.
    AuthTotpEnable,
    /// Turn 2FA off.
    AuthTotpDisable,
    /// New recovery codes.
    AuthRecoveryCodes,
    /// Delete the account.
    AuthDeleteAccount,
    /// Admin: lift a user's login lockout.
    AdminUnlockUser,
    /// Admin: users, newest first, searchable (crate::admin).
    AdminUsers,
    /// Admin: one user.
    AdminUser,
    /// Admin: mark a user's email verified.
    AdminUserVerify,
    /// Admin: activate a user.
    AdminUserActivate,
    /// Admin: deactivate a user (ends their sessions).
    AdminUserDeactivate,
    /// Admin: grant admin rights (ends their sessions).
    AdminUserMakeAdmin,
    /// Admin: revoke admin rights (ends their sessions).
    AdminUserRevokeAdmin,
    /// Admin: set a user's subscription.
    AdminUserSubscription,
    /// Admin: every symbol.
    AdminSymbols,
    /// Admin: add a symbol.
    AdminSymbolCreate,
    /// Admin: toggle a symbol or move its fetch start.
    AdminSymbolEdit,
    /// Admin: override a signal's status.
    SignalEdit,
    /// Admin: the audit log.
    AdminAudit,
    /// Admin: logs.
    AdminLogs,
    /// Analytics of the caller's tier or one symbol, from the stats cache (crate::stats).
    Stats,
    /// Admin: global stats (crate::stats).
    AdminStats,
    /// Admin: subscriptions with filters (crate::stats).
    AdminSubscriptions,
    /// Admin: the global settings (crate::stats).
    AdminSettings,
    /// Admin: change the global settings (crate::stats).
    AdminSettingsPut,
    /// Admin: the error tracker.
    AdminErrors,
    /// Admin: acknowledge an error group.
    AdminErrorAck,
    /// Admin: resolve an error group.
    AdminErrorResolve,
    /// My API keys (crate::keys).
    Keys,
    /// Create an API key.
    KeyCreate,
    /// One of my API keys.
    Key,
    /// Edit an API key.
    KeyEdit,
    /// Revoke an API key.
    KeyRevoke,
    /// A key's IP rules.
    KeyIpRules,
    /// Add an IP rule.
    KeyIpRuleAdd,
    /// Delete an IP rule.
    KeyIpRuleDelete,
    /// A key's hourly usage.
    KeyUsage,
    /// Admin: view the app as a tier.
    AdminViewAs,
    /// The CSP report sink.
    CspReport,
    /// Prometheus metrics (admin).
    Metrics,
    /// My portfolios.
    Portfolios,
    /// Create a portfolio.
    PortfolioCreate,
    /// One portfolio.
    Portfolio,
    /// Edit a portfolio.
    PortfolioEdit,
    /// Delete a portfolio.
    PortfolioDelete,
    /// Portfolio statistics.
    PortfolioStats,
    /// A portfolio's trades (keyset pages).
    PortfolioTrades,
    /// Add a trade to a portfolio.
    TradeCreate,
    /// A pending trade prefilled from a pattern.
    TradeFromPattern,
    /// A pending trade prefilled from a signal.
    TradeFromSignal,
    /// One trade.
    Trade,
    /// Edit a trade.
    TradeEdit,
    /// Delete a trade.
    TradeDelete,
    /// `pending → open`.
    TradeOpen,
    /// `open → closed` at a price.
    TradeClose,
    /// `open → closed` at the last 1m close.
    TradeCloseMarket,
    /// `pending → cancelled`.
    TradeCancel,
    /// A trade's journal.
    TradeJournal,
    /// Add a journal entry.
    TradeJournalAdd,
    /// A trade's tags.
    TradeTags,
    /// Replace a trade's tags.
    TradeTagsSet,
    /// Delete a journal entry.
    JournalDelete,
    /// One journal entry.
    JournalEntry,
    /// Edit a journal entry.
    JournalEdit,
    /// Edit a tag.
    TagEdit,
    /// My tags.
    Tags,
    /// Create a tag.
    TagCreate,
    /// One tag.
    Tag,
    /// Delete a tag.
    TagDelete,
    /// My exchange credentials, masked.
    ExchangeCredentials,
    /// Store or replace an exchange credential.
    ExchangeCredentialsPut,
    /// Delete my exchange credentials.
    ExchangeCredentialsDelete,
    /// My backtests.
    Backtests,
    /// Queue a backtest.
    BacktestCreate,
    /// One backtest with its results.
    Backtest,
    /// Delete a backtest.
    BacktestDelete,
    /// Admin: optimizer jobs, newest first (crate::optimizer).
    OptimizerJobs,
    /// Admin: queue an optimizer job.
    OptimizerJobCreate,
    /// Admin: one job with progress, results and best params.
    OptimizerJob,
    /// Admin: compare the best params of two jobs.
    OptimizerCompare,
    /// Admin: apply a job's best params to a user.
    OptimizerApply,
    /// Admin: clear a user's tuned params.
    OptimizerClear,
    /// My trading preferences and tuned params.
    MyTradingPrefs,
    /// Set my trading preferences (pro+).
    MyTradingPrefsPut,
    /// Reset my tuned params to the defaults.
    MyTunedParamsReset,
    /// Start a checkout (crate::payments).
    PaymentCheckout,
    /// My payments (keyset pages).
    Payments,
    /// One of my payments.
    Payment,
    /// Ask the provider for a payment's status.
    PaymentCheck,
    /// My subscription.
    MySubscription,
    /// LemonSqueezy webhook (signed).
    WebhookLemonSqueezy,
    /// NOWPayments IPN (signed).
    WebhookNowPayments,
    /// My notification preferences and ntfy topic.
    MyPreferences,
    /// Replace my notification preferences.
    MyPreferencesPut,
    /// My tier's symbols with their notification flags.
    MySymbols,
    /// Turn one symbol's notifications on or off (premium).
    MySymbolsPut,
    /// A new ntfy topic.
    MyTopicRegenerate,
    /// Queue a test notification (5/h).
    MyNotificationTest,
    /// Admin: notification templates (crate::notify_admin).
    AdminNoticeTemplates,
    /// Admin: create a template.
    AdminNoticeTemplateCreate,
    /// Admin: replace a template.
    AdminNoticeTemplateEdit,
    /// Admin: delete a template.
    AdminNoticeTemplateDelete,
    /// Admin: count an audience.
    AdminNoticeAudience,
    /// Admin: broadcasts, newest first.
    AdminBroadcasts,
    /// Admin: queue a broadcast.
    AdminBroadcastCreate,
    /// Admin: scheduled notifications.
    AdminSchedules,
    /// Admin: schedule a notification.
    AdminScheduleCreate,
    /// Admin: cancel a scheduled notification.
    AdminScheduleCancel,
    /// Admin: queue an ntfy test send.
    AdminNoticeTest,
    /// Queue a detection-only run of a symbol (crate::ops).
    RunScan,
    /// Queue a full cycle of a symbol (crate::ops).
    RunFullCycle,
    /// Queue a fetch of a symbol (crate::ops).
    RunFetch,
    /// One queued run (crate::ops).
    RunStatus,
    /// Admin: queue a job or quick action now (crate::ops).
    AdminCronRunNow,
    /// Admin: queue a chunked historical fetch of a symbol (crate::ops).
    AdminSymbolHistoricalFetch,
    /// Admin: import candles of a symbol (crate::ops).
    AdminSymbolImport,
}

impl Route {
    /// Whether the route is served by the account dependencies (`/auth/*`, admin, the CSP
    /// sink, whose rate limit lives there too).
    pub const fn needs_accounts(self) -> bool {
        !matches!(
            self,
            Self::Health
                | Self::HealthLive
                | Self::HealthReady
                | Self::OpenApi
                | Self::Symbols
                | Self::Candles
                | Self::Chart
                | Self::Patterns
                | Self::Pattern
                | Self::Signals
                | Self::Signal
                | Self::Matrix
                | Self::Metrics
        )
    }

    /// Alias of [`Route::needs_accounts`] used by the gate.
    pub const fn is_account_route(self) -> bool {
        self.needs_accounts()
    }
}

/// What a successful response carries in `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// One object of the named component schema.
    One(&'static str),
    /// An array of the named component schema (the whole list, no paging).
    List(&'static str),
    /// A keyset page: an array of the named component schema plus `meta.next_cursor`.
    Page(&'static str),
    /// Not an envelope: the raw document (OpenAPI).
    Document,
    /// No body (204).
    Nothing,
    /// Not an envelope: Prometheus text (`/metrics`).
    Text,
}

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// Identity, for dispatch.
    pub route: Route,
    /// The method (`GET` routes also answer `HEAD`).
    pub method: Method,
    /// The full path template, e.g. `/api/v1/candles/{symbol}/{tf}`; also the log label.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One-line summary (OpenAPI).
    pub summary: &'static str,
    /// Longer description (OpenAPI).
    pub description: &'static str,
    /// Path and query parameters; query names not listed here are rejected.
    pub params: &'static [ParamDoc],
    /// The success body.
    pub data: Data,
    /// Whether a missing object answers 404 (id and symbol routes).
    pub may_be_missing: bool,
    /// Whether the route supports `If-None-Match` → 304.
    pub conditional: bool,
    /// Whether a failing dependency answers 503 with the health body (health routes).
    pub health: bool,
    /// The success status (200, 202 or 204).
    pub ok_status: u16,
    /// The JSON request body's component schema, if the route reads one.
    pub body: Option<&'static str>,
    /// Error statuses beyond the common ones (400, 401, 405, 500, 503).
    pub errors: &'static [u16],
}

const READ_NOTE: &str = "A session, or an API key with the listed scopes; tier-filtered for the \
caller (product.md §1).";

/// A market-data read (product.md §3): a full session or an API key holding the route's
/// scopes; `403` for a missing scope or tier (`scope_missing`, `tier_required`), `429` over a
/// key's or an IP's API limit.
const fn read(route: Route, path: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec {
        access: Access::ApiKey(planned_scopes(route)),
        errors: &[403, 429],
        ..get(route, path, summary)
    }
}

const fn get(route: Route, path: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec {
        route,
        method: Method::Get,
        path,
        access: Access::Public,
        summary,
        description: "",
        params: NoParams::PARAMS,
        data: Data::Document,
        may_be_missing: false,
        conditional: false,
        health: false,
        ok_status: 200,
        body: None,
        errors: &[],
    }
}

/// A state-changing route: CSRF (403), body limits (413, 415).
const fn write(
    route: Route,
    method: Method,
    access: Access,
    path: &'static str,
    summary: &'static str,
    data: Data,
) -> RouteSpec {
    RouteSpec {
        method,
        access,
        data,
        errors: &[403, 413, 415],
        ..get(route, path, summary)
    }
}

const fn post(
    route: Route,
    access: Access,
    path: &'static str,
    summary: &'static str,
    data: Data,
) -> RouteSpec {
    write(route, Method::Post, access, path, summary, data)
}

const fn delete(route: Route, path: &'static str, summary: &'static str, data: Data) -> RouteSpec {
    write(route, Method::Delete, Access::Session, path, summary, data)
}

const WRITE_LIMITED: &[u16] = &[403, 413, 415, 429];
const WRITE_CONFLICT: &[u16] = &[403, 409, 413, 415];
const NOTICE_TEMPLATE_NOTE: &str = "Placeholders `{app}`, `{date}`, `{time}`, `{topic}` only \
(else `unknown_placeholder` on the field); 409 when the name exists. Audited.";

const ADMIN_SENSITIVE_NOTE: &str = "Needs a re-authentication within 10 minutes \
(`reauth_required`); never on your own account (409); never the last active admin (409). Ends \
the user's sessions. Audited.";

/// An admin `POST /admin/users/{id}/…` action without a body.
const fn admin_user_action(
    route: Route,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
) -> RouteSpec {
    RouteSpec {
        description,
        params: IdParams::PARAMS,
        may_be_missing: true,
        errors: WRITE_CONFLICT,
        ..post(route, Access::Admin, path, summary, Data::One("AdminUser"))
    }
}

/// An admin `POST /admin/errors/{id}/…` triage action.
const fn admin_error_action(route: Route, path: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec {
        description: "Audited.",
        params: IdParams::PARAMS,
        may_be_missing: true,
        ..post(route, Access::Admin, path, summary, Data::One("ErrorGroup"))
    }
}
const KEYS_NOTE: &str = "Session only (an API key cannot manage keys); another user's key \
id answers 404.";
const CSRF_NOTE: &str = "Needs the `__Host-cl_session` cookie (a pre-session from \
`GET /auth/csrf` for the public forms), `X-CSRF-Token` and a same-origin `Origin`.";

/// Every route, each listed once.
pub const TABLE: &[RouteSpec] = &[
    RouteSpec {
        description: "Admins only (an admin session, or an admin's key with `admin:scheduler`).",
        data: Data::One("SchedulerStatus"),
        access: Access::ApiKey(&[Scope::AdminScheduler]),
        errors: &[403],
        ..get(
            Route::SchedulerStatus,
            "/api/v1/scheduler/status",
            "Scheduler status",
        )
    },
    RouteSpec {
        description: "Flips the job's switch; a disabled job is not run by its cron trigger. \
Admins only; 2 per minute.",
        params: crate::scheduler::TOGGLE_PARAMS,
        errors: WRITE_LIMITED,
        ..post(
            Route::SchedulerToggle,
            Access::ApiKey(&[Scope::AdminScheduler]),
            "/api/v1/scheduler/jobs/{name}/toggle",
            "Toggle a scheduled job",
            Data::One("SchedulerJob"),
        )
    },
    RouteSpec {
        description: "Newest first (start, then id); keyset pages (`limit`, `cursor`).",
        params: crate::scheduler::RUNS_PARAMS,
        data: Data::Page("CronRun"),
        access: Access::Admin,
        ..get(
            Route::AdminCronRuns,
            "/api/v1/admin/crons/{name}/runs",
            "Cron run history",
        )
    },
    RouteSpec {
        description: "Overall status and one ok/fail entry per dependency check; 503 when a \
critical check (configuration, primary store) fails. Never versions, hosts or configuration.",
        data: Data::One("HealthReport"),
        health: true,
        ..get(Route::Health, "/api/v1/health", "Health summary")
    },
    RouteSpec {
        description: "Answers while the worker runs.",
        data: Data::One("Liveness"),
        ..get(Route::HealthLive, "/api/v1/health/live", "Liveness")
    },
    RouteSpec {
        description: "As the summary: 503 when the configuration or the primary store is bad.",
        data: Data::One("HealthReport"),
        health: true,
        ..get(Route::HealthReady, "/api/v1/health/ready", "Readiness")
    },
    RouteSpec {
        description: "This document, generated from the route table. Not wrapped in the envelope.",
        data: Data::Document,
        ..get(
            Route::OpenApi,
            "/api/v1/openapi.json",
            "OpenAPI 3.1 document",
        )
    },
    RouteSpec {
        description: READ_NOTE,
        params: SymbolsParams::PARAMS,
        data: Data::List("Symbol"),
        ..read(Route::Symbols, "/api/v1/symbols", "List symbols")
    },
    RouteSpec {
        description: "Candles of one series, oldest first, paging backwards with `before`. \
Default `limit` per TF: 1m 500, 5m 400, 15m 300, 1h 250, 4h 200, 1d 150, others 200.",
        params: CandlesParams::PARAMS,
        data: Data::One("Candles"),
        may_be_missing: true,
        ..read(
            Route::Candles,
            "/api/v1/candles/{symbol}/{tf}",
            "Candles of a series",
        )
    },
    RouteSpec {
        description: "The candles of `/candles` plus the TF's active patterns detected up to the \
last candle (their zones extend to now), for the chart page.",
        params: CandlesParams::PARAMS,
        data: Data::One("Chart"),
        may_be_missing: true,
        ..read(Route::Chart, "/api/v1/chart/{symbol}/{tf}", "Chart data")
    },
    RouteSpec {
        description: "Patterns of one status (default `active`) newest first (`detected_at` desc, \
ties by id desc), keyset pages; filters by symbol, TF, type and direction.",
        params: PatternsParams::PARAMS,
        data: Data::Page("Pattern"),
        ..read(Route::Patterns, "/api/v1/patterns", "List patterns")
    },
    RouteSpec {
        params: IdParams::PARAMS,
        data: Data::One("Pattern"),
        may_be_missing: true,
        ..read(Route::Pattern, "/api/v1/patterns/{id}", "One pattern")
    },
    RouteSpec {
        description: "Signals newest first (`created_at` desc, ties by id desc), keyset pages.",
        params: SignalsParams::PARAMS,
        data: Data::Page("Signal"),
        ..read(Route::Signals, "/api/v1/signals", "List signals")
    },
    RouteSpec {
        params: IdParams::PARAMS,
        data: Data::One("Signal"),
        may_be_missing: true,
        ..read(Route::Signal, "/api/v1/signals/{id}", "One signal")
    },
    RouteSpec {
        description: "Active symbols × 5m..1d in one store query. The `ETag` is a SHA-256 of the \
`data` member (weak: `meta` differs per response); `If-None-Match` with a current tag answers \
304 without a body. `Cache-Control: private, max-age=0, must-revalidate`.",
        params: MatrixParams::PARAMS,
        data: Data::One("Matrix"),
        conditional: true,
        ..read(Route::Matrix, "/api/v1/matrix", "Pattern matrix")
    },
    RouteSpec {
        description: "The CSRF token of the session cookie; without a session, a fresh \
pre-session cookie (1 h, nothing stored) and its token, for the login and register forms.",
        data: Data::One("CsrfToken"),
        ..get(Route::AuthCsrf, "/api/v1/auth/csrf", "CSRF token")
    },
    RouteSpec {
        description: "Always 202 with the same body for a valid request, whether or not the \
address has an account (its owner is mailed instead). 3/h per IP.",
        ok_status: 202,
        body: Some("RegisterRequest"),
        errors: &[403, 409, 413, 415, 429],
        ..post(
            Route::AuthRegister,
            Access::Public,
            "/api/v1/auth/register",
            "Register",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Unknown account, wrong password, locked and deactivated accounts all \
answer the same 401 `invalid_credentials`. With 2FA on: `totp_required` and a pending \
session cookie (10 min) that reaches only `/auth/login/totp`. 5/min and 25/h per IP and per \
account.",
        body: Some("LoginRequest"),
        errors: &[401, 403, 413, 415, 429],
        ..post(
            Route::AuthLogin,
            Access::Public,
            "/api/v1/auth/login",
            "Log in",
            Data::One("LoginResult"),
        )
    },
    RouteSpec {
        description: "The TOTP (or recovery) code of a pending login; 5 tries per pending login.",
        body: Some("CodeRequest"),
        errors: &[401, 403, 413, 415, 429],
        ..post(
            Route::AuthLoginTotp,
            Access::Public,
            "/api/v1/auth/login/totp",
            "Log in: TOTP step",
            Data::One("LoginResult"),
        )
    },
    RouteSpec {
        description: CSRF_NOTE,
        ..post(
            Route::AuthLogout,
            Access::Public,
            "/api/v1/auth/logout",
            "Log out",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "The token from the link's URL fragment.",
        body: Some("TokenRequest"),
        errors: WRITE_CONFLICT,
        ..post(
            Route::AuthVerifyEmail,
            Access::Public,
            "/api/v1/auth/verify-email",
            "Verify email",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Always 202 with the same body. 3/h per IP and per account.",
        ok_status: 202,
        body: Some("EmailRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::AuthResendVerification,
            Access::Public,
            "/api/v1/auth/resend-verification",
            "Resend verification",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Always 202 with the same body. 3/h per IP and per account.",
        ok_status: 202,
        body: Some("EmailRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::AuthForgotPassword,
            Access::Public,
            "/api/v1/auth/forgot-password",
            "Forgot password",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Revokes every session; never bypasses 2FA. 3/h per IP and per token.",
        body: Some("ResetPasswordRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::AuthResetPassword,
            Access::Public,
            "/api/v1/auth/reset-password",
            "Reset password",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: "User, effective tier and limits, admin view-as, CSRF token.",
        data: Data::One("Me"),
        ..get(Route::AuthMe, "/api/v1/auth/me", "The signed-in user")
    },
    RouteSpec {
        access: Access::Session,
        data: Data::List("Session"),
        ..get(Route::AuthSessions, "/api/v1/auth/sessions", "My sessions")
    },
    delete(
        Route::AuthSessionsRevokeOthers,
        "/api/v1/auth/sessions",
        "Revoke my other sessions",
        Data::One("Revoked"),
    ),
    RouteSpec {
        description: "Another user's handle answers 404.",
        params: SessionIdParams::PARAMS,
        may_be_missing: true,
        ..delete(
            Route::AuthSessionRevoke,
            "/api/v1/auth/sessions/{id}",
            "Revoke one of my sessions",
            Data::One("Revoked"),
        )
    },
    RouteSpec {
        description: "Revokes the other sessions and rotates this one.",
        body: Some("ChangePasswordRequest"),
        ..post(
            Route::AuthChangePassword,
            Access::Session,
            "/api/v1/auth/change-password",
            "Change password",
            Data::One("CsrfToken"),
        )
    },
    RouteSpec {
        description: "Needs a recent re-authentication; always 202 with the same body.",
        ok_status: 202,
        body: Some("EmailRequest"),
        ..post(
            Route::AuthChangeEmail,
            Access::Session,
            "/api/v1/auth/change-email",
            "Change email",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Password, plus a code when 2FA is on; opens a 10-minute window.",
        body: Some("PasswordCodeRequest"),
        ..post(
            Route::AuthReauth,
            Access::Session,
            "/api/v1/auth/reauth",
            "Re-authenticate",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        description: "Needs a recent re-authentication; the URI and key are shown once.",
        errors: WRITE_CONFLICT,
        ..post(
            Route::AuthTotpSetup,
            Access::Session,
            "/api/v1/auth/2fa/setup",
            "Start 2FA setup",
            Data::One("TotpSetup"),
        )
    },
    RouteSpec {
        body: Some("CodeRequest"),
        errors: WRITE_CONFLICT,
        ..post(
            Route::AuthTotpEnable,
            Access::Session,
            "/api/v1/auth/2fa/enable",
            "Turn 2FA on",
            Data::One("RecoveryCodes"),
        )
    },
    RouteSpec {
        description: "Password and code in the request.",
        body: Some("PasswordCodeRequest"),
        errors: WRITE_CONFLICT,
        ..post(
            Route::AuthTotpDisable,
            Access::Session,
            "/api/v1/auth/2fa/disable",
            "Turn 2FA off",
            Data::One("CsrfToken"),
        )
    },
    RouteSpec {
        errors: WRITE_CONFLICT,
        ..post(
            Route::AuthRecoveryCodes,
            Access::Session,
            "/api/v1/auth/2fa/recovery-codes",
            "New recovery codes",
            Data::One("RecoveryCodes"),
        )
    },
    RouteSpec {
        description: "Needs a recent re-authentication.",
        ..delete(
            Route::AuthDeleteAccount,
            "/api/v1/auth/account",
            "Delete my account",
            Data::One("AuthMessage"),
        )
    },
    RouteSpec {
        params: IdParams::PARAMS,
        may_be_missing: true,
        ..post(
            Route::AdminUnlockUser,
            Access::Admin,
            "/api/v1/admin/users/{id}/unlock",
            "Unlock a user's login",
            Data::One("AuthMessage"),
        )
    },
    // ----- admin: users, symbols, signals, audit, logs, errors (product.md §9; crate::admin) -----
    RouteSpec {
        description: "Newest first (`created_at` desc, ties by id desc), keyset pages; `q` \
matches a prefix of the email or username. Each row carries the subscription summary.",
        params: crate::admin::UsersQuery::PARAMS,
        data: Data::Page("AdminUser"),
        access: Access::Admin,
        ..get(Route::AdminUsers, "/api/v1/admin/users", "Users (admin)")
    },
    RouteSpec {
        params: IdParams::PARAMS,
        data: Data::One("AdminUser"),
        access: Access::Admin,
        may_be_missing: true,
        ..get(
            Route::AdminUser,
            "/api/v1/admin/users/{id}",
            "One user (admin)",
        )
    },
    admin_user_action(
        Route::AdminUserVerify,
        "/api/v1/admin/users/{id}/verify",
        "Mark a user's email verified",
        "Audited.",
    ),
    admin_user_action(
        Route::AdminUserActivate,
        "/api/v1/admin/users/{id}/activate",
        "Activate a user",
        "Audited.",
    ),
    admin_user_action(
        Route::AdminUserDeactivate,
        "/api/v1/admin/users/{id}/deactivate",
        "Deactivate a user",
        ADMIN_SENSITIVE_NOTE,
    ),
    admin_user_action(
        Route::AdminUserMakeAdmin,
        "/api/v1/admin/users/{id}/make-admin",
        "Grant admin rights",
        ADMIN_SENSITIVE_NOTE,
    ),
    admin_user_action(
        Route::AdminUserRevokeAdmin,
        "/api/v1/admin/users/{id}/revoke-admin",
        "Revoke admin rights",
        ADMIN_SENSITIVE_NOTE,
    ),
    RouteSpec {
        body: Some("SetSubscriptionRequest"),
        ..admin_user_action(
            Route::AdminUserSubscription,
            "/api/v1/admin/users/{id}/subscription",
            "Set a user's subscription",
            "Active from now for `days`, or lifetime; replaces the user's subscription. Needs a \
re-authentication within 10 minutes (`reauth_required`). Audited.",
        )
    },
    RouteSpec {
        data: Data::List("AdminSymbol"),
        access: Access::Admin,
        ..get(
            Route::AdminSymbols,
            "/api/v1/admin/symbols",
            "Symbols (admin)",
        )
    },
    RouteSpec {
        description: "409 when the symbol exists. Audited.",
        body: Some("SymbolCreateRequest"),
        ok_status: 201,
        errors: WRITE_CONFLICT,
        ..post(
            Route::AdminSymbolCreate,
            Access::Admin,
            "/api/v1/admin/symbols",
            "Add a symbol",
            Data::One("AdminSymbol"),
        )
    },
    RouteSpec {
        description: "Toggle active/notify or move the fetch start. Audited.",
        params: IdParams::PARAMS,
        body: Some("SymbolPatchRequest"),
        may_be_missing: true,
        ..write(
            Route::AdminSymbolEdit,
            Method::Patch,
            Access::Admin,
            "/api/v1/admin/symbols/{id}",
            "Edit a symbol",
            Data::One("AdminSymbol"),
        )
    },
    RouteSpec {
        description: "Admin only (a shared signal is never rewritten by a user). Audited.",
        params: IdParams::PARAMS,
        body: Some("SignalStatusRequest"),
        may_be_missing: true,
        ..write(
            Route::SignalEdit,
            Method::Patch,
            Access::Admin,
            "/api/v1/signals/{id}",
            "Override a signal's status",
            Data::One("SignalStatusChange"),
        )
    },
    RouteSpec {
        description: "Read-only, newest first (`at` desc, ties by id desc), keyset pages.",
        params: crate::admin::AuditQuery::PARAMS,
        data: Data::Page("AuditEntry"),
        access: Access::Admin,
        ..get(Route::AdminAudit, "/api/v1/admin/audit", "Audit log")
    },
    RouteSpec {
        description: "Newest first (`ts` desc, ties by id desc), keyset pages; filters by \
category, level, symbol and time (`since` inclusive, `until` exclusive).",
        params: crate::admin::LogsQuery::PARAMS,
        data: Data::Page("LogEntry"),
        access: Access::Admin,
        ..get(Route::AdminLogs, "/api/v1/admin/logs", "Logs")
    },
    RouteSpec {
        description: "Pro and premium (`tier_required` for free). Pattern counts by type, \
timeframe and direction, fill/expiry/invalidation rates and signal outcomes, over the symbols \
of your tier, or of one symbol (`tier_required` above your tier, 404 before the stats job has \
seen it). Read from the stats cache (recomputed every 5 minutes).",
        params: crate::params::StatsParams::PARAMS,
        data: Data::One("Analytics"),
        may_be_missing: true,
        ..read(Route::Stats, "/api/v1/stats", "Analytics")
    },
    RouteSpec {
        description: "Users, subscriptions, notification deliveries, new errors and the \
all-symbol analytics, in one read.",
        data: Data::One("AdminStats"),
        access: Access::Admin,
        ..get(Route::AdminStats, "/api/v1/admin/stats", "Global stats (admin)")
    },
    RouteSpec {
        description: "Newest first (`created_at` desc, ties by id desc), keyset pages, with \
the owner's email and username.",
        params: crate::params::AdminSubscriptionsParams::PARAMS,
        data: Data::Page("SubscriptionRow"),
        access: Access::Admin,
        ..get(
            Route::AdminSubscriptions,
            "/api/v1/admin/subscriptions",
            "Subscriptions (admin)",
        )
    },
    RouteSpec {
        data: Data::One("GlobalSettings"),
        access: Access::Admin,
        ..get(
            Route::AdminSettings,
            "/api/v1/admin/settings",
            "Global settings (admin)",
        )
    },
    RouteSpec {
        description: "Absent members keep their value. Every bad member is reported at once \
and nothing is written. Only changed keys are written, with one audit row (`settings.update`).",
        body: Some("GlobalSettingsRequest"),
        ..write(
            Route::AdminSettingsPut,
            Method::Put,
            Access::Admin,
            "/api/v1/admin/settings",
            "Change global settings (admin)",
            Data::One("GlobalSettings"),
        )
    },
    RouteSpec {
        description: "Grouped by fingerprint, most recently seen first, keyset pages.",
        params: crate::admin::ErrorsQuery::PARAMS,
        data: Data::Page("ErrorGroup"),
        access: Access::Admin,
        ..get(Route::AdminErrors, "/api/v1/admin/errors", "Error tracker")
    },
    admin_error_action(
        Route::AdminErrorAck,
        "/api/v1/admin/errors/{id}/ack",
        "Acknowledge an error group",
    ),
    admin_error_action(
        Route::AdminErrorResolve,
        "/api/v1/admin/errors/{id}/resolve",
        "Resolve an error group",
    ),
    // ----- API keys and admin view-as (product.md §3, §11.10; crate::keys) -----
    RouteSpec {
        access: Access::Session,
        description: KEYS_NOTE,
        data: Data::List("ApiKey"),
        ..get(Route::Keys, "/api/v1/keys", "My API keys")
    },
    RouteSpec {
        description: "Premium (or admin), verified email, and a re-authentication within 10 \
minutes (`reauth_required`); at most 10 active keys (`quota_exceeded`). The key is in `secret`, \
shown once; only its HMAC is stored.",
        body: Some("CreateKeyRequest"),
        ok_status: 201,
        errors: WRITE_CONFLICT,
        ..post(
            Route::KeyCreate,
            Access::Session,
            "/api/v1/keys",
            "Create an API key",
            Data::One("CreatedApiKey"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: KEYS_NOTE,
        params: IdParams::PARAMS,
        may_be_missing: true,
        data: Data::One("ApiKey"),
        ..get(Route::Key, "/api/v1/keys/{id}", "One of my API keys")
    },
    RouteSpec {
        params: IdParams::PARAMS,
        may_be_missing: true,
        body: Some("UpdateKeyRequest"),
        description: "Name, scopes, expiry and per-key limits; a revoked key answers 404.",
        ..write(
            Route::KeyEdit,
            Method::Patch,
            Access::Session,
            "/api/v1/keys/{id}",
            "Edit an API key",
            Data::One("ApiKey"),
        )
    },
    RouteSpec {
        params: IdParams::PARAMS,
        may_be_missing: true,
        description: "Takes effect on the next request made with the key.",
        ..delete(
            Route::KeyRevoke,
            "/api/v1/keys/{id}",
            "Revoke an API key",
            Data::One("Removed"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: "Deny rules win; with allow rules, only matching addresses may use the key.",
        params: IdParams::PARAMS,
        may_be_missing: true,
        data: Data::List("IpRule"),
        ..get(
            Route::KeyIpRules,
            "/api/v1/keys/{id}/ip-rules",
            "A key's IP rules",
        )
    },
    RouteSpec {
        params: IdParams::PARAMS,
        may_be_missing: true,
        body: Some("IpRuleRequest"),
        ok_status: 201,
        description: "At most 50 rules per key.",
        ..post(
            Route::KeyIpRuleAdd,
            Access::Session,
            "/api/v1/keys/{id}/ip-rules",
            "Add an IP rule",
            Data::One("IpRule"),
        )
    },
    RouteSpec {
        params: crate::keys::KeyRuleParams::PARAMS,
        may_be_missing: true,
        ..delete(
            Route::KeyIpRuleDelete,
            "/api/v1/keys/{id}/ip-rules/{rule}",
            "Delete an IP rule",
            Data::One("Removed"),
        )
    },
    RouteSpec {
        access: Access::Session,
        params: IdParams::PARAMS,
        may_be_missing: true,
        data: Data::One("KeyUsage"),
        ..get(
            Route::KeyUsage,
            "/api/v1/keys/{id}/usage",
            "A key's hourly usage",
        )
    },
    RouteSpec {
        description: "Stores the tier on the server session (null stops) and rotates the \
session; `/auth/me` then shows it and every limit follows it. Admin pages stay reachable.",
        body: Some("ViewAsRequest"),
        ..post(
            Route::AdminViewAs,
            Access::Admin,
            "/api/v1/admin/view-as",
            "View the app as a tier",
            Data::One("ViewAs"),
        )
    },
    RouteSpec {
        description: "`application/csp-report` or `application/reports+json`, at most 8 KiB, \
10/min per IP. No CSRF: it changes no state.",
        ok_status: 204,
        errors: &[413, 415, 429],
        ..post(
            Route::CspReport,
            Access::Public,
            "/api/v1/csp-report",
            "CSP report sink",
            Data::Nothing,
        )
    },
    RouteSpec {
        description: "Prometheus text format 0.0.4: requests by route and status with a latency \
histogram (summed over isolates from their periodic KV flushes, so up to ~90 s behind), active \
patterns, signals, notifications by status, each cron job's last run, and the circuit \
breakers. Admins only.",
        access: Access::Admin,
        data: Data::Text,
        ..get(Route::Metrics, "/api/v1/metrics", "Metrics (Prometheus)")
    },
    // ----- portfolio, trades, tags, journal (product.md §7; crate::portfolio) -----
    pf_read(
        Route::Portfolios,
        "/api/v1/portfolios",
        "My portfolios",
        Data::List("Portfolio"),
        false,
    ),
    RouteSpec {
        description: PF_QUOTA_NOTE,
        ok_status: 201,
        body: Some("PortfolioCreateRequest"),
        ..pf_write(
            Route::PortfolioCreate,
            Method::Post,
            "/api/v1/portfolios",
            "Create a portfolio",
            Data::One("Portfolio"),
            false,
        )
    },
    pf_read(
        Route::Portfolio,
        "/api/v1/portfolios/{id}",
        "One portfolio",
        Data::One("Portfolio"),
        true,
    ),
    RouteSpec {
        body: Some("PortfolioPatchRequest"),
        ..pf_write(
            Route::PortfolioEdit,
            Method::Patch,
            "/api/v1/portfolios/{id}",
            "Edit a portfolio",
            Data::One("Portfolio"),
            true,
        )
    },
    RouteSpec {
        description: "Deletes its trades, their tag links and journal entries too.",
        ..pf_write(
            Route::PortfolioDelete,
            Method::Delete,
            "/api/v1/portfolios/{id}",
            "Delete a portfolio",
            Data::One("Removed"),
            true,
        )
    },
    RouteSpec {
        description:
            "Closed trades: count, win rate, PnL, R, profit factor, drawdown, best/worst, \
breakdowns by pattern type, direction and tag, and the equity curve.",
        ..pf_read(
            Route::PortfolioStats,
            "/api/v1/portfolios/{id}/stats",
            "Portfolio statistics",
            Data::One("PortfolioStats"),
            true,
        )
    },
    RouteSpec {
        description: "Newest first (`created_at` desc, ties by id desc), keyset pages.",
        params: TradesParams::PARAMS,
        ..pf_read(
            Route::PortfolioTrades,
            "/api/v1/portfolios/{id}/trades",
            "A portfolio's trades",
            Data::Page("Trade"),
            true,
        )
    },
    RouteSpec {
        description: PF_QUOTA_NOTE,
        ok_status: 201,
        body: Some("TradeCreateRequest"),
        ..pf_write(
            Route::TradeCreate,
            Method::Post,
            "/api/v1/portfolios/{id}/trades",
            "Add a trade",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "Pending; entry, stop, TP1, side, symbol, TF, type and link from the \
pattern; quantity = balance × risk per trade (1 %) / |entry − stop|. Counts as a new trade.",
        ok_status: 201,
        body: Some("TradeFromSourceRequest"),
        params: NoParams::PARAMS,
        ..pf_write(
            Route::TradeFromPattern,
            Method::Post,
            "/api/v1/trades/from-pattern",
            "Trade from a pattern",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "As from a pattern, from a signal.",
        ok_status: 201,
        body: Some("TradeFromSourceRequest"),
        params: NoParams::PARAMS,
        ..pf_write(
            Route::TradeFromSignal,
            Method::Post,
            "/api/v1/trades/from-signal",
            "Trade from a signal",
            Data::One("Trade"),
            true,
        )
    },
    pf_read(
        Route::Trade,
        "/api/v1/trades/{id}",
        "One trade",
        Data::One("Trade"),
        true,
    ),
    RouteSpec {
        description: "Pending/open: any value; closed: exit price, exit time, fees and notes \
(PnL and balance recomputed); cancelled: notes only. Other fields → `not_editable`.",
        body: Some("TradePatchRequest"),
        ..pf_write(
            Route::TradeEdit,
            Method::Patch,
            "/api/v1/trades/{id}",
            "Edit a trade",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "A closed trade's PnL leaves the balance.",
        ..pf_write(
            Route::TradeDelete,
            Method::Delete,
            "/api/v1/trades/{id}",
            "Delete a trade",
            Data::One("Removed"),
            true,
        )
    },
    RouteSpec {
        description: "`pending → open`; else 409.",
        body: Some("TradeOpenRequest"),
        ..pf_write(
            Route::TradeOpen,
            Method::Post,
            "/api/v1/trades/{id}/open",
            "Open a trade",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "`open → closed`: PnL, PnL %, R and the balance are computed; else 409.",
        body: Some("TradeCloseRequest"),
        ..pf_write(
            Route::TradeClose,
            Method::Post,
            "/api/v1/trades/{id}/close",
            "Close a trade",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "Closes at the last stored 1m close of the symbol; 409 without one.",
        ..pf_write(
            Route::TradeCloseMarket,
            Method::Post,
            "/api/v1/trades/{id}/close-market",
            "Close at market",
            Data::One("Trade"),
            true,
        )
    },
    RouteSpec {
        description: "`pending → cancelled`; else 409.",
        ..pf_write(
            Route::TradeCancel,
            Method::Post,
            "/api/v1/trades/{id}/cancel",
            "Cancel a trade",
            Data::One("Trade"),
            true,
        )
    },
    pf_read(
        Route::TradeJournal,
        "/api/v1/trades/{id}/journal",
        "A trade's journal",
        Data::List("JournalEntry"),
        true,
    ),
    RouteSpec {
        description: "At most 50 entries per trade.",
        ok_status: 201,
        body: Some("JournalRequest"),
        ..pf_write(
            Route::TradeJournalAdd,
            Method::Post,
            "/api/v1/trades/{id}/journal",
            "Add a journal entry",
            Data::One("JournalEntry"),
            true,
        )
    },
    pf_read(
        Route::TradeTags,
        "/api/v1/trades/{id}/tags",
        "A trade's tags",
        Data::One("TradeTags"),
        true,
    ),
    RouteSpec {
        description: "Every tag must be the caller's (else 404, links unchanged).",
        body: Some("TradeTagsRequest"),
        ..pf_write(
            Route::TradeTagsSet,
            Method::Put,
            "/api/v1/trades/{id}/tags",
            "Replace a trade's tags",
            Data::One("TradeTags"),
            true,
        )
    },
    pf_write(
        Route::JournalDelete,
        Method::Delete,
        "/api/v1/journal/{id}",
        "Delete a journal entry",
        Data::One("Removed"),
        true,
    ),
    pf_read(
        Route::JournalEntry,
        "/api/v1/journal/{id}",
        "One journal entry",
        Data::One("JournalEntry"),
        true,
    ),
    RouteSpec {
        description: "Absent members keep their value; validated like a new entry.",
        body: Some("JournalPatchRequest"),
        ..pf_write(
            Route::JournalEdit,
            Method::Patch,
            "/api/v1/journal/{id}",
            "Edit a journal entry",
            Data::One("JournalEntry"),
            true,
        )
    },
    pf_read(
        Route::Tags,
        "/api/v1/tags",
        "My tags",
        Data::List("Tag"),
        false,
    ),
    RouteSpec {
        description: "Names unique per user (409); at most 100 tags.",
        ok_status: 201,
        body: Some("TagRequest"),
        ..pf_write(
            Route::TagCreate,
            Method::Post,
            "/api/v1/tags",
            "Create a tag",
            Data::One("Tag"),
            false,
        )
    },
    pf_read(
        Route::Tag,
        "/api/v1/tags/{id}",
        "One tag",
        Data::One("Tag"),
        true,
    ),
    pf_write(
        Route::TagDelete,
        Method::Delete,
        "/api/v1/tags/{id}",
        "Delete a tag",
        Data::One("Removed"),
        true,
    ),
    RouteSpec {
        description: "Absent members keep their value; a name another of your tags has → 409.",
        body: Some("TagPatchRequest"),
        ..pf_write(
            Route::TagEdit,
            Method::Patch,
            "/api/v1/tags/{id}",
            "Edit a tag",
            Data::One("Tag"),
            true,
        )
    },
    // ----- payments and subscriptions (product.md §6, §11.20; crate::payments) -----
    RouteSpec {
        description: "Creates a `pending` payment and returns the provider's hosted page. Needs a \
verified email (`email_unverified`); 10 per hour per user. `cycle` for pro/premium only, `crypto` \
(a configured coin) for NOWPayments only. 409 while a lifetime plan runs or the subscription is \
suspended.",
        body: Some("CheckoutRequest"),
        ok_status: 201,
        errors: &[403, 409, 413, 415, 429],
        ..post(
            Route::PaymentCheckout,
            Access::Session,
            "/api/v1/payments/checkout",
            "Start a checkout",
            Data::One("CheckoutStarted"),
        )
    },
    RouteSpec {
        description: "My payments, newest first (`created_at` desc, ties by id desc).",
        params: PaymentsParams::PARAMS,
        data: Data::Page("Payment"),
        access: Access::Session,
        ..get(Route::Payments, "/api/v1/payments", "My payments")
    },
    RouteSpec {
        description: "Another user's payment answers 404.",
        params: IdParams::PARAMS,
        data: Data::One("Payment"),
        access: Access::Session,
        may_be_missing: true,
        ..get(
            Route::Payment,
            "/api/v1/payments/{id}",
            "One of my payments",
        )
    },
    RouteSpec {
        description: "Asks NOWPayments for the payment's current status and applies it like its \
IPN (forward-only, deduplicated). LemonSqueezy payments, and invoices nobody started paying, \
answer the stored state with `checked: false`.",
        params: IdParams::PARAMS,
        may_be_missing: true,
        ..post(
            Route::PaymentCheck,
            Access::Session,
            "/api/v1/payments/{id}/check",
            "Check a payment now",
            Data::One("PaymentCheck"),
        )
    },
    RouteSpec {
        description: "Plan, status, expiry and the end of access (3-day grace after expiry for \
active and expired subscriptions, none once cancelled).",
        data: Data::One("Subscription"),
        access: Access::Session,
        ..get(
            Route::MySubscription,
            "/api/v1/me/subscription",
            "My subscription",
        )
    },
    RouteSpec {
        description: "`X-Signature` = hex HMAC-SHA256(signing secret, raw body), verified before \
the body is read; ≤ 256 KiB. No session, no CSRF. Replays are acknowledged without effect.",
        errors: &[413],
        ..post(
            Route::WebhookLemonSqueezy,
            Access::Signature,
            "/api/v1/webhooks/lemonsqueezy",
            "LemonSqueezy webhook",
            Data::One("WebhookAck"),
        )
    },
    RouteSpec {
        description: "`x-nowpayments-sig` = hex HMAC-SHA512(IPN secret, key-sorted compact JSON \
of the body), verified before the body is used; ≤ 256 KiB. No session, no CSRF.",
        errors: &[413],
        ..post(
            Route::WebhookNowPayments,
            Access::Signature,
            "/api/v1/webhooks/nowpayments",
            "NOWPayments IPN",
            Data::One("WebhookAck"),
        )
    },
    // ----- optimizer (product.md §8, §9) and trading prefs (§2, §3; crate::optimizer) -----
    RouteSpec {
        description: "Newest first (`created_at` desc, ties by id desc), keyset pages.",
        params: crate::params::PaymentsParams::PARAMS,
        data: Data::Page("OptimizerJob"),
        access: Access::Admin,
        ..get(
            Route::OptimizerJobs,
            "/api/v1/admin/optimizer/jobs",
            "Optimizer jobs",
        )
    },
    RouteSpec {
        description: "Queues a grid search over symbols × TFs × pattern types × the detection.md \
grid (rr 1–5 × SL buffer 3–30 % × expiry 0.5/1/2); at most 5000 runs. The every-minute dispatch \
job runs it in chunks; poll `GET /admin/optimizer/jobs/{id}`. Audited.",
        ok_status: 202,
        body: Some("OptimizerJobRequest"),
        ..post(
            Route::OptimizerJobCreate,
            Access::Admin,
            "/api/v1/admin/optimizer/jobs",
            "Queue an optimizer job",
            Data::One("OptimizerJob"),
        )
    },
    RouteSpec {
        description: "Progress, the top 100 runs by `metric` and the best run per (symbol, type, \
TF) among runs with at least 10 trades.",
        params: crate::optimizer::JobParams::PARAMS,
        data: Data::One("OptimizerJobDetail"),
        access: Access::Admin,
        may_be_missing: true,
        ..get(
            Route::OptimizerJob,
            "/api/v1/admin/optimizer/jobs/{id}",
            "One optimizer job",
        )
    },
    RouteSpec {
        description: "Side by side, the best run of each job per (symbol, type, TF) either has.",
        params: crate::optimizer::CompareParams::PARAMS,
        data: Data::List("OptimizerComparison"),
        access: Access::Admin,
        may_be_missing: true,
        ..get(
            Route::OptimizerCompare,
            "/api/v1/admin/optimizer/jobs/{id}/compare/{other}",
            "Compare two optimizer jobs",
        )
    },
    RouteSpec {
        description: "Writes the job's best params by `metric` into the user's per-symbol \
preferences (source `optimizer`, the run recorded). 409 when no run has 10 trades. Audited.",
        params: crate::optimizer::JobPath::PARAMS,
        body: Some("OptimizerApplyRequest"),
        may_be_missing: true,
        errors: WRITE_CONFLICT,
        ..post(
            Route::OptimizerApply,
            Access::Admin,
            "/api/v1/admin/optimizer/jobs/{id}/apply",
            "Apply best params to a user",
            Data::One("OptimizerApplied"),
        )
    },
    RouteSpec {
        description: "Removes every optimizer-tuned param of the user (back to defaults). Audited.",
        params: crate::optimizer::UserPath::PARAMS,
        may_be_missing: true,
        ..write(
            Route::OptimizerClear,
            Method::Delete,
            Access::Admin,
            "/api/v1/admin/optimizer/users/{id}/params",
            "Clear a user's tuned params",
            Data::One("OptimizerApplied"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: "Risk per trade % and default R:R (null = the default; `editable` for pro \
and premium) and the optimizer-tuned params applied to the caller (read-only).",
        data: Data::One("TradingPrefs"),
        ..get(
            Route::MyTradingPrefs,
            "/api/v1/me/preferences/trading",
            "My trading preferences",
        )
    },
    RouteSpec {
        description: "Pro and premium (403 `tier_required`): risk per trade % 0.1–10, default \
R:R 0.5–10, at most 2 decimals; null or absent = the default. Field errors → 400.",
        body: Some("TradingPrefsRequest"),
        ..write(
            Route::MyTradingPrefsPut,
            Method::Put,
            Access::Session,
            "/api/v1/me/preferences/trading",
            "Set my trading preferences",
            Data::One("TradingPrefs"),
        )
    },
    RouteSpec {
        description: "Removes the optimizer-tuned params applied to the caller (back to the \
defaults); any tier.",
        ..delete(
            Route::MyTunedParamsReset,
            "/api/v1/me/preferences/tuned",
            "Reset my tuned params",
            Data::One("TradingPrefs"),
        )
    },
    // ----- notification settings (product.md §3, §5; crate::notifications) -----
    RouteSpec {
        access: Access::Session,
        description: "The ntfy topic to subscribe to and the notification preferences. Session \
only.",
        data: Data::One("NotificationPrefs"),
        ..get(
            Route::MyPreferences,
            "/api/v1/me/preferences",
            "My notification preferences",
        )
    },
    RouteSpec {
        description: "Replaces every preference: `directions` both|long|short, \
`min_confluence` 1–7, `priority` 1–5, quiet hours as two different UTC minutes of the day \
(0–1439, may wrap midnight) or both null (off). Field errors → 400 `validation_failed`.",
        body: Some("NotificationPrefsRequest"),
        ..write(
            Route::MyPreferencesPut,
            Method::Put,
            Access::Session,
            "/api/v1/me/preferences",
            "Set my notification preferences",
            Data::One("NotificationPrefs"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: "The active symbols of the caller's tier with their notification flags; \
`editable` is true for premium.",
        data: Data::List("SymbolNotify"),
        ..get(Route::MySymbols, "/api/v1/me/symbols", "My symbols")
    },
    RouteSpec {
        description: "One toggle; premium only (403 `tier_required`). A symbol that is not an \
active symbol of the caller's tier answers 404. Returns the updated list.",
        body: Some("SymbolNotifyRequest"),
        may_be_missing: true,
        ..write(
            Route::MySymbolsPut,
            Method::Put,
            Access::Session,
            "/api/v1/me/symbols",
            "Set a symbol's notifications",
            Data::List("SymbolNotify"),
        )
    },
    RouteSpec {
        description: "A new random topic (`cl_` + 16 hex); the old one stops receiving.",
        ..post(
            Route::MyTopicRegenerate,
            Access::Session,
            "/api/v1/me/topic/regenerate",
            "New ntfy topic",
            Data::One("Topic"),
        )
    },
    RouteSpec {
        description: "Queues a test message to the caller's topic; the next scheduled run (within \
a minute) sends it. Verified email only (403 `email_unverified`); 5 per hour (429 + \
`Retry-After`).",
        ok_status: 202,
        errors: WRITE_LIMITED,
        ..post(
            Route::MyNotificationTest,
            Access::Session,
            "/api/v1/me/notifications/test",
            "Send a test notification",
            Data::One("Topic"),
        )
    },
    // ----- admin: notifications (product.md §5, §9; crate::notify_admin) -----
    RouteSpec {
        description: "By name.",
        data: Data::List("NoticeTemplate"),
        access: Access::Admin,
        ..get(
            Route::AdminNoticeTemplates,
            "/api/v1/admin/notifications/templates",
            "Notification templates",
        )
    },
    RouteSpec {
        description: NOTICE_TEMPLATE_NOTE,
        body: Some("NoticeTemplateRequest"),
        ok_status: 201,
        errors: WRITE_CONFLICT,
        ..post(
            Route::AdminNoticeTemplateCreate,
            Access::Admin,
            "/api/v1/admin/notifications/templates",
            "Create a template",
            Data::One("NoticeTemplate"),
        )
    },
    RouteSpec {
        description: NOTICE_TEMPLATE_NOTE,
        params: IdParams::PARAMS,
        body: Some("NoticeTemplateRequest"),
        may_be_missing: true,
        errors: WRITE_CONFLICT,
        ..write(
            Route::AdminNoticeTemplateEdit,
            Method::Put,
            Access::Admin,
            "/api/v1/admin/notifications/templates/{id}",
            "Replace a template",
            Data::One("NoticeTemplate"),
        )
    },
    RouteSpec {
        description: "Broadcasts and schedules keep their copy of the content. Audited.",
        params: IdParams::PARAMS,
        may_be_missing: true,
        ..write(
            Route::AdminNoticeTemplateDelete,
            Method::Delete,
            Access::Admin,
            "/api/v1/admin/notifications/templates/{id}",
            "Delete a template",
            Data::One("NoticeDeleted"),
        )
    },
    RouteSpec {
        description: "How many would receive a broadcast right now (active, verified users with notifications on, by tier; or the topics of `global`/`topics`). Writes nothing; a POST because a topic list can be long.",
        body: Some("AudienceRequest"),
        ..post(
            Route::AdminNoticeAudience,
            Access::Admin,
            "/api/v1/admin/notifications/audience",
            "Count an audience",
            Data::One("AudienceCount"),
        )
    },
    RouteSpec {
        description: "Newest first (50), with live delivery counts.",
        data: Data::List("Broadcast"),
        access: Access::Admin,
        ..get(
            Route::AdminBroadcasts,
            "/api/v1/admin/notifications/broadcasts",
            "Broadcasts",
        )
    },
    RouteSpec {
        description: "Queued (202); the every-minute dispatch job writes one delivery per \
recipient and sends each once. Audited.",
        body: Some("BroadcastRequest"),
        ok_status: 202,
        ..post(
            Route::AdminBroadcastCreate,
            Access::Admin,
            "/api/v1/admin/notifications/broadcasts",
            "Broadcast a notification",
            Data::One("Broadcast"),
        )
    },
    RouteSpec {
        description: "Soonest first, every state.",
        data: Data::List("Schedule"),
        access: Access::Admin,
        ..get(
            Route::AdminSchedules,
            "/api/v1/admin/notifications/schedules",
            "Scheduled notifications",
        )
    },
    RouteSpec {
        description: "Sent by the first dispatch run at or after `send_at`, once. Audited.",
        body: Some("ScheduleRequest"),
        ok_status: 201,
        ..post(
            Route::AdminScheduleCreate,
            Access::Admin,
            "/api/v1/admin/notifications/schedules",
            "Schedule a notification",
            Data::One("Schedule"),
        )
    },
    RouteSpec {
        description: "409 when it is no longer scheduled (sent or cancelled). Audited.",
        params: IdParams::PARAMS,
        may_be_missing: true,
        errors: WRITE_CONFLICT,
        ..post(
            Route::AdminScheduleCancel,
            Access::Admin,
            "/api/v1/admin/notifications/schedules/{id}/cancel",
            "Cancel a scheduled notification",
            Data::One("Schedule"),
        )
    },
    RouteSpec {
        description: "Queues a test message to `topic` or the global topic; the next scheduled \
run sends it. Audited.",
        body: Some("AdminTestRequest"),
        ok_status: 202,
        ..post(
            Route::AdminNoticeTest,
            Access::Admin,
            "/api/v1/admin/notifications/test",
            "ntfy test send",
            Data::One("AdminTest"),
        )
    },
    RouteSpec {
        access: Access::Session,
        description: "Pro and premium. Masked: `****` and the last 4 characters of the key; \
never the key, secret or passphrase.",
        data: Data::List("ExchangeCredential"),
        errors: &[403],
        ..get(
            Route::ExchangeCredentials,
            "/api/v1/me/exchange-credentials",
            "My exchange credentials",
        )
    },
    RouteSpec {
        description: "Pro and premium; needs a re-authentication within 10 minutes (403 \
`reauth_required`). Sealed with AES-256-GCM; replaces the credential of the same exchange and \
label.",
        body: Some("ExchangeCredentialRequest"),
        ..write(
            Route::ExchangeCredentialsPut,
            Method::Put,
            Access::Session,
            "/api/v1/me/exchange-credentials",
            "Store an exchange credential",
            Data::One("ExchangeCredential"),
        )
    },
    RouteSpec {
        description: "Deletes every exchange credential of the caller (any tier).",
        ..delete(
            Route::ExchangeCredentialsDelete,
            "/api/v1/me/exchange-credentials",
            "Delete my exchange credentials",
            Data::One("CredentialsDeleted"),
        )
    },
    RouteSpec {
        access: BT_ACCESS,
        description: BT_NOTE,
        data: Data::List("Backtest"),
        errors: &[403],
        ..get(Route::Backtests, "/api/v1/backtests", "My backtests")
    },
    RouteSpec {
        description: "Premium: 1 running and 20 per UTC day (403 `quota_exceeded`). 202: queued \
(or already running/done: the first chunk of 2000 candles runs in the request); poll \
`GET /backtests/{id}`.",
        ok_status: 202,
        body: Some("BacktestRequest"),
        errors: WRITE_CONFLICT,
        ..post(
            Route::BacktestCreate,
            BT_ACCESS,
            "/api/v1/backtests",
            "Queue a backtest",
            Data::One("Backtest"),
        )
    },
    RouteSpec {
        access: BT_ACCESS,
        description: BT_NOTE,
        params: IdParams::PARAMS,
        data: Data::One("BacktestDetail"),
        may_be_missing: true,
        errors: &[403],
        ..get(Route::Backtest, "/api/v1/backtests/{id}", "One backtest")
    },
    RouteSpec {
        description: BT_NOTE,
        params: IdParams::PARAMS,
        may_be_missing: true,
        ..write(
            Route::BacktestDelete,
            Method::Delete,
            BT_ACCESS,
            "/api/v1/backtests/{id}",
            "Delete a backtest",
            Data::One("Removed"),
        )
    },

    RouteSpec {
        description: crate::ops::SCAN_NOTE,
        ok_status: 202,
        body: Some("RunRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::RunScan,
            Access::ApiKey(&[Scope::WriteScan]),
            "/api/v1/scan",
            "Queue a detection run",
            Data::One("QueuedRun"),
        )
    },
    RouteSpec {
        description: crate::ops::FULL_CYCLE_NOTE,
        ok_status: 202,
        body: Some("RunRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::RunFullCycle,
            Access::ApiKey(&[Scope::WriteScan]),
            "/api/v1/scan/run",
            "Queue a full cycle",
            Data::One("QueuedRun"),
        )
    },
    RouteSpec {
        description: crate::ops::FETCH_NOTE,
        ok_status: 202,
        body: Some("RunRequest"),
        errors: WRITE_LIMITED,
        ..post(
            Route::RunFetch,
            Access::ApiKey(&[Scope::WriteFetch]),
            "/api/v1/fetch",
            "Queue a fetch",
            Data::One("QueuedRun"),
        )
    },
    RouteSpec {
        description: crate::ops::STATUS_NOTE,
        access: Access::ApiKey(&[]),
        params: IdParams::PARAMS,
        data: Data::One("QueuedRun"),
        may_be_missing: true,
        errors: &[403],
        ..get(Route::RunStatus, "/api/v1/runs/{id}", "One queued run")
    },
    RouteSpec {
        description: crate::ops::RUN_NOW_NOTE,
        params: crate::ops::ACTION_PARAMS,
        ok_status: 202,
        errors: WRITE_LIMITED,
        ..post(
            Route::AdminCronRunNow,
            Access::Admin,
            "/api/v1/admin/crons/{name}/run",
            "Run a job now",
            Data::One("QueuedRun"),
        )
    },
    RouteSpec {
        description: crate::ops::HISTORICAL_NOTE,
        params: IdParams::PARAMS,
        ok_status: 202,
        body: Some("HistoricalFetchRequest"),
        may_be_missing: true,
        errors: WRITE_LIMITED,
        ..post(
            Route::AdminSymbolHistoricalFetch,
            Access::Admin,
            "/api/v1/admin/symbols/{id}/historical-fetch",
            "Queue a historical fetch",
            Data::One("QueuedRun"),
        )
    },
    RouteSpec {
        description: crate::ops::IMPORT_NOTE,
        params: IdParams::PARAMS,
        body: Some("ImportRequest"),
        may_be_missing: true,
        ..post(
            Route::AdminSymbolImport,
            Access::Admin,
            "/api/v1/admin/symbols/{id}/import",
            "Import candles",
            Data::One("ImportResult"),
        )
    },
];

const BT_ACCESS: Access = Access::ApiKey(&[Scope::WriteBacktest]);
const BT_NOTE: &str = "A session (CSRF on writes) or an API key with `write:backtest`; premium \
(403 `tier_required`). Another user's backtest answers 404.";

const PF_NOTE: &str = "A session (CSRF on writes) or an API key with the scope. Free tier: 403 \
`tier_required`. Another user's object answers 404.";
const PF_QUOTA_NOTE: &str = "Pro: 1 portfolio and 5 new trades per UTC day; every tier: ≤ 20 \
portfolios, ≤ 10 000 trades per portfolio → 403 `quota_exceeded`.";
const PF_READ: Access = Access::ApiKey(&[Scope::ReadPortfolio]);
const PF_WRITE: Access = Access::ApiKey(&[Scope::WritePortfolio]);

/// A portfolio read: 403 `tier_required`, 404 when `by_id`.
const fn pf_read(
    route: Route,
    path: &'static str,
    summary: &'static str,
    data: Data,
    by_id: bool,
) -> RouteSpec {
    RouteSpec {
        access: PF_READ,
        description: PF_NOTE,
        params: if by_id {
            IdParams::PARAMS
        } else {
            NoParams::PARAMS
        },
        data,
        may_be_missing: by_id,
        errors: &[403],
        ..get(route, path, summary)
    }
}

/// A portfolio write: CSRF/tier/quota 403, 409 (state, name taken), 413, 415, 404 when `by_id`.
const fn pf_write(
    route: Route,
    method: Method,
    path: &'static str,
    summary: &'static str,
    data: Data,
    by_id: bool,
) -> RouteSpec {
    RouteSpec {
        description: PF_NOTE,
        params: if by_id {
            IdParams::PARAMS
        } else {
            NoParams::PARAMS
        },
        may_be_missing: by_id,
        errors: WRITE_CONFLICT,
        ..write(route, method, PF_WRITE, path, summary, data)
    }
}

/// The scopes an API key needs on a read route (a session needs none).
pub const fn planned_scopes(route: Route) -> &'static [Scope] {
    match route {
        Route::Symbols => &[Scope::ReadSymbols],
        Route::Candles => &[Scope::ReadCandles],
        Route::Chart => &[Scope::ReadCandles, Scope::ReadPatterns],
        Route::Patterns | Route::Pattern => &[Scope::ReadPatterns],
        Route::Signals | Route::Signal => &[Scope::ReadSignals],
        Route::Matrix => &[Scope::ReadMatrix],
        // The analytics are pattern and signal counts: the pattern read scope covers them.
        Route::Stats => &[Scope::ReadPatterns],
        _ => &[],
    }
}

impl Route {
    /// The route's table entry.
    pub fn spec(self) -> Option<&'static RouteSpec> {
        TABLE.iter().find(|s| s.route == self)
    }

    /// The route template, for logs and metrics.
    pub fn template(self) -> &'static str {
        self.spec().map_or("(unknown)", |s| s.path)
    }
}

/// The raw (still percent-encoded) values of a route's `{name}` segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    /// The raw value of `{name}`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The table entry.
    pub spec: &'static RouteSpec,
    /// The captured segments.
    pub params: PathParams,
}

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists but not for this method; carries the `Allow` header value.
    MethodNotAllowed(String),
}

/// Matches a full request path (with the `/api/v1` prefix) against [`TABLE`].
///
/// # Errors
/// [`NoRoute`] when nothing matches.
pub fn match_route(method: Method, path: &str) -> Result<Matched, NoRoute> {
    match_in(TABLE, method, path)
}

/// Matches against any table (the tests use small ones).
///
/// # Errors
/// [`NoRoute`] when nothing matches.
pub fn match_in(
    table: &'static [RouteSpec],
    method: Method,
    path: &str,
) -> Result<Matched, NoRoute> {
    if !path.starts_with(API_PREFIX) {
        return Err(NoRoute::NotFound);
    }
    // A single trailing slash is tolerated; anything fancier is a different path.
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.ends_with('/'))
        .unwrap_or(path);
    let mut allowed: Vec<Method> = Vec::new();
    for spec in table {
        let Some(params) = capture(spec.path, path) else {
            continue;
        };
        if spec.method == method || (spec.method == Method::Get && method == Method::Head) {
            return Ok(Matched { spec, params });
        }
        allowed.push(spec.method);
    }
    if allowed.is_empty() {
        return Err(NoRoute::NotFound);
    }
    Err(NoRoute::MethodNotAllowed(allow_header(&allowed)))
}

fn capture(template: &'static str, path: &str) -> Option<PathParams> {
    let mut tpl = template.split('/');
    let mut segs = path.split('/');
    let mut params = Vec::new();
    loop {
        match (tpl.next(), segs.next()) {
            (None, None) => return Some(PathParams(params)),
            (Some(t), Some(s)) => {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    if s.is_empty() {
                        return None;
                    }
                    params.push((name, s.to_owned()));
                } else if t != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn allow_header(methods: &[Method]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for m in methods {
        names.push(m.as_str());
        if *m == Method::Get {
            names.push(Method::Head.as_str());
        }
    }
    names.dedup();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &str) -> Result<Route, NoRoute> {
        match_route(method, path).map(|m| m.spec.route)
    }

    #[test]
    fn health_routes_match_get_and_head() {
        assert_eq!(route(Method::Get, "/api/v1/health"), Ok(Route::Health));
        assert_eq!(
            route(Method::Head, "/api/v1/health/live"),
            Ok(Route::HealthLive)
        );
        assert_eq!(
            route(Method::Get, "/api/v1/health/ready/"),
            Ok(Route::HealthReady)
        );
    }

    #[test]
    fn wrong_methods_get_405_and_unknown_paths_404() {
        assert_eq!(
            route(Method::Post, "/api/v1/health"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD".into()))
        );
        assert_eq!(
            route(Method::Delete, "/api/v1/patterns/7"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD".into()))
        );
        for missing in [
            "/api/v1/nope",
            "/api/v2/health",
            "/api/v1/health//",
            "/api/v1/candles/BTC-USDT",
            "/api/v1/candles/BTC-USDT/1h/extra",
            "/api/v1/patterns//",
            "/api/v1x/health",
        ] {
            assert_eq!(
                route(Method::Get, missing),
                Err(NoRoute::NotFound),
                "{missing}"
            );
        }
    }

    #[test]
    fn segment_parameters_are_captured_raw() {
        let m = match_route(Method::Get, "/api/v1/candles/BTC%2FUSDT/1h").unwrap();
        assert_eq!(m.spec.route, Route::Candles);
        assert_eq!(m.params.get("symbol"), Some("BTC%2FUSDT"));
        assert_eq!(m.params.get("tf"), Some("1h"));
        let m = match_route(Method::Get, "/api/v1/signals/42/").unwrap();
        assert_eq!(m.spec.route, Route::Signal);
        assert_eq!(m.params.get("id"), Some("42"));
    }

    #[test]
    fn every_route_is_listed_once_with_its_own_template() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.route, b.route);
                assert!(
                    !(a.path == b.path && a.method == b.method),
                    "{} twice",
                    a.path
                );
            }
            assert_eq!(a.route.template(), a.path);
            assert!(a.path.starts_with(API_PREFIX));
        }
    }

    #[test]
    fn a_stricter_route_in_a_table_still_matches_so_the_gate_can_deny_it() {
        static STRICT: &[RouteSpec] = &[RouteSpec {
            access: Access::Admin,
            ..get(Route::Matrix, "/api/v1/admin/{id}", "x")
        }];
        let m = match_in(STRICT, Method::Get, "/api/v1/admin/3").unwrap();
        assert_eq!(m.spec.access, Access::Admin);
        assert!(crate::access::decide(m.spec.access, None).is_err());
    }
}
