//! The `gaps` job (product.md §4, hourly): finds the missing 1m ranges of the last 48 h of
//! every active symbol (ONE window query per symbol), refetches each from the exchange,
//! stores what comes back (idempotent upsert), re-aggregates the higher-TF buckets the filled
//! minutes belong to, and records the ranges the exchange confirms as empty in `known_gaps`
//! (insert-if-absent on `(symbol, tf, gap_start)`; the scan leaves them out from then on).
//!
//! Only the span up to the newest stored 1m candle is scanned: minutes after it are the
//! pipeline's to fetch. A fetch budget per run bounds the exchange calls; an upstream-wide
//! failure (breaker open, ban) ends the run as `partial`.

use super::maintenance::{MaintenanceStore, MinuteGap, NewKnownGap};
use super::runner::{begin, finish, settle, Begin, JobReport};
use super::{CandleSource, JobOutcome};
use crate::cron::{CronStore, RunCounts, RunTrigger};
use crate::ports::{CandleStore, Clock, StoreError, StoredSymbol, SymbolId, SymbolStore};
use cl_domain::aggregate::aggregate;
use cl_domain::{Candle, CandleSeries, Timeframe};

/// The job's name in `cron_jobs`.
pub const GAPS_JOB: &str = "gaps";
const MIN: i64 = 60_000;

/// The gaps job's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapsConfig {
    /// How far back to look (ms).
    pub window_ms: i64,
    /// Gaps read per symbol and run.
    pub max_gaps_per_symbol: u32,
    /// Exchange fetches per run.
    pub max_fetches: u32,
    /// Stop starting fetches once this much time has passed (ms).
    pub budget_ms: i64,
    /// The lease (ms).
    pub lease_ms: i64,
}

impl Default for GapsConfig {
    fn default() -> Self {
        Self {
            window_ms: 48 * 3_600_000,
            max_gaps_per_symbol: 20,
            max_fetches: 40,
            budget_ms: 20_000,
            lease_ms: 120_000,
        }
    }
}

/// The sub-ranges of `gap` that `got` (sorted, inside the gap) leaves empty.
pub fn uncovered(gap: MinuteGap, got: &[Candle]) -> Vec<MinuteGap> {
    let mut out = Vec::new();
    let mut next = gap.start;
    for c in got {
        if c.ts() > next {
            out.push(MinuteGap {
                start: next,
                end: c.ts() - MIN,
            });
        }
        next = next.max(c.ts() + MIN);
    }
    if next <= gap.end {
        out.push(MinuteGap {
            start: next,
            end: gap.end,
        });
    }
    out
}

/// Rebuilds the already stored `tfs` buckets that contain any minute of `start..=end` from
/// the stored 1m candles, overwriting them (buckets after a TF's newest stored one are left
/// to the pipeline's incremental aggregation; the bucket containing `now` is never written).
/// Returns how many buckets were written.
///
/// # Errors
/// A [`StoreError`] from the reads or the rewrite.
pub async fn reaggregate<S>(
    store: &S,
    symbol: SymbolId,
    tfs: &[Timeframe],
    start: i64,
    end: i64,
    now: i64,
) -> Result<u64, StoreError>
where
    S: CandleStore + MaintenanceStore,
{
    let tfs: Vec<Timeframe> = tfs
        .iter()
        .copied()
        .filter(|tf| *tf != Timeframe::M1)
        .collect();
    let Some(widest) = tfs.iter().map(|tf| tf.millis()).max() else {
        return Ok(0);
    };
    let from = start - start.rem_euclid(widest);
    let to = (end - end.rem_euclid(widest) + widest).min(now - now.rem_euclid(MIN));
    if to <= from {
        return Ok(0);
    }
    let limit = u32::try_from((to - from) / MIN + 1).unwrap_or(u32::MAX);
    let rows = store
        .candles_in_range(symbol, Timeframe::M1, from, to, limit)
        .await?;
    let Ok(series) = CandleSeries::new(rows) else {
        return Ok(0);
    };
    let mut written = 0;
    for tf in tfs {
        let Some(last) = store.last_candle_ts(symbol, tf).await? else {
            continue;
        };
        let first_bucket = tf.bucket_start(start);
        let last_bucket = tf.bucket_start(end).min(last);
        let buckets: Vec<Candle> = aggregate(&series, tf, now, Some(first_bucket - tf.millis()))
            .into_iter()
            .filter(|c| c.ts() >= first_bucket && c.ts() <= last_bucket)
            .collect();
        if !buckets.is_empty() {
            written += store.rewrite_candles(symbol, tf, &buckets).await?;
        }
    }
    Ok(written)
}

/// Runs the gaps job once.
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping; the work's errors fail the recorded run.
pub async fn run_gaps_job<S, X, C>(
    store: &S,
    source: &X,
    clock: &C,
    config: &GapsConfig,
    trigger: RunTrigger,
) -> Result<(JobOutcome, JobReport), StoreError>
where
    S: SymbolStore + CandleStore + MaintenanceStore + CronStore,
    X: CandleSource,
    C: Clock,
{
    let run = match begin(store, clock, GAPS_JOB, config.lease_ms, trigger).await? {
        Begin::Run(run) => run,
        Begin::Done(outcome, report) => return Ok((outcome, report)),
    };
    let mut counts = RunCounts::default();
    let work = gaps_work(store, source, clock, config, run.started(), &mut counts).await;
    let (status, error) = settle(work);
    finish(store, clock, run, status, error, counts).await
}

async fn gaps_work<S, X, C>(
    store: &S,
    source: &X,
    clock: &C,
    config: &GapsConfig,
    started: i64,
    counts: &mut RunCounts,
) -> Result<Option<String>, StoreError>
where
    S: SymbolStore + CandleStore + MaintenanceStore,
    X: CandleSource,
    C: Clock,
{
    let mut fetches = 0_u32;
    let mut failures: Vec<String> = Vec::new();
    for symbol in store.list_symbols(true).await? {
        let Some(last) = store.last_candle_ts(symbol.id, Timeframe::M1).await? else {
            continue;
        };
        let floor = started - started.rem_euclid(MIN) - config.window_ms;
        let start_at = symbol.fetch_start_ms + (MIN - symbol.fetch_start_ms.rem_euclid(MIN)) % MIN;
        let from = floor.max(start_at);
        let to = last + MIN;
        if to <= from {
            continue;
        }
        let gaps = store
            .minute_gaps(symbol.id, from, to, config.max_gaps_per_symbol)
            .await?;
        counts.symbols += 1;
        counts.gaps += u64::try_from(gaps.len()).unwrap_or(0);
        for gap in gaps {
            if fetches >= config.max_fetches
                || clock.now_ms().saturating_sub(started) >= config.budget_ms
            {
                return Ok(Some("fetch budget spent; the next run continues".into()));
            }
            fetches += 1;
            counts.add("fetches", 1);
            match refill(store, source, &symbol, gap, started, counts).await {
                Ok(()) => {}
                Err(Refill::Upstream(why)) => {
                    return Ok(Some(format!("exchange unavailable: {why}")));
                }
                Err(Refill::Fetch(why)) => {
                    counts.abandoned += 1;
                    failures.push(format!("{}: {why}", symbol.symbol));
                }
                Err(Refill::Store(e)) => return Err(e),
            }
        }
    }
    Ok((!failures.is_empty()).then(|| failures.join("; ")))
}

enum Refill {
    Upstream(String),
    Fetch(String),
    Store(StoreError),
}

impl From<StoreError> for Refill {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

async fn refill<S, X>(
    store: &S,
    source: &X,
    symbol: &StoredSymbol,
    gap: MinuteGap,
    now: i64,
    counts: &mut RunCounts,
) -> Result<(), Refill>
where
    S: CandleStore + MaintenanceStore,
    X: CandleSource,
{
    let pages = u32::try_from(gap.missing() / 1_000 + 1).unwrap_or(5).min(5);
    let fetched = source
        .fetch_since(
            &symbol.symbol,
            Some(gap.start - MIN),
            symbol.fetch_start_ms,
            gap.end + MIN,
            pages,
        )
        .await
        .map_err(|f| {
            if f.stops_upstream {
                Refill::Upstream(f.reason)
            } else {
                Refill::Fetch(f.reason)
            }
        })?;
    counts.bad_rows += u64::try_from(fetched.bad_rows.len()).unwrap_or(0);
    let got: Vec<Candle> = fetched
        .candles
        .into_iter()
        .filter(|c| c.ts() >= gap.start && c.ts() <= gap.end)
        .collect();
    if !got.is_empty() {
        counts.candles += store.upsert_candles(symbol.id, Timeframe::M1, &got).await?;
        let rebuilt =
            reaggregate(store, symbol.id, &Timeframe::ALL, gap.start, gap.end, now).await?;
        counts.add("reaggregated", rebuilt);
    }
    if fetched.complete && fetched.interrupted.is_none() {
        let empty: Vec<NewKnownGap> = uncovered(gap, &got)
            .into_iter()
            .map(|g| NewKnownGap {
                symbol: symbol.id,
                tf: Timeframe::M1,
                gap: g,
                reason: "exchange_empty".into(),
                verified_empty: true,
                created_at: now,
            })
            .collect();
        if !empty.is_empty() {
            counts.add("known_gaps", store.record_known_gaps(&empty).await?);
        }
    } else if let Some(why) = fetched.interrupted {
        return Err(if why.stops_upstream {
            Refill::Upstream(why.reason)
        } else {
            Refill::Fetch(why.reason)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(ts: i64) -> Candle {
        Candle::new(ts, 1.0, 1.0, 1.0, 1.0, 0.0).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn uncovered_lists_the_holes_the_refetch_left() {
        let gap = MinuteGap {
            start: 10 * MIN,
            end: 19 * MIN,
        };
        assert_eq!(uncovered(gap, &[]), vec![gap]);
        let got = [c(10 * MIN), c(13 * MIN), c(14 * MIN)];
        assert_eq!(
            uncovered(gap, &got),
            vec![
                MinuteGap {
                    start: 11 * MIN,
                    end: 12 * MIN
                },
                MinuteGap {
                    start: 15 * MIN,
                    end: 19 * MIN
                }
            ]
        );
        let all: Vec<Candle> = (10..=19).map(|m| c(m * MIN)).collect();
        assert!(uncovered(gap, &all).is_empty());
        assert_eq!(gap.missing(), 10);
    }
}
