//! The store the worker uses until a storage adapter is wired: every call fails with
//! `Unavailable`, so the data routes answer `503 service_unavailable` (the cause is logged)
//! while health, OpenAPI and routing work. It never pretends to hold data.

use cl_app::ports::{
    CandleStore, KeyWindow, MatrixCell, NewPattern, NewSignal, NewSymbol, Page, PageRequest,
    PatternId, PatternStore, SignalFilter, SignalId, SignalStore, StatusUpdate, StoreError,
    StoredPattern, StoredPatternKey, StoredSignal, StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::{Candle, Direction, Timeframe};

/// No usable store; carries why, for the log line.
pub struct Unwired {
    why: String,
}

impl Unwired {
    /// A store that fails every call with `Unavailable(why)`.
    pub fn because(why: String) -> Self {
        Self { why }
    }

    fn fail<T>(&self) -> Result<T, StoreError> {
        Err(StoreError::Unavailable(self.why.clone()))
    }
}

impl SymbolStore for Unwired {
    async fn add_symbol(&self, _: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        self.fail()
    }
    async fn symbol_by_name(&self, _: &str) -> Result<Option<StoredSymbol>, StoreError> {
        self.fail()
    }
    async fn list_symbols(&self, _: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        self.fail()
    }
    async fn set_symbol_active(&self, _: SymbolId, _: bool) -> Result<(), StoreError> {
        self.fail()
    }
}

impl CandleStore for Unwired {
    async fn upsert_candles(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: &[Candle],
    ) -> Result<u64, StoreError> {
        self.fail()
    }
    async fn last_candles(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.fail()
    }
    async fn last_candle_ts(&self, _: SymbolId, _: Timeframe) -> Result<Option<i64>, StoreError> {
        self.fail()
    }
    async fn candles_in_range(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: i64,
        _: i64,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.fail()
    }
    async fn candles_before(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: i64,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        self.fail()
    }
}

impl PatternStore for Unwired {
    async fn insert_pattern(&self, _: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        self.fail()
    }
    async fn insert_patterns(
        &self,
        _: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        self.fail()
    }
    async fn pattern(&self, _: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        self.fail()
    }
    async fn active_patterns(
        &self,
        _: SymbolId,
        _: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        self.fail()
    }
    async fn update_statuses(&self, _: &[StatusUpdate]) -> Result<u64, StoreError> {
        self.fail()
    }
    async fn expire_patterns(&self, _: SymbolId, _: i64) -> Result<u64, StoreError> {
        self.fail()
    }
    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        self.fail()
    }
    async fn pattern_keys(
        &self,
        _: SymbolId,
        _: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError> {
        self.fail()
    }
}

impl SignalStore for Unwired {
    async fn insert_signal(&self, _: &NewSignal, _: i64) -> Result<Option<SignalId>, StoreError> {
        self.fail()
    }
    async fn signal(&self, _: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        self.fail()
    }
    async fn last_signal_at(&self, _: SymbolId, _: Direction) -> Result<Option<i64>, StoreError> {
        self.fail()
    }
    async fn list_signals(
        &self,
        _: &SignalFilter,
        _: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        self.fail()
    }
}
