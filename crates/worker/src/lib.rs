//! # cl-worker: the Cloudflare worker entry point
//!
//! This crate only adapts: `#[event(fetch)]` reads `Env` into a typed config (once per
//! isolate), turns the `worker::Request` into a plain [`cl_api::http::Request`], and either
//! dispatches it to [`cl_api::handle_api`] or serves a static asset of the built frontend.
//! Every response goes through [`cl_api::finalize`], so assets and errors carry the same
//! security headers as the API. No business rule lives here.

mod adapters;
mod auth_wiring;
mod bindings;
mod broadcast_wiring;
mod convert;
mod error_tracker;
/// `cl_outbound::HttpTransport` over `fetch`, with timeouts.
pub mod fetch_transport;
/// The KV `RateLimitStore` with per-isolate shards (for the account routes).
pub mod kv_ratelimit;
/// The HTTP `Mailer` (`MAIL_BASE_URL`, `MAIL_API_KEY`).
pub mod mailer;
mod matrix_cache;
mod metrics;
mod ntfy_wiring;
/// The LemonSqueezy / NOWPayments HTTP clients (`PaymentProvider`).
pub mod payments;
mod pg;
mod probes;
mod run_queue_wiring;
mod scheduled;
/// The WebCrypto PBKDF2 `PasswordHasher` (for the account routes).
pub mod webcrypto_hasher;

use cl_api::config::{Config, StorageBackend};
use cl_api::context::RequestContext;
use cl_api::{finalize, is_forbidden_static_path, level_for, App, Handled};
use cl_store_pg::PgStore;
use std::cell::OnceCell;
use worker::{event, Context, Date, Env, Request, Response, Result};

thread_local! {
    // Vars and secrets cannot change within an isolate: read and check them once.
    static CONFIG: OnceCell<Config> = const { OnceCell::new() };
}

fn config(env: &Env) -> Config {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            let config = Config::load(|name| bindings::lookup(env, name));
            if config.refuses_to_serve() {
                worker::console_error!(
                    "{}",
                    serde_json::json!({
                        "level": "error",
                        "event": "config_refused",
                        "message": "refusing to serve: production configuration is unsafe",
                        "problems": config.problems_summary(),
                    })
                );
            } else if !config.is_valid() {
                worker::console_warn!(
                    "{}",
                    serde_json::json!({
                        "level": "warn",
                        "event": "config_incomplete",
                        "problems": config.problems_summary(),
                    })
                );
            }
            config
        })
        .clone()
    })
}

/// Builds the [`App`] over the configured store and handles one API request.
async fn serve_api(
    config: Config,
    env: &Env,
    req: &cl_api::http::Request,
    ctx: &RequestContext,
) -> Handled {
    let probes = probes::Probes::new(env);
    match config.storage {
        StorageBackend::Postgres => {
            let (client, connection) = match pg::open(env).await {
                Ok(open) => open,
                Err(err) => {
                    // No connection: nothing can be served from storage; answer 503 directly
                    // (the cause goes to the access log only).
                    return storage_unavailable(format!("postgres: {}", err.0), ctx);
                }
            };
            let work = async move {
                let handled = {
                    let app = App {
                        config,
                        probes,
                        store: PgStore::new(&client),
                    };
                    auth_wiring::handle(&app, env, req, ctx).await
                };
                // Dropping the client lets the connection close gracefully.
                drop(client);
                handled
            };
            let (handled, closed) = futures_util::future::join(work, connection).await;
            if let Err(err) = closed {
                worker::console_warn!(
                    "{}",
                    serde_json::json!({"level": "warn", "event": "postgres_connection", "error": err.to_string()})
                );
            }
            handled
        }
        // D1 is the default store.
        StorageBackend::D1 => match env.d1(bindings::DB) {
            Ok(db) => {
                let app = App {
                    config,
                    probes,
                    store: cl_store_d1::D1Store::new(db),
                };
                auth_wiring::handle(&app, env, req, ctx).await
            }
            Err(err) => storage_unavailable(format!("d1 binding: {err}"), ctx),
        },
    }
}

/// The 503 answered when the configured store cannot be reached at all.
fn storage_unavailable(cause: String, ctx: &RequestContext) -> Handled {
    let err =
        cl_api::error::ApiError::new(cl_api_types::ErrorCode::ServiceUnavailable).with_cause(cause);
    let error_cause = err.cause().map(str::to_owned);
    Handled {
        response: err.into_response(ctx),
        route: "(storage)",
        error_cause,
    }
}

/// Structured logs: every `tracing` event becomes one JSON line on the console, at the
/// console level matching its own (workerd and `wrangler tail` keep the two apart).
struct ConsoleSink;

impl cl_telemetry::Sink for ConsoleSink {
    fn write(&self, level: tracing::Level, line: &str) {
        match level {
            tracing::Level::ERROR => worker::console_error!("{line}"),
            tracing::Level::WARN => worker::console_warn!("{line}"),
            _ => worker::console_log!("{line}"),
        }
    }
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    cl_telemetry::install(cl_telemetry::JsonSubscriber::new(
        ConsoleSink,
        now_ms,
        tracing::Level::INFO,
    ));
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, wctx: Context) -> Result<Response> {
    let started = Date::now().as_millis() as i64;
    let config = config(&env);
    let ctx = RequestContext::new(
        req.headers().get("x-request-id")?.as_deref(),
        convert::fresh_request_id,
        started,
        req.headers().get("cf-connecting-ip")?.as_deref(),
    );
    let path = req.path();
    let is_api = path.starts_with("/api/");
    let method = convert::raw_method(&req);

    let (resp, route, cause) = if config.refuses_to_serve() {
        (
            convert::to_worker(finalize(cl_api::refusal(&ctx), &ctx, true))?,
            "(refused)",
            None,
        )
    } else if is_api {
        let plain = convert::from_worker(req).await?;
        let handled = serve_api(config, &env, &plain, &ctx).await;
        let resp = convert::to_worker(finalize(handled.response, &ctx, true))?;
        (resp, handled.route, handled.error_cause)
    } else if is_forbidden_static_path(&path) {
        (
            convert::to_worker(finalize(cl_api::not_found(&ctx), &ctx, false))?,
            "(forbidden)",
            None,
        )
    } else {
        (
            convert::serve_asset(&env, req, &ctx).await?,
            "(asset)",
            None,
        )
    };

    let status = resp.status_code();
    access_log(&ctx, method, route, status, started, cause.as_deref());
    let now = now_ms();
    if let Some(flush) = metrics::record(route, status, now - started, now) {
        if let Ok(kv) = env.kv(bindings::KV) {
            wctx.wait_until(metrics::flush(kv, flush));
        }
    }
    // The error tracker: every 5xx becomes a fingerprinted occurrence (crate::error_tracker).
    if resp.status_code() >= 500 {
        let storage = crate::config(&env).storage;
        let (status, cause) = (resp.status_code(), cause.as_deref());
        error_tracker::record(&env, storage, &ctx, route, status, cause, now_ms()).await;
    }
    Ok(resp)
}

/// The access log: one line per request (product.md §12), in a `request` span so that the
/// fields are the same as on every other line logged for the request. Holds no header values,
/// bodies or query strings, so no secret can reach it.
fn access_log(
    ctx: &RequestContext,
    method: cl_api::http::Method,
    route: &str,
    status: u16,
    started: i64,
    error: Option<&str>,
) {
    let span = tracing::info_span!(
        "request",
        request_id = ctx.request_id.as_str(),
        method = method.as_str(),
        route
    );
    let _entered = span.enter();
    let latency_ms = now_ms() - started;
    match level_for(status) {
        "error" => tracing::error!(target: "access", status, latency_ms, error, "request"),
        "warn" => tracing::warn!(target: "access", status, latency_ms, error, "request"),
        _ => tracing::info!(target: "access", status, latency_ms, "request"),
    }
}
