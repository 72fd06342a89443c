//! The `db-health` job (product.md §4, 03:00): finds stored candles that break the candle
//! rules or sit off their TF's bucket grid (ONE query), deletes them, and rebuilds each
//! flagged higher-TF bucket from the 1m candles (only the flagged buckets are rewritten; a
//! flagged 1m row is left missing for the `gaps` job to refetch). Then it scans every active
//! symbol for missing 1m ranges in the last 48 h and reports how many (the `gaps` job fills
//! them).

use super::gaps::reaggregate;
use super::maintenance::{CandleKey, MaintenanceStore};
use super::runner::{begin, finish, settle, Begin, JobReport};
use super::JobOutcome;
use crate::cron::{CronStore, RunCounts, RunTrigger};
use crate::ports::{CandleStore, Clock, StoreError, SymbolStore};
use cl_domain::Timeframe;

/// The job's name in `cron_jobs`.
pub const HEALTH_JOB: &str = "db-health";
const MIN: i64 = 60_000;
/// Flagged rows handled per run.
pub const MAX_FLAGGED: u32 = 500;
/// The scanned span (ms).
pub const SCAN_WINDOW_MS: i64 = 48 * 3_600_000;

/// Runs the db-health job once.
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping; the work's errors fail the recorded run.
pub async fn run_health_job<S, C>(
    store: &S,
    clock: &C,
    trigger: RunTrigger,
) -> Result<(JobOutcome, JobReport), StoreError>
where
    S: SymbolStore + CandleStore + MaintenanceStore + CronStore,
    C: Clock,
{
    let run = match begin(store, clock, HEALTH_JOB, 300_000, trigger).await? {
        Begin::Run(run) => run,
        Begin::Done(outcome, report) => return Ok((outcome, report)),
    };
    let mut counts = RunCounts::default();
    let work = health_work(store, run.started(), &mut counts).await;
    let (status, error) = settle(work);
    finish(store, clock, run, status, error, counts).await
}

async fn health_work<S>(
    store: &S,
    now: i64,
    counts: &mut RunCounts,
) -> Result<Option<String>, StoreError>
where
    S: SymbolStore + CandleStore + MaintenanceStore,
{
    let flagged: Vec<CandleKey> = store.flagged_candles(MAX_FLAGGED).await?;
    counts.add("flagged", u64::try_from(flagged.len()).unwrap_or(0));
    counts.add("deleted", store.delete_candles(&flagged).await?);
    for key in flagged.iter().filter(|k| k.tf != Timeframe::M1) {
        let start = key.tf.bucket_start(key.ts);
        let end = start + key.tf.millis() - MIN;
        let rebuilt = reaggregate(store, key.symbol, &[key.tf], start, end, now).await?;
        counts.add("reaggregated", rebuilt);
    }
    let floor = now - now.rem_euclid(MIN) - SCAN_WINDOW_MS;
    for symbol in store.list_symbols(true).await? {
        let Some(last) = store.last_candle_ts(symbol.id, Timeframe::M1).await? else {
            continue;
        };
        let start_at = symbol.fetch_start_ms + (MIN - symbol.fetch_start_ms.rem_euclid(MIN)) % MIN;
        let from = floor.max(start_at);
        if last + MIN <= from {
            continue;
        }
        let gaps = store
            .minute_gaps(symbol.id, from, last + MIN, 1_000)
            .await?;
        counts.symbols += 1;
        counts.gaps += u64::try_from(gaps.len()).unwrap_or(0);
        counts.add(
            "missing_minutes",
            gaps.iter()
                .map(super::maintenance::MinuteGap::missing)
                .sum(),
        );
    }
    Ok((flagged.len() >= MAX_FLAGGED as usize)
        .then(|| format!("more than {MAX_FLAGGED} flagged candles; the next run continues")))
}
