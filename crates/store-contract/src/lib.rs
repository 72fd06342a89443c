//! # cl-store-contract
//!
//! The storage contract, written ONCE as generic async functions over the port traits of
//! `cl_app::ports`, and run by every adapter: `cl-store-memory` (host tests), `cl-store-pg`
//! (against a real Postgres) and later `cl-store-d1` (inside workerd). An adapter passes when
//! every [`Case`] passes on a fresh, empty, migrated store.
//!
//! Use: implement a harness `fn(Case)` that builds a fresh store, then runs
//! [`run_case`] on it with the adapter's executor, and expand [`contract_tests!`] with it to
//! get one `#[test]` per case:
//!
//! ```ignore
//! fn harness(case: cl_store_contract::Case) {
//!     futures_executor::block_on(async {
//!         let store = cl_store_memory::MemoryStore::new();
//!         cl_store_contract::run_case(case, &store).await;
//!     });
//! }
//! cl_store_contract::contract_tests!(harness);
//! ```
//!
//! Cases panic with a message on the first broken expectation: this crate is test support.
//! Ids are compared only by order (Postgres sequences may skip values; SQLite and the memory
//! store do not), never by value.

// Test support: a failed expectation panics with context, like `assert!` in a test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use cl_app::cron::CronStore;
use cl_app::metrics::MetricsStore;
use cl_app::ports::{
    CandleStore, Cursor, HealthProbe, KeyWindow, MatrixCell, NewPattern, NewSignal, NewSymbol,
    PageRequest, PatternId, PatternStore, SignalFilter, SignalId, SignalStatus, SignalStore,
    StatusUpdate, StoreError, StoredPatternKey, SymbolId, SymbolStore, TradeLevels, MAX_EXACT_INT,
};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe, Zone};
use std::fmt::Debug;

/// Every port an adapter implements, as one bound.
pub trait Store:
    SymbolStore + CandleStore + PatternStore + SignalStore + HealthProbe + CronStore + MetricsStore
{
}
impl<
        T: SymbolStore
            + CandleStore
            + PatternStore
            + SignalStore
            + HealthProbe
            + CronStore
            + MetricsStore,
    > Store for T
{
}

macro_rules! cases {
    ($($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        /// One case of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Case {
            $($(#[$m])* $variant,)+
        }

        impl Case {
            /// Every case, in the order [`run_all`] runs them.
            pub const ALL: &'static [Case] = &[$(Case::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $(Case::$variant => stringify!($func),)+ }
            }
        }

        /// Runs one case against a fresh store.
        pub async fn run_case<S: Store>(case: Case, s: &S) {
            match case { $(Case::$variant => $func(s).await,)+ }
        }
    };
}

cases! {
    /// [`symbols_crud`].
    SymbolsCrud => symbols_crud,
    /// [`candles_upsert_is_idempotent`].
    CandlesUpsertIsIdempotent => candles_upsert_is_idempotent,
    /// [`candle_queries`].
    CandleQueries => candle_queries,
    /// [`candle_batches_are_atomic`].
    CandleBatchesAreAtomic => candle_batches_are_atomic,
    /// [`concurrent_idempotent_writes`].
    ConcurrentIdempotentWrites => concurrent_idempotent_writes,
    /// [`large_timestamps_round_trip_exactly`].
    LargeTimestampsRoundTripExactly => large_timestamps_round_trip_exactly,
    /// [`patterns_insert_if_absent`].
    PatternsInsertIfAbsent => patterns_insert_if_absent,
    /// [`pattern_batches_are_atomic`].
    PatternBatchesAreAtomic => pattern_batches_are_atomic,
    /// [`pattern_status_updates`].
    PatternStatusUpdates => pattern_status_updates,
    /// [`patterns_expire_strictly_before_now`].
    PatternsExpireStrictlyBeforeNow => patterns_expire_strictly_before_now,
    /// [`pattern_keys_cover_every_status`].
    PatternKeysCoverEveryStatus => pattern_keys_cover_every_status,
    /// [`matrix_follows_the_cell_rule`].
    MatrixFollowsTheCellRule => matrix_follows_the_cell_rule,
    /// [`signals_respect_the_cooldown`].
    SignalsRespectTheCooldown => signals_respect_the_cooldown,
    /// [`signals_page_newest_first`].
    SignalsPageNewestFirst => signals_page_newest_first,
    /// [`health_ping_answers`].
    HealthPingAnswers => health_ping_answers,
    /// [`cron_lease_is_exclusive`].
    CronLeaseIsExclusive => cron_lease_is_exclusive,
    /// [`cron_runs_record_history`].
    CronRunsRecordHistory => cron_runs_record_history,
    /// [`metrics_snapshot_counts_the_stored_state`].
    MetricsSnapshotCountsTheStoredState => metrics_snapshot_counts_the_stored_state,
    /// [`pattern_list_pages_newest_first`].
    PatternListPagesNewestFirst => pattern_list_pages_newest_first,
    /// [`pattern_list_filters`].
    PatternListFilters => pattern_list_filters,
    /// [`large_tick_batches_keep_their_meaning`].
    LargeTickBatchesKeepTheirMeaning => large_tick_batches_keep_their_meaning,
}

/// Runs every case, each on its own fresh store from `fresh`; returns how many ran.
pub async fn run_all<S, F, Fut>(mut fresh: F) -> usize
where
    S: Store,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    for case in Case::ALL {
        let s = fresh().await;
        run_case(*case, &s).await;
    }
    Case::ALL.len()
}

/// Expands to one `#[test]` per [`Case`], each calling `$harness(case)`.
#[macro_export]
macro_rules! contract_tests {
    ($harness:path) => {
        $crate::contract_tests!(@each $harness;
            symbols_crud => SymbolsCrud,
            candles_upsert_is_idempotent => CandlesUpsertIsIdempotent,
            candle_queries => CandleQueries,
            candle_batches_are_atomic => CandleBatchesAreAtomic,
            concurrent_idempotent_writes => ConcurrentIdempotentWrites,
            large_timestamps_round_trip_exactly => LargeTimestampsRoundTripExactly,
            patterns_insert_if_absent => PatternsInsertIfAbsent,
            pattern_batches_are_atomic => PatternBatchesAreAtomic,
            pattern_status_updates => PatternStatusUpdates,
            patterns_expire_strictly_before_now => PatternsExpireStrictlyBeforeNow,
            pattern_keys_cover_every_status => PatternKeysCoverEveryStatus,
            matrix_follows_the_cell_rule => MatrixFollowsTheCellRule,
            signals_respect_the_cooldown => SignalsRespectTheCooldown,
            signals_page_newest_first => SignalsPageNewestFirst,
            health_ping_answers => HealthPingAnswers,
            cron_lease_is_exclusive => CronLeaseIsExclusive,
            cron_runs_record_history => CronRunsRecordHistory,
            metrics_snapshot_counts_the_stored_state => MetricsSnapshotCountsTheStoredState,
            pattern_list_pages_newest_first => PatternListPagesNewestFirst,
            pattern_list_filters => PatternListFilters,
            large_tick_batches_keep_their_meaning => LargeTickBatchesKeepTheirMeaning,
        );

        #[test]
        fn contract_lists_every_case() {
            assert_eq!($crate::Case::ALL.len(), 21, "contract_tests! is missing a case");
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::Case::$variant);
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const T0: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z, minute-aligned
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn candle(ts: i64, base: f64) -> Candle {
    ok(
        Candle::new(ts, base, base * 1.01, base * 0.99, base * 1.005, 12.5),
        "fixture candle",
    )
}

fn series(start: i64, step: i64, n: usize) -> Vec<Candle> {
    (0..n)
        .map(|i| candle(start + step * i as i64, 100.0 + i as f64 * 0.1))
        .collect()
}

fn zone(low: f64, high: f64) -> Zone {
    ok(Zone::new(low, high), "fixture zone")
}

fn new_symbol(name: &str, active: bool) -> NewSymbol {
    NewSymbol {
        symbol: name.to_string(),
        exchange: "binance".to_string(),
        is_active: active,
        notify_enabled: true,
        fetch_start_ms: 1_704_067_200_000,
        created_at: T0,
    }
}

async fn symbol<S: SymbolStore>(s: &S, name: &str) -> SymbolId {
    ok(s.add_symbol(&new_symbol(name, true)).await, "add_symbol").id
}

fn levels(entry: f64) -> TradeLevels {
    TradeLevels {
        entry,
        stop_loss: entry * 0.98,
        tp1: entry * 1.02,
        tp2: entry * 1.04,
        tp3: entry * 1.06,
        risk: entry * 0.02,
        rr1: 1.0,
        rr2: 2.0,
        rr3: 3.0,
    }
}

fn pattern(
    symbol: SymbolId,
    tf: Timeframe,
    pattern_type: PatternType,
    direction: Direction,
    detected_at: i64,
) -> NewPattern {
    NewPattern {
        symbol,
        tf,
        pattern_type,
        direction,
        zone: zone(100.0, 101.5),
        swept_level: None,
        detected_at,
        expires_at: detected_at + tf.expiry_ms(),
        levels: levels(101.5),
        created_at: detected_at + MIN,
    }
}

fn signal(symbol: SymbolId, direction: Direction, created_at: i64) -> NewSignal {
    NewSignal {
        symbol,
        direction,
        entry: 101.25,
        stop_loss: 99.75,
        tp1: 102.75,
        tp2: 104.25,
        tp3: 105.75,
        risk_reward: 3.0,
        confluence_score: 4,
        timeframes_aligned: vec![Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1],
        pattern_id: None,
        created_at,
    }
}

fn expect_err<T: Debug>(r: Result<T, StoreError>, what: &str, pred: impl Fn(&StoreError) -> bool) {
    match r {
        Err(e) if pred(&e) => {}
        other => panic!("{what}: expected a specific error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------------------------

/// Add, read back, list (ordered by id, active filter), toggle; duplicates are a typed
/// `Conflict`, unknown ids a typed `NotFound`.
pub async fn symbols_crud<S: Store>(s: &S) {
    let btc = ok(s.add_symbol(&new_symbol("BTC/USDT", true)).await, "add BTC");
    let eth = ok(
        s.add_symbol(&new_symbol("ETH/USDT", false)).await,
        "add ETH",
    );
    assert!(eth.id > btc.id, "ids follow the storing order");
    assert_eq!(btc.symbol, "BTC/USDT");
    assert_eq!(btc.exchange, "binance");
    assert!(btc.is_active && btc.notify_enabled);
    assert_eq!(btc.fetch_start_ms, 1_704_067_200_000);
    assert_eq!(btc.created_at, T0);

    let read = ok(s.symbol_by_name("BTC/USDT").await, "by name");
    assert_eq!(read.as_ref(), Some(&btc), "a symbol reads back as stored");
    assert_eq!(ok(s.symbol_by_name("XRP/USDT").await, "by name"), None);

    let all = ok(s.list_symbols(false).await, "list all");
    assert_eq!(all, vec![btc.clone(), eth.clone()]);
    let active = ok(s.list_symbols(true).await, "list active");
    assert_eq!(active, vec![btc.clone()]);

    ok(s.set_symbol_active(eth.id, true).await, "activate");
    ok(s.set_symbol_active(btc.id, false).await, "deactivate");
    let active = ok(s.list_symbols(true).await, "list active");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, eth.id);

    expect_err(
        s.add_symbol(&new_symbol("BTC/USDT", true)).await,
        "duplicate symbol",
        |e| matches!(e, StoreError::Conflict(_)),
    );
    expect_err(
        s.set_symbol_active(SymbolId(eth.id.0 + 1000), true).await,
        "unknown symbol id",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    assert_eq!(
        ok(s.list_symbols(false).await, "list").len(),
        2,
        "a conflict adds nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/// The upsert on `(symbol, tf, ts)` inserts only new candles, counts them, never rewrites a
/// stored candle, and keeps every f64 exactly.
pub async fn candles_upsert_is_idempotent<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let first = series(T0, MIN, 5);
    assert_eq!(
        ok(s.upsert_candles(sym, Timeframe::M1, &first).await, "upsert"),
        5
    );
    assert_eq!(
        ok(s.upsert_candles(sym, Timeframe::M1, &first).await, "again"),
        0
    );

    // Overlap: 2 stored (with different values, which must NOT overwrite) + 3 new.
    let mut overlap = vec![candle(T0 + 3 * MIN, 555.0), candle(T0 + 4 * MIN, 555.0)];
    overlap.extend(series(T0 + 5 * MIN, MIN, 3));
    assert_eq!(
        ok(
            s.upsert_candles(sym, Timeframe::M1, &overlap).await,
            "overlap"
        ),
        3
    );

    let all = ok(s.last_candles(sym, Timeframe::M1, 100).await, "last");
    assert_eq!(all.len(), 8);
    assert_eq!(&all[..5], &first[..], "stored candles are never rewritten");
    assert_eq!(&all[5..], &overlap[2..]);

    // Exact f64 round trip.
    let tricky = ok(
        Candle::new(
            T0 + 60 * MIN,
            0.1 + 0.2,
            123_456.789_012_345_6,
            1e-8,
            0.3,
            0.0,
        ),
        "tricky candle",
    );
    assert_eq!(
        ok(
            s.upsert_candles(sym, Timeframe::M1, &[tricky]).await,
            "tricky"
        ),
        1
    );
    let back = ok(s.last_candles(sym, Timeframe::M1, 1).await, "last 1");
    assert_eq!(
        back,
        vec![tricky],
        "prices and volume round-trip bit for bit"
    );
    assert_eq!(
        ok(s.upsert_candles(sym, Timeframe::M1, &[]).await, "empty"),
        0
    );
}

/// Last N (oldest first), last ts, half-open ranges with a limit, paging backwards; series
/// are separate per symbol and TF.
pub async fn candle_queries<S: Store>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let m5 = series(T0, 5 * MIN, 10);
    ok(s.upsert_candles(btc, Timeframe::M5, &m5).await, "btc 5m");
    ok(
        s.upsert_candles(btc, Timeframe::M1, &series(T0, MIN, 3))
            .await,
        "btc 1m",
    );
    ok(
        s.upsert_candles(eth, Timeframe::M5, &series(T0, 5 * MIN, 2))
            .await,
        "eth 5m",
    );

    assert_eq!(
        ok(s.last_candle_ts(btc, Timeframe::M5).await, "ts"),
        Some(T0 + 45 * MIN)
    );
    assert_eq!(
        ok(s.last_candle_ts(btc, Timeframe::M1).await, "ts"),
        Some(T0 + 2 * MIN)
    );
    assert_eq!(ok(s.last_candle_ts(eth, Timeframe::H1).await, "ts"), None);

    let last3 = ok(s.last_candles(btc, Timeframe::M5, 3).await, "last 3");
    assert_eq!(last3, m5[7..].to_vec(), "the newest N, oldest first");
    assert!(ok(s.last_candles(btc, Timeframe::M5, 0).await, "last 0").is_empty());
    assert!(ok(s.last_candles(eth, Timeframe::D1, 5).await, "none").is_empty());

    let range = ok(
        s.candles_in_range(btc, Timeframe::M5, T0 + 10 * MIN, T0 + 30 * MIN, 100)
            .await,
        "range",
    );
    assert_eq!(range, m5[2..6].to_vec(), "from inclusive, to exclusive");
    let capped = ok(
        s.candles_in_range(btc, Timeframe::M5, T0, T0 + 50 * MIN, 4)
            .await,
        "capped range",
    );
    assert_eq!(capped, m5[..4].to_vec(), "the limit keeps the oldest");

    let before = ok(
        s.candles_before(btc, Timeframe::M5, T0 + 25 * MIN, 2).await,
        "before",
    );
    assert_eq!(before, m5[3..5].to_vec(), "the newest before, oldest first");
    let before_all = ok(
        s.candles_before(btc, Timeframe::M5, T0 + 25 * MIN, 99)
            .await,
        "all",
    );
    assert_eq!(before_all, m5[..5].to_vec());
    assert_eq!(
        ok(s.last_candles(eth, Timeframe::M5, 99).await, "eth").len(),
        2
    );

    // Many series in one read == one series at a time, in the order asked (issue #7).
    let mut wants: Vec<(Timeframe, u32)> = Timeframe::ALL.iter().map(|&tf| (tf, 4)).collect();
    wants.extend([
        (Timeframe::M5, 100),
        (Timeframe::M1, 2),
        (Timeframe::M5, 0),
        (Timeframe::M5, 3),
    ]);
    let many = ok(s.last_candles_many(btc, &wants).await, "many");
    assert_eq!(many.len(), wants.len(), "one series per pair asked");
    for (i, &(tf, n)) in wants.iter().enumerate() {
        let one = ok(s.last_candles(btc, tf, n).await, "one");
        assert_eq!(many[i], one, "pair {i} ({tf}, {n}) equals last_candles");
    }
    assert_eq!(many[wants.len() - 1], m5[7..].to_vec());
    let eth_many = ok(
        s.last_candles_many(eth, &[(Timeframe::M1, 5), (Timeframe::M5, 99)])
            .await,
        "eth many",
    );
    assert_eq!(eth_many, vec![Vec::new(), series(T0, 5 * MIN, 2)]);
    assert!(ok(s.last_candles_many(btc, &[]).await, "none asked").is_empty());
    let too_many = vec![(Timeframe::M1, 1); cl_app::ports::MAX_SERIES_PER_READ + 1];
    assert!(matches!(
        s.last_candles_many(btc, &too_many).await,
        Err(StoreError::Invalid(_))
    ));
}

/// A batch for an unknown symbol, or holding an unstorable value, writes nothing.
pub async fn candle_batches_are_atomic<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    expect_err(
        s.upsert_candles(SymbolId(sym.0 + 1000), Timeframe::M1, &series(T0, MIN, 3))
            .await,
        "unknown symbol",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    let mut batch = series(T0, MIN, 3);
    batch.push(candle(MAX_EXACT_INT + 1, 10.0));
    expect_err(
        s.upsert_candles(sym, Timeframe::M1, &batch).await,
        "ts beyond 2^53",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    assert_eq!(
        ok(s.last_candle_ts(sym, Timeframe::M1).await, "ts"),
        None,
        "a failed batch leaves nothing half-written"
    );
}

/// Two identical idempotent writes raced on one store: each row is stored once and the
/// counts add up.
pub async fn concurrent_idempotent_writes<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let batch = series(T0, MIN, 20);
    let (a, b) = futures_util::future::join(
        s.upsert_candles(sym, Timeframe::M1, &batch),
        s.upsert_candles(sym, Timeframe::M1, &batch),
    )
    .await;
    let (a, b) = (ok(a, "upsert a"), ok(b, "upsert b"));
    assert_eq!(a + b, 20, "each candle is counted once ({a} + {b})");
    assert_eq!(
        ok(s.last_candles(sym, Timeframe::M1, 100).await, "last").len(),
        20
    );

    let p = pattern(
        sym,
        Timeframe::M5,
        PatternType::Imbalance,
        Direction::Bullish,
        T0,
    );
    let (a, b) = futures_util::future::join(s.insert_pattern(&p), s.insert_pattern(&p)).await;
    let (a, b) = (ok(a, "insert a"), ok(b, "insert b"));
    assert!(
        a.is_some() != b.is_some(),
        "exactly one racer stores the pattern ({a:?}, {b:?})"
    );
    assert_eq!(ok(s.active_patterns(sym, None).await, "active").len(), 1);

    let sig = signal(sym, Direction::Bullish, T0);
    let (a, b) = futures_util::future::join(
        s.insert_signal(&sig, 4 * HOUR),
        s.insert_signal(&sig, 4 * HOUR),
    )
    .await;
    let (a, b) = (ok(a, "signal a"), ok(b, "signal b"));
    assert!(
        a.is_some() != b.is_some(),
        "the cooldown admits one racer ({a:?}, {b:?})"
    );
}

/// Integers above 2^31 and up to 2^53 round-trip exactly (candles, patterns, signals); above
/// 2^53 they are refused as `Invalid` and nothing is written.
pub async fn large_timestamps_round_trip_exactly<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let stamps = [
        (1_i64 << 31) + 7,
        (1_i64 << 32) + 1,
        T0 + 1,
        MAX_EXACT_INT - 1,
        MAX_EXACT_INT,
    ];
    let candles: Vec<Candle> = stamps.iter().map(|&ts| candle(ts, 42.0)).collect();
    assert_eq!(
        ok(
            s.upsert_candles(sym, Timeframe::M1, &candles).await,
            "upsert"
        ),
        5
    );
    let back = ok(
        s.candles_in_range(sym, Timeframe::M1, 0, MAX_EXACT_INT, 100)
            .await,
        "range",
    );
    assert_eq!(back.len(), 4, "to is exclusive");
    let back = ok(s.last_candles(sym, Timeframe::M1, 100).await, "last");
    let got: Vec<i64> = back.iter().map(Candle::ts).collect();
    assert_eq!(got, stamps.to_vec());
    assert_eq!(
        ok(s.last_candle_ts(sym, Timeframe::M1).await, "ts"),
        Some(MAX_EXACT_INT)
    );

    let mut p = pattern(
        sym,
        Timeframe::D1,
        PatternType::OrderBlock,
        Direction::Bearish,
        0,
    );
    p.detected_at = MAX_EXACT_INT - 1;
    p.expires_at = MAX_EXACT_INT;
    p.created_at = (1_i64 << 31) + 1;
    let id = ok(s.insert_pattern(&p).await, "insert").expect("new pattern");
    let stored = ok(s.pattern(id).await, "read").expect("stored pattern");
    assert_eq!(stored.detected_at, MAX_EXACT_INT - 1);
    assert_eq!(stored.expires_at, MAX_EXACT_INT);
    assert_eq!(stored.created_at, (1_i64 << 31) + 1);

    let sig = signal(sym, Direction::Bearish, MAX_EXACT_INT);
    let sid = ok(s.insert_signal(&sig, HOUR).await, "signal").expect("new signal");
    let stored = ok(s.signal(sid).await, "read").expect("stored signal");
    assert_eq!(stored.created_at, MAX_EXACT_INT);

    let mut too_big = pattern(
        sym,
        Timeframe::H1,
        PatternType::Imbalance,
        Direction::Bullish,
        0,
    );
    too_big.expires_at = MAX_EXACT_INT + 1;
    expect_err(
        s.insert_pattern(&too_big).await,
        "pattern beyond 2^53",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    expect_err(
        s.insert_signal(&signal(sym, Direction::Bullish, MAX_EXACT_INT + 1), 0)
            .await,
        "signal beyond 2^53",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    assert_eq!(ok(s.active_patterns(sym, None).await, "active").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------

/// Insert-if-absent on `(symbol, tf, type, direction, detected_at)`: a duplicate returns
/// `None` and leaves the row untouched; direction is part of the key; every field
/// round-trips; an unknown symbol is `NotFound`.
pub async fn patterns_insert_if_absent<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let mut p = pattern(
        sym,
        Timeframe::H1,
        PatternType::LiquiditySweep,
        Direction::Bullish,
        T0,
    );
    p.swept_level = Some(100.25);
    p.zone = zone(99.5, 100.75);
    p.levels = TradeLevels {
        entry: 100.75,
        stop_loss: 99.1,
        tp1: 103.225,
        tp2: 105.0,
        tp3: 107.6265,
        risk: 1.65,
        rr1: 1.5,
        rr2: 2.58,
        rr3: 4.17,
    };
    let id = ok(s.insert_pattern(&p).await, "insert").expect("a new pattern gets an id");

    let stored = ok(s.pattern(id).await, "read").expect("stored");
    assert_eq!(stored.id, id);
    assert_eq!(stored.symbol, sym);
    assert_eq!(stored.tf, Timeframe::H1);
    assert_eq!(stored.pattern_type, PatternType::LiquiditySweep);
    assert_eq!(stored.direction, Direction::Bullish);
    assert_eq!(stored.zone, p.zone);
    assert_eq!(stored.swept_level, Some(100.25));
    assert_eq!(stored.detected_at, T0);
    assert_eq!(stored.expires_at, T0 + Timeframe::H1.expiry_ms());
    assert_eq!(
        stored.status,
        PatternStatus::Active,
        "a new pattern is active"
    );
    assert_eq!(stored.fill_pct, 0.0, "with fill 0%");
    assert_eq!(stored.filled_at, None);
    assert_eq!(stored.levels, p.levels);
    assert_eq!(stored.created_at, p.created_at);

    let mut dup = p;
    dup.zone = zone(1.0, 2.0);
    assert_eq!(
        ok(s.insert_pattern(&dup).await, "dup"),
        None,
        "the key exists"
    );
    assert_eq!(
        ok(s.pattern(id).await, "read").map(|r| r.zone),
        Some(p.zone),
        "untouched"
    );

    let mut other_dir = p;
    other_dir.direction = Direction::Bearish;
    let id2 = ok(s.insert_pattern(&other_dir).await, "other direction")
        .expect("direction is part of the key");
    assert!(id2 > id, "ids follow the storing order");
    let mut other_tf = p;
    other_tf.tf = Timeframe::H4;
    let id3 = ok(s.insert_pattern(&other_tf).await, "other tf").expect("tf is part of the key");
    assert!(id3 > id2);
    assert_eq!(
        ok(s.pattern(PatternId(id3.0 + 1000)).await, "missing"),
        None
    );

    let mut orphan = p;
    orphan.symbol = SymbolId(sym.0 + 1000);
    expect_err(s.insert_pattern(&orphan).await, "unknown symbol", |e| {
        matches!(e, StoreError::NotFound(_))
    });
}

/// A batch insert is all or nothing, keeps the input order for ids, and reports duplicates
/// (inside the batch or already stored) as `None`.
pub async fn pattern_batches_are_atomic<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let a = pattern(
        sym,
        Timeframe::M5,
        PatternType::Imbalance,
        Direction::Bullish,
        T0,
    );
    let b = pattern(
        sym,
        Timeframe::M5,
        PatternType::OrderBlock,
        Direction::Bullish,
        T0,
    );
    let c = pattern(
        sym,
        Timeframe::M15,
        PatternType::Imbalance,
        Direction::Bearish,
        T0,
    );
    let mut orphan = c;
    orphan.symbol = SymbolId(sym.0 + 1000);
    expect_err(
        s.insert_patterns(&[a, b, orphan]).await,
        "orphan in batch",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    let mut nan = c;
    nan.levels.rr2 = f64::NAN;
    expect_err(s.insert_patterns(&[a, b, nan]).await, "NaN in batch", |e| {
        matches!(e, StoreError::Invalid(_))
    });
    assert!(
        ok(s.active_patterns(sym, None).await, "active").is_empty(),
        "a failed batch leaves nothing half-written"
    );

    let ids = ok(s.insert_patterns(&[a, b, a, c]).await, "batch");
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[2], None, "a duplicate inside the batch");
    let (ia, ib, ic) = (ids[0].expect("a"), ids[1].expect("b"), ids[3].expect("c"));
    assert!(ia < ib && ib < ic, "ids follow the input order");
    let again = ok(s.insert_patterns(&[c, a]).await, "again");
    assert_eq!(again, vec![None, None]);
    assert!(ok(s.insert_patterns(&[]).await, "empty").is_empty());
    let active = ok(s.active_patterns(sym, None).await, "active");
    assert_eq!(
        active.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ia, ib, ic]
    );
}

/// Active patterns by symbol (+tf); batch status updates touch only still-active patterns,
/// skip unknown ids, and refuse a batch naming an id twice.
pub async fn pattern_status_updates<S: Store>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let ids = ok(
        s.insert_patterns(&[
            pattern(
                btc,
                Timeframe::M5,
                PatternType::Imbalance,
                Direction::Bullish,
                T0,
            ),
            pattern(
                btc,
                Timeframe::H1,
                PatternType::OrderBlock,
                Direction::Bearish,
                T0,
            ),
            pattern(
                btc,
                Timeframe::H1,
                PatternType::LiquiditySweep,
                Direction::Bullish,
                T0,
            ),
            pattern(
                eth,
                Timeframe::M5,
                PatternType::Imbalance,
                Direction::Bullish,
                T0,
            ),
        ])
        .await,
        "seed",
    );
    let ids: Vec<PatternId> = ids.into_iter().map(|i| i.expect("new")).collect();
    let h1 = ok(s.active_patterns(btc, Some(Timeframe::H1)).await, "btc 1h");
    assert_eq!(
        h1.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[1], ids[2]]
    );
    assert_eq!(ok(s.active_patterns(btc, None).await, "btc").len(), 3);
    assert_eq!(
        ok(s.active_patterns(eth, Some(Timeframe::H1)).await, "eth 1h").len(),
        0
    );

    let now = T0 + HOUR;
    let updates = [
        StatusUpdate {
            id: ids[0],
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(now),
        },
        StatusUpdate {
            id: ids[1],
            status: PatternStatus::Active,
            fill_pct: 37.5,
            filled_at: None,
        },
        StatusUpdate {
            id: ids[2],
            status: PatternStatus::Invalidated,
            fill_pct: 0.0,
            filled_at: None,
        },
        StatusUpdate {
            id: PatternId(ids[3].0 + 1000),
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(now),
        },
    ];
    assert_eq!(
        ok(s.update_statuses(&updates).await, "update"),
        3,
        "unknown ids are skipped"
    );
    let p0 = ok(s.pattern(ids[0]).await, "p0").expect("p0");
    assert_eq!(
        (p0.status, p0.fill_pct, p0.filled_at),
        (PatternStatus::Filled, 100.0, Some(now))
    );
    let p1 = ok(s.pattern(ids[1]).await, "p1").expect("p1");
    assert_eq!((p1.status, p1.fill_pct), (PatternStatus::Active, 37.5));
    let p2 = ok(s.pattern(ids[2]).await, "p2").expect("p2");
    assert_eq!(p2.status, PatternStatus::Invalidated);
    assert_eq!(ok(s.active_patterns(btc, None).await, "btc").len(), 1);

    // An ended pattern is never revived.
    let revive = [StatusUpdate {
        id: ids[0],
        status: PatternStatus::Active,
        fill_pct: 10.0,
        filled_at: None,
    }];
    assert_eq!(ok(s.update_statuses(&revive).await, "revive"), 0);
    assert_eq!(
        ok(s.pattern(ids[0]).await, "p0").map(|p| p.status),
        Some(PatternStatus::Filled)
    );

    let twice = [
        StatusUpdate {
            id: ids[3],
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(now),
        },
        StatusUpdate {
            id: ids[3],
            status: PatternStatus::Active,
            fill_pct: 5.0,
            filled_at: None,
        },
    ];
    expect_err(s.update_statuses(&twice).await, "an id twice", |e| {
        matches!(e, StoreError::Invalid(_))
    });
    assert_eq!(
        ok(s.pattern(ids[3]).await, "p3").map(|p| (p.status, p.fill_pct)),
        Some((PatternStatus::Active, 0.0)),
        "a refused batch writes nothing"
    );
    assert_eq!(ok(s.update_statuses(&[]).await, "empty"), 0);
}

/// Expiry marks active patterns of the symbol with `expires_at < now` (strict) as
/// `expired`, keeping their fill.
pub async fn patterns_expire_strictly_before_now<S: Store>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let mut early = pattern(
        btc,
        Timeframe::M5,
        PatternType::Imbalance,
        Direction::Bullish,
        T0,
    );
    early.expires_at = T0 + HOUR;
    let mut exact = pattern(
        btc,
        Timeframe::M15,
        PatternType::Imbalance,
        Direction::Bullish,
        T0,
    );
    exact.expires_at = T0 + 2 * HOUR;
    let mut other = pattern(
        eth,
        Timeframe::M5,
        PatternType::Imbalance,
        Direction::Bullish,
        T0,
    );
    other.expires_at = T0 + HOUR;
    let ids = ok(s.insert_patterns(&[early, exact, other]).await, "seed");
    let ids: Vec<PatternId> = ids.into_iter().map(|i| i.expect("new")).collect();
    ok(
        s.update_statuses(&[StatusUpdate {
            id: ids[0],
            status: PatternStatus::Active,
            fill_pct: 40.0,
            filled_at: None,
        }])
        .await,
        "partial fill",
    );

    let now = T0 + 2 * HOUR;
    assert_eq!(ok(s.expire_patterns(btc, now).await, "expire"), 1);
    let p0 = ok(s.pattern(ids[0]).await, "p0").expect("p0");
    assert_eq!(
        (p0.status, p0.fill_pct),
        (PatternStatus::Expired, 40.0),
        "fill kept"
    );
    let p1 = ok(s.pattern(ids[1]).await, "p1").expect("p1");
    assert_eq!(
        p1.status,
        PatternStatus::Active,
        "expires_at == now is not expired yet"
    );
    let p2 = ok(s.pattern(ids[2]).await, "p2").expect("p2");
    assert_eq!(
        p2.status,
        PatternStatus::Active,
        "other symbols are untouched"
    );
    assert_eq!(ok(s.expire_patterns(btc, now).await, "again"), 0);
    assert_eq!(ok(s.expire_patterns(btc, now + 1).await, "later"), 1);
}

/// `pattern_keys` returns the keys of patterns of every status (the insert-if-absent rule
/// counts ended patterns too), per TF from each window's bound (inclusive), of that symbol only,
/// in one call; TFs without a window are left out.
pub async fn pattern_keys_cover_every_status<S: Store>(s: &S) {
    use Direction::{Bearish, Bullish};
    use PatternType::{Imbalance, LiquiditySweep, OrderBlock};
    use Timeframe::{H1, H4, M5};
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let p = |sym, tf, ty, dir, at| pattern(sym, tf, ty, dir, at);
    let seed = [
        p(btc, M5, Imbalance, Bullish, T0), // before the 5m window
        p(btc, M5, Imbalance, Bullish, T0 + 5 * MIN), // at its bound: kept
        p(btc, M5, OrderBlock, Bearish, T0 + 10 * MIN), // filled below: still a key
        p(btc, H1, LiquiditySweep, Bearish, T0 + 2 * HOUR), // expired below: still a key
        p(btc, H4, Imbalance, Bullish, T0 + 8 * HOUR), // no 4h window: left out
        p(eth, M5, Imbalance, Bullish, T0 + 5 * MIN), // other symbol: left out
    ];
    let ids: Vec<PatternId> = ok(s.insert_patterns(&seed).await, "seed")
        .into_iter()
        .map(|i| i.expect("new"))
        .collect();
    ok(
        s.update_statuses(&[StatusUpdate {
            id: ids[2],
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(T0 + HOUR),
        }])
        .await,
        "fill",
    );
    ok(s.expire_patterns(btc, T0 + 1_000 * HOUR).await, "expire");

    let windows = [
        KeyWindow {
            tf: M5,
            from: T0 + 5 * MIN,
        },
        KeyWindow { tf: H1, from: T0 },
    ];
    let mut keys = ok(s.pattern_keys(btc, &windows).await, "keys");
    keys.sort();
    let key = |tf, pattern_type, direction, detected_at| StoredPatternKey {
        tf,
        pattern_type,
        direction,
        detected_at,
    };
    let mut want = vec![
        key(M5, Imbalance, Bullish, T0 + 5 * MIN),
        key(M5, OrderBlock, Bearish, T0 + 10 * MIN),
        key(H1, LiquiditySweep, Bearish, T0 + 2 * HOUR),
    ];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(
        ok(s.pattern_keys(btc, &[]).await, "no windows"),
        vec![],
        "no window, no keys"
    );
    let late = [KeyWindow {
        tf: M5,
        from: T0 + HOUR,
    }];
    assert_eq!(ok(s.pattern_keys(btc, &late).await, "late"), vec![]);
    expect_err(
        s.pattern_keys(
            btc,
            &[KeyWindow {
                tf: M5,
                from: MAX_EXACT_INT + 1,
            }],
        )
        .await,
        "bound beyond 2^53",
        |e| matches!(e, StoreError::Invalid(_)),
    );
}

// ---------------------------------------------------------------------------------------------
// Matrix
// ---------------------------------------------------------------------------------------------

/// The matrix (detection.md §7): every active symbol by name × 5m..1d; the active pattern
/// with the greatest `detected_at`, ties → higher id; active count; 1m, ended patterns and
/// inactive symbols are left out.
pub async fn matrix_follows_the_cell_rule<S: Store>(s: &S) {
    // Added out of name order to check the ordering; ZZZ/USDT is inactive.
    let sol = symbol(s, "SOL/USDT").await;
    let btc = symbol(s, "BTC/USDT").await;
    let zzz = symbol(s, "ZZZ/USDT").await;
    ok(s.set_symbol_active(zzz, false).await, "deactivate");

    let mk = |sym, tf, t, d, at| pattern(sym, tf, t, d, at);
    use Direction::{Bearish, Bullish};
    use PatternType::{Imbalance, LiquiditySweep, OrderBlock};
    use Timeframe::{D1, H1, H4, M1, M15, M5};
    let seed = [
        // BTC 5m: latest by detected_at is the bearish OB (T0+10m).
        mk(btc, M5, Imbalance, Bullish, T0),
        mk(btc, M5, OrderBlock, Bearish, T0 + 10 * MIN),
        mk(btc, M5, Imbalance, Bullish, T0 + 5 * MIN),
        // BTC 1h: three tie on detected_at → the highest id (stored last) wins.
        mk(btc, H1, Imbalance, Bearish, T0),
        mk(btc, H1, OrderBlock, Bullish, T0),
        mk(btc, H1, LiquiditySweep, Bearish, T0),
        // BTC 4h: the newest will be filled → the older one shows.
        mk(btc, H4, Imbalance, Bullish, T0),
        mk(btc, H4, OrderBlock, Bearish, T0 + HOUR),
        // BTC 1m never shows.
        mk(btc, M1, Imbalance, Bearish, T0 + 20 * MIN),
        // SOL 1d only.
        mk(sol, D1, LiquiditySweep, Bullish, T0),
        // Inactive symbol never shows.
        mk(zzz, M15, Imbalance, Bullish, T0),
    ];
    let ids: Vec<PatternId> = ok(s.insert_patterns(&seed).await, "seed")
        .into_iter()
        .map(|i| i.expect("new"))
        .collect();
    ok(
        s.update_statuses(&[StatusUpdate {
            id: ids[7],
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(T0 + 2 * HOUR),
        }])
        .await,
        "fill",
    );

    let cells = ok(s.matrix().await, "matrix");
    assert_eq!(cells.len(), 2 * 7, "active symbols × 5m..1d");
    let expect =
        |i: usize, sym: SymbolId, name: &str, tf: Timeframe, latest: Option<usize>, count: u32| {
            let cell: &MatrixCell = &cells[i];
            assert_eq!(
                (cell.symbol, cell.symbol_name.as_str(), cell.tf),
                (sym, name, tf),
                "cell {i}"
            );
            assert_eq!(cell.active_count, count, "count of cell {i} ({name} {tf})");
            match (latest, cell.latest) {
                (None, None) => {}
                (Some(k), Some(got)) => {
                    let want = &seed[k];
                    assert_eq!(got.id, ids[k], "latest of cell {i} ({name} {tf})");
                    assert_eq!(got.pattern_type, want.pattern_type);
                    assert_eq!(got.direction, want.direction);
                    assert_eq!(got.zone, want.zone);
                    assert_eq!(got.detected_at, want.detected_at);
                }
                (want, got) => panic!("cell {i} ({name} {tf}): want {want:?}, got {got:?}"),
            }
        };
    let tfs = Timeframe::VOTING;
    // BTC first (by name), TFs shortest first.
    expect(0, btc, "BTC/USDT", tfs[0], Some(1), 3);
    expect(1, btc, "BTC/USDT", tfs[1], None, 0);
    expect(2, btc, "BTC/USDT", tfs[2], None, 0);
    expect(3, btc, "BTC/USDT", tfs[3], Some(5), 3);
    expect(4, btc, "BTC/USDT", tfs[4], None, 0);
    expect(5, btc, "BTC/USDT", tfs[5], Some(6), 1);
    expect(6, btc, "BTC/USDT", tfs[6], None, 0);
    for (k, tf) in tfs.iter().enumerate() {
        let latest = if *tf == D1 { Some(9) } else { None };
        expect(
            7 + k,
            sol,
            "SOL/USDT",
            *tf,
            latest,
            u32::from(latest.is_some()),
        );
    }

    // Activating a symbol adds its row, with its patterns.
    ok(s.set_symbol_active(zzz, true).await, "activate");
    let cells = ok(s.matrix().await, "matrix");
    assert_eq!(cells.len(), 3 * 7);
    assert_eq!(cells[14 + 1].latest.map(|p| p.id), Some(ids[10]));
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

/// The insert is guarded by the cooldown of the same symbol and direction: blocked while a
/// signal has `now − cooldown < created_at <= now`; every field round-trips.
pub async fn signals_respect_the_cooldown<S: Store>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let cd = 4 * HOUR;
    let pid = ok(
        s.insert_pattern(&pattern(
            btc,
            Timeframe::H4,
            PatternType::OrderBlock,
            Direction::Bullish,
            T0,
        ))
        .await,
        "pattern",
    )
    .expect("new");
    let mut first = signal(btc, Direction::Bullish, T0);
    first.pattern_id = Some(pid);
    let id = ok(s.insert_signal(&first, cd).await, "first").expect("a first signal is stored");

    let stored = ok(s.signal(id).await, "read").expect("stored");
    assert_eq!(stored.id, id);
    assert_eq!(stored.symbol, btc);
    assert_eq!(stored.direction, Direction::Bullish);
    assert_eq!(
        (
            stored.entry,
            stored.stop_loss,
            stored.tp1,
            stored.tp2,
            stored.tp3,
            stored.risk_reward
        ),
        (101.25, 99.75, 102.75, 104.25, 105.75, 3.0)
    );
    assert_eq!(stored.confluence_score, 4);
    assert_eq!(stored.timeframes_aligned, first.timeframes_aligned);
    assert_eq!(stored.pattern_id, Some(pid));
    assert_eq!(
        stored.status,
        SignalStatus::Pending,
        "a new signal is pending"
    );
    assert_eq!(stored.created_at, T0);
    assert_eq!(stored.notified_at, None);
    assert_eq!(ok(s.signal(SignalId(id.0 + 1000)).await, "missing"), None);

    let blocked = signal(btc, Direction::Bullish, T0 + cd - 1);
    assert_eq!(
        ok(s.insert_signal(&blocked, cd).await, "within"),
        None,
        "within the cooldown"
    );
    let other_dir = signal(btc, Direction::Bearish, T0 + MIN);
    assert!(
        ok(s.insert_signal(&other_dir, cd).await, "bearish").is_some(),
        "per direction"
    );
    let other_sym = signal(eth, Direction::Bullish, T0 + MIN);
    assert!(
        ok(s.insert_signal(&other_sym, cd).await, "eth").is_some(),
        "per symbol"
    );
    let after = signal(btc, Direction::Bullish, T0 + cd);
    let id2 = ok(s.insert_signal(&after, cd).await, "after").expect("a full cooldown later");
    assert!(id2 > id);

    assert_eq!(
        ok(s.last_signal_at(btc, Direction::Bullish).await, "last"),
        Some(T0 + cd)
    );
    assert_eq!(
        ok(s.last_signal_at(btc, Direction::Bearish).await, "last"),
        Some(T0 + MIN)
    );
    assert_eq!(
        ok(s.last_signal_at(eth, Direction::Bearish).await, "last"),
        None
    );

    let mut dangling = signal(eth, Direction::Bearish, T0);
    dangling.pattern_id = Some(PatternId(pid.0 + 1000));
    expect_err(
        s.insert_signal(&dangling, cd).await,
        "dangling pattern",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    expect_err(
        s.insert_signal(&signal(SymbolId(eth.0 + 1000), Direction::Bearish, T0), cd)
            .await,
        "unknown symbol",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    assert_eq!(
        ok(s.last_signal_at(eth, Direction::Bearish).await, "last"),
        None
    );
}

/// The list is newest first (`created_at` desc, ties by id desc) in keyset pages, with
/// filters; `next` is `None` on the last page; a limit of 0 is `Invalid`.
pub async fn signals_page_newest_first<S: Store>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    // (symbol, direction, created_at); cooldown 0 so ties are allowed.
    let plan = [
        (btc, Direction::Bullish, T0),
        (eth, Direction::Bullish, T0 + HOUR),
        (btc, Direction::Bearish, T0 + HOUR),
        (eth, Direction::Bearish, T0 + HOUR),
        (btc, Direction::Bullish, T0 + 2 * HOUR),
        (eth, Direction::Bullish, T0 - HOUR),
        (btc, Direction::Bearish, T0 + 3 * HOUR),
    ];
    let mut ids = Vec::new();
    for (sym, dir, at) in plan {
        ids.push(ok(s.insert_signal(&signal(sym, dir, at), 0).await, "seed").expect("stored"));
    }
    // Expected order: created_at desc, then id desc.
    let mut want: Vec<(i64, SignalId)> = plan.iter().zip(&ids).map(|(p, id)| (p.2, *id)).collect();
    want.sort_by(|a, b| b.cmp(a));
    let want: Vec<SignalId> = want.into_iter().map(|(_, id)| id).collect();

    let mut got = Vec::new();
    let mut after: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = ok(
            s.list_signals(&SignalFilter::default(), PageRequest { limit: 3, after })
                .await,
            "page",
        );
        pages += 1;
        assert!(page.items.len() <= 3);
        got.extend(page.items.iter().map(|x| x.id));
        match page.next {
            Some(c) => {
                let last = page.items.last().expect("a page with a cursor has rows");
                assert_eq!(
                    c,
                    Cursor {
                        ts: last.created_at,
                        id: last.id.0
                    }
                );
                after = Some(c);
            }
            None => break,
        }
        assert!(pages < 10, "pagination terminates");
    }
    assert_eq!(got, want, "newest first, ties by id desc, no row twice");
    assert_eq!(pages, 3, "7 rows in pages of 3");

    let exact = ok(
        s.list_signals(
            &SignalFilter::default(),
            PageRequest {
                limit: 7,
                after: None,
            },
        )
        .await,
        "exact page",
    );
    assert_eq!(exact.items.len(), 7);
    assert_eq!(exact.next, None, "no next cursor when the page is the last");

    let f = SignalFilter {
        symbol: Some(btc),
        direction: Some(Direction::Bearish),
        status: None,
    };
    let page = ok(
        s.list_signals(
            &f,
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await,
        "filtered",
    );
    assert_eq!(
        page.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[6], ids[2]]
    );
    let f = SignalFilter {
        status: Some(SignalStatus::Notified),
        ..SignalFilter::default()
    };
    let page = ok(
        s.list_signals(
            &f,
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await,
        "status",
    );
    assert!(page.items.is_empty() && page.next.is_none());
    let f = SignalFilter {
        status: Some(SignalStatus::Pending),
        symbol: Some(eth),
        direction: None,
    };
    let page = ok(
        s.list_signals(
            &f,
            PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await,
        "eth",
    );
    assert_eq!(
        page.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[3], ids[1]]
    );
    assert!(page.next.is_some());

    expect_err(
        s.list_signals(
            &SignalFilter::default(),
            PageRequest {
                limit: 0,
                after: None,
            },
        )
        .await,
        "limit 0",
        |e| matches!(e, StoreError::Invalid(_)),
    );
}

/// The readiness probe answers.
pub async fn health_ping_answers<S: Store>(s: &S) {
    ok(s.ping().await, "ping");
}

#[macro_use]
mod fixtures;
use fixtures::ok;

pub mod accounts;
pub use accounts::{run_account_case, run_all_accounts, AccountCase};

pub mod api_keys;
pub use api_keys::{run_all_api_keys, run_api_key_case, ApiKeyCase};

pub mod billing;
pub use billing::{run_all_billing, run_billing_case, BillingCase};

pub mod portfolio;
pub use portfolio::{run_all_portfolio, run_portfolio_case, PortfolioCase};

pub mod exchange_credentials;
pub use exchange_credentials::{run_credential_case, CredentialCase};

pub mod backtests;
pub use backtests::{run_backtest_case, BacktestCase};

mod cron;
pub use cron::{cron_lease_is_exclusive, cron_runs_record_history};

mod metrics;
pub use metrics::metrics_snapshot_counts_the_stored_state;

mod patterns;
pub use patterns::{pattern_list_filters, pattern_list_pages_newest_first};

mod tick_batches;
pub use tick_batches::large_tick_batches_keep_their_meaning;

pub mod admin;
pub use admin::{run_admin_case, AdminCase};

pub mod maintenance;
pub use maintenance::{run_maintenance_case, MaintenanceCase};

pub mod notifications;
pub use notifications::{run_notification_case, NotificationCase};

pub mod notification_admin;
pub mod stats;
pub use notification_admin::{run_notification_admin_case, NotificationAdminCase};
pub use stats::{run_stats_case, StatsCase};

pub mod broadcast_delivery;
pub use broadcast_delivery::{run_broadcast_delivery_case, BroadcastDeliveryCase};

pub mod optimization;
pub use optimization::{run_optimization_case, OptimizationCase};

pub mod run_queue;
pub use run_queue::{run_run_queue_case, RunQueueCase};
