//! The run queue inside the every-minute dispatch job: reads `Env`, builds the D1 store, the
//! exchange source (KV breaker `breaker:exchange`), the notifier and the clock of the
//! trigger, and hands them to `cl_app::runs::run_queued`, which claims and runs the queued
//! on-demand runs (product.md §3 `/scan`, `/scan/run`, `/fetch`; §9 quick actions and
//! historical fetch). No rule lives here. Without a usable `EXCHANGE_BASE_URL` the queue still
//! runs: a run that needs the exchange is failed once with `exchange_not_configured` (the
//! app's rule), so nothing is logged every minute.
//!
//! Optional var `HISTORICAL_FETCH_PAGES`: exchange pages (1,000 minutes each) a historical
//! fetch advances per tick (default 5, 1..=20).

use crate::adapters::{DelaySleeper, KvBreakerStore, RunClock};
use crate::bindings;
use crate::fetch_transport::FetchTransport;
use crate::scheduled::{exchange_base, global_settings, log, ExchangeSource, SetupError};
use cl_app::jobs::{CandleSource, FetchFailure, Fetched, EXCHANGE_NOT_CONFIGURED};
use cl_app::notify::{Notifier, NotifyConfig};
use cl_app::runs::{run_queued, DispatchConfig};
use cl_outbound::{ExchangeClient, ExchangeConfig};
use cl_store_d1::D1Store;
use serde_json::json;
use worker::Env;

/// Config var: historical fetch pages per tick.
pub const HISTORICAL_FETCH_PAGES: &str = "HISTORICAL_FETCH_PAGES";

fn config(env: &Env) -> DispatchConfig {
    let mut config = DispatchConfig::default();
    if let Some(n) = bindings::lookup(env, HISTORICAL_FETCH_PAGES)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| (1..=20).contains(n))
    {
        config.historical_pages = n;
    }
    config
}

/// The exchange of the run queue: absent when `EXCHANGE_BASE_URL` is unset or bad, so runs
/// that need it fail once with `exchange_not_configured` and the others still run.
enum QueueSource<'a> {
    Exchange(ExchangeSource<'a>),
    Unconfigured(String),
}

impl CandleSource for QueueSource<'_> {
    async fn fetch_since(
        &self,
        symbol: &str,
        last_stored: Option<i64>,
        fetch_start_ms: i64,
        now_ms: i64,
        max_pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        match self {
            Self::Exchange(x) => {
                x.fetch_since(symbol, last_stored, fetch_start_ms, now_ms, max_pages)
                    .await
            }
            Self::Unconfigured(why) => Err(FetchFailure {
                reason: format!("{EXCHANGE_NOT_CONFIGURED}: {why}"),
                stops_upstream: true,
            }),
        }
    }

    fn configured(&self) -> bool {
        matches!(self, Self::Exchange(_))
    }
}

async fn run(env: &Env, scheduled_ms: i64) -> Result<(), SetupError> {
    let db = env
        .d1(bindings::DB)
        .map_err(|e| SetupError(format!("d1 binding: {e}")))?;
    let kv = env
        .kv(bindings::KV)
        .map_err(|e| SetupError(format!("kv binding: {e}")))?;
    let clock = RunClock::starting_at(scheduled_ms);
    let breakers = KvBreakerStore::new(kv);
    let source = match exchange_base(env) {
        Ok(base) => QueueSource::Exchange(ExchangeSource {
            client: ExchangeClient::new(
                ExchangeConfig::new(base),
                FetchTransport,
                DelaySleeper,
                clock,
                &breakers,
            ),
        }),
        Err(SetupError(why)) => QueueSource::Unconfigured(why),
    };
    let store = D1Store::new(db);
    let sender = crate::ntfy_wiring::NtfySender::from_env(env, clock, &breakers);
    // The stored global settings, once per tick, as the pipeline reads them.
    let global = global_settings(&store, "dispatch").await;
    let notifier = Notifier::new(
        &store,
        &sender,
        global.notify_config(NotifyConfig::default()),
    );
    let config = global.dispatch_config(config(env));
    let chunks = run_queued(&store, &source, &clock, &notifier, &config)
        .await
        .map_err(|e| SetupError(format!("run queue: {e}")))?;
    for c in &chunks {
        log(
            if c.error.is_some() || !c.saved {
                "warn"
            } else {
                "info"
            },
            "queued_run",
            json!({
                "job": "dispatch",
                "run_id": c.run.0,
                "kind": c.kind.as_str(),
                "status": c.status.as_str(),
                "saved": c.saved,
                "error": c.error,
            }),
        );
    }
    Ok(())
}

/// Runs the queued on-demand runs of this dispatch tick; failures are logged, never raised
/// (the rest of the dispatch job still runs).
pub async fn run_queue(env: &Env, scheduled_ms: i64) {
    if let Err(SetupError(why)) = run(env, scheduled_ms).await {
        log(
            "error",
            "run_queue_failed",
            json!({"job": "dispatch", "error": why}),
        );
    }
}
