//! On-demand runs (product.md §3 `/scan`, `/scan/run`, `/fetch`; §9 quick actions and
//! historical fetch): queued by a request ([`enqueue`]), executed ONLY by the every-minute
//! dispatch job ([`run_queued`]), through the same app code the pipeline uses.
//!
//! ## Execution ([`run_queued`])
//! Each dispatch tick walks the queue once in id order: it claims the next claimable run
//! ([`RunQueueStore::claim_next_run`], one atomic statement, so a double trigger never runs
//! one chunk twice), runs ONE chunk of it, and records the outcome under the claim's lease:
//! - `scan`: [`run_symbol_tick`] with no new candles (aggregate, detect every TF, status,
//!   signal, expiry), then the notifier;
//! - `full_cycle`: the pipeline's fetch (from the last stored 1m candle, `fetch_pages` pages)
//!   then [`run_symbol_tick`] with those candles, then the notifier;
//! - `fetch`: the same fetch, the 1m candles stored and the higher-TF buckets of the range
//!   brought in line ([`crate::candle_import::aggregate_range`]), no detection;
//! - without a symbol (admin quick actions) the three above walk every active symbol,
//!   `symbols_per_chunk` per tick, the next symbol id saved as the cursor;
//! - `stats`, `cleanup`, `db_health`: the job's own use case with trigger `manual` (its lease
//!   and its `cron_runs` row); while the job's lease is held the run waits for a later tick;
//! - `historical_fetch`: `historical_pages` exchange pages per tick from the saved cursor (the
//!   last stored open time), stored idempotently and re-aggregated; progress = the share of
//!   `from..now` covered; done when the exchange has nothing newer.
//!
//! A run whose claims keep dying (no progress saved) is failed after `max_attempts` claims. A
//! run that needs the exchange (`full_cycle`, `fetch`, `historical_fetch`) while none is
//! configured ([`CandleSource::configured`]) fails at its first claim with
//! [`EXCHANGE_NOT_CONFIGURED`]; the other kinds still run.

use crate::cron::{clip_error, CronRunId, RunCounts, RunStatus, RunTrigger};
use crate::jobs::cleanup::{run_cleanup_job, CleanupConfig};
use crate::jobs::health::run_health_job;
use crate::jobs::maintenance::MaintenanceStore;
use crate::jobs::runner::JobReport;
use crate::jobs::stats::run_stats_job;
use crate::jobs::{CandleSource, FetchFailure, Fetched, JobOutcome, EXCHANGE_NOT_CONFIGURED};
use crate::notify::SignalNotifier;
use crate::pipeline::run_symbol_tick;
use crate::ports::admin::{AdminStore, NewAuditEntry};
use crate::ports::run_queue::{
    NewQueuedRun, QueueStatus, QueuedRun, QueuedRunFinish, QueuedRunId, RunKind, RunProgress,
    RunQueueStore, RunSource,
};
use crate::ports::{
    CandleStore, Clock, PatternStore, SignalId, SignalStore, StoreError, StoredSymbol, SymbolId,
    SymbolStore, UserId,
};
use cl_domain::signal::SignalSettings;
use cl_domain::{Candle, DetectionParams, Timeframe};

/// Why a run could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnqueueError {
    /// No symbol of that name (or id).
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The symbol exists but is switched off.
    #[error("the symbol is not active")]
    InactiveSymbol,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the request asks for: the target symbol (resolved by the caller's edge) and TF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAsk {
    /// What to do.
    pub kind: RunKind,
    /// The symbol by canonical name, or by id (admin routes), or none (every active one).
    pub symbol: SymbolRef,
    /// The TF recorded with the run.
    pub tf: Option<Timeframe>,
    /// Historical fetch start.
    pub from_ms: Option<i64>,
    /// Who asks.
    pub requested_by: UserId,
    /// Where from.
    pub source: RunSource,
}

/// How the request names its symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolRef {
    /// A canonical name that must be an ACTIVE symbol.
    ActiveName(String),
    /// An id (admin routes; any symbol).
    Id(SymbolId),
    /// No symbol.
    None,
}

/// The symbol with this id.
///
/// # Errors
/// Store failures.
pub async fn symbol_by_id<S: SymbolStore>(
    store: &S,
    id: SymbolId,
) -> Result<Option<StoredSymbol>, StoreError> {
    Ok(store
        .list_symbols(false)
        .await?
        .into_iter()
        .find(|s| s.id == id))
}

/// The symbol a request names: an ACTIVE one by name, any one by id, or none.
///
/// # Errors
/// [`EnqueueError::UnknownSymbol`], [`EnqueueError::InactiveSymbol`], store failures.
pub async fn resolve_symbol<S: SymbolStore>(
    store: &S,
    symbol: &SymbolRef,
) -> Result<Option<StoredSymbol>, EnqueueError> {
    Ok(match symbol {
        SymbolRef::ActiveName(name) => {
            let s = store
                .symbol_by_name(name)
                .await?
                .ok_or(EnqueueError::UnknownSymbol)?;
            if !s.is_active {
                return Err(EnqueueError::InactiveSymbol);
            }
            Some(s)
        }
        SymbolRef::Id(id) => Some(
            symbol_by_id(store, *id)
                .await?
                .ok_or(EnqueueError::UnknownSymbol)?,
        ),
        SymbolRef::None => None,
    })
}

/// Resolves the symbol and records the run as `queued`; with `audit`, the audit row is
/// written FIRST (an action never exists without its row).
///
/// # Errors
/// [`EnqueueError`].
pub async fn enqueue<S>(
    store: &S,
    ask: &RunAsk,
    audit: Option<NewAuditEntry>,
    now_ms: i64,
) -> Result<(QueuedRun, Option<StoredSymbol>), EnqueueError>
where
    S: RunQueueStore + SymbolStore + AdminStore,
{
    let symbol = resolve_symbol(store, &ask.symbol).await?;
    if let Some(mut entry) = audit {
        if let Some(s) = &symbol {
            entry.target = format!("symbol:{}", s.symbol);
        }
        store.append_audit(&entry).await?;
    }
    let run = store
        .enqueue_run(&NewQueuedRun {
            kind: ask.kind,
            symbol: symbol.as_ref().map(|s| s.id),
            tf: ask.tf,
            requested_by: Some(ask.requested_by),
            source: ask.source,
            from_ms: ask.from_ms,
            created_at: now_ms,
        })
        .await?;
    Ok((run, symbol))
}

/// The dispatch side's knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchConfig {
    /// Chunks started per tick.
    pub max_chunks: u32,
    /// Stop starting chunks after this long (ms).
    pub budget_ms: i64,
    /// A claim's lease (ms): longer than one chunk.
    pub lease_ms: i64,
    /// Exchange pages per symbol of a fetch or full cycle.
    pub fetch_pages: u32,
    /// Exchange pages per tick of a historical fetch.
    pub historical_pages: u32,
    /// Symbols per tick of a run over every active symbol.
    pub symbols_per_chunk: usize,
    /// Claims without saved progress before a run is failed.
    pub max_attempts: u32,
    /// Signal settings.
    pub settings: SignalSettings,
    /// Detection parameters.
    pub params: DetectionParams,
    /// The cleanup job's knobs.
    pub cleanup: CleanupConfig,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            max_chunks: 4,
            budget_ms: 15_000,
            lease_ms: 120_000,
            fetch_pages: 5,
            historical_pages: 5,
            symbols_per_chunk: 10,
            max_attempts: 3,
            settings: SignalSettings::default(),
            params: DetectionParams::default(),
            cleanup: CleanupConfig::default(),
        }
    }
}

/// What one chunk ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// The run is over.
    Done {
        status: QueueStatus,
        error: Option<String>,
        counts: RunCounts,
        cron_run: Option<CronRunId>,
        cursor: Option<i64>,
    },
    /// More chunks to go; `fresh` when progress was made (attempts reset).
    Continue {
        cursor: Option<i64>,
        progress: u8,
        counts: RunCounts,
        fresh: bool,
    },
}

/// One chunk handled by [`run_queued`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkReport {
    /// The run.
    pub run: QueuedRunId,
    /// Its kind.
    pub kind: RunKind,
    /// Its status after the chunk (`running` while more chunks remain).
    pub status: QueueStatus,
    /// Its error so far.
    pub error: Option<String>,
    /// False when its lease was lost before the outcome was saved.
    pub saved: bool,
}

/// The stores [`run_queued`] needs.
pub trait RunStores:
    RunQueueStore
    + SymbolStore
    + CandleStore
    + PatternStore
    + SignalStore
    + MaintenanceStore
    + crate::ports::stats::StatsStore
    + crate::cron::CronStore
{
}
impl<
        T: RunQueueStore
            + SymbolStore
            + CandleStore
            + PatternStore
            + SignalStore
            + MaintenanceStore
            + crate::ports::stats::StatsStore
            + crate::cron::CronStore,
    > RunStores for T
{
}

/// Runs up to `max_chunks` chunks of queued runs (see the module docs).
///
/// # Errors
/// A [`StoreError`] from claiming or recording (a chunk's own failures fail the run instead).
pub async fn run_queued<S, X, C, N>(
    store: &S,
    source: &X,
    clock: &C,
    notifier: &N,
    config: &DispatchConfig,
) -> Result<Vec<ChunkReport>, StoreError>
where
    S: RunStores,
    X: CandleSource,
    C: Clock,
    N: SignalNotifier,
{
    let started = clock.now_ms();
    let mut after = None;
    let mut out = Vec::new();
    for _ in 0..config.max_chunks {
        let now = clock.now_ms();
        if now.saturating_sub(started) >= config.budget_ms {
            break;
        }
        let lease = now.saturating_add(config.lease_ms.max(1));
        let Some(run) = store.claim_next_run(after, now, lease).await? else {
            break;
        };
        after = Some(run.id);
        let step = if run.attempts > config.max_attempts.max(1) {
            Step::Done {
                status: QueueStatus::Failed,
                error: Some(format!(
                    "gave up after {} claims without progress",
                    run.attempts - 1
                )),
                counts: run.counts.clone().unwrap_or_default(),
                cron_run: run.cron_run,
                cursor: run.cursor,
            }
        } else {
            chunk(store, source, clock, notifier, config, &run, now).await
        };
        out.push(record(store, clock, &run, lease, step).await?);
    }
    Ok(out)
}

async fn record<S: RunQueueStore, C: Clock>(
    store: &S,
    clock: &C,
    run: &QueuedRun,
    lease: i64,
    step: Step,
) -> Result<ChunkReport, StoreError> {
    match step {
        Step::Done {
            status,
            error,
            counts,
            cron_run,
            cursor,
        } => {
            let error = error.map(|e| clip_error(&e));
            let saved = store
                .finish_queued_run(
                    run.id,
                    lease,
                    &QueuedRunFinish {
                        status,
                        ended_at: clock.now_ms(),
                        error: error.clone(),
                        counts,
                        cron_run,
                        cursor,
                    },
                )
                .await?;
            Ok(ChunkReport {
                run: run.id,
                kind: run.new.kind,
                status,
                error,
                saved,
            })
        }
        Step::Continue {
            cursor,
            progress,
            counts,
            fresh,
        } => {
            let saved = store
                .save_run_progress(
                    run.id,
                    lease,
                    &RunProgress {
                        cursor,
                        progress: progress.min(99),
                        counts,
                        reset_attempts: fresh,
                    },
                )
                .await?;
            Ok(ChunkReport {
                run: run.id,
                kind: run.new.kind,
                status: QueueStatus::Running,
                error: None,
                saved,
            })
        }
    }
}

fn failed(run: &QueuedRun, counts: RunCounts, why: String) -> Step {
    Step::Done {
        status: QueueStatus::Failed,
        error: Some(why),
        counts,
        cron_run: run.cron_run,
        cursor: run.cursor,
    }
}

async fn chunk<S, X, C, N>(
    store: &S,
    source: &X,
    clock: &C,
    notifier: &N,
    config: &DispatchConfig,
    run: &QueuedRun,
    now: i64,
) -> Step
where
    S: RunStores,
    X: CandleSource,
    C: Clock,
    N: SignalNotifier,
{
    let counts = run.counts.clone().unwrap_or_default();
    let needs_exchange = matches!(
        run.new.kind,
        RunKind::FullCycle | RunKind::Fetch | RunKind::HistoricalFetch
    );
    if needs_exchange && !source.configured() {
        // Final at once: retrying cannot help until the config changes.
        return failed(run, counts, EXCHANGE_NOT_CONFIGURED.to_owned());
    }
    match run.new.kind {
        RunKind::Stats => job_step(
            run,
            counts,
            run_stats_job(store, clock, RunTrigger::Manual).await,
        ),
        RunKind::Cleanup => job_step(
            run,
            counts,
            run_cleanup_job(store, clock, &config.cleanup, RunTrigger::Manual).await,
        ),
        RunKind::DbHealth => job_step(
            run,
            counts,
            run_health_job(store, clock, RunTrigger::Manual).await,
        ),
        RunKind::HistoricalFetch => historical(store, source, config, run, counts, now).await,
        RunKind::Scan | RunKind::FullCycle | RunKind::Fetch => {
            symbol_chunk(store, source, notifier, config, run, counts, now).await
        }
    }
}

/// The outcome of a maintenance job run on demand.
fn job_step(
    run: &QueuedRun,
    mut counts: RunCounts,
    result: Result<(JobOutcome, JobReport), StoreError>,
) -> Step {
    match result {
        Err(e) => failed(run, counts, e.to_string()),
        Ok((JobOutcome::Unknown, _)) => failed(run, counts, "the job is not seeded".into()),
        Ok((JobOutcome::Disabled, _)) => failed(run, counts, "the job is disabled".into()),
        // The job's scheduled run holds its lease: wait for a later tick (not a failed try).
        Ok((JobOutcome::LeaseHeld, _)) => Step::Continue {
            cursor: run.cursor,
            progress: 0,
            counts,
            fresh: true,
        },
        Ok((JobOutcome::Ran(status), report)) => {
            counts = report.counts;
            Step::Done {
                status: match status {
                    RunStatus::Ok => QueueStatus::Ok,
                    RunStatus::Partial => QueueStatus::Partial,
                    _ => QueueStatus::Failed,
                },
                error: report.error,
                counts,
                cron_run: report.run,
                cursor: run.cursor,
            }
        }
    }
}

fn fetch_error(f: &FetchFailure) -> String {
    format!("exchange: {}", f.reason)
}

/// Fetches and stores a symbol's new 1m candles (from the last stored one).
async fn fetch_new<S, X>(
    store: &S,
    source: &X,
    symbol: &StoredSymbol,
    now: i64,
    pages: u32,
) -> Result<Fetched, FetchFailure>
where
    S: CandleStore,
    X: CandleSource,
{
    let last = store
        .last_candle_ts(symbol.id, Timeframe::M1)
        .await
        .map_err(|e| FetchFailure {
            reason: format!("reading the last candle: {e}"),
            stops_upstream: false,
        })?;
    source
        .fetch_since(&symbol.symbol, last, symbol.fetch_start_ms, now, pages)
        .await
}

/// Stores 1m candles and rebuilds the stored higher-TF buckets of their range.
async fn store_and_aggregate<S>(
    store: &S,
    symbol: SymbolId,
    candles: &[Candle],
    now: i64,
    counts: &mut RunCounts,
) -> Result<(), StoreError>
where
    S: CandleStore + MaintenanceStore,
{
    let (Some(first), Some(last)) = (candles.first(), candles.last()) else {
        return Ok(());
    };
    counts.candles += store.upsert_candles(symbol, Timeframe::M1, candles).await?;
    let rebuilt =
        crate::candle_import::aggregate_range(store, symbol, first.ts(), last.ts(), now).await?;
    counts.add("aggregated", rebuilt);
    Ok(())
}

/// One symbol of a scan / full cycle / fetch; the signals to notify.
async fn one_symbol<S, X>(
    store: &S,
    source: &X,
    config: &DispatchConfig,
    kind: RunKind,
    symbol: &StoredSymbol,
    now: i64,
    counts: &mut RunCounts,
) -> Result<Vec<SignalId>, String>
where
    S: RunStores,
    X: CandleSource,
{
    let fetched = match kind {
        RunKind::Scan => Fetched {
            complete: true,
            ..Fetched::default()
        },
        _ => fetch_new(store, source, symbol, now, config.fetch_pages)
            .await
            .map_err(|f| fetch_error(&f))?,
    };
    counts.bad_rows += u64::try_from(fetched.bad_rows.len()).unwrap_or(0);
    counts.gaps += fetched.gaps;
    if kind == RunKind::Fetch {
        store_and_aggregate(store, symbol.id, &fetched.candles, now, counts)
            .await
            .map_err(|e| e.to_string())?;
        counts.symbols += 1;
        return Ok(Vec::new());
    }
    let tick = run_symbol_tick(
        store,
        symbol,
        &fetched.candles,
        now,
        &config.settings,
        &config.params,
    )
    .await
    .map_err(|e| e.to_string())?;
    counts.symbols += 1;
    counts.candles += tick.new_1m;
    counts.add("aggregated", tick.aggregated);
    counts.patterns += u64::try_from(tick.patterns_saved.len()).unwrap_or(0);
    counts.signals += tick.signals_generated();
    Ok(tick.to_notify)
}

async fn symbol_chunk<S, X, N>(
    store: &S,
    source: &X,
    notifier: &N,
    config: &DispatchConfig,
    run: &QueuedRun,
    mut counts: RunCounts,
    now: i64,
) -> Step
where
    S: RunStores,
    X: CandleSource,
    N: SignalNotifier,
{
    let all = match store.list_symbols(run.new.symbol.is_none()).await {
        Ok(all) => all,
        Err(e) => return failed(run, counts, e.to_string()),
    };
    let (batch, rest): (Vec<StoredSymbol>, usize) = match run.new.symbol {
        Some(id) => match all.into_iter().find(|s| s.id == id) {
            Some(s) => (vec![s], 0),
            None => return failed(run, counts, "the symbol no longer exists".into()),
        },
        None => {
            let from = run.cursor.unwrap_or(i64::MIN);
            let todo: Vec<StoredSymbol> = all.into_iter().filter(|s| s.id.0 >= from).collect();
            let n = config.symbols_per_chunk.max(1).min(todo.len());
            let rest = todo.len() - n;
            (todo.into_iter().take(n).collect(), rest)
        }
    };
    let total = counts.symbols + counts.abandoned + u64::try_from(batch.len() + rest).unwrap_or(0);
    let mut errors = Vec::new();
    let mut to_notify = Vec::new();
    for symbol in &batch {
        match one_symbol(
            store,
            source,
            config,
            run.new.kind,
            symbol,
            now,
            &mut counts,
        )
        .await
        {
            Ok(ids) => to_notify.extend(ids),
            Err(e) => {
                counts.abandoned += 1;
                errors.push(format!("{}: {e}", symbol.symbol));
            }
        }
    }
    if !to_notify.is_empty() {
        notifier.notify(&to_notify, now).await.add_to(&mut counts);
    }
    if rest > 0 {
        let next = batch.last().map(|s| s.id.0 + 1);
        let done = counts.symbols + counts.abandoned;
        let pct = done.saturating_mul(100) / total.max(1);
        return Step::Continue {
            cursor: next,
            progress: u8::try_from(pct).unwrap_or(99),
            counts,
            fresh: true,
        };
    }
    let status = if errors.is_empty() {
        QueueStatus::Ok
    } else if counts.symbols > 0 {
        QueueStatus::Partial
    } else {
        QueueStatus::Failed
    };
    Step::Done {
        status,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
        counts,
        cron_run: None,
        cursor: run.cursor,
    }
}

async fn historical<S, X>(
    store: &S,
    source: &X,
    config: &DispatchConfig,
    run: &QueuedRun,
    mut counts: RunCounts,
    now: i64,
) -> Step
where
    S: RunStores,
    X: CandleSource,
{
    let symbol = match run.new.symbol {
        Some(id) => match symbol_by_id(store, id).await {
            Ok(Some(s)) => s,
            Ok(None) => return failed(run, counts, "the symbol no longer exists".into()),
            Err(e) => return failed(run, counts, e.to_string()),
        },
        None => return failed(run, counts, "no symbol".into()),
    };
    let from = run.new.from_ms.unwrap_or(symbol.fetch_start_ms);
    let fetched = match source
        .fetch_since(
            &symbol.symbol,
            run.cursor,
            from,
            now,
            config.historical_pages,
        )
        .await
    {
        Ok(f) => f,
        // Not progress: the claim counts as an attempt, a later tick retries.
        Err(f) => {
            return Step::Continue {
                cursor: run.cursor,
                progress: run.progress,
                counts,
                fresh: false,
            }
            .or_fail(run, config, fetch_error(&f))
        }
    };
    counts.bad_rows += u64::try_from(fetched.bad_rows.len()).unwrap_or(0);
    counts.gaps += fetched.gaps;
    if let Err(e) = store_and_aggregate(store, symbol.id, &fetched.candles, now, &mut counts).await
    {
        return Step::Continue {
            cursor: run.cursor,
            progress: run.progress,
            counts,
            fresh: false,
        }
        .or_fail(run, config, e.to_string());
    }
    let cursor = fetched.candles.last().map(Candle::ts).or(run.cursor);
    counts.add("pages", 1);
    if fetched.complete {
        return Step::Done {
            status: QueueStatus::Ok,
            error: None,
            counts,
            cron_run: None,
            cursor,
        };
    }
    let span = now.saturating_sub(from).max(1);
    let covered = cursor.map_or(0, |c| c.saturating_sub(from)).clamp(0, span);
    let pct = covered.saturating_mul(100) / span;
    Step::Continue {
        cursor,
        progress: u8::try_from(pct).unwrap_or(99),
        counts,
        fresh: fetched.interrupted.is_none() || cursor != run.cursor,
    }
}

impl Step {
    /// A retry without progress, or a failure when this was the last allowed attempt.
    fn or_fail(self, run: &QueuedRun, config: &DispatchConfig, why: String) -> Step {
        if run.attempts >= config.max_attempts.max(1) {
            let counts = match self {
                Step::Continue { counts, .. } | Step::Done { counts, .. } => counts,
            };
            failed(run, counts, why)
        } else {
            self
        }
    }
}
