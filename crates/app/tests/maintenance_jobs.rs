//! The maintenance jobs (stats, gaps, db-health, cleanup) over the memory store: the rules of
//! each, the run record, the switch and the lease.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::clock::ManualClock;
use cl_app::cron::{CronStore, RunStatus, RunTrigger};
use cl_app::jobs::cleanup::{run_cleanup_job, CleanupConfig, CLEANUP_JOB};
use cl_app::jobs::gaps::{run_gaps_job, GapsConfig, GAPS_JOB};
use cl_app::jobs::health::{run_health_job, HEALTH_JOB};
use cl_app::jobs::maintenance::{MaintenanceStore, MinuteGap};
use cl_app::jobs::stats::{run_stats_job, STATS_JOB};
use cl_app::jobs::{CandleSource, FetchFailure, Fetched, JobOutcome};
use cl_app::ports::{CandleStore, NewSymbol, SymbolId, SymbolStore};
use cl_domain::{Candle, Timeframe};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::{Cell, RefCell};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// 2024-03-01T00:00Z.
const NOW: i64 = 1_709_251_200_000;

fn c(ts: i64, p: f64) -> Candle {
    Candle::new(ts, p, p + 1.0, p - 1.0, p, 1.0).unwrap()
}

fn store() -> (MemoryStore, SymbolId) {
    let s = MemoryStore::new();
    let id = block_on(s.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: NOW - 10 * DAY,
        created_at: 0,
    }))
    .unwrap()
    .id;
    (s, id)
}

fn minutes(s: &MemoryStore, id: SymbolId, from: i64, to: i64) {
    let rows: Vec<Candle> = (from / MIN..to / MIN).map(|m| c(m * MIN, 100.0)).collect();
    block_on(s.upsert_candles(id, Timeframe::M1, &rows)).unwrap();
}

fn last_status(s: &MemoryStore, job: &str) -> (usize, Option<RunStatus>) {
    let runs = block_on(s.list_runs(job, 50)).unwrap();
    (runs.len(), runs.first().map(|r| r.status))
}

/// Serves a flat candle for every minute except the ones listed as empty.
#[derive(Default)]
struct Exchange {
    empty: RefCell<Vec<i64>>,
    calls: Cell<u32>,
    down: Cell<bool>,
}

impl CandleSource for Exchange {
    async fn fetch_since(
        &self,
        _symbol: &str,
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
        let from = last.map_or(start, |t| t + MIN);
        let end = now - now.rem_euclid(MIN);
        let candles = (from / MIN..end / MIN)
            .map(|m| m * MIN)
            .filter(|t| !self.empty.borrow().contains(t))
            .map(|t| c(t, 100.0))
            .collect();
        Ok(Fetched {
            candles,
            complete: true,
            ..Fetched::default()
        })
    }
}

#[test]
fn stats_job_writes_global_and_per_symbol_entries_and_records_a_run() {
    let (s, id) = store();
    minutes(&s, id, NOW - 5 * MIN, NOW);
    let clock = ManualClock::new(NOW);
    let (outcome, report) = block_on(run_stats_job(&s, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Ok));
    // global + BTC/USDT + the analytics of pro, premium and BTC/USDT.
    assert_eq!(report.counts.get("stats_keys"), 5);
    let analytics = block_on(s.stats_entry("analytics:symbol:BTC/USDT"))
        .unwrap()
        .unwrap();
    let parsed: cl_app::stats::Analytics = serde_json::from_str(&analytics.data).unwrap();
    assert_eq!(parsed.scope, "BTC/USDT");
    assert_eq!(parsed.computed_at, Some(NOW));
    assert!(block_on(s.stats_entry("analytics:pro")).unwrap().is_some());
    let global = block_on(s.stats_entry("global")).unwrap().unwrap();
    assert!(global.data.contains("\"symbols\":1"), "{}", global.data);
    let btc = block_on(s.stats_entry("symbol:BTC/USDT")).unwrap().unwrap();
    assert!(btc.data.contains(&format!("\"last_1m_ts\":{}", NOW - MIN)));
    assert!(btc.data.contains("\"lag_ms\":60000"));
    // A second run overwrites by key.
    clock.set(NOW + 5 * MIN);
    block_on(run_stats_job(&s, &clock, RunTrigger::Cron)).unwrap();
    let again = block_on(s.stats_entry("global")).unwrap().unwrap();
    assert_eq!(again.computed_at, NOW + 5 * MIN);
    assert_eq!(last_status(&s, STATS_JOB), (2, Some(RunStatus::Ok)));
}

#[test]
fn a_disabled_job_does_not_run_and_a_held_lease_records_a_skip() {
    let (s, _) = store();
    let clock = ManualClock::new(NOW);
    block_on(s.set_job_enabled(STATS_JOB, false, NOW)).unwrap();
    let (outcome, _) = block_on(run_stats_job(&s, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outcome, JobOutcome::Disabled);
    assert_eq!(last_status(&s, STATS_JOB), (0, None));
    assert_eq!(block_on(s.stats_entry("global")).unwrap(), None);

    block_on(s.set_job_enabled(STATS_JOB, true, NOW)).unwrap();
    assert!(block_on(s.claim_lease(STATS_JOB, NOW, NOW + 30_000)).unwrap());
    let (outcome, _) = block_on(run_stats_job(&s, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outcome, JobOutcome::LeaseHeld);
    assert_eq!(last_status(&s, STATS_JOB), (1, Some(RunStatus::Skipped)));
    assert_eq!(block_on(s.stats_entry("global")).unwrap(), None);
}

#[test]
fn gaps_job_refetches_holes_and_records_confirmed_empty_ranges_once() {
    let (s, id) = store();
    let start = NOW - 3 * 3_600_000;
    minutes(&s, id, NOW - 49 * 3_600_000, start + 10 * MIN);
    minutes(&s, id, start + 20 * MIN, NOW);
    // A 1h bucket stored before the hole was filled (aggregated from fewer minutes).
    let hour = start - start.rem_euclid(3_600_000);
    block_on(s.upsert_candles(id, Timeframe::H1, &[c(hour, 50.0)])).unwrap();
    let ex = Exchange::default();
    ex.empty.replace(vec![start + 15 * MIN, start + 16 * MIN]);
    let clock = ManualClock::new(NOW);
    let (outcome, report) = block_on(run_gaps_job(
        &s,
        &ex,
        &clock,
        &GapsConfig::default(),
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Ok));
    assert_eq!(report.counts.candles, 8, "10 missing, 2 confirmed empty");
    assert_eq!(report.counts.get("known_gaps"), 1);
    let known = s.known_gaps();
    assert_eq!(known.len(), 1);
    assert_eq!(
        known[0].gap,
        MinuteGap {
            start: start + 15 * MIN,
            end: start + 16 * MIN
        }
    );
    assert!(known[0].verified_empty);
    // The 1h bucket was rebuilt from the 1m rows.
    let h1 = block_on(s.candles_in_range(id, Timeframe::H1, hour, hour + 1, 1)).unwrap();
    assert!((h1[0].open() - 100.0).abs() < 1e-9, "re-aggregated");
    // Next hour: the confirmed gap is not fetched again, nothing is duplicated.
    let calls = ex.calls.get();
    clock.set(NOW + 3_600_000);
    let (_, again) = block_on(run_gaps_job(
        &s,
        &ex,
        &clock,
        &GapsConfig::default(),
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!((again.counts.gaps, again.counts.candles), (0, 0));
    assert_eq!(ex.calls.get(), calls);
    assert_eq!(s.known_gaps().len(), 1);
}

#[test]
fn gaps_job_stops_as_partial_when_the_exchange_is_down() {
    let (s, id) = store();
    minutes(&s, id, NOW - 60 * MIN, NOW - 50 * MIN);
    minutes(&s, id, NOW - 40 * MIN, NOW);
    let ex = Exchange::default();
    ex.down.set(true);
    let clock = ManualClock::new(NOW);
    let (outcome, report) = block_on(run_gaps_job(
        &s,
        &ex,
        &clock,
        &GapsConfig::default(),
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Partial));
    assert!(report.error.unwrap_or_default().contains("breaker open"));
    assert_eq!(last_status(&s, GAPS_JOB), (1, Some(RunStatus::Partial)));
}

#[test]
fn health_job_deletes_off_grid_buckets_rebuilds_them_and_counts_gaps() {
    let (s, id) = store();
    let start = NOW - 2 * 3_600_000;
    minutes(&s, id, NOW - 49 * 3_600_000, start + 30 * MIN);
    minutes(&s, id, start + 35 * MIN, NOW);
    let hour = start - start.rem_euclid(3_600_000);
    block_on(s.upsert_candles(
        id,
        Timeframe::H1,
        &[c(hour, 100.0), c(hour + 7 * MIN, 100.0)],
    ))
    .unwrap();
    let clock = ManualClock::new(NOW);
    let (outcome, report) = block_on(run_health_job(&s, &clock, RunTrigger::Cron)).unwrap();
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Ok));
    assert_eq!(
        (report.counts.get("flagged"), report.counts.get("deleted")),
        (1, 1)
    );
    assert_eq!(report.counts.gaps, 1);
    assert_eq!(report.counts.get("missing_minutes"), 5);
    assert!(block_on(s.flagged_candles(10)).unwrap().is_empty());
    assert_eq!(last_status(&s, HEALTH_JOB), (1, Some(RunStatus::Ok)));
}

#[test]
fn cleanup_deletes_strictly_older_than_the_retention_in_batches_with_counts() {
    let (s, id) = store();
    // 1m retention 30 d (default): a candle exactly at the cutoff is kept.
    let cut = NOW - 30 * DAY;
    let rows: Vec<Candle> = (0..7).map(|k| c(cut - 5 * MIN + k * MIN, 100.0)).collect();
    block_on(s.upsert_candles(id, Timeframe::M1, &rows)).unwrap();
    block_on(s.upsert_candles(
        id,
        Timeframe::D1,
        &[c(cut - 10 * DAY - (cut - 10 * DAY).rem_euclid(DAY), 100.0)],
    ))
    .unwrap();
    s.put_setting("retention.batch_size", "2");
    let clock = ManualClock::new(NOW);
    let config = CleanupConfig {
        max_batches_per_target: 2,
        ..CleanupConfig::default()
    };
    let (outcome, report) =
        block_on(run_cleanup_job(&s, &clock, &config, RunTrigger::Cron)).unwrap();
    // 5 old rows, 2 batches of 2: one left for the next run.
    assert_eq!(outcome, JobOutcome::Ran(RunStatus::Partial));
    assert_eq!(report.counts.get("deleted.candles_1m"), 4);
    assert!(report.error.unwrap_or_default().contains("candles_1m"));
    let left = block_on(s.candles_in_range(id, Timeframe::M1, 0, i64::MAX, 100)).unwrap();
    assert_eq!(
        left.iter().map(Candle::ts).collect::<Vec<_>>(),
        [cut - MIN, cut, cut + MIN],
        "the row at the cutoff stays"
    );
    // The same slot again: the lease is still held, nothing runs.
    let (held, _) = block_on(run_cleanup_job(&s, &clock, &config, RunTrigger::Cron)).unwrap();
    assert_eq!(held, JobOutcome::LeaseHeld);
    // Two minutes later the cutoff has moved past the other rows.
    clock.set(NOW + 2 * MIN);
    let (_, again) = block_on(run_cleanup_job(&s, &clock, &config, RunTrigger::Cron)).unwrap();
    assert_eq!(again.counts.get("deleted.candles_1m"), 3);
    let left = block_on(s.candles_in_range(id, Timeframe::M1, 0, i64::MAX, 100)).unwrap();
    assert!(left.is_empty());
    assert_eq!(
        block_on(s.last_candles(id, Timeframe::D1, 5))
            .unwrap()
            .len(),
        1,
        "higher TFs are kept"
    );
    // `null` keeps forever.
    s.put_setting("retention.candles_1m_days", "null");
    let (_, kept) = block_on(run_cleanup_job(
        &s,
        &ManualClock::new(NOW + 400 * DAY),
        &config,
        RunTrigger::Cron,
    ))
    .unwrap();
    assert_eq!(kept.counts.get("deleted.candles_1m"), 0);
    let runs = block_on(s.list_runs(CLEANUP_JOB, 10)).unwrap();
    let stored = runs[0].counts.clone().unwrap_or_default();
    assert!(stored.to_json().contains("\"deleted.logs\":0"));
}
