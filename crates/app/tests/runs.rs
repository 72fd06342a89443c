//! The on-demand run use cases (`cl_app::runs`) over the memory store, with a scripted
//! exchange: enqueue validates the symbol and audits first; a dispatch tick runs a queued run
//! once; a run over every active symbol and a historical fetch continue across ticks; a failing
//! exchange is retried, then fails the run; the import parses, skips bad rows and aggregates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::candle_import::{import_candles, Format};
use cl_app::clock::ManualClock;
use cl_app::jobs::{CandleSource, FetchFailure, Fetched};
use cl_app::ports::admin::{AdminStore, AuditFilter, NewAuditEntry};
use cl_app::ports::run_queue::{QueueStatus, RunKind, RunQueueStore, RunSource};
use cl_app::ports::{
    CandleStore, NewSymbol, NewUser, PageRequest, SymbolId, SymbolStore, UserId, UserStore,
};
use cl_app::runs::{enqueue, run_queued, DispatchConfig, EnqueueError, RunAsk, SymbolRef};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_domain::{Candle, Timeframe};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::Cell;

const MIN: i64 = 60_000;
/// 2024-03-01T00:00Z.
const NOW: i64 = 1_709_251_200_000;

fn c(ts: i64, p: f64) -> Candle {
    Candle::new(ts, p, p + 1.0, p - 1.0, p, 1.0).unwrap()
}

/// A flat candle for every minute of `[start, end)`, `limit` minutes per page; `fail` calls fail.
struct Exchange {
    start: i64,
    calls: Cell<u32>,
    fail: Cell<u32>,
}

impl Exchange {
    fn new(start: i64) -> Self {
        Self {
            start,
            calls: Cell::new(0),
            fail: Cell::new(0),
        }
    }
}

impl CandleSource for Exchange {
    async fn fetch_since(
        &self,
        _symbol: &str,
        last: Option<i64>,
        start: i64,
        now: i64,
        pages: u32,
    ) -> Result<Fetched, FetchFailure> {
        self.calls.set(self.calls.get() + 1);
        if self.fail.get() > 0 {
            self.fail.set(self.fail.get() - 1);
            return Err(FetchFailure {
                reason: "HTTP 500".into(),
                stops_upstream: false,
            });
        }
        let from = last.map_or(start.max(self.start), |t| t + MIN);
        let end = now - now.rem_euclid(MIN);
        let cap = from + i64::from(pages) * 1000 * MIN;
        let candles: Vec<Candle> = (from / MIN..end.min(cap) / MIN)
            .map(|m| c(m * MIN, 100.0 + (m % 7) as f64))
            .collect();
        Ok(Fetched {
            candles,
            complete: cap >= end,
            ..Fetched::default()
        })
    }
}

fn setup() -> (MemoryStore, UserId, SymbolId, SymbolId) {
    let s = MemoryStore::new();
    let user = block_on(s.create_user(&NewUser {
        email: Email::parse("admin@example.com").unwrap(),
        username: Username::parse("admin").unwrap(),
        password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$salt$hash".to_owned()),
        ntfy_topic: "cl_topic_admin".into(),
        created_at: 0,
    }))
    .unwrap()
    .id;
    let add = |name: &str, active: bool| {
        block_on(s.add_symbol(&NewSymbol {
            symbol: name.into(),
            exchange: "binance".into(),
            is_active: active,
            notify_enabled: true,
            fetch_start_ms: NOW - 3000 * MIN,
            created_at: 0,
        }))
        .unwrap()
        .id
    };
    let btc = add("BTC/USDT", true);
    let eth = add("ETH/USDT", false);
    (s, user, btc, eth)
}

fn ask(kind: RunKind, symbol: SymbolRef, user: UserId) -> RunAsk {
    RunAsk {
        kind,
        symbol,
        tf: None,
        from_ms: None,
        requested_by: user,
        source: RunSource::Api,
    }
}

#[test]
fn enqueue_checks_the_symbol_and_writes_the_audit_row_first() {
    let (s, user, _, _) = setup();
    let name = |n: &str| SymbolRef::ActiveName(n.into());
    assert_eq!(
        block_on(enqueue(
            &s,
            &ask(RunKind::Scan, name("NOPE/USDT"), user),
            None,
            NOW
        ))
        .err(),
        Some(EnqueueError::UnknownSymbol)
    );
    assert_eq!(
        block_on(enqueue(
            &s,
            &ask(RunKind::Scan, name("ETH/USDT"), user),
            None,
            NOW
        ))
        .err(),
        Some(EnqueueError::InactiveSymbol)
    );
    let audit = NewAuditEntry {
        actor: Some(user),
        action: "cron.run_now".into(),
        target: "cron:scan".into(),
        details: None,
        ip: None,
        request_id: None,
        at: NOW,
    };
    let (run, sym) = block_on(enqueue(
        &s,
        &ask(RunKind::Scan, name("BTC/USDT"), user),
        Some(audit),
        NOW,
    ))
    .unwrap();
    assert_eq!(run.status, QueueStatus::Queued);
    assert_eq!(sym.map(|s| s.symbol).as_deref(), Some("BTC/USDT"));
    let log = block_on(s.audit_log(
        &AuditFilter::default(),
        PageRequest {
            limit: 10,
            after: None,
        },
    ))
    .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].entry.target, "symbol:BTC/USDT");
}

#[test]
fn a_tick_runs_a_queued_fetch_once_and_a_second_tick_finds_nothing() {
    let (s, user, btc, _) = setup();
    let ex = Exchange::new(0);
    let (run, _) = block_on(enqueue(
        &s,
        &ask(RunKind::Fetch, SymbolRef::Id(btc), user),
        None,
        NOW,
    ))
    .unwrap();
    let clock = ManualClock::new(NOW);
    let config = DispatchConfig::default();
    let done = block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, QueueStatus::Ok);
    let again = block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    assert!(again.is_empty(), "nothing claimable twice");
    let stored = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.progress),
        (QueueStatus::Ok, 1, 100)
    );
    assert_eq!(stored.counts.unwrap().candles, 3000);
    assert_eq!(ex.calls.get(), 1);
    let fives = block_on(s.last_candles(btc, Timeframe::M5, 1000)).unwrap();
    assert_eq!(fives.len(), 600, "aggregated to the higher TFs");
}

#[test]
fn a_historical_fetch_continues_across_ticks_and_a_flaky_exchange_is_retried_then_fails() {
    let (s, user, btc, _) = setup();
    let ex = Exchange::new(NOW - 2500 * MIN);
    let mut a = ask(RunKind::HistoricalFetch, SymbolRef::Id(btc), user);
    a.from_ms = Some(NOW - 2500 * MIN);
    let (run, _) = block_on(enqueue(&s, &a, None, NOW)).unwrap();
    let clock = ManualClock::new(NOW);
    let config = DispatchConfig {
        historical_pages: 1,
        ..DispatchConfig::default()
    };
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    let r = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!(r.status, QueueStatus::Running);
    assert_eq!(r.cursor, Some(NOW - 1501 * MIN));
    assert_eq!(r.progress, 39, "999 of 2500 minutes");
    // Two failed tries, then progress again (attempts start over after progress).
    ex.fail.set(2);
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    let r = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (QueueStatus::Running, 2));
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    let r = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!(r.status, QueueStatus::Ok);
    assert_eq!(r.counts.unwrap().candles, 2500);

    // A run whose exchange keeps failing is failed after max_attempts.
    let (bad, _) = block_on(enqueue(&s, &a, None, NOW)).unwrap();
    ex.fail.set(10);
    for _ in 0..3 {
        block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    }
    let r = block_on(s.queued_run(bad.id)).unwrap().unwrap();
    assert_eq!(r.status, QueueStatus::Failed);
    assert!(r.error.unwrap().contains("HTTP 500"));
}

#[test]
fn a_run_over_every_active_symbol_keeps_a_cursor_between_ticks() {
    let (s, user, _, _) = setup();
    for i in 0..3 {
        block_on(s.add_symbol(&NewSymbol {
            symbol: format!("X{i}/USDT"),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: NOW - 10 * MIN,
            created_at: 0,
        }))
        .unwrap();
    }
    let mut a = ask(RunKind::Scan, SymbolRef::None, user);
    a.source = RunSource::Admin;
    let (run, _) = block_on(enqueue(&s, &a, None, NOW)).unwrap();
    let config = DispatchConfig {
        symbols_per_chunk: 2,
        max_chunks: 1,
        ..DispatchConfig::default()
    };
    let clock = ManualClock::new(NOW);
    let ex = Exchange::new(0);
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    let r = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!((r.status, r.progress), (QueueStatus::Running, 50));
    block_on(run_queued(&s, &ex, &clock, &(), &config)).unwrap();
    let r = block_on(s.queued_run(run.id)).unwrap().unwrap();
    assert_eq!(r.status, QueueStatus::Ok);
    assert_eq!(
        r.counts.unwrap().symbols,
        4,
        "the 4 active symbols, the inactive one skipped"
    );
    assert_eq!(ex.calls.get(), 0, "a scan never calls the exchange");
}

#[test]
fn the_import_skips_bad_rows_with_their_lines_and_is_idempotent() {
    let (s, _, btc, _) = setup();
    let start = NOW - 120 * MIN;
    let mut text = String::from("timestamp,open,high,low,close,volume\n");
    for i in 0..60 {
        text.push_str(&format!("{},10,11,9,10.5,1\n", start + i * MIN));
        if i == 5 {
            text.push_str("oops,1,1,1,1,1\n");
        }
    }
    let out = block_on(import_candles(&s, btc, &text, Format::Csv, NOW)).unwrap();
    assert_eq!((out.valid, out.imported, out.skipped), (60, 60, 1));
    assert_eq!((out.errors[0].row, out.errors[0].line), (7, Some(8)));
    // 5m, 15m, 30m, 1h; the 2h, 4h and 1d buckets hold the hour (closed, before now).
    assert_eq!(out.aggregated, 12 + 4 + 2 + 1 + 1 + 1 + 1);
    let again = block_on(import_candles(&s, btc, &text, Format::Csv, NOW)).unwrap();
    assert_eq!(again.imported, 0);
    assert!(block_on(import_candles(&s, btc, "[1,", Format::Json, NOW)).is_err());
}
