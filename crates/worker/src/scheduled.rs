//! `#[event(scheduled)]`: reads `Env`, builds the adapters and dispatches by cron string to the
//! app's job use cases (`cl_app::jobs`). No scheduling rule lives here.
//!
//! - `* * * * *` → pipeline (dispatch comes later); `*/5 * * * *` → stats; `0 * * * *` →
//!   gaps; `0 3 * * *` → db-health then cleanup; `0 6 * * *` → subscriptions
//!   (`cl_app::jobs::{stats, gaps, health, cleanup, subscriptions}`, each over D1 with the same
//!   KV pre-check and atomic D1 lease as the pipeline). Jobs without a use case yet log
//!   `job_not_implemented`.
//! - The exchange is `EXCHANGE_BASE_URL` (https only; plain http to loopback only when
//!   `ENVIRONMENT=development`), through `cl_outbound::ExchangeClient` with its retry policy and
//!   a KV-backed breaker (`breaker:exchange`).
//! - The stored global settings (`cl_app::global_settings::GlobalSettings`) are read ONCE per
//!   pipeline tick (and once per dispatch tick by `crate::run_queue_wiring`): the signal
//!   defaults, the zone minimum and the global ntfy topic come from them, not from `Env`.
//! - After each pipeline run the unfiltered matrix is written to KV (`matrix:v1`, 60 s expiry,
//!   `crate::matrix_cache`), which `GET /matrix` serves while fresh.
//! - The lease: a KV entry `lease:{job}` (TTL ≥ 60 s, KV's minimum) is a cheap pre-check that
//!   avoids a D1 write when another isolate obviously runs the job; the atomic D1 claim on
//!   `cron_jobs.lease_until` decides (KV is eventually consistent).

use crate::adapters::{wall_ms, DelaySleeper, KvBreakerStore, RunClock};
use crate::bindings;
use crate::fetch_transport::FetchTransport;
use cl_app::cron::RunTrigger;
use cl_app::global_settings::GlobalSettings;
use cl_app::jobs::cleanup::{run_cleanup_job, CleanupConfig, CLEANUP_JOB};
use cl_app::jobs::gaps::{run_gaps_job, GapsConfig, GAPS_JOB};
use cl_app::jobs::health::{run_health_job, HEALTH_JOB};
use cl_app::jobs::matrix_cache::refresh_matrix;
use cl_app::jobs::runner::JobReport;
use cl_app::jobs::stats::{run_stats_job, STATS_JOB};
use cl_app::jobs::subscriptions::{run_subscriptions_job, SUBSCRIPTIONS_JOB};
use cl_app::jobs::{
    jobs_for_cron, run_pipeline_job_notifying, BadCandle, CandleSource, FetchFailure, Fetched,
    JobOutcome, PipelineJobConfig, PIPELINE_JOB,
};
use cl_app::notify::{Notifier, NotifyConfig};
use cl_app::ports::StoreError;
use cl_outbound::{BaseUrl, ExchangeClient, ExchangeConfig, ExchangeError, Scheme};
use cl_store_d1::D1Store;
use serde_json::json;
use tracing::Instrument;
use worker::kv::KvStore;
use worker::{event, Env, ScheduleContext, ScheduledEvent};

/// Config var: the exchange's base URL.
pub const EXCHANGE_BASE_URL: &str = "EXCHANGE_BASE_URL";
/// KV key prefix of job leases.
pub const LEASE_PREFIX: &str = "lease:";
/// Optional var: storage round trips per pipeline run (default 950, for D1's 1,000 queries
/// per invocation on Workers Paid; set about 45 on Free).
pub const PIPELINE_MAX_QUERIES: &str = "PIPELINE_MAX_QUERIES";
/// Optional var: the pipeline's time budget per run in ms (default 20,000).
pub const PIPELINE_BUDGET_MS: &str = "PIPELINE_BUDGET_MS";
/// KV's minimum `expirationTtl`.
const KV_MIN_TTL_SECS: u64 = 60;

/// The app's candle source over the outbound kline client.
pub(crate) struct ExchangeSource<'a> {
    pub(crate) client: ExchangeClient<FetchTransport, DelaySleeper, RunClock, &'a KvBreakerStore>,
}

fn failure(e: &ExchangeError) -> FetchFailure {
    FetchFailure {
        reason: e.to_string(),
        stops_upstream: e.stops_upstream(),
    }
}

impl CandleSource for ExchangeSource<'_> {
    async fn fetch_since(
        &self,
        symbol: &str,
        last_stored: Option<i64>,
        fetch_start_ms: i64,
        now_ms: i64,
        max_pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        let out = self
            .client
            .fetch_since(symbol, last_stored, fetch_start_ms, now_ms, max_pages)
            .await
            .map_err(|e| failure(&e))?;
        Ok(Fetched {
            candles: out.candles,
            bad_rows: out
                .skipped
                .into_iter()
                .map(|r| BadCandle {
                    open_ms: r.open_ms,
                    reason: r.reason,
                })
                .collect(),
            gaps: u64::try_from(out.confirmed_gaps.len()).unwrap_or(0),
            complete: out.complete,
            interrupted: out.interrupted.as_ref().map(failure),
        })
    }
}

pub(crate) fn log(level: &str, event: &str, fields: serde_json::Value) {
    let mut line = json!({"level": level, "event": event, "ts": wall_ms()});
    if let (Some(line), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
        line.extend(extra);
    }
    match level {
        "error" => worker::console_error!("{line}"),
        "warn" => worker::console_warn!("{line}"),
        _ => worker::console_log!("{line}"),
    }
}

/// Why the scheduled state could not be built (logged, never sent anywhere).
pub(crate) struct SetupError(pub(crate) String);

/// The exchange's base URL from config, with the scheme rule of the environment.
pub(crate) fn exchange_base(env: &Env) -> Result<BaseUrl, SetupError> {
    let raw = bindings::lookup(env, EXCHANGE_BASE_URL)
        .ok_or_else(|| SetupError(format!("{EXCHANGE_BASE_URL} is not set")))?;
    let development = bindings::lookup(env, "ENVIRONMENT").as_deref() == Some("development");
    let scheme = if development {
        Scheme::AllowInsecureLoopback
    } else {
        Scheme::HttpsOnly
    };
    BaseUrl::parse(&raw, scheme).map_err(|e| SetupError(format!("{EXCHANGE_BASE_URL}: {e}")))
}

/// The pipeline's knobs: defaults, with the optional budget vars applied when they parse.
fn pipeline_config(env: &Env) -> PipelineJobConfig {
    let mut config = PipelineJobConfig::default();
    let number =
        |name: &str| bindings::lookup(env, name).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = number(PIPELINE_MAX_QUERIES).filter(|n| *n > 0) {
        config.max_queries = n;
    }
    if let Some(ms) = number(PIPELINE_BUDGET_MS).and_then(|ms| i64::try_from(ms).ok()) {
        config.budget_ms = ms.clamp(1_000, 25_000);
        config.lease_ms = config.budget_ms.saturating_add(35_000);
    }
    config
}

/// The stored global settings (ONE query); the defaults, logged, when the read fails.
pub(crate) async fn global_settings(store: &D1Store, job: &str) -> GlobalSettings {
    match GlobalSettings::load(store).await {
        Ok(g) => g,
        Err(e) => {
            log(
                "warn",
                "settings_read_failed",
                json!({"job": job, "error": e.to_string()}),
            );
            GlobalSettings::default()
        }
    }
}

/// The KV pre-check: true when a live lease of another run is visible.
async fn kv_lease_held(kv: &KvStore, job: &str, now_ms: i64) -> bool {
    match kv.get(&format!("{LEASE_PREFIX}{job}")).text().await {
        Ok(Some(text)) => text.trim().parse::<i64>().is_ok_and(|until| until > now_ms),
        _ => false,
    }
}

async fn kv_lease_put(kv: &KvStore, job: &str, until_ms: i64, lease_ms: i64) {
    let ttl = u64::try_from(lease_ms / 1_000 + 1)
        .unwrap_or(KV_MIN_TTL_SECS)
        .max(KV_MIN_TTL_SECS);
    let put = match kv.put(&format!("{LEASE_PREFIX}{job}"), until_ms.to_string()) {
        Ok(put) => put.expiration_ttl(ttl).execute().await,
        Err(e) => Err(e),
    };
    if let Err(e) = put {
        log(
            "warn",
            "lease_kv_failed",
            json!({"job": job, "error": e.to_string()}),
        );
    }
}

async fn kv_lease_clear(kv: &KvStore, job: &str) {
    if let Err(e) = kv.delete(&format!("{LEASE_PREFIX}{job}")).await {
        log(
            "warn",
            "lease_kv_failed",
            json!({"job": job, "error": e.to_string()}),
        );
    }
}

/// Runs the pipeline job on D1.
async fn pipeline(env: &Env, scheduled_ms: i64) -> Result<(), SetupError> {
    let base = exchange_base(env)?;
    let db = env
        .d1(bindings::DB)
        .map_err(|e| SetupError(format!("d1 binding: {e}")))?;
    let kv = env
        .kv(bindings::KV)
        .map_err(|e| SetupError(format!("kv binding: {e}")))?;
    let clock = RunClock::starting_at(scheduled_ms);
    let config = pipeline_config(env);
    let now = cl_app::ports::Clock::now_ms(&clock);
    if kv_lease_held(&kv, PIPELINE_JOB, now).await {
        log(
            "info",
            "job_skipped",
            json!({"job": PIPELINE_JOB, "reason": "lease held (kv)"}),
        );
        return Ok(());
    }
    kv_lease_put(
        &kv,
        PIPELINE_JOB,
        now.saturating_add(config.lease_ms),
        config.lease_ms,
    )
    .await;

    let breakers = KvBreakerStore::new(kv.clone());
    let source = ExchangeSource {
        client: ExchangeClient::new(
            ExchangeConfig::new(base),
            FetchTransport,
            DelaySleeper,
            clock,
            &breakers,
        ),
    };
    let store = D1Store::new(db);
    // The stored global settings, read once per tick: signal defaults, zone minimum, topic.
    let global = global_settings(&store, PIPELINE_JOB).await;
    let config = global.pipeline_config(config);
    // Step 6b: ntfy through the KV breaker `breaker:ntfy` (crate::ntfy_wiring).
    let sender = crate::ntfy_wiring::NtfySender::from_env(env, clock, &breakers);
    let notifier = Notifier::new(
        &store,
        &sender,
        global.notify_config(NotifyConfig::default()),
    );
    let result = run_pipeline_job_notifying(
        &store,
        &source,
        &clock,
        || store.round_trips(),
        &config,
        scheduled_ms,
        RunTrigger::Cron,
        &notifier,
    )
    .await;
    match result {
        Ok((outcome, report)) => {
            if outcome != JobOutcome::LeaseHeld {
                kv_lease_clear(&kv, PIPELINE_JOB).await;
            }
            if matches!(outcome, JobOutcome::Ran(_)) {
                // The last step of a tick: the unfiltered matrix into KV for `GET /matrix`.
                let cache = crate::matrix_cache::KvMatrixCache::new(Some(kv.clone()));
                let now = cl_app::ports::Clock::now_ms(&clock);
                if let Err(e) = refresh_matrix(&store, &cache, now).await {
                    log(
                        "warn",
                        "matrix_refresh_failed",
                        json!({"job": PIPELINE_JOB, "error": e.to_string()}),
                    );
                }
            }
            for (symbol, bad) in &report.bad_rows {
                log(
                    "warn",
                    "bad_candle",
                    json!({"job": PIPELINE_JOB, "symbol": symbol, "open_ms": bad.open_ms, "reason": bad.reason}),
                );
            }
            log(
                if report.error.is_some() {
                    "warn"
                } else {
                    "info"
                },
                "job_run",
                json!({
                    "job": PIPELINE_JOB,
                    "scheduled_ms": scheduled_ms,
                    "outcome": format!("{outcome:?}"),
                    "run_id": report.run.map(|r| r.0),
                    "counts": report.counts.to_json(),
                    "d1_round_trips": store.round_trips(),
                    "d1_statements": store.statements(),
                    "error": report.error,
                    // The signals the notifier fanned out (counts: notify.*).
                    "to_notify": report.to_notify.iter().map(|s| s.0).collect::<Vec<_>>(),
                    "next_symbol": report.next_symbol.map(|s| s.0),
                }),
            );
            Ok(())
        }
        Err(e) => {
            kv_lease_clear(&kv, PIPELINE_JOB).await;
            Err(SetupError(format!("job bookkeeping failed: {e}")))
        }
    }
}

/// The KV pre-check's lease for the maintenance jobs (ms); the D1 lease of each job decides.
const MAINTENANCE_KV_LEASE_MS: i64 = 120_000;

/// Runs one maintenance job (stats, gaps, db-health, cleanup, subscriptions) on D1.
async fn maintenance(env: &Env, job: &'static str, scheduled_ms: i64) -> Result<(), SetupError> {
    let db = env
        .d1(bindings::DB)
        .map_err(|e| SetupError(format!("d1 binding: {e}")))?;
    let kv = env
        .kv(bindings::KV)
        .map_err(|e| SetupError(format!("kv binding: {e}")))?;
    let clock = RunClock::starting_at(scheduled_ms);
    let now = cl_app::ports::Clock::now_ms(&clock);
    if kv_lease_held(&kv, job, now).await {
        log(
            "info",
            "job_skipped",
            json!({"job": job, "reason": "lease held (kv)"}),
        );
        return Ok(());
    }
    kv_lease_put(
        &kv,
        job,
        now.saturating_add(MAINTENANCE_KV_LEASE_MS),
        MAINTENANCE_KV_LEASE_MS,
    )
    .await;
    let store = D1Store::new(db);
    let trigger = RunTrigger::Cron;
    let result: Result<(JobOutcome, JobReport), StoreError> = match job {
        STATS_JOB => run_stats_job(&store, &clock, trigger).await,
        HEALTH_JOB => run_health_job(&store, &clock, trigger).await,
        CLEANUP_JOB => run_cleanup_job(&store, &clock, &CleanupConfig::default(), trigger).await,
        SUBSCRIPTIONS_JOB => {
            let production = bindings::lookup(env, "ENVIRONMENT").as_deref() != Some("development");
            let mailer = crate::auth_wiring::WorkerMailer::from_env(env, production);
            run_subscriptions_job(&store, &mailer, &clock, trigger).await
        }
        GAPS_JOB => {
            let base = match exchange_base(env) {
                Ok(base) => base,
                Err(e) => {
                    kv_lease_clear(&kv, job).await;
                    return Err(e);
                }
            };
            let breakers = KvBreakerStore::new(kv.clone());
            let source = ExchangeSource {
                client: ExchangeClient::new(
                    ExchangeConfig::new(base),
                    FetchTransport,
                    DelaySleeper,
                    clock,
                    &breakers,
                ),
            };
            run_gaps_job(&store, &source, &clock, &GapsConfig::default(), trigger).await
        }
        other => {
            kv_lease_clear(&kv, job).await;
            return Err(SetupError(format!("no use case for job {other}")));
        }
    };
    match result {
        Ok((outcome, report)) => {
            if outcome != JobOutcome::LeaseHeld {
                kv_lease_clear(&kv, job).await;
            }
            log(
                if report.error.is_some() {
                    "warn"
                } else {
                    "info"
                },
                "job_run",
                json!({
                    "job": job,
                    "scheduled_ms": scheduled_ms,
                    "outcome": format!("{outcome:?}"),
                    "run_id": report.run.map(|r| r.0),
                    "counts": report.counts.to_json(),
                    "d1_round_trips": store.round_trips(),
                    "error": report.error,
                }),
            );
            Ok(())
        }
        Err(e) => {
            kv_lease_clear(&kv, job).await;
            Err(SetupError(format!("job bookkeeping failed: {e}")))
        }
    }
}

/// The every-minute job after the pipeline: continues the chunked work that outgrew its
/// request. Backtests today (`cl_app::backtests::continue_backtests`); each chunk is saved only
/// when the stored cursor has not moved, so two overlapping runs never apply a chunk twice and
/// no lease is needed.
const DISPATCH_JOB: &str = "dispatch";
/// Backtest chunks per dispatch run (each ≤ 2,000 candles plus look-back, a few queries).
const DISPATCH_BACKTEST_CHUNKS: u32 = 4;
/// Optimizer chunks per dispatch run (each ≤ 35 grid points of one combo, ≤ 5,000 candles).
const DISPATCH_OPTIMIZER_CHUNKS: u32 = 2;

async fn dispatch_job(env: &Env) -> Result<(), SetupError> {
    let db = env
        .d1(bindings::DB)
        .map_err(|e| SetupError(format!("d1 binding: {e}")))?;
    let store = D1Store::new(db);
    let chunks = cl_app::backtests::continue_backtests(&store, DISPATCH_BACKTEST_CHUNKS, wall_ms())
        .await
        .map_err(|e| SetupError(format!("backtests: {e}")))?;
    let opt_chunks =
        cl_app::optimizer::continue_optimizations(&store, DISPATCH_OPTIMIZER_CHUNKS, wall_ms())
            .await
            .map_err(|e| SetupError(format!("optimizer: {e}")))?;
    if chunks > 0 || opt_chunks > 0 {
        log(
            "info",
            "job_run",
            json!({"job": DISPATCH_JOB, "backtest_chunks": chunks, "optimizer_chunks": opt_chunks, "d1_round_trips": store.round_trips()}),
        );
    }
    crate::broadcast_wiring::dispatch_broadcasts(env, &store, wall_ms()).await;
    Ok(())
}

/// Runs the jobs of one cron trigger.
pub async fn dispatch(cron: &str, scheduled_ms: i64, env: &Env) {
    let jobs = jobs_for_cron(cron);
    if jobs.is_empty() {
        log("warn", "unknown_cron", json!({"cron": cron}));
        return;
    }
    for job in jobs {
        // Every line logged through `tracing` during the job carries its name and schedule
        // (`instrument`, not `enter`: a request served meanwhile must not inherit the span).
        let span = tracing::info_span!("cron_run", job = *job, cron, scheduled_ms);
        let result = async {
            match *job {
                PIPELINE_JOB => pipeline(env, scheduled_ms).await,
                STATS_JOB => maintenance(env, STATS_JOB, scheduled_ms).await,
                GAPS_JOB => maintenance(env, GAPS_JOB, scheduled_ms).await,
                HEALTH_JOB => maintenance(env, HEALTH_JOB, scheduled_ms).await,
                CLEANUP_JOB => maintenance(env, CLEANUP_JOB, scheduled_ms).await,
                SUBSCRIPTIONS_JOB => maintenance(env, SUBSCRIPTIONS_JOB, scheduled_ms).await,
                DISPATCH_JOB => {
                    // On-demand runs first (crate::run_queue_wiring), then the chunked jobs.
                    crate::run_queue_wiring::run_queue(env, scheduled_ms).await;
                    dispatch_job(env).await
                }
                other => {
                    log(
                        "info",
                        "job_not_implemented",
                        json!({"job": other, "cron": cron}),
                    );
                    Ok(())
                }
            }
        }
        .instrument(span)
        .await;
        if let Err(SetupError(why)) = result {
            log(
                "error",
                "job_failed",
                json!({"job": job, "cron": cron, "error": why}),
            );
        }
    }
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let config = crate::config(&env);
    if config.refuses_to_serve() {
        log(
            "error",
            "job_refused",
            json!({"cron": event.cron(), "reason": "unsafe production configuration"}),
        );
        return;
    }
    // `scheduledTime` is an integral ms count well inside f64's exact range.
    #[allow(clippy::cast_possible_truncation)]
    let scheduled_ms = event.schedule() as i64;
    dispatch(&event.cron(), scheduled_ms, &env).await;
}
