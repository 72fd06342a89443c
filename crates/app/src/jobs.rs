//! Scheduled jobs (product.md §4) as use cases over the ports. The worker only reads `Env`,
//! builds the adapters and calls these.
//!
//! ## The pipeline job ([`run_pipeline_job`])
//! 1. Skip when the job is unknown or disabled (nothing recorded).
//! 2. Take the job's lease ([`CronStore::claim_lease`], one atomic statement). When another run
//!    holds it, record a `skipped` run and stop: two triggers for the same minute never both
//!    work.
//! 3. Record a `running` run, then for each active symbol (by id, starting at the resume
//!    cursor and wrapping around):
//!    - stop before the symbol when the time budget or the storage query budget is spent: the
//!      cursor names this symbol, the run is `partial`, and the next run starts here;
//!    - fetch the closed 1m candles after the last stored one (first run: from the symbol's
//!      `fetch_start_ms`), at most `max_pages` pages (the backfill cap: a capped fetch makes
//!      the run `partial`, and the next run resumes from the stored last candle);
//!    - run [`run_symbol_tick`] with now = the scheduled time;
//!    - a failed symbol is retried once (every earlier write is idempotent), then abandoned for
//!      this run; an upstream failure that stops the exchange for everybody (breaker open,
//!      ban, long rate limit) ends the loop.
//! 4. Record the run's status (`ok`, `partial`, `failed`), error and counts; release the lease.
//!
//! Invalid exchange rows never fail a symbol: the [`CandleSource`] skips them and the report
//! lists them (the worker logs each). Confirmed-empty ranges are counted only: there is no
//! `known_gaps` port yet (the `gaps` job will own it).

pub mod cleanup;
pub mod gaps;
pub mod health;
pub mod maintenance;
pub mod matrix_cache;
pub mod runner;
pub mod stats;
pub mod subscriptions;

use crate::cron::{clip_error, CronRunId, CronStore, RunCounts, RunFinish, RunStatus, RunTrigger};
use crate::pipeline::run_symbol_tick;
use crate::ports::{
    CandleStore, Clock, PatternStore, SignalId, SignalStore, StoreError, StoredSymbol, SymbolId,
    SymbolStore,
};
use cl_domain::signal::SignalSettings;
use cl_domain::{Candle, DetectionParams, Timeframe};

/// The pipeline job's name in `cron_jobs`.
pub const PIPELINE_JOB: &str = "pipeline";

/// The cron expressions of `wrangler.toml` `[triggers]`.
pub mod crons {
    /// Every minute: pipeline (then dispatch).
    pub const EVERY_MINUTE: &str = "* * * * *";
    /// Every 5 minutes: stats.
    pub const EVERY_5_MINUTES: &str = "*/5 * * * *";
    /// Hourly: gaps.
    pub const HOURLY: &str = "0 * * * *";
    /// 03:00 UTC: db-health, then cleanup.
    pub const DAILY_0300: &str = "0 3 * * *";
    /// 06:00 UTC: subscriptions.
    pub const DAILY_0600: &str = "0 6 * * *";
}

/// The jobs a cron trigger runs, in order (product.md §4); empty for an unknown expression.
pub fn jobs_for_cron(cron: &str) -> &'static [&'static str] {
    match cron.trim() {
        crons::EVERY_MINUTE => &[PIPELINE_JOB, "dispatch"],
        crons::EVERY_5_MINUTES => &["stats"],
        crons::HOURLY => &["gaps"],
        crons::DAILY_0300 => &["db-health", "cleanup"],
        crons::DAILY_0600 => &["subscriptions"],
        _ => &[],
    }
}

/// A row the exchange sent that is not a valid candle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCandle {
    /// Its open time, when readable.
    pub open_ms: Option<i64>,
    /// Why it was skipped.
    pub reason: String,
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// For the run's error and the logs.
    pub reason: String,
    /// True when no further symbol should call the exchange in this run (breaker open, ban,
    /// rate limit longer than the run may wait).
    pub stops_upstream: bool,
}

/// What a [`CandleSource`] fetched for one symbol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fetched {
    /// Valid closed 1m candles, strictly increasing.
    pub candles: Vec<Candle>,
    /// Rows skipped as invalid.
    pub bad_rows: Vec<BadCandle>,
    /// Confirmed-empty ranges reported.
    pub gaps: u64,
    /// False when the page cap ran out or an error interrupted the fetch.
    pub complete: bool,
    /// The error that interrupted a fetch after some pages (those are kept).
    pub interrupted: Option<FetchFailure>,
}

/// The exchange, as the pipeline job needs it. The worker implements it over
/// `cl_outbound::ExchangeClient`.
#[allow(async_fn_in_trait)]
pub trait CandleSource {
    /// Every closed 1m candle after `last_stored` (or from `fetch_start_ms` when none is
    /// stored) before the minute containing `now_ms`, in at most `max_pages` requests.
    ///
    /// # Errors
    /// A [`FetchFailure`] when nothing could be fetched.
    async fn fetch_since(
        &self,
        symbol: &str,
        last_stored: Option<i64>,
        fetch_start_ms: i64,
        now_ms: i64,
        max_pages: u32,
    ) -> Result<Fetched, FetchFailure>;

    /// False when no exchange is configured: a queued run that needs one then fails once with
    /// [`EXCHANGE_NOT_CONFIGURED`] instead of retrying every tick.
    fn configured(&self) -> bool {
        true
    }
}

/// The error of a run that needs the exchange when none is configured.
pub const EXCHANGE_NOT_CONFIGURED: &str = "exchange_not_configured";

/// The pipeline job's knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineJobConfig {
    /// Stop starting symbols once this much wall time has passed (ms).
    pub budget_ms: i64,
    /// How long the lease lasts (ms); longer than the budget plus one symbol.
    pub lease_ms: i64,
    /// Exchange pages per symbol and run (1,000 minutes each): the backfill cap.
    pub max_pages: u32,
    /// Storage round trips allowed per run (D1: 1,000 per invocation on Paid, 50 on Free).
    pub max_queries: u64,
    /// Round trips reserved per symbol (a tick needs at most 22, plus 1 for the last candle).
    pub queries_per_symbol: u64,
    /// Tries per symbol before it is abandoned for this run.
    pub max_symbol_attempts: u32,
    /// Signal settings (global defaults).
    pub settings: SignalSettings,
    /// Detection parameters.
    pub params: DetectionParams,
}

impl Default for PipelineJobConfig {
    fn default() -> Self {
        Self {
            budget_ms: 20_000,
            lease_ms: 55_000,
            max_pages: 5,
            max_queries: 950,
            queries_per_symbol: 23,
            max_symbol_attempts: 2,
            settings: SignalSettings::default(),
            params: DetectionParams::default(),
        }
    }
}

/// How a job invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// The job is not seeded in `cron_jobs`.
    Unknown,
    /// The job is switched off.
    Disabled,
    /// Another run holds the lease; a `skipped` run was recorded.
    LeaseHeld,
    /// The job ran and ended with this status.
    Ran(RunStatus),
}

/// What the pipeline job did, for the worker's logs and the notifier.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineReport {
    /// The recorded run, if any.
    pub run: Option<CronRunId>,
    /// Its counters.
    pub counts: RunCounts,
    /// Its error text.
    pub error: Option<String>,
    /// New signals to notify (step 6b), in creation order.
    pub to_notify: Vec<SignalId>,
    /// Invalid exchange rows, per symbol (log each).
    pub bad_rows: Vec<(String, BadCandle)>,
    /// One line per failed attempt.
    pub failures: Vec<String>,
    /// The symbol the next run starts at, when this run stopped early.
    pub next_symbol: Option<SymbolId>,
}

/// Reads `{"next_symbol":N}`.
fn parse_cursor(cursor: Option<&str>) -> Option<SymbolId> {
    let text = cursor?;
    let (_, rest) = text.split_once("\"next_symbol\"")?;
    let digits: String = rest
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().map(SymbolId)
}

fn cursor_json(next: SymbolId) -> String {
    format!("{{\"next_symbol\":{}}}", next.0)
}

/// Symbols by id, starting at `from` and wrapping around.
fn rotate(mut symbols: Vec<StoredSymbol>, from: Option<SymbolId>) -> Vec<StoredSymbol> {
    symbols.sort_by_key(|s| s.id);
    if let Some(from) = from {
        let split = symbols.partition_point(|s| s.id < from);
        symbols.rotate_left(split);
    }
    symbols
}

/// Runs the pipeline job once for the trigger at `scheduled_ms` (see the module docs).
/// `clock` is the wall clock (lease, budget, run times); `queries` reads the storage round
/// trips made so far. Notifies nothing: see [`run_pipeline_job_notifying`].
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping (`cron_jobs`/`cron_runs`) or from listing the
/// symbols; per-symbol failures are recorded in the run instead.
pub async fn run_pipeline_job<S, X, C, Q>(
    store: &S,
    source: &X,
    clock: &C,
    queries: Q,
    config: &PipelineJobConfig,
    scheduled_ms: i64,
    trigger: RunTrigger,
) -> Result<(JobOutcome, PipelineReport), StoreError>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore + CronStore,
    X: CandleSource,
    C: Clock,
    Q: Fn() -> u64,
{
    run_pipeline_job_notifying(
        store,
        source,
        clock,
        queries,
        config,
        scheduled_ms,
        trigger,
        &(),
    )
    .await
}

/// [`run_pipeline_job`] with step 6b: after the symbols, inside the lease, `notifier` fans
/// out the run's new signals and delivers what is due (`crate::notify`); its counters go to
/// the run's counts (`notify.*`) and its errors to the run's error text.
///
/// # Errors
/// As [`run_pipeline_job`].
#[allow(clippy::too_many_lines, clippy::too_many_arguments)]
pub async fn run_pipeline_job_notifying<S, X, C, Q, N>(
    store: &S,
    source: &X,
    clock: &C,
    queries: Q,
    config: &PipelineJobConfig,
    scheduled_ms: i64,
    trigger: RunTrigger,
    notifier: &N,
) -> Result<(JobOutcome, PipelineReport), StoreError>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore + CronStore,
    X: CandleSource,
    C: Clock,
    Q: Fn() -> u64,
    N: crate::notify::SignalNotifier,
{
    let mut report = PipelineReport::default();
    let Some(job) = store.cron_job(PIPELINE_JOB).await? else {
        return Ok((JobOutcome::Unknown, report));
    };
    if !job.enabled {
        return Ok((JobOutcome::Disabled, report));
    }
    let started = clock.now_ms();
    let lease_until = started.saturating_add(config.lease_ms.max(1));
    if !store
        .claim_lease(PIPELINE_JOB, started, lease_until)
        .await?
    {
        let id = store.start_run(PIPELINE_JOB, trigger, started).await?;
        let error = "lease held by another run".to_owned();
        store
            .finish_run(
                id,
                &RunFinish {
                    ended_at: clock.now_ms().max(started),
                    status: RunStatus::Skipped,
                    error: Some(error.clone()),
                    counts: RunCounts::default(),
                },
            )
            .await?;
        report.run = Some(id);
        report.error = Some(error);
        return Ok((JobOutcome::LeaseHeld, report));
    }
    let queries_at_start = queries();
    let run = store.start_run(PIPELINE_JOB, trigger, started).await?;
    report.run = Some(run);

    let work = pipeline_symbols(
        store,
        source,
        clock,
        &queries,
        config,
        scheduled_ms,
        started,
        &job.cursor,
        &mut report,
    )
    .await;
    let (status, stop_reason) = match work {
        Ok(outcome) => outcome,
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    // Step 6b: never fails the run; a broken channel shows in the counts and the error.
    let notified = notifier.notify(&report.to_notify, clock.now_ms()).await;
    notified.add_to(&mut report.counts);
    report.failures.extend(notified.errors.iter().cloned());
    let new_cursor = report.next_symbol.map(cursor_json);
    if new_cursor != job.cursor {
        // A cursor that cannot be written only costs fairness, never data.
        if let Err(e) = store
            .set_cursor(PIPELINE_JOB, new_cursor.as_deref(), clock.now_ms())
            .await
        {
            report.failures.push(format!("saving the cursor: {e}"));
        }
    }
    let ended = clock.now_ms().max(started);
    report.counts.wall_ms = u64::try_from(ended - started).unwrap_or(0);
    let mut errors: Vec<String> = stop_reason.into_iter().collect();
    errors.extend(report.failures.iter().take(5).cloned());
    report.error = (!errors.is_empty()).then(|| clip_error(&errors.join("; ")));
    report.counts.queries = queries().saturating_sub(queries_at_start).saturating_add(2);
    store
        .finish_run(
            run,
            &RunFinish {
                ended_at: ended,
                status,
                error: report.error.clone(),
                counts: report.counts.clone(),
            },
        )
        .await?;
    store.release_lease(PIPELINE_JOB, lease_until).await?;
    Ok((JobOutcome::Ran(status), report))
}

/// The per-symbol loop: the run's status and the reason it stopped early, if it did.
#[allow(clippy::too_many_arguments)]
async fn pipeline_symbols<S, X, C, Q>(
    store: &S,
    source: &X,
    clock: &C,
    queries: &Q,
    config: &PipelineJobConfig,
    scheduled_ms: i64,
    started: i64,
    cursor: &Option<String>,
    report: &mut PipelineReport,
) -> Result<(RunStatus, Option<String>), StoreError>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore + CronStore,
    X: CandleSource,
    C: Clock,
    Q: Fn() -> u64,
{
    let base = queries();
    let symbols = rotate(
        store.list_symbols(true).await?,
        parse_cursor(cursor.as_deref()),
    );
    let mut stop: Option<String> = None;
    let mut incomplete = 0_u64;
    let mut attempted = 0_u64;
    for symbol in &symbols {
        let used = queries().saturating_sub(base);
        if clock.now_ms().saturating_sub(started) >= config.budget_ms {
            stop = Some(format!("time budget of {} ms spent", config.budget_ms));
        } else if used.saturating_add(config.queries_per_symbol) > config.max_queries {
            stop = Some(format!(
                "query budget of {} spent ({used} used)",
                config.max_queries
            ));
        }
        if stop.is_some() {
            report.next_symbol = Some(symbol.id);
            break;
        }
        attempted += 1;
        match one_symbol(store, source, config, scheduled_ms, symbol, report).await {
            Ok(complete) => {
                report.counts.symbols += 1;
                if !complete {
                    incomplete += 1;
                }
            }
            Err(failure) if failure.stops_upstream => {
                report
                    .failures
                    .push(format!("{}: {}", symbol.symbol, failure.reason));
                stop = Some(format!("exchange unavailable: {}", failure.reason));
                report.next_symbol = Some(symbol.id);
                break;
            }
            Err(failure) => {
                report.counts.abandoned += 1;
                report
                    .failures
                    .push(format!("{}: {}", symbol.symbol, failure.reason));
            }
        }
    }
    let status = if report.counts.symbols == 0
        && (attempted > 0 || stop.is_some())
        && !report.failures.is_empty()
    {
        RunStatus::Failed
    } else if stop.is_some() || incomplete > 0 || report.counts.abandoned > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    if stop.is_none() && incomplete > 0 {
        stop = Some(format!(
            "backfill capped for {incomplete} symbol(s); the next run continues"
        ));
    }
    Ok((status, stop))
}

/// Fetch and tick one symbol, retrying once. `Ok(complete)` when its tick ran.
async fn one_symbol<S, X>(
    store: &S,
    source: &X,
    config: &PipelineJobConfig,
    scheduled_ms: i64,
    symbol: &StoredSymbol,
    report: &mut PipelineReport,
) -> Result<bool, FetchFailure>
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore,
    X: CandleSource,
{
    let mut last_reason = String::new();
    for attempt in 1..=config.max_symbol_attempts.max(1) {
        let last = match store.last_candle_ts(symbol.id, Timeframe::M1).await {
            Ok(last) => last,
            Err(e) => {
                last_reason = format!("reading the last candle: {e}");
                continue;
            }
        };
        let fetched = source
            .fetch_since(
                &symbol.symbol,
                last,
                symbol.fetch_start_ms,
                scheduled_ms,
                config.max_pages,
            )
            .await;
        let fetched = match fetched {
            Ok(f) => f,
            Err(f) if f.stops_upstream => return Err(f),
            Err(f) => {
                last_reason = f.reason;
                continue;
            }
        };
        match run_symbol_tick(
            store,
            symbol,
            &fetched.candles,
            scheduled_ms,
            &config.settings,
            &config.params,
        )
        .await
        {
            Ok(tick) => {
                report.counts.candles += tick.new_1m;
                report.counts.patterns += u64::try_from(tick.patterns_saved.len()).unwrap_or(0);
                report.counts.signals += tick.signals_generated();
                report.counts.gaps += fetched.gaps;
                report.counts.bad_rows += u64::try_from(fetched.bad_rows.len()).unwrap_or(0);
                report.to_notify.extend(tick.to_notify);
                report.bad_rows.extend(
                    fetched
                        .bad_rows
                        .into_iter()
                        .map(|b| (symbol.symbol.clone(), b)),
                );
                if let Some(interrupted) = fetched.interrupted {
                    if interrupted.stops_upstream {
                        return Err(interrupted);
                    }
                    report
                        .failures
                        .push(format!("{}: {}", symbol.symbol, interrupted.reason));
                }
                return Ok(fetched.complete);
            }
            Err(e) => {
                last_reason = format!("attempt {attempt}: {e}");
            }
        }
    }
    Err(FetchFailure {
        reason: last_reason,
        stops_upstream: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(id: i64) -> StoredSymbol {
        StoredSymbol {
            id: SymbolId(id),
            symbol: format!("S{id}/USDT"),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: 0,
            created_at: 0,
        }
    }

    #[test]
    fn the_cursor_rotates_the_symbol_order() {
        let ids = |v: Vec<StoredSymbol>| v.iter().map(|s| s.id.0).collect::<Vec<_>>();
        assert_eq!(ids(rotate(vec![sym(3), sym(1), sym(2)], None)), [1, 2, 3]);
        assert_eq!(
            ids(rotate(vec![sym(3), sym(1), sym(2)], Some(SymbolId(2)))),
            [2, 3, 1]
        );
        assert_eq!(ids(rotate(vec![sym(3), sym(1)], Some(SymbolId(2)))), [3, 1]);
        assert_eq!(
            parse_cursor(Some(&cursor_json(SymbolId(12)))),
            Some(SymbolId(12))
        );
        assert_eq!(
            parse_cursor(Some("{\"next_symbol\": 7}")),
            Some(SymbolId(7))
        );
        assert_eq!(parse_cursor(Some("{}")), None);
        assert_eq!(parse_cursor(None), None);
    }

    #[test]
    fn crons_map_to_jobs() {
        assert_eq!(jobs_for_cron("* * * * *"), [PIPELINE_JOB, "dispatch"]);
        assert_eq!(jobs_for_cron("0 3 * * *"), ["db-health", "cleanup"]);
        assert!(jobs_for_cron("1 2 3 4 5").is_empty());
    }
}
