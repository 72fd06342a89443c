//! The pipeline job over the memory store and a scripted candle source: lease, disabled job,
//! query-budget batches with the symbol cursor, abandoned symbols, upstream outages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::clock::ManualClock;
use cl_app::cron::{CronStore, RunStatus, RunTrigger};
use cl_app::jobs::{
    run_pipeline_job, CandleSource, FetchFailure, Fetched, JobOutcome, PipelineJobConfig,
    PIPELINE_JOB,
};
use cl_app::ports::{CandleStore, NewSymbol, SymbolId, SymbolStore};
use cl_domain::{Candle, Timeframe};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::{Cell, RefCell};

const T0: i64 = 1_704_067_200_000;
const MIN: i64 = 60_000;

/// Serves one flat candle per minute from T0; symbols in `failing` fail; `down` fails all.
#[derive(Default)]
struct Source {
    failing: RefCell<Vec<String>>,
    down: Cell<bool>,
    calls: Cell<u32>,
}

impl CandleSource for Source {
    async fn fetch_since(
        &self,
        symbol: &str,
        last: Option<i64>,
        start: i64,
        now: i64,
        _pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        self.calls.set(self.calls.get() + 1);
        if self.down.get() {
            return Err(FetchFailure {
                reason: "breaker open".into(),
                stops_upstream: true,
            });
        }
        if self.failing.borrow().iter().any(|s| s == symbol) {
            return Err(FetchFailure {
                reason: "answered 500".into(),
                stops_upstream: false,
            });
        }
        let from = last.map_or(start, |t| t + MIN);
        let candles = (0..)
            .map(|k| from + k * MIN)
            .take_while(|t| *t < now - now.rem_euclid(MIN))
            .filter_map(|t| Candle::new(t, 100.0, 101.0, 99.0, 100.0, 1.0).ok())
            .collect();
        Ok(Fetched {
            candles,
            complete: true,
            ..Fetched::default()
        })
    }
}

fn store_with(n: usize) -> MemoryStore {
    let s = MemoryStore::new();
    for k in 0..n {
        let new = NewSymbol {
            symbol: format!("S{}/USDT", k + 1),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: T0,
            created_at: T0,
        };
        block_on(s.add_symbol(&new)).unwrap_or_else(|e| panic!("{e}"));
    }
    s
}

fn run(s: &MemoryStore, src: &Source, config: &PipelineJobConfig, at: i64) -> JobOutcome {
    let clock = ManualClock::new(at);
    let (outcome, _) = block_on(run_pipeline_job(
        s,
        src,
        &clock,
        // The "query" meter counts fetches, so budgets are in symbols.
        || src.calls.get().into(),
        config,
        at,
        RunTrigger::Cron,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    outcome
}

fn last_ts(s: &MemoryStore, id: i64) -> Option<i64> {
    block_on(s.last_candle_ts(SymbolId(id), Timeframe::M1)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_run_stores_every_symbol_and_records_ok() {
    let (s, src) = (store_with(3), Source::default());
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 30 * MIN),
        JobOutcome::Ran(RunStatus::Ok)
    );
    for id in 1..=3 {
        assert_eq!(last_ts(&s, id), Some(T0 + 29 * MIN));
    }
    let runs = block_on(s.list_runs(PIPELINE_JOB, 5)).unwrap_or_default();
    assert_eq!(runs.len(), 1);
    let counts = runs[0].counts.clone().unwrap_or_default();
    assert_eq!((counts.symbols, counts.candles), (3, 90));
    assert_eq!(
        block_on(s.cron_job(PIPELINE_JOB))
            .ok()
            .flatten()
            .and_then(|j| j.lease_until),
        None
    );
}

#[test]
fn a_query_budget_splits_symbols_across_runs_with_a_cursor() {
    let (s, src) = (store_with(5), Source::default());
    // The meter counts fetches: 2 symbols fit per run.
    let config = PipelineJobConfig {
        max_queries: 2,
        queries_per_symbol: 1,
        ..PipelineJobConfig::default()
    };
    assert_eq!(
        run(&s, &src, &config, T0 + 10 * MIN),
        JobOutcome::Ran(RunStatus::Partial)
    );
    let cursor = block_on(s.cron_job(PIPELINE_JOB))
        .ok()
        .flatten()
        .and_then(|j| j.cursor);
    assert_eq!(cursor.as_deref(), Some("{\"next_symbol\":3}"));
    assert_eq!((last_ts(&s, 2).is_some(), last_ts(&s, 3)), (true, None));
    assert_eq!(
        run(&s, &src, &config, T0 + 11 * MIN),
        JobOutcome::Ran(RunStatus::Partial)
    );
    assert!(last_ts(&s, 4).is_some() && last_ts(&s, 5).is_none());
    // The third run takes 5 then wraps to 1: every symbol was served within three runs.
    assert_eq!(
        run(&s, &src, &config, T0 + 12 * MIN),
        JobOutcome::Ran(RunStatus::Partial)
    );
    assert_eq!(last_ts(&s, 5), Some(T0 + 11 * MIN));
    assert_eq!(last_ts(&s, 1), Some(T0 + 11 * MIN));
}

#[test]
fn a_failing_symbol_is_abandoned_and_an_outage_fails_the_run() {
    let (s, src) = (store_with(2), Source::default());
    src.failing.borrow_mut().push("S1/USDT".into());
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 5 * MIN),
        JobOutcome::Ran(RunStatus::Partial)
    );
    assert_eq!((last_ts(&s, 1), last_ts(&s, 2)), (None, Some(T0 + 4 * MIN)));
    let runs = block_on(s.list_runs(PIPELINE_JOB, 1)).unwrap_or_default();
    assert_eq!(runs[0].counts.as_ref().map(|c| c.abandoned), Some(1));
    assert!(runs[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("S1/USDT: answered 500")));

    src.down.set(true);
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 6 * MIN),
        JobOutcome::Ran(RunStatus::Failed)
    );
    // Recovery catches up from the stored last candle.
    src.down.set(false);
    src.failing.borrow_mut().clear();
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 9 * MIN),
        JobOutcome::Ran(RunStatus::Ok)
    );
    assert_eq!(
        (last_ts(&s, 1), last_ts(&s, 2)),
        (Some(T0 + 8 * MIN), Some(T0 + 8 * MIN))
    );
}

#[test]
fn a_held_lease_or_a_disabled_job_does_nothing() {
    let (s, src) = (store_with(1), Source::default());
    assert_eq!(
        block_on(s.claim_lease(PIPELINE_JOB, T0, T0 + 60_000)),
        Ok(true)
    );
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 10_000),
        JobOutcome::LeaseHeld
    );
    assert_eq!(src.calls.get(), 0);
    let runs = block_on(s.list_runs(PIPELINE_JOB, 5)).unwrap_or_default();
    assert_eq!(runs[0].status, RunStatus::Skipped);

    block_on(s.set_job_enabled(PIPELINE_JOB, false, T0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(&s, &src, &PipelineJobConfig::default(), T0 + 120_000),
        JobOutcome::Disabled
    );
    assert_eq!(src.calls.get(), 0);
}
