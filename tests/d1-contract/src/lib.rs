//! # cl-d1-contract (test only, never deployed)
//!
//! A tiny worker that runs the storage contract suite (`cl-store-contract`) against
//! [`cl_store_d1::D1Store`] over the `DB` binding, inside workerd, so the D1 adapter is held to
//! exactly the behaviour the memory and Postgres adapters are. Driven by
//! `tests/worker/d1-contract.test.mjs` (Miniflare, in-memory D1 with `migrations/` applied).
//!
//! Routes:
//! - `GET /cases` → `{"cases": ["symbols_crud", …]}` (the contract's case list).
//! - `POST /run/<case>` → runs that case on a fresh `D1Store`: `{"ok": true, "round_trips": n,
//!   "statements": n}` (header `x-round-trips` too), or `{"ok": false, "error": …}` with 404
//!   for an unknown case / 500 when the binding is missing.
//! - `POST /probe/matrix` → seeds 25 active symbols × 8 TFs × 3 types and answers how many
//!   round trips and statements `matrix()` took (must be 1 and 1).
//! - `POST /probe/timestamps` with `{"stamps": ["<i64>", …]}` → stores candles, a pattern and a
//!   signal at those times through the store and answers what it reads back (as decimal
//!   strings, so the JSON carries them exactly).
//! - `POST /probe/panic` → panics on purpose: pins how a failing case looks from outside.
//! - `POST /probe/one-call` → the round trips and statements of single billing, portfolio and
//!   pattern-list calls (`store_probes.rs`).
//! - `GET /account-cases`, `POST /run-account/<case>` → the same for the account contract
//!   (`cl_store_contract::AccountCase`).
//! - `GET /billing-cases`, `POST /run-billing/<case>`, `GET /portfolio-cases`,
//!   `POST /run-portfolio/<case>` → the same for the billing and portfolio contracts
//!   (`cl_store_contract::BillingCase`, `PortfolioCase`).
//! - `POST /lockout-race` with `{"key", "n", "now", "spread_ms"}` → `n` reservations joined on
//!   one store (50 statements in flight against the workerd D1), times `now + i × spread_ms`:
//!   how many were allowed, and the stored state.
//! - `POST /probe/reserve` with `{"key", "now"}` → one reservation (`{"allowed": bool}`), for
//!   races of parallel requests driven from outside.
//! - `POST /pbkdf2` with `{"password", "salt", "iterations"}` (salt as UTF-8 text) → the PHC
//!   string and hex key of the worker's WebCrypto hasher (`crates/worker/src/webcrypto_hasher.rs`,
//!   compiled here by path so the production worker carries no test route).
//! - `POST /ratelimit` with `{"steps": [{"isolate", "now", "subject", "scope"}], "flush_at"?}`
//!   → the KV rate limiter (`crates/worker/src/kv_ratelimit.rs`, by path) over the `RATE_LIMITS`
//!   KV binding, one `IsolateCounters` per isolate number (shard = isolate number): the
//!   decision of every step, then `flush_due(flush_at)` on every isolate.
//! - `POST /mail` with `{"base_url", "api_key", "timeout_ms", "to", "token"}` → one
//!   `VerifyEmail` message through the worker's `HttpMailer` over `FetchTransport` (both by
//!   path), in development mode (loopback http allowed): `{"ok": true}` or `{"ok": false,
//!   "error"}` with the elapsed time.
//! - `POST /pbkdf2/hasher` with `{"password", "iterations"}` → the `PasswordHasher` methods of
//!   that hasher, cross-checked against cl-auth's own PBKDF2 (`{"checks": {name: bool}}`).
//!
//! **Failures.** The contract cases report a broken expectation by panicking, and a panic in
//! wasm32 aborts (there is no unwinding on the stable toolchain; `worker-build --panic-unwind`
//! needs nightly). The worker therefore catches nothing: the panic message goes to workerd's
//! stderr (`console_error_panic_hook`), the request fails with a 500, and the Node test reports
//! the case as failed with the captured message. Each case runs in its own Miniflare instance
//! on its own copy of a migrated database, so an aborted case cannot leak state (tables or a
//! poisoned isolate) into the next. Store errors outside the cases come back as
//! `{"ok": false, "error": …}`.

use cl_app::ports::{
    CandleStore, NewPattern, NewSignal, NewSymbol, PatternStore, SignalStore, StoreError,
    SymbolStore, TradeLevels,
};
use cl_domain::{Candle, Direction, PatternType, Timeframe, Zone};
use cl_store_contract::{
    run_account_case, run_billing_case, run_case, run_portfolio_case, AccountCase, BillingCase,
    Case, PortfolioCase,
};
use cl_store_d1::D1Store;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{event, Context, Env, Method, Request, Response, Result};

#[path = "../../../crates/worker/src/webcrypto_hasher.rs"]
mod webcrypto_hasher;

#[allow(dead_code)] // Reason: the production file, compiled here only for what the probes use.
#[path = "../../../crates/worker/src/kv_ratelimit.rs"]
mod kv_ratelimit;

#[path = "../../../crates/worker/src/fetch_transport.rs"]
mod fetch_transport;

#[allow(dead_code)] // Reason: the production file, compiled here only for what the probes use.
#[path = "../../../crates/worker/src/mailer.rs"]
mod mailer;

mod auth_probes;
mod store_probes;

/// The D1 binding the store runs on.
const DB: &str = "DB";

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/admin-cases") => {
            let all = cl_store_contract::AdminCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-admin/") => {
            run_admin(&env, &p["/run-admin/".len()..]).await
        }
        (Method::Get, "/cases") => {
            let names: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, "/probe/matrix") => probe_matrix(&env).await,
        (Method::Get, "/notification-cases") => {
            let all = cl_store_contract::NotificationCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-notification/") => {
            run_notification(&env, &p["/run-notification/".len()..]).await
        }
        (Method::Post, "/probe/timestamps") => {
            let body: Stamps = match req.json().await {
                Ok(b) => b,
                Err(e) => return failure(400, &format!("bad body: {e}")),
            };
            probe_timestamps(&env, &body).await
        }
        (Method::Post, "/probe/panic") => deliberate_panic(),
        (Method::Post, "/probe/one-call") => store_probes::one_call(&env).await,
        (Method::Get, "/api-key-cases") => {
            let all = cl_store_contract::ApiKeyCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-api-key/") => {
            run_api_key(&env, &p["/run-api-key/".len()..]).await
        }
        (Method::Post, p) if p.starts_with("/run/") => run(&env, &p["/run/".len()..]).await,
        (Method::Get, "/account-cases") => {
            let names: Vec<&str> = AccountCase::ALL.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-account/") => {
            run_account(&env, &p["/run-account/".len()..]).await
        }
        (Method::Get, "/billing-cases") => {
            let names: Vec<&str> = BillingCase::ALL.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-billing/") => {
            run_billing(&env, &p["/run-billing/".len()..]).await
        }
        (Method::Get, "/portfolio-cases") => {
            let names: Vec<&str> = PortfolioCase::ALL.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-portfolio/") => {
            run_portfolio(&env, &p["/run-portfolio/".len()..]).await
        }
        (Method::Get, "/credentials-cases") => {
            let all = cl_store_contract::CredentialCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-credentials/") => {
            run_credentials(&env, &p["/run-credentials/".len()..]).await
        }
        (Method::Get, "/backtest-cases") => {
            let all = cl_store_contract::BacktestCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-backtest/") => {
            run_backtest(&env, &p["/run-backtest/".len()..]).await
        }
        (Method::Get, "/stats-cases") => {
            let all = cl_store_contract::StatsCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-stats/") => {
            run_stats(&env, &p["/run-stats/".len()..]).await
        }
        (Method::Get, "/notification-admin-cases") => {
            let all = cl_store_contract::NotificationAdminCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-notification-admin/") => {
            run_notification_admin(&env, &p["/run-notification-admin/".len()..]).await
        }
        (Method::Get, "/broadcast-delivery-cases") => {
            let all = cl_store_contract::BroadcastDeliveryCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-broadcast-delivery/") => {
            run_broadcast_delivery(&env, &p["/run-broadcast-delivery/".len()..]).await
        }
        (Method::Get, "/run-queue-cases") => {
            let all = cl_store_contract::RunQueueCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-run-queue/") => {
            run_run_queue(&env, &p["/run-run-queue/".len()..]).await
        }
        (Method::Get, "/optimization-cases") => {
            let all = cl_store_contract::OptimizationCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-optimization/") => {
            run_optimization(&env, &p["/run-optimization/".len()..]).await
        }
        (Method::Post, "/lockout-race") => match req.json().await {
            Ok(body) => auth_probes::lockout_race(&env, &body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Post, "/probe/reserve") => match req.json().await {
            Ok(body) => auth_probes::reserve_once(&env, &body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Post, "/pbkdf2") => match req.json().await {
            Ok(body) => auth_probes::pbkdf2(&body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Post, "/ratelimit") => match req.json().await {
            Ok(body) => auth_probes::ratelimit(&env, &body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Post, "/mail") => match req.json().await {
            Ok(body) => auth_probes::mail(&body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Post, "/pbkdf2/hasher") => match req.json().await {
            Ok(body) => auth_probes::hasher(&body).await,
            Err(e) => failure(400, &format!("bad body: {e}")),
        },
        (Method::Get, "/maintenance-cases") => {
            let all = cl_store_contract::MaintenanceCase::ALL;
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            reply(200, &json!({ "cases": names }))
        }
        (Method::Post, p) if p.starts_with("/run-maintenance/") => {
            run_maintenance(&env, &p["/run-maintenance/".len()..]).await
        }
        _ => failure(404, "no such route"),
    }
}

pub(crate) fn reply(status: u16, body: &Value) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

pub(crate) fn failure(status: u16, error: &str) -> Result<Response> {
    reply(status, &json!({ "ok": false, "error": error }))
}

pub(crate) fn store(env: &Env) -> std::result::Result<D1Store, String> {
    env.d1(DB)
        .map(D1Store::new)
        .map_err(|e| format!("binding {DB}: {e}"))
}

/// Runs one contract case; a broken expectation panics (see the crate docs).
async fn run(env: &Env, name: &str) -> Result<Response> {
    let Some(case) = Case::ALL.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    run_case(case, &store).await;
    let mut res = reply(
        200,
        &json!({
            "ok": true,
            "case": name,
            "round_trips": store.round_trips(),
            "statements": store.statements(),
        }),
    )?;
    res.headers_mut()
        .set("x-round-trips", &store.round_trips().to_string())?;
    Ok(res)
}

/// Runs one notification contract case with the round-trip counter (`GET
/// /notification-cases`, `POST /run-notification/<case>`): the eligibility query and the due
/// read must each be ONE D1 call.
async fn run_notification(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::NotificationCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown notification case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_notification_case(case, &store, &|| Some(store.round_trips())).await;
    case_done(name, &store)
}

/// Runs one account contract case; a broken expectation panics (see the crate docs).
async fn run_account(env: &Env, name: &str) -> Result<Response> {
    let Some(case) = AccountCase::ALL.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown account case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    run_account_case(case, &store).await;
    reply(
        200,
        &json!({
            "ok": true,
            "case": name,
            "round_trips": store.round_trips(),
            "statements": store.statements(),
        }),
    )
}

/// Runs one billing contract case; a broken expectation panics (see the crate docs).
async fn run_billing(env: &Env, name: &str) -> Result<Response> {
    let Some(case) = BillingCase::ALL.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown billing case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    run_billing_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one portfolio contract case; a broken expectation panics (see the crate docs).
async fn run_portfolio(env: &Env, name: &str) -> Result<Response> {
    let Some(case) = PortfolioCase::ALL
        .iter()
        .copied()
        .find(|c| c.name() == name)
    else {
        return failure(404, &format!("unknown portfolio case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    run_portfolio_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one exchange-credentials contract case; a broken expectation panics.
async fn run_credentials(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::CredentialCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown credentials case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_credential_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one backtest contract case; a broken expectation panics.
async fn run_backtest(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::BacktestCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown backtest case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_backtest_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one stats contract case; a broken expectation panics.
async fn run_stats(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::StatsCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown stats case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_stats_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one admin notification contract case; a broken expectation panics.
async fn run_notification_admin(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::NotificationAdminCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown notification admin case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_notification_admin_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one run-queue contract case; a broken expectation panics.
async fn run_run_queue(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::RunQueueCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown run-queue case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_run_queue_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one broadcast delivery contract case; a broken expectation panics.
async fn run_broadcast_delivery(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::BroadcastDeliveryCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown broadcast delivery case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_broadcast_delivery_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one optimizer contract case; a broken expectation panics.
async fn run_optimization(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::OptimizationCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown optimization case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_optimization_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one API-key contract case; a broken expectation panics (see the crate docs).
async fn run_api_key(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::ApiKeyCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown api key case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_api_key_case(case, &store).await;
    case_done(name, &store)
}

/// The answer of a case that ran to the end.
fn case_done(name: &str, store: &D1Store) -> Result<Response> {
    reply(
        200,
        &json!({
            "ok": true,
            "case": name,
            "round_trips": store.round_trips(),
            "statements": store.statements(),
        }),
    )
}

fn store_failure(what: &str, e: &StoreError) -> Result<Response> {
    failure(500, &format!("{what}: {e:?}"))
}

const T0: i64 = 1_700_000_000_000;

fn levels(entry: f64) -> TradeLevels {
    TradeLevels {
        entry,
        stop_loss: entry * 0.98,
        tp1: entry * 1.02,
        tp2: entry * 1.04,
        tp3: entry * 1.06,
        risk: entry * 0.02,
        rr1: 1.0,
        rr2: 2.0,
        rr3: 3.0,
    }
}

fn new_symbol(name: String) -> NewSymbol {
    NewSymbol {
        symbol: name,
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 1_704_067_200_000,
        created_at: T0,
    }
}

fn new_pattern(
    symbol: cl_app::ports::SymbolId,
    tf: Timeframe,
    pattern_type: PatternType,
    detected_at: i64,
    zone: Zone,
) -> NewPattern {
    NewPattern {
        symbol,
        tf,
        pattern_type,
        direction: Direction::Bullish,
        zone,
        swept_level: None,
        detected_at,
        expires_at: detected_at.saturating_add(tf.expiry_ms()),
        levels: levels(zone.high()),
        created_at: detected_at,
    }
}

/// Seeds a populated matrix and counts what `matrix()` costs.
async fn probe_matrix(env: &Env) -> Result<Response> {
    const SYMBOLS: usize = 25;
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    let zone = match Zone::new(100.0, 101.5) {
        Ok(z) => z,
        Err(e) => return failure(500, &format!("zone: {e}")),
    };
    let mut seed = Vec::new();
    for k in 0..SYMBOLS {
        let sym = match store.add_symbol(&new_symbol(format!("S{k:02}/USDT"))).await {
            Ok(s) => s.id,
            Err(e) => return store_failure("add_symbol", &e),
        };
        for tf in Timeframe::ALL {
            for (j, ty) in PatternType::ALL.iter().enumerate() {
                let at = T0 + i64::try_from(j).unwrap_or(0) * 60_000;
                seed.push(new_pattern(sym, tf, *ty, at, zone));
            }
        }
    }
    if let Err(e) = store.insert_patterns(&seed).await {
        return store_failure("insert_patterns", &e);
    }
    let (rt, st) = (store.round_trips(), store.statements());
    let cells = match store.matrix().await {
        Ok(c) => c,
        Err(e) => return store_failure("matrix", &e),
    };
    let filled = cells.iter().filter(|c| c.latest.is_some()).count();
    let counts_ok = cells.iter().all(|c| c.active_count == 3);
    let latest_ok = cells
        .iter()
        .all(|c| c.latest.is_some_and(|p| p.detected_at == T0 + 2 * 60_000));
    reply(
        200,
        &json!({
            "ok": true,
            "symbols": SYMBOLS,
            "patterns": seed.len(),
            "cells": cells.len(),
            "filled": filled,
            "counts_ok": counts_ok,
            "latest_ok": latest_ok,
            "round_trips": store.round_trips() - rt,
            "statements": store.statements() - st,
        }),
    )
}

#[derive(Deserialize)]
struct Stamps {
    stamps: Vec<String>,
}

/// Stores candles, a pattern and a signal at the given times and reads them back.
async fn probe_timestamps(env: &Env, body: &Stamps) -> Result<Response> {
    let mut stamps = Vec::with_capacity(body.stamps.len());
    for s in &body.stamps {
        match s.parse::<i64>() {
            Ok(v) => stamps.push(v),
            Err(_) => return failure(400, &format!("not an i64: {s:?}")),
        }
    }
    let Some(&max) = stamps.iter().max() else {
        return failure(400, "no stamps");
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    let sym = match store.add_symbol(&new_symbol("BTC/USDT".into())).await {
        Ok(s) => s.id,
        Err(e) => return store_failure("add_symbol", &e),
    };
    let mut candles = Vec::with_capacity(stamps.len());
    for &ts in &stamps {
        match Candle::new(ts, 42.0, 42.5, 41.5, 42.25, 7.0) {
            Ok(c) => candles.push(c),
            Err(e) => return failure(400, &format!("candle at {ts}: {e}")),
        }
    }
    let inserted = match store.upsert_candles(sym, Timeframe::M1, &candles).await {
        Ok(n) => n,
        Err(e) => return store_failure("upsert_candles", &e),
    };
    let back = match store.last_candles(sym, Timeframe::M1, 1000).await {
        Ok(c) => c,
        Err(e) => return store_failure("last_candles", &e),
    };
    let zone = match Zone::new(41.5, 42.5) {
        Ok(z) => z,
        Err(e) => return failure(500, &format!("zone: {e}")),
    };
    let mut p = new_pattern(sym, Timeframe::D1, PatternType::OrderBlock, max, zone);
    p.expires_at = max;
    let pattern = match store.insert_pattern(&p).await {
        Ok(Some(id)) => match store.pattern(id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return failure(500, "pattern vanished"),
            Err(e) => return store_failure("pattern", &e),
        },
        Ok(None) => return failure(500, "pattern not stored"),
        Err(e) => return store_failure("insert_pattern", &e),
    };
    let signal = NewSignal {
        symbol: sym,
        direction: Direction::Bearish,
        entry: 42.0,
        stop_loss: 43.0,
        tp1: 41.0,
        tp2: 40.0,
        tp3: 39.0,
        risk_reward: 3.0,
        confluence_score: 1,
        timeframes_aligned: vec![Timeframe::D1],
        pattern_id: Some(pattern.id),
        created_at: max,
    };
    let signal = match store.insert_signal(&signal, 0).await {
        Ok(Some(id)) => match store.signal(id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return failure(500, "signal vanished"),
            Err(e) => return store_failure("signal", &e),
        },
        Ok(None) => return failure(500, "signal not stored"),
        Err(e) => return store_failure("insert_signal", &e),
    };
    let beyond = match Candle::new(max.saturating_add(1), 42.0, 42.5, 41.5, 42.25, 7.0) {
        Ok(c) => match store.upsert_candles(sym, Timeframe::M5, &[c]).await {
            Ok(n) => format!("stored {n}"),
            Err(StoreError::Invalid(_)) => "invalid".to_string(),
            Err(e) => format!("{e:?}"),
        },
        Err(e) => format!("candle: {e}"),
    };
    let text = |v: i64| v.to_string();
    reply(
        200,
        &json!({
            "ok": true,
            "inserted": inserted,
            "candles": back.iter().map(|c| text(c.ts())).collect::<Vec<_>>(),
            "pattern": {
                "detected_at": text(pattern.detected_at),
                "expires_at": text(pattern.expires_at),
                "created_at": text(pattern.created_at),
            },
            "signal": { "created_at": text(signal.created_at) },
            "max_plus_one": beyond,
        }),
    )
}

/// Panics on purpose, like a failing contract case.
#[allow(clippy::panic)] // Reason: pins what a failing (panicking) case looks like from outside.
fn deliberate_panic() -> Result<Response> {
    panic!("deliberate panic from /probe/panic");
}

/// Runs one maintenance contract case (`GET /maintenance-cases`, `POST
/// /run-maintenance/<case>`); a broken expectation panics (see the crate docs).
async fn run_maintenance(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::MaintenanceCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown maintenance case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_maintenance_case(case, &store).await;
    case_done(name, &store)
}

/// Runs one admin contract case (`GET /admin-cases`, `POST /run-admin/<case>`).
async fn run_admin(env: &Env, name: &str) -> Result<Response> {
    let all = cl_store_contract::AdminCase::ALL;
    let Some(case) = all.iter().copied().find(|c| c.name() == name) else {
        return failure(404, &format!("unknown admin case {name:?}"));
    };
    let store = match store(env) {
        Ok(s) => s,
        Err(e) => return failure(500, &e),
    };
    cl_store_contract::run_admin_case(case, &store).await;
    case_done(name, &store)
}
