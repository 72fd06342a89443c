//! # cl-api: the HTTP surface, free of any framework
//!
//! The worker turns a `worker::Request` into a plain [`http::Request`], calls
//! [`handle_api`] (or serves a static asset), and passes the result through [`finalize`].
//! Everything here therefore runs natively under `cargo test`, with fake dependency probes.
//!
//! Design:
//! - One route table ([`routes`]) declares every route once: method, path template, access
//!   level ([`access`], deny by default), parameters and response shape. Dispatch, the access
//!   gate and the OpenAPI document ([`openapi`]) are all driven by it.
//! - Path, query and header inputs are parsed once into typed values ([`params`]); handlers
//!   ([`handlers`]) receive only those and hold no validation.
//! - [`App`] is generic over the store ([`Store`] = the market-data ports), so every endpoint
//!   runs on the host against `cl-store-memory`.
//! - One [`error::ApiError`] renders every failure as the JSON envelope with a stable code; its
//!   internal cause goes to the log line, never to the client.
//! - [`finalize`] adds the security headers and `X-Request-ID` to every response, API and
//!   assets alike, so no path can forget them.
//! - [`config::Config`] is read once; in production a bad config makes every route answer 503.
//! - The account routes ([`auth`]) take their dependencies as one bundle
//!   ([`auth::Accounts`], behind [`auth::AccountDeps`]) passed to [`handle_api_with`];
//!   [`handle_api`] passes [`auth::NoAccounts`], so every account route answers 503 there.
//!   [`access::guard`] is the one gate (keys, CSRF + Origin, session, admin), JSON bodies go
//!   through [`body`], cookies through [`cookies`], CORS through [`cors`].

pub mod access;
pub mod admin;
pub mod auth;
pub mod backtests;
pub mod body;
pub mod client_limit;
pub mod config;
pub mod context;
pub mod cookies;
pub mod cors;
pub mod credentials;
pub mod csp;
pub mod error;
pub mod events;
pub mod handlers;
pub mod headers;
pub mod health;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod notifications;
pub mod notify_admin;
pub mod openapi;
pub mod ops;
pub mod optimizer;
pub mod params;
pub mod payments;
pub mod portfolio;
pub mod routes;
pub mod scheduler;
pub mod stats;

use auth::AccountDeps;
use cl_api_types::{ErrorCode, HealthStatus, Liveness};
use cl_app::metrics::MetricsStore;
use cl_app::ports::optimization::TradingPrefsStore;
use cl_app::ports::{CandleStore, PatternStore, SignalStore, SymbolStore};
use config::Config;
use context::RequestContext;
use error::ApiError;
use health::DependencyProbes;
use http::{Method, Request, Response};
use params::{
    CandlesParams, Extract, IdParams, MatrixParams, NoParams, PatternsParams, SignalsParams,
    SymbolsParams,
};
use routes::{Matched, NoRoute, Route};
use serde::Serialize;

/// Everything the read endpoints need from storage: the four market-data ports, the metrics
/// snapshot and the caller's trading preferences (a signal's TP3 / R:R follow its default R:R).
pub trait Store:
    SymbolStore + CandleStore + PatternStore + SignalStore + MetricsStore + TradingPrefsStore
{
}

impl<T> Store for T where
    T: SymbolStore + CandleStore + PatternStore + SignalStore + MetricsStore + TradingPrefsStore
{
}

/// The application state the worker builds once per request from its `Env`.
pub struct App<P, S> {
    /// The checked configuration.
    pub config: Config,
    /// Dependency probes over the platform's bindings.
    pub probes: P,
    /// The primary store (D1, Postgres, or memory in tests).
    pub store: S,
}

/// The outcome of [`handle_api`]: the response plus what the access log needs.
#[derive(Debug)]
pub struct Handled {
    /// The response, before [`finalize`].
    pub response: Response,
    /// The matched route template, or a fixed label for misses.
    pub route: &'static str,
    /// The internal cause of an error, for the log only.
    pub error_cause: Option<String>,
}

/// Handles a request under `/api/` without account dependencies: the account routes answer
/// 503. See [`handle_api_with`].
pub async fn handle_api<P: DependencyProbes, S: Store>(
    app: &App<P, S>,
    req: &Request,
    ctx: &RequestContext,
) -> Handled {
    handle_api_with(app, &auth::NoAccounts, req, ctx).await
}

/// Handles a request under `/api/`: CORS preflight, match, gate ([`access::guard`]), extract,
/// handle; every failure becomes the one error envelope, and every response gets the CORS
/// headers (`Vary: Origin`, an allowed origin echoed, never credentials).
pub async fn handle_api_with<P: DependencyProbes, S: Store, A: AccountDeps>(
    app: &App<P, S>,
    accounts: &A,
    req: &Request,
    ctx: &RequestContext,
) -> Handled {
    let mut handled = route_api(app, accounts, req, ctx).await;
    if req.method != Method::Options {
        cors::apply(&app.config, req, &mut handled.response.headers);
    }
    handled
}

async fn route_api<P: DependencyProbes, S: Store, A: AccountDeps>(
    app: &App<P, S>,
    accounts: &A,
    req: &Request,
    ctx: &RequestContext,
) -> Handled {
    if req.method == Method::Options {
        return match routes::match_route(Method::Other, &req.path) {
            Err(NoRoute::MethodNotAllowed(allow)) => Handled {
                response: cors::preflight(&app.config, req, &allow),
                route: "(preflight)",
                error_cause: None,
            },
            _ => miss(ApiError::new(ErrorCode::NotFound), ctx, "(unmatched)"),
        };
    }
    let matched = match routes::match_route(req.method, &req.path) {
        Ok(matched) => matched,
        Err(NoRoute::NotFound) => {
            return miss(ApiError::new(ErrorCode::NotFound), ctx, "(unmatched)");
        }
        Err(NoRoute::MethodNotAllowed(allow)) => {
            let mut handled = miss(ApiError::new(ErrorCode::MethodNotAllowed), ctx, "(method)");
            handled.response.headers.set("allow", allow);
            return handled;
        }
    };
    let result = match access::guard(accounts, &app.config, matched.spec, req, ctx).await {
        Ok(caller) if matched.spec.route.needs_accounts() => {
            accounts.serve(&matched, &caller, req, ctx).await
        }
        Ok(caller) => dispatch(app, req, &matched, ctx, &caller).await,
        Err(err) => Err(err),
    };
    let (mut response, error_cause) = match result {
        Ok(resp) => (resp, None),
        Err(err) => {
            let cause = err.cause().map(str::to_owned);
            (err.into_response(ctx), cause)
        }
    };
    if req.method == Method::Head {
        response.body.clear();
    }
    Handled {
        response,
        route: matched.spec.path,
        error_cause,
    }
}

async fn dispatch<P: DependencyProbes, S: Store>(
    app: &App<P, S>,
    req: &Request,
    matched: &Matched,
    ctx: &RequestContext,
    caller: &access::Caller,
) -> Result<Response, ApiError> {
    let path = &matched.params;
    let store = &app.store;
    // The caller's tier (the gate's); a caller without one sees what the free tier sees.
    let free = cl_app::policy::effective_access(false, None, None, ctx.now_ms);
    let tier = caller.tier_access().unwrap_or(&free);
    // Whose trading preferences shape the signals (the key owner's for an API key).
    let user = caller.user().map(|u| u.id);
    match matched.spec.route {
        Route::HealthLive => {
            NoParams::extract(req, path)?;
            error::ok(ctx, 200, Liveness { live: true })
        }
        Route::Health | Route::HealthReady => {
            NoParams::extract(req, path)?;
            let report = health::report(&app.config, &app.probes).await;
            let status = if report.status == HealthStatus::Down {
                503
            } else {
                200
            };
            error::ok(ctx, status, report)
        }
        Route::OpenApi => {
            NoParams::extract(req, path)?;
            Ok(Response::json(200, openapi::document_bytes()))
        }
        Route::Symbols => {
            handlers::symbols(store, SymbolsParams::extract(req, path)?, tier, ctx).await
        }
        Route::Candles => {
            handlers::candles(store, CandlesParams::extract(req, path)?, tier, ctx).await
        }
        Route::Chart => handlers::chart(store, CandlesParams::extract(req, path)?, tier, ctx).await,
        Route::Patterns => {
            handlers::patterns(store, PatternsParams::extract(req, path)?, tier, ctx).await
        }
        Route::Pattern => handlers::pattern(store, IdParams::extract(req, path)?, tier, ctx).await,
        Route::Signals => {
            let p = SignalsParams::extract(req, path)?;
            handlers::signals(store, p, user, tier, ctx).await
        }
        Route::Signal => {
            handlers::signal(store, IdParams::extract(req, path)?, user, tier, ctx).await
        }
        Route::Matrix => {
            let cache = app.probes.matrix_cache();
            handlers::matrix(store, &cache, MatrixParams::extract(req, path)?, tier, ctx).await
        }
        Route::Metrics => {
            NoParams::extract(req, path)?;
            metrics::serve(store, &app.probes).await
        }
        // Served by the account dependencies (see `route_api`).
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

fn miss(err: ApiError, ctx: &RequestContext, label: &'static str) -> Handled {
    Handled {
        response: err.into_response(ctx),
        route: label,
        error_cause: None,
    }
}

/// The 503 every route answers while a production config is refused.
pub fn refusal(ctx: &RequestContext) -> Response {
    ApiError::new(ErrorCode::ServiceUnavailable).into_response(ctx)
}

/// A JSON 404 for paths that must never be served, even by the SPA fallback.
pub fn not_found(ctx: &RequestContext) -> Response {
    ApiError::new(ErrorCode::NotFound).into_response(ctx)
}

/// Paths that are never served (product.md §11.25): any dot-segment (`/.git/…`,
/// `/.dev.vars`, `/.env`) and build files, whatever the asset directory holds.
pub fn is_forbidden_static_path(path: &str) -> bool {
    const BUILD_FILES: [&str; 5] = [
        "wrangler.toml",
        "Cargo.toml",
        "Cargo.lock",
        "package.json",
        "package-lock.json",
    ];
    path.split('/')
        .any(|seg| seg.starts_with('.') && !seg.is_empty())
        || path
            .split('/')
            .any(|seg| BUILD_FILES.iter().any(|f| seg.eq_ignore_ascii_case(f)))
        || path.contains('\\')
        || path.to_ascii_lowercase().contains("%2e")
}

/// Adds the security headers and `X-Request-ID`. API responses get `Cache-Control: no-store`
/// unless their handler chose a policy (only the matrix does: revalidate with its ETag).
pub fn finalize(mut resp: Response, ctx: &RequestContext, is_api: bool) -> Response {
    headers::apply_security_headers(&mut resp.headers);
    resp.headers.set("x-request-id", ctx.request_id.clone());
    if is_api && resp.headers.get("cache-control").is_none() {
        resp.headers.set("cache-control", "no-store");
    }
    resp
}

/// One structured access-log line (product.md §12). Holds no header values, bodies or
/// query strings, so no secret can reach it.
#[derive(Debug, Serialize)]
pub struct AccessLog<'a> {
    /// Server time, UTC ms.
    pub ts: i64,
    /// `info`, `warn` or `error`.
    pub level: &'static str,
    /// The request id.
    pub request_id: &'a str,
    /// HTTP method.
    pub method: &'static str,
    /// Route template (never the raw path, which may carry ids or tokens).
    pub route: &'a str,
    /// Response status.
    pub status: u16,
    /// Time spent, ms.
    pub latency_ms: i64,
    /// Internal cause of an error, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl AccessLog<'_> {
    /// The line as JSON (serde escapes control characters, so no log injection).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The log level for a status.
pub fn level_for(status: u16) -> &'static str {
    match status {
        500.. => "error",
        400..=499 => "warn",
        _ => "info",
    }
}
