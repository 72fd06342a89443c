//! Fixtures for the pipeline suite: a memory store with one symbol, candle builders, a tick
//! runner, and a store decorator that counts port calls.

use cl_app::pipeline::{run_symbol_tick, TickReport};
use cl_app::ports::{
    CandleStore, KeyWindow, MatrixCell, NewPattern, NewSignal, NewSymbol, Page, PageRequest,
    PatternId, PatternStore, SignalFilter, SignalId, SignalStore, StatusUpdate, StoreError,
    StoredPattern, StoredPatternKey, StoredSignal, StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::signal::SignalSettings;
use cl_domain::{Candle, DetectionParams, Direction, Timeframe};
use cl_store_memory::MemoryStore;
use std::cell::Cell;

/// 2023-11-14T00:00:00Z, a UTC midnight.
pub const T0: i64 = 1_699_920_000_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// A store holding the symbol `BTC/USDT`.
pub fn store_with_symbol<S: SymbolStore>(store: S) -> (S, StoredSymbol) {
    let sym = block_on(store.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: T0,
        created_at: T0,
    }))
    .unwrap();
    (store, sym)
}

pub fn memory() -> (MemoryStore, StoredSymbol) {
    store_with_symbol(MemoryStore::new())
}

/// A 1m candle at minute `k` from T0.
pub fn c(k: i64, o: f64, h: f64, l: f64, cl: f64) -> Candle {
    Candle::new(T0 + k * MIN, o, h, l, cl, 1.0).unwrap()
}

/// One tick feeding `candles`, at the last one's open + 1 min, with the default settings.
pub fn run<S>(
    store: &S,
    sym: &StoredSymbol,
    candles: &[Candle],
    params: &DetectionParams,
) -> TickReport
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore,
{
    let now = candles.last().map_or(T0, |c| c.ts() + MIN);
    run_at(store, sym, candles, now, params)
}

pub fn run_at<S>(
    store: &S,
    sym: &StoredSymbol,
    candles: &[Candle],
    now: i64,
    params: &DetectionParams,
) -> TickReport
where
    S: SymbolStore + CandleStore + PatternStore + SignalStore,
{
    block_on(run_symbol_tick(
        store,
        sym,
        candles,
        now,
        &SignalSettings::default(),
        params,
    ))
    .unwrap()
}

/// Every stored pattern, by id (ids are 1, 2, 3 … in the memory store).
pub fn all_patterns(store: &MemoryStore) -> Vec<StoredPattern> {
    (1..)
        .map(|id| block_on(store.pattern(PatternId(id))).unwrap())
        .take_while(Option::is_some)
        .flatten()
        .collect()
}

/// Every stored candle of a TF.
pub fn all_candles(store: &MemoryStore, sym: SymbolId, tf: Timeframe) -> Vec<Candle> {
    block_on(store.candles_in_range(sym, tf, i64::MIN, i64::MAX, u32::MAX)).unwrap()
}

/// A deterministic pseudo-random walk of `n` 1m candles from T0 with a hole every 97 minutes;
/// `rising` makes every close at least the previous one.
pub fn walk(n: usize, seed: u64, rising: bool) -> Vec<Candle> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n);
    let (mut k, mut close) = (0i64, 100.0f64);
    for _ in 0..n {
        if k % 97 == 96 {
            k += 1;
        }
        // Rising: opening gaps up make overlapping fair value gaps (closes never fall).
        let open = if rising && next() < 0.3 {
            close + 0.5
        } else {
            close
        };
        let step = if rising {
            next() * 0.4
        } else {
            (next() - 0.5) * 0.6
        };
        close = open + step;
        let high = open.max(close) + next() * 0.2;
        let low = open.min(close) - next() * 0.2;
        out.push(c(k, open, high, low, close));
        k += 1;
    }
    out
}

/// A store decorator that counts every port call.
pub struct Counting<S> {
    pub inner: S,
    pub calls: Cell<u64>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: Cell::new(0),
        }
    }

    fn hit(&self) {
        self.calls.set(self.calls.get() + 1);
    }

    pub fn take(&self) -> u64 {
        self.calls.replace(0)
    }
}

impl<S: SymbolStore> SymbolStore for Counting<S> {
    async fn add_symbol(&self, new: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        self.hit();
        self.inner.add_symbol(new).await
    }
    async fn symbol_by_name(&self, symbol: &str) -> Result<Option<StoredSymbol>, StoreError> {
        self.hit();
        self.inner.symbol_by_name(symbol).await
    }
    async fn list_symbols(&self, active_only: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        self.hit();
        self.inner.list_symbols(active_only).await
    }
    async fn set_symbol_active(&self, id: SymbolId, active: bool) -> Result<(), StoreError> {
        self.hit();
        self.inner.set_symbol_active(id, active).await
    }
}

impl<S: CandleStore> CandleStore for Counting<S> {
    async fn upsert_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        self.hit();
        self.inner.upsert_candles(symbol, tf, candles).await
    }
    async fn last_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        n: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.hit();
        self.inner.last_candles(symbol, tf, n).await
    }
    async fn last_candles_many(
        &self,
        symbol: SymbolId,
        wants: &[(Timeframe, u32)],
    ) -> Result<Vec<Vec<Candle>>, StoreError> {
        self.hit();
        self.inner.last_candles_many(symbol, wants).await
    }
    async fn last_candle_ts(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
    ) -> Result<Option<i64>, StoreError> {
        self.hit();
        self.inner.last_candle_ts(symbol, tf).await
    }
    async fn candles_in_range(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.hit();
        self.inner
            .candles_in_range(symbol, tf, from, to, limit)
            .await
    }
    async fn candles_before(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.hit();
        self.inner.candles_before(symbol, tf, before, limit).await
    }
}

impl<S: PatternStore> PatternStore for Counting<S> {
    async fn insert_pattern(&self, new: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        self.hit();
        self.inner.insert_pattern(new).await
    }
    async fn insert_patterns(
        &self,
        new: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        self.hit();
        self.inner.insert_patterns(new).await
    }
    async fn pattern(&self, id: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        self.hit();
        self.inner.pattern(id).await
    }
    async fn active_patterns(
        &self,
        symbol: SymbolId,
        tf: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        self.hit();
        self.inner.active_patterns(symbol, tf).await
    }
    async fn update_statuses(&self, updates: &[StatusUpdate]) -> Result<u64, StoreError> {
        self.hit();
        self.inner.update_statuses(updates).await
    }
    async fn expire_patterns(&self, symbol: SymbolId, now: i64) -> Result<u64, StoreError> {
        self.hit();
        self.inner.expire_patterns(symbol, now).await
    }
    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        self.hit();
        self.inner.matrix().await
    }
    async fn pattern_keys(
        &self,
        symbol: SymbolId,
        windows: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError> {
        self.hit();
        self.inner.pattern_keys(symbol, windows).await
    }
    async fn list_patterns(
        &self,
        filter: &cl_app::ports::PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        self.hit();
        self.inner.list_patterns(filter, page).await
    }
}

impl<S: SignalStore> SignalStore for Counting<S> {
    async fn insert_signal(
        &self,
        new: &NewSignal,
        cooldown_ms: i64,
    ) -> Result<Option<SignalId>, StoreError> {
        self.hit();
        self.inner.insert_signal(new, cooldown_ms).await
    }
    async fn signal(&self, id: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        self.hit();
        self.inner.signal(id).await
    }
    async fn last_signal_at(
        &self,
        symbol: SymbolId,
        direction: Direction,
    ) -> Result<Option<i64>, StoreError> {
        self.hit();
        self.inner.last_signal_at(symbol, direction).await
    }
    async fn list_signals(
        &self,
        filter: &SignalFilter,
        page: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        self.hit();
        self.inner.list_signals(filter, page).await
    }
}
