//! End to end: the exchange client over a real (tiny, blocking) HTTP transport against the node
//! fake exchange on loopback, with scripted misbehaviour. Sleeps are recorded, not waited.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation should abort the test"
)]

mod helpers;

use cl_domain::CandleSeries;
use cl_outbound::exchange::MINUTE_MS as M;
use cl_outbound::{
    BaseUrl, CallError, ExchangeClient, ExchangeConfig, ExchangeError, MemoryBreakerStore, Scheme,
    TransportError,
};
use helpers::{block_on, FakeExchange, FakeTime, TcpTransport};
use serde_json::json;
use std::time::Instant;

/// 2024-01-01T00:00Z, the fake's first candle.
const START: i64 = 1_704_067_200_000;
const TIMEOUT_MS: u64 = 300;

fn fake() -> FakeExchange {
    FakeExchange::start(&[
        "--start",
        &START.to_string(),
        "--end",
        &(START + 3_000 * M).to_string(),
    ])
}

fn client<'a>(
    fake: &FakeExchange,
    time: &'a FakeTime,
    store: &'a MemoryBreakerStore,
) -> ExchangeClient<TcpTransport, &'a FakeTime, &'a FakeTime, &'a MemoryBreakerStore> {
    let base = BaseUrl::parse(&fake.url, Scheme::AllowInsecureLoopback).unwrap();
    let config = ExchangeConfig {
        timeout_ms: TIMEOUT_MS,
        ..ExchangeConfig::new(base)
    };
    ExchangeClient::new(config, TcpTransport, time, time, store)
}

#[test]
fn pagination_fetches_2500_closed_minutes_in_three_pages() {
    let fake = fake();
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&fake, &time, &store);
    let now = START + 2_500 * M + 30_000;
    let out = block_on(c.fetch_since("BTC/USDT", Some(START - M), 0, now, 10)).unwrap();
    assert!(out.complete);
    assert_eq!(out.pages, 3);
    assert_eq!(out.candles.len(), 2_500);
    assert_eq!(out.candles[0].ts(), START);
    assert_eq!(out.candles[2_499].ts(), START + 2_499 * M);
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert!(out.confirmed_gaps.is_empty());
    assert!(CandleSeries::new(out.candles).is_ok());
    let starts: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r["query"]["startTime"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        starts,
        [0, 1_000, 2_000].map(|i| (START + i * M).to_string())
    );
    assert!(time.sleeps().is_empty());
}

#[test]
fn a_429_is_retried_after_at_least_its_retry_after() {
    let fake = fake();
    fake.script(json!({"status": 429, "retryAfter": 2}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let page =
        block_on(client(&fake, &time, &store).fetch_klines("BTC/USDT", START, None, 10)).unwrap();
    assert_eq!(page.candles.len(), 10);
    assert_eq!(fake.requests().len(), 2);
    let sleeps = time.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= 2_000, "{sleeps:?}");
}

#[test]
fn a_500_then_success_returns_the_page_after_one_backoff() {
    let fake = fake();
    fake.script(json!({"status": 500}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let page =
        block_on(client(&fake, &time, &store).fetch_klines("ETH/USDT", START, None, 5)).unwrap();
    assert_eq!(page.candles.len(), 5);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(time.sleeps(), vec![1_000]);
}

#[test]
fn a_hung_request_hits_the_timeout_and_is_retried() {
    let fake = fake();
    fake.script(json!({"hang": true}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&fake, &time, &store);
    let started = Instant::now();
    let page = block_on(c.fetch_klines("BTC/USDT", START, None, 5)).unwrap();
    assert!(started.elapsed().as_millis() >= u128::from(TIMEOUT_MS));
    assert_eq!(page.candles.len(), 5);
    assert_eq!(time.sleeps(), vec![1_000]);

    // Hanging on every try gives up with the timeout.
    fake.script(json!({"hang": true, "times": 4}));
    let err = block_on(c.fetch_klines("BTC/USDT", START, None, 5)).unwrap_err();
    assert_eq!(
        err,
        ExchangeError::Call(CallError::Transport {
            error: TransportError::Timeout,
            tries: 4
        })
    );
}

#[test]
fn a_garbage_body_is_malformed() {
    let fake = fake();
    fake.script(json!({"body": "garbage"}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let err = block_on(client(&fake, &time, &store).fetch_klines("BTC/USDT", START, None, 5))
        .unwrap_err();
    assert!(matches!(err, ExchangeError::Malformed(_)), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn a_gap_the_exchange_confirms_is_recorded() {
    let fake = fake();
    fake.script(json!({"gap": [START + 10 * M, START + 14 * M]}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&fake, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", Some(START - M), 0, START + 100 * M, 10)).unwrap();
    assert!(out.complete);
    assert_eq!(out.confirmed_gaps, vec![(START + 10 * M, START + 14 * M)]);
    assert_eq!(out.candles.len(), 95);
}

#[test]
fn an_ip_ban_stops_every_symbol_without_further_requests() {
    let fake = fake();
    fake.script(json!({"status": 418, "retryAfter": 120}));
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&fake, &time, &store);
    let err = block_on(c.fetch_klines("BTC/USDT", START, None, 5)).unwrap_err();
    assert!(err.stops_upstream(), "{err:?}");
    let err = block_on(c.fetch_klines("ETH/USDT", START, None, 5)).unwrap_err();
    assert!(
        matches!(err, ExchangeError::Call(CallError::BreakerOpen(_))),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(store.raw("exchange").unwrap().contains("\"open\""));
}
