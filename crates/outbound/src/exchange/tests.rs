use super::*;
use crate::ports::{MemoryBreakerStore, OutboundResponse, TransportError};
use crate::testkit::{block_on, reply, FakeTime, ScriptedTransport};
use crate::url::Scheme;
use cl_domain::CandleSeries;
use std::cell::RefCell;

const T0: i64 = 1_700_000_040_000; // a minute boundary
const M: i64 = MINUTE_MS;

fn row(ts: i64) -> String {
    format!(
        r#"[{ts},"100.0","101.5","99.5","100.5","12.25",{},"1225.0",42,"6.1","610.0","0"]"#,
        ts + M - 1
    )
}

fn body(ts: impl IntoIterator<Item = i64>) -> String {
    format!(
        "[{}]",
        ts.into_iter().map(row).collect::<Vec<_>>().join(",")
    )
}

fn config() -> ExchangeConfig {
    ExchangeConfig::new(BaseUrl::parse("https://api.example.com", Scheme::HttpsOnly).unwrap())
}

/// A Binance-like exchange in memory: every minute from `from` to `to` (exclusive) except the
/// omitted ranges, honouring startTime/endTime/limit.
struct SimExchange {
    from: i64,
    to: i64,
    omit: Vec<(i64, i64)>,
    ignore_end: bool,
    fail_from_request: Option<usize>,
    urls: RefCell<Vec<String>>,
}

impl SimExchange {
    fn new(from: i64, to: i64) -> Self {
        Self {
            from,
            to,
            omit: Vec::new(),
            ignore_end: false,
            fail_from_request: None,
            urls: RefCell::default(),
        }
    }

    fn param(url: &str, name: &str) -> Option<i64> {
        let query = url.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse().ok())
    }
}

impl HttpTransport for SimExchange {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        self.urls.borrow_mut().push(req.url.clone());
        if self
            .fail_from_request
            .is_some_and(|n| self.urls.borrow().len() > n)
        {
            return Err(TransportError::Connect("refused".into()));
        }
        let start = Self::param(&req.url, "startTime").unwrap_or(self.from);
        let end = Self::param(&req.url, "endTime")
            .filter(|_| !self.ignore_end)
            .unwrap_or(i64::MAX);
        let limit = Self::param(&req.url, "limit").unwrap_or(500);
        let first = ceil_minute(start.max(self.from));
        let ts = (0..)
            .map(|i| first + i * M)
            .take_while(|t| *t < self.to && *t <= end)
            .filter(|t| !self.omit.iter().any(|(a, b)| (*a..=*b).contains(t)))
            .take(usize::try_from(limit).unwrap());
        reply(200, &body(ts), &[])
    }
}

fn client<'a, T: HttpTransport>(
    transport: T,
    time: &'a FakeTime,
    store: &'a MemoryBreakerStore,
) -> ExchangeClient<T, &'a FakeTime, &'a FakeTime, &'a MemoryBreakerStore> {
    ExchangeClient::new(config(), transport, time, time, store)
}

#[test]
fn symbols_are_compacted_and_validated() {
    assert_eq!(exchange_symbol("BTC/USDT").unwrap(), "BTCUSDT");
    assert_eq!(exchange_symbol("1000PEPEUSDT").unwrap(), "1000PEPEUSDT");
    for bad in [
        "",
        "/",
        "BTC/",
        "/USDT",
        "btc/usdt",
        "BTC/US/DT",
        "BTC USDT",
        "BTC&x=1",
        "A".repeat(21).as_str(),
    ] {
        assert!(exchange_symbol(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn minutes_round_down_and_up() {
    assert_eq!(floor_minute(T0 + 59_999), T0);
    assert_eq!(ceil_minute(T0 + 1), T0 + M);
    assert_eq!(ceil_minute(T0), T0);
    assert_eq!(floor_minute(-1), -M);
}

#[test]
fn a_well_formed_page_parses_into_candles() {
    let page = parse_klines(body([T0, T0 + M]).as_bytes(), T0, i64::MAX).unwrap();
    assert_eq!(page.rows, 2);
    assert_eq!(page.candles.len(), 2);
    assert_eq!(
        page.candles[0].to_row(),
        (T0, 100.0, 101.5, 99.5, 100.5, 12.25)
    );
    assert!(page.skipped.is_empty() && page.gaps.is_empty());
    assert_eq!(page.last_open_ms, Some(T0 + M));
}

#[test]
fn numbers_given_as_json_numbers_are_accepted_too() {
    let page = parse_klines(format!("[[{T0},1,2,0.5,1.5,0]]").as_bytes(), T0, i64::MAX).unwrap();
    assert_eq!(page.candles[0].to_row(), (T0, 1.0, 2.0, 0.5, 1.5, 0.0));
}

#[test]
fn a_body_that_is_not_an_array_of_rows_is_malformed() {
    for bad in [
        "garbage",
        "",
        "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
        "[[1,2]",
        "null",
        "<html>",
    ] {
        let err = parse_klines(bad.as_bytes(), T0, i64::MAX).unwrap_err();
        assert!(
            matches!(err, ExchangeError::Malformed(_)),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn bad_rows_are_skipped_with_their_index_and_reason_and_good_rows_kept() {
    let t = |i: i64| T0 + i * M;
    let rows = [
        row(t(0)),
        "\"not a row\"".to_owned(),
        format!("[{}]", t(2)),
        r#"["x","1","1","1","1","1"]"#.to_owned(),
        format!(r#"[{},"1","1","1","1","1"]"#, t(4) + 1),
        format!(r#"[{},"1","1","1","1","1"]"#, t(0)),
        format!(r#"[{},"abc","1","1","1","1"]"#, t(6)),
        format!(r#"[{},"-1","1","1","1","1"]"#, t(7)),
        format!(r#"[{},"10","9","8","9.5","1"]"#, t(8)),
        format!(r#"[{},"NaN","1","1","1","1"]"#, t(9)),
        format!(r#"[{},"1","1","1","1","-5"]"#, t(10)),
        format!(r#"[{},"1","1","1","1","1"]"#, T0 - M),
        row(t(12)),
    ];
    let page = parse_klines(format!("[{}]", rows.join(",")).as_bytes(), T0, i64::MAX).unwrap();
    assert_eq!(page.rows, 13);
    let kept: Vec<i64> = page.candles.iter().map(Candle::ts).collect();
    assert_eq!(kept, vec![t(0), t(12)]);
    let indexes: Vec<usize> = page.skipped.iter().map(|b| b.index).collect();
    assert_eq!(indexes, (1..=11).collect::<Vec<_>>());
    let reason = |i: usize| page.skipped[i - 1].reason.clone();
    assert!(reason(1).contains("not an array"));
    assert!(reason(2).contains("fields"));
    assert!(reason(3).contains("open time is not an integer"));
    assert!(reason(4).contains("minute boundary"));
    assert!(reason(5).contains("not after"));
    assert!(reason(6).contains("open is not a number"));
    assert!(reason(7).contains("open must be a finite positive"));
    assert!(reason(8).contains("high"));
    assert!(reason(9).contains("finite"));
    assert!(reason(10).contains("volume"));
    assert!(reason(11).contains("outside"));
    assert_eq!(page.skipped[1].open_ms, Some(t(2)));
    assert_eq!(page.skipped[2].open_ms, None);
    assert_eq!(page.skipped[2].page, 1);
    assert!(CandleSeries::new(page.candles).is_ok());
}

#[test]
fn gaps_between_valid_rows_and_before_the_first_are_confirmed() {
    let page = parse_klines(
        body([T0 + 2 * M, T0 + 3 * M, T0 + 7 * M]).as_bytes(),
        T0,
        i64::MAX,
    )
    .unwrap();
    assert_eq!(page.gaps, vec![(T0, T0 + M), (T0 + 4 * M, T0 + 6 * M)]);
}

#[test]
fn a_skipped_row_breaks_the_chain_of_confirmation() {
    let bad = format!(r#"[{},"x","1","1","1","1"]"#, T0 + 3 * M);
    let raw = format!("[{},{bad},{}]", row(T0), row(T0 + 7 * M));
    let page = parse_klines(raw.as_bytes(), T0, i64::MAX).unwrap();
    assert!(page.gaps.is_empty(), "{:?}", page.gaps);
}

#[test]
fn fetch_klines_builds_the_binance_query() {
    let transport = ScriptedTransport::new([reply(200, "[]", &[])]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    let page = block_on(c.fetch_klines("BTC/USDT", T0, Some(T0 + 10 * M - 1), 1000)).unwrap();
    assert_eq!(page.rows, 0);
    let req = &transport.requests()[0];
    assert_eq!(req.method, Method::Get);
    assert_eq!(
        req.url,
        format!(
            "https://api.example.com/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={T0}&limit=1000&endTime={}",
            T0 + 10 * M - 1
        )
    );
    assert_eq!(req.timeout_ms, DEFAULT_TIMEOUT_MS);
}

#[test]
fn bad_arguments_send_nothing() {
    let transport = ScriptedTransport::new([]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    for (start, end, limit) in [
        (T0, None, 0),
        (T0, None, 1001),
        (-1, None, 10),
        (T0, Some(T0 - 1), 10),
    ] {
        let err = block_on(c.fetch_klines("BTC/USDT", start, end, limit)).unwrap_err();
        assert!(matches!(err, ExchangeError::InvalidRequest(_)), "{err:?}");
    }
    assert!(matches!(
        block_on(c.fetch_klines("btc", T0, None, 10)),
        Err(ExchangeError::InvalidSymbol(_))
    ));
    assert!(transport.requests().is_empty());
}

#[test]
fn a_garbage_body_is_malformed_and_not_retried() {
    let transport = ScriptedTransport::new([reply(200, "garbage", &[])]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    let err = block_on(c.fetch_klines("BTC/USDT", T0, None, 10)).unwrap_err();
    assert!(matches!(err, ExchangeError::Malformed(_)));
    assert!(!err.stops_upstream());
    assert_eq!(transport.requests().len(), 1);
}

#[test]
fn fetch_since_paginates_2500_minutes_and_stops_before_the_open_minute() {
    let sim = SimExchange::new(T0 - 10_000 * M, T0 + 10_000 * M);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let now = T0 + 2_500 * M + 30_000; // 30 s into the open minute T0 + 2500 min
    let out = block_on(c.fetch_since("BTC/USDT", Some(T0 - M), 0, now, 10)).unwrap();
    assert!(out.complete);
    assert_eq!(out.pages, 3);
    assert_eq!(out.candles.len(), 2_500);
    assert_eq!(out.candles.first().unwrap().ts(), T0);
    assert_eq!(out.candles.last().unwrap().ts(), T0 + 2_499 * M);
    assert!(out.skipped.is_empty() && out.confirmed_gaps.is_empty());
    assert!(CandleSeries::new(out.candles).is_ok());
    let urls = sim.urls.borrow();
    assert!(urls[1].contains(&format!("startTime={}", T0 + 1_000 * M)));
    assert!(urls[2].contains(&format!("startTime={}", T0 + 2_000 * M)));
    assert!(urls
        .iter()
        .all(|u| u.contains(&format!("endTime={}", T0 + 2_500 * M - 1))));
}

#[test]
fn the_open_candle_is_dropped_even_when_the_exchange_ignores_end_time() {
    let mut sim = SimExchange::new(T0, T0 + 100 * M);
    sim.ignore_end = true;
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 10 * M + 1, 5)).unwrap();
    assert_eq!(out.candles.len(), 10);
    assert_eq!(out.candles.last().unwrap().ts(), T0 + 9 * M);
}

#[test]
fn the_first_run_starts_at_the_fetch_start_rounded_up_and_ignores_the_pre_listing_range() {
    let sim = SimExchange::new(T0 + 50 * M, T0 + 100 * M);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let out = block_on(c.fetch_since("ETH/USDT", None, T0 - 1, T0 + 60 * M, 5)).unwrap();
    assert!(sim.urls.borrow()[0].contains(&format!("startTime={T0}&")));
    assert_eq!(out.candles.len(), 10);
    assert!(out.confirmed_gaps.is_empty(), "{:?}", out.confirmed_gaps);
}

#[test]
fn gaps_are_confirmed_inside_pages_at_page_boundaries_and_after_the_last_stored_candle() {
    let mut sim = SimExchange::new(T0 - 10 * M, T0 + 5_000 * M);
    sim.omit = vec![
        (T0, T0 + 4 * M),                 // right after the last stored candle
        (T0 + 500 * M, T0 + 509 * M),     // inside page 1
        (T0 + 1_010 * M, T0 + 1_019 * M), // page 1 ends at T0+1009, page 2 starts with a gap
        (T0 + 2_400 * M, T0 + 2_499 * M), // the last minutes: never confirmed
    ];
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", Some(T0 - M), 0, T0 + 2_500 * M, 10)).unwrap();
    assert!(out.complete);
    assert_eq!(
        out.confirmed_gaps,
        vec![
            (T0, T0 + 4 * M),
            (T0 + 500 * M, T0 + 509 * M),
            (T0 + 1_010 * M, T0 + 1_019 * M),
        ]
    );
    assert_eq!(out.candles.len(), 2_500 - 5 - 10 - 10 - 100);
}

#[test]
fn max_pages_leaves_the_fetch_incomplete_for_the_next_run() {
    let sim = SimExchange::new(T0, T0 + 5_000 * M);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 5_000 * M, 2)).unwrap();
    assert!(!out.complete);
    assert_eq!(out.pages, 2);
    assert_eq!(out.candles.len(), 2_000);
}

#[test]
fn an_error_after_the_first_page_keeps_the_pages_before_it() {
    let mut sim = SimExchange::new(T0, T0 + 5_000 * M);
    sim.fail_from_request = Some(1);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 5_000 * M, 10)).unwrap();
    assert!(!out.complete);
    assert_eq!(out.candles.len(), 1_000);
    assert!(matches!(
        out.interrupted,
        Some(ExchangeError::Call(CallError::Transport { tries: 4, .. }))
    ));
    assert_eq!(time.sleeps(), vec![1_000, 2_000, 4_000]);
}

#[test]
fn an_error_on_the_first_page_fails_the_symbol() {
    let mut sim = SimExchange::new(T0, T0 + 5_000 * M);
    sim.fail_from_request = Some(0);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&sim, &time, &store);
    let err = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 5_000 * M, 10)).unwrap_err();
    assert!(matches!(
        err,
        ExchangeError::Call(CallError::Transport { .. })
    ));
}

#[test]
fn nothing_is_fetched_when_the_last_stored_candle_is_the_last_closed_one() {
    let transport = ScriptedTransport::new([]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", Some(T0), 0, T0 + M + 59_999, 10)).unwrap();
    assert!(out.complete);
    assert_eq!(out.pages, 0);
    assert!(transport.requests().is_empty());
}

#[test]
fn a_full_page_of_unreadable_rows_stops_without_looping() {
    let rows = vec!["[\"x\"]"; usize::from(MAX_LIMIT)].join(",");
    let transport = ScriptedTransport::new([reply(200, &format!("[{rows}]"), &[])]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    let out = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 5_000 * M, 10)).unwrap();
    assert!(!out.complete);
    assert_eq!(out.pages, 1);
    assert_eq!(out.skipped.len(), usize::from(MAX_LIMIT));
    assert_eq!(transport.requests().len(), 1);
}

#[test]
fn a_ban_stops_the_whole_upstream() {
    let transport = ScriptedTransport::new([reply(418, "", &[("Retry-After", "300")])]);
    let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
    let c = client(&transport, &time, &store);
    let err = block_on(c.fetch_since("BTC/USDT", None, T0, T0 + 5 * M, 10)).unwrap_err();
    assert!(err.stops_upstream());
    // The next symbol is refused by the breaker without a request.
    let err = block_on(c.fetch_since("ETH/USDT", None, T0, T0 + 5 * M, 10)).unwrap_err();
    assert!(matches!(
        err,
        ExchangeError::Call(CallError::BreakerOpen(_))
    ));
    assert_eq!(transport.requests().len(), 1);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_kline_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_klines(&bytes, T0, i64::MAX);
        }

        #[test]
        fn the_kline_parser_never_panics_on_arbitrary_json_rows(
            rows in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        any::<i64>().prop_map(|v| v.to_string()),
                        any::<f64>().prop_map(|v| format!("\"{v}\"")),
                        "[a-z0-9.\\-]{0,8}".prop_map(|s| format!("\"{s}\"")),
                        Just("null".to_owned()),
                        Just("[]".to_owned()),
                    ],
                    0..8,
                ),
                0..20,
            ),
            start in any::<i64>(),
            end in any::<i64>(),
        ) {
            let raw = format!(
                "[{}]",
                rows.iter().map(|r| format!("[{}]", r.join(","))).collect::<Vec<_>>().join(",")
            );
            if let Ok(page) = parse_klines(raw.as_bytes(), start, end) {
                prop_assert_eq!(page.candles.len() + page.skipped.len(), page.rows);
                prop_assert!(CandleSeries::new(page.candles).is_ok());
            }
        }
    }
}
